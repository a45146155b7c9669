"""Loaders for the HSE RecSys Challenge 2024 files, checked against the release's format.

    events.csv           user_id,item_id,rating,timestamp (int64); rows ordered by user; timestamp is
                         the 0-based position inside the user's history (0, 1, 2, ... in file order)
    item_features.csv    item_id,genre_0..genre_17 (0/1; genre_k = k-th MovieLens genre, alphabetical)
    user_features.csv    user_id,gender (M/F),age (1, 18, 25, 35, 45, 50, 56); not sorted
    submission_sample.csv  user_id,item_id: 10 space-separated item ids per user (optional here)

Every bad input ends in one ``DataError`` naming the file, the column and the (1-based data) row.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from shared.data.tables import read_csv_checked
from shared.runtime.errors import DataError

EVENTS, ITEMS, USERS, SAMPLE = "events.csv", "item_features.csv", "user_features.csv", "submission_sample.csv"
FILES = (EVENTS, ITEMS, USERS)
GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
GENRE_COLUMNS = tuple(f"genre_{k}" for k in range(len(GENRES)))
AGES = (1, 18, 25, 35, 45, 50, 56)
GENDERS = ("M", "F")
EVENTS_SCHEMA = {"user_id": pl.Int64, "item_id": pl.Int64, "rating": pl.Int64, "timestamp": pl.Int64}
ITEMS_SCHEMA = {"item_id": pl.Int64, **{c: pl.Int64 for c in GENRE_COLUMNS}}
USERS_SCHEMA = {"user_id": pl.Int64, "gender": pl.String, "age": pl.Int64}
TOP_K = 10


@dataclass
class HSE:
    events: pl.DataFrame
    items: pl.DataFrame
    users: pl.DataFrame
    files: tuple[Path, ...]

    @property
    def n_users(self) -> int:
        return self.users.height

    @property
    def n_items(self) -> int:
        return self.items.height


def _first(mask: pl.Series | np.ndarray) -> int:
    """1-based data row of the first True."""
    return int(np.argmax(np.asarray(mask))) + 1


def _check_separator(path: Path, expected: tuple[str, ...]) -> None:
    """A file saved with ';' or tab reads as one column: say so instead of 'missing columns'."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = f.readline().rstrip("\r\n")
    for sep, name in (
        (";", "semicolons"),
        ("\t", "tabs"),
        ("::", "'::' (a raw MovieLens file? convert it with solutions.hse_sasrec.from_movielens)"),
    ):
        if "," not in first and sep in first:
            raise DataError(f"{path.name}: the header is separated by {name}, expected commas: {first[:80]!r}")
    header = next(csv.reader([first]), [])
    if header[:1] != [expected[0]]:
        raise DataError(
            f"{path.name}: header {header[:6]}... does not start with '{expected[0]}'; expected {list(expected)}"
        )


def _in_range(df: pl.DataFrame, path: Path, col: str, lo: int, hi: int) -> None:
    bad = ~df[col].is_between(lo, hi)
    if bad.any():
        raise DataError(
            f"{path.name}: column '{col}' = {df[col].filter(bad)[0]} at data row {_first(bad)} is outside {lo}..{hi}"
        )


def _ids_dense(df: pl.DataFrame, path: Path, col: str) -> None:
    """Ids are exactly 0..n-1, each once (any order)."""
    ids = df[col].to_numpy()
    n = len(ids)
    _in_range(df, path, col, 0, n - 1)
    dup = df[col].is_duplicated()
    if dup.any():
        raise DataError(
            f"{path.name}: column '{col}' = {df[col].filter(dup)[0]} appears twice (data row {_first(dup)})"
        )


def load_events(path: str | os.PathLike) -> pl.DataFrame:
    path = Path(path)
    _check_separator(path, tuple(EVENTS_SCHEMA))
    df = read_csv_checked(path, EVENTS_SCHEMA)
    _in_range(df, path, "rating", 1, 5)
    _in_range(df, path, "user_id", 0, 2**31 - 1)
    _in_range(df, path, "item_id", 0, 2**31 - 1)
    user = df["user_id"]
    back = user.diff().fill_null(0) < 0
    if back.any():
        raise DataError(
            f"{path.name}: rows are not ordered by user: user_id {user.filter(back)[0]} at data row "
            f"{_first(back)} comes after user_id {user[_first(back) - 2]}"
        )
    # timestamp = position inside the user's history: 0 at a user's first row, +1 per row
    position = pl.int_range(pl.len()).over("user_id")
    bad = df.select(bad=pl.col("timestamp") != position)["bad"]
    if bad.any():
        row = _first(bad)
        raise DataError(
            f"{path.name}: column 'timestamp' = {df['timestamp'][row - 1]} at data row {row}: expected "
            f"the 0-based position inside user {user[row - 1]}'s history ({df.with_columns(p=position)['p'][row - 1]})"
        )
    return df


def load_items(path: str | os.PathLike) -> pl.DataFrame:
    path = Path(path)
    _check_separator(path, tuple(ITEMS_SCHEMA))
    df = read_csv_checked(path, ITEMS_SCHEMA)
    for col in GENRE_COLUMNS:
        _in_range(df, path, col, 0, 1)
    _ids_dense(df, path, "item_id")
    return df.sort("item_id")


def load_users(path: str | os.PathLike) -> pl.DataFrame:
    path = Path(path)
    _check_separator(path, tuple(USERS_SCHEMA))
    df = read_csv_checked(path, USERS_SCHEMA)
    for col, allowed in (("gender", GENDERS), ("age", AGES)):
        bad = ~df[col].is_in(list(allowed))
        if bad.any():
            raise DataError(
                f"{path.name}: column '{col}' = {df[col].filter(bad)[0]!r} at data row {_first(bad)} "
                f"is not one of {list(allowed)}"
            )
    _ids_dense(df, path, "user_id")
    return df.with_row_index("row", offset=1).sort("user_id")  # 'row': the data row in the file (messages)


def resolve_files(data_dir: str | os.PathLike) -> tuple[Path, ...]:
    data_dir = Path(data_dir)
    missing = [f for f in FILES if not (data_dir / f).is_file()]
    if missing:
        raise DataError(f"{data_dir.name or data_dir}: missing HSE RecSys file(s) {missing}")
    return tuple(data_dir / f for f in FILES)


def check_consistency(d: HSE) -> None:
    """Every event's item has a feature row, and every user has features and at least one event."""
    ev_path, items_path, users_path = d.files
    bad = d.events["item_id"] >= d.n_items
    if bad.any():
        raise DataError(
            f"{ev_path.name}: column 'item_id' = {d.events['item_id'].filter(bad)[0]} at data row "
            f"{_first(bad)} has no row in {ITEMS} (items 0..{d.n_items - 1})"
        )
    bad = d.events["user_id"] >= d.n_users
    if bad.any():
        raise DataError(
            f"{ev_path.name}: column 'user_id' = {d.events['user_id'].filter(bad)[0]} at data row "
            f"{_first(bad)} has no row in {USERS} (users 0..{d.n_users - 1})"
        )
    has = np.zeros(d.n_users, bool)
    has[d.events["user_id"].to_numpy()] = True
    if not has.all():
        idle = np.flatnonzero(~has)
        raise DataError(
            f"{users_path.name}: user_id {idle[0]} has no events in {EVENTS} (data row "
            f"{d.users['row'][int(idle[0])]}; {len(idle)} such user(s)): every user needs a history"
        )


def load(data_dir: str | os.PathLike) -> HSE:
    files = resolve_files(data_dir)
    ev, items, users = files
    d = HSE(load_events(ev), load_items(items), load_users(users), files)
    check_consistency(d)
    d.users = d.users.drop("row")
    return d
