"""The notebooks' exercises and how to compute their answers (``shared.answers``: ``make answers
TRACKS=kraft_kuairec`` records them in ``benchmarks/answers-kraft_kuairec.json``).

Each ``run`` works on its own twin under the scratch output folder (``make answers`` points
``RECSYS_OUTPUT_DIR`` at ``.answers/``), so a changed split or ALS never overwrites a lesson's artifacts.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import polars as pl

from shared.answers import Exercise
from shared.metrics import per_user_ndcg, ranking_metrics
from solutions.kraft_kuairec import data, features, pipeline


@functools.cache
def _lesson_run(scale: str) -> tuple[pipeline.Config, pl.DataFrame, dict]:
    """The lessons' pipeline at ``scale`` (every variant), run once for the exercises that read its scores."""
    cfg = pipeline.Config(scale=scale)
    pipeline.run(cfg)
    scores, training = pipeline.load_scores(cfg)
    return cfg, scores, training


def _label_threshold(scale: str) -> dict:
    rows = data.load(pipeline.Config(scale=scale).data_folder()).interactions
    ratio = rows["watch_ratio"]
    return {
        "rate_1": float((ratio >= features.THRESHOLD).mean()),
        "rate_2": float((ratio >= 2).mean()),
        "median": float(ratio.median()),
    }


def _split_70(scale: str) -> dict:
    rows = features.add_label(data.load(pipeline.Config(scale=scale).data_folder()).interactions)
    counts = {}
    for frac in (0.8, 0.7):
        train, test = features.time_split(rows, frac)
        counts[frac] = (train.group_by("user_id").len("train"), test.group_by("user_id").len("test"), test.height)
    per_user = (
        counts[0.8][0]
        .join(counts[0.7][0], on="user_id", how="left", suffix="_70")
        .join(counts[0.8][1], on="user_id", how="left")
        .join(counts[0.7][1], on="user_id", how="left", suffix="_70")
        .fill_null(0)
    )
    gained = per_user["test_70"] - per_user["test"]
    lost_share = 1 - per_user["train_70"] / per_user["train"]
    heavy = per_user["train"] >= per_user["train"].median()
    return {
        "test_80": counts[0.8][2],
        "test_70": counts[0.7][2],
        "users": per_user.height,
        "users_losing_test": int((gained < 0).sum()),
        "max_train_loss": float(lost_share.max()),
        "median_train_loss": float(lost_share.median()),
        "gain_heavy": float(gained.filter(heavy).mean()),
        "gain_light": float(gained.filter(~heavy).mean()),
    }


def _als_factors_16(scale: str) -> dict:
    cfg, _, _ = _lesson_run(scale)
    split = pipeline.load_split(cfg)
    small = pipeline.train_variant(replace(cfg, als_factors=16), split, "faithful")
    big = pipeline.train_variant(cfg, split, "faithful")
    share = {
        k: float(
            r.importance.filter(pl.col("feature").str.contains("_als_"))["gain"].sum() / r.importance["gain"].sum()
        )
        for k, r in (("16", small), ("64", big))
    }
    return {
        "auc_64": big.val_auc,
        "auc_16": small.val_auc,
        "als_share_64": share["64"],
        "als_share_16": share["16"],
        "top_64": big.importance["feature"][0],
        "top_16": small.importance["feature"][0],
        "trees_64": big.n_trees,
        "trees_16": small.n_trees,
    }


def _leakfree_08(scale: str) -> dict:
    cfg, scores, training = _lesson_run(scale)
    split = pipeline.load_split(cfg)
    more = pipeline.train_variant(replace(cfg, leakfree_als_frac=0.8), split, "leakfree")
    users, labels = scores["user_id"].to_numpy(), scores["label"].to_numpy()
    ndcg = {
        name: ranking_metrics(users, s, labels, (10,))["ndcg@10"]
        for name, s in (("05", scores["leakfree"].to_numpy()), ("08", more.test_scores))
    }
    return {
        "auc_05": training["leakfree"]["val_auc"],
        "auc_08": more.val_auc,
        "rows_05": training["leakfree"]["n_fit_rows"],
        "rows_08": more.n_fit_rows,
        "ndcg_05": ndcg["05"],
        "ndcg_08": ndcg["08"],
        "corrected_auc": training["corrected"]["val_auc"],
    }


def _many_relevant(scale: str) -> dict:
    _, scores, _ = _lesson_run(scale)
    relevant = scores.group_by("user_id").agg(n=pl.col("label").sum())
    out = {
        "users_all": int((relevant["n"] > 0).sum()),
        "users_10": int((relevant["n"] >= 10).sum()),
        "fewest": int(relevant["n"].min()),
        "median": float(relevant["n"].median()),
    }
    subset = scores.join(relevant.filter(pl.col("n") >= 10), on="user_id", how="semi")
    for model in ("faithful", "popularity"):
        out[f"{model}_all"] = float(per_user_ndcg(scores["user_id"], scores[model], scores["label"], 10)[1].mean())
        out[f"{model}_10"] = float(per_user_ndcg(subset["user_id"], subset[model], subset["label"], 10)[1].mean())
    return out


def _blend(scale: str) -> dict:
    cfg, scores, _ = _lesson_run(scale)
    split = pipeline.load_split(cfg)
    views = split.train.group_by("user_id").len("views")
    frame = scores.join(views, on="user_id", how="left", maintain_order="left").with_columns(
        pl.col("views").fill_null(0)
    )
    light = (frame["views"] < 20).to_numpy()
    # each user ranks only their own rows, so mixing two models' scales across users changes no ranking
    blend = np.where(light, frame["als"].to_numpy(), frame["faithful"].to_numpy())
    ndcg = {
        name: float(per_user_ndcg(frame["user_id"], s, frame["label"], 10)[1].mean())
        for name, s in (("als", frame["als"]), ("faithful", frame["faithful"]), ("blend", blend))
    }
    return {
        "light_users": int(frame.filter(pl.col("views") < 20)["user_id"].n_unique()),
        "users": frame["user_id"].n_unique(),
        "fewest_views": int(frame["views"].min()),
        **ndcg,
    }


EXERCISES = (
    Exercise(
        "01_data",
        1,
        "Change the label threshold to `watch_ratio >= 2` (replays only) and predict the new positive rate "
        "before computing it.",
        "The positive rate falls from {rate_1:.1%} (`watch_ratio >= 1`) to {rate_2:.1%}: a replay is rare, "
        "the median view stops at {median:.2f} of the video. With so few positives random precision drops "
        "to about that rate and every ranking metric shrinks with it.",
        "small",
        _label_threshold,
    ),
    Exercise(
        "01_data",
        2,
        "Split at 70 % instead of 80 % in `pipeline.prepare`: which users lose most of their test rows?",
        "A trick question: none. The split is in time, so moving it earlier moves rows from train to test, and "
        "the test set grows from {test_80:,} to {test_70:,} rows ({users_losing_test} of {users:,} users lose "
        "a test row). What users lose is train: the median user loses {median_train_loss:.1%} of their train rows, "
        "the worst off {max_train_loss:.1%}. Users with more train rows than the median gain {gain_heavy:.1f} "
        "test rows on average, the others {gain_light:.1f}: on the twin every user's views spread evenly "
        "over the weeks, so the later cut takes from everyone alike.",
        "small",
        _split_70,
    ),
    Exercise(
        "02_als_lightgbm",
        1,
        "Set `ALS_FACTORS` to 16 and predict how `faithful`'s validation AUC and feature importances change.",
        "Surprise: fewer factors score higher. Validation AUC moves from {auc_64:.3f} (64 factors, "
        "{trees_64} trees) to {auc_16:.3f} (16 factors, {trees_16} trees). With 64 factors the trees were still "
        "climbing when they hit the 1,000-tree cap: 128 coordinates split the same signal into many weak "
        "features, and each tree finds less in one of them. The factor coordinates hold {als_share_64:.0%} of "
        "the trees' total gain with 64 factors and {als_share_16:.0%} with 16; the top feature is `{top_64}` "
        "with 64 and `{top_16}` with 16 (a user category of the side file).",
        "small",
        _als_factors_16,
    ),
    Exercise(
        "02_als_lightgbm",
        2,
        "Set `leakfree_als_frac` in `pipeline.Config` from 0.5 to 0.8 (ALS fitted on more of train, the ranker "
        "on fewer, later rows): predict `leakfree`'s validation AUC, then run it.",
        "It falls, from {auc_05:.3f} to {auc_08:.3f}, and test NDCG@10 with it, from {ndcg_05:.4f} to "
        "{ndcg_08:.4f}. ALS sees more history, but the ranker keeps {rows_08:,} rows instead of {rows_05:,}, "
        "and fewer rows to learn from cost more than better factors gain. Both stay far below `corrected`'s "
        "in-sample {corrected_auc:.3f}: out-of-sample factors do not bring the leak back, whatever the cut.",
        "small",
        _leakfree_08,
    ),
    Exercise(
        "03_evaluation_submission",
        1,
        "Compute NDCG@10 over only the users with at least 10 relevant test rows: predict whether `faithful` "
        "or popularity gains more.",
        "Neither: the subset is everyone. {users_10:,} of the {users_all:,} users with a relevant row have at "
        "least 10 (the fewest has {fewest}, the median user {median:.0f}), because the small matrix is "
        "dense: every user was shown nearly every video. So `faithful` stays at {faithful_10:.4f} and "
        "popularity at {popularity_10:.4f}. A filter on a dense matrix filters nothing; on a sparse log (the "
        "big matrix) it would.",
        "small",
        _many_relevant,
    ),
    Exercise(
        "03_evaluation_submission",
        2,
        "Rank by `als` alone for users with fewer than 20 train views and by `faithful` otherwise: does the "
        "blend beat both?",
        "It equals `faithful`: {light_users} of {users:,} test users have fewer than 20 train views (the "
        "fewest has {fewest_views:,}), so no list changes: NDCG@10 {blend:.4f}, `faithful` {faithful:.4f}, "
        "`als` {als:.4f}. A cold-start rule needs cold users; the dense small matrix has none.",
        "small",
        _blend,
    ),
)
