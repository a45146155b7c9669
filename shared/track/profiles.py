"""Profiles: named sets of notebook parameters, one file per track, read by the notebooks (through the
runner), ``make reproduce``, ``make bench`` and each pipeline's CLI alike.

- ``teach`` (the default; no file): the notebooks' own defaults, sized for a lesson on 2 CPU cores.
- ``source``: ``notebooks/<track>/source.yaml``, the source's own configuration as the track's README
  documents it. Its submission goes to ``submissions/<track>/source/`` and its artifacts to their
  own folder, so it never overwrites the lessons' run.

A profile file holds notebook parameters (``SASREC_PRESET: final``); the pipeline's ``Config`` field of
the same name in lower case takes the same value. ``tiny.yaml`` (the tests' sizes) is applied on top
of a profile, never the other way round.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from shared.runtime.paths import NOTEBOOKS_DIR

PROFILES = ("teach", "source")


def profile_file(track: str, profile: str) -> Path | None:
    """The parameters file of ``profile`` (None for ``teach``, which is the notebooks' defaults)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    return None if profile == "teach" else NOTEBOOKS_DIR / track / f"{profile}.yaml"


def parameters(track: str, profile: str) -> dict[str, Any]:
    """The notebook parameters of ``profile`` for ``track``, with ``PROFILE`` itself; {} for ``teach``
    (the notebooks' defaults, exactly as the lessons ran them)."""
    path = profile_file(track, profile)
    if path is None:
        return {}
    if not path.is_file():
        raise FileNotFoundError(
            f"{track} has no {profile} profile: {path.relative_to(NOTEBOOKS_DIR.parent)} is missing"
        )
    return {**read_file(path), "PROFILE": profile}


def _given(field: str, argv: Sequence[str]) -> bool:
    option = "--" + field.replace("_", "-")
    return any(a == option or a.startswith(option + "=") for a in argv)


def read_file(path: str | Path) -> dict[str, Any]:
    """A parameters file of ``NAME: value`` lines (a profile, or ``tiny.yaml``, the tests' sizes)."""
    path = Path(path)
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict) or not all(isinstance(k, str) and k.isupper() for k in values):
        raise ValueError(f"{path.name}: expected NAME: value lines of notebook parameters")
    return values


def config_values(params: dict[str, Any]) -> dict[str, Any]:
    """Notebook parameters as ``Config`` field values: ``EMB_DIM: 16`` is ``emb_dim=16``."""
    return {name.lower(): value for name, value in params.items()}


def apply(cfg: Any, profile: str, argv: Sequence[str] | None = None, params: str | Path | None = None) -> Any:
    """``cfg`` (a track's ``Config``) with the profile's values, then those of the ``params`` file over
    them (as the runner's ``-f``), except the fields given on the command line (``argv``; default
    ``sys.argv[1:]``): the CLI runs what the notebooks run for that profile and file."""
    argv = sys.argv[1:] if argv is None else list(argv)
    fields = {f.name for f in dataclasses.fields(cfg)}
    values = config_values({**parameters(type(cfg).TRACK, profile), **(read_file(params) if params else {})})
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(
            f"{type(cfg).TRACK} {profile} profile{' and ' + Path(params).name if params else ''}: "
            f"{unknown} are not fields of its Config"
        )
    return dataclasses.replace(cfg, **{k: v for k, v in values.items() if not _given(k, argv)})
