"""Official KuaiRec 2.0 files (the ``data/`` folder of KuaiRec.zip): loaders with validation.

Public download (CC BY-SA 4.0): ``python -m solutions.kraft_kuairec.download DEST``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from shared.data.tables import read_csv_checked, require
from shared.runtime.errors import DataError

SMALL_MATRIX = "small_matrix.csv"
ITEM_CATEGORIES = "item_categories.csv"
USER_FEATURES = "user_features.csv"
FILES = (SMALL_MATRIX, ITEM_CATEGORIES, USER_FEATURES)
N_TAGS = 31  # tags 0..30 in item_categories.csv

SMALL_MATRIX_SCHEMA = {
    "user_id": pl.Int64,
    "video_id": pl.Int64,
    "play_duration": pl.Int64,  # ms
    "video_duration": pl.Int64,  # ms
    "time": pl.String,  # "2020-07-05 05:27:48.378"
    "date": pl.Float64,  # 20200705, written as a float because of the missing tail
    "timestamp": pl.Float64,  # unix seconds
    "watch_ratio": pl.Float64,  # play_duration / video_duration
}
ITEM_CATEGORIES_SCHEMA = {"video_id": pl.Int64, "feat": pl.String}
USER_NUMERIC = [
    "is_lowactive_period",
    "is_live_streamer",
    "is_video_author",
    "follow_user_num",
    "fans_user_num",
    "friend_user_num",
    "register_days",
]
USER_CATEGORICAL = ["user_active_degree", *[f"onehot_feat{i}" for i in range(18)]]
ACTIVE_DEGREES = ("high_active", "full_active", "middle_active", "UNKNOWN")
USER_FEATURES_SCHEMA = {
    "user_id": pl.Int64,
    "user_active_degree": pl.String,
    "is_lowactive_period": pl.Int64,
    "is_live_streamer": pl.Int64,
    "is_video_author": pl.Int64,
    "follow_user_num": pl.Int64,
    "follow_user_num_range": pl.String,
    "fans_user_num": pl.Int64,
    "fans_user_num_range": pl.String,
    "friend_user_num": pl.Int64,
    "friend_user_num_range": pl.String,
    "register_days": pl.Int64,
    "register_days_range": pl.String,
    # written as integers; a missing value is an empty cell (read as null, the source's NaN)
    **{f"onehot_feat{i}": pl.Int64 for i in range(18)},
}
# the only columns with missing values in the release: onehot_feat4 201, feat12 77, feat13-14 75, feat15-17 74
USER_NULLABLE = ("onehot_feat4", *[f"onehot_feat{i}" for i in range(12, 18)])
# the release's range labels, exactly
RANGE_LABELS = {
    "follow_user_num_range": ("0", "(0,10]", "(10,50]", "(50,100]", "(100,150]", "(150,250]", "(250,500]", "500+"),
    "fans_user_num_range": ("0", "[1,10)", "[10,100)", "[100,1k)", "[1k,5k)", "[5k,1w)", "[1w,10w)"),
    "friend_user_num_range": ("0", "[1,5)", "[5,30)", "[30,60)", "[60,120)", "[120,250)", "250+"),
    "register_days_range": ("15-30", "31-60", "61-90", "91-180", "181-365", "366-730", "730+"),
}


def load_small_matrix(path: str | os.PathLike) -> pl.DataFrame:
    df = read_csv_checked(path, SMALL_MATRIX_SCHEMA, nullable=("time", "date", "timestamp"))
    require(df["user_id"].min() >= 0 and df["video_id"].min() >= 0, path, "negative user_id or video_id")
    require(df["watch_ratio"].is_nan().sum() == 0, path, "watch_ratio has NaN")
    require(df["watch_ratio"].min() >= 0, path, "negative watch_ratio")
    # the release has a tail of rows without time, date and timestamp; a row missing only one is corrupt
    n_missing = df.select(pl.sum_horizontal(pl.col("time", "date", "timestamp").is_null().cast(pl.Int8)))
    require(n_missing.to_series().is_in([0, 3]).all(), path, "time, date and timestamp must be missing together")
    n_dup = df.height - df.select("user_id", "video_id").n_unique()
    require(n_dup == 0, path, f"{n_dup} duplicate (user_id, video_id) rows")
    return df


def load_item_categories(path: str | os.PathLike) -> pl.DataFrame:
    """video_id and its tags as a list of ints (``feat`` is a list literal like "[27, 9]")."""
    df = read_csv_checked(path, ITEM_CATEGORIES_SCHEMA)
    feat = df["feat"].str.strip_chars()
    well_formed = feat.str.contains(r"^\[\s*\d+(\s*,\s*\d+)*\s*\]$")
    if not well_formed.all():
        row = int((~well_formed).arg_max())
        raise DataError(
            f"{Path(path).name}: feat is not a list of ints like '[27, 9]': {feat[row]!r} (data row {row + 1})"
        )
    tags = feat.str.strip_chars("[] ").str.split(",").list.eval(pl.element().str.strip_chars().cast(pl.Int64))
    out = pl.DataFrame({"video_id": df["video_id"], "tags": tags})
    require(
        out["video_id"].min() >= 0 and out["video_id"].n_unique() == out.height,
        path,
        "video_id must be unique and >= 0",
    )
    flat = out["tags"].explode(empty_as_null=False)
    require(flat.min() >= 0 and flat.max() < N_TAGS, path, f"tags must lie in 0..{N_TAGS - 1}")
    return out


def load_user_features(path: str | os.PathLike) -> pl.DataFrame:
    """One row per user; the missing onehot values stay null (the source's NaN, its category -1)."""
    df = read_csv_checked(path, USER_FEATURES_SCHEMA, nullable=USER_NULLABLE)
    require(df["user_id"].n_unique() == df.height and df["user_id"].min() >= 0, path, "user_id must be unique and >= 0")
    for column, allowed in {"user_active_degree": ACTIVE_DEGREES, **RANGE_LABELS}.items():
        bad = ~df[column].is_in(allowed)
        if bad.any():
            row = int(bad.arg_max())
            raise DataError(
                f"{Path(path).name}: {column} {df[column][row]!r} (data row {row + 1}) is not one of {allowed}"
            )
    return df


@dataclass
class KuaiRec:
    interactions: pl.DataFrame
    items: pl.DataFrame
    users: pl.DataFrame
    files: tuple[Path, ...]


def resolve_files(data_dir: str | os.PathLike) -> tuple[Path, ...]:
    """The three files in ``data_dir`` (or in its ``data/`` subfolder, as the zip unpacks)."""
    data_dir = Path(data_dir)
    for folder in (data_dir, data_dir / "data", data_dir / "KuaiRec 2.0" / "data"):
        if (folder / SMALL_MATRIX).is_file():
            data_dir = folder
            break
    missing = [f for f in FILES if not (data_dir / f).is_file()]
    if missing:
        raise DataError(f"{data_dir}: missing KuaiRec file(s) {missing}")
    return tuple(data_dir / f for f in FILES)


def load(data_dir: str | os.PathLike) -> KuaiRec:
    sm, ic, uf = resolve_files(data_dir)
    interactions = load_small_matrix(sm)
    items = load_item_categories(ic)
    users = load_user_features(uf)
    unknown_items = interactions.select("video_id").unique().join(items, on="video_id", how="anti")
    require(
        unknown_items.height == 0,
        sm,
        f"{unknown_items.height} video_id(s) not in {ITEM_CATEGORIES}, "
        f"e.g. {unknown_items['video_id'].head(3).to_list()}",
    )
    unknown_users = interactions.select("user_id").unique().join(users, on="user_id", how="anti")
    require(
        unknown_users.height == 0,
        sm,
        f"{unknown_users.height} user_id(s) not in {USER_FEATURES}, e.g. {unknown_users['user_id'].head(3).to_list()}",
    )
    return KuaiRec(interactions, items, users, (sm, ic, uf))
