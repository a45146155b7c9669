"""What every track's ``Config`` shares: the data switch (synthetic twin by default, the real files
given ``data_dir``), where its artifacts live, and how the data source and parameters are written
into a manifest (no local path)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from shared.data.io import merge_json, read_json
from shared.runtime.paths import artifacts_dir, resolve_data_dir, submissions_dir
from shared.track.profiles import PROFILES
from shared.track.submission import real_source, twin_source
from shared.twin.blocks import check_scale, params_key


class TrackConfig:
    """Mixin for a frozen dataclass with fields ``scale``, ``data_dir`` and ``seed``. A track sets
    ``TRACK``, ``ensure_twin`` (scale, seed -> the twin's folder, generated on first use),
    ``real_files`` (folder -> the official files), ``SCALES`` (its twin's scales) and, to key artifacts by its
    generator,
    ``twin_version``. A track whose twin has global parameters (``twin.Params``, fitted by its
    calibration) adds a field ``twin_params``; its ``ensure_twin`` then takes them as a third
    argument, and a run with other than the calibrated values gets its own twin and artifacts
    folders and says so in its manifest. ``profile`` (a field too: ``teach`` or ``source``, see
    ``shared.track.profiles``) keeps each profile's artifacts and submission apart; the manifest records it
    beside the parameters, not among them."""

    TRACK: ClassVar[str]
    ensure_twin: ClassVar[Callable[[str, int], Path]]
    real_files: ClassVar[Callable[[Path], Sequence[Path]]]
    twin_version: ClassVar[str] = ""
    SCALES: ClassVar[tuple[str, ...]] = ("tiny", "small", "full")  # the twin's scales (its twin.SCALES)

    scale: str
    data_dir: str
    seed: int
    profile: str

    def __post_init__(self) -> None:
        check_scale(self.scale, self.SCALES, self.TRACK)
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {list(PROFILES)}, got {self.profile!r}")

    @property
    def real_dir(self) -> Path | None:
        return resolve_data_dir(self.data_dir)

    @property
    def is_twin(self) -> bool:
        return self.real_dir is None

    @property
    def tag(self) -> str:
        """The artifacts folder's name; with ``twin_version`` artifacts of an older twin are never read back."""
        profile = "" if self.profile == "teach" else f"-{self.profile}"
        if not self.is_twin:
            return "real" + profile
        return (
            f"twin-{self.scale}-seed{self.seed}"
            + (f"-{self.twin_version}" if self.twin_version else "")
            + (f"-p{self.twin_key}" if self.twin_key else "")
            + profile
        )

    @property
    def twin_key(self) -> str:
        """ "" on the calibrated twin (or the real files), else the key of the other parameters."""
        return params_key(getattr(self, "twin_params", None)) if self.is_twin else ""

    @property
    def artifacts(self) -> Path:
        return artifacts_dir(self.TRACK, self.tag)

    @property
    def submissions(self) -> Path:
        return submissions_dir(self.TRACK, self.profile)

    def data_folder(self) -> Path:
        if not self.is_twin:
            return self.real_dir
        if self.twin_key:
            return type(self).ensure_twin(self.scale, self.seed, self.twin_params)
        return type(self).ensure_twin(self.scale, self.seed)

    def data_source(self) -> dict:
        if self.is_twin:
            source = twin_source(self.scale, self.seed)
            if self.twin_key:
                source["twin_params"] = dataclasses.asdict(self.twin_params)
            return source
        return real_source(type(self).real_files(self.real_dir))

    def parameters(self) -> dict[str, Any]:
        params = dataclasses.asdict(self)
        params.pop("profile")  # the manifest's own field
        if not self.is_twin:
            params.pop("scale")
        params["data_dir"] = "<real>" if not self.is_twin else ""  # no local paths in manifests
        if "twin_params" in params and not self.twin_key:
            params.pop("twin_params")  # the calibrated twin: its parameters are the code's constants
        return params

    def save_training(self, data_facts: dict, info: dict) -> dict:
        """Record what a stage trained in the run's ``training.json`` (top-level keys of ``info``
        replaced), with the parameters and the data facts; returns the whole record."""
        return merge_json(self.artifacts / "training.json", {"config": self.parameters(), "data": data_facts, **info})

    def load_training(self) -> dict:
        """The run's ``training.json``; {} before any stage has written it."""
        return read_json(self.artifacts / "training.json")
