"""Figures for the notebooks (kept here so the notebooks stay one call per picture)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from shared.eval.metrics import ranking_metrics
from shared.train import boosting
from solutions.kraft_kuairec import TRACK, features


def data_overview(interactions: pl.DataFrame, train: pl.DataFrame) -> plt.Figure:
    """watch_ratio distribution, label balance, and rows per day with the train/test cut."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    wr = interactions["watch_ratio"].clip(0, 4).to_numpy()
    threshold = features.THRESHOLD
    axes[0].hist(wr, bins=80, color="tab:blue")
    axes[0].axvline(threshold, color="k", ls="--", lw=1)
    axes[0].set(title="watch_ratio (clipped at 4)", xlabel="watch_ratio", ylabel="rows")
    pos = float((interactions["watch_ratio"] >= threshold).mean())
    axes[1].bar(
        [f"watch_ratio < {threshold:g}", f"watch_ratio >= {threshold:g}"],
        [1 - pos, pos],
        color=["tab:gray", "tab:green"],
    )
    axes[1].set(title=f"label balance: {pos:.1%} positive", ylim=(0, 1))
    days = (
        interactions.drop_nulls("timestamp")
        .with_columns(day=pl.from_epoch((pl.col("timestamp") * 1000).cast(pl.Int64), time_unit="ms").dt.date())
        .group_by("day")
        .len()
        .sort("day")
    )
    axes[2].plot(days["day"].to_list(), days["len"].to_list(), color="tab:blue")
    cut = train["timestamp"].drop_nulls().max()
    axes[2].axvline(np.datetime64(int(cut * 1000), "ms"), color="tab:red", ls="--", label="train | test cut")
    axes[2].set(title="rows per day", ylabel="rows")
    axes[2].legend()
    axes[2].tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def test_share_per_user(train: pl.DataFrame, test: pl.DataFrame) -> plt.Figure:
    """How much of each user's history falls after the single global time cut."""
    share = (
        test.group_by("user_id")
        .len("n_test")
        .join(train.group_by("user_id").len("n_train"), on="user_id", how="full", coalesce=True)
        .fill_null(0)
        .with_columns(share=pl.col("n_test") / (pl.col("n_test") + pl.col("n_train")))
    )
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(share["share"].to_numpy(), bins=40, color="tab:purple")
    ax.set(title="share of each user's rows in the test period", xlabel="test rows / all rows", ylabel="users")
    fig.tight_layout()
    return fig


def items_and_users(items: pl.DataFrame, users: pl.DataFrame, matrix_items: pl.Series) -> plt.Figure:
    """Tags per item, items per tag, and the users of user_features by their activity degree."""
    items = items.filter(pl.col("video_id").is_in(matrix_items.unique().implode()))
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
    n_tags = items["tags"].list.len().value_counts().sort("tags")
    axes[0].bar(n_tags["tags"].to_list(), n_tags["count"].to_list(), color="tab:orange")
    axes[0].set(title="tags per item", xlabel="tags", ylabel="items")
    tags = items["tags"].explode(empty_as_null=False).value_counts().sort("tags")
    axes[1].bar(tags["tags"].to_list(), tags["count"].to_list(), color="tab:orange")
    axes[1].set(title="items per tag", xlabel="tag id")
    deg = users["user_active_degree"].value_counts().sort("count", descending=True)
    axes[2].barh(deg["user_active_degree"].to_list(), deg["count"].to_list(), color="tab:cyan")
    axes[2].set(title="user_active_degree (all users in user_features)")
    fig.tight_layout()
    return fig


importance = boosting.importance_plot  # the notebooks' name for it


def metric_curves(scores: pl.DataFrame, models: Sequence[str], ks: Sequence[int] | None = None) -> plt.Figure:
    """Precision@K, Recall@K and NDCG@K against K for each model (one sort per model)."""
    ks = list(ks or sorted({*range(1, 20), *np.unique(np.geomspace(20, 1000, 40).astype(int))}))
    users, labels = scores["user_id"].to_numpy(), scores["label"].to_numpy()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    for name in models:
        m = ranking_metrics(users, scores[name].to_numpy(), labels, ks)
        for ax, metric in zip(axes, ("precision", "recall", "ndcg")):
            ax.plot(ks, [m[f"{metric}@{k}"] for k in ks], label=name, ls=":" if name in ("random", "oracle") else "-")
    for ax, metric in zip(axes, ("Precision@K", "Recall@K", "NDCG@K")):
        ax.set(xscale="log", xlabel="K", title=metric)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    return fig


def relevant_per_user(scores: pl.DataFrame) -> plt.Figure:
    """|R| (relevant test rows) and test list length per user: where IDCG@K stops growing."""
    per_user = scores.group_by("user_id").agg(n_rel=pl.col("label").sum(), n=pl.len())
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(per_user["n_rel"].to_numpy(), bins=40, alpha=0.7, label="|R|: relevant test rows")
    ax.hist(per_user["n"].to_numpy(), bins=40, alpha=0.7, label="test rows")
    ax.set(title="per user", xlabel="rows", ylabel="users")
    ax.legend()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- closing cells (shared.course.lesson)


def closing(findings, exercises, twin: bool = True):
    """``shared.course.lesson.closing`` for this track (its caveat links the track README)."""
    from shared.course import lesson

    return lesson.closing(findings, exercises, twin, track=TRACK)


def closing_data(train: pl.DataFrame, test: pl.DataFrame, twin: bool):
    from shared.course.answers import for_notebook

    no_time_share = float(test["timestamp"].is_null().mean()) if "timestamp" in test.columns else 0.0
    return closing(
        [
            f"{train.height:,} train and {test.height:,} test rows, split in time: the first 80 % of the rows by "
            f"timestamp train, the rest test ({no_time_share:.1%} of the test rows have no timestamp and land there "
            "whatever their day).",
            f"A view is positive when the video was watched to the end: {float(train['label'].mean()):.1%} of train "
            f"rows and {float(test['label'].mean()):.1%} of test rows (the real files: 32.8 % and 30.8 %). Random "
            "ranking therefore already scores about that much precision.",
            f"{test['user_id'].n_unique():,} test users, each ranked on their own test rows only.",
        ],
        for_notebook(TRACK, "01_data"),
        twin,
    )


def closing_ranker(results: Sequence, seed_val_auc: float, twin: bool):
    from shared.course.answers import for_notebook

    by = {r.name: r for r in results}
    f, c, lf, b = by["faithful"], by["corrected"], by["leakfree"], by["best"]
    return closing(
        [
            f"The source's pipeline (`faithful`) reaches validation AUC {f.val_auc:.3f} after {f.n_trees} trees; "
            "the source "
            f"reported {seed_val_auc} on the real data. Its validation rows are a random part of train, whose labels "
            "ALS was fitted on: the figure is optimistic about rows ALS never saw. The twin was fitted to the source's "
            "test figures (notebook 1), not to this in-sample one, which it does not reproduce.",
            f"Dropping the explicit zeros (`corrected`) {'raises' if c.val_auc > f.val_auc else 'changes'} it to "
            f"{c.val_auc:.3f}: with the zeros stored, ALS gave every negative weight 0 and its factors learned the "
            "positives only; counted as ordinary zeros, the negatives enter the fit, the factors now encode the "
            "train labels themselves, and the validation rows, drawn from that same train, profit from it.",
            f"Fitting ALS out of sample (`leakfree`) gives {lf.val_auc:.3f}, the honest number for rows whose labels "
            f"ALS never saw: the {c.val_auc - lf.val_auc:.3f} between `corrected` and `leakfree` is what the in-sample "
            "leak adds to a validation AUC (notebook 3 sets each beside its test AUC).",
            f"`best` ({b.n_trees} trees, best {b.best_iteration}, {b.n_fit_rows:,} ranker rows) is judged on test in "
            "notebook 3, with the metric the source reports.",
        ],
        for_notebook(TRACK, "02_als_lightgbm"),
        twin,
    )


def closing_evaluation(
    table: pl.DataFrame, seed_reported: dict, twin: bool, scale: str = "full", beside: pl.DataFrame | None = None
):
    from shared.course.answers import for_notebook
    from shared.course.lesson import signed

    rows = {r["model"]: r for r in table.iter_rows(named=True)}
    f, pop = rows["faithful"], rows["popularity"]
    where = (
        "the twin is calibrated at `full` to land near them (notebook 1)"
        if scale == "full"
        else f"the twin is calibrated at `full` to land near them (notebook 1); `{scale}` has fewer rows per user, "
        "so its figures are lower"
    )
    gap = round(f["ndcg@10"], 3) - round(pop["ndcg@10"], 3)
    findings = [
        f"`faithful` scores P@10 {f['precision@10']:.3f} and NDCG@10 {f['ndcg@10']:.3f}; the source published "
        f"{seed_reported['precision@10']} and {seed_reported['ndcg@10']} on the real data: {where}.",
        f"Popularity alone reaches NDCG@10 {pop['ndcg@10']:.3f}: "
        + (
            f"the ranker adds {signed(gap)}."
            if gap >= 0
            else f"at this scale the ranker trails it by {-gap:.3f}: most of what orders a user's videos is the "
            "video's own "
            "appeal, which popularity measures directly, while the source's ranker reads it back from 128 raw factor "
            "coordinates; `best` gives it the item's rate as a feature."
        ),
    ]
    if "best" in rows:
        findings.append(
            f"`best` scores NDCG@10 {rows['best']['ndcg@10']:.3f} "
            f"({signed(round(rows['best']['ndcg@10'], 3) - round(f['ndcg@10'], 3))} over `faithful`)."
        )
    if "oracle" in rows:
        findings.append(
            f"The oracle, ranking by the true probabilities, reaches {rows['oracle']['ndcg@10']:.3f}: "
            "what is left to find."
        )
    if beside is not None and beside.height > 1:
        most, least = (beside.sort("optimism", descending=d).row(0, named=True) for d in (True, False))
        low = (
            f"least for `{least['model']}` ({least['optimism']:+.3f})"
            if least["optimism"] >= 0
            else f"not at all for `{least['model']}`, whose validation AUC understated its test AUC by "
            f"{-least['optimism']:.3f} ({least['validation_auc']:.3f} against {least['test_auc']:.3f})"
        )
        findings.append(
            f"Validation overstated the test AUC most for `{most['model']}` ({most['optimism']:+.3f}: "
            f"{most['validation_auc']:.3f} against {most['test_auc']:.3f}) and {low}: a validation AUC measured "
            "on rows whose labels built the features is not a forecast of test."
        )
    return closing(findings, for_notebook(TRACK, "03_evaluation_submission"), twin)
