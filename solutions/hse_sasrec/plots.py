"""Figures of the HSE RecSys notebooks. Each function draws one figure and returns it."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from solutions.hse_sasrec.data import GENRES


def data_overview(events: pl.DataFrame, items: pl.DataFrame):
    """Events per user, item popularity (rank plot) and genre shares."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    per_user = events.group_by("user_id").len()["len"].to_numpy()
    axes[0].hist(per_user, bins=np.logspace(np.log10(per_user.min()), np.log10(per_user.max() + 1), 40), color="#48c")
    axes[0].set_xscale("log")
    axes[0].set_title(f"events per user (median {np.median(per_user):g})")
    pop = np.sort(events.group_by("item_id").len()["len"].to_numpy())[::-1]
    axes[1].loglog(np.arange(1, len(pop) + 1), pop, color="#c64")
    axes[1].set_title("events per item, by rank")
    shares = items.select(pl.exclude("item_id")).mean().row(0)
    axes[2].barh(list(GENRES), shares, color="#4a4")
    axes[2].invert_yaxis()
    axes[2].tick_params(axis="y", labelsize=7)
    axes[2].set_title("share of items with the genre")
    fig.tight_layout()
    return fig


def training_curves(record: dict, title: str):
    """Train loss and validation recall@10 / NDCG@10 per epoch; the kept epoch marked."""
    rows = record["epochs"]
    epochs = [r["epoch"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.4))
    a.plot(epochs, [r.get("train_loss_epoch", np.nan) for r in rows], color="#48c")
    a.set_title(f"{title}: train loss")
    a.set_xlabel("epoch")
    for key, color in (("recall@10", "#c64"), ("ndcg@10", "#4a4")):
        b.plot(epochs, [r.get(key, np.nan) for r in rows], label=key, color=color)
    b.axvline(record["best_epoch"], color="#999", ls="--", lw=1, label=f"kept: epoch {record['best_epoch']}")
    b.set_title(f"{title}: validation (seen items removed)")
    b.set_xlabel("epoch")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def comparison(table: pl.DataFrame, metric: str = "hitrate"):
    """One bar per model (test step)."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * table.height + 1.2))
    names, values = table["model"].to_list(), table[metric].to_numpy()
    colors = ["#bbb" if n in ("random", "oracle") else "#48c" for n in names]
    ax.barh(names, values, color=colors)
    ax.invert_yaxis()
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
    ax.set_xlabel(f"{metric}@10 on the test step")
    ax.set_xlim(0, max(values) * 1.18)
    fig.tight_layout()
    return fig
