"""Where things live. Everything resolves from this file, never from the current directory,
so papermill (caller's cwd) and nbval (notebook's folder) agree.

Outputs (twin data, artifacts, submissions, reports, benchmarks) go under ``output_root()``:
the repository root, or ``$RECSYS_OUTPUT_DIR`` when set (tests point it at a temp folder so a
test run never touches the committed submissions).
"""

from __future__ import annotations

import os
from pathlib import Path

from shared.runtime.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
OUTPUT_ENV = "RECSYS_OUTPUT_DIR"


def output_root() -> Path:
    env = os.environ.get(OUTPUT_ENV)
    return Path(env).resolve() if env else REPO_ROOT


def twin_dir(track: str, scale: str, seed: int, version: str = "") -> Path:
    """A twin's cache folder. ``version`` (see ``shared.twin.blocks.code_version``) changes with the
    generating code, so a changed generator never silently reuses old files."""
    return output_root() / "data" / "twin" / track / f"{scale}-seed{seed}{'-' + version if version else ''}"


def artifacts_dir(track: str, tag: str) -> Path:
    return output_root() / "artifacts" / track / tag


def submissions_dir(track: str, profile: str = "teach") -> Path:
    """``submissions/<track>/``; a run of another profile (``shared.track.profiles``) writes beside it, in
    ``submissions/<track>/<profile>/``, so the lessons' and the source's submissions are both kept."""
    base = output_root() / "submissions" / track
    return base if profile == "teach" else base / profile


def reports_dir() -> Path:
    return output_root() / "reports"


def benchmarks_dir() -> Path:
    return output_root() / "benchmarks"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """``None`` or ``""`` means: use the synthetic twin. Otherwise the folder must exist."""
    if data_dir is None or str(data_dir).strip() == "":
        return None
    path = Path(os.path.expanduser(str(data_dir))).resolve()
    if not path.is_dir():
        raise DataError(f"DATA_DIR {path}: no such directory")
    return path
