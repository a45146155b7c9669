"""Convert the public MovieLens-1M files into the HSE RecSys 2024 schema, so the track runs on real
data without the competition's files (which may not be redistributed).

    python -m solutions.hse_sasrec.download ~/data/ml-1m          # fetch + unpack + convert (GroupLens)
    python -m solutions.hse_sasrec.from_movielens ~/data/ml-1m/ml-1m ~/data/hse   # convert only
    make reproduce TRACKS=hse_sasrec DATA_DIR=~/data/hse

Input: ``ratings.dat`` (UserID::MovieID::Rating::Timestamp), ``users.dat``
(UserID::Gender::Age::Occupation::Zip-code), ``movies.dat`` (MovieID::Title::Genres), latin-1.
Output: events.csv, item_features.csv, user_features.csv exactly as the loader reads them:
0-based ids in the order of the original ids (users with ratings, rated movies only: 6,040 and
3,706), events ordered by user with timestamp = position in the user's history by rating time
(ties keep the file's order), genre_k = the k-th genre in alphabetical order.

The competition's events.csv has 894,149 rows: fewer than MovieLens-1M's 1,000,209 ratings, the
rest was held back for its hidden test. A converted folder therefore has every rating; the loader
accepts both.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import numpy as np
import polars as pl

from shared.data.io import atomic_path
from shared.runtime.errors import DataError
from solutions.hse_sasrec.data import AGES, EVENTS, GENDERS, GENRE_COLUMNS, GENRES, ITEMS, USERS

RATINGS, ML_USERS, MOVIES = "ratings.dat", "users.dat", "movies.dat"
FIELDS = {
    RATINGS: ("user", "movie", "rating", "time"),
    ML_USERS: ("user", "gender", "age", "occupation", "zip"),
    MOVIES: ("movie", "title", "genres"),
}


def read_dat(path: Path) -> pl.DataFrame:
    """A '::'-separated latin-1 file as strings, each line checked for its number of fields."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    names = FIELDS[path.name]
    text = path.read_bytes().decode("latin-1")
    lines = text.splitlines()
    n_fields = np.array([line.count("::") + 1 for line in lines])
    bad = n_fields != len(names)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"{path.name}: line {row + 1} has {n_fields[row]} field(s), expected {len(names)} separated "
            f"by '::' ({', '.join(names)}): {lines[row][:60]!r}"
        )
    frame = pl.read_csv(
        io.StringIO(text.replace("::", "\x1f")),
        separator="\x1f",
        has_header=False,
        new_columns=list(names),
        infer_schema=False,
        quote_char=None,
    )
    return frame


def _ints(frame: pl.DataFrame, path: Path, cols: tuple[str, ...]) -> pl.DataFrame:
    for col in cols:
        cast = frame[col].cast(pl.Int64, strict=False)
        if cast.null_count():
            row = int(cast.is_null().arg_max())
            raise DataError(f"{path.name}: field '{col}' = {frame[col][row]!r} on line {row + 1} is not an integer")
        frame = frame.with_columns(cast.alias(col))
    return frame


def convert(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Read the three MovieLens files from ``src``, write the three HSE files into ``dest``."""
    src, dest = Path(src), Path(dest)
    ratings = _ints(read_dat(src / RATINGS), src / RATINGS, ("user", "movie", "rating", "time"))
    users = _ints(read_dat(src / ML_USERS), src / ML_USERS, ("user", "age"))
    movies = _ints(read_dat(src / MOVIES), src / MOVIES, ("movie",))
    for frame, path, col, allowed in ((users, ML_USERS, "gender", GENDERS), (users, ML_USERS, "age", AGES)):
        bad = ~frame[col].is_in(list(allowed))
        if bad.any():
            raise DataError(
                f"{path}: field '{col}' = {frame[col].filter(bad)[0]!r} on line {int(bad.arg_max()) + 1} "
                f"is not one of {list(allowed)}"
            )
    for col, known, what in (("user", users["user"], ML_USERS), ("movie", movies["movie"], MOVIES)):
        bad = ~ratings[col].is_in(known.implode())
        if bad.any():
            raise DataError(
                f"{RATINGS}: {col} {ratings[col].filter(bad)[0]} on line {int(bad.arg_max()) + 1} is not in {what}"
            )
    # 0-based ids in the order of the original ids; only users and movies that have ratings
    user_ids = ratings["user"].unique().sort()
    movie_ids = ratings["movie"].unique().sort()
    user_map = pl.DataFrame({"user": user_ids, "user_id": np.arange(len(user_ids), dtype=np.int64)})
    movie_map = pl.DataFrame({"movie": movie_ids, "item_id": np.arange(len(movie_ids), dtype=np.int64)})
    events = (
        ratings.with_row_index("line")
        .join(user_map, on="user")
        .join(movie_map, on="movie")
        .sort(["user_id", "time", "line"])
        .with_columns(timestamp=pl.int_range(pl.len(), dtype=pl.Int64).over("user_id"))
        .select("user_id", "item_id", pl.col("rating").cast(pl.Int64), "timestamp")
    )
    genre_lists = movies.join(movie_map, on="movie").sort("item_id").with_columns(pl.col("genres").str.split("|"))
    unknown = genre_lists.explode("genres", empty_as_null=True).filter(~pl.col("genres").is_in(list(GENRES)))
    if unknown.height:
        raise DataError(
            f"{MOVIES}: movie {unknown['movie'][0]} has genre {unknown['genres'][0]!r}, not one of the "
            f"18 MovieLens genres"
        )
    items = genre_lists.select(
        "item_id", *[pl.col("genres").list.contains(g).cast(pl.Int64).alias(c) for g, c in zip(GENRES, GENRE_COLUMNS)]
    )
    user_frame = users.join(user_map, on="user").select("user_id", "gender", pl.col("age").cast(pl.Int64))
    dest.mkdir(parents=True, exist_ok=True)
    for name, frame in ((EVENTS, events), (ITEMS, items), (USERS, user_frame)):  # all parsed: now write
        with atomic_path(dest / name) as tmp:
            frame.write_csv(tmp)
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="folder with ratings.dat, users.dat, movies.dat")
    parser.add_argument("dest", type=Path, help="folder to write events.csv, item_features.csv, user_features.csv")
    args = parser.parse_args(argv)
    try:
        out = convert(args.src, args.dest)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {EVENTS}, {ITEMS}, {USERS} into {out.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
