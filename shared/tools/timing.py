"""How long will this take? Before ``make reproduce`` runs a track it prints one line: the wall time
the same track, profile and data took on this device, from ``benchmarks/reproduce-times.csv``, or
that no rate is recorded for this device. After the run it records the actual time there and in the
track's manifest (``timing``: the estimate and the actual seconds), so the next run has a rate.

A device is the CPU model, the number of cores and the GPU (``shared.train.bench.machine``): a time from
another machine says nothing about this one, so it is never used.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from shared.data.io import append_csv, write_text_atomic
from shared.runtime.paths import benchmarks_dir
from shared.train.bench import cores_text

FILE = "reproduce-times.csv"
KEYS = ("track", "profile", "data", "cpu", "cores", "gpu")


def data_key(parameters: dict[str, Any]) -> str:
    """``real`` with a DATA_DIR, else the twin's scale (the Makefile always passes SCALE)."""
    return "real" if str(parameters.get("DATA_DIR", "") or "").strip() else f"twin {parameters.get('SCALE', 'small')}"


def run_key(track: str, profile: str, parameters: dict[str, Any]) -> dict[str, str]:
    from shared.train.bench import machine

    m = machine()
    return {
        "track": track,
        "profile": profile,
        "data": data_key(parameters),
        "cpu": m["cpu"],
        "cores": m["cores"],
        "gpu": m["gpu"],
    }


def recorded(key: dict[str, str], directory: Path | None = None) -> dict[str, Any] | None:
    """The latest recorded run with the same key, or None."""
    path = (directory or benchmarks_dir()) / FILE
    if not path.is_file():
        return None
    frame = pl.read_csv(path, infer_schema_length=None).cast({k: pl.Utf8 for k in KEYS})
    match = frame.filter(pl.all_horizontal(pl.col(k) == v for k, v in key.items()))
    return match.row(-1, named=True) if match.height else None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def estimate_line(key: dict[str, str], row: dict[str, Any] | None) -> str:
    device = f"{key['cpu']}, {cores_text(key['cores'])}" + ("" if key["gpu"] == "none" else f", {key['gpu']}")
    what = f"{key['track']}, profile {key['profile']}, {key['data']}, on {device}"
    if row is None:
        return f"estimate: {what}: no recorded rate for this device"
    return f"estimate: {what}: about {_minutes(float(row['wall_s']))} (as recorded {row['date']})"


def record(
    key: dict[str, str], wall_s: float, estimate_s: float | None, manifest: Path, directory: Path | None = None
) -> None:
    """Append the run to ``reproduce-times.csv`` and put ``timing`` into its manifest."""
    append_csv(
        (directory or benchmarks_dir()) / FILE,
        [{"date": dt.date.today().isoformat(), **key, "wall_s": round(wall_s, 1)}],
    )
    if manifest.is_file():
        m = json.loads(manifest.read_text())
        m["timing"] = {"estimate_s": None if estimate_s is None else round(estimate_s, 1), "wall_s": round(wall_s, 1)}
        write_text_atomic(manifest, json.dumps(m, indent=2) + "\n")
