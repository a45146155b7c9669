import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

from shared.eval.metrics import (
    log_loss,
    mean_user_expected_roc_auc,
    mean_user_roc_auc,
    per_user_expected_roc_auc,
    per_user_topn,
    ranking_metrics,
    rate_metrics,
    topn_metrics,
)


def brute_ranking(users, scores, labels, k):
    """Reference: loop over users, sort each user's rows (stable, score descending)."""
    p, r, n = [], [], []
    for u in np.unique(users):
        idx = np.flatnonzero(users == u)
        order = idx[np.argsort(-scores[idx], kind="stable")]
        rel = labels[order].astype(bool)
        if rel.sum() == 0:
            continue
        top = rel[:k]
        dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(top) if h)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(int(rel.sum()), k)))
        p.append(top.sum() / k)
        r.append(top.sum() / rel.sum())
        n.append(dcg / idcg)
    return np.mean(p), np.mean(r), np.mean(n)


def test_ranking_metrics_hand_computed():
    # user 1: scores rank rows as [rel, non, rel, non]; user 2 has no relevant row: skipped
    users = [1, 1, 1, 1, 2, 2]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    labels = [1, 0, 1, 0, 0, 0]
    m = ranking_metrics(users, scores, labels, ks=(1, 2, 4, 10))
    assert m["precision@1"] == 1.0 and m["recall@1"] == 0.5 and m["ndcg@1"] == 1.0
    assert m["precision@2"] == 0.5 and m["recall@2"] == 0.5
    assert m["ndcg@2"] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert m["ndcg@4"] == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))
    assert m["precision@10"] == pytest.approx(0.2)  # K in the denominator even past the list's end
    assert m["recall@10"] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_metrics_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 2_000
    users = rng.integers(0, 60, n)
    scores = np.round(rng.random(n), 2)  # many ties: order must follow input order
    labels = rng.random(n) < 0.3
    ks = (1, 5, 10, 50, 100)
    m = ranking_metrics(users, scores, labels, ks)
    for k in ks:
        p, r, nd = brute_ranking(users, scores, labels, k)
        assert m[f"precision@{k}"] == pytest.approx(p, abs=1e-12)
        assert m[f"recall@{k}"] == pytest.approx(r, abs=1e-12)
        assert m[f"ndcg@{k}"] == pytest.approx(nd, abs=1e-12)


def test_ranking_metrics_agree_with_replay():
    from replay.metrics import NDCG, OfflineMetrics, Precision, Recall

    rng = np.random.default_rng(3)
    n = 500
    users, scores, labels = rng.integers(0, 25, n), rng.random(n), rng.random(n) < 0.3
    recs = pd.DataFrame({"user_id": users, "item_id": np.arange(n), "score": scores})
    truth = pd.DataFrame({"user_id": users[labels], "item_id": np.arange(n)[labels]})
    ref = OfflineMetrics(
        [Precision([5, 20]), Recall([5, 20]), NDCG([5, 20])],
        query_column="user_id",
        item_column="item_id",
        rating_column="score",
    )(recs, truth)
    ours = ranking_metrics(users, scores, labels, (5, 20))
    for k in (5, 20):
        assert ours[f"precision@{k}"] == pytest.approx(ref[f"Precision@{k}"])
        assert ours[f"recall@{k}"] == pytest.approx(ref[f"Recall@{k}"])
        assert ours[f"ndcg@{k}"] == pytest.approx(ref[f"NDCG@{k}"])


def test_ranking_metrics_rejects_bad_input():
    with pytest.raises(ValueError):
        ranking_metrics([], [], [])
    with pytest.raises(ValueError):
        ranking_metrics([1, 1], [0.1, 0.2], [0, 0])
    with pytest.raises(ValueError):
        ranking_metrics([1, 1], [0.1], [0, 1])


def test_topn_metrics_hand_computed():
    recs = pl.DataFrame(
        {"user_id": [1, 1, 1, 2, 2, 2], "item_id": [10, 11, 12, 20, 21, 22], "rank": [1, 2, 3, 1, 2, 3]}
    )
    truth = pl.DataFrame({"user_id": [1, 2, 3], "item_id": [12, 99, 30]})  # user 3 has no recs
    m = topn_metrics(recs, truth, ks=(2, 3))
    assert m["hitrate@2"] == 0.0 and m["ndcg@2"] == 0.0 and m["mrr@2"] == 0.0
    assert m["hitrate@3"] == pytest.approx(1 / 3)
    assert m["ndcg@3"] == pytest.approx((1 / math.log2(4)) / 3)
    assert m["mrr@3"] == pytest.approx((1 / 3) / 3)


def test_per_user_topn_hand_computed():
    recs = pl.DataFrame({"user_id": [2, 2, 1, 1], "item_id": [20, 21, 10, 11], "rank": [1, 2, 1, 2]})
    truth = pl.DataFrame({"user_id": [3, 1, 2, 2], "item_id": [30, 11, 21, 20]})  # user 2: two relevant items
    per = per_user_topn(recs, truth, k=2)
    assert per["user_id"].to_list() == [1, 2, 3]
    assert per["hitrate"].to_list() == [1.0, 1.0, 0.0]
    assert per["ndcg"].to_list() == pytest.approx([1 / math.log2(3), 1.0, 0.0])  # user 2: both, ideal order
    assert per["mrr"].to_list() == pytest.approx([0.5, 1.0, 0.0])
    assert per["ndcg"].mean() == pytest.approx(topn_metrics(recs, truth, ks=(2,))["ndcg@2"])


def test_topn_metrics_match_brute_force_and_replay():
    from replay.metrics import MRR, NDCG, HitRate, OfflineMetrics

    rng = np.random.default_rng(4)
    rows = []
    for u in range(40):
        items = rng.choice(100, 15, replace=False)
        rows += [(u, int(i), r + 1) for r, i in enumerate(items)]
    recs = pl.DataFrame(rows, schema=["user_id", "item_id", "rank"], orient="row")
    truth = pl.DataFrame({"user_id": rng.integers(0, 40, 80), "item_id": rng.integers(0, 100, 80)}).unique()
    m = topn_metrics(recs, truth, ks=(5, 10))
    for k in (5, 10):
        hr, nd, mrr = [], [], []
        for u, g in truth.group_by("user_id"):
            rel = set(g["item_id"].to_list())
            top = recs.filter((pl.col("user_id") == u[0]) & (pl.col("rank") <= k)).sort("rank")["item_id"].to_list()
            hits = [i for i, it in enumerate(top) if it in rel]
            hr.append(1.0 if hits else 0.0)
            mrr.append(1 / (hits[0] + 1) if hits else 0.0)
            idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), k)))
            nd.append(sum(1 / math.log2(i + 2) for i in hits) / idcg)
        assert m[f"hitrate@{k}"] == pytest.approx(np.mean(hr))
        assert m[f"ndcg@{k}"] == pytest.approx(np.mean(nd))
        assert m[f"mrr@{k}"] == pytest.approx(np.mean(mrr))
    # RePlay ranks by score; give it scores that reproduce our ranks
    rp_recs = recs.with_columns(score=-pl.col("rank").cast(pl.Float64)).to_pandas()
    users_with_truth = truth.to_pandas()
    ref = OfflineMetrics(
        [HitRate([5]), NDCG([5]), MRR([5])], query_column="user_id", item_column="item_id", rating_column="score"
    )(rp_recs, users_with_truth)
    assert m["hitrate@5"] == pytest.approx(ref["HitRate@5"])
    assert m["ndcg@5"] == pytest.approx(ref["NDCG@5"])
    assert m["mrr@5"] == pytest.approx(ref["MRR@5"])


def test_user_auc_binary_matches_sklearn_per_user():
    rng = np.random.default_rng(5)
    n = 3_000
    users = rng.integers(0, 50, n)
    labels = (rng.random(n) < 0.4).astype(int)
    scores = np.round(rng.random(n) + 0.3 * labels, 1)  # ties on purpose
    expected = np.mean(
        [
            roc_auc_score(labels[users == u], scores[users == u])
            for u in np.unique(users)
            if len(np.unique(labels[users == u])) == 2
        ]
    )
    assert mean_user_roc_auc(users, labels, scores) == pytest.approx(expected, abs=1e-12)


def test_user_auc_ordinal_brute_force():
    rng = np.random.default_rng(6)
    n = 600
    users = rng.integers(0, 30, n)
    labels = rng.integers(-1, 2, n)  # dislike < ignore < like
    labels[users < 4] = 0  # four users with a single label
    scores = np.round(rng.random(n) + 0.2 * labels, 1)
    per_user = []
    for u in np.unique(users):
        y, s = labels[users == u], scores[users == u]
        num = den = 0.0
        for i in range(len(y)):
            for j in range(len(y)):
                if y[i] > y[j]:
                    den += 1
                    num += 1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0
        per_user.append(num / den if den else None)
    scored = [a for a in per_user if a is not None]
    assert len(scored) < len(per_user)  # single-label users are in the case
    assert mean_user_roc_auc(users, labels, scores) == pytest.approx(np.mean(scored), abs=1e-12)
    # the other public rule: single-label users count as 0
    assert mean_user_roc_auc(users, labels, scores, single_label="zero") == pytest.approx(
        sum(scored) / len(per_user), abs=1e-12
    )


def test_user_auc_hand_cases():
    # user 1: perfect order of three levels; user 2: all ties -> 0.5; user 3: one label, skipped
    users = [1, 1, 1, 2, 2, 3, 3]
    labels = [0, 1, 2, 0, 2, 1, 1]
    scores = [0.1, 0.5, 0.9, 0.3, 0.3, 0.0, 1.0]
    assert mean_user_roc_auc(users, labels, scores) == pytest.approx((1.0 + 0.5) / 2)
    assert mean_user_roc_auc(users, labels, scores, single_label="zero") == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    with pytest.raises(ValueError):
        mean_user_roc_auc([1, 1], [1, 1], [0.2, 0.3])


def test_expected_user_auc_brute_force_over_every_labelling():
    """Enumerate every joint labelling of each user's rows (independent draws): the expected
    correct-pair count over the expected differing-pair count, per user."""
    import itertools

    rng = np.random.default_rng(8)
    users = np.array([3, 3, 3, 3, 1, 1, 1, 7, 7, 3])  # unsorted, groups of 5, 3 and 2 rows
    probs = rng.dirichlet([1.0, 3.0, 1.0], len(users))
    scores = np.round(rng.random(len(users)), 1)
    scores[[0, 9]] = 0.5  # a tie inside user 3
    expected = {}
    for u in np.unique(users):
        idx = np.flatnonzero(users == u)
        num = den = 0.0
        for lab in itertools.product(range(3), repeat=len(idx)):
            w = np.prod(probs[idx, lab])
            for a in range(len(idx)):
                for b in range(len(idx)):
                    if lab[a] > lab[b]:
                        den += w
                        s_a, s_b = scores[idx[a]], scores[idx[b]]
                        num += w * (1.0 if s_a > s_b else 0.5 if s_a == s_b else 0.0)
        expected[u] = num / den
    got = per_user_expected_roc_auc(users, probs, scores, max_cells=40)  # several user chunks
    assert got["user"].to_list() == [1, 3, 7]
    assert got["auc"].to_list() == pytest.approx([expected[1], expected[3], expected[7]], abs=1e-12)
    assert mean_user_expected_roc_auc(users, probs, scores) == pytest.approx(np.mean(list(expected.values())))


def test_expected_user_auc_certain_labels_is_the_plain_metric():
    rng = np.random.default_rng(9)
    users = rng.integers(0, 40, 500)
    labels = rng.integers(0, 3, 500)
    labels[users < 3] = 1  # single-label users: no pair can differ, skipped by both
    scores = np.round(rng.random(500) + 0.3 * labels, 1)
    one_hot = np.eye(3)[labels]
    assert mean_user_expected_roc_auc(users, one_hot, scores) == pytest.approx(
        mean_user_roc_auc(users, labels, scores), abs=1e-12
    )
    assert per_user_expected_roc_auc(users, one_hot, scores).height == len(np.unique(users[users >= 3]))
    with pytest.raises(ValueError):
        per_user_expected_roc_auc(users, one_hot[:10], scores)


def test_log_loss():
    y = np.array([1, 0, 1, 0, 1])
    p = np.array([0.9, 0.2, 0.6, 0.4, 0.99])
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p))
    assert log_loss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert log_loss([1], [0.0]) == pytest.approx(-math.log(1e-15))  # clipped, not inf
    assert log_loss([0.25], [0.25]) == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    with pytest.raises(ValueError):
        log_loss([1, 0], [0.5])
    with pytest.raises(ValueError):
        log_loss([1], [np.nan])


def test_rate_metrics_hand_computed():
    y, p = np.array([0.1, 0.0, 0.3]), np.array([0.2, 0.0, 0.3])
    m = rate_metrics(y, p, eps=1e-6)
    q = np.array([0.2, 1e-6, 0.3])  # the zero prediction is clipped to eps
    assert m["logloss"] == pytest.approx(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
    assert m["mae"] == pytest.approx(0.1 / 3)
    assert m["r2"] == pytest.approx(1 - 0.01 / np.sum((y - y.mean()) ** 2))


def test_per_user_ndcg_by_hand_and_against_the_mean():
    from shared.eval.metrics import per_user_ndcg, ranking_metrics

    users = np.array([7, 7, 7, 3, 3, 5, 5])
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.5, 0.4])
    labels = np.array([0, 1, 1, 1, 0, 0, 0])  # user 5 has no relevant row: skipped
    got_users, got = per_user_ndcg(users, scores, labels, 2)
    assert got_users.tolist() == [3, 7]
    # user 3: relevant at rank 2 of 2 -> (1/log2 3) / 1;
    # user 7: ranks 2 and 3, top 2 holds one -> (1/log2 3) / (1 + 1/log2 3)
    assert got == pytest.approx([1 / np.log2(3), (1 / np.log2(3)) / (1 + 1 / np.log2(3))])
    rng = np.random.default_rng(1)
    u, s, y = rng.integers(0, 40, 2000), rng.random(2000), rng.random(2000) < 0.3
    assert per_user_ndcg(u, s, y, 10)[1].mean() == pytest.approx(ranking_metrics(u, s, y, (10,))["ndcg@10"], abs=1e-12)


def test_across_seeds_by_hand():
    from shared.eval.metrics import across_seeds

    out = across_seeds([0.02, 0.04, 0.03, 0.03], [0.003, 0.004, 0.003, 0.004])
    sd = np.sqrt(0.0002 / 3)  # mean 0.03; se_seeds sd / 2; se_users sqrt((9 + 16 + 9 + 16) / 4) / 1000
    assert out["seeds"] == 4 and out["gain"] == pytest.approx(0.03) and out["sd"] == pytest.approx(sd)
    assert out["se_seeds"] == pytest.approx(sd / 2) and out["se_users"] == pytest.approx(np.sqrt(12.5) / 1000)
    assert out["se"] == pytest.approx(np.sqrt(sd**2 / 4 + 12.5e-6))  # 0.00544
    assert out["met"] is True  # 0.03 > 2 * 0.00544
    # the seeds agree closely, but the shared test set's noise keeps the gain within two errors
    agreeing = across_seeds([0.010, 0.011, 0.010, 0.011], [0.008] * 4)
    assert agreeing["se_seeds"] < 0.0003 and agreeing["met"] is False
    assert across_seeds([0.01, -0.01, 0.02, -0.005], [0.001] * 4)["met"] is False
    with pytest.raises(ValueError):
        across_seeds([0.1], [0.01])
    with pytest.raises(ValueError):
        across_seeds([0.1, 0.2], [0.01])


def test_paired_difference_by_hand():
    from shared.eval.metrics import paired_difference

    d = paired_difference([3.0, 5.0, 4.0], [1.0, 2.0, 4.0])  # differences 2, 3, 0: mean 5/3, sd sqrt(7/3)
    assert d["mean"] == pytest.approx(5 / 3) and d["se"] == pytest.approx(np.sqrt(7 / 3) / np.sqrt(3))
    with pytest.raises(ValueError):
        paired_difference([1.0], [2.0])
