"""Fetching a public zip archive for a user (never over the network in the tests: they serve a local
file through ``file://``, and urllib answers a Range request to it with the whole file).

``fetch_zip`` downloads into ``DEST/<name>.part``, continuing a partial ``.part`` with an HTTP Range
request, checks the archive against the MD5 its publisher lists (recorded in the track's script),
then unpacks it into ``DEST``. An archive already in ``DEST`` (fetched by hand, say) is checked and
unpacked without any download. Every failure ends in one line naming the URL or file and what to do.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from shared.runtime import progress
from shared.runtime.errors import DataError

CHUNK = 1 << 20


def md5_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def _by_hand(archive: Path) -> str:
    return f"download it by hand to {archive}, then run the same command again: it checks and unpacks it"


def fetch(url: str, archive: Path, md5: str, show: bool = True) -> Path:
    """``archive``, downloaded from ``url`` unless it is already there, and checked against ``md5``."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    if not archive.exists():
        part = archive.with_name(archive.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                if have and getattr(resp, "status", 200) != 206:  # the server sent the whole file again
                    have = 0
                length = int(resp.headers.get("Content-Length", 0) or 0)
                bar = progress.line(have + length or None, archive.name, "B", show, unit_scale=True)
                bar.update(have)
                with open(part, "ab" if have else "wb") as f:
                    while chunk := resp.read(CHUNK):
                        f.write(chunk)
                        bar.update(len(chunk))
                bar.close()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            kept = f" ({part.name} keeps what arrived: the next run continues it)" if part.exists() else ""
            raise DataError(f"{url}: could not download ({reason}){kept}; or {_by_hand(archive)}") from None
        part.replace(archive)
    got = md5_file(archive)
    if got != md5:
        raise DataError(
            f"{archive}: MD5 {got}, but the publisher lists {md5} for {url}: the file is damaged or "
            f"another version; delete it and run again, or {_by_hand(archive)}"
        )
    return archive


def fetch_zip(url: str, dest: Path, name: str, md5: str, show: bool = True) -> Path:
    """Fetch and check ``dest/name`` (see ``fetch``), then unpack it into ``dest``; returns ``dest``."""
    archive = fetch(url, dest / name, md5, show)
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{archive}: not a readable zip archive ({exc}); delete it and run again") from None
    return dest


def main(doc: str, download: Callable[[Path], Path], done: str = "ready in", argv: list[str] | None = None) -> int:
    """The CLI of a track's download script: ``python -m solutions.<track>.download DEST``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    try:
        print(f"{done} {download(args.dest.expanduser())}")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
