"""``make gpu-check``: every torch model of every track trains a few hundred steps and predicts on
CUDA, under the determinism settings of the CPU run (``shared.seed``), and each one's rows per
second and peak GPU memory go to ``benchmarks/gpu-check.csv`` with the GPU's name and the torch and
Python that ran them (a GPU machine may hold other versions than the pins: a lent machine's image is
not this repository's environment).

Each track's ``pipeline.gpu_checks(scale)`` returns ``{model: run}``; ``run()`` trains and predicts
and returns how many rows (training examples over all steps) it trained on. On a machine without
CUDA the command says so in one line and exits 0; ``--cpu`` runs the same checks on the CPU (the
tests do, at ``tiny``, where the models take the sizes of ``tiny.yaml``), recording nothing unless
``--out`` is given.

    python -m shared.gpu_check vk_clips hse_sasrec        # on a GPU machine
    python -m shared.gpu_check vk_clips --cpu --scale tiny   # the same code path on the CPU
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from shared import dispatch, profiles
from shared.io import append_csv
from shared.paths import NOTEBOOKS_DIR, OUTPUT_ENV, REPO_ROOT
from shared.seed import device_facts

RECORD = "gpu-check.csv"


def _tracks() -> list[str]:
    return sorted(p.name for p in NOTEBOOKS_DIR.iterdir() if p.is_dir())


def tiny_sizes(track: str) -> dict:
    """The ``Config`` fields ``notebooks/<track>/tiny.yaml`` sets, other than the scale."""
    values = profiles.config_values(profiles.read_file(NOTEBOOKS_DIR / track / "tiny.yaml"))
    return {name: value for name, value in values.items() if name != "scale"}


def measure(name: str, run: Callable[[], int], cuda: bool) -> dict:
    """Run one check: rows trained, seconds, rows/s, peak GPU memory; an error is recorded, not
    raised (a deterministic-algorithm error on CUDA names the op that lacks a deterministic kernel)."""
    import torch

    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        rows, error = int(run()), ""
    except Exception as exc:  # noqa: BLE001 - one line per failing model, the others still run
        rows, error = 0, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    return {"model": name, "rows": rows, "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds, 1) if rows and seconds > 0 else 0.0,
            "peak_gpu_gib": round(peak, 3), "error": error}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracks", nargs="*", help="default: every track")
    parser.add_argument("--scale", default="", help="twin scale (default: each track's own, where a few hundred steps fit)")
    parser.add_argument("--cpu", action="store_true", help="run the checks on the CPU (tests)")
    parser.add_argument("--out", default="", help=f"record file (default on CUDA: benchmarks/{RECORD}; on the CPU: none)")
    args = parser.parse_args(argv)
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch looks: the checks' torch_device() is the CPU
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu:
        print(f"gpu-check: no CUDA device on this machine (torch {torch.__version__}, {dispatch.cpu_model()}): nothing to check")
        return 0
    out = Path(args.out) if args.out else (REPO_ROOT / "benchmarks" / RECORD if cuda else None)
    device = device_facts()
    rows, failed = [], 0
    # twins and artifacts of the checks go to a scratch folder: never over a teaching run's artifacts
    os.environ.setdefault(OUTPUT_ENV, str(REPO_ROOT / ".bench" / "gpu-check"))
    for track in args.tracks or _tracks():
        pipeline = importlib.import_module(f"solutions.{track}.pipeline")
        if not hasattr(pipeline, "gpu_checks"):
            print(f"gpu-check {track}: no torch model")
            continue
        # at tiny (the tests) the models take the notebook tests' sizes too (notebooks/<track>/tiny.yaml)
        sizes = tiny_sizes(track) if args.scale == "tiny" else {}
        scale = args.scale or inspect.signature(pipeline.gpu_checks).parameters["scale"].default
        checks = pipeline.gpu_checks(scale, **sizes)
        for name, run in checks.items():
            row = {"date": dt.date.today().isoformat(), "track": track, **measure(name, run, cuda),
                   "gpu": device.get("gpu", "cpu"), "cuda": device.get("cuda", ""), "cpu": dispatch.cpu_model(),
                   "scale": scale, "torch": torch.__version__, "python": platform.python_version()}
            failed += bool(row["error"])
            rows.append(row)
            shown = f"error {row['error']}" if row["error"] else \
                f"{row['rows']:,} rows in {row['seconds']:.1f} s ({row['rows_per_s']:,.0f} rows/s, peak {row['peak_gpu_gib']:.2f} GiB)"
            print(f"gpu-check {track} {name}: {shown}", flush=True)
    if out and rows:
        append_csv(out, rows)
        print(f"gpu-check: {len(rows)} rows appended to {out.name} ({device.get('gpu', 'cpu')})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
