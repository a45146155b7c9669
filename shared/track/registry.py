"""The tracks of this repository (the registry) and the checks a command runs before it starts any work.

A track is a folder ``notebooks/<track>/`` with numbered notebooks and a package
``solutions/<track>/`` whose ``CONTRACT`` (a ``shared.track.contract.Track``) says what the tools need of
it: its place in the course, its scales, its config class, its hooks. Nothing here names a track:
adding a folder and a package adds a track. A folder of notebooks without a package is a lesson of
its own (no twin, no contract) and reads after the others.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.runtime.paths import NOTEBOOKS_DIR
from shared.track.contract import Track


def names(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """Every track (a folder of numbered notebooks), in folder order."""
    return sorted(
        {p.parent.name for p in Path(notebooks_dir).glob("*/[0-9][0-9]_*.ipynb") if not p.parent.name.startswith(".")}
    )  # not JupyterLab's .ipynb_checkpoints


def contract(track: str) -> Track | None:
    """The track's ``CONTRACT`` (``solutions/<track>/__init__.py``), or None for notebooks without a package."""
    if importlib.util.find_spec(f"solutions.{track}") is None:
        return None
    found = importlib.import_module(f"solutions.{track}").CONTRACT
    if not isinstance(found, Track) or found.name != track:
        raise TypeError(f"solutions.{track}.CONTRACT is not the shared.track.contract.Track of {track!r}")
    return found


def reading_order(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """Every track in the course's reading order (each contract's ``reading_order``), then the
    folders of notebooks without a package, by name."""

    def key(track: str):
        c = contract(track)
        return (c is None, c.reading_order if c else 0, track)

    return sorted(names(notebooks_dir), key=key)


def reading_why(track: str) -> str:
    """Why the track sits where it does in the reading order ("" for notebooks without a package)."""
    c = contract(track)
    return c.reading_why if c else ""


def check_names(tracks: Sequence[str], notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """``tracks`` if each is a track, else a ValueError naming the unknown ones and the known ones."""
    known = names(notebooks_dir)
    unknown = [t for t in tracks if t not in known]
    if unknown:
        raise ValueError(
            f"unknown track{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the tracks are: {', '.join(known)}"
        )
    return list(tracks)


def config_class(track: str) -> type:
    """The track's config class (its contract's ``config``)."""
    c = contract(track)
    if c is None:
        raise ValueError(f"unknown track {track!r}: there is no package solutions/{track}/")
    return c.config_class()


def check_run(track: str, profile: str, params: dict[str, Any]) -> None:
    """Raise ValueError or DataError, with one line saying what is wrong, when the profile and the notebook
    parameters ``params`` (SCALE, DATA_DIR) cannot run ``track``: before a kernel starts."""
    if contract(track) is None:
        return  # notebooks without a pipeline (a lesson of its own): no twin, nothing to check
    values = {k.lower(): str(v) for k, v in params.items() if k in ("SCALE", "DATA_DIR")}
    cfg = config_class(track)(profile=profile, **values)  # its __post_init__ checks scale and profile
    cfg.real_dir  # noqa: B018 (resolving it checks that DATA_DIR exists)


if __name__ == "__main__":  # `python -m shared.track.registry TRACK ...`: one line and exit 2 unless each is a track
    import sys

    try:
        check_names(sys.argv[1:])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
