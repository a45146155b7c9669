"""The reranker's features: hand-computed values, and no target in the test step's frame; the
Spark switch's message where pyspark or Java is missing."""

import importlib.util
import shutil

import numpy as np
import polars as pl
import pytest

from solutions.hse_sasrec import data, features, models


def _items(n_items):
    flags = np.zeros((n_items, len(data.GENRE_COLUMNS)), np.int64)
    flags[0, [0, 1]] = 1  # item 0: genres 0 and 1
    flags[1, 1] = 1  # item 1: genre 1
    flags[2, 2] = 1
    return pl.DataFrame({"item_id": np.arange(n_items), **dict(zip(data.GENRE_COLUMNS, flags.T))})


def test_genre_affinity_by_hand():
    items = _items(4)
    history = pl.DataFrame({"user_id": [0, 0, 0, 0], "item_id": [0, 1, 1, 2]})
    # user 0's shares: genre 0: 1/4, genre 1: 3/4, genre 2: 1/4
    aff = features.genre_affinity(history, items, np.array([0, 0, 0, 0]), np.array([0, 1, 2, 3]), 1)
    np.testing.assert_allclose(aff, [(0.25 + 0.75) / 2, 0.75, 0.25, 0.0])


def test_candidate_features_label_only_from_the_given_truth():
    items = _items(4)
    users = pl.DataFrame({"user_id": [0, 1], "gender": ["F", "M"], "age": [25, 56]})
    history = pl.DataFrame({"user_id": [0, 1, 1], "item_id": [0, 0, 1], "timestamp": [0, 0, 1]})
    cands = pl.DataFrame({"user_id": [0, 0, 1], "item_id": [2, 1, 2], "score": [2.0, 1.0, 3.0], "rank": [1, 2, 1]})
    knn = pl.DataFrame({"user_id": [0], "item_id": [1], "itemknn_score": [0.5]})
    truth = pl.DataFrame({"user_id": [0], "item_id": [1]})
    f = features.candidate_features(cands, history, items, users, [knn], truth)
    assert f.select("user_id", "item_id", "label").rows() == [(0, 2, 0), (0, 1, 1), (1, 2, 0)]
    row = f.row(1, named=True)
    assert (row["female"], row["age"], row["history_len"]) == (1, 25, 1)
    assert row["item_pop"] == pytest.approx(np.log1p(1)) and row["itemknn_score"] == 0.5
    assert f["itemknn_score"].null_count() == 2  # pairs a model did not score stay missing
    assert row["sasrec_gap"] == row["sasrec_score"] - f.filter(pl.col("user_id") == 0)["sasrec_score"].max()
    bert = pl.DataFrame({"user_id": [0], "item_id": [2], "score": [3.5], "rank": [1]})
    with_bert = features.candidate_features(cands, history, items, users, truth=truth, bert4rec=bert)
    assert with_bert.select("bert4rec_score", "bert4rec_rank").rows() == [(3.5, 1), (None, None), (None, None)]
    unlabelled = features.candidate_features(cands, history, items, users)
    assert "label" not in unlabelled.columns and "label" not in features.feature_columns(f)


def test_recent_genre_affinity_reads_the_latest_events(monkeypatch):
    items = _items(4)
    users = pl.DataFrame({"user_id": [0], "gender": ["M"], "age": [30]})
    # in time order: item 2 (genre 2), then item 1 twice (genre 1); rows deliberately not in time order
    history = pl.DataFrame({"user_id": [0, 0, 0], "item_id": [1, 2, 1], "timestamp": [5, 1, 7]})
    cands = pl.DataFrame({"user_id": [0, 0], "item_id": [1, 2], "score": [1.0, 0.5], "rank": [1, 2]})
    monkeypatch.setattr(features, "RECENT", 2)
    f = features.candidate_features(cands, history, items, users)
    assert f["genre_affinity"].to_list() == pytest.approx([2 / 3, 1 / 3])
    assert f["recent_genre_affinity"].to_list() == pytest.approx([1.0, 0.0])  # the last two: item 1 twice


def test_reranker_learns_a_planted_feature():
    rng = np.random.default_rng(0)
    n_users, n_cand = 200, 10
    frame = pl.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users), n_cand),
            "item_id": np.tile(np.arange(n_cand), n_users),
            "sasrec_rank": np.tile(np.arange(1, n_cand + 1), n_users),
            "signal": rng.random(n_users * n_cand),
        }
    )
    best = frame.group_by("user_id").agg(pl.col("item_id").sort_by("signal").last())
    frame = frame.join(best.with_columns(label=pl.lit(1, pl.Int8)), on=["user_id", "item_id"], how="left").with_columns(
        pl.col("label").fill_null(0)
    )
    fit = models.train_reranker(frame, ["signal", "sasrec_rank"], rounds=30)
    top = models.rerank(fit.booster, frame, ["signal", "sasrec_rank"], k=1)
    assert top.join(best, on=["user_id", "item_id"]).height >= 0.95 * n_users
    assert fit.best_iteration <= fit.n_trees <= 30 and fit.val_score > 0.9  # held-out users' NDCG@10


def test_spark_status_names_what_is_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    assert "pip install -e '.[spark]'" in models.spark_status()
    monkeypatch.setattr(importlib.util, "find_spec", real)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert "Java is not found" in models.spark_status()


def test_spark_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(models.SPARK_SWITCH, "0")
    assert models.spark_status() == "Spark is switched off (RECSYS_SPARK=0): the classic models are left out."
    monkeypatch.setenv(models.SPARK_SWITCH, "1")
    assert models.spark_status() is None  # pyspark and Java are installed here (make setup)
