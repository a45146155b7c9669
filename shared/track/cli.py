"""What every track's pipeline CLI shares: the data switch and bench options, and recording a
timed run into ``benchmarks/``."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from shared.runtime.paths import benchmarks_dir
from shared.track.profiles import PROFILES
from shared.track.submission import write_csv
from shared.train.bench import StageTimer


def pipeline_parser(doc: str, scales: Sequence[str]) -> argparse.ArgumentParser:
    """``--scale`` (one of the track's ``scales``) ``--data-dir --seed --profile --params --fresh-twin
    --bench --bench-dir``; a track adds its own options. ``--bench`` only times and records: what a
    benchmark run does besides (a fresh twin, other rows) is asked for by its own options, as
    ``make bench`` does (``shared.tools.benchmark``, each pipeline's ``bench_options``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", choices=tuple(scales))
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--profile",
        default="teach",
        choices=PROFILES,
        help="source: the source's own configuration (notebooks/<track>/source.yaml); options given here override it",
    )
    parser.add_argument(
        "-f",
        "--params",
        default=None,
        help="a parameters file over the profile's, as the runner's -f (notebooks/<track>/tiny.yaml: "
        "the notebook tests' sizes); options given here override it",
    )
    parser.add_argument(
        "--fresh-twin",
        action="store_true",
        help="generate the twin again even when it is cached, so its stage times the generation (make bench)",
    )
    parser.add_argument(
        "--bench",
        action="store_true",
        help="record time and peak RSS per stage (and the run's tables) in --bench-dir; changes nothing else",
    )
    parser.add_argument("--bench-dir", default=None, help="where to record them (default: benchmarks/)")
    return parser


def record_bench(timer: StageTimer, track: str, cfg, config: str, bench_dir: str | os.PathLike | None) -> None:
    """Append the run's stages to ``benchmarks/`` (scale ``real`` on the real files) and print them."""
    config = config if cfg.profile == "teach" else f"profile {cfg.profile}: {config}"
    path = timer.write(track, cfg.scale if cfg.is_twin else "real", config, bench_dir)
    with pl.Config(tbl_rows=-1):
        print(pl.DataFrame([*timer.records, timer.total()]))
    print(f"recorded in {path}")


def record_table(table: pl.DataFrame, track: str, cfg, config: str, bench_dir: str | os.PathLike | None) -> Path:
    """Write the run's comparison table beside the timings, as ``<track>-<scale>-<config>.csv``
    (scale ``real`` on the real files), so every figure a README quotes comes from a file a make
    target wrote."""
    directory = Path(bench_dir) if bench_dir else benchmarks_dir()
    directory.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-zA-Z0-9_.=-]+", "_", config)
    path = directory / f"{track}-{cfg.scale if cfg.is_twin else 'real'}-{slug}.csv"
    write_csv(table, path, float_precision=6)
    print(f"table recorded in {path.name}")
    return path


def add_model_seeds(parser: argparse.ArgumentParser, what: str) -> None:
    """``--model-seeds 7,11,13``: after the run, retrain ``what`` with these model seeds on the same twin."""
    parser.add_argument(
        "--model-seeds",
        default="",
        help=f"after the run, retrain {what} with these comma-separated model seeds on the same "
        "twin; with --bench the tables go to benchmarks/",
    )


def model_seeds(arg: str, seed: int) -> list[int]:
    """The run's own seed first, then those of ``--model-seeds`` (the run's seed given again is dropped)."""
    return [seed] + [int(x) for x in arg.split(",") if x and int(x) != seed]


def seed_study(
    study: Callable[[Sequence[int]], tuple[pl.DataFrame, pl.DataFrame]],
    arg: str,
    track: str,
    cfg,
    bench_dir: str | os.PathLike | None,
    record: bool,
) -> None:
    """Run a track's ``study(seeds)`` for ``--model-seeds``, print its per-seed table and summary
    and, in a bench run (``record``), write both beside the timings."""
    per_seed, summary = study(model_seeds(arg, cfg.seed))
    with pl.Config(float_precision=4, tbl_cols=-1, tbl_width_chars=200, tbl_rows=-1):
        print(per_seed, summary, sep="\n")
    if record:
        record_table(per_seed, track, cfg, "seeds", bench_dir)
        record_table(summary, track, cfg, "seeds-summary", bench_dir)


def seed_summaries(bench_dir: str | os.PathLike | None = None) -> list[Path]:
    """Rewrite every ``<track>-<scale>-seeds-summary.csv`` from its committed ``-seeds.csv`` with the
    track's ``seed_summary`` (its contract's; ``make seed-summaries``: after the summary's rule changes,
    no retraining)."""
    from shared.track.registry import contract, names

    directory = Path(bench_dir) if bench_dir else benchmarks_dir()
    written = []
    for per_seed_path in sorted(directory.glob("*-seeds.csv")):
        track = next((t for t in names() if per_seed_path.name.startswith(f"{t}-")), None)
        c = contract(track) if track else None
        if c is None or c.seed_summary is None:
            continue
        summarize = c.seed_summary
        out = per_seed_path.with_name(per_seed_path.name.replace("-seeds.csv", "-seeds-summary.csv"))
        write_csv(summarize(pl.read_csv(per_seed_path)), out, float_precision=6)
        written.append(out)
    return written


if __name__ == "__main__":  # `python -m shared.track.cli seed-summaries`
    import sys

    if sys.argv[1:] != ["seed-summaries"]:
        sys.exit("usage: python -m shared.track.cli seed-summaries")
    for path in seed_summaries():
        print(f"rewrote {path.name}")
