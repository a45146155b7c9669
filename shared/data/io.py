"""Atomic file writes: write to a temp file in the same folder, then rename.
A failure part-way leaves the previous file (or nothing), never a half-written one. And the one
cache key (``cache_key``, ``digest``) every cached file and checkpoint is stamped with."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes it 0600: give it what open() would
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _read_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def append_csv(path: str | os.PathLike, rows):
    """Append ``rows`` (dicts) to the CSV at ``path`` (created with its folder if missing); the
    columns are the union over old and new rows. Written atomically; returns the whole table."""
    import polars as pl

    path = Path(path)
    new = pl.DataFrame(list(rows))
    frame = (
        pl.concat([pl.read_csv(path, infer_schema_length=None), new], how="diagonal_relaxed") if path.exists() else new
    )
    with atomic_path(path) as tmp:  # creates the folder
        frame.write_csv(tmp)
    return frame


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value.item() if hasattr(value, "item") else str(value)


def cache_key(kind: str, **facts) -> str:
    """What a cached file, a checkpoint or a row ``--resume`` keeps depends on, as one stable line:
    ``kind``, then the facts as JSON with sorted names (a dataclass as its fields, a path as its
    text). It is reused exactly when the key it was made under is equal: a change of any fact
    trains or computes it again, never resumes another run's state."""
    return f"{kind} {json.dumps(facts, sort_keys=True, default=_plain)}"


def digest(text: str, length: int = 12) -> str:
    """The first ``length`` hex digits of ``text``'s sha256: a key short enough for a file name."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Streamed sha256, so multi-GB files are hashed without loading them."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_parquet_atomic(path: str | os.PathLike, frame) -> Path:
    """A polars frame as parquet, atomically (the folder is created)."""
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp)
    return Path(path)


def read_json(path: str | os.PathLike) -> dict:
    """The JSON object at ``path``; {} when there is none yet."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}


def merge_json(path: str | os.PathLike, updates: dict) -> dict:
    """Update the JSON object at ``path`` with ``updates`` (top-level keys replaced), atomically;
    returns the merged object. A pipeline's stages record what they trained this way."""
    merged = {**read_json(path), **updates}
    write_text_atomic(path, json.dumps(merged, indent=2) + "\n")
    return merged


def committed_bytes(path: str | os.PathLike, root: str | os.PathLike | None = None) -> bytes | None:
    """The bytes of ``path`` as committed: from git's HEAD when ``root`` (default: the repository) is a
    checkout that tracks it, else the file on disk (an unpacked archive); None when neither has it.
    A run that rewrote the file in the work tree (``make reproduce`` rewrites ``submissions/``)
    does not change what this returns."""
    import subprocess

    from shared.runtime.paths import REPO_ROOT

    root = Path(root or REPO_ROOT)
    path = Path(path)
    rel = (path.resolve().relative_to(root.resolve()) if path.is_absolute() else path).as_posix()
    try:
        out = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=root, capture_output=True, timeout=30)
        if out.returncode == 0:
            return out.stdout
    except (OSError, subprocess.SubprocessError):
        pass
    return (root / rel).read_bytes() if (root / rel).is_file() else None


def update_readme(path: str | os.PathLike, name: str, text: str) -> bool:
    """Replace what stands between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``;
    returns whether the file changed. Missing markers are an error, never a silent no-op."""
    path = Path(path)
    old = path.read_text()
    pattern = re.compile(rf"(<!-- {re.escape(name)}:start -->\n).*?(<!-- {re.escape(name)}:end -->)", re.S)
    if not pattern.search(old):
        raise LookupError(f"{path.name}: no <!-- {name}:start --> ... <!-- {name}:end --> markers")
    new = pattern.sub(lambda m: m.group(1) + text.strip("\n") + "\n" + m.group(2), old)
    if new != old:
        write_text_atomic(path, new)
    return new != old
