"""Stage timer for ``make bench``: wall time and peak resident memory per named stage.

Peak RSS is sampled by a background thread (psutil, every 20 ms) while the stage runs, so each
stage reports its own peak rather than the process's lifetime maximum. Results append to
``benchmarks/results.csv`` and ``benchmarks/README.md`` is rewritten from it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from shared.data.io import atomic_path, write_text_atomic
from shared.runtime import dispatch
from shared.runtime.paths import benchmarks_dir

# ``variant``: the variant of a step the stage times (a ratio's side, ``ratio_lines``); ``rows``: how
# many items it worked on, where that is the figure a reader divides by (photos encoded)
FIELDS = [
    "date",
    "track",
    "scale",
    "config",
    "stage",
    "variant",
    "rows",
    "wall_s",
    "peak_rss_mib",
    "cores",
    "ram_gib",
    "gpu",
    "cpu",
]
NOT_RECORDED = "not recorded"  # rows written before the CPU model was


def machine() -> dict[str, str]:
    from shared.runtime.device import device_facts

    gpu = device_facts().get("gpu", "none")
    return {
        # the cores this process may run on (``taskset`` pins a long run to one, beside other work)
        "cores": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "ram_gib": f"{psutil.virtual_memory().total / 2**30:.0f}",
        "gpu": gpu,
        "cpu": dispatch.cpu_model(),
    }


def cores_text(cores: int | str) -> str:
    """``machine()``'s core count as prose: "1 core", "2 cores"."""
    return f"{cores} core{'' if str(cores) == '1' else 's'}"


def no_stage(name: str, variant: str = "", rows: int | None = None) -> contextlib.AbstractContextManager:
    """A stage that records nothing: what a pipeline runs its stages in without ``--bench``."""
    return contextlib.nullcontext()


def stages(timer: StageTimer | None):
    """``timer.stage``, or ``no_stage`` when there is no timer."""
    return timer.stage if timer else no_stage


def kept_by_resume(stage, row: str, progress: bool = False) -> None:
    """A row ``--resume`` keeps (an earlier run of the same configuration trained it): a stage of no
    work, so that a bench table still lists it, and one line when progress is shown."""
    with stage(f"{row} (kept, trained by an earlier run; --resume)"):
        if progress:
            print(f"{row}: kept, trained by an earlier run of this configuration (--resume)", flush=True)


@dataclass
class StageTimer:
    """``with timer.stage("als"): ...`` records (stage, wall seconds, peak RSS MiB); a stage that
    times one variant of a step names it (``variant``: the ratios compare variants), one that
    worked on a number of items a reader divides by says how many (``rows``)."""

    interval_s: float = 0.02
    records: list[dict] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, name: str, variant: str = "", rows: int | None = None) -> Iterator[None]:
        proc = psutil.Process()
        peak = [proc.memory_info().rss]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval_s):
                peak[0] = max(peak[0], proc.memory_info().rss)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        start = time.perf_counter()
        try:
            yield
        finally:
            wall = time.perf_counter() - start
            stop.set()
            thread.join()
            peak[0] = max(peak[0], proc.memory_info().rss)
            self.records.append(
                {
                    "stage": name,
                    "variant": variant,
                    "rows": "" if rows is None else rows,
                    "wall_s": round(wall, 2),
                    "peak_rss_mib": round(peak[0] / 2**20, 1),
                }
            )

    def total(self) -> dict:
        return {
            "stage": "TOTAL",
            "variant": "",
            "rows": "",
            "wall_s": round(sum(r["wall_s"] for r in self.records), 2),
            "peak_rss_mib": max((r["peak_rss_mib"] for r in self.records), default=0.0),
        }

    def write(
        self, track: str, scale: str, config: str = "default", directory: str | os.PathLike | None = None
    ) -> Path:
        """Append this run's rows to results.csv and rewrite the markdown table."""
        directory = Path(directory) if directory else benchmarks_dir()
        directory.mkdir(parents=True, exist_ok=True)
        csv_path = directory / "results.csv"
        info = machine()
        date = dt.date.today().isoformat()
        rows = [
            {
                "date": date,
                "track": track,
                "scale": scale,
                "config": config,
                **r,
                "cores": info["cores"],
                "ram_gib": info["ram_gib"],
                "gpu": info["gpu"],
                "cpu": info["cpu"],
            }
            for r in [*self.records, self.total()]
        ]
        old = []
        if csv_path.exists():
            with open(csv_path, newline="") as f:
                old = list(csv.DictReader(f))
        with atomic_path(csv_path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=FIELDS, restval=NOT_RECORDED)
                writer.writeheader()
                writer.writerows([*old, *rows])
        write_markdown(csv_path, directory / "README.md")
        return csv_path


def ratio_lines(run: list[dict]) -> list[str]:
    """Where a run timed several variants of a step (stages with a ``variant``), each one's time as a
    ratio to the first's: the only speed claim that carries across machines."""
    totals: dict[str, float] = {}
    for r in run:
        if r.get("variant", NOT_RECORDED) not in ("", NOT_RECORDED):
            totals[r["variant"]] = totals.get(r["variant"], 0.0) + float(r["wall_s"])
    if len(totals) < 2:
        return []
    base, *others = totals

    def secs(x: float) -> str:  # a tenth of a second, or a hundredth below one second
        return f"{x:.1f}" if x >= 1 else f"{x:.2f}"

    return [
        f"Same run: `{o}` took {secs(totals[o])} s, {totals[o] / totals[base]:.3f} of `{base}`'s "
        f"{secs(totals[base])} s."
        for o in others
    ] + [""]


def write_markdown(csv_path: Path, md_path: Path) -> Path:
    """Render results.csv as one table per run, newest first."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    # a run ends with its TOTAL row
    runs: list[list[dict]] = []
    current: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["track"], row["scale"], row["config"])
        current.setdefault(key, []).append(row)
        if row["stage"] == "TOTAL":
            runs.append(current.pop(key))
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (shared/train/bench.py), newest run first; raw rows in `results.csv`.",
        "",
    ]
    for run in reversed(runs):
        first = run[0]
        lines += [
            f"## {first['track']}, scale `{first['scale']}`, config `{first['config']}` ({first['date']}; "
            f"{cores_text(first['cores'])}, {first['ram_gib']} GiB RAM, GPU: {first['gpu']})",
            "",
            "| stage | wall s | peak RSS MiB |",
            "|---|---:|---:|",
            *[f"| {r['stage']} | {r['wall_s']} | {r['peak_rss_mib']} |" for r in run],
            "",
            f"CPU: {first.get('cpu') or NOT_RECORDED}.",
            "",
            *ratio_lines(run),
        ]
    return write_text_atomic(md_path, "\n".join(lines))
