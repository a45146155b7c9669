"""Figures of the VK-Lab posts notebooks. Each function draws one figure and returns it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from shared.course.answers import for_notebook
from solutions.vklab_posts import TRACK
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
                (line,) = ax.plot(range(len(curve)), curve, label=name.split("-")[1], lw=1.2)
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
    """CatBoost's feature importance (mean over folds), one horizontal bar per feature."""
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1))
    names = list(top)[::-1]
    ax.barh(names, [top[n] for n in names], color="#a6c")
    ax.set_title("CatBoost feature importance (mean over folds)")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- closing cells (shared.course.lesson)


def closing(findings, exercises, twin: bool = True):
    """``shared.course.lesson.closing`` with this track's baselines: the constant row and the oracle."""
    from shared.course.lesson import closing as lesson_closing

    return lesson_closing(findings, exercises, twin, baselines="constant and oracle rows", track=TRACK)


def _row(table: pl.DataFrame, target: str, model: str) -> dict:
    return table.filter((pl.col("target") == target) & (pl.col("model") == model)).row(0, named=True)


def closing_data(n_rows: int, n_train: int, n_val: int, n_test: int, null_text: int, mean_open: float, twin: bool):

    return closing(
        [
            f"{n_rows:,} posts: {n_train:,} to train on, {n_val:,} carved from them to choose epochs and heads, "
            f"{n_test:,} held out for the test.",
            f"The mean open_photo / view is {mean_open:.4f}: most rates are small, so a constant at the train mean is "
            "already a strong log-loss baseline and every model is judged by how much it gains over it.",
            f"{null_text:,} posts have no text: every text feature must cope with a missing value.",
        ],
        for_notebook(TRACK, "01_data"),
        twin,
    )


def closing_heads(table: pl.DataFrame, head: str, twin: bool, beyond: pl.DataFrame | None = None):
    """``beyond``: ``pipeline.beyond_source``'s rows (ours against the source's heads), when ours ran."""
    from shared.course.lesson import signed

    const, chosen = _row(table, "open_photo", "constant"), _row(table, "open_photo", head)
    findings = [
        f"The constant scores test log loss {const['logloss']:.4f}; `{head}`, chosen on validation, "
        f"{chosen['logloss']:.4f}: a gain of {const['logloss'] - chosen['logloss']:.4f} (source (a)'s best "
        "models gained about 0.0025 over a constant on the real file)."
    ]
    if "gap_closed" in table.columns and chosen.get("gap_closed") is not None:
        best = (
            table.filter((pl.col("target") == "open_photo") & pl.col("model").str.contains("^(cnn|fusion|finetune)-"))
            .sort("logloss", "model")
            .row(0, named=True)
        )
        findings.append(
            f"`{head}` closes {chosen['gap_closed']:.0%} of the constant-to-oracle gap; the best head "
            f"on test, `{best['model']}`, {best['gap_closed']:.0%}. Choosing on validation rows, "
            "not on test, is what keeps the submitted figure honest."
        )
        if "ceiling" in table["model"]:
            ceiling = _row(table, "open_photo", "ceiling")
            beyond_ceiling = (
                " (above 100 %: on one finite test split a model can land past the ceiling, an "
                "average over the hidden quality, by chance)"
                if best["reachable_closed"] > 1
                else ""
            )
            findings.append(
                f"No model can close the whole gap: the ceiling (the true rate averaged over the quality no "
                f"model sees) closes {ceiling['gap_closed']:.0%} of it, so `{best['model']}` has closed "
                f"{best['reachable_closed']:.0%} of what is reachable{beyond_ceiling}."
            )
    if beyond is not None and beyond.height:
        r = beyond.row(0, named=True)
        verdict = (
            "more than two standard errors: a difference"
            if r["gain"] > 2 * r["se"]
            else "within two standard errors: not a difference this test split can show"
        )
        findings.append(
            f"Ours, an MLP head averaged over four seeds, gains {signed(r['gain'], 5)} ± {r['se']:.5f} "
            f"(paired by row, one standard error) over `{r['against']}`: {verdict}; it trained in "
            f"{r['seconds ours']:.0f} s against {r['seconds against']:.1f} s."
        )
    findings.append("The loss changes little here: with rates near 0.04, weighted BCE's weights stay close to 1.")
    return closing(findings, for_notebook(TRACK, "02_image_text_models"), twin)


def paired_gains(beyond: pl.DataFrame):
    """Each of our rows' paired log-loss gain over the source's model, per target, with bars of two
    standard errors: a bar clear of zero is a difference the test rows can show."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * beyond.height + 1.2))
    labels = [f"{r['target']}: {r['ours']} vs {r['against']}" for r in beyond.iter_rows(named=True)]
    pos = np.arange(beyond.height)[::-1]
    ax.barh(pos, beyond["gain"].to_numpy(), xerr=2 * beyond["se"].to_numpy(), color="#48c", capsize=3)
    ax.axvline(0, color="#444", lw=1)
    ax.set_yticks(pos, labels)
    ax.set_xlabel("log-loss gain over the source's model on test rows (± 2 standard errors, paired by row)")
    ax.set_title("ours against the source, paired by test row")
    fig.tight_layout()
    return fig


def closing_catboost(table: pl.DataFrame, targets, twin: bool, beyond: pl.DataFrame | None = None):
    from shared.course.lesson import signed

    lines = []
    for t in targets:
        c, m = _row(table, t, "constant"), _row(table, t, "catboost")
        gap = f", {m['gap_closed']:.0%} of the gap to the oracle" if m.get("gap_closed") is not None else ""
        lines.append(f"{t}: CatBoost {m['logloss']:.4f} against the constant's {c['logloss']:.4f}{gap}.")
    lines.append(
        "Source (b) reported MAE and MSE only, with the labels swapped; log loss against the "
        "constant is the comparison that says whether a rate model helps."
    )
    if beyond is not None and beyond.height:
        for t in targets:
            one = {r["ours"]: r for r in beyond.filter(pl.col("target") == t).iter_rows(named=True)}
            if "blend" not in one:
                continue
            r = one["blend"]
            verdict = "more than" if r["gain"] > 2 * r["se"] else "within"
            parts = ", ".join(
                f"`{m}` alone {signed(one[m]['gain'], 6)}" for m in ("catboost-ce", "mlp-text") if m in one
            )
            better = [m for m in ("catboost-ce", "mlp-text") if m in one and one[m]["gain"] > r["gain"]]
            why = (
                f" Here `{better[0]}` alone gains more than the blend: the plain mean gives the weaker model half "
                "the say. The weights are fixed in advance, not chosen on the test rows (exercise 2 asks what "
                "other weights do)."
                if better
                else ""
            )
            lines.append(
                f"Ours on {t}: {signed(r['gain'], 6)} ± {r['se']:.6f} log loss over MultiRMSE (paired by "
                f"row), {verdict} two standard errors ({parts}).{why}"
            )
    return closing(lines, for_notebook(TRACK, "03_catboost_multitarget"), twin)


def closing_predictions(table: pl.DataFrame, head: str, targets, twin: bool):
    rows = [
        f"`predictions.csv` holds open_photo from `{head}` (chosen on validation) and "
        f"{', '.join(targets)} from CatBoost."
    ]
    for t in ("open_photo", *targets):
        model = head if t == "open_photo" else "catboost"
        c, m = _row(table, t, "constant"), _row(table, t, model)
        rows.append(f"{t}: test log loss {m['logloss']:.4f}, the constant {c['logloss']:.4f}.")
    return closing(rows, for_notebook(TRACK, "04_predictions"), twin)
