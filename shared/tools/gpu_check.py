"""``make gpu-check``: every torch model of every track trains at its track's full scale (a DCNv2
epoch at ``medium``, two SASRec epochs at ``full``, ...: each contract's ``gpu_scale``) and predicts on
CUDA, under the determinism settings of the CPU run (``shared.runtime.seed``), and each one's rows per
second and peak GPU memory go to ``benchmarks/gpu-check.csv`` with the GPU's name and the torch and
Python that ran them (a GPU machine may hold other versions than the pins: a lent machine's image is
not this repository's environment).

Each track's ``gpu_checks(scale)`` (its contract's, ``shared.track.contract``) returns ``{model: run}``;
``run()`` trains and predicts and returns how many rows (training examples over all steps) it
trained on. On a machine without CUDA the command says so in one line and exits 0; ``--cpu`` runs
the same checks on the CPU (the tests do, at ``tiny``, where the models take the sizes of
``tiny.yaml``), recording nothing unless ``--out`` is given. ``--twice`` (``make gpu-check
ARGS=--twice``) runs each track's checks twice, each in a fresh folder, and compares what they saved
(recommendations, predictions, embeddings) byte for byte into ``benchmarks/gpu-determinism.csv``:
the determinism settings' proof on that GPU.

    python -m shared.tools.gpu_check TRACK ...                  # on a GPU machine
    python -m shared.tools.gpu_check TRACK --cpu --scale tiny   # the same code path on the CPU
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from shared.data.io import append_csv, sha256_file
from shared.runtime import dispatch
from shared.runtime.device import device_facts
from shared.runtime.paths import NOTEBOOKS_DIR, OUTPUT_ENV, REPO_ROOT
from shared.track import profiles, registry

RECORD = "gpu-check.csv"
SAME_RECORD = "gpu-determinism.csv"
OUTPUTS = (".parquet", ".npy", ".npz")  # what the checks save: recommendations, embeddings, features


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
    return {
        "model": name,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1) if rows and seconds > 0 else 0.0,
        "peak_gpu_gib": round(peak, 3),
        "error": error,
    }


def fingerprints(root: Path, track: str) -> dict[str, str]:
    """sha256 of every saved output (``OUTPUTS``) under ``root/artifacts/<track>``, by relative path."""
    base = root / "artifacts" / track
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.suffix in OUTPUTS
    }


def compare_runs(first: dict[str, str], second: dict[str, str], track: str, gpu: str) -> list[dict]:
    """One row per output file of two runs of a track's checks: both hashes and whether they agree
    (a file only one run wrote counts as different)."""
    return [
        {
            "date": dt.date.today().isoformat(),
            "track": track,
            "file": name,
            "gpu": gpu,
            "sha256_first": first.get(name, ""),
            "sha256_second": second.get(name, ""),
            "same": first.get(name) == second.get(name),
        }
        for name in sorted(set(first) | set(second))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracks", nargs="*", help="default: every track")
    parser.add_argument(
        "--scale", default="", help="twin scale (default: each track's own, where a few hundred steps fit)"
    )
    parser.add_argument("--cpu", action="store_true", help="run the checks on the CPU (tests)")
    parser.add_argument(
        "--out", default="", help=f"record file (default on CUDA: benchmarks/{RECORD}; on the CPU: none)"
    )
    parser.add_argument(
        "--twice",
        action="store_true",
        help=f"run each track's checks twice in two fresh output folders and compare their saved outputs "
        f"byte for byte (into {SAME_RECORD} beside the record)",
    )
    args = parser.parse_args(argv)
    try:
        registry.check_names(args.tracks)
    except ValueError as exc:
        print(f"gpu-check: {exc}", file=sys.stderr)
        return 2
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch looks: the checks' torch_device() is the CPU
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu:
        print(
            f"gpu-check: no CUDA device on this machine (torch {torch.__version__}, {dispatch.cpu_model()}): "
            "nothing to check"
        )
        return 0
    out = Path(args.out) if args.out else (REPO_ROOT / "benchmarks" / RECORD if cuda else None)
    device = device_facts()
    # twins and artifacts of the checks go to a folder of their own (never over a teaching run's
    # artifacts), and each track's artifacts start empty: a kept checkpoint would skip the training
    root = Path(os.environ.get(OUTPUT_ENV) or REPO_ROOT / ".bench") / "gpu-check"
    before = os.environ.get(OUTPUT_ENV)
    try:
        rows, same_rows = _check_tracks(args, root, cuda, device)
    finally:  # the pipelines read the output folder from the environment; leave it as it was
        if before is None:
            os.environ.pop(OUTPUT_ENV, None)
        else:
            os.environ[OUTPUT_ENV] = before
    failed = sum(bool(r["error"]) for r in rows) + sum(not r["same"] for r in same_rows)
    if out and rows:
        append_csv(out, rows)
        print(f"gpu-check: {len(rows)} rows appended to {out.name} ({device.get('gpu', 'cpu')})")
        if same_rows:
            append_csv(out.with_name(SAME_RECORD), same_rows)
            print(f"gpu-check: {len(same_rows)} rows appended to {SAME_RECORD}")
    return 1 if failed else 0


def _check_tracks(args: argparse.Namespace, root: Path, cuda: bool, device: dict) -> tuple[list[dict], list[dict]]:
    rows, same_rows = [], []
    for track in args.tracks or registry.names():
        c = registry.contract(track)
        if c is None or c.gpu_checks is None:
            print(f"gpu-check {track}: no torch model")
            continue
        # at tiny (the tests) the models take the notebook tests' sizes too (notebooks/<track>/tiny.yaml)
        sizes = tiny_sizes(track) if args.scale == "tiny" else {}
        scale = args.scale or c.gpu_scale
        runs = ("first", "second") if args.twice else ("",)
        prints = []
        for run_name in runs:
            folder = root / run_name if run_name else root
            shutil.rmtree(folder / "artifacts" / track, ignore_errors=True)
            os.environ[OUTPUT_ENV] = str(folder)
            rows += _check_track(track, c.gpu_check_runs(scale, **sizes), cuda, device, scale, run_name)
            prints.append(fingerprints(folder, track))
        if args.twice:
            same_rows += compare_runs(prints[0], prints[1], track, device.get("gpu", "cpu"))
            differ = [r["file"] for r in same_rows if r["track"] == track and not r["same"]]
            verdict = (
                f"{len(differ)} differ between the two runs: {', '.join(differ)}"
                if differ
                else "the two runs wrote the same bytes"
                if prints[0]
                else "nothing saved to compare"
            )
            print(f"gpu-check {track}: {len(prints[0])} saved outputs, {verdict}")
    return rows, same_rows


def _check_track(track: str, checks: dict, cuda: bool, device: dict, scale: str, run_name: str) -> list[dict]:
    import torch

    rows = []
    for name, run in checks.items():
        row = {
            "date": dt.date.today().isoformat(),
            "track": track,
            **measure(name, run, cuda),
            "gpu": device.get("gpu", "cpu"),
            "cuda": device.get("cuda", ""),
            "cpu": dispatch.cpu_model(),
            "scale": scale,
            "torch": torch.__version__,
            "python": platform.python_version(),
        }
        rows.append(row)
        shown = (
            f"error {row['error']}"
            if row["error"]
            else f"{row['rows']:,} rows in {row['seconds']:.1f} s ({row['rows_per_s']:,.0f} rows/s, "
            f"peak {row['peak_gpu_gib']:.2f} GiB)"
        )
        print(f"gpu-check {track} {name}{' (' + run_name + ' run)' if run_name else ''}: {shown}", flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(main())
