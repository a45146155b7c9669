"""Official VK Clips files (AI VK Challenge 2024, ODS.ai): loaders with validation.

The data carries no redistribution licence: users download it from the competition page and pass
its folder as ``DATA_DIR``. Parquet files are checked on their schema first (names and types, read
from the footer without loading a row), then on their values; every error is one ``DataError``
line naming the file, the column and the first bad row.

Integer columns of another integer width (a file re-saved by pandas writes int64) are accepted and
cast when every value fits the official type; floats, strings or a wrong embedding length are not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from shared.data.tables import read_csv_checked, require
from shared.runtime.errors import DataError

TRAIN = "train_interactions.parquet"
USERS = "users_meta.parquet"
ITEMS = "items_meta.parquet"
TEST = "test_pairs.csv"
FILES = (TRAIN, USERS, ITEMS, TEST)
EMBEDDING_DIM = 32
PAIRS_PER_USER = 20

TRAIN_SCHEMA = {
    "user_id": pl.UInt32,
    "item_id": pl.UInt32,
    "timespent": pl.UInt8,
    "like": pl.UInt8,
    "dislike": pl.UInt8,
    "share": pl.UInt8,
    "bookmarks": pl.UInt8,
}
USERS_SCHEMA = {"user_id": pl.UInt32, "gender": pl.UInt8, "age": pl.UInt8}
ITEMS_SCHEMA = {
    "item_id": pl.UInt32,
    "source_id": pl.UInt32,
    "duration": pl.UInt8,
    "embeddings": pl.Array(pl.Float32, EMBEDDING_DIM),
}
TEST_SCHEMA = {"user_id": pl.Int64, "item_id": pl.Int64}
# classes of the target like - dislike + 1, in the metric's order
DISLIKE, IGNORE, LIKE = 0, 1, 2


def _row(mask: pl.Series | np.ndarray) -> int:
    """1-based data row of the first True."""
    return int(np.argmax(np.asarray(mask))) + 1


def _check_parquet_schema(path: Path, schema: dict[str, pl.DataType]) -> pa.Schema:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        found = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path.name}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    names = found.names
    missing = [c for c in schema if c not in names]
    extra = [c for c in names if c not in schema]
    if missing or extra:
        parts = ([f"missing column(s) {missing}"] if missing else []) + (
            [f"unexpected column(s) {extra}"] if extra else []
        )
        raise DataError(f"{path.name}: {'; '.join(parts)}; expected {list(schema)}")
    for name, dtype in schema.items():
        t = found.field(name).type
        if isinstance(dtype, pl.Array):
            ok = (
                pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t)
            ) and pa.types.is_floating(t.value_type)
        else:
            ok = pa.types.is_integer(t)
        if not ok:
            raise DataError(f"{path.name}: column '{name}' is {t}, expected {dtype}")
    return found


def _read_parquet(path: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Read with the official column order and types (integers range-checked before the cast)."""
    _check_parquet_schema(path, schema)
    try:
        df = pl.read_parquet(path, columns=list(schema))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path.name}: cannot be read ({str(exc).splitlines()[0]})") from None
    if df.height == 0:
        raise DataError(f"{path.name}: no data rows")
    out = []
    for name, dtype in schema.items():
        col = df[name]
        n_null = col.null_count()
        if n_null:
            raise DataError(
                f"{path.name}: column '{name}' has {n_null} missing value(s), first at data row {_row(col.is_null())}"
            )
        if isinstance(dtype, pl.Array):
            lengths = col.list.len() if col.dtype != dtype and not isinstance(col.dtype, pl.Array) else None
            if lengths is not None and (lengths != dtype.size).any():
                bad = lengths != dtype.size
                raise DataError(
                    f"{path.name}: column '{name}' holds {lengths.filter(bad)[0]} values at data row "
                    f"{_row(bad)}, expected {dtype.size}"
                )
            if isinstance(col.dtype, pl.Array) and col.dtype.size != dtype.size:
                raise DataError(
                    f"{path.name}: column '{name}' holds {col.dtype.size} values per row, expected {dtype.size}"
                )
            col = col.cast(pl.List(pl.Float32)).list.to_array(dtype.size) if col.dtype != dtype else col
            nan = np.isnan(col.to_numpy()).any(axis=1)
            if nan.any():
                raise DataError(f"{path.name}: column '{name}' has NaN at data row {_row(nan)}")
        elif col.dtype != dtype:
            info = np.iinfo(str(dtype).lower())  # UInt32 -> uint32
            bad = (col < info.min) | (col > info.max)
            if bad.any():
                raise DataError(
                    f"{path.name}: column '{name}' value {col.filter(bad)[0]} at data row {_row(bad)} "
                    f"does not fit {dtype}"
                )
            col = col.cast(dtype)
        out.append(col.alias(name))
    return pl.DataFrame(out)


def _check_binary(df: pl.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    for name in columns:
        bad = df[name] > 1
        if bad.any():
            raise DataError(
                f"{path.name}: column '{name}' value {df[name].filter(bad)[0]} at data row {_row(bad)}, expected 0 or 1"
            )


def load_train(path: str | os.PathLike) -> pl.DataFrame:
    """train_interactions.parquet in file order (the time order: the file has no timestamp)."""
    path = Path(path)
    df = _read_parquet(path, TRAIN_SCHEMA)
    _check_binary(df, path, ("like", "dislike"))
    both = (df["like"] == 1) & (df["dislike"] == 1)
    if both.any():
        raise DataError(f"{path.name}: like and dislike are both 1 at data row {_row(both)}")
    return df


def load_users(path: str | os.PathLike) -> pl.DataFrame:
    path = Path(path)
    df = _read_parquet(path, USERS_SCHEMA)
    require(df["user_id"].n_unique() == df.height, path, "user_id must be unique")
    bad = ~df["gender"].is_in([1, 2])
    if bad.any():
        raise DataError(
            f"{path.name}: column 'gender' value {df['gender'].filter(bad)[0]} at data row {_row(bad)}, expected 1 or 2"
        )
    return df


def load_items(path: str | os.PathLike) -> pl.DataFrame:
    path = Path(path)
    df = _read_parquet(path, ITEMS_SCHEMA)
    require(df["item_id"].n_unique() == df.height, path, "item_id must be unique")
    return df


def load_test_pairs(path: str | os.PathLike) -> pl.DataFrame:
    """test_pairs.csv in file order: exactly 20 distinct items per user."""
    path = Path(path)
    df = read_csv_checked(path, TEST_SCHEMA)
    for name in TEST_SCHEMA:
        bad = (df[name] < 0) | (df[name] > np.iinfo(np.uint32).max)
        if bad.any():
            raise DataError(
                f"{path.name}: column '{name}' value {df[name].filter(bad)[0]} at data row {_row(bad)} "
                "is not a uint32 id"
            )
    df = df.cast({name: pl.UInt32 for name in TEST_SCHEMA})
    dup = df.is_duplicated()
    if dup.any():
        raise DataError(f"{path.name}: pair {df.filter(dup).row(0)} appears twice (data row {_row(dup)})")
    counts = df.group_by("user_id").len()
    wrong = counts.filter(pl.col("len") != PAIRS_PER_USER).sort("user_id")
    if wrong.height:
        user, n = wrong.row(0)
        first = _row(df["user_id"] == user)
        raise DataError(
            f"{path.name}: user {user} has {n} pairs (first at data row {first}), every test user needs "
            f"exactly {PAIRS_PER_USER}; {wrong.height} such user(s)"
        )
    return df


@dataclass
class VKClips:
    train: pl.DataFrame
    users: pl.DataFrame
    items: pl.DataFrame
    test: pl.DataFrame
    files: tuple[Path, ...]


def resolve_files(data_dir: str | os.PathLike) -> tuple[Path, ...]:
    data_dir = Path(data_dir)
    missing = [f for f in FILES if not (data_dir / f).is_file()]
    if missing:
        raise DataError(f"{data_dir.name or data_dir}: missing VK Clips file(s) {missing}")
    return tuple(data_dir / f for f in FILES)


def _ids_known(ids: pl.Series, known: pl.Series) -> np.ndarray:
    """Boolean mask of ``ids`` found in ``known`` (a lookup table over the id range: no join, no sort)."""
    size = int(max(ids.max(), known.max())) + 1
    table = np.zeros(size, dtype=bool)
    table[known.to_numpy()] = True
    return table[ids.to_numpy()]


def check_consistency(vk: VKClips) -> None:
    """Cross-file facts of the release: every train user and item has its meta row, every test user
    and item occurs in train."""
    train_path, users_path, items_path, test_path = vk.files
    for frame, col, known, what, path in (
        (vk.train, "user_id", vk.users["user_id"], USERS, train_path),
        (vk.train, "item_id", vk.items["item_id"], ITEMS, train_path),
        (vk.test, "user_id", vk.train["user_id"].unique(), TRAIN, test_path),
        (vk.test, "item_id", vk.train["item_id"].unique(), TRAIN, test_path),
    ):
        ok = _ids_known(frame[col], known)
        if not ok.all():
            bad = ~ok
            raise DataError(
                f"{path.name}: {col} {frame[col].filter(pl.Series(bad))[0]} at data row {_row(bad)} "
                f"does not occur in {what} ({int(bad.sum())} row(s))"
            )


def load(data_dir: str | os.PathLike) -> VKClips:
    files = resolve_files(data_dir)
    train_path, users_path, items_path, test_path = files
    vk = VKClips(
        load_train(train_path), load_users(users_path), load_items(items_path), load_test_pairs(test_path), files
    )
    check_consistency(vk)
    return vk


def target(train: pl.DataFrame) -> np.ndarray:
    """The class of each row: like - dislike + 1, i.e. 0 dislike, 1 ignore, 2 like (int64)."""
    return (train["like"].cast(pl.Int64) - train["dislike"].cast(pl.Int64) + 1).to_numpy()
