"""The LightGBM ranker with the source's parameters, and the popularity baseline."""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.model_selection import train_test_split

from shared.runtime import dispatch
from shared.train.boosting import BoostFit, boost, ranking_dataset

# The source's LGBMClassifier. Its subsample=0.8 does nothing: LightGBM bags rows only when
# subsample_freq > 0, and the source left it at 0. Kept, inert, to stay faithful.
LGB_PARAMS = {
    "objective": "binary",
    "metric": "auc",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "colsample_bytree": 0.8,
    "subsample": 0.8,
    "subsample_freq": 0,
    "reg_alpha": 0.1,
    "reg_lambda": 0.1,
    "max_bin": 128,
    # reproducibility: same threads, same seed -> same trees
    "deterministic": True,
    # Speed, not the model: row-wise histograms over rows stored user-major (see user_major) cut the
    # full twin's tree loop by about 40 % on 2 cores (README, "Speed and memory"; benchmarks/results.csv).
    "force_row_wise": True,
    "verbosity": -1,
}


def validation_split(labels: np.ndarray, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The source's stratified random split of the train rows (row positions, shuffled; the
    pipeline puts them in ``user_major`` order)."""
    return tuple(train_test_split(np.arange(len(labels)), test_size=val_frac, stratify=labels, random_state=seed))


def user_major(idx: np.ndarray, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``idx`` reordered by (user, item). Without bagging, boosting does not depend on row order
    (the source trained on train_test_split's shuffled rows), but speed does: a leaf cut on user
    features then covers whole blocks of rows, so LightGBM's histogram gathers read memory in runs."""
    return idx[np.lexsort((items[idx], users[idx]))]


def binned_datasets(
    X_fit: np.ndarray,
    y_fit: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    categorical: list[int],
    feature_names: list[str],
    max_bin: int = LGB_PARAMS["max_bin"],
) -> tuple[lgb.Dataset, lgb.Dataset]:
    """Bin both sets now, so the caller can drop the float arrays before training (LightGBM
    keeps one byte per value instead of four)."""
    common = {
        "feature_name": feature_names,
        "categorical_feature": categorical,
        "free_raw_data": True,
        "params": {"max_bin": max_bin, "verbosity": -1},
    }
    dfit = lgb.Dataset(X_fit, label=y_fit, **common).construct()
    dval = lgb.Dataset(X_val, label=y_val, reference=dfit, **common).construct()
    return dfit, dval


def train_ranker(
    dfit: lgb.Dataset,
    dval: lgb.Dataset,
    n_estimators: int = 1000,
    early_stopping: int = 50,
    seed: int = 42,
    num_threads: int | None = None,
    **overrides,
) -> BoostFit:
    """Binary LightGBM with early stopping on the validation AUC."""
    # a pinned thread count (shared.runtime.dispatch), not the machine's cores: LightGBM's sums depend on it
    params = {**LGB_PARAMS, "seed": seed, "num_threads": num_threads or dispatch.threads(), **overrides}
    return boost(params, dfit, dval, n_estimators, early_stopping, "auc")


def predict(booster: lgb.Booster, X: np.ndarray, best_iteration: int) -> np.ndarray:
    return booster.predict(X, num_iteration=best_iteration)


def popularity_scores(train: pl.DataFrame, test: pl.DataFrame) -> np.ndarray:
    """Number of positive train interactions of each test row's item (0 when unseen)."""
    pop = train.group_by("video_id").agg(pop=pl.col("label").sum().cast(pl.Float64))
    return (
        test.select("video_id")
        .join(pop, on="video_id", how="left", maintain_order="left")["pop"]
        .fill_null(0.0)
        .to_numpy()
    )


# The `best` ranker: few features, larger leaves and an L2 penalty, and early stopping that stops.
BEST_PARAMS = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 1.0,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
BEST_OBJECTIVES = {
    # ranking within each user's list: the metric the track reports
    "lambdarank": {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "lambdarank_truncation_level": 20},
    "binary": {"objective": "binary", "metric": "ndcg", "eval_at": [10]},
}


@dataclass(frozen=True)
class QueryRows:
    """Ranker rows sorted by user (each user one query): features, labels, users."""

    X: np.ndarray
    y: np.ndarray
    users: np.ndarray


def train_best(
    fit: QueryRows,
    val: QueryRows,
    objective: str,
    feature_names: list[str],
    n_estimators: int = 1000,
    early_stopping: int = 50,
    seed: int = 42,
) -> BoostFit:
    """LightGBM on rows sorted by user, each user one query; early stopping on the validation
    NDCG@10 of per-user lists (``val_score`` of the result)."""
    params = {**BEST_PARAMS, **BEST_OBJECTIVES[objective], "seed": seed, "num_threads": dispatch.threads()}
    dfit = ranking_dataset(fit.X, fit.y, fit.users, feature_names, max_bin=params["max_bin"])
    dval = ranking_dataset(val.X, val.y, val.users, feature_names, reference=dfit)
    return boost(params, dfit, dval, n_estimators, early_stopping, "ndcg@10")
