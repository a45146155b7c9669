"""Loaders against the official format facts, and one clear error per kind of bad file."""

import shutil

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shared.runtime.errors import DataError
from solutions.vk_clips import data, twin


@pytest.fixture
def folder(tiny_dir, tmp_path):
    out = tmp_path / "vk"
    shutil.copytree(tiny_dir, out)
    return out


def test_twin_files_have_the_official_schema(tiny_dir):
    expect = {
        data.TRAIN: [
            ("user_id", pa.uint32()),
            ("item_id", pa.uint32()),
            ("timespent", pa.uint8()),
            ("like", pa.uint8()),
            ("dislike", pa.uint8()),
            ("share", pa.uint8()),
            ("bookmarks", pa.uint8()),
        ],
        data.USERS: [("user_id", pa.uint32()), ("gender", pa.uint8()), ("age", pa.uint8())],
        data.ITEMS: [
            ("item_id", pa.uint32()),
            ("source_id", pa.uint32()),
            ("duration", pa.uint8()),
            ("embeddings", pa.list_(pa.float32(), 32)),
        ],
    }
    for name, fields in expect.items():
        schema = pq.read_schema(tiny_dir / name)
        assert [(f.name, f.type) for f in schema] == fields, name
    assert (tiny_dir / data.TEST).read_text().splitlines()[0] == "user_id,item_id"


def test_twin_facts(tiny_dir):
    vk = data.load(tiny_dir)
    sc = twin.SCALES["tiny"]
    assert vk.train.height == sc.n_rows and vk.users.height == sc.n_users and vk.items.height == sc.n_items
    assert vk.train["item_id"].n_unique() == sc.n_items  # every item occurs in train
    assert vk.test.height == 20 * sc.n_test_users
    assert vk.test.equals(vk.test.sort("user_id", "item_id"))  # sorted by user then item
    assert int(((vk.train["like"] == 1) & (vk.train["dislike"] == 1)).sum()) == 0
    assert vk.users["gender"].is_in([1, 2]).all() and vk.users["age"].min() >= 18 and vk.users["age"].max() <= 60
    assert vk.items["duration"].min() >= 5 and vk.items["source_id"].max() < sc.n_sources
    assert vk.train["timespent"].min() >= 1


def test_class_rates_match_the_release_on_small():
    """The calibration hits the real rates on its pilot rows; the drawn rows follow within noise."""
    sc = twin.SCALES["small"]
    world = twin.make_world(sc, 42)
    frame = twin.chunk(world, sc, 42, 0)
    n = frame.height
    for col, rate in (("like", twin.LIKE_RATE), ("dislike", twin.DISLIKE_RATE), ("share", twin.SHARE_RATE)):
        assert abs(frame[col].mean() - rate) < 4 * np.sqrt(rate / n) + 0.15 * rate, col


def test_class_probs_are_the_shared_softmax_bit_for_bit():
    """The twin's column-by-column softmax (fast) gives shared.twin.blocks.softmax's bits, far tails included."""
    from types import SimpleNamespace

    from shared.twin import blocks as shared_twin

    rng = np.random.default_rng(5)
    like, dislike = rng.normal(0, 4, 200_000), rng.normal(-2, 6, 200_000)
    like[:3], dislike[:3] = [800.0, -800.0, 0.0], [-800.0, 800.0, 0.0]
    world = SimpleNamespace(c_like=-3.1, c_dislike=-7.9)
    z = np.stack([dislike + world.c_dislike, np.zeros_like(like), like + world.c_like], axis=1)
    expected = shared_twin.softmax(z)
    got = twin.class_probs(world, like, dislike)
    assert np.array_equal(got, expected) and np.isfinite(got).all()


def test_target_classes():
    train = pl.DataFrame({"like": [0, 1, 0], "dislike": [0, 0, 1]}, schema={"like": pl.UInt8, "dislike": pl.UInt8})
    assert data.target(train).tolist() == [1, 2, 0]


def _rewrite(path, fn):
    table = pq.read_table(path)
    pq.write_table(fn(table), path)


def test_wrong_dtype(folder):
    _rewrite(folder / data.TRAIN, lambda t: t.set_column(2, "timespent", t["timespent"].cast(pa.float64())))
    with pytest.raises(DataError, match=r"train_interactions.parquet: column 'timespent' is double, expected UInt8"):
        data.load(folder)


def test_other_integer_width_is_accepted(folder):
    _rewrite(folder / data.USERS, lambda t: t.set_column(2, "age", t["age"].cast(pa.int64())))
    assert data.load(folder).users["age"].dtype == pl.UInt8


def test_missing_column(folder):
    _rewrite(folder / data.ITEMS, lambda t: t.drop_columns(["duration"]))
    with pytest.raises(DataError, match=r"items_meta.parquet: missing column\(s\) \['duration'\]"):
        data.load(folder)


def test_like_and_dislike_together(folder):
    def both(t):
        like = t["like"].to_numpy().copy()
        dislike = t["dislike"].to_numpy().copy()
        like[6] = dislike[6] = 1
        return t.set_column(3, "like", pa.array(like)).set_column(4, "dislike", pa.array(dislike))

    _rewrite(folder / data.TRAIN, both)
    with pytest.raises(DataError, match="like and dislike are both 1 at data row 7"):
        data.load(folder)


def test_test_user_absent_from_train(folder):
    vk = data.load(folder)
    lines = (folder / data.TEST).read_text().splitlines()
    unknown = int(vk.users["user_id"].max()) + 5
    lines[1:21] = [f"{unknown},{line.split(',')[1]}" for line in lines[1:21]]
    (folder / data.TEST).write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"test_pairs.csv: user_id {unknown} at data row 1 does not occur in train"):
        data.load(folder)


def test_test_item_absent_from_train(folder):
    lines = (folder / data.TEST).read_text().splitlines()
    user = lines[3].split(",")[0]
    lines[3] = f"{user},{10**6}"
    (folder / data.TEST).write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"test_pairs.csv: item_id 1000000 at data row 3 does not occur in train"):
        data.load(folder)


def test_test_user_without_twenty_pairs(folder):
    lines = (folder / data.TEST).read_text().splitlines()
    user = lines[1].split(",")[0]
    del lines[5]
    (folder / data.TEST).write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError,
        match=rf"test_pairs.csv: user {user} has 19 pairs \(first at data row 1\), every test user needs exactly 20",
    ):
        data.load(folder)


def test_corrupt_parquet(folder):
    (folder / data.TRAIN).write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="train_interactions.parquet: not a readable parquet file"):
        data.load(folder)


def test_missing_file(folder):
    (folder / data.USERS).unlink()
    with pytest.raises(DataError, match=r"missing VK Clips file\(s\) \['users_meta.parquet'\]"):
        data.load(folder)


def test_wrong_embedding_length(folder):
    def short(t):
        emb = pa.array([row[:31] for row in t["embeddings"].to_pylist()], type=pa.list_(pa.float32()))
        return t.set_column(3, "embeddings", emb)

    _rewrite(folder / data.ITEMS, short)
    with pytest.raises(
        DataError, match=r"items_meta.parquet: column 'embeddings' holds 31 values at data row 1, expected 32"
    ):
        data.load(folder)
