"""The vectorised history features equal the plain loop, row for row, ties and the faithful bug
included; hand-made cases pin the definition itself."""

import numpy as np
import polars as pl
import pytest

from solutions.vk_clips import features
from solutions.vk_clips.data import DISLIKE, IGNORE, LIKE


def _random_case(seed, n=3000, n_users=25, n_items=60):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n_items, 32)).astype(np.float32)
    emb[7] = emb[3]  # two items with one embedding: exact ties between different items
    emb[11] = 0.0  # a zero embedding: similarity 0 to everything
    user = rng.integers(0, n_users, n).astype(np.uint32)
    user[:40] = 0  # one heavy user spanning several blocks
    item = rng.integers(0, n_items, n).astype(np.uint32)
    cls = rng.choice([DISLIKE, IGNORE, LIKE], n, p=[0.1, 0.6, 0.3])
    return user, item, cls, emb


@pytest.mark.parametrize("variant", ["faithful", "fixed"])
@pytest.mark.parametrize("window", [None, 5])
def test_matches_the_loop_on_train_rows(variant, window):
    user, item, cls, emb = _random_case(1)
    fast = features.history_slots(user, item, cls, emb, variant, window, block=16)
    slow = features.history_reference(user, item, cls, emb, variant, window)
    assert fast.dtype == np.int32 and fast.shape == (len(user), 3)
    np.testing.assert_array_equal(fast, slow)
    assert (fast == -1).any() and (fast >= 0).any()


@pytest.mark.parametrize("variant", ["faithful", "fixed"])
def test_matches_the_loop_on_test_queries(variant):
    user, item, cls, emb = _random_case(2)
    rng = np.random.default_rng(3)
    q_user = np.repeat(np.arange(0, 30), 4).astype(np.uint32)  # users 25..29 have no history
    q_item = rng.integers(0, 60, len(q_user))
    fast = features.history_slots(user, item, cls, emb, variant, 5, (q_user, q_item), block=3)
    slow = features.history_reference(user, item, cls, emb, variant, 5, (q_user, q_item))
    np.testing.assert_array_equal(fast, slow)
    assert (fast[q_user >= 25] == -1).all()


def test_groups_of_users_do_not_change_the_result():
    user, item, cls, emb = _random_case(4)
    one = features.history_by_class(features.Reactions.of(user, item, cls), emb, window=7)
    many = features.history_by_class(features.Reactions.of(user, item, cls), emb, window=7, max_queries=97)
    for c in one:
        np.testing.assert_array_equal(one[c], many[c])


def test_hand_made_case():
    # items 0..3 on the axes; item 4 closest to item 1; item 5 a copy of item 2
    emb = np.zeros((6, 32), np.float32)
    emb[0, 0] = emb[1, 1] = emb[2, 2] = emb[3, 3] = 1
    emb[4, 1], emb[4, 0] = 1.0, 0.5
    emb[5, 2] = 3.0  # same direction as item 2: cosine ties with it
    user = np.zeros(7, np.uint32)
    item = np.array([0, 1, 2, 5, 3, 4, 2])
    cls = np.array([LIKE, LIKE, DISLIKE, DISLIKE, IGNORE, IGNORE, LIKE])
    fixed = features.history_slots(user, item, cls, emb, "fixed")
    faithful = features.history_slots(user, item, cls, emb, "faithful")
    # row 0: nothing earlier; row 1: like 0; rows 2-3: likes 0, 1 (orthogonal to item 2/5: tie -> earliest 0)
    assert fixed[:4, 0].tolist() == [-1, 0, 0, 0]
    # row 3 (item 5): earlier dislike item 2 has cosine 1
    assert fixed[3, 1] == 2
    # row 5 (item 4): nearest like is item 1; dislikes 2 and 5 tie at 0 -> the earliest, 2; ignore: item 3
    assert fixed[5].tolist() == [1, 2, 3]
    assert faithful[5].tolist() == [1, 2, 2]  # the source's bug: the third slot is the dislike again
    # row 6 (item 2): dislikes 2 and 5 both have cosine 1 -> the earliest, item 2
    assert fixed[6, 1] == 2


def test_history_vectors():
    """The model's 96-d history input: the three slot items' embeddings, zeros for an empty slot."""
    import polars as pl
    import torch

    from solutions.vk_clips.models import Tables

    emb = np.arange(6 * 32, dtype=np.float32).reshape(6, 32)
    items = pl.DataFrame(
        {"item_id": np.arange(6), "source_id": np.zeros(6), "duration": np.full(6, 5), "embeddings": emb}
    ).cast({"item_id": pl.UInt32, "source_id": pl.UInt32, "duration": pl.UInt8})
    users = pl.DataFrame({"user_id": [0], "gender": [1], "age": [18]})
    vec = Tables.build(users, items, 1, 6).history(torch.tensor([[1, -1, 5]])).numpy()
    assert vec.shape == (1, 96)
    np.testing.assert_array_equal(vec[0, :32], emb[1])
    assert (vec[0, 32:64] == 0).all()
    np.testing.assert_array_equal(vec[0, 64:], emb[5])


def test_similarity_is_exact():
    """Integer grid: any summation order gives the same bits."""
    rng = np.random.default_rng(0)
    grid = features.unit_grid(rng.normal(size=(50, 32)))
    a = grid @ grid.T
    b = np.array(
        [[sum(float(x) * float(y) for x, y in zip(grid[i][::-1], grid[j][::-1])) for j in range(50)] for i in range(5)]
    )
    np.testing.assert_array_equal(a[:5], b)
    assert np.all(np.abs(a) < 2.0**53)


# ---------------------------------------------------------------- ranker features


def _history():
    """Three users, two sources; items 0, 1 of source 0, item 2 of source 1 (durations 10, 20, 40)."""
    return pl.DataFrame(
        {
            "user_id": [0, 0, 0, 1, 1, 2, 2, 2],
            "item_id": [0, 1, 2, 0, 2, 1, 2, 0],
            "timespent": [10, 5, 40, 20, 10, 20, 40, 10],
            "like": [1, 0, 0, 1, 0, 0, 1, 0],
            "dislike": [0, 0, 1, 0, 0, 1, 0, 0],
            "share": [1, 0, 0, 0, 0, 0, 0, 0],
            "bookmarks": [0, 0, 0, 0, 0, 0, 0, 0],
        }
    ).with_columns(cls=pl.col("like") - pl.col("dislike") + 1)


def test_ranker_features_by_hand():
    items = pl.DataFrame({"item_id": [0, 1, 2], "source_id": [0, 0, 1], "duration": [10, 20, 40]})
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    h = _history()
    q = pl.DataFrame({"user_id": [0, 1], "item_id": [1, 0]})
    f = features.ranker_features(h, q, items, 3, emb).row(0, named=True)  # user 0, item 1
    P, PI = features.PRIOR_ROWS, features.ITEM_PRIOR_ROWS
    like_all = 3 / 8
    source0 = (2 + P * like_all) / (5 + P)  # source 0: items 0, 1 in 5 rows, 2 likes
    assert f["source_like"] == pytest.approx(source0)
    assert f["item_like"] == pytest.approx((0 + PI * source0) / (2 + PI))  # item 1: 2 rows, no like
    assert f["item_n"] == 2 and f["user_n"] == 3 and f["user_source_n"] == 2
    user0 = (1 + P * like_all) / (3 + P)
    assert f["user_like"] == pytest.approx(user0)
    assert f["user_source_like"] == pytest.approx((1 + P * user0) / (2 + P))  # user 0 on source 0: 1 like in 2
    assert f["user_source_like_lift"] == pytest.approx(f["user_source_like"] - user0)
    watch_item1 = (np.log(5 / 20) + np.log(20 / 20)) / 2  # log(timespent / duration), 2 rows
    watch_all = (np.log(2) + 2 * np.log(0.25)) / 8  # the other six rows watched exactly the clip's length
    source0_watch = (np.log(2) + np.log(0.25) + P * watch_all) / (5 + P)
    assert f["source_watch"] == pytest.approx(source0_watch)
    assert f["item_watch"] == pytest.approx((2 * watch_item1 + PI * source0_watch) / (2 + PI))
    assert f["cos_liked"] == pytest.approx(0.0)  # user 0 liked item 0 = (1, 0); item 1 = (0, 1)
    assert f["cos_disliked"] == pytest.approx(np.sqrt(0.5))  # disliked item 2 = (1, 1) / sqrt 2
    logs = np.log([1.0, 0.25, 1.0])  # user 0 watched items 0, 1, 2 for 1, 1/4, 1 of their length
    taste = ((logs - logs.mean())[:, None] * np.array([[1, 0], [0, 1], [np.sqrt(0.5)] * 2])).sum(axis=0)
    assert f["cos_watched"] == pytest.approx(taste[1] / np.linalg.norm(taste))  # item 1 = (0, 1): watched least
    assert f["cos_watched"] < 0
    g = features.ranker_features(h, q, items, 3, emb).row(1, named=True)  # user 1, item 0
    assert g["cos_liked"] == pytest.approx(1.0)
    assert g["cos_disliked"] == 0.0  # no dislike: a zero taste vector


def test_ranker_features_of_unseen_item_and_user_are_missing_or_prior():
    items = pl.DataFrame({"item_id": [0, 1, 2, 3], "source_id": [0, 0, 1, 1], "duration": [10, 20, 40, 5]})
    emb = np.eye(4)
    f = features.ranker_features(_history(), pl.DataFrame({"user_id": [7], "item_id": [3]}), items, 8, emb).row(
        0, named=True
    )
    assert f["item_n"] == 0 and f["user_n"] == 0
    assert f["item_like"] == pytest.approx(f["source_like"])  # an unseen item is its source


def test_ranker_windows_never_see_their_own_rows_or_later():
    """Shuffling and changing the rows after a window, and the labels of the window's own rows,
    leaves that window's features as they were: no statistic includes the row it labels."""
    rng = np.random.default_rng(0)
    n = 400
    h = pl.DataFrame(
        {
            "user_id": rng.integers(0, 12, n),
            "item_id": rng.integers(0, 30, n),
            "timespent": rng.integers(1, 60, n),
            "like": rng.integers(0, 2, n),
            "dislike": np.zeros(n, dtype=int),
            "share": rng.integers(0, 2, n),
            "bookmarks": np.zeros(n, dtype=int),
        }
    ).with_columns(cls=pl.col("like") + 1)
    items = pl.DataFrame({"item_id": np.arange(30), "source_id": np.arange(30) % 4, "duration": np.full(30, 30)})
    emb = rng.normal(size=(30, 5))
    edges = (0.5, 0.75, 1.0)
    X, pos, window = features.ranker_windows(h, edges, items, 12, emb)
    assert pos.tolist() == list(range(200, 400)) and window.tolist() == [0] * 100 + [1] * 100
    own = h[200:300].with_columns(like=1 - pl.col("like"), timespent=pl.col("timespent") + 7)  # the labels
    future = h[300:].sample(fraction=1.0, shuffle=True, seed=1).with_columns(like=1 - pl.col("like"))
    changed = pl.concat([h[:200], own, future]).with_columns(cls=pl.col("like") + 1)
    X2, pos2, window2 = features.ranker_windows(changed, edges, items, 12, emb)
    first = pl.Series(window == 0)
    assert X2.filter(first).equals(X.filter(first))
    later = pl.Series(window == 1)  # not vacuous: the second window's features see the changed first window
    assert not X2.filter(later).equals(X.filter(later))
