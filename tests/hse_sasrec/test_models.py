"""Split, top-k, baselines and the holdout metrics against brute force and hand-computed cases;
SASRec's seen-item filtering; the submission validator."""

import numpy as np
import polars as pl
import pytest

from shared.eval.metrics import topn_metrics
from shared.runtime.errors import SubmissionError
from solutions.hse_sasrec import data, models, submit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from solutions.hse_sasrec import twin

    d = data.load(twin.generate("tiny", 42, tmp_path_factory.mktemp("hse_models")))
    return d, models.split(d.events)


def test_split_takes_the_last_two_events_of_every_user(tiny):
    d, sp = tiny
    n = d.events.group_by("user_id").len().sort("user_id")
    assert sp.test_gt.height == sp.val_gt.height == d.n_users
    assert sp.train.height == d.events.height - 2 * d.n_users
    assert sp.test_events.height == d.events.height - d.n_users
    last = sp.test_gt.sort("user_id")
    assert (last["timestamp"].to_numpy() == n["len"].to_numpy() - 1).all()
    assert (sp.val_gt.sort("user_id")["timestamp"].to_numpy() == n["len"].to_numpy() - 2).all()
    assert sp.train.group_by("user_id").agg(pl.col("timestamp").max())["timestamp"].max() < n["len"].max() - 2


def test_top_k_matches_a_stable_full_sort():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 30)).astype(float)  # many ties
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    recs = models.top_k(np.arange(50), scores, 10)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    assert (recs["item_id"].to_numpy().reshape(50, 10) == expected).all()
    assert recs["rank"].to_list()[:10] == list(range(1, 11))


def test_popularity_removes_seen_items_and_ranks_by_count():
    hist = pl.DataFrame({"user_id": [0, 0, 1, 1, 2], "item_id": [0, 1, 1, 2, 1]})
    recs = models.popularity(hist, 3, 13, k=2)
    # counts: item 1: 3, items 0 and 2: 1, the rest 0 (ties: smaller id first)
    assert recs.filter(pl.col("user_id") == 0)["item_id"].to_list() == [2, 3]
    assert recs.filter(pl.col("user_id") == 1)["item_id"].to_list() == [0, 3]
    assert recs.filter(pl.col("user_id") == 2)["item_id"].to_list() == [0, 2]


def test_metrics_on_a_hand_computed_case():
    """Two users, k = 10, one relevant item each: user 0's is at rank 3, user 1's is missed."""
    items0 = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    recs = pl.DataFrame(
        {
            "user_id": [0] * 10 + [1] * 10,
            "item_id": items0 + list(range(20, 30)),
            "score": list(np.arange(10, 0, -1.0)) * 2,
            "rank": list(range(1, 11)) * 2,
        }
    )
    truth = pl.DataFrame({"user_id": [0, 1], "item_id": [7, 99]})
    train = pl.DataFrame({"user_id": [0] * 40, "item_id": list(range(40))})
    m = models.evaluate(recs, truth, train)
    assert m["hitrate"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(0.5)
    assert m["ndcg"] == pytest.approx(0.5 / np.log2(4))
    assert m["mrr"] == pytest.approx(0.5 / 3)
    assert m["map"] == pytest.approx(0.5 / 3)
    assert m["coverage"] == pytest.approx(20 / 40)
    brute = topn_metrics(recs, truth, ks=(10,))
    assert m["hitrate"] == pytest.approx(brute["hitrate@10"]) and m["ndcg"] == pytest.approx(brute["ndcg@10"])


def test_sasrec_never_recommends_a_seen_item_and_faithful_keeps_the_last(tiny, tmp_path):
    d, sp = tiny
    p = models.SeqParams(blocks=1, heads=1, hidden=16, dropout=0.0, max_len=20, batch=64, lr=1e-2, epochs=2)
    fit = models.train_sasrec(sp.train, sp.val_gt, d.n_items, p, progress=False)
    assert len(fit.epochs) == 2 and 1 <= fit.best_epoch <= 2 and "recall@10" in fit.epochs[0]
    recs = models.predict_sasrec(fit, d.events)
    assert recs.group_by("user_id").len()["len"].to_list() == [10] * d.n_users
    assert recs.join(d.events, on=["user_id", "item_id"]).height == 0
    # the team's way: the history without its last event, and that event not filtered
    faithful = models.predict_sasrec(fit, sp.test_events)
    assert faithful.join(sp.test_events, on=["user_id", "item_id"]).height == 0
    # filtering with the whole history instead removes the last events too
    strict = models.predict_sasrec(fit, sp.test_events, filter_seen=d.events)
    assert strict.join(sp.test_gt, on=["user_id", "item_id"]).height == 0


def _sub(tmp_path, rows):
    path = tmp_path / "submission.csv"
    path.write_text("user_id,item_id\n" + "".join(f"{u},{items}\n" for u, items in rows))
    return path


def test_submission_validator(tmp_path):
    good = [(u, " ".join(str(i) for i in range(u, u + 10))) for u in range(3)]
    assert submit.validate(_sub(tmp_path, good), 3, 20).height == 3
    cases = [
        (good[:2], r"2 rows, .* needs 3"),
        ([good[0], good[1], (2, "1 2 3 4 5 6 7 8 9")], r"user_id 2 \(data row 3\) has 9 item ids, 9 distinct"),
        ([good[0], good[1], (2, "1 1 3 4 5 6 7 8 9 10")], r"has 10 item ids, 9 distinct"),
        ([good[0], good[1], (2, "1 2 3 4 5 6 7 8 9 20")], r"not an integer in 0..19"),
        ([good[0], good[1], (1, good[2][1])], r"duplicate keys"),
    ]
    for rows, match in cases:
        with pytest.raises(SubmissionError, match=match):
            submit.validate(_sub(tmp_path, rows), 3, 20)


def test_submission_frame_joins_ten_ids_best_first():
    recs = pl.DataFrame(
        {
            "user_id": [1] * 10 + [0] * 10,
            "item_id": list(range(10, 0, -1)) + list(range(10)),
            "rank": list(range(1, 11)) * 2,
        }
    )
    frame = submit.submission_frame(recs, 2)
    assert frame.rows() == [(0, "0 1 2 3 4 5 6 7 8 9"), (1, "10 9 8 7 6 5 4 3 2 1")]
