"""The KRAFT pipeline in stages, shared by the notebooks, ``make bench`` and the CLI.

    python -m solutions.kraft_kuairec.pipeline --scale small            # whole pipeline on the twin
    python -m solutions.kraft_kuairec.pipeline --data-dir ~/kuairec     # on the real files
    python -m solutions.kraft_kuairec.pipeline --scale full --bench     # time + peak memory per stage

Ranker variants:
  faithful   the source: ALS on train with negatives as explicit zeros (dropped from ALS's loss),
             its in-sample factors as features for the very rows ALS was fitted on
  corrected  negatives as ordinary zeros; still in-sample
  leakfree   negatives as ordinary zeros; ALS fitted on the earlier half of train only and the
             ranker trained on the later half, so its factors are out-of-sample like at test time
  best       ours: nine out-of-sample features (ALS dot product, item rate and popularity, the
             user's rate on the item's tags, a residual "taste" SVD...) from the earlier half of train for the
             ranker's rows
             and from all of train for test; LightGBM lambdarank or binary, whichever scores the
             higher NDCG@10 on the latest 20 % of train (a validation split in time), early-stopped
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

import shared.eval.metrics as shared_metrics
from shared.data.io import atomic_path
from shared.eval.metrics import across_seeds, per_user_ndcg, ranking_metrics
from shared.runtime.errors import DataError
from shared.runtime.seed import seed_everything
from shared.track import cli, profiles
from shared.track.cli import add_model_seeds, pipeline_parser, record_bench
from shared.track.config import TrackConfig
from shared.track.submission import Report
from shared.train import bench, boosting
from shared.train.bench import StageTimer
from shared.train.factors import AlsParams
from solutions.kraft_kuairec import TRACK, data, features, models, submit, twin

VARIANTS = ("faithful", "corrected", "leakfree", "best")
SUBMITTED = "faithful"  # the source's ranker, written as the submission
OURS = "best"  # written beside it (submit.OURS_FILENAME)
MODELS = ("random", "popularity", "als", *VARIANTS, "oracle")  # rows of the comparison table
KS = (10, 20, 50, 100, 500, 1000)
# The source's published numbers on the real data (README of the KRAFT repository).
# fmt: off
SOURCE_REPORTED = {
    "precision@10": 0.7924, "precision@20": 0.7529, "precision@50": 0.6670, "precision@100": 0.5468,
    "precision@500": 0.3103, "precision@1000": 0.2043,
    "recall@10": 0.0460, "recall@20": 0.0858, "recall@50": 0.1819, "recall@100": 0.2821,
    "recall@500": 0.7620, "recall@1000": 1.0000,
    "ndcg@10": 0.8110, "ndcg@20": 0.7772, "ndcg@50": 0.7036, "ndcg@100": 0.6042,
    "ndcg@500": 0.7014, "ndcg@1000": 0.8476,
}
# fmt: on
SOURCE_VAL_AUC = 0.852


@dataclass(frozen=True)
class Config(TrackConfig):
    scale: str = "small"  # twin size: tiny | small | full (ignored with data_dir)
    data_dir: str = ""  # folder with the real KuaiRec files; "" = synthetic twin
    seed: int = 42
    profile: str = "teach"  # teach | source (shared.track.profiles: notebooks/kraft_kuairec/source.yaml)
    als_factors: int = 64
    als_regularization: float = 0.01
    als_iterations: int = 20
    als_alpha: float = 1.0
    n_estimators: int = 1000
    early_stopping: int = 50
    train_frac: float = 0.8
    val_frac: float = 0.2
    leakfree_als_frac: float = 0.5  # share of train (earliest) the leak-free ALS is fitted on
    best_val_frac: float = 0.2  # best: latest share of its ranker rows held out to choose and stop it
    twin_params: twin.Params = twin.Params()  # the calibrated twin; calibrate.py tries others

    TRACK = TRACK
    ensure_twin = staticmethod(twin.ensure)
    real_files = staticmethod(data.resolve_files)
    twin_version = twin.VERSION  # artifacts of another twin generator are never read back
    SCALES = tuple(twin.SCALES)

    @property
    def als(self) -> AlsParams:
        return AlsParams(self.als_factors, self.als_regularization, self.als_iterations, self.als_alpha)


@dataclass
class Split:
    train: pl.DataFrame
    test: pl.DataFrame
    kuairec: data.KuaiRec


def prepare(cfg: Config) -> Split:
    """Load (generating the twin on first use), label, split by time; save the split."""
    seed_everything(cfg.seed)
    kuairec = data.load(cfg.data_folder())
    train, test = features.time_split(features.add_label(kuairec.interactions), cfg.train_frac)
    cfg.artifacts.mkdir(parents=True, exist_ok=True)
    cols = ["user_id", "video_id", "timestamp", "watch_ratio", "label"]
    split = pl.concat(
        [train.select(cols).with_columns(is_test=pl.lit(False)), test.select(cols).with_columns(is_test=pl.lit(True))]
    )
    with atomic_path(cfg.artifacts / "split.parquet") as tmp:
        split.write_parquet(tmp)
    return Split(train, test, kuairec)


def load_split(cfg: Config) -> Split:
    """The split saved by ``prepare`` (notebook 01), with the user and item tables."""
    path = cfg.artifacts / "split.parquet"
    if not path.exists():
        raise DataError(f"{path}: not found; run notebook 01 (or pipeline.prepare) with the same SCALE/DATA_DIR/SEED")
    split = pl.read_parquet(path)
    # small_matrix.csv was loaded and validated by prepare(); its rows are the split itself
    files = data.resolve_files(cfg.data_folder())
    kuairec = data.KuaiRec(
        split.drop("is_test"), data.load_item_categories(files[1]), data.load_user_features(files[2]), files
    )
    return Split(
        split.filter(~pl.col("is_test")).drop("is_test"), split.filter(pl.col("is_test")).drop("is_test"), kuairec
    )


@dataclass
class VariantResult:
    name: str
    test_scores: np.ndarray
    val_auc: float
    best_iteration: int
    n_trees: int
    n_fit_rows: int
    importance: pl.DataFrame = field(repr=False)
    als_scores: np.ndarray = field(repr=False)  # <user factors, item factors> of the test rows
    extra: dict = field(default_factory=dict)  # variant-specific facts for training.json


def train_variant(cfg: Config, split: Split, variant: str, timer: StageTimer | None = None) -> VariantResult:
    """ALS factors -> feature tables -> LightGBM on train -> scores for every test row."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    stage = bench.stages(timer)
    seed_everything(cfg.seed)
    if variant == "best":
        return train_best(cfg, split, stage)
    train = split.train
    index = features.Index.fit(train)
    if variant == "leakfree":
        n_als = int(train.height * cfg.leakfree_als_frac)
        als_rows, ranker_rows = train.head(n_als), train.slice(n_als)
    else:
        als_rows, ranker_rows = train, train
    with stage(f"{variant}: als", variant=variant):
        matrix = features.interaction_matrix(als_rows, index, explicit_zeros=(variant == "faithful"))
        user_f, item_f = cfg.als.fit(matrix, cfg.seed, progress=True)
        tables = features.build_tables(train, split.kuairec.users, split.kuairec.items, index, user_f, item_f)
    with stage(f"{variant}: features + binning", variant=variant):
        y = ranker_rows["label"].to_numpy()
        users, items = ranker_rows["user_id"].to_numpy(), ranker_rows["video_id"].to_numpy()
        fit_idx, val_idx = (
            models.user_major(i, users, items) for i in models.validation_split(y, cfg.val_frac, cfg.seed)
        )
        dfit, dval = models.binned_datasets(
            tables.matrix(users[fit_idx], items[fit_idx]),
            y[fit_idx],
            tables.matrix(users[val_idx], items[val_idx]),
            y[val_idx],
            tables.categorical,
            tables.names,
        )
    with stage(f"{variant}: lightgbm", variant=variant):
        fit = models.train_ranker(dfit, dval, cfg.n_estimators, cfg.early_stopping, cfg.seed)
        del dfit, dval
    with stage(f"{variant}: predict test", variant=variant):
        test_u, test_i = split.test["user_id"].to_numpy(), split.test["video_id"].to_numpy()
        scores = models.predict(fit.booster, tables.matrix(test_u, test_i), fit.best_iteration)
        als_scores = features.als_scores(index, user_f, item_f, test_u, test_i)
    return VariantResult(
        variant,
        scores,
        fit.val_score,
        fit.best_iteration,
        fit.n_trees,
        len(fit_idx),
        boosting.feature_importance(fit.booster),
        als_scores,
    )


def train_best(cfg: Config, split: Split, stage) -> VariantResult:
    """History window = the earlier half of train, ranker rows = the later half; their latest
    ``best_val_frac`` (in time) chooses the objective and stops the trees. Test rows get the same
    features computed from all of train."""
    train, k = split.train, split.kuairec
    n_users = int(max(k.users["user_id"].max(), train["user_id"].max())) + 1
    fit_history = functools.partial(
        features.HistoryFeatures.fit,
        items=k.items,
        n_users=n_users,
        als=cfg.als,
        seed=cfg.seed,
    )
    n_hist = int(train.height * cfg.leakfree_als_frac)
    ranker_rows = train.slice(n_hist)
    n_fit = int(ranker_rows.height * (1 - cfg.best_val_frac))
    with stage("best: features", variant="best"):
        history = fit_history(train.head(n_hist))
        chooser = ranker_rows.head(n_fit)  # later than the history: the taste rank is chosen out of sample
        taste_ndcg = history.choose_taste_rank(
            chooser["user_id"].to_numpy(), chooser["video_id"].to_numpy(), chooser["label"].to_numpy()
        )
        sets = []
        for rows in (ranker_rows.head(n_fit), ranker_rows.slice(n_fit)):
            rows = rows.sort("user_id", maintain_order=True)  # one query per user, contiguous
            u, i = rows["user_id"].to_numpy(), rows["video_id"].to_numpy()
            sets.append(models.QueryRows(history.matrix(u, i), rows["label"].to_numpy(), u))
        fit_rows, val = sets
    with stage("best: lightgbm", variant="best"):
        fits = {
            o: models.train_best(
                fit_rows, val, o, features.SCALAR_NAMES, cfg.n_estimators, cfg.early_stopping, cfg.seed
            )
            for o in models.BEST_OBJECTIVES
        }
    chosen = max(fits, key=lambda o: fits[o].val_score)
    fit = fits[chosen]
    with stage("best: predict test", variant="best"):
        full = fit_history(train)
        full.taste_rank = history.taste_rank
        test_u, test_i = split.test["user_id"].to_numpy(), split.test["video_id"].to_numpy()
        X_test = full.matrix(test_u, test_i)
        scores = models.predict(fit.booster, X_test, fit.best_iteration)
    taste = {str(k): round(v, 6) for k, v in taste_ndcg.items()}
    extra = {"objective": chosen, "taste_rank": history.taste_rank, "taste_ndcg@10": taste}
    extra |= {"val_ndcg@10": {o: round(f.val_score, 6) for o, f in fits.items()}}
    extra |= {"trees": {o: f.n_trees for o, f in fits.items()}}
    val_auc = float(roc_auc_score(val.y, models.predict(fit.booster, val.X, fit.best_iteration)))
    return VariantResult(
        "best",
        scores,
        val_auc,
        fit.best_iteration,
        fit.n_trees,
        len(fit_rows.y),
        boosting.feature_importance(fit.booster),
        X_test[:, 0].astype(np.float64),
        extra,
    )


def baseline_scores(cfg: Config, split: Split) -> dict[str, np.ndarray]:
    """random, popularity and (twin only) the oracle's true probabilities."""
    rng = np.random.default_rng(cfg.seed)
    out = {"random": rng.random(split.test.height), "popularity": models.popularity_scores(split.train, split.test)}
    if cfg.is_twin:
        truth = pl.read_parquet(cfg.data_folder() / twin.TRUTH)
        out["oracle"] = (
            split.test.select("user_id", "video_id")
            .join(truth, on=["user_id", "video_id"], how="left", maintain_order="left")["p"]
            .to_numpy()
        )
    return out


def save_outputs(cfg: Config, split: Split, results: Sequence[VariantResult]) -> tuple[pl.DataFrame, dict]:
    """scores.parquet (one column per model, test rows in split order) and training.json;
    returns both, as ``load_outputs`` would read them back."""
    frame = split.test.select("user_id", "video_id", "label")
    corrected = next((r for r in results if r.name == "corrected"), None)
    als = {"als": corrected.als_scores} if corrected else {}  # ALS alone, no ranker
    frame = frame.with_columns(**baseline_scores(cfg, split), **als, **{r.name: r.test_scores for r in results})
    with atomic_path(cfg.artifacts / "scores.parquet") as tmp:
        frame.write_parquet(tmp)
    info = cfg.save_training(
        data_facts(split),
        {
            r.name: {
                "val_auc": round(r.val_auc, 6),
                "best_iteration": r.best_iteration,
                "n_trees": r.n_trees,
                "n_fit_rows": r.n_fit_rows,
                **r.extra,
            }
            for r in results
        },
    )
    return frame, info


def load_outputs(cfg: Config) -> tuple[pl.DataFrame, dict]:
    path = cfg.artifacts / "scores.parquet"
    if not path.exists():
        raise DataError(f"{path}: not found; run notebook 02 (or pipeline.train_variant + save_outputs) first")
    return pl.read_parquet(path), cfg.load_training()


def validation_beside_test(table: pl.DataFrame, training: dict) -> pl.DataFrame:
    """Each trained variant's validation AUC (notebook 2: rows of train) beside its test AUC; ``optimism``
    is how much higher validation read."""
    rows = [
        {"model": r["model"], "validation_auc": training[r["model"]]["val_auc"], "test_auc": r["test_auc"]}
        for r in table.iter_rows(named=True)
        if "val_auc" in training.get(r["model"], {})
    ]
    return pl.DataFrame(rows).with_columns(optimism=pl.col("validation_auc") - pl.col("test_auc"))


def evaluate(scores: pl.DataFrame, models_: Sequence[str], ks: Sequence[int] = KS) -> pl.DataFrame:
    """One row per model: P/R/NDCG@K ranking each user's own test rows, and test-period AUC."""
    users, labels = scores["user_id"].to_numpy(), scores["label"].to_numpy()
    rows = []
    for name in models_:
        s = scores[name].to_numpy()
        rows.append({"model": name, **ranking_metrics(users, s, labels, ks), "test_auc": roc_auc_score(labels, s)})
    return pl.DataFrame(rows)


def headline(metrics_row: dict, training: dict | None = None) -> dict[str, float]:
    keys = [
        "precision@10",
        "recall@10",
        "ndcg@10",
        "precision@50",
        "ndcg@50",
        "precision@1000",
        "ndcg@1000",
        "test_auc",
    ]
    out = {k: float(metrics_row[k]) for k in keys}
    if training:
        out["val_auc"] = float(training["faithful"]["val_auc"])
    return out


def paired_difference(scores: pl.DataFrame, a: str = OURS, b: str = SUBMITTED, k: int = 10) -> dict[str, float]:
    """Model ``a`` minus model ``b`` (by default ours against the source's ranker): the mean per-user
    difference of NDCG@k and its standard error (users paired; those without a relevant test row
    skipped, as NDCG@k does)."""
    per_user = {m: per_user_ndcg(scores["user_id"], scores[m], scores["label"], k)[1] for m in (a, b)}
    return shared_metrics.paired_difference(per_user[a], per_user[b])


def write_submission(cfg: Config, scores: pl.DataFrame, table: pl.DataFrame, training: dict) -> Path:
    """The faithful ranker's scores for every test pair, validated, with its manifest (whose
    parameters are those the models were trained with, as saved by ``save_outputs``); with ``best``
    trained, its scores beside it (``submit.OURS_FILENAME``) and its paired NDCG@10 gain over
    faithful in the manifest's metrics."""
    test = scores.select("user_id", "video_id")
    rows = {r["model"]: r for r in table.to_dicts()}
    comparison = {m: headline(r) for m, r in rows.items()}
    metrics = headline(rows[SUBMITTED], training)
    ours = None
    if OURS in scores.columns:
        ours = scores[OURS].to_numpy()
        diff = paired_difference(scores)
        metrics |= {
            "ndcg@10_ours": float(rows[OURS]["ndcg@10"]),
            "ours_minus_faithful_ndcg@10": diff["mean"],
            "ours_minus_faithful_ndcg@10_se": diff["se"],
        }
    report = Report(training["config"], cfg.data_source(), metrics, comparison, training.get("data"), cfg.profile)
    return submit.write(test, scores[SUBMITTED].to_numpy(), report, ours=ours)


def data_facts(split: Split) -> dict[str, float]:
    """Label rates and sizes, beside the source's real-data figures in the README (32.4 % positive
    overall, 32.79 % in train, about 660 test rows per user)."""
    rows = pl.concat([split.train.select("label"), split.test.select("label")])
    return {
        "positive_rate": float(rows["label"].mean()),
        "train_positive_rate": float(split.train["label"].mean()),
        "test_positive_rate": float(split.test["label"].mean()),
        "test_rows_per_user": split.test.height / split.test["user_id"].n_unique(),
    }


def describe(split: Split) -> pl.DataFrame:
    """Row, user and item counts of the files and of the split."""
    m = split.kuairec.interactions
    n_users, n_items = m["user_id"].n_unique(), m["video_id"].n_unique()
    facts = {
        "rows in small_matrix": m.height,
        "users x items": f"{n_users:,} x {n_items:,}",
        "density": f"{m.height / (n_users * n_items):.2%}",
        "rows without timestamp": m["timestamp"].null_count(),
        "positive rate (watch_ratio >= 1)": f"{(m['watch_ratio'] >= features.THRESHOLD).mean():.1%}",
        "train rows": split.train.height,
        "test rows": split.test.height,
        "test users": split.test["user_id"].n_unique(),
        "rows in user_features": split.kuairec.users.height,
        "rows in item_categories": split.kuairec.items.height,
    }
    return pl.DataFrame({"fact": list(facts), "value": [f"{v:,}" if isinstance(v, int) else v for v in facts.values()]})


def run(
    cfg: Config, variants: Sequence[str] = VARIANTS, timer: StageTimer | None = None, fresh_twin: bool = False
) -> pl.DataFrame:
    """The whole pipeline; returns the comparison table. ``timer`` only times the stages;
    ``fresh_twin`` generates the twin again even when it is cached (``make bench``: the stage then
    times one thing)."""
    stage = bench.stages(timer)
    if cfg.is_twin:
        with stage("twin: generate"):
            twin.generate(cfg.scale, cfg.seed, params=cfg.twin_params) if fresh_twin else cfg.data_folder()
    with stage("load + split"):
        split = prepare(cfg)
    results = [train_variant(cfg, split, v, timer) for v in variants]
    with stage("evaluate + submit"):
        scores, training = save_outputs(cfg, split, results)
        names = [c for c in MODELS if c in scores.columns]
        table = evaluate(scores, names)
        if "faithful" in variants:
            write_submission(cfg, scores, table, training)
    return table


def seed_study(cfg: Config, seeds: Sequence[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``faithful`` and ``best`` trained again with other model seeds (ALS, the validation split,
    LightGBM) on the same twin and split (those of ``cfg.seed``): per seed, each one's NDCG@10,
    best's paired per-user gain over faithful with its standard error, and their training seconds;
    then ``seed_summary``."""
    split = load_split(cfg)
    base = split.test.select("user_id", "video_id", "label")
    rows = []
    for seed in seeds:
        run_cfg = replace(cfg, seed=seed)  # a model seed only: ``split`` is the twin of cfg.seed
        scores, seconds = base, {}
        for variant in ("faithful", "best"):
            start = time.perf_counter()
            scores = scores.with_columns(pl.Series(variant, train_variant(run_cfg, split, variant).test_scores))
            seconds[variant] = time.perf_counter() - start
        ndcg = {r["model"]: r["ndcg@10"] for r in evaluate(scores, ["faithful", "best"], (10,)).to_dicts()}
        diff = paired_difference(scores)
        rows.append(
            {
                "seed": seed,
                "faithful_ndcg@10": ndcg["faithful"],
                "best_ndcg@10": ndcg["best"],
                "gain": diff["mean"],
                "gain_se": diff["se"],
                "faithful_s": seconds["faithful"],
                "best_s": seconds["best"],
            }
        )
    per_seed = pl.DataFrame(rows)
    return per_seed, seed_summary(per_seed)


def seed_summary(per_seed: pl.DataFrame) -> pl.DataFrame:
    """The seed study's summary from its per-seed rows: best's gain across seeds with both noises
    (``shared.eval.metrics.across_seeds``) and best's share of faithful's training time."""
    return pl.DataFrame(
        [
            {
                **across_seeds(per_seed["gain"].to_list(), per_seed["gain_se"].to_list()),
                "time_share": float(per_seed["best_s"].sum() / per_seed["faithful_s"].sum()),
            }
        ]
    )


def bench_options(scale: str, real: bool, gpu: bool) -> list[str]:
    """What ``make bench`` adds to ``--bench --fresh-twin``: the faithful and best rankers, timed side
    by side."""
    return ["--variants", "faithful,best"]


def cli_parser() -> argparse.ArgumentParser:
    """The command line: the options every pipeline shares and this track's own."""
    parser = pipeline_parser(__doc__, Config.SCALES)
    parser.add_argument("--n-estimators", type=int, default=1000)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated ranker variants (default: all; make bench: faithful and best, timed side by side)",
    )
    add_model_seeds(parser, "faithful and best")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = cli_parser().parse_args(argv)
    try:
        cfg = Config(scale=args.scale, data_dir=args.data_dir, seed=args.seed, n_estimators=args.n_estimators)
        cfg = profiles.apply(cfg, args.profile, argv, args.params)
        timer = StageTimer() if args.bench else None
        variants = tuple(v for v in args.variants.split(",") if v)
        table = run(cfg, variants, timer, fresh_twin=args.fresh_twin)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with pl.Config(tbl_cols=-1, tbl_width_chars=200, float_precision=4):
        print(table.select("model", "precision@10", "recall@10", "ndcg@10", "ndcg@50", "ndcg@1000", "test_auc"))
    if timer:
        config = "+".join(variants) + ("" if cfg.n_estimators == 1000 else f"-{cfg.n_estimators}trees")
        record_bench(timer, TRACK, cfg, config, args.bench_dir)
    if args.model_seeds:
        cli.seed_study(lambda seeds: seed_study(cfg, seeds), args.model_seeds, TRACK, cfg, args.bench_dir, bool(timer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
