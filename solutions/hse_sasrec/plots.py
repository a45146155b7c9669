"""Figures of the HSE RecSys notebooks. Each function draws one figure and returns it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.ticker import NullFormatter

from shared.course.answers import for_notebook
from solutions.hse_sasrec import TRACK
from solutions.hse_sasrec.data import GENRES


def data_overview(events: pl.DataFrame, items: pl.DataFrame):
    """Events per user, item popularity (rank plot) and genre shares."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    per_user = events.group_by("user_id").len()["len"].to_numpy()
    axes[0].hist(per_user, bins=np.logspace(np.log10(per_user.min()), np.log10(per_user.max() + 1), 40), color="#48c")
    axes[0].set_xscale("log")
    axes[0].set(title=f"events per user (median {np.median(per_user):g})", xlabel="events (log scale)", ylabel="users")
    pop = np.sort(events.group_by("item_id").len()["len"].to_numpy())[::-1]
    axes[1].loglog(np.arange(1, len(pop) + 1), pop, color="#c64")
    axes[1].set(title="events per item, by rank", xlabel="item rank (log scale)", ylabel="events (log scale)")
    for ax in axes[:2]:  # label the decades only: the minor ticks' labels ran into each other
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    shares = items.select(pl.exclude("item_id")).mean().row(0)
    axes[2].barh(list(GENRES), shares, color="#4a4")
    axes[2].invert_yaxis()
    axes[2].tick_params(axis="y", labelsize=7)
    axes[2].set(title="share of items with the genre", xlabel="share of items")
    fig.tight_layout()
    return fig


def training_curves(record: dict, title: str):
    """Train loss and validation recall@10 / NDCG@10 per epoch; the kept epoch marked."""
    rows = record["epochs"]
    epochs = [r["epoch"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.4))
    a.plot(epochs, [r.get("train_loss_epoch", np.nan) for r in rows], color="#48c")
    a.set_title(f"{title}: train loss")
    a.set(xlabel="epoch", ylabel="cross-entropy")
    for key, color in (("recall@10", "#c64"), ("ndcg@10", "#4a4")):
        b.plot(epochs, [r.get(key, np.nan) for r in rows], label=key, color=color)
    b.axvline(record["best_epoch"], color="#999", ls="--", lw=1, label=f"kept: epoch {record['best_epoch']}")
    b.set_title(f"{title}: validation (seen items removed)")
    b.set(xlabel="epoch", ylabel="recall@10 / NDCG@10")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def comparison(table: pl.DataFrame, metric: str = "hitrate", step: str = "test"):
    """One bar per model: its HitRate@10 (or the ``metric`` named) on the test step, or the ``step`` named."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * table.height + 1.2))
    names, values = table["model"].to_list(), table[metric].to_numpy()
    colors = ["#bbb" if n in ("random", "oracle") else "#48c" for n in names]
    ax.barh(names, values, color=colors)
    ax.invert_yaxis()
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
    ax.set_xlabel(f"{metric}@10 on the {step} step")
    ax.set_xlim(0, max(values) * 1.18)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- closing cells (shared.course.lesson)


def closing(findings, exercises, twin: bool = True, baselines: str = "random and oracle rows"):
    """``shared.course.lesson.closing`` for this track (its caveat links the track README; ``baselines``: the
    rows of the notebook's table a model is compared with)."""
    from shared.course import lesson

    return lesson.closing(findings, exercises, twin, baselines=baselines, track=TRACK)


def _hit(table: pl.DataFrame, model: str, metric: str = "hitrate") -> float:
    return float(table.filter(pl.col("model") == model)[metric][0])


def closing_data(events: pl.DataFrame, n_users: int, n_items: int, split, twin: bool):
    return closing(
        [
            f"{events.height:,} ratings of {n_users:,} users on {n_items:,} movies, each user's in the order they "
            "rated them: the order is the signal the sequence models read.",
            f"Each user's last event is the test answer and the one before it the validation answer (one of each "
            f"for {split.test_gt.height:,} users): every model is asked for the next movie, not for a random "
            "held-out one.",
        ],
        for_notebook(TRACK, "01_data_and_split"),
        twin,
        baselines="random and oracle rows (notebook 2 scores them)",
    )


def closing_sasrec(
    table: pl.DataFrame,
    record: dict,
    published: dict,
    twin: bool,
    literature: dict | None = None,
    diff: dict | None = None,
):
    """``literature``: the training record of ours (``pipeline.OURS``); ``diff``: ours minus
    SASRec per user (``pipeline.paired_difference``)."""
    from shared.course.lesson import signed

    s, pop = _hit(table, "sasrec"), _hit(table, "popularity")
    findings = [
        f"SASRec (`cpu` preset) reaches HitRate@10 {s:.3f} and NDCG@10 {_hit(table, 'sasrec', 'ndcg'):.3f} on the "
        f"test step; most-popular items {pop:.3f}. The team's `final` SASRec scored {published['hitrate']} "
        f"(NDCG {published['ndcg']}) on its own last-item holdout of the real data.",
        f"It kept epoch {record['best_epoch']} of {len(record['epochs'])} (the best validation recall@10), at "
        f"{record['seconds_per_epoch']:.1f} s an epoch on the {record['device']}.",
    ]
    if literature and diff and "sasrec_lit" in table["model"]:
        se = diff["ndcg_se"]
        verdict = (
            "more than two standard errors"
            if abs(diff["ndcg"]) > 2 * se
            else "within two standard errors: not a difference this run can show"
        )
        findings.append(
            f"Trained as the literature trains it (1 head, dropout 0.1, the last 200 movies, early stopping), SASRec "
            f"reaches {_hit(table, 'sasrec_lit'):.3f} / {_hit(table, 'sasrec_lit', 'ndcg'):.3f}: per user, NDCG@10 "
            f"{signed(diff['ndcg'], 4)} ± {se:.4f} against the `cpu` preset ({verdict}), after "
            f"{len(literature['epochs'])} epochs of {literature['seconds_per_epoch']:.1f} s against "
            f"{len(record['epochs'])} of {record['seconds_per_epoch']:.1f} s."
        )
    if "oracle" in table["model"]:
        findings.append(
            f"The oracle, the 10 most likely next movies under the twin's true probabilities, reaches "
            f"{_hit(table, 'oracle'):.3f}: even a perfect model misses most next movies."
        )
    return closing(findings, for_notebook(TRACK, "02_sasrec"), twin)


def closing_bert4rec(table: pl.DataFrame, record: dict, published: dict, twin: bool):
    b, s = _hit(table, "bert4rec"), _hit(table, "sasrec")
    epochs, best = len(record["epochs"]), record["best_epoch"]
    training = (
        f"Its best validation epoch was the last one ({best} of {epochs}): still improving when training "
        "stopped, so this BERT4Rec is under-trained (exercise 1 gives it more epochs)."
        if best == epochs
        else f"It kept epoch {best} of {epochs}: validation had stopped improving."
    )
    return closing(
        [
            f"BERT4Rec scores HitRate@10 {b:.3f} against SASRec's {s:.3f}; on the real data the team measured "
            f"{published['BERT4Rec (holdout)']['hitrate']} against {published['SASRec final (holdout)']['hitrate']}.",
            training,
            "A masked model learns from 15 % of the positions per sequence and a causal one from all of them: "
            "BERT4Rec needs many more epochs for the same signal.",
        ],
        for_notebook(TRACK, "03_bert4rec"),
        twin,
    )


def closing_classic(val: pl.DataFrame | None, published: dict, twin: bool):
    exercises = for_notebook(TRACK, "04_classic_spark")
    if val is None:
        return closing(
            ["Spark or Java is missing here, so the classic models did not run (section 1 says why)."], exercises, twin
        )
    lines = [
        f"On the validation step SLIM scores HitRate@10 {_hit(val, 'slim'):.3f}, ALS {_hit(val, 'als'):.3f}, "
        f"ItemKNN {_hit(val, 'itemknn'):.3f} (the team, real data: {published['SLIM (val)']['hitrate']}, "
        f"{published['ALS (val)']['hitrate']}, {published['ItemKNN (val)']['hitrate']}).",
        f"SASRec, on the same step, {_hit(val, 'sasrec'):.3f}: here, reading the order of a user's movies "
        "beats the models that only see which movies they rated.",
    ]
    return closing(lines, exercises, twin, baselines="popularity row")


def closing_reranker(table: pl.DataFrame, recall50: float, twin: bool):
    r, s = _hit(table, "reranker"), _hit(table, "sasrec")
    verdict = "beats" if r > s else "does not beat"
    return closing(
        [
            f"The leak-free reranker scores HitRate@10 {r:.3f} and {verdict} SASRec alone ({s:.3f}).",
            f"It can only reorder SASRec's 50 candidates: their recall@50, {recall50:.3f}, is its ceiling.",
            "The team's reranker was trained on the answers it was then scored on; this one learns on the validation "
            "step only, so its figure is what a reranker really adds (or costs) on unseen answers.",
        ],
        for_notebook(TRACK, "05_reranker"),
        twin,
        baselines="SASRec and oracle rows",
    )


def closing_submission(table: pl.DataFrame, twin: bool, hidden: pl.DataFrame | None = None):
    best = table.filter(~pl.col("model").is_in(["oracle"])).sort("hitrate", descending=True).row(0, named=True)
    findings = [
        f"The submission holds SASRec's 10 movies per user; it scores HitRate@10 {_hit(table, 'sasrec'):.3f} on the "
        f"test step. The best row of this run is `{best['model']}` ({best['hitrate']:.3f}).",
    ]
    if hidden is not None and set(hidden["history"]) >= {"full", "faithful"}:
        h = {r["history"]: r["hitrate"] for r in hidden.iter_rows(named=True)}
        findings.append(
            f"The largest effect of this notebook is not a model but the history predicted from: on the twin's "
            f"hidden next event, SASRec's lists reach HitRate@10 {h['full']:.3f} from the whole history against "
            f"{h['faithful']:.3f} from the team's (without the last event, which stayed recommendable): the last "
            "event is the best single clue to the next one, and leaving it out throws that clue away."
        )
    findings.append(
        "The public leaderboard scored the team's SASRec 0.2453 on the real data; a twin figure is never one."
    )
    return closing(findings, for_notebook(TRACK, "06_submission"), twin)
