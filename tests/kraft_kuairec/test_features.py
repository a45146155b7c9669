import numpy as np
import polars as pl
import pytest

from shared.train.factors import AlsParams
from solutions.kraft_kuairec import data, features, models, twin


@pytest.fixture(scope="module")
def kuairec(tmp_path_factory):
    return data.load(twin.generate("tiny", 3, tmp_path_factory.mktemp("k")))


def test_label_and_time_split():
    rows = pl.DataFrame(
        {
            "user_id": [1, 2, 1, 2, 3, 1, 2, 3, 1, 9],
            "video_id": [10, 10, 11, 11, 10, 12, 12, 11, 13, 10],
            "timestamp": [5.0, 1.0, 3.0, None, 2.0, 4.0, 6.0, 7.0, 8.0, None],
            "watch_ratio": [1.0, 0.99, 2.0, 0.1, 1.5, 0.0, 1.2, 0.3, 0.9, 1.0],
        }
    )
    labelled = features.add_label(rows)
    assert labelled["label"].to_list() == [1, 0, 1, 0, 1, 0, 1, 0, 0, 1]  # >= 1.0 is positive
    train, test = features.time_split(labelled, 0.8)
    assert train["timestamp"].to_list() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]  # first 80 % by time
    # the rows without timestamp sort last; user 9 never appears in train and is dropped
    assert test.select("user_id", "timestamp").rows() == [(2, None)]


def test_interaction_matrix_explicit_zeros(kuairec):
    train, _ = features.time_split(features.add_label(kuairec.interactions))
    index = features.Index.fit(train)
    faithful = features.interaction_matrix(train, index, explicit_zeros=True)
    corrected = features.interaction_matrix(train, index, explicit_zeros=False)
    assert faithful.nnz == train.height  # negatives stored as explicit zeros
    assert corrected.nnz == int(train["label"].sum())
    assert (faithful != corrected).nnz == 0  # same values, different storage
    u0, i0 = (
        index.lookup(train["user_id"][:1].to_numpy(), index.users)[0],
        index.lookup(train["video_id"][:1].to_numpy(), index.items)[0],
    )
    assert faithful[u0, i0] == train["label"][0]


def test_explicit_zeros_change_als(kuairec):
    """implicit gives a stored 0 confidence 0: the pair leaves the loss. Removing it changes the fit."""
    train, _ = features.time_split(features.add_label(kuairec.interactions))
    index = features.Index.fit(train)
    fit = lambda m: features.fit_als(m, factors=8, iterations=5, seed=1, progress=False)  # noqa: E731
    uf_a, _ = fit(features.interaction_matrix(train, index, explicit_zeros=True))
    uf_b, _ = fit(features.interaction_matrix(train, index, explicit_zeros=True))
    uf_c, _ = fit(features.interaction_matrix(train, index, explicit_zeros=False))
    assert np.array_equal(uf_a, uf_b)  # deterministic
    assert not np.allclose(uf_a, uf_c)


def test_explicit_zero_has_zero_weight():
    """On a 1-user problem: a stored 0 at item 1 gives the same user factors as no entry at all
    when item 1's row is zero-weighted; checked against the closed-form weighted least squares."""
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(4, 3)).astype(np.float64)
    reg = 0.1
    # stored entries: item 0 positive (c=1), item 1 explicit zero (c=0); items 2, 3 absent (weight 1, p=0)
    weights = np.array([1.0, 0.0, 1.0, 1.0])
    prefs = np.array([1.0, 0.0, 0.0, 0.0])
    A = Y.T @ (weights[:, None] * Y) + reg * np.eye(3)
    expected = np.linalg.solve(A, Y.T @ (weights * prefs))
    # implicit's update for one user: A = YtY + reg I + sum_stored (c - 1) y y^T, b = sum_{c>0} c y
    A_impl = Y.T @ Y + reg * np.eye(3) + (1 - 1) * np.outer(Y[0], Y[0]) + (0 - 1) * np.outer(Y[1], Y[1])
    assert np.allclose(np.linalg.solve(A_impl, Y[0]), expected)


def test_category_codes():
    codes = features.category_codes(pl.Series([3.0, None, 1.0, float("nan"), 3.0]))
    assert codes.tolist() == [2, 0, 1, 0, 2]  # missing -> -1, the smallest category
    assert features.category_codes(pl.Series(["b", None, "a"])).tolist() == [2, 0, 1]


def test_feature_tables(kuairec):
    train, test = features.time_split(features.add_label(kuairec.interactions))
    index = features.Index.fit(train)
    uf = np.arange(len(index.users) * 64, dtype=np.float32).reshape(-1, 64)
    itf = -np.arange(len(index.items) * 64, dtype=np.float32).reshape(-1, 64)
    tables = features.build_tables(train, kuairec.users, kuairec.items, index, uf, itf)
    assert tables.n_features == 157  # the seed's count
    assert tables.categorical == list(range(19))
    X = tables.matrix(test["user_id"].to_numpy(), test["video_id"].to_numpy(), chunk=7)
    assert X.shape == (test.height, 157) and X.dtype == np.float32 and X.flags.c_contiguous
    names = tables.names
    row = test.row(0, named=True)
    u = int(np.searchsorted(index.users, row["user_id"]))
    assert np.array_equal(X[0, names.index("user_als_0") : names.index("user_als_63") + 1], uf[u])
    user_rows = train.filter(pl.col("user_id") == row["user_id"]).height
    assert X[0, names.index("user_interaction_count")] == user_rows
    tags = kuairec.items.filter(pl.col("video_id") == row["video_id"])["tags"][0]
    assert X[0, names.index("num_categories")] == len(tags)
    raw = kuairec.users.filter(pl.col("user_id") == row["user_id"])["register_days"][0]
    assert X[0, names.index("register_days")] == raw
    # an item never seen in train gets zeros (the seed's fillna(0))
    unseen = tables.matrix(test["user_id"][:1].to_numpy(), np.array([10**9]))
    assert not unseen[0, 26 + 64 + 1 :].any()
    with pytest.raises(ValueError, match="unseen"):
        tables.matrix(np.array([10**9]), test["video_id"][:1].to_numpy())


def test_popularity_and_validation_split():
    train = pl.DataFrame({"video_id": [1, 1, 2, 2, 2], "label": [1, 1, 1, 0, 0]})
    test = pl.DataFrame({"video_id": [2, 3, 1]})
    assert models.popularity_scores(train, test).tolist() == [1.0, 0.0, 2.0]
    y = np.array([0] * 80 + [1] * 20)
    fit, val = models.validation_split(y, 0.2, 42)
    assert len(val) == 20 and y[val].sum() == 4 and len(np.intersect1d(fit, val)) == 0  # stratified


def test_user_major_reorders_rows_by_user_then_item():
    users = np.array([3, 1, 2, 1, 3, 2])
    items = np.array([9, 8, 7, 5, 4, 6])
    idx = np.array([0, 1, 3, 4, 5])  # row 2 held out
    order = models.user_major(idx, users, items)
    assert order.tolist() == [3, 1, 5, 4, 0]  # (1,5) (1,8) (2,6) (3,4) (3,9)


def test_lightgbm_params_are_the_seeds():
    p = models.LGB_PARAMS
    assert (p["learning_rate"], p["num_leaves"], p["colsample_bytree"], p["max_bin"]) == (0.05, 31, 0.8, 128)
    assert (p["reg_alpha"], p["reg_lambda"], p["subsample"], p["subsample_freq"]) == (0.1, 0.1, 0.8, 0)


def test_history_features_against_a_loop():
    """Every scalar feature of the `best` variant, recomputed naively from its definition."""
    history = pl.DataFrame(
        {"user_id": [0, 0, 0, 1, 1, 2], "video_id": [0, 1, 2, 0, 2, 1], "label": [1, 0, 1, 0, 1, 1]}
    ).with_columns(pl.col("label").cast(pl.Int8))
    items = pl.DataFrame({"video_id": [0, 1, 2, 3], "tags": [[0], [0, 1], [2], [1]]})
    prior = 10.0
    h = features.HistoryFeatures.fit(history, items, n_users=4, als=AlsParams(4, 0.01, 3, 1.0), seed=0, prior=prior)
    pairs = [(0, 3), (1, 1), (2, 0), (3, 2)]  # includes an item and a user absent from the history
    X = h.matrix(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
    rows = history.to_dicts()
    base = np.mean([r["label"] for r in rows])
    tags = {r["video_id"]: r["tags"] for r in items.to_dicts()}

    def rate(selected, fallback):
        return (sum(r["label"] for r in selected) + prior * fallback) / (len(selected) + prior)

    busiest = max(sum(r["video_id"] == v for r in rows) for v in tags)
    most_positives = max(sum(r["label"] for r in rows if r["video_id"] == v) for v in tags)
    # taste: the best rank-k approximation (numpy's exact SVD) of the residual matrix, label minus the
    # item's and the user's smoothed rates plus the mean, zero where the history has no row
    residual = np.zeros((4, 4))
    for r in rows:
        residual[r["user_id"], r["video_id"]] = (
            r["label"]
            - rate([q for q in rows if q["video_id"] == r["video_id"]], base)
            - rate([q for q in rows if q["user_id"] == r["user_id"]], base)
            + base
        )
    left, sing, right = np.linalg.svd(residual)
    k = h.taste_rank
    assert k == 3  # at most min(users, items) - 1
    taste = (left[:, :k] * sing[:k]) @ right[:k]
    for (u, i), x in zip(pairs, X):
        f = dict(zip(features.SCALAR_NAMES, x))
        item_rows = [r for r in rows if r["video_id"] == i]
        user_rate = rate([r for r in rows if r["user_id"] == u], base)
        # the user's smoothed rate on each tag, each row weighted by 1 / (tags of its item)
        tag_rates = []
        for t in tags[i]:
            w = [
                (r["label"], 1 / len(tags[r["video_id"]]))
                for r in rows
                if r["user_id"] == u and t in tags[r["video_id"]]
            ]
            tag_rates.append((sum(y * wt for y, wt in w) + prior * user_rate) / (sum(wt for _, wt in w) + prior))
        expected = {
            "als_score": float(h.user_factors[u] @ h.item_factors[i]),
            "item_rate": rate(item_rows, base),
            "item_positives": sum(r["label"] for r in item_rows) / most_positives,
            "item_log_count": np.log1p(len(item_rows)) / np.log1p(busiest),
            "user_rate": user_rate,
            "tag_rate": np.mean(tag_rates),
            "tag_lift": np.mean(tag_rates) - user_rate,
            "num_categories": len(tags[i]),
            "taste": taste[u, i],
        }
        assert f == pytest.approx(expected, rel=1e-5, abs=1e-6), (u, i)
    assert not h.item_factors[3].any() and not h.user_factors[3].any()  # unseen: zero factors, score 0


def test_taste_rank_is_chosen_on_later_rows():
    """Users and items with planted rank-2 tastes: the chosen rank ranks the later rows best, and the
    returned NDCG@10 of each candidate is the brute-force one."""
    from shared.eval.metrics import ranking_metrics

    rng = np.random.default_rng(0)
    n_users, n_items = 120, 90
    pref = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_items)) * 1.5
    u, i = np.divmod(np.arange(n_users * n_items), n_items)
    label = (rng.random(len(u)) < 1 / (1 + np.exp(-pref[u, i]))).astype(np.int8)
    early = rng.random(len(u)) < 0.6
    history = pl.DataFrame({"user_id": u[early], "video_id": i[early], "label": label[early]})
    items = pl.DataFrame({"video_id": np.arange(n_items), "tags": [[k % 31] for k in range(n_items)]})
    h = features.HistoryFeatures.fit(history, items, n_users=n_users, als=AlsParams(4, 0.01, 3, 1.0), seed=0)
    later = ~early
    scores = h.choose_taste_rank(u[later], i[later], label[later])
    for k, got in scores.items():
        brute = ranking_metrics(u[later], h.item_rate[i[later]] + h.taste(u[later], i[later], k), label[later], (10,))
        assert got == pytest.approx(brute["ndcg@10"], abs=1e-12)
    assert h.taste_rank == max(scores, key=scores.get) and h.taste_rank == 4  # the smallest candidate >= 2
