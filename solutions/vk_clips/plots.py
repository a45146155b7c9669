"""Figures of the VK Clips notebooks. Each function draws one figure and returns it."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from shared.metrics import per_user_roc_auc


def data_overview(train: pl.DataFrame):
    """Class rates, rows per user and likes per user."""
    per_user = train.group_by("user_id").agg(n=pl.len(), likes=pl.col("like").sum())
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    n = train.height
    rates = {"dislike": float(train["dislike"].sum()) / n, "like": float(train["like"].sum()) / n,
             "share": float(train["share"].sum()) / n, "bookmarks": float(train["bookmarks"].sum()) / n}
    rates["ignore"] = 1 - rates["dislike"] - rates["like"]
    names = ["dislike", "ignore", "like", "share", "bookmarks"]
    axes[0].bar(names, [rates[k] for k in names], color=["#c44", "#999", "#4a4", "#48c", "#a6c"])
    axes[0].set_yscale("log")
    axes[0].set_title("share of train rows (log scale)")
    for i, k in enumerate(names):
        axes[0].text(i, rates[k], f"{rates[k]:.3%}", ha="center", va="bottom", fontsize=8)
    counts = per_user["n"].to_numpy()
    axes[1].hist(counts, bins=np.logspace(0, np.log10(counts.max() + 1), 40), color="#48c")
    axes[1].set_xscale("log")
    axes[1].set_title("train rows per user")
    likes = per_user["likes"].to_numpy()
    axes[2].hist(likes, bins=np.arange(0, np.percentile(likes, 99) + 2), color="#4a4")
    axes[2].set_title(f"likes per user ({(likes == 0).mean():.0%} never like)")
    fig.tight_layout()
    return fig


def training_curves(training: dict, rows: Sequence[str]):
    """Training loss of each model, against the share of its training done."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for row in rows:
        losses = training.get(row, {}).get("losses") or []
        if losses:
            ax.plot(np.linspace(0, 1, len(losses) + 1)[1:], losses, marker="." if len(losses) < 30 else None, label=row)
    ax.set_xlabel("share of training done")
    ax.set_ylabel("cross-entropy")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("training loss")
    fig.tight_layout()
    return fig


def auc_distribution(scores: pl.DataFrame, models: Sequence[str]):
    """Per-user ROC-AUC of each model (users with at least two distinct classes)."""
    users, y = scores["user_id"].to_numpy(), scores["target"].to_numpy()
    per_model = [per_user_roc_auc(users, y, scores[m].to_numpy())["auc"].to_numpy() for m in models]
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(models)), 4))
    ax.boxplot(per_model, showmeans=True)
    ax.set_xticks(range(1, len(models) + 1), models, rotation=20)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("ROC-AUC of one user's 20 clips")
    ax.set_title(f"per-user ROC-AUC ({len(per_model[0]):,} users with two or more classes; triangle = mean)")
    fig.tight_layout()
    return fig


def slot_coverage(hist: dict[str, np.ndarray]):
    """Share of train rows whose like / dislike / ignore history is not empty."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = ["like", "dislike", "ignore"]
    shares = [float((hist[f"train_{n}"] >= 0).mean()) for n in names]
    ax.bar(names, shares, color=["#4a4", "#c44", "#999"])
    for i, s in enumerate(shares):
        ax.text(i, s, f"{s:.1%}", ha="center", va="bottom")
    ax.set_ylim(0, 1.1)
    ax.set_title("train rows with a non-empty history slot")
    fig.tight_layout()
    return fig
