"""Calibrating a synthetic twin against a source's published real-data results.

A twin stands in for the real data only if the source's method, run on it, lands where the source
says it landed. Each track lists its published figures as ``Target`` rows (value, accepted range,
where it was published); its ``calibrate`` command runs the faithful configuration on twins with
other global parameters and appends every trial (parameters -> metrics) to
``benchmarks/calibration-<track>.csv``. The trial whose parameters equal the twin's constants, at
the targets' scale, is the calibrated twin: ``twin_vs_real`` holds it against the targets, and the
track README and notebook 1 show that table (``render_markdown``, then ``shared.data.io.update_readme``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import hashlib
import itertools
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from shared.data.io import append_csv, update_readme
from shared.runtime import dispatch
from shared.runtime.paths import REPO_ROOT, benchmarks_dir
from shared.twin.blocks import SCALES

PARAM = "param."  # column prefix of the twin parameters in the record


@dataclass(frozen=True)
class Target:
    """A published real-data figure, and the range a calibrated twin must reach."""

    metric: str  # the column of the trial record that is held against it
    label: str  # what a reader is shown
    published: float
    low: float
    high: float
    source: str

    @classmethod
    def around(
        cls, metric: str, label: str, published: float, tolerance: float, source: str, centre: float | None = None
    ) -> Target:
        """``centre +- tolerance`` (the centre defaults to the published value)."""
        c = published if centre is None else centre
        return cls(metric, label, published, c - tolerance, c + tolerance, source)

    def within(self, value: float | None) -> bool:
        return value is not None and not math.isnan(value) and self.low - 1e-12 <= value <= self.high + 1e-12

    @property
    def accepted(self) -> str:
        half = (self.high - self.low) / 2
        centre = (self.high + self.low) / 2
        if abs(centre - self.published) < 1e-12:
            return f"{self.published:g} ± {half:.3g}"
        return f"{self.low:g} to {self.high:g}"


def record_path(track: str, directory: str | os.PathLike | None = None) -> Path:
    return (Path(directory) if directory else benchmarks_dir()) / f"calibration-{track}.csv"


def param_columns(params) -> dict[str, float]:
    """A twin's parameters (a dataclass or a mapping) as record columns."""
    values = asdict(params) if is_dataclass(params) else dict(params)
    return {f"{PARAM}{k}": float(v) for k, v in values.items()}


@dataclass(frozen=True)
class Trial:
    """One calibration run: the twin's parameters (a dataclass or a mapping) at a scale and
    configuration, what the source's method measured on that twin, and how long it took."""

    scale: str
    config: str
    params: Any
    metrics: Mapping[str, float]
    wall_s: float
    version: str = ""  # the twin generator's code version (twin.VERSION), for information
    # the data it generates (tiny_fingerprint): the tests check that the calibrated trial's
    # fingerprint is the one the code generates now
    fingerprint: str = ""

    def row(self) -> dict:
        """The trial as a row of the record, with the machine it ran on."""
        return {
            "date": dt.date.today().isoformat(),
            "cpu": dispatch.cpu_model(),
            "cores": os.cpu_count(),
            "scale": self.scale,
            "config": self.config,
            "twin_version": self.version,
            "twin_fingerprint": self.fingerprint,
            "wall_s": round(float(self.wall_s), 1),
            **param_columns(self.params),
            **{k: round(float(v), 6) for k, v in self.metrics.items()},
        }


def record_trial(track: str, trial: Trial, directory: str | os.PathLike | None = None) -> pl.DataFrame:
    """Append one trial to the track's record (columns are the union over trials) and return it."""
    return append_csv(record_path(track, directory), [trial.row()])


def read_record(track: str, directory: str | os.PathLike | None = None) -> pl.DataFrame:
    path = record_path(track, directory)
    if not path.exists():
        raise FileNotFoundError(f"{path.name}: no calibration record; run python -m solutions.{track}.calibrate")
    return pl.read_csv(path, infer_schema_length=None)


def calibrated_trial(record: pl.DataFrame, params, scale: str, config: str) -> dict:
    """The latest trial at ``scale`` with ``config`` whose parameters equal ``params`` (the twin's
    constants): the run behind every twin number the track shows."""
    cols = param_columns(params)
    missing = [c for c in cols if c not in record.columns]
    if missing:
        raise LookupError(f"the calibration record has no column {missing[0]}")
    match = record.filter(
        pl.col("scale") == scale, pl.col("config") == config, *[(pl.col(c) - v).abs() < 1e-9 for c, v in cols.items()]
    )
    if match.height == 0:
        shown = ", ".join(f"{k.removeprefix(PARAM)}={v:g}" for k, v in cols.items())
        raise LookupError(f"no {config!r} trial at scale {scale} with {shown}: run the calibration with --final")
    return match.row(-1, named=True)


def twin_vs_real(targets: Sequence[Target], trial: Mapping[str, float]) -> pl.DataFrame:
    """One row per target: published, accepted range, the twin's value, whether it is within."""
    rows = []
    for t in targets:
        value = trial.get(t.metric)
        value = None if value is None else float(value)
        rows.append(
            {
                "figure": t.label,
                "published (real data)": f"{t.published:g}",  # as published: its own precision
                "accepted": t.accepted,
                "twin": value,
                "within": "yes" if t.within(value) else "no",
                "source": t.source,
            }
        )
    return pl.DataFrame(rows, schema_overrides={"twin": pl.Float64})


def render_markdown(table: pl.DataFrame, digits: int = 4) -> str:
    """A markdown table of ``table`` (floats to ``digits`` decimals, missing as a dash)."""

    def cell(v) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.iter_rows()]
    return "\n".join(lines)


# ---------------------------------------------------------------- the calibration command


@dataclass(frozen=True)
class Spec:
    """What a track's calibration is about: its twin's parameter class (defaults = the calibrated
    values), the published targets, the scale they are measured at and the record ``config`` of
    the faithful run that is held against them."""

    track: str
    params: type
    targets: tuple[Target, ...]
    scale: str
    config: str
    version: str = ""  # the twin generator's code version (twin.VERSION), recorded for information
    fingerprint: Callable[[Any], str] | None = None  # params -> the data they generate (tiny_fingerprint)
    readme_path: Path | None = None  # default: solutions/<track>/README.md

    @classmethod
    def of_twin(cls, track: str, twin: Any, files: Sequence[str], **fields_: Any) -> Spec:
        """The spec of a track's twin module (its ``Params``, ``VERSION`` and ``generate``), whose
        data is fingerprinted by its official ``files``."""
        return cls(
            track=track,
            params=twin.Params,
            version=twin.VERSION,
            fingerprint=functools.partial(tiny_fingerprint, twin.generate, tuple(files)),
            **fields_,
        )

    @property
    def readme(self) -> Path:
        return self.readme_path or REPO_ROOT / "solutions" / self.track / "README.md"

    def trial(self, directory: str | os.PathLike = REPO_ROOT / "benchmarks") -> dict:
        """The calibrated trial, from the committed record (by default)."""
        return calibrated_trial(read_record(self.track, directory), self.params(), self.scale, self.config)

    def table(self, directory: str | os.PathLike = REPO_ROOT / "benchmarks") -> pl.DataFrame:
        """The calibrated twin against the targets, from the committed record (by default)."""
        return twin_vs_real(self.targets, self.trial(directory))


@contextlib.contextmanager
def scratch(cfg: Any, twin_folder: Path) -> Iterator[Any]:
    """Run a trial on ``cfg``; afterwards, where its twin parameters are not the calibrated ones
    (``cfg.twin_key``), delete its twin and artifacts: of a trial only the record stays."""
    try:
        yield cfg
    finally:
        if cfg.twin_key:
            shutil.rmtree(twin_folder, ignore_errors=True)
            shutil.rmtree(cfg.artifacts, ignore_errors=True)


def tiny_fingerprint(generate: Callable[..., Path], files: Sequence[str], params: Any) -> str:
    """16 hex digits of the sha256 of ``files`` of the ``tiny`` twin (seed 42) that ``generate``
    writes with ``params``: what a trial ran on, by its data rather than by its code, so a
    refactor of the generator keeps the record valid and a change of what it draws does not."""
    h = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        folder = generate("tiny", 42, tmp, params)
        for name in files:
            h.update((Path(folder) / name).read_bytes())
    return h.hexdigest()[:16]


def grid(params_cls: type, specs: Sequence[str], base: Any = None) -> list:
    """``name=v1,v2 ...`` -> every combination, the other parameters at ``base`` (default: the
    calibrated values)."""
    base = params_cls() if base is None else base
    names = {f.name for f in fields(params_cls)}
    axes = []
    for spec in specs:
        name, _, values = spec.partition("=")
        if name not in names or not values:
            raise SystemExit(f"error: --grid takes name=v1,v2 with name one of {sorted(names)}; got {spec!r}")
        axes.append([(name, float(v)) for v in values.split(",")])
    return [replace(base, **dict(combo)) for combo in itertools.product(*axes)]


def command(
    spec: Spec,
    doc: str,
    run: Callable[[argparse.Namespace, Any], dict[str, float]],
    argv: Sequence[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    config_of: Callable[[argparse.Namespace], str] | None = None,
    show: Sequence[str] = (),
) -> int:
    """A track's ``python -m solutions.<track>.calibrate``: run ``run(args, params)`` for every
    trial (``--grid``, or the calibrated values with ``--final``), append each to the record and
    print one line; after a ``--final`` run of the calibrated configuration at the targets' scale
    (or with ``--table`` alone), write the "twin against the real data" table into the track README."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default=spec.scale, choices=SCALES)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--grid", nargs="*", default=[], help="name=v1,v2 ... (fields of the twin's Params)")
    parser.add_argument("--final", action="store_true", help="the calibrated values; update the README table")
    parser.add_argument("--table", action="store_true", help="run nothing: write the README table from the record")
    parser.add_argument("--record-dir", default=None, help="default: benchmarks/")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    record_dir = Path(args.record_dir) if args.record_dir else benchmarks_dir()
    config = config_of(args) if config_of else spec.config
    trials = [] if args.table else [spec.params()] if args.final else grid(spec.params, args.grid)
    for params in trials:
        start = time.perf_counter()
        metrics = run(args, params)
        wall = time.perf_counter() - start
        fingerprint = spec.fingerprint(params) if spec.fingerprint else ""
        trial = Trial(args.scale, config, params, metrics, wall, spec.version, fingerprint)
        record_trial(spec.track, trial, record_dir)
        shown = " ".join(f"{k.removeprefix(PARAM)}={v:g}" for k, v in param_columns(params).items())
        print(f"{shown} ({wall:.0f} s): " + " ".join(f"{k} {metrics[k]:.4f}" for k in show if k in metrics))
    if args.table or (args.final and args.scale == spec.scale and config == spec.config):
        table = spec.table(record_dir)
        update_readme(spec.readme, "twin-vs-real", render_markdown(table.drop("source")))
        print(render_markdown(table))
    return 0
