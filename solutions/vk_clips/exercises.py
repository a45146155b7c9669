"""The notebooks' exercises and how to compute their answers (``shared.course.answers``: ``make answers
TRACKS=vk_clips`` records them in ``benchmarks/answers-vk_clips.json``).

Each ``run`` works on its own twin under the scratch output folder (``make answers`` points
``RECSYS_OUTPUT_DIR`` at ``.answers/``). A changed model is trained under a checkpoint name of its
own and scored in memory: the lessons' scores stay as they are. Where an exercise asks the learner
to edit a constant of a module, the run sets it for the length of the run (``mock.patch``) and puts it back.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import replace
from unittest import mock

import numpy as np
import polars as pl

from shared.course.answers import Exercise
from shared.eval.metrics import (
    mean_user_expected_roc_auc,
    mean_user_roc_auc,
    paired_difference,
    per_user_expected_roc_auc,
)
from solutions.vk_clips import data, features, models, pipeline


@functools.cache
def _lesson_run(scale: str) -> tuple[pipeline.Config, pipeline.Data, pl.DataFrame, pl.DataFrame]:
    """The lessons' pipeline at ``scale`` (every row), run once: (config, data, scores, table)."""
    cfg = pipeline.Config(scale=scale)
    table = pipeline.run(cfg, progress=False)
    scores, _ = pipeline.load_outputs(cfg)
    return cfg, pipeline.load_data(cfg), scores, table


def _expected(scores: pl.DataFrame, s) -> pl.DataFrame:
    """Each user's ``auc_expected`` of scores ``s`` (columns user, auc)."""
    return per_user_expected_roc_auc(
        scores["user_id"].to_numpy(), scores.select(pipeline.TRUE_PROBS).to_numpy(), np.asarray(s, dtype=np.float64)
    )


def _auc_expected(scores: pl.DataFrame, s) -> float:
    return mean_user_expected_roc_auc(
        scores["user_id"].to_numpy(), scores.select(pipeline.TRUE_PROBS).to_numpy(), np.asarray(s, dtype=np.float64)
    )


def _gain(scores: pl.DataFrame, a, b) -> dict:
    """``a`` minus ``b`` (score arrays), paired by user on ``auc_expected``."""
    return paired_difference(_expected(scores, a)["auc"], _expected(scores, b)["auc"])


def _never_liked(scale: str) -> dict:
    _, d, scores, _ = _lesson_run(scale)
    likes = d.vk.train.group_by("user_id").agg(likes=pl.col("like").sum())
    never = set(likes.filter(pl.col("likes") == 0)["user_id"].to_list())
    out = {"users": 0}
    for model in ("popularity", "als"):
        per_user = _expected(scores, scores[model])
        group = per_user.filter(pl.col("user").is_in(list(never)))
        out |= {
            f"{model}_never": float(group["auc"].mean()),
            f"{model}_rest": float(per_user.filter(~pl.col("user").is_in(list(never)))["auc"].mean()),
        }
        out["users"] = group.height
    return out


def _never_liked_answer(v) -> str:
    gap_never, gap_rest = v["popularity_never"] - v["als_never"], v["popularity_rest"] - v["als_rest"]
    alike = abs(gap_never - gap_rest) < 0.01
    return (
        f"Popularity, and not only for them. Over the {v['users']:,} test users without a like in train, "
        "popularity scores [`auc_expected`](../00_primer.ipynb#auc-expected) "
        f"{v['popularity_never']:.4f} and ALS {v['als_never']:.4f}; over the other users "
        f"{v['popularity_rest']:.4f} and {v['als_rest']:.4f}. Popularity leads by {gap_never:.4f} and "
        f"{gap_rest:.4f}: "
        + (
            "the same margin in both groups, so having no like is not what holds ALS back. "
            if alike
            else "a wider margin where the user has no like. "
        )
        + "ALS stays near 0.5 (a random order) for every user on this twin: a user's few reactions are too few "
        "to fit their factors, likes or not, while an item's appeal is learnt from every user who saw it. Both "
        "models score lower on users who never liked: their test clips hold fewer likes to put on top."
    )


def _single_reaction(scale: str) -> dict:
    _, d, _, _ = _lesson_run(scale)
    kinds = d.truth.with_columns(user_id=d.vk.test["user_id"]).group_by("user_id").agg(k=pl.col("target").n_unique())
    return {"users": kinds.height, "single": int((kinds["k"] == 1).sum()), "share": float((kinds["k"] == 1).mean())}


def _als_64(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    wide = pipeline.baseline_scores(replace(cfg, als_factors=64), d)["als"]
    return {
        "als_16": _auc_expected(scores, scores["als"]),
        "als_64": _auc_expected(scores, wide),
        "popularity": _auc_expected(scores, scores["popularity"]),
    }


def _like_rate(scale: str) -> dict:
    _, d, scores, _ = _lesson_run(scale)
    rate = d.vk.train.group_by("item_id").agg(rate=pl.col("like").mean())
    s = d.vk.test.select("item_id").join(rate, on="item_id", how="left", maintain_order="left")["rate"].fill_null(0.0)
    gain = _expected(scores, s).join(_expected(scores, scores["popularity"]), on="user", suffix="_pop")
    likes = scores.group_by("user_id").agg(likes=(pl.col("target") == data.LIKE).sum()).rename({"user_id": "user"})
    gain = gain.join(likes, on="user").with_columns(d=pl.col("auc") - pl.col("auc_pop"))
    out = {"rate": _auc_expected(scores, s), "popularity": _auc_expected(scores, scores["popularity"])}
    for name, rows in (("none", pl.col("likes") == 0), ("one", pl.col("likes") == 1), ("more", pl.col("likes") >= 2)):
        part = gain.filter(rows)
        out |= {f"gain_{name}": float(part["d"].mean()), f"users_{name}": part.height}
    return out


def _batch_2048(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    hist = pipeline.history(cfg, d)
    wide = replace(cfg, batch_size=2048)
    s, _ = pipeline.train_dcn(wide, d, "dcn_faithful", hist, progress=False, name="exercise-dcn_faithful-b2048")
    users, y = scores["user_id"].to_numpy(), scores["target"].to_numpy()
    g = _gain(scores, s, scores["dcn_faithful"])
    return {
        "batch": cfg.batch,
        "steps": -(-d.vk.train.height // cfg.batch),
        "steps_2048": -(-d.vk.train.height // 2048),
        "auc": mean_user_roc_auc(users, y, scores["dcn_faithful"].to_numpy()),
        "auc_2048": mean_user_roc_auc(users, y, s),
        "expected": _auc_expected(scores, scores["dcn_faithful"]),
        "expected_2048": _auc_expected(scores, s),
        "gain": g["mean"],
        "se": g["se"],
    }


def _batch_answer(v) -> str:
    if abs(v["gain"]) <= 2 * v["se"]:
        verdict = (
            f"within two standard errors: one epoch of {v['steps_2048']:,} larger steps trains about as well as "
            f"{v['steps']:,} smaller ones (Adam scales each step, and a larger batch's gradient is less noisy)"
        )
    elif v["gain"] > 0:
        verdict = "more than two standard errors: the larger batch's less noisy steps train better in one epoch"
    else:
        verdict = "more than two standard errors: four times fewer steps leave the embeddings less trained"
    return (
        f"Per-user ROC-AUC {v['auc']:.4f} at batch {v['batch']:,} ({v['steps']:,} steps) and {v['auc_2048']:.4f} "
        f"at 2,048 ({v['steps_2048']:,} steps); `auc_expected` {v['expected']:.4f} against "
        f"{v['expected_2048']:.4f}, a paired change of {v['gain']:+.4f} ± {v['se']:.4f}: {verdict}."
    )


def _window_16(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    narrow = replace(cfg, ignore_window=16)
    wide_hist, narrow_hist = pipeline.history(cfg, d), pipeline.history(narrow, d)
    before, after = wide_hist["train_ignore"], narrow_hist["train_ignore"]
    s, _ = pipeline.train_dcn(narrow, d, "dcn_fixed", narrow_hist, progress=False, name="exercise-dcn_fixed-w16")
    g = _gain(scores, s, scores["dcn_fixed"])
    return {
        "changed": float((before != after).mean()),
        "emptied": float(((before >= 0) & (after < 0)).mean()),
        "filled": float((before >= 0).mean()),
        "expected": _auc_expected(scores, scores["dcn_fixed"]),
        "expected_16": _auc_expected(scores, s),
        "gain": g["mean"],
        "se": g["se"],
    }


def _seq_len_16(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    s, fit = pipeline.train_sequence(replace(cfg, seq_len=16), d, progress=False, name="exercise-sequence-len16")
    g = _gain(scores, s, scores["sequence"])
    return {
        "len": cfg.seq_len,
        "expected": _auc_expected(scores, scores["sequence"]),
        "expected_16": _auc_expected(scores, s),
        "gain": g["mean"],
        "se": g["se"],
        "epochs_16": int(np.argmin(fit.val_losses)) + 1,
        "epochs": int(pipeline.load_outputs(cfg)[1]["sequence"]["best_epoch"]),
    }


def _no_reactions(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    of = models.Events.of.__func__

    def blind(cls, *args, **kwargs):  # every reaction read as the same token: the model sees items and timing only
        events = of(cls, *args, **kwargs)
        return dataclasses.replace(events, reactions=events.reactions * 0)

    with mock.patch.object(models.Events, "of", classmethod(blind)):
        s, _ = pipeline.train_sequence(cfg, d, progress=False, name="exercise-sequence-blind")
    g = _gain(scores, s, scores["sequence"])
    return {
        "expected": _auc_expected(scores, scores["sequence"]),
        "expected_blind": _auc_expected(scores, s),
        "popularity": _auc_expected(scores, scores["popularity"]),
        "gain": g["mean"],
        "se": g["se"],
    }


def _within(v) -> bool:
    return abs(v["gain"]) <= 2 * v["se"]


def _seq_len_answer(v) -> str:
    why = (
        "within two standard errors: a user's last 16 reactions say about as much as the last 64"
        if _within(v)
        else (
            "more than two standard errors: the older events still carry taste the last 16 miss"
            if v["gain"] < 0
            else "more than two standard errors: the shorter window trains a better model here"
        )
    )
    return (
        f"`auc_expected` moves from {v['expected']:.4f} (the last {v['len']} events) to {v['expected_16']:.4f} "
        f"(the last 16), a paired change of {v['gain']:+.4f} ± {v['se']:.4f}, {why}; validation kept "
        f"{v['epochs_16']} epochs (was {v['epochs']})."
    )


def _blind_answer(v) -> str:
    lead = "Almost none" if _within(v) else f"About {-v['gain']:.4f} `auc_expected`"
    return (
        f"{lead}: blind to reactions it scores {v['expected_blind']:.4f} `auc_expected` against {v['expected']:.4f} "
        f"({v['gain']:+.4f} ± {v['se']:.4f}, paired; popularity scores {v['popularity']:.4f}). Without the "
        "reactions as input it still sees which clips a user was shown and how long they watched each, and it "
        "still learns from the reactions as its targets: on this twin, what a user watched and for how long "
        "says nearly all that their likes said."
    )


def _prior_answer(v) -> str:
    why = (
        "within two standard errors: the trees see each clip's row count (`item_n`) beside its rate and learn "
        "for themselves how far to trust a rate from few rows, the job the prior did by hand"
        if _within(v)
        else "more than two standard errors: a clip seen a few times gets a like rate of 0 or 1/3, mostly noise, "
        "and its source's rate was the better guess"
    )
    return (
        f"`ltr_stats` moves from {v['stats']:.4f} to {v['stats_0']:.4f} `auc_expected` ({v['gain']:+.4f} ± "
        f"{v['se']:.4f}, paired), {why}; `ltr` from {v['ltr']:.4f} to {v['ltr_0']:.4f}."
    )


def _ltr_variant(cfg, d, scores, drop=()) -> dict[str, np.ndarray]:
    """``pipeline.train_ltr``'s two rows, with the feature columns ``drop`` left out (scored in memory)."""
    if not drop:
        return pipeline.train_ltr(cfg, d, scores)[0]
    fit_ltr = models.train_ltr

    def without(X, y, query, is_val, names, seed):
        keep = [k for k, n in enumerate(names) if n not in drop]
        booster, curve = fit_ltr(X[:, keep], y, query, is_val, [names[k] for k in keep], seed)
        return _Dropping(booster, keep), curve

    with mock.patch.object(models, "train_ltr", without):
        return pipeline.train_ltr(cfg, d, scores)[0]


@dataclasses.dataclass
class _Dropping:
    """A booster trained without some columns, predicting from the full matrix."""

    booster: object
    keep: list

    def predict(self, X):
        return self.booster.predict(X[:, self.keep])

    def current_iteration(self):
        return self.booster.current_iteration()

    def feature_name(self):
        return self.booster.feature_name()

    def feature_importance(self, kind):
        return self.booster.feature_importance(kind)


def _prior_0(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    with mock.patch.object(features, "ITEM_PRIOR_ROWS", 0.0):
        new = _ltr_variant(cfg, d, scores)
    g = _gain(scores, new["ltr_stats"], scores["ltr_stats"])
    return {
        "stats": _auc_expected(scores, scores["ltr_stats"]),
        "stats_0": _auc_expected(scores, new["ltr_stats"]),
        "ltr": _auc_expected(scores, scores["ltr"]),
        "ltr_0": _auc_expected(scores, new["ltr"]),
        "gain": g["mean"],
        "se": g["se"],
    }


def _impersonal(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    columns = pipeline.ranker_rows(d)[0].columns
    drop = [c for c in columns if c.startswith(("user_source_", "cos_"))]
    new = _ltr_variant(cfg, d, scores, drop)
    faithful = _auc_expected(scores, scores["dcn_faithful"])
    out = {"dropped": len(drop), "columns": len(columns), "faithful": faithful}
    for row in pipeline.LTR_ROWS:
        out |= {row: _auc_expected(scores, scores[row]), f"{row}_impersonal": _auc_expected(scores, new[row])}
    out["personal_share"] = (out["ltr"] - out["ltr_impersonal"]) / (out["ltr"] - faithful)
    return out


def _four_windows(scale: str) -> dict:
    cfg, d, scores, _ = _lesson_run(scale)
    edges = tuple(round(0.5 + 0.125 * k, 3) for k in range(5))
    with mock.patch.object(pipeline, "LTR_EDGES", edges):
        rows = len(pipeline.ranker_rows(d)[1])
        new = _ltr_variant(cfg, d, scores)
    g = _gain(scores, new["ltr"], scores["ltr"])
    return {
        "rows_10": len(pipeline.ranker_rows(d)[1]),
        "rows_4": rows,
        "ltr": _auc_expected(scores, scores["ltr"]),
        "ltr_4": _auc_expected(scores, new["ltr"]),
        "stats": _auc_expected(scores, scores["ltr_stats"]),
        "stats_4": _auc_expected(scores, new["ltr_stats"]),
        "gain": g["mean"],
        "se": g["se"],
    }


def _impersonal_answer(v) -> str:
    stats_share = (v["ltr_stats"] - v["ltr_stats_impersonal"]) / (v["ltr_stats"] - v["faithful"])
    return (
        f"Without those {v['dropped']} of the {v['columns']} features `ltr` scores {v['ltr_impersonal']:.4f} "
        f"`auc_expected` (with them {v['ltr']:.4f}; the faithful DCNv2 {v['faithful']:.4f}) and `ltr_stats` "
        f"{v['ltr_stats_impersonal']:.4f} (with them {v['ltr_stats']:.4f}). `ltr` still stacks the DCNv2 and "
        "sequence scores, which know the user, so the cleaner measure is `ltr_stats`, which has only the "
        f"statistics: {stats_share:.0%} of its gain over the faithful DCNv2 came from the user's own taste, "
        f"the rest from the clip's appeal ({v['personal_share']:.0%} of `ltr`'s)."
    )


def _submit_faithful(scale: str) -> dict:
    _, _, _, table = _lesson_run(scale)
    row = {r["model"]: r for r in table.iter_rows(named=True)}
    return {
        "fixed": row["dcn_fixed"]["auc"],
        "faithful": row["dcn_faithful"]["auc"],
        "fixed_expected": row["dcn_fixed"]["auc_expected"],
        "faithful_expected": row["dcn_faithful"]["auc_expected"],
    }


def _auc_zero_answer(v) -> str:
    share = 1 - v["single"] / v["users"]
    return (
        f"No. {v['single']:,} of {v['users']:,} test users have a single reaction: `auc` skips them and `auc_zero` "
        f"counts each as 0, so for every model `auc_zero` = `auc` × {share:.4f}, the share of users with a pair "
        f"(the submitted row: {v['auc']:.4f} × {share:.4f} = {v['auc_zero']:.4f}). The same users drop out of "
        "every model, so the factor is the same for all of them and the order of the models cannot change; only "
        f"the level falls, by {v['rise']:.4f} here."
    )


def _submit_faithful_answer(v) -> str:
    auc, expected = v["faithful"] - v["fixed"], v["faithful_expected"] - v["fixed_expected"]
    return (
        f"`dcn_faithful` scores per-user ROC-AUC {v['faithful']:.4f} against `dcn_fixed`'s {v['fixed']:.4f} "
        f"({auc:+.4f}) and `auc_expected` {v['faithful_expected']:.4f} against {v['fixed_expected']:.4f} "
        f"({expected:+.4f}): the source's bug reads "
        + ("higher" if expected > 0 else "lower")
        + " on this twin (notebook 3's closing pairs the two by user and says whether the gap is more than two "
        "standard errors, and why the bug can win here). The submitted row is chosen for what it computes, the "
        "history the source's code meant, not for this gap; `SUBMITTED = \"dcn_faithful\"` submits the source's row."
    )


def _drop_single(scale: str) -> dict:
    _, _, scores, table = _lesson_run(scale)
    kinds = scores.group_by("user_id").agg(k=pl.col("target").n_unique())
    row = table.filter(pl.col("model") == pipeline.SUBMITTED).row(0, named=True)
    return {
        "single": int((kinds["k"] == 1).sum()),
        "users": kinds.height,
        "auc": row["auc"],
        "auc_zero": row["auc_zero"],
        "rise": row["auc"] - row["auc_zero"],
    }


EXERCISES = (
    Exercise(
        "01_data",
        1,
        "Before notebook 2, predict which of popularity and a per-user model (ALS, alternating least squares: "
        "notebook 2 trains it) will rank a user who never liked anything better, and why.",
        _never_liked_answer,
        "small",
        _never_liked,
    ),
    Exercise(
        "01_data",
        2,
        "Compute the share of test users whose 20 clips have a single reaction (`d.truth`'s `target` on the "
        "twin). Notebook 6 (and the primer's `auc_zero`) shows what the metric does with them.",
        "{single:,} of {users:,} test users ({share:.1%}): all 20 of their clips were ignored. Their per-user "
        "ROC-AUC has no pair to order, so `auc` skips them and `auc_zero` counts each as 0.",
        "small",
        _single_reaction,
    ),
    Exercise(
        "02_baselines",
        1,
        "Give ALS 64 factors instead of 16 (`als_factors=64` in `pipeline.Config(...)`) and predict whether it "
        "closes the gap to popularity; run `pipeline.baseline_scores(cfg, d)` again and compare.",
        "No: `auc_expected` moves from {als_16:.4f} (16 factors) to {als_64:.4f} (64), and popularity stays at "
        "{popularity:.4f}. More factors give each user more coordinates to fit from the same few reactions; "
        "what ALS lacks is data per user, not capacity.",
        "small",
        _als_64,
    ),
    Exercise(
        "02_baselines",
        2,
        "Score the items by their like rate (likes / rows) instead of likes minus dislikes. Which users does "
        "it help, those with many or few test likes?",
        "Both, about alike. Over all users the like rate scores `auc_expected` {rate:.4f} against likes minus "
        "dislikes {popularity:.4f}. Per user, the change is {gain_none:+.4f} for the {users_none:,} users with "
        "no drawn test like, {gain_one:+.4f} for the {users_one:,} with one and {gain_more:+.4f} for the "
        "{users_more:,} with two or more: a count rewards a clip for being shown often, a rate for being liked "
        "when shown, which is what every user's ranking needs.",
        "small",
        _like_rate,
    ),
    Exercise(
        "03_dcnv2",
        1,
        "Train `dcn_faithful` with `BATCH_SIZE` 2048 instead of the default: one epoch then takes fewer, larger "
        "steps. Predict the direction of the change in AUC, then run it.",
        _batch_answer,
        "small",
        _batch_2048,
    ),
    Exercise(
        "03_dcnv2",
        2,
        "Set `ignore_window` in `pipeline.Config` to 16 and rebuild the history: how much of the fixed history's "
        "third slot is lost, and does `dcn_fixed` notice?",
        "The third slot (the nearest earlier ignored clip) changes for {changed:.1%} of the train rows and is "
        "emptied for {emptied:.2%} ({filled:.1%} had one): with ignores most of every history, the last 16 "
        "nearly always hold one. `dcn_fixed` moves from {expected:.4f} to {expected_16:.4f} `auc_expected` "
        "({gain:+.4f} ± {se:.4f}, paired): the slot carries little the model uses.",
        "small",
        _window_16,
    ),
    Exercise(
        "04_sequence_model",
        1,
        "Set `SEQ_LEN` to 16: the model then sees only a user's last 16 events. Predict what happens to "
        "`auc_expected`, then run this notebook again.",
        _seq_len_answer,
        "small",
        _seq_len_16,
    ),
    Exercise(
        "04_sequence_model",
        2,
        "Give the sequence model no reaction input (replace `Events.reactions` by zeros in `models.py`): how much "
        "of its score came from knowing what the user liked before?",
        _blind_answer,
        "small",
        _no_reactions,
    ),
    Exercise(
        "05_ranker",
        1,
        "Set `ITEM_PRIOR_ROWS` in `features.py` to 0 (an item's like rate with no pull towards its source's) and "
        "predict what happens to `ltr_stats`; then run this notebook.",
        _prior_answer,
        "small",
        _prior_0,
    ),
    Exercise(
        "05_ranker",
        2,
        "Drop every `user_source_*` and `cos_*` feature: how much of the gain over DCNv2 was personal, and how "
        "much the item's own appeal?",
        _impersonal_answer,
        "small",
        _impersonal,
    ),
    Exercise(
        "05_ranker",
        3,
        "Train the ranker on four windows instead of ten (`pipeline.LTR_EDGES`) and compare `auc_expected`.",
        "The ranker learns from the same {rows_4:,} rows (the second half of train), cut into four windows "
        "instead of ten: each row's statistics now come from history that ends up to an eighth of the file "
        "before it instead of a twentieth. `ltr` scores {ltr_4:.4f} against {ltr:.4f} ({gain:+.4f} ± {se:.4f}, "
        "paired) and `ltr_stats` {stats_4:.4f} against {stats:.4f}: features computed from staler history "
        "describe the row less well.",
        "small",
        _four_windows,
    ),
    Exercise(
        "06_submission",
        1,
        "The source submitted `dcn_faithful`; this notebook submits `dcn_fixed` (`SUBMITTED` in the parameters "
        "cell). Read both rows of the table: which scores higher on the leaderboard's metric, which on "
        "`auc_expected`, and does the choice change the submission's score by more than the noise notebook 3 "
        "measured?",
        _submit_faithful_answer,
        "small",
        _submit_faithful,
    ),
    Exercise(
        "06_submission",
        2,
        "`auc_zero` scores a user whose 20 clips share one reaction as 0 instead of skipping them. Can it ever "
        "order two models differently from `auc`? Check with the table's rows.",
        _auc_zero_answer,
        "small",
        _drop_single,
    ),
)
