"""Features of the reranker's candidates: each (user, item) among SASRec's top 50 at one step,
described only by what was known at that step (its history), never by the step's own target.

    sasrec_score, sasrec_rank     the candidate generator's logit and place
    sasrec_gap                    the logit minus the user's best candidate's (scale-free per user)
    <model>_score                 classic models' scores of the pair (Spark; absent when not run)
    bert4rec_score, bert4rec_rank BERT4Rec's logit and place when the item is in its top 100 (else missing)
    item_pop                      log(1 + events of the item in the step's history, all users)
    genre_0..genre_17             the item's genre flags
    genre_affinity                share of the user's history in the item's genres (mean over them)
    recent_genre_affinity         the same over the user's last RECENT events
    age, female, history_len      the user
    label                         1 if the item is the user's event at this step (training only)
"""

from __future__ import annotations

import numpy as np
import polars as pl

from solutions.hse_sasrec.data import GENRE_COLUMNS

RECENT = 20  # the user's latest events, for the recent genre affinity


def genre_affinity(
    history: pl.DataFrame, items: pl.DataFrame, users: np.ndarray, cand_items: np.ndarray, n_users: int
) -> np.ndarray:
    """For each (user, item) pair: mean over the item's genres of the share of the user's history
    carrying that genre (0 for an item without genres)."""
    flags = items.sort("item_id").select(GENRE_COLUMNS).to_numpy().astype(np.float64)  # (n_items, 18)
    per_user = np.zeros((n_users, flags.shape[1]))
    np.add.at(per_user, history["user_id"].to_numpy(), flags[history["item_id"].to_numpy()])
    counts = np.bincount(history["user_id"].to_numpy(), minlength=n_users).astype(np.float64)
    share = per_user / np.maximum(counts, 1.0)[:, None]
    item_flags = flags[cand_items]
    n_genres = np.maximum(item_flags.sum(axis=1), 1.0)
    return (share[users] * item_flags).sum(axis=1) / n_genres


def candidate_features(
    cands: pl.DataFrame,
    history: pl.DataFrame,
    items: pl.DataFrame,
    users: pl.DataFrame,
    pair_scores: list[pl.DataFrame] = (),
    truth: pl.DataFrame | None = None,
    bert4rec: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per candidate (sorted by user, then SASRec rank) with the features above;
    ``bert4rec``: its recommendations at the same step (user_id, item_id, score, rank)."""
    n_users = users.height
    frame = (
        cands.select("user_id", "item_id", sasrec_score="score", sasrec_rank="rank")
        .sort("user_id", "sasrec_rank")
        .with_columns(sasrec_gap=pl.col("sasrec_score") - pl.col("sasrec_score").max().over("user_id"))
    )
    pop = history.group_by("item_id").agg(item_pop=pl.len().log1p())
    hist_len = history.group_by("user_id").agg(history_len=pl.len())
    people = users.select("user_id", "age", female=(pl.col("gender") == "F").cast(pl.Int8))
    frame = (
        frame.join(pop, on="item_id", how="left")
        .with_columns(pl.col("item_pop").fill_null(0.0))
        .join(items, on="item_id", how="left")
        .join(people, on="user_id", how="left")
        .join(hist_len, on="user_id", how="left")
    )
    frame = frame.with_columns(
        genre_affinity=genre_affinity(history, items, frame["user_id"].to_numpy(), frame["item_id"].to_numpy(), n_users)
    )
    recent = (
        history.sort("user_id", "timestamp")
        .with_columns(k=pl.int_range(pl.len()).reverse().over("user_id"))
        .filter(pl.col("k") < RECENT)
    )
    frame = frame.with_columns(
        recent_genre_affinity=genre_affinity(
            recent, items, frame["user_id"].to_numpy(), frame["item_id"].to_numpy(), n_users
        )
    )
    for scores in pair_scores:
        frame = frame.join(scores, on=["user_id", "item_id"], how="left")
    if bert4rec is not None:
        frame = frame.join(
            bert4rec.select("user_id", "item_id", bert4rec_score="score", bert4rec_rank="rank"),
            on=["user_id", "item_id"],
            how="left",
        )
    if truth is not None:
        hit = truth.select("user_id", "item_id").with_columns(label=pl.lit(1, pl.Int8))
        frame = frame.join(hit, on=["user_id", "item_id"], how="left").with_columns(pl.col("label").fill_null(0))
    return frame.sort("user_id", "sasrec_rank")


def feature_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("user_id", "item_id", "label")]
