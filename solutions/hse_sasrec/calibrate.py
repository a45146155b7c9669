"""Calibrate the twin: train the team's models on twins with other global parameters
(``twin.Params``) and record every trial in ``benchmarks/calibration-hse_sasrec.csv``.

    python -m solutions.hse_sasrec.calibrate --scale small --grid chain_scale=0.3,0.6 --sasrec-only
    python -m solutions.hse_sasrec.calibrate --final     # the constants in twin.py: the whole ladder

``--sasrec-only`` trains SASRec alone (the screening run: SASRec's HitRate@10 moves most with how
predictable the next item is); without it a trial is the whole published ladder: SASRec and BERT4Rec
(the `cpu` presets, scored on the team's last-item holdout, the test step) and SLIM, ALS and ItemKNN on
Spark (scored on the validation step, where the team reported them). The targets' scale is ``full``.
The calibrated values are `twin.Params` (README, "The twin against the real data").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.twin import calibration
from shared.twin.calibration import Target
from solutions.hse_sasrec import TRACK, data, pipeline, twin

TEAM = "team write-up, last-item holdout (the team ran RePlay 0.18)"
TEAM_VAL = "team write-up, validation step"
SPEC = calibration.Spec.of_twin(
    TRACK,
    twin,
    [data.EVENTS],
    scale="full",
    config="ladder",
    targets=(
        Target.around(
            "sasrec.hitrate", "SASRec HitRate@10 (team: `final`; twin: `cpu`)", 0.3013, 0.03, TEAM, centre=0.30
        ),
        Target.around(
            "bert4rec.hitrate", "BERT4Rec HitRate@10 (team: `team`; twin: `cpu`)", 0.1957, 0.04, TEAM, centre=0.20
        ),
        Target(
            "sasrec_minus_bert4rec",
            "SASRec minus BERT4Rec (presets as above; held to: SASRec ahead)",
            0.1056,
            0.0,
            1.0,
            TEAM,
        ),
        Target.around("slim.val_hitrate", "SLIM HitRate@10", 0.0866, 0.02, TEAM_VAL, centre=0.085),
        Target.around("als.val_hitrate", "ALS HitRate@10", 0.0826, 0.02, TEAM_VAL, centre=0.085),
        Target.around("itemknn.val_hitrate", "ItemKNN HitRate@10", 0.0598, 0.02, TEAM_VAL, centre=0.06),
        Target.around("median_events_per_user", "events per user, median", 84.5, 2.0, "events.csv"),
    ),
)
SHOW = (
    "sasrec.hitrate",
    "bert4rec.hitrate",
    "slim.val_hitrate",
    "als.val_hitrate",
    "itemknn.val_hitrate",
    "oracle.hitrate",
)


def run_trial(cfg: pipeline.Config, ladder: bool) -> dict[str, float]:
    """The baselines and SASRec (and with ``ladder`` BERT4Rec and the classic models); HitRate and
    NDCG@10 at the test step (``model.hitrate``) and at the validation step (``model.val_hitrate``)."""
    d = pipeline.load_data(cfg)
    pipeline.baselines(cfg, d)
    fits = {"sasrec": pipeline.train_sasrec(cfg, d, progress=False)}
    names = ["random", "popularity", "oracle", "sasrec"]
    if ladder:
        fits["bert4rec"] = pipeline.train_bert4rec(cfg, d, progress=False)
        problem = pipeline.train_classic(cfg, d)
        if problem:
            raise SystemExit(f"error: the ladder needs Spark: {problem}")
        names += ["bert4rec", *pipeline.CLASSIC]
    metrics = dict(pipeline.data_facts(d))
    for name, fit in fits.items():  # how long each trained: early stopping decides
        metrics |= {f"{name}.epochs": len(fit.epochs), f"{name}.best_epoch": fit.best_epoch}
    for step, prefix in (("test", ""), ("val", "val_")):
        for row in pipeline.evaluate(cfg, d, names, step).to_dicts():
            metrics |= {f"{row['model']}.{prefix}hitrate": row["hitrate"], f"{row['model']}.{prefix}ndcg": row["ndcg"]}
    if ladder:
        metrics["sasrec_minus_bert4rec"] = metrics["sasrec.hitrate"] - metrics["bert4rec.hitrate"]
    return metrics


# The calibration's protocol: the `cpu` presets, up to 100 epochs, stopped 10 epochs after the best val recall@10
EPOCHS, PATIENCE = 100, 10


def _trial(args: argparse.Namespace, params: twin.Params) -> dict[str, float]:
    cfg = pipeline.Config(
        scale=args.scale,
        seed=args.seed,
        twin_params=params,
        sasrec_epochs=args.epochs,
        bert4rec_epochs=args.epochs,
        patience=args.patience,
    )
    with calibration.scratch(cfg, twin.folder(cfg.scale, cfg.seed, params)):
        return run_trial(cfg, not args.sasrec_only)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sasrec-only", action="store_true", help="screening: SASRec and the baselines only")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="SASRec/BERT4Rec epochs at most")
    parser.add_argument("--patience", type=int, default=PATIENCE, help="early stopping on val recall@10 (0: none)")


def _config(args: argparse.Namespace) -> str:
    name = "sasrec" if args.sasrec_only else SPEC.config
    if (args.epochs, args.patience) == (EPOCHS, PATIENCE):
        return name
    return name + f"-{args.epochs}epochs" + (f"-patience{args.patience}" if args.patience else "")


def main(argv: Sequence[str] | None = None) -> int:
    return calibration.command(SPEC, __doc__, _trial, argv, _arguments, _config, SHOW)


if __name__ == "__main__":
    sys.exit(main())
