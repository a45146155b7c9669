"""Figures of the VK-Lab posts notebooks. Each function draws one figure and returns it."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from solutions.vklab_posts.data import decode_photo


def image_grid(frame: pl.DataFrame, rate: np.ndarray, n: int = 12, cols: int = 6):
    """The first ``n`` photos with their open_photo / view."""
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows))
    for k, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if k < min(n, frame.height):
            ax.imshow(decode_photo(frame["photo"][k], int(frame["row"][k])))
            ax.set_title(f"row {frame['row'][k]}: {rate[k]:.3f}", fontsize=8)
    fig.suptitle("photos and their open_photo / view")
    fig.tight_layout()
    return fig


def rate_distributions(rates: np.ndarray, names: Sequence[str]):
    """Histogram of each activity's rate (log x), the mean marked."""
    cols = 4
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(14, 2.8 * rows))
    for k, ax in enumerate(np.ravel(axes)):
        if k >= len(names):
            ax.axis("off")
            continue
        r = rates[:, k]
        pos = r[r > 0]
        ax.hist(pos, bins=np.logspace(np.log10(pos.min()), np.log10(pos.max()), 40), color="#48c")
        ax.axvline(r.mean(), color="#c44", lw=1)
        ax.set_xscale("log")
        ax.set_title(f"{names[k]} / view (mean {r.mean():.4f}; zero {np.mean(r == 0):.0%})", fontsize=9)
    fig.tight_layout()
    return fig


def text_stats(hand: pl.DataFrame, like_rate: np.ndarray):
    """Words per post, and the like rate by emoji count and by question mark."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
    words = hand["n_words"].to_numpy()
    axes[0].hist(words[words > 0], bins=40, color="#48c")
    axes[0].set_title(f"words per post (null text: {np.mean(hand['has_text'].to_numpy() == 0):.1%})")
    for ax, col, title in ((axes[1], "n_emoji", "emoji"), (axes[2], "n_questions", "question marks")):
        v = np.minimum(hand[col].to_numpy(), 4)
        keys = np.unique(v)
        ax.bar([str(k) if k < 4 else "4+" for k in keys], [like_rate[v == k].mean() for k in keys], color="#4a4")
        ax.set_title(f"mean like / view by {title}")
    fig.tight_layout()
    return fig


def val_curves(heads: Mapping[str, Mapping]):
    """Validation log loss per epoch of each head; the kept epoch marked."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.6), sharey=True)
    for ax, head in zip(axes, ("cnn", "fusion")):
        for name, info in heads.items():
            if name.startswith(head + "-"):
                curve = info["val_curve"]
                line, = ax.plot(range(len(curve)), curve, label=name.split("-")[1], lw=1.2)
                ax.plot(info["best_epoch"], curve[info["best_epoch"]], "o", color=line.get_color())
        ax.axhline(next(iter(heads.values()))["val_curve"][0], color="#999", ls="--", lw=1, label="constant")
        ax.set_title(f"{head}: validation log loss (dot: the kept epoch)")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def predicted_vs_true(y: np.ndarray, preds: Mapping[str, np.ndarray], target: str):
    """Predicted against observed rate, one panel per model (log-log), the diagonal dashed."""
    fig, axes = plt.subplots(1, len(preds), figsize=(4.2 * len(preds), 3.8), squeeze=False)
    lo = max(min(y[y > 0].min(), min(p.min() for p in preds.values())), 1e-6)
    hi = max(y.max(), max(p.max() for p in preds.values()))
    for ax, (name, p) in zip(axes[0], preds.items()):
        ax.scatter(np.maximum(y, lo), np.maximum(p, lo), s=4, alpha=0.4, color="#48c")
        ax.plot([lo, hi], [lo, hi], "--", color="#c44", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f"observed {target} / view")
    axes[0][0].set_ylabel("predicted")
    fig.tight_layout()
    return fig


def importance(top: Mapping[str, float]):
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1))
    names = list(top)[::-1]
    ax.barh(names, [top[n] for n in names], color="#a6c")
    ax.set_title("CatBoost feature importance (mean over folds)")
    fig.tight_layout()
    return fig
