"""Submission files: atomic CSV (optionally packed as .7z), the manifest beside it, and a
validator that checks a file against its format."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import py7zr

from shared.data.io import atomic_path, sha256_file, write_text_atomic
from shared.runtime import dispatch
from shared.runtime.errors import SubmissionError
from shared.runtime.paths import REPO_ROOT

PACKED_AT = 1_704_067_200.0  # 2024-01-01 00:00 UTC: the one timestamp every packed member carries


class _StableSevenZip(py7zr.SevenZipFile):
    """py7zr stamps each member with the file's creation, access and modification times and its
    mode bits, so one CSV packed twice gives two different archives. Here every member gets one
    fixed time and plain file attributes: the same CSV always packs to the same bytes, and the
    manifest's sha256 of the .7z means the same as that of a CSV."""

    @staticmethod
    def _make_file_info(target, arcname=None, dereference=False):
        from py7zr.helpers import ArchiveTimestamp
        from py7zr.member import MemberType

        info = py7zr.SevenZipFile._make_file_info(target, arcname, dereference)
        stamp = ArchiveTimestamp.from_datetime(PACKED_AT)
        info.update(
            creationtime=stamp, lastwritetime=stamp, lastaccesstime=stamp, attributes=MemberType.FILE.attributes()
        )
        return info


def write_csv(df: pl.DataFrame, path: str | os.PathLike, float_precision: int = 6, pack_7z: bool = False) -> Path:
    """Write ``df`` as CSV atomically (fixed float precision, so files are byte-stable).
    With ``pack_7z`` the CSV is stored inside ``path`` (a .7z archive) under the name ``path.stem``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if pack_7z:
        inner = path.name.removesuffix(".7z")
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".pack.") as scratch:
            csv_path = Path(scratch) / inner
            df.write_csv(csv_path, float_precision=float_precision)
            with atomic_path(path) as tmp_7z:
                with _StableSevenZip(tmp_7z, "w") as archive:
                    archive.write(csv_path, arcname=inner)
        return path
    with atomic_path(path) as tmp:
        df.write_csv(tmp, float_precision=float_precision)
    return path


def publish(
    frame: pl.DataFrame, path: str | os.PathLike, check: Callable[[Path], object], float_precision: int = 6
) -> Path:
    """Write ``frame`` to a scratch file beside ``path`` (packed as .7z when ``path`` ends so), run
    ``check`` on it (it raises on a bad file) and only then move it onto ``path``: a submission in
    place is replaced whole by a checked one, or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".new.") as scratch:
        new = write_csv(frame, Path(scratch) / path.name, float_precision, pack_7z=path.suffix == ".7z")
        check(new)
        os.replace(new, path)
    return path


def publish_all(
    directory: str | os.PathLike,
    frames: Mapping[str, pl.DataFrame | None],
    check: Callable[[Path], object],
    float_precision: int = 6,
) -> list[Path]:
    """``publish`` each ``{file name: frame}`` in ``directory``, in order; a name whose frame is None
    is removed instead (an older run's file would not match the manifest written next). The
    paths written, in order: the submission and the "ours" file beside it."""
    directory = Path(directory)
    written = []
    for name, frame in frames.items():
        if frame is None:
            (directory / name).unlink(missing_ok=True)
        else:
            written.append(publish(frame, directory / name, check, float_precision))
    return written


def read_submission(path: str | os.PathLike, schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame:
    """Read a .csv submission, or the single CSV inside a .7z archive."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    try:
        if path.suffix == ".7z":
            with py7zr.SevenZipFile(path, "r") as archive:
                names = archive.getnames()
                if len(names) != 1:
                    raise SubmissionError(f"{path.name}: expected one file inside the archive, found {names}")
                with tempfile.TemporaryDirectory() as scratch:
                    archive.extractall(path=scratch)
                    return pl.read_csv(Path(scratch) / names[0], schema_overrides=schema)
        return pl.read_csv(path, schema_overrides=schema)
    except SubmissionError:
        raise
    except Exception as exc:  # polars/py7zr parse errors: one line naming the file
        raise SubmissionError(
            f"{path.name}: cannot be read as CSV ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        ) from None


@dataclass(frozen=True)
class SubmissionFormat:
    """An official submission format: exact header, key columns and value columns."""

    name: str
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    dtypes: Mapping[str, pl.DataType] = field(default_factory=dict)


def validate_submission(path: str | os.PathLike, fmt: SubmissionFormat, expected_keys: pl.DataFrame) -> pl.DataFrame:
    """Check a submission file against ``fmt`` and the exact set of keys it must cover.
    Rejects a wrong header, wrong row count, duplicate keys, unknown or missing keys and NaN/null.
    Returns the parsed frame."""
    path = Path(path)
    df = read_submission(path, schema=dict(fmt.dtypes))
    name = path.name
    if tuple(df.columns) != fmt.columns:
        raise SubmissionError(f"{name}: header {df.columns} differs from {fmt.name}'s {list(fmt.columns)}")
    if df.height != expected_keys.height:
        raise SubmissionError(f"{name}: {df.height} rows, {fmt.name} needs {expected_keys.height}")
    nulls = [c for c in df.columns if df[c].null_count()]
    nans = [c for c in df.columns if df[c].dtype.is_float() and df[c].is_nan().any()]
    if nulls or nans:
        raise SubmissionError(f"{name}: missing or NaN values in column(s) {sorted(set(nulls + nans))}")
    keys = list(fmt.keys)
    dup = df.select(keys).is_duplicated()
    if dup.any():
        first = df.filter(dup).row(0)
        raise SubmissionError(f"{name}: {int(dup.sum())} rows with duplicate keys {keys}, e.g. {first[: len(keys)]}")
    expected = expected_keys.select(keys).cast({k: df[k].dtype for k in keys})
    unknown = df.select(keys).join(expected, on=keys, how="anti")
    if unknown.height:
        raise SubmissionError(f"{name}: {unknown.height} unknown keys {keys}, e.g. {unknown.row(0)}")
    return df


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            return "unknown"
        # "-dirty" when tracked code differs from the commit; the outputs a run rewrites (the README's
        # generated times among them) and prose, which no run reads, do not count
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!notebooks",
                ":!submissions",
                ":!benchmarks",
                ":!*.md",
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def twin_source(scale: str, seed: int) -> dict[str, Any]:
    return {"kind": "synthetic twin", "scale": scale, "seed": int(seed)}


def real_source(files: Sequence[str | os.PathLike]) -> dict[str, Any]:
    return {"kind": "real", "files": {Path(f).name: sha256_file(f) for f in files}}


@dataclass(frozen=True)
class Report:
    """What a run says about its submission in the manifest: the ``parameters`` it ran with, the
    ``data_source`` (``twin_source`` or ``real_source``), what it scored (``metrics``, and the same
    metrics for the baselines and variants in ``comparison``), ``data_facts`` (rates and counts of
    the data it saw, to hold a twin against the real) and the ``profile`` it ran
    (``shared.track.profiles``; manifests without one ran ``teach``)."""

    parameters: Mapping[str, Any]
    data_source: Mapping[str, Any]
    metrics: Mapping[str, float]
    comparison: Mapping[str, Mapping[str, float]] | None = None
    data_facts: Mapping[str, float] | None = None
    profile: str = "teach"


def write_manifest(
    directory: str | os.PathLike,
    track: str,
    report: Report,
    files: Sequence[str | os.PathLike],
    rows: int,
    tolerance: float = 0.0,
) -> Path:
    """manifest.json beside the submission: what produced it and what it scored (``report``), the
    files with their rows and sha256, what the result depends on (``environment``: CPU, pinned
    dispatch, threads, library versions) and the largest metric change still counted as a
    reproduction (``tolerance``, see ``shared.tools.reproduce``). No timestamps, so two identical runs on
    one machine write identical manifests (``make reproduce`` then adds ``timing``, the estimated and
    actual wall time: ``shared.tools.timing``)."""
    directory = Path(directory)
    facts = report.data_facts
    manifest = {
        "track": track,
        "profile": report.profile,
        "git_commit": git_commit(),
        "parameters": dict(report.parameters),
        "data_source": dict(report.data_source),
        "metrics": {k: round(float(v), 6) for k, v in report.metrics.items()},
        "files": [{"path": Path(f).name, "rows": int(rows), "sha256": sha256_file(f)} for f in files],
        **({"data_facts": {k: round(float(v), 6) for k, v in facts.items()}} if facts else {}),
        "tolerance": float(tolerance),
        "environment": dispatch.describe(),
    }
    if report.comparison:
        manifest["comparison"] = {
            m: {k: round(float(v), 6) for k, v in vals.items()} for m, vals in report.comparison.items()
        }
    return write_text_atomic(directory / "manifest.json", json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def publish_run(
    directory: str | os.PathLike,
    track: str,
    frames: Mapping[str, pl.DataFrame | None],
    check: Callable[[Path], object],
    report: Report,
    rows: int,
    tolerance: float,
    float_precision: int = 6,
) -> Path:
    """A run's outputs in place: each of ``frames`` (the submission first, then ours or None) written,
    checked and moved in (``publish_all``), then the manifest that names them (``write_manifest``).
    Returns the submission's path."""
    files = publish_all(directory, frames, check, float_precision)
    write_manifest(directory, track, report, files, rows=rows, tolerance=tolerance)
    return files[0]


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(directory) / "manifest.json").read_text())
