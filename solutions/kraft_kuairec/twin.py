"""Synthetic twin of the KuaiRec 2.0 files, in exactly the official formats.

Planted signal, with the true P(watch_ratio >= 1) saved in ``truth.parquet`` for the oracle:

    logit(p_ui) = b0 + user part (active degree, low-active period, two onehot features, noise)
                     + item_scale * item part (tag effects, noise)
                     + personal_scale * (<user latent, item latent>   (8 dims: what ALS can recover)
                                         + user-by-tag affinity)
                     + drift * (time of the row in the period - 1/2)

b0 is set so the positive rate is the real 32.4 %. ``item_scale``, ``personal_scale`` and ``drift``
are the twin's global parameters, fitted (``python -m solutions.kraft_kuairec.calibrate``) so that the
seed's faithful pipeline lands where the seed published it on the real data; the record of every
trial is ``benchmarks/calibration-kraft_kuairec.csv``. Items and their tags come from the
real ``item_categories.csv``, users and their features from the real ``user_features.csv`` (both
CC BY-SA 4.0, KuaiRec), copied byte for byte into the twin: only ``small_matrix.csv`` and
``truth.parquet`` are generated.
Timestamps span the real period (2020-07-05 to 2020-09-05, Beijing time in ``time``), each user
active over their own window, and a random 3.9 % of rows lose time/date/timestamp and go to
the end of the file, as in the release.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

import shared.twin.blocks as shared_twin
from shared.data.io import atomic_path
from shared.runtime.paths import REPO_ROOT
from shared.twin.blocks import (
    calibrate_intercept,
    check_scale,
    code_version,
    latent_factors,
    params_folder,
    sigmoid,
    stream,
)
from solutions.kraft_kuairec import TRACK, features
from solutions.kraft_kuairec.data import (
    ITEM_CATEGORIES,
    SMALL_MATRIX,
    USER_FEATURES,
    load_item_categories,
    load_user_features,
)

FIXTURES = REPO_ROOT / "solutions" / TRACK / "fixtures"
ITEM_CATEGORIES_FIXTURE = FIXTURES / ITEM_CATEGORIES
USER_FEATURES_FIXTURE = FIXTURES / USER_FEATURES
TRUTH = "truth.parquet"
# the cache key of generated twins: this file, the shared blocks and the fixtures it reads
VERSION = code_version(__file__, shared_twin.__file__, ITEM_CATEGORIES_FIXTURE, USER_FEATURES_FIXTURE)


@dataclass(frozen=True)
class Scale:
    n_users: int  # users in the small matrix (drawn from the 7,176 of the real user_features.csv)
    n_items: int  # items in the small matrix
    n_rows: int  # rows of small_matrix.csv
    n_no_time: int  # rows without time/date/timestamp, at the end of the file


def _scale(n_users: int, n_items: int) -> Scale:
    pairs = n_users * n_items
    n_rows = round(pairs * 4_676_570 / (1_411 * 3_327))
    return Scale(n_users, n_items, n_rows, round(n_rows * 181_992 / 4_676_570))


SCALES = {
    "tiny": _scale(50, 120),
    "small": _scale(300, 700),
    "full": Scale(1_411, 3_327, 4_676_570, 181_992),  # the real counts
}
POSITIVE_RATE = 0.324


@dataclass(frozen=True)
class Params:
    """The global parameters of the generative world (module docstring). The defaults are the
    calibrated values, chosen from the screening trials (popularity's P/NDCG@K curve tracks the
    faithful ranker's a little below it) and confirmed by the ``--final`` run of the faithful
    pipeline on the ``full`` twin: every trial is in ``benchmarks/calibration-kraft_kuairec.csv``."""

    item_scale: float = 1.3  # strength of the item effects (what popularity captures)
    item_skew: float = 0.25  # 0: normal item noise; > 0 a long right tail (a few hits), < 0 a long left tail
    personal_scale: float = 1.0  # strength of user-by-item affinity (latent factors + user-by-tag)
    drift: float = -0.4  # logit change from the first to the last day: the real test rate is below train's
    window_spread: float = (
        0.3  # 1: users start in the first 60 % of the period and stop in the last 18 %; 0: all span it
    )


LATENT_DIM = 8
START = 1_593_878_400  # 2020-07-05 00:00 Beijing time, unix seconds
PERIOD_S = 62 * 86_400  # to 2020-09-05
BEIJING_OFFSET = "8h"


def _effect(rng: np.random.Generator, values: pl.Series, sd: float) -> np.ndarray:
    """A random effect per distinct value of a real feature column (missing is a value of its own),
    looked up for every user."""
    codes = features.category_codes(values).astype(np.int64)
    return rng.normal(0.0, sd, codes.max() + 1)[codes]


def skewed(z: np.ndarray, skew: float) -> np.ndarray:
    """Standard normal draws made skewed with mean 0 and variance 1, in the same order: a
    standardised log-normal exp(skew * z) for ``skew`` > 0 (a long right tail), its mirror image
    for ``skew`` < 0 (a long left tail: a plateau of good items above many poor ones), ``z``
    itself for 0."""
    if skew < 0:
        return -skewed(-z, -skew)
    if skew == 0:
        return z
    m, v = np.exp(skew**2 / 2), (np.exp(skew**2) - 1) * np.exp(skew**2)
    return (np.exp(skew * z) - m) / np.sqrt(v)


def user_bias(users: pl.DataFrame, seed: int) -> np.ndarray:
    """Each user's planted bias, from the real feature values: active degree, low-active period,
    onehot_feat1, onehot_feat4 (its missing cells included) and onehot_feat6, plus noise."""
    rng = stream(seed, "users")
    degree_effect = {"high_active": 0.3, "full_active": 0.5, "middle_active": -0.3, "UNKNOWN": -0.6}
    return (
        users["user_active_degree"].replace_strict(degree_effect, return_dtype=pl.Float64).to_numpy()
        - 0.4 * users["is_lowactive_period"].to_numpy()
        + _effect(rng, users["onehot_feat1"], 0.4)
        + _effect(rng, users["onehot_feat4"], 0.3)
        + _effect(rng, users["onehot_feat6"], 0.3)
        + rng.normal(0, 0.4, users.height)
    )


@dataclass(frozen=True)
class Draw:
    """One twin's rows as drawn, in draw order: each row's user and clip (indices into ``users`` and
    ``video_ids``), its time, its true probability ``p`` of a positive label, its play and clip
    durations, and whether it lost its timestamp."""

    users: np.ndarray
    video_ids: np.ndarray
    u_idx: np.ndarray
    i_idx: np.ndarray
    ts_ms: np.ndarray
    p: np.ndarray
    play: np.ndarray
    duration: np.ndarray
    no_time: np.ndarray


def generate(
    scale: str = "small", seed: int = 42, out_dir: str | Path | None = None, params: Params = Params()
) -> Path:
    """Write small_matrix.csv, item_categories.csv, user_features.csv and truth.parquet."""
    sc = SCALES[check_scale(scale, SCALES, TRACK)]
    out = Path(out_dir) if out_dir else folder(scale, seed, params)
    out.mkdir(parents=True, exist_ok=True)
    d = draw(sc, seed, params)
    truth = pl.DataFrame({"user_id": d.users[d.u_idx], "video_id": d.video_ids[d.i_idx], "p": d.p})
    with atomic_path(out / SMALL_MATRIX) as tmp:
        release_frame(d).write_csv(tmp)
    for fixture in (USER_FEATURES_FIXTURE, ITEM_CATEGORIES_FIXTURE):
        with atomic_path(out / fixture.name) as tmp:
            shutil.copyfile(fixture, tmp)
    with atomic_path(out / TRUTH) as tmp:
        truth.write_parquet(tmp)
    return out


def draw(sc, seed: int, params: Params) -> Draw:
    """Every random draw of a twin of size ``sc``, in one seeded stream (its order is the twin)."""
    items_all = load_item_categories(ITEM_CATEGORIES_FIXTURE)
    users_all = load_user_features(USER_FEATURES_FIXTURE)
    user_bias_all = user_bias(users_all, seed)
    rng = stream(seed, "matrix")
    rows = np.sort(rng.choice(users_all.height, sc.n_users, replace=False))
    users = users_all["user_id"].to_numpy()[rows]
    items = np.sort(rng.choice(items_all.height, sc.n_items, replace=False))
    video_ids = items_all["video_id"].to_numpy()[items]

    # item part: tag effects (mean over an item's tags) + noise; user-by-tag affinity
    tags = pl.DataFrame({"row": np.arange(sc.n_items), "tag": items_all["tags"].gather(items)}).explode(
        "tag", empty_as_null=False
    )
    n_tags = np.bincount(tags["row"].to_numpy(), minlength=sc.n_items)
    tag_matrix = np.zeros((sc.n_items, 31))
    tag_matrix[tags["row"].to_numpy(), tags["tag"].to_numpy()] = 1.0 / n_tags[tags["row"].to_numpy()]
    tag_effect = rng.normal(0, 0.5, 31)
    item_bias = tag_matrix @ tag_effect + 0.6 * skewed(rng.normal(0, 1, sc.n_items), params.item_skew)
    affinity = rng.normal(0, 0.6, (sc.n_users, 31)) @ tag_matrix.T
    latent = latent_factors(rng, sc.n_users, LATENT_DIM, 1.0) @ latent_factors(rng, sc.n_items, LATENT_DIM, 1.0).T
    logits = (
        user_bias_all[rows][:, None]
        + params.item_scale * item_bias[None, :]
        + params.personal_scale * (latent + affinity)
    )

    # which (user, item) pairs exist: the release is 99.6 % dense
    n_pairs = sc.n_users * sc.n_items
    keep = np.sort(rng.choice(n_pairs, sc.n_rows, replace=False))
    u_idx, i_idx = np.divmod(keep, sc.n_items)

    # time: each user over their own window (rows that lose their timestamp below had one too)
    starts = rng.uniform(0.0, 0.6 * params.window_spread, sc.n_users) * PERIOD_S
    ends = rng.uniform(1.0 - 0.18 * params.window_spread, 1.0, sc.n_users) * PERIOD_S
    t = starts[u_idx] + rng.random(sc.n_rows) * (ends - starts)[u_idx]  # seconds into the period
    ts_ms = (START * 1000 + t * 1000).astype(np.int64)

    logit = logits.ravel()[keep] + params.drift * (t / PERIOD_S - 0.5)
    b0 = calibrate_intercept(logit, POSITIVE_RATE)
    p = sigmoid(logit + b0)
    label = rng.random(sc.n_rows) < p

    # watch_ratio: >= 1 exactly when label; play_duration rounded on the label's side of 1
    duration = np.maximum(np.exp(rng.normal(np.log(10_000), 0.6, sc.n_items)).astype(np.int64), 1_000)[i_idx]
    ratio = np.where(label, 1.0 + rng.gamma(1.0, 0.7, sc.n_rows), rng.beta(1.2, 1.6, sc.n_rows) * 0.999)
    play = np.where(label, np.ceil(ratio * duration), np.floor(ratio * duration)).astype(np.int64)

    # a random tail without time goes to the end of the file
    no_time = np.zeros(sc.n_rows, dtype=bool)
    no_time[rng.choice(sc.n_rows, sc.n_no_time, replace=False)] = True
    return Draw(users, video_ids, u_idx, i_idx, ts_ms, p, play, duration, no_time)


def release_frame(d: Draw) -> pl.DataFrame:
    """The rows in the release's order and format: each user's timed rows in time order, then the
    rows without a time at the end of the file."""
    timed = np.flatnonzero(~d.no_time)
    timed = timed[np.lexsort((d.ts_ms[timed], d.u_idx[timed]))]  # the release lists each user's rows in time order
    order = np.concatenate([timed, np.flatnonzero(d.no_time)])
    watch_ratio = d.play / d.duration
    ts = pl.Series("ts", d.ts_ms[order])
    missing = pl.Series("missing", d.no_time[order])
    local = pl.from_epoch(ts, time_unit="ms").dt.offset_by(BEIJING_OFFSET)
    return pl.DataFrame(
        {
            "user_id": d.users[d.u_idx][order],
            "video_id": d.video_ids[d.i_idx][order],
            "play_duration": d.play[order],
            "video_duration": d.duration[order],
            "time": local.dt.strftime("%Y-%m-%d %H:%M:%S%.3f"),
            "date": local.dt.strftime("%Y%m%d") + ".0",
            # a float in shortest form, as pandas wrote it: 1593898068.378, 1593898080.05, 1593898081.0
            # (polars' float writer would give 1594115669.3700001 for .37)
            "timestamp": (ts // 1000).cast(pl.String)
            + "."
            + (ts % 1000).cast(pl.String).str.zfill(3).str.strip_chars_end("0").replace("", "0"),
            "watch_ratio": watch_ratio[order],
        }
    ).with_columns([pl.when(missing).then(None).otherwise(pl.col(c)).alias(c) for c in ("time", "date", "timestamp")])


def folder(scale: str, seed: int, params: Params = Params()) -> Path:
    """Where the twin of (scale, seed) with ``params`` lives."""
    return params_folder(TRACK, scale, seed, VERSION, params)


def ensure(scale: str, seed: int, params: Params = Params()) -> Path:
    """The twin's folder, generated on first use."""
    return shared_twin.ensure(
        folder(scale, seed, params),
        (SMALL_MATRIX, USER_FEATURES, ITEM_CATEGORIES, TRUTH),
        lambda out: generate(scale, seed, out, params),
    )
