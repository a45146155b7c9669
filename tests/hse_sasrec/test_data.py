"""Loaders against the release's format, the MovieLens converter on a hand-written sample."""

import shutil
from pathlib import Path

import polars as pl
import pytest

from shared.runtime.errors import DataError
from solutions.hse_sasrec import data, from_movielens

SAMPLE = Path(__file__).with_name("fixtures") / "ml1m_sample"


def _copy(tiny_dir, tmp_path):
    for f in data.FILES:
        shutil.copy(tiny_dir / f, tmp_path / f)
    return tmp_path


def test_twin_loads_with_the_official_schema(tiny_dir):
    d = data.load(tiny_dir)
    assert d.events.columns == ["user_id", "item_id", "rating", "timestamp"]
    assert all(t == pl.Int64 for t in d.events.dtypes)
    assert d.items.columns == ["item_id", *data.GENRE_COLUMNS]
    assert d.users.columns == ["user_id", "gender", "age"]
    assert set(d.users["gender"]) <= {"M", "F"} and set(d.users["age"]) <= set(data.AGES)
    raw_users = pl.read_csv(tiny_dir / data.USERS)
    assert not raw_users["user_id"].is_sorted()  # the release's user file is not sorted, nor is the twin's


def _expect(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=match):
        data.load(tmp_path)


def test_wrong_separator(tiny_dir, tmp_path):
    _copy(tiny_dir, tmp_path)
    text = (tiny_dir / data.EVENTS).read_text().replace(",", ";")
    _expect(tmp_path, data.EVENTS, text, r"events\.csv: the header is separated by semicolons")


def test_missing_genre_column(tiny_dir, tmp_path):
    _copy(tiny_dir, tmp_path)
    items = pl.read_csv(tiny_dir / data.ITEMS).drop("genre_17")
    items.write_csv(tmp_path / data.ITEMS)
    with pytest.raises(DataError, match=r"item_features\.csv: missing column\(s\) \['genre_17'\]"):
        data.load(tmp_path)


def test_user_without_events(tiny_dir, tmp_path):
    _copy(tiny_dir, tmp_path)
    ev = pl.read_csv(tiny_dir / data.EVENTS)
    ev.filter(pl.col("user_id") != 7).write_csv(tmp_path / data.EVENTS)
    with pytest.raises(DataError, match=r"user_features\.csv: user_id 7 has no events in events\.csv"):
        data.load(tmp_path)


def test_rows_not_ordered_by_user(tiny_dir, tmp_path):
    _copy(tiny_dir, tmp_path)
    ev = pl.read_csv(tiny_dir / data.EVENTS)
    first = int((ev["user_id"] == 1).arg_max())
    swapped = pl.concat([ev[first : first + 1], ev[:first], ev[first + 1 :]])
    swapped.write_csv(tmp_path / data.EVENTS)
    with pytest.raises(DataError, match=r"events\.csv: rows are not ordered by user: user_id 0 at data row 2"):
        data.load(tmp_path)


def test_timestamp_must_be_the_position(tiny_dir, tmp_path):
    _copy(tiny_dir, tmp_path)
    ev = pl.read_csv(tiny_dir / data.EVENTS)
    ev.with_columns(timestamp=pl.when(pl.int_range(pl.len()) == 5).then(99).otherwise(pl.col("timestamp"))).write_csv(
        tmp_path / data.EVENTS
    )
    with pytest.raises(
        DataError, match=r"column 'timestamp' = 99 at data row 6: expected the 0-based position .* \(5\)"
    ):
        data.load(tmp_path)


@pytest.mark.parametrize(
    "col,value,match",
    [
        ("rating", 6, r"column 'rating' = 6 at data row 4 is outside 1..5"),
        ("item_id", 10_000, r"column 'item_id' = 10000 at data row 4 has no row in item_features\.csv"),
        ("rating", "x", r"column 'rating' has a value that is not Int64: 'x' \(data row 4\)"),
    ],
)
def test_bad_event_values(tiny_dir, tmp_path, col, value, match):
    _copy(tiny_dir, tmp_path)
    ev = pl.read_csv(tiny_dir / data.EVENTS).cast(pl.String)
    ev.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(str(value))).otherwise(pl.col(col)).alias(col)
    ).write_csv(tmp_path / data.EVENTS)
    with pytest.raises(DataError, match=match):
        data.load(tmp_path)


def test_bad_gender(tiny_dir, tmp_path):
    _copy(tiny_dir, tmp_path)
    users = pl.read_csv(tiny_dir / data.USERS)
    users.with_columns(gender=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("X")).otherwise("gender")).write_csv(
        tmp_path / data.USERS
    )
    with pytest.raises(DataError, match=r"user_features\.csv: column 'gender' = 'X' at data row 3"):
        data.load(tmp_path)


def test_converter_on_a_hand_written_movielens_sample(tmp_path):
    out = from_movielens.convert(SAMPLE, tmp_path)
    d = data.load(out)
    # users 1, 2, 10 rated (5 did not): ids 0, 1, 2; movies 661, 914, 1193, 3408 rated: ids 0..3
    assert d.users.rows() == [(0, "F", 1), (1, "M", 56), (2, "F", 35)]
    # user 1 by rating time: 1193 (978300760), 914 (978301968), 661 (978302109)
    assert d.events.filter(pl.col("user_id") == 0)["item_id"].to_list() == [2, 1, 0]
    # user 2: 1193 and 661 share the time 978298413 (file order kept), then 3408
    assert d.events.filter(pl.col("user_id") == 1)["item_id"].to_list() == [2, 0, 3]
    assert d.events["timestamp"].to_list() == [0, 1, 2, 0, 1, 2, 0]
    assert d.events["rating"].to_list() == [5, 3, 3, 4, 4, 5, 1]
    genres = dict(zip(data.GENRES, d.items.filter(pl.col("item_id") == 0).row(0)[1:]))  # 661: James and the Giant Peach
    assert [g for g, v in genres.items() if v] == ["Animation", "Children's", "Musical"]
    assert d.items.height == 4  # the unrated movie (latin-1 title) is left out


def test_converter_refuses_a_wrong_separator(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SAMPLE, src)
    (src / "ratings.dat").write_text("1,1193,5,978300760\n")
    with pytest.raises(DataError, match=r"ratings\.dat: line 1 has 1 field\(s\), expected 4 separated by '::'"):
        from_movielens.convert(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half written


def test_loader_points_raw_movielens_files_to_the_converter(tmp_path):
    shutil.copy(SAMPLE / "ratings.dat", tmp_path / data.EVENTS)
    with pytest.raises(DataError, match="from_movielens"):
        data.load_events(tmp_path / data.EVENTS)
