"""Calibrate the twin: train the source's DCNv2 with and without its history features on twins with
other global parameters (``twin.Params``) and record every trial in ``benchmarks/calibration-vk_clips.csv``.

    python -m solutions.vk_clips.calibrate --scale small --grid affinity_scale=0.5,0.8
    python -m solutions.vk_clips.calibrate --final      # the constants in twin.py, at `medium`

The targets are the source's private leaderboard: DCNv2 with the faithful history features 0.6667
per-user ROC-AUC, the same model without them 0.6655 (the history adds 0.0012). The full twin has
the real 145.7M rows, and one DCNv2 epoch over them takes about 40 hours on 2 CPU cores, so the
targets' scale is ``medium`` (3.0M rows with the real rows per user and per item): one trial trains
DCNv2 twice, about 50 minutes each on 2 cores. ``small`` screens in about 3 minutes a trial, with
far less data per item than the real file: its AUCs are lower and say only which way a parameter
moves them. The calibrated values (``twin.Params``' defaults) are those of the `medium` trial that
met the level and the like rate; the README's "The twin against the real data" shows its table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import polars as pl

from shared.twin import calibration
from shared.twin.calibration import Target
from solutions.vk_clips import TRACK, data, pipeline, twin

LB = "the source's private leaderboard (per-user ROC-AUC)"
SPEC = calibration.Spec.of_twin(
    TRACK,
    twin,
    [data.TRAIN, data.TEST],
    scale="medium",
    config="dcn",
    targets=(
        Target.around("dcn_faithful.auc", "DCNv2 + history (faithful)", 0.6667, 0.015, LB, centre=0.667),
        Target("history_gain", "history features: faithful minus without", 0.0012, 0.0, 0.005, LB),
        Target.around("like_rate", "like rate of train rows", 0.046601, 0.0005, "train_interactions.parquet"),
    ),
)
SHOW = ("dcn_faithful.auc", "dcn_nohistory.auc", "history_gain", "als.auc", "oracle.auc")
EMB_DIM = pipeline.Config.emb_dim  # the source's; a smaller one only to test the command quickly
ROWS = ("random", "popularity", "als", "dcn_nohistory", "dcn_faithful", "oracle")


def run_trial(cfg: pipeline.Config) -> dict[str, float]:
    """The baselines, DCNv2 without and with the faithful history features, and the oracle: per-user
    ROC-AUC on the drawn test classes (``auc``, as the leaderboard) and against the true class
    probabilities (``auc_expected``); ``history_gain`` is the faithful row minus the one without."""
    d = pipeline.load_data(cfg)
    scores = pipeline.baseline_scores(cfg, d)
    hist = pipeline.history(cfg, d)
    for row in ("dcn_nohistory", "dcn_faithful"):
        scores[row], _ = pipeline.train_dcn(cfg, d, row, hist, progress=False)
    frame = d.vk.test.select("user_id", "item_id").with_columns(
        *d.truth.select("target", *pipeline.TRUE_PROBS).get_columns(),
        **{name: pl.Series(scores[name]) for name in ROWS},
    )
    metrics = dict(pipeline.data_facts(d))
    for row in pipeline.evaluate(frame, ROWS).to_dicts():
        metrics |= {f"{row['model']}.auc": row["auc"], f"{row['model']}.auc_expected": row["auc_expected"]}
    metrics["history_gain"] = metrics["dcn_faithful.auc"] - metrics["dcn_nohistory.auc"]
    metrics["history_gain_expected"] = metrics["dcn_faithful.auc_expected"] - metrics["dcn_nohistory.auc_expected"]
    return metrics


def _trial(args: argparse.Namespace, params: twin.Params) -> dict[str, float]:
    cfg = pipeline.Config(scale=args.scale, seed=args.seed, twin_params=params, emb_dim=args.emb_dim)
    with calibration.scratch(cfg, twin.folder(cfg.scale, cfg.seed, params)):
        return run_trial(cfg)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--emb-dim", type=int, default=EMB_DIM, help="DCNv2's embedding size (the source's: 256)")


def _config(args: argparse.Namespace) -> str:
    return SPEC.config + (f"-emb{args.emb_dim}" if args.emb_dim != EMB_DIM else "")


def main(argv: Sequence[str] | None = None) -> int:
    return calibration.command(SPEC, __doc__, _trial, argv, _arguments, _config, SHOW)


if __name__ == "__main__":
    sys.exit(main())
