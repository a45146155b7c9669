"""Calibrate the twin: run the source's faithful pipeline on twins with other global parameters
(``twin.Params``) and record every trial in ``benchmarks/calibration-kraft_kuairec.csv``.

    python -m solutions.kraft_kuairec.calibrate --screen --grid item_scale=1,2 drift=0,-0.5
    python -m solutions.kraft_kuairec.calibrate --grid item_scale=2,3 personal_scale=1
    python -m solutions.kraft_kuairec.calibrate --final --with-best   # the constants in twin.py

``--screen`` skips the ranker (random, popularity, oracle and the label rates only: seconds);
without it each trial trains the faithful ranker exactly as the source did (1,000 trees; at ``full``
about 10-16 minutes on 2 cores). ``--final`` runs the twin's own constants and writes the
"twin against the real data" table into the track README. The default scale is ``full``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import polars as pl

from shared.twin import calibration
from shared.twin.calibration import Target
from solutions.kraft_kuairec import TRACK, data, pipeline, twin

SEED_README = "KRAFT README (source table)"
# The source's published real-data figures, and how close the faithful pipeline on the calibrated
# `full` twin must land (the README's "The twin against the real data").
SPEC = calibration.Spec.of_twin(
    TRACK,
    twin,
    [data.SMALL_MATRIX],
    scale="full",
    config="faithful",
    targets=(
        *[
            Target.around(
                f"precision@{k}", f"faithful P@{k}", pipeline.SOURCE_REPORTED[f"precision@{k}"], 0.02, SEED_README
            )
            for k in (10, 20, 50, 100)
        ],
        *[
            Target.around(f"ndcg@{k}", f"faithful NDCG@{k}", pipeline.SOURCE_REPORTED[f"ndcg@{k}"], 0.02, SEED_README)
            for k in (10, 20, 50)
        ],
        Target.around("recall@50", "faithful R@50", pipeline.SOURCE_REPORTED["recall@50"], 0.02, SEED_README),
        Target.around(
            "test_positive_rate",
            "test positive rate (derived: 32.4 % overall, 32.79 % train)",
            0.3083,
            0.01,
            "KuaiRec small matrix, last 20 % by time: not published, derived from the two published rates",
        ),
    ),
)
KS = (10, 20, 50, 100)
BASELINE_METRICS = tuple(t.metric for t in SPEC.targets if "@" in t.metric)
SHOW = ("test_positive_rate", "popularity.ndcg@10", "oracle.ndcg@10", "precision@10", "ndcg@10", "best.ndcg@10")


def run_trial(cfg: pipeline.Config, faithful: bool, with_best: bool = False) -> dict[str, float]:
    """Generate the twin of ``cfg`` (its ``twin_params``), split it as the source does, score the
    baselines and (with ``faithful``) the source's ranker, and (``with_best``) our ``best`` ranker
    beside it; return the record's metrics (the faithful ranker's without a prefix, the others'
    as ``model.metric``, training seconds as ``model.train_s``)."""
    split = pipeline.prepare(cfg)
    scores = split.test.select("user_id", "video_id", "label").with_columns(**pipeline.baseline_scores(cfg, split))
    trained = (["faithful"] if faithful else []) + (["best"] if with_best else [])
    seconds = {}
    for variant in trained:
        start = time.perf_counter()
        scores = scores.with_columns(pl.Series(variant, pipeline.train_variant(cfg, split, variant).test_scores))
        seconds[f"{variant}.train_s"] = time.perf_counter() - start
    rows = pipeline.evaluate(scores, ["random", "popularity", "oracle", *trained], KS).to_dicts()
    table = {r.pop("model"): r for r in rows}
    metrics = dict(pipeline.data_facts(split)) | seconds | (table.pop("faithful") if faithful else {})
    for model, row in table.items():  # the target metrics of every model: popularity tracks faithful closely
        metrics |= {f"{model}.{k}": row[k] for k in (*BASELINE_METRICS, "test_auc")}
    if faithful and with_best:  # ours against the source, paired by user
        diff = pipeline.paired_difference(scores)
        metrics |= {"best_minus_faithful.ndcg@10": diff["mean"], "best_minus_faithful.ndcg@10_se": diff["se"]}
    return metrics


def _trial(args: argparse.Namespace, params: twin.Params) -> dict[str, float]:
    cfg = pipeline.Config(scale=args.scale, seed=args.seed, n_estimators=args.n_estimators, twin_params=params)
    with calibration.scratch(cfg, twin.folder(cfg.scale, cfg.seed, params)):
        return run_trial(cfg, not args.screen, args.with_best)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--screen", action="store_true", help="baselines only, no ranker (seconds)")
    parser.add_argument("--n-estimators", type=int, default=1000)
    parser.add_argument("--with-best", action="store_true", help="also train our `best` ranker (its metrics as best.*)")


def _config(args: argparse.Namespace) -> str:
    if args.screen:
        return "screen"
    return SPEC.config + ("" if args.n_estimators == 1000 else f"-{args.n_estimators}trees")


def main(argv: Sequence[str] | None = None) -> int:
    return calibration.command(SPEC, __doc__, _trial, argv, _arguments, _config, SHOW)


if __name__ == "__main__":
    sys.exit(main())
