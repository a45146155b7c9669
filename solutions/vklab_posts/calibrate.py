"""Calibrate the twin: run source (a)'s frozen-encoder heads on twins with other global
parameters (``twin.Params``) and record every trial in ``benchmarks/calibration-vklab_posts.csv``.

    python -m solutions.vklab_posts.calibrate --grid photo_scale=0.5,0.7 open_photo_rate=0.037
    python -m solutions.vklab_posts.calibrate --final   # the constants in twin.py

A trial generates the twin (the photos and texts do not depend on the parameters, so their
embeddings come from the track's shared cache after the first run), trains the ten heads of
notebook 2 and scores them against the constant and the oracle on the test rows. The default
scale is ``full`` (the real row count): about 3 minutes a trial on 2 cores once the cache is
filled, 12 the first time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.twin import calibration
from shared.twin.calibration import Target
from solutions.vklab_posts import TRACK, data, pipeline, twin

SOURCE_A = "source (a), held-out BCE on open_photo/view (corrected)"
SPEC = calibration.Spec.of_twin(
    TRACK,
    twin,
    [data.FILENAME],
    scale="full",
    config="heads",
    targets=(
        Target.around("constant.logloss", "constant, log loss", 0.161, 0.002, SOURCE_A),
        Target("best_head.gain", "best frozen-encoder head, gain over the constant", 0.0025, 0.0015, 0.005, SOURCE_A),
    ),
)
SHOW = ("constant.logloss", "best_head.logloss", "best_head.gain", "oracle.logloss", "best_head.gap_closed")


def run_trial(cfg: pipeline.Config) -> dict[str, float]:
    """Constant, the ten heads and the oracle on open_photo/view; the best head's test log loss,
    its gain over the constant and the share of the constant-to-oracle gap it closes."""
    d = pipeline.load_data(cfg)
    pipeline.baselines(cfg, d)
    pipeline.train_heads(cfg, d, pipeline.encode(cfg, d), pipeline.HEAD_MODELS)
    table = pipeline.evaluate(cfg, d, ["constant", *pipeline.HEAD_MODELS, "oracle"])
    rows = {r["model"]: r for r in table.filter(table["target"] == pipeline.TARGET_A).to_dicts()}
    best = min(pipeline.HEAD_MODELS, key=lambda m: rows[m]["logloss"])
    constant, oracle = rows["constant"]["logloss"], rows["oracle"]["logloss"]
    facts = pipeline.data_facts(d)
    return {
        "constant.logloss": constant,
        "oracle.logloss": oracle,
        "best_head.logloss": rows[best]["logloss"],
        "best_head.gain": constant - rows[best]["logloss"],
        "best_head.gap_closed": rows[best]["gap_closed"],
        "best_head.r2": rows[best]["r2"],
        "mean_rate_open_photo": facts["mean_rate_open_photo"],
        "median_view": facts["median_view"],
    }


def _trial(args: argparse.Namespace, params: twin.Params) -> dict[str, float]:
    cfg = pipeline.Config(scale=args.scale, seed=args.seed, twin_params=params)
    with calibration.scratch(cfg, twin.folder(cfg.scale, cfg.seed, params)):
        return run_trial(cfg)


def main(argv: Sequence[str] | None = None) -> int:
    return calibration.command(SPEC, __doc__, _trial, argv, show=SHOW)


if __name__ == "__main__":
    sys.exit(main())
