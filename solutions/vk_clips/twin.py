"""Synthetic twin of the VK Clips files, in exactly the official formats and dtypes.

Planted signal (true class probabilities of every test pair saved in ``truth.parquet``):

    taste of user u at time t (t = file position / rows, 0..1; test pairs at t = 1):
        u(t) = u0 + DRIFT (t - 1/2) d_u                     (8 latent dims, drifting over file order)
    item i: latent v_i = 0.6 s_source + 0.8 noise, bias b_i (its source's and its own), duration effect
    logit(like)    = c_like + b_u + s_i b_i + s_a <u(t), v_i> + f(duration)   (never-likers: no like at all)
    logit(dislike) = c_dis + e_u - 0.7 s_a <u(t), v_i> - 0.5 s_i b_i
    logit(ignore)  = 0                                                 (softmax over the three)

s_a and s_i are the twin's global parameters (``Params``: how much of the signal is the user's
affinity to the item, reachable through history similarity, against the item's own effect, reachable
through its id, source and embedding). c_like and c_dis are calibrated so the class rates are the real
ones (4.6601 % like, 0.0393 % dislike). The 32-d item embedding is a noisy linear image of v_i, so it
carries the item factors: the history features and the item-embedding input both help. Rows per user follow a skewed
activity; items a skewed popularity, each item occurring in train at least once. timespent,
share and bookmarks depend on the reaction and on the affinity, at the real rates.

The train file is generated and written in chunks of rows (file order is time order), so ``full``
(145,667,282 rows) never holds the whole table in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

import shared.twin.blocks as shared_twin
from shared.data.io import atomic_path
from shared.runtime import progress as progress_line
from shared.twin.blocks import bisect_rate, check_scale, code_version, params_folder, sample_categorical, stream
from solutions.vk_clips import TRACK
from solutions.vk_clips.data import (
    EMBEDDING_DIM,
    ITEMS,
    ITEMS_SCHEMA,
    PAIRS_PER_USER,
    TEST,
    TRAIN,
    TRAIN_SCHEMA,
    USERS,
    USERS_SCHEMA,
)

TRUTH = "truth.parquet"
VERSION = code_version(__file__, shared_twin.__file__)


@dataclass(frozen=True)
class Scale:
    n_users: int
    n_items: int
    n_sources: int
    n_rows: int  # rows of train_interactions.parquet
    n_test_users: int  # x 20 test pairs
    chunk_rows: int  # rows generated and written at a time


SCALES = {
    "tiny": Scale(400, 600, 40, 24_000, 150, 24_000),
    "small": Scale(1_000, 2_000, 100, 100_000, 900, 100_000),
    # the calibration scale: the real rows per user, per item and per source and the real share of
    # test users, on 3.0M rows (one DCNv2 epoch is about 50 minutes on 2 CPU cores; full's 40 hours)
    "medium": Scale(3_777, 6_955, 404, 3_000_000, 1_704, 1_000_000),
    "full": Scale(183_404, 337_727, 19_613, 145_667_282, 82_756, 4_000_000),  # the real counts
}
LIKE_RATE, DISLIKE_RATE = 0.046601, 0.000393
SHARE_RATE, BOOKMARKS_RATE = 0.010798, 0.000986
SHARE_LIFT = 8.0  # P(share | like) / P(share | no like); the same for bookmarks
LATENT_DIM = 8
DRIFT = 1.2
NEVER_LIKE = 0.18  # users who never like; with light users who happen not to, about 20 % at `full`
GENDER_2 = 117_200 / 183_404


@dataclass(frozen=True)
class Params:
    """The twin's global parameters; the defaults are the calibrated values, fitted by
    ``python -m solutions.vk_clips.calibrate`` at `medium` (every trial, this one's included, in
    ``benchmarks/calibration-vk_clips.csv``). 1.0 and 1.0 were the twin as first built, on which the
    history features added 0.017 per-user AUC on `small` (real: 0.0012)."""

    affinity_scale: float = 0.3  # s_a: the user-item affinity <u(t), v_i> in both logits times this
    item_scale: float = 1.1  # s_i: the item effect b_i (source and own) times this


@dataclass
class World:
    """Everything about users and items that does not depend on a row."""

    gender: np.ndarray
    age: np.ndarray
    activity: np.ndarray  # rows per user, relative
    u0: np.ndarray
    drift: np.ndarray
    like_bias: np.ndarray  # -inf for users who never like
    dislike_bias: np.ndarray
    source: np.ndarray
    duration: np.ndarray
    v: np.ndarray
    item_bias: np.ndarray
    duration_effect: np.ndarray
    popularity: np.ndarray  # draw probability of each item
    embeddings: np.ndarray  # float32 (n_items, 32)
    c_like: float = 0.0
    c_dislike: float = 0.0
    affinity_scale: float = 1.0


def make_world(sc: Scale, seed: int, params: Params = Params()) -> World:
    ru, ri = stream(seed, "users"), stream(seed, "items")
    gender = np.where(ru.random(sc.n_users) < GENDER_2, 2, 1).astype(np.uint8)
    age = np.clip(18 + np.round(ru.gamma(2.2, 7.0, sc.n_users)), 18, 60).astype(np.uint8)
    activity = ru.lognormal(0.0, 1.1, sc.n_users)
    u0 = shared_twin.latent_factors(ru, sc.n_users, LATENT_DIM, 1.1)
    drift = shared_twin.latent_factors(ru, sc.n_users, LATENT_DIM, 1.0)
    like_bias = ru.normal(0, 0.6, sc.n_users) - 0.012 * (age - 30.0) + 0.15 * (gender == 2)
    like_bias[ru.random(sc.n_users) < NEVER_LIKE] = -np.inf
    dislike_bias = ru.normal(0, 0.8, sc.n_users)

    source_weight = ri.lognormal(0, 1.0, sc.n_sources)
    source = ri.choice(sc.n_sources, sc.n_items, p=source_weight / source_weight.sum())
    s_latent = shared_twin.latent_factors(ri, sc.n_sources, LATENT_DIM, 1.0)
    v = 0.6 * s_latent[source] + 0.8 * shared_twin.latent_factors(ri, sc.n_items, LATENT_DIM, 1.0)
    own = ri.normal(0, 0.5, sc.n_sources)[source] + ri.normal(0, 0.4, sc.n_items)
    item_bias = params.item_scale * own
    duration = np.clip(np.round(np.exp(ri.normal(np.log(25), 0.7, sc.n_items))), 5, 255).astype(np.uint8)
    duration_effect = -0.3 * (np.log(duration) - np.log(25))
    weight = ri.lognormal(0, 1.3, sc.n_items) * np.exp(0.4 * own)  # popularity whatever item_scale
    popularity = 0.9 * weight / weight.sum() + 0.1 / sc.n_items
    projection = ri.normal(0, 1 / math.sqrt(LATENT_DIM), (LATENT_DIM, EMBEDDING_DIM))
    embeddings = (v @ projection + ri.normal(0, 0.35, (sc.n_items, EMBEDDING_DIM))).astype(np.float32)
    world = World(
        gender,
        age,
        activity,
        u0,
        drift,
        like_bias,
        dislike_bias,
        source.astype(np.uint32),
        duration,
        v,
        item_bias,
        duration_effect,
        popularity / popularity.sum(),
        embeddings,
        affinity_scale=params.affinity_scale,
    )
    calibrate(world, sc, seed)
    return world


def logits(
    world: World, users: np.ndarray, items: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(like logit without c_like, dislike logit without c_dislike, affinity) of each row."""
    taste = world.u0[users] + DRIFT * (t - 0.5)[:, None] * world.drift[users]
    affinity = world.affinity_scale * np.einsum("ij,ij->i", taste, world.v[items])
    like = world.like_bias[users] + world.item_bias[items] + affinity + world.duration_effect[items]
    dislike = world.dislike_bias[users] - 0.7 * affinity - 0.5 * world.item_bias[items]
    return like, dislike, affinity


def class_probs(world: World, like: np.ndarray, dislike: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities of dislike, ignore, like."""
    z = np.stack([dislike + world.c_dislike, np.zeros_like(like), like + world.c_like], axis=1)
    # a softmax, column by column: numpy's max and sum along a 3-wide last axis are several times
    # slower than these, and ``calibrate`` calls this 240 times on 400,000 rows. The same bits as
    # shared.twin.blocks.softmax: the max is exact, and ((e0 + e1) + e2) is numpy's order for the sum.
    m = np.maximum(np.maximum(z[:, 0], z[:, 1]), z[:, 2])
    e = np.exp(z - m[:, None])
    return e / ((e[:, 0] + e[:, 1]) + e[:, 2])[:, None]


def draw_rows(world: World, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Users by activity, items by popularity (inverse CDF: one searchsorted each)."""
    users = np.searchsorted(np.cumsum(world.activity / world.activity.sum()), rng.random(n), side="right")
    items = np.searchsorted(np.cumsum(world.popularity), rng.random(n), side="right")
    return np.minimum(users, len(world.activity) - 1), np.minimum(items, len(world.popularity) - 1)


def calibrate(world: World, sc: Scale, seed: int, n_pilot: int = 400_000) -> None:
    """c_like and c_dislike so the pilot rows' mean class probabilities are the real rates."""
    rng = stream(seed, "pilot")
    users, items = draw_rows(world, rng, n_pilot)
    like, dislike, _ = logits(world, users, items, rng.random(n_pilot))

    def rate(column: int):
        def f(c: float) -> float:
            if column == 2:
                world.c_like = c
            else:
                world.c_dislike = c
            return float(class_probs(world, like, dislike)[:, column].mean())

        return f

    world.c_like, world.c_dislike = -3.0, -8.0
    for _ in range(4):  # the two rates barely interact: a few alternating rounds settle both
        world.c_like = bisect_rate(rate(2), LIKE_RATE, tol=1e-7)
        world.c_dislike = bisect_rate(rate(0), DISLIKE_RATE, tol=1e-7)


def chunk(world: World, sc: Scale, seed: int, k: int) -> pl.DataFrame:
    """Rows [k * chunk_rows, ...) of train_interactions.parquet."""
    start = k * sc.chunk_rows
    n = min(sc.chunk_rows, sc.n_rows - start)
    rng = stream(seed, f"chunk{k}")
    users, items = draw_rows(world, rng, n)
    if k == 0:  # every item occurs in train, as in the release
        items[rng.choice(n, sc.n_items, replace=False)] = rng.permutation(sc.n_items)
    t = (start + np.arange(n)) / sc.n_rows
    like, dislike, affinity = logits(world, users, items, t)
    cls = sample_categorical(rng, class_probs(world, like, dislike))
    is_like = cls == 2
    watch = np.exp(rng.normal(-0.7 + 0.4 * affinity + 0.6 * is_like, 0.6))
    timespent = np.clip(np.round(world.duration[items] * watch), 1, 255)
    base_share = SHARE_RATE / (LIKE_RATE * SHARE_LIFT + 1 - LIKE_RATE)
    base_bookmarks = BOOKMARKS_RATE / (LIKE_RATE * SHARE_LIFT + 1 - LIKE_RATE)
    lift = np.where(is_like, SHARE_LIFT, 1.0)
    return pl.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "timespent": timespent,
            "like": is_like,
            "dislike": cls == 0,
            "share": rng.random(n) < base_share * lift,
            "bookmarks": rng.random(n) < base_bookmarks * lift,
        }
    ).cast(TRAIN_SCHEMA)


def test_pairs(world: World, sc: Scale, seed: int, train_users: np.ndarray) -> pl.DataFrame:
    """20 distinct items for each test user (drawn by popularity), sorted by user then item, with
    the true class probabilities at the end of the train period and a drawn label."""
    rng = stream(seed, "test")
    users = np.sort(rng.choice(train_users, sc.n_test_users, replace=False))
    picked = pl.DataFrame(schema={"user_id": pl.Int64, "item_id": pl.Int64})
    pending = users
    while len(pending):  # draw 2x20 per user, keep the first distinct 20; rarely a second round
        u = np.repeat(pending, 2 * PAIRS_PER_USER)
        _, i = draw_rows(world, rng, len(u))
        have = picked.group_by("user_id").len()
        new = (
            pl.DataFrame({"user_id": u, "item_id": i})
            .unique(maintain_order=True)
            .join(picked, on=["user_id", "item_id"], how="anti")
            .with_columns(k=pl.int_range(pl.len()).over("user_id"))
            .join(have, on="user_id", how="left")
            .filter(pl.col("k") + pl.col("len").fill_null(0) < PAIRS_PER_USER)
        )
        picked = pl.concat([picked, new.select("user_id", "item_id")])
        counts = picked.group_by("user_id").len()
        pending = counts.filter(pl.col("len") < PAIRS_PER_USER)["user_id"].to_numpy()
    pairs = picked.sort("user_id", "item_id")
    u, i = pairs["user_id"].to_numpy(), pairs["item_id"].to_numpy()
    like, dislike, _ = logits(world, u, i, np.ones(len(u)))
    probs = class_probs(world, like, dislike)
    cls = sample_categorical(rng, probs)
    return pairs.cast({"user_id": pl.UInt32, "item_id": pl.UInt32}).with_columns(
        p_dislike=probs[:, 0], p_ignore=probs[:, 1], p_like=probs[:, 2], target=pl.Series(cls, dtype=pl.Int8)
    )


def folder(scale: str, seed: int, params: Params = Params()) -> Path:
    """Where the twin of (scale, seed) with ``params`` lives."""
    return params_folder(TRACK, scale, seed, VERSION, params)


def generate(
    scale: str = "small",
    seed: int = 42,
    out_dir: str | Path | None = None,
    params: Params = Params(),
    progress: bool = False,
) -> Path:
    """Write the four official files and truth.parquet (test pairs with their true probabilities)."""
    sc = SCALES[check_scale(scale, SCALES, TRACK)]
    out = Path(out_dir) if out_dir else folder(scale, seed, params)
    out.mkdir(parents=True, exist_ok=True)
    world = make_world(sc, seed, params)
    n_chunks = math.ceil(sc.n_rows / sc.chunk_rows)
    seen = np.zeros(sc.n_users, dtype=bool)
    with atomic_path(out / TRAIN) as tmp:
        writer = None
        for k in progress_line.over(range(n_chunks), "twin: train_interactions", "chunk", progress):
            table = chunk(world, sc, seed, k)
            seen[table["user_id"].to_numpy()] = True
            arrow = table.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, arrow.schema)
            writer.write_table(arrow)
        writer.close()
    users = pl.DataFrame({"user_id": np.arange(sc.n_users), "gender": world.gender, "age": world.age}).cast(
        USERS_SCHEMA
    )
    items = pl.DataFrame(
        {
            "item_id": np.arange(sc.n_items),
            "source_id": world.source,
            "duration": world.duration,
            "embeddings": world.embeddings,
        }
    ).cast(ITEMS_SCHEMA)
    truth = test_pairs(world, sc, seed, np.flatnonzero(seen))
    for name, frame in ((USERS, users), (ITEMS, items), (TRUTH, truth)):
        with atomic_path(out / name) as tmp:
            frame.write_parquet(tmp)
    with atomic_path(out / TEST) as tmp:
        truth.select("user_id", "item_id").write_csv(tmp)
    return out


def ensure(scale: str, seed: int, params: Params = Params()) -> Path:
    """The twin's folder, generated on first use."""
    return shared_twin.ensure(
        folder(scale, seed, params),
        (TRAIN, USERS, ITEMS, TEST, TRUTH),
        lambda out: generate(scale, seed, out, progress=scale == "full", params=params),
    )
