import re

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from shared.data.io import sha256_file
from solutions.kraft_kuairec import data, twin


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = twin.generate("small", 42, tmp_path_factory.mktemp("small"))
    return out, data.load(out)


def test_full_scale_has_the_real_counts():
    full = twin.SCALES["full"]
    assert (full.n_users, full.n_items, full.n_rows, full.n_no_time) == (1_411, 3_327, 4_676_570, 181_992)


def test_official_headers(small):
    out, _ = small
    assert (out / data.SMALL_MATRIX).read_text().splitlines()[0] == (
        "user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio"
    )
    # the side files are the real ones, byte for byte: every quirk of theirs is in the twin
    assert sha256_file(out / data.ITEM_CATEGORIES) == sha256_file(twin.ITEM_CATEGORIES_FIXTURE)
    assert sha256_file(out / data.USER_FEATURES) == sha256_file(twin.USER_FEATURES_FIXTURE)


# small_matrix.csv as the release writes it (track README, "Official files"): a row such as
# 14,148,4381,6067,2020-07-05 05:27:48.378,20200705.0,1593898068.378,0.7221031811438932
TIMED_ROW = re.compile(
    r"^\d+,\d+,\d+,\d+,2020-0[789]-\d\d \d\d:\d\d:\d\d\.\d{3},2020\d{4}\.0,"
    r"159\d{7}(\.\d{1,3})?,\d+\.\d+(e-\d+)?$"
)
UNTIMED_ROW = re.compile(r"^\d+,\d+,\d+,\d+,,,,\d+\.\d+(e-\d+)?$")


def test_small_matrix_as_written(small):
    out, k = small
    lines = (out / data.SMALL_MATRIX).read_text().splitlines()[1:]
    n_tail = twin.SCALES["small"].n_no_time
    assert all(TIMED_ROW.match(line) for line in lines[:-n_tail])
    assert all(UNTIMED_ROW.match(line) for line in lines[-n_tail:])  # the timestamp-less tail, last
    # ids exist in both real side files
    m = k.interactions
    assert m.join(k.users, on="user_id", how="anti").height == 0
    assert m.join(k.items, on="video_id", how="anti").height == 0


def test_shape_and_planted_rate(small):
    _, k = small
    sc = twin.SCALES["small"]
    m = k.interactions
    assert m.height == sc.n_rows and k.users.height == 7_176
    assert m["user_id"].n_unique() == sc.n_users and m["video_id"].n_unique() == sc.n_items
    assert m.height / (sc.n_users * sc.n_items) == pytest.approx(0.9962, abs=1e-3)
    assert (m["watch_ratio"] >= 1).mean() == pytest.approx(twin.POSITIVE_RATE, abs=0.01)
    # watch_ratio is play_duration / video_duration, as in the release
    assert np.allclose(m["watch_ratio"], m["play_duration"] / m["video_duration"])


def test_time_columns(small):
    _, k = small
    m = k.interactions
    no_time = m["timestamp"].is_null()
    assert no_time.sum() == twin.SCALES["small"].n_no_time
    assert not no_time.head(m.height - no_time.sum()).any()  # the rows without time are the file's tail
    ts = m["timestamp"].drop_nulls()
    assert ts.min() >= twin.START and ts.max() <= twin.START + twin.PERIOD_S
    row = m.filter(pl.col("timestamp").is_not_null()).row(0, named=True)
    local = pl.Series([int(row["timestamp"] * 1000)]).cast(pl.Datetime("ms")).dt.offset_by("8h")
    assert row["time"] == local.dt.strftime("%Y-%m-%d %H:%M:%S%.3f")[0]
    assert row["date"] == float(local.dt.strftime("%Y%m%d")[0])


def test_truth_is_the_planted_probability(small):
    out, k = small
    truth = pl.read_parquet(out / twin.TRUTH)
    joined = k.interactions.join(truth, on=["user_id", "video_id"], how="inner")
    assert joined.height == k.interactions.height
    y = (joined["watch_ratio"] >= 1).to_numpy()
    assert roc_auc_score(y, joined["p"]) > 0.75  # oracle sees the signal
    assert joined["p"].mean() == pytest.approx(y.mean(), abs=0.01)  # calibrated


def test_deterministic(tmp_path):
    a, b, c = (twin.generate("tiny", s, tmp_path / n) for s, n in ((1, "a"), (1, "b"), (2, "c")))
    for f in (data.SMALL_MATRIX, twin.TRUTH):
        assert sha256_file(a / f) == sha256_file(b / f)
        assert sha256_file(a / f) != sha256_file(c / f)


def test_cache_is_keyed_by_the_generating_code(monkeypatch):
    folder = twin.ensure("tiny", 3)
    assert folder.name == f"tiny-seed3-{twin.VERSION}"
    monkeypatch.setattr(twin, "VERSION", "0" * 12)  # as if the generator had changed
    assert twin.ensure("tiny", 3) != folder


def test_calibrated_rates_over_time(small):
    """The calibrated drift: the seed's time split gives the real file's train and test positive rates
    (32.79 % and 30.83 %) within a point on `small` too (the full twin: 32.82 % and 30.58 %)."""
    from solutions.kraft_kuairec import features

    _, k = small
    train, test = features.time_split(features.add_label(k.interactions))
    assert train["label"].mean() == pytest.approx(0.3279, abs=0.01)
    assert test["label"].mean() == pytest.approx(0.3083, abs=0.01)
    assert 0.01 < train["label"].mean() - test["label"].mean() < 0.04
