"""LightGBM the same way in every track that boosts trees: early stopping on a validation set
with one progress line that ends saying where it stopped, per-user query groups for the ranking
objectives, and the importance table the notebooks plot."""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from shared.runtime import progress


@dataclass
class BoostFit:
    booster: lgb.Booster
    val_score: float  # the early-stopping metric on the validation set
    best_iteration: int
    n_trees: int  # rounds trained (the booster keeps the first best_iteration)


def _progress(total: int, enabled: bool = True):
    bar = progress.line(total, "lightgbm", unit="tree", enabled=enabled)

    def callback(env: lgb.callback.CallbackEnv) -> None:
        callback.rounds = env.iteration + 1
        bar.update(1)
        if env.evaluation_result_list:
            _, metric, value, _ = env.evaluation_result_list[0]
            bar.set_postfix_str(f"val {metric} {value:.4f}", refresh=False)

    callback.rounds = 0
    callback.order = 10  # before early stopping, whose last round raises: every round is counted
    return callback, bar


def boost(
    params: dict,
    dfit: lgb.Dataset,
    dval: lgb.Dataset,
    n_estimators: int,
    early_stopping: int,
    metric: str,
    progress_line: bool = True,
) -> BoostFit:
    """lgb.train with early stopping on ``metric`` of the validation set and one progress line."""
    callback, bar = _progress(n_estimators, progress_line)
    booster = lgb.train(
        params,
        dfit,
        num_boost_round=n_estimators,
        valid_sets=[dval],
        valid_names=["val"],
        callbacks=[lgb.early_stopping(early_stopping, verbose=False), callback],
    )
    # lgb.train keeps only the trees up to the best round: count the rounds that ran in the callback
    best = booster.best_iteration or booster.current_iteration()
    trees = max(callback.rounds, best)
    progress.stop(
        bar,
        trees,
        ("stopped early at " if trees < n_estimators else "")
        + f"{trees} trees, best {best}: val {metric} {booster.best_score['val'][metric]:.4f}",
    )
    return BoostFit(booster, float(booster.best_score["val"][metric]), int(best), trees)


def query_sizes(groups: np.ndarray) -> np.ndarray:
    """Rows per group (user), for rows sorted by group (LightGBM's ``group``)."""
    if len(groups) and (np.diff(groups) < 0).any():
        raise ValueError("rows must be sorted by user")
    _, counts = np.unique(groups, return_counts=True)
    return counts


def ranking_dataset(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, names: list[str], reference: lgb.Dataset | None = None, **params
) -> lgb.Dataset:
    """A LightGBM dataset of rows sorted by group (user or query), each group one query; a
    validation set passes its training set as ``reference`` (the same bins). ``params``: dataset
    parameters (``max_bin``...), quiet by default."""
    return lgb.Dataset(
        X,
        label=y,
        group=query_sizes(groups),
        feature_name=names,
        reference=reference,
        params={"verbosity": -1, **params},
    )


def feature_importance(booster: lgb.Booster) -> pl.DataFrame:
    """Total gain of each feature, largest first."""
    return pl.DataFrame({"feature": booster.feature_name(), "gain": booster.feature_importance("gain")}).sort(
        "gain", descending=True
    )


def importance_plot(imp: pl.DataFrame, top: int = 20, title: str = "", ax=None):
    """Horizontal bars of the ``top`` features by total gain (``feature_importance``'s table)."""
    import matplotlib.pyplot as plt

    imp = imp.head(top).reverse()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.28 * len(imp) + 1))
    ax.barh(imp["feature"].to_list(), imp["gain"].to_list(), color="tab:green")
    ax.set(title=title or f"LightGBM gain, top {top}", xlabel="total gain")
    ax.figure.tight_layout()
    return ax.figure
