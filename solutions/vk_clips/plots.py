"""Figures of the VK Clips notebooks. Each function draws one figure and returns it."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from shared.course.answers import for_notebook
from shared.course.lesson import readme_link
from shared.eval.metrics import per_user_roc_auc
from shared.runtime.paths import REPO_ROOT
from solutions.vk_clips import TRACK


def data_overview(train: pl.DataFrame):
    """Class rates, rows per user and likes per user."""
    per_user = train.group_by("user_id").agg(n=pl.len(), likes=pl.col("like").sum())
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    n = train.height
    rates = {
        "dislike": float(train["dislike"].sum()) / n,
        "like": float(train["like"].sum()) / n,
        "share": float(train["share"].sum()) / n,
        "bookmarks": float(train["bookmarks"].sum()) / n,
    }
    rates["ignore"] = 1 - rates["dislike"] - rates["like"]
    names = ["dislike", "ignore", "like", "share", "bookmarks"]
    axes[0].bar(names, [rates[k] for k in names], color=["#c44", "#999", "#4a4", "#48c", "#a6c"])
    axes[0].set_yscale("log")
    axes[0].set_title("share of train rows (log scale)")
    axes[0].set_ylabel("share of rows")
    for i, k in enumerate(names):
        axes[0].text(i, rates[k], f"{rates[k]:.3%}", ha="center", va="bottom", fontsize=8)
    counts = per_user["n"].to_numpy()
    axes[1].hist(counts, bins=np.logspace(0, np.log10(counts.max() + 1), 40), color="#48c")
    axes[1].set_xscale("log")
    axes[1].set_title("train rows per user")
    axes[1].set(xlabel="train rows (log scale)", ylabel="users")
    likes = per_user["likes"].to_numpy()
    axes[2].hist(likes, bins=np.arange(0, np.percentile(likes, 99) + 2), color="#4a4")
    axes[2].set_title(f"likes per user ({(likes == 0).mean():.0%} never like)")
    axes[2].set(xlabel="likes in train", ylabel="users")
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
    ax.set(xlabel="history slot", ylabel="share of train rows")
    fig.tight_layout()
    return fig


def sequence_curves(info: dict):
    """The sequence model's epoch search: validation loss per epoch (the latest 10 % of train,
    never trained on), the epoch chosen, and the refit's training loss per epoch on every row."""
    val, train = info.get("val_losses") or [], info.get("losses") or []
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if val:
        ax.plot(range(1, len(val) + 1), val, marker="o", label="validation (latest 10 % of train)")
        best = int(np.argmin(val)) + 1
        ax.axvline(best, color="grey", lw=0.8, ls="--")
        ax.annotate(f"best epoch {best}", (best, min(val)), textcoords="offset points", xytext=(6, 8), fontsize=8)
    if train:
        ax.plot(range(1, len(train) + 1), train, marker=".", label="training loss (refit on every row)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy per predicted row")
    ax.set_title("sequence model: choosing the number of epochs")
    ax.legend()
    fig.tight_layout()
    return fig


def ranker(info: dict, row: str = "ltr"):
    """The learning-to-rank stack: which features its trees use (LightGBM's split gain) and the NDCG@20 of the
    latest window after each tree of a ranker fitted without it (why the number of trees is fixed)."""
    from shared.train.boosting import importance_plot

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1.2, 1]})
    imp = pl.DataFrame({"feature": list(info[row]["importance"]), "gain": list(info[row]["importance"].values())})
    importance_plot(imp, top=15, title=f"{row}: LightGBM importance (split gain), top 15", ax=axes[0])
    for name, facts in info.items():
        curve = facts["val_ndcg@20"]
        axes[1].plot(range(1, len(curve) + 1), curve, label=name)
    low, high = min(min(f["val_ndcg@20"]) for f in info.values()), max(max(f["val_ndcg@20"]) for f in info.values())
    axes[1].set(
        xlabel="trees",
        ylabel="NDCG@20 of the latest window",
        title=f"validation: every curve within {low:.4f} to {high:.4f}",
    )
    axes[1].legend()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- closing cells (shared.course.lesson)

TWIN_CALIBRATED = True  # twin.Params holds the values calibrate.py fitted (README, "The twin against the real data")


def closing(findings, exercises, twin: bool = True):
    from shared.course import lesson

    return lesson.closing(findings, exercises, twin, calibrated=TWIN_CALIBRATED, track=TRACK)


def _auc(table: pl.DataFrame, model: str) -> float:
    return float(table.filter(pl.col("model") == model)["auc"][0])


def _paired(a: str, b: str, diff: dict) -> str:
    """One sentence: ``a`` minus ``b`` paired by user (true probabilities), and whether it is a difference."""
    from shared.course.lesson import signed

    se = diff["auc_expected_se"]
    verdict = (
        "more than two standard errors: a difference"
        if se and abs(diff["auc_expected"]) > 2 * se
        else "within two standard errors: not a difference this run can show"
    )
    drawn = ""
    if diff.get("auc_se"):  # the leaderboard's own metric beside it
        held = "also more" if abs(diff["auc"]) > 2 * diff["auc_se"] else "within"
        drawn = (
            f" On the leaderboard's metric (the drawn classes) the same difference is "
            f"{signed(diff['auc'], 4)} ± {diff['auc_se']:.4f}: {held} two standard errors."
        )
    return (
        f"Paired by user against the true class probabilities, {a} minus {b} is "
        f"{signed(diff['auc_expected'], 4)} ± {se:.4f} (one standard error): {verdict}.{drawn}"
    )


def closing_baselines(table: pl.DataFrame | None, train: pl.DataFrame):

    exercises = for_notebook(TRACK, "02_baselines")
    if table is None:
        return closing(
            ["The baselines were scored; the real test labels are hidden, so the leaderboard scores them."],
            exercises,
            twin=False,
        )
    reacted = float(((train["like"] + train["dislike"]) > 0).mean())
    pop, als, rnd, oracle = (_auc(table, m) for m in ("popularity", "als", "random", "oracle"))
    order = "below" if als < pop else "above"
    return closing(
        [
            f"Random ordering scores {rnd:.3f} per-user ROC-AUC (0.5 in expectation) and the oracle, the true expected "
            f"class, {oracle:.3f}: every model of this track lies between the two.",
            f"Popularity reaches {pop:.3f} with no model at all: a user's 20 test clips are ordered first by how much "
            "everybody likes each clip.",
            f"The organisers' ALS scores {als:.3f}, {order} popularity. It learns only from the {reacted:.1%} of "
            "train rows "
            "with a like or a dislike and must reach each clip's appeal through the user's factors, which are "
            "noisy for the many users with few reactions; popularity measures that appeal directly.",
        ],
        exercises,
    )


def closing_dcn(table: pl.DataFrame | None, batch: int, diff: dict | None, gain: dict | None = None):
    """``diff``: the faithful minus the fixed history, paired by user; ``gain``: the faithful history minus
    none (the source's history gain), paired by user."""
    from shared.course.lesson import signed

    exercises = for_notebook(TRACK, "03_dcnv2")
    if table is None or diff is None:
        return closing(
            [
                f"Three DCNv2 rows were trained for one epoch in file order at batch {batch:,}; the real "
                "test labels are hidden."
            ],
            exercises,
            twin=False,
        )
    no, faithful, fixed = (_auc(table, m) for m in ("dcn_nohistory", "dcn_faithful", "dcn_fixed"))
    expected = {m: _auc_expected(table, m) for m in ("dcn_nohistory", "dcn_fixed")}
    why = []
    if diff["auc_expected"] > 2 * diff["auc_expected_se"]:  # the bug wins: say why the fix is still submitted
        trails = (
            f" On `auc_expected` the fixed history even trails no history ({expected['dcn_fixed']:.4f} against "
            f"{expected['dcn_nohistory']:.4f}): the third slot adds noise here."
            if expected["dcn_fixed"] < expected["dcn_nohistory"]
            else ""
        )
        why = [
            "Why is `dcn_fixed`, not the higher `dcn_faithful`, the submitted row? It is the source's method as its "
            "code meant it (it collected each user's ignores for the third slot and never read them); the bug's "
            "lead is a fact of this twin. Dislikes are rare (section 1's plot: the dislike slot is filled for few "
            "rows), so the faithful third slot, a second copy of the dislike history, is empty for most rows and "
            "`dcn_faithful` behaves almost like no history; the fixed slot adds the nearest earlier ignored clip, "
            f"which says little about the next reaction and costs DCNv2 a little.{trails} To submit the source's "
            'row, set `SUBMITTED = "dcn_faithful"` (`make reproduce PROFILE=source` runs the source\'s whole '
            "configuration)."
        ]
    return closing(
        [
            f"DCNv2 without history scores {no:.4f}, with the faithful history {faithful:.4f} "
            f"({signed(round(faithful, 4) - round(no, 4), 4)}), with the fixed history {fixed:.4f} "
            f"({signed(round(fixed, 4) - round(no, 4), 4)}). The source reported +0.0012 for its history "
            "on the private leaderboard (0.6667 against 0.6655)."
            + (f" {_paired('dcn_faithful', 'dcn_nohistory', gain)}" if gain else ""),
            "The faithful history fills its third slot from the dislikes a second time (the source's bug); the fixed "
            f"one uses the nearest earlier ignored clip instead. {_paired('dcn_faithful', 'dcn_fixed', diff)}",
            *why,
            f"One epoch in file order at batch {batch:,}: the model sees each row once, in time order, as the source "
            "trained it.",
        ],
        exercises,
    )


def closing_sequence(table: pl.DataFrame | None, info: dict, diff: dict | None):

    exercises = for_notebook(TRACK, "04_sequence_model")
    epochs = f"{info.get('epochs', 0)} epochs searched, best {info.get('best_epoch', 0)}"
    if table is None or diff is None:
        return closing(
            [f"The sequence model trained ({epochs}); the real test labels are hidden."], exercises, twin=False
        )
    seq, fixed = _auc(table, "sequence"), _auc(table, "dcn_fixed")
    return closing(
        [
            f"The sequence model scores {seq:.3f} per-user ROC-AUC against DCNv2 fixed's {fixed:.3f} ({epochs}).",
            _paired("sequence", "dcn_fixed", diff),
            "Its validation curve shows when more epochs stop helping; the refit then trains that many epochs on "
            "every row, the latest ones included.",
        ],
        exercises,
    )


def closing_submission(table: pl.DataFrame | None, submitted: str):

    exercises = for_notebook(TRACK, "06_submission")
    if table is None:
        return closing(
            [f"`submission.csv.7z` holds `{submitted}`'s scores; the leaderboard scores it."], exercises, twin=False
        )
    row = table.filter(pl.col("model") == submitted).row(0, named=True)
    best = table.filter(pl.col("model") != "oracle").sort("auc_expected", descending=True).row(0, named=True)
    return closing(
        [
            f"The submission holds `{submitted}`: per-user ROC-AUC {row['auc']:.3f} when the users with one reaction "
            f"are skipped, {row['auc_zero']:.3f} when they count as 0 (the same ranking, scored two ways).",
            f"Against the true class probabilities, the best model of this run is `{best['model']}` "
            f"({best['auc_expected']:.3f}); the oracle row shows how far any model could go on this twin."
            + (" `ours.csv` holds `ltr`; notebook 5's closing says why." if best["model"] == "ltr_stats" else ""),
        ],
        exercises,
    )


def closing_data(train: pl.DataFrame, test: pl.DataFrame, twin: bool):

    per_user = train.group_by("user_id").agg(n=pl.len(), likes=pl.col("like").sum())
    like, dislike = float(train["like"].mean()), float(train["dislike"].mean())
    return closing(
        [
            f"{train.height:,} train rows of {per_user.height:,} users; {test['user_id'].n_unique():,} test users with "
            f"20 clips each.",
            f"Likes are {like:.2%} of the rows and dislikes {dislike:.3%} (the real file: 4.66 % and 0.039 %): a "
            "ranking is judged mostly on where it puts the few liked clips.",
            f"Rows per user are skewed (median {int(per_user['n'].median()):,}, largest {int(per_user['n'].max()):,}) "
            f"and {float((per_user['likes'] == 0).mean()):.0%} of users never like anything: for them only the "
            "items' own appeal is left to rank by.",
        ],
        for_notebook(TRACK, "01_data"),
        twin,
    )


def closing_ranker(table: pl.DataFrame | None, beyond: pl.DataFrame, info: dict):

    exercises = for_notebook(TRACK, "05_ranker")
    top = list(info["ltr"]["importance"])[:3]
    if table is None or beyond.is_empty():
        return closing(
            [
                f"The ranker trained ({info['ltr']['trees']} trees); its strongest features: "
                f"{', '.join(top)}. The real test labels are hidden."
            ],
            exercises,
            twin=False,
        )
    r = {(b["ours"], b["against"]): b for b in beyond.iter_rows(named=True)}
    main, alone = r[("ltr", "dcn_faithful")], r[("ltr_stats", "dcn_faithful")]
    cost = (
        f" It costs {main['seconds ours']:.0f} s (its own out-of-fold models and trees plus the two models it "
        f"stacks) against {main['seconds against']:.0f} s for the faithful DCNv2."
        if main["seconds ours"] and main["seconds against"]
        else ""
    )
    return closing(
        [
            f"The ranker scores {_auc_expected(table, 'ltr'):.4f} `auc_expected` against the source's faithful DCNv2 "
            f"{_auc_expected(table, 'dcn_faithful'):.4f}. "
            + _paired("ltr", "dcn_faithful", {"auc_expected": main["gain"], "auc_expected_se": main["se"]})
            + cost,
            f"Against the drawn classes the same difference is {main['gain_drawn']:+.4f} ± {main['se_drawn']:.4f}: one "
            "drawn reaction per pair is too noisy a judge for a gap this size, which is why the twin's true "
            "probabilities decide.",
            f"Without the stacked DCNv2 and sequence scores the ranker scores {_auc_expected(table, 'ltr_stats'):.4f} "
            f"({alone['gain']:+.4f} ± {alone['se']:.4f} over faithful): stacking the two models changes "
            f"it by {_auc_expected(table, 'ltr') - _auc_expected(table, 'ltr_stats'):+.4f}. Its strongest features are "
            f"{', '.join(top)}: on this twin most of what can be learnt is the clip's own appeal, estimated with "
            "its source's as the prior.",
            *_which_is_ours(table, main, alone),
        ],
        exercises,
    )


def _which_is_ours(table: pl.DataFrame, main: dict, alone: dict) -> list[str]:
    """Why ``ltr`` is written as ours when ``ltr_stats`` reads higher on ``auc_expected`` (said only then)."""
    stack, stats = _auc_expected(table, "ltr"), _auc_expected(table, "ltr_stats")
    if stats <= stack:
        return []
    drawn = {m: _auc(table, m) for m in ("ltr", "ltr_stats")}
    secs = (
        f", and trains in {alone['seconds ours']:.1f} s against {main['seconds ours']:.0f} s"
        if alone["seconds ours"] and main["seconds ours"]
        else ""
    )
    medium = REPO_ROOT / "benchmarks" / f"{TRACK}-medium-beyond.csv"  # the committed record
    at_medium = ""
    if medium.is_file():  # the calibration scale's record: the same two gains at 3.0M rows
        m = {r["ours"]: r for r in pl.read_csv(medium).iter_rows(named=True)}
        lead, se = m["ltr"]["gain"] - m["ltr_stats"]["gain"], max(m["ltr"]["se"], m["ltr_stats"]["se"])
        at_medium = (
            f" At `medium`, the calibration scale (`benchmarks/{medium.name}`), `ltr` leads by {lead:+.5f} "
            f"({m['ltr']['gain']:+.5f} ± {m['ltr']['se']:.5f} against {m['ltr_stats']['gain']:+.5f} ± "
            f"{m['ltr_stats']['se']:.5f} over the faithful DCNv2): "
            + ("within" if abs(lead) <= 2 * se else "more than")
            + f" two standard errors, in {m['ltr']['seconds ours']:,.0f} s against "
            f"{m['ltr_stats']['seconds ours']:,.0f} s."
        )
    return [
        f"The second file notebook 6 writes (`ours.csv.7z`) holds `ltr`, yet `ltr_stats` reads "
        f"{stats - stack:+.4f} above it on `auc_expected` here "
        f"(and {drawn['ltr_stats'] - drawn['ltr']:+.4f} on the drawn classes){secs}. The two gains over the "
        f"faithful DCNv2 ({main['gain']:+.4f} ± {main['se']:.4f} and {alone['gain']:+.4f} ± {alone['se']:.4f}) "
        f"overlap well within their standard errors: this run cannot tell the stack from the statistics alone."
        f"{at_medium} `ltr` stays ours as the stack this notebook teaches, not as a measured winner; where time "
        f"matters, `ltr_stats` does as well on this twin (the [track README]({readme_link(TRACK)}) says more)."
    ]


def _auc_expected(table: pl.DataFrame, model: str) -> float:
    return float(table.filter(pl.col("model") == model)["auc_expected"][0])
