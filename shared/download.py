"""Fetching a public archive for a user (never called by the tests: they have no internet)."""
from __future__ import annotations

import argparse
import urllib.request
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm


def fetch(url: str, archive: Path) -> Path:
    """Download ``url`` to ``archive`` (through a .part file, one progress line); kept if present."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    if archive.exists():
        return archive
    part = archive.with_name(archive.name + ".part")
    with urllib.request.urlopen(url) as resp, open(part, "wb") as f:
        total = int(resp.headers.get("Content-Length", 0)) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=archive.name) as bar:
            while chunk := resp.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))
    part.rename(archive)
    return archive


def main(doc: str, download: Callable[[Path], Path], done: str = "ready in") -> int:
    """The CLI of a track's download script: ``python -m solutions.<track>.download DEST``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    print(f"{done} {download(args.dest)}")
    return 0
