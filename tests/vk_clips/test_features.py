"""The vectorised history features equal the plain loop, row for row, ties and the faithful bug
included; hand-made cases pin the definition itself."""
import numpy as np
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
    fast = features.history_slots(user, item, cls, emb, variant, 5, q_user, q_item, block=3)
    slow = features.history_reference(user, item, cls, emb, variant, 5, q_user, q_item)
    np.testing.assert_array_equal(fast, slow)
    assert (fast[q_user >= 25] == -1).all()


def test_groups_of_users_do_not_change_the_result():
    user, item, cls, emb = _random_case(4)
    one = features.history_by_class(user, item, cls, emb, window=7)
    many = features.history_by_class(user, item, cls, emb, window=7, max_queries=97)
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
    items = pl.DataFrame({"item_id": np.arange(6), "source_id": np.zeros(6), "duration": np.full(6, 5),
                          "embeddings": emb}).cast({"item_id": pl.UInt32, "source_id": pl.UInt32, "duration": pl.UInt8})
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
    b = np.array([[sum(float(x) * float(y) for x, y in zip(grid[i][::-1], grid[j][::-1])) for j in range(50)] for i in range(5)])
    np.testing.assert_array_equal(a[:5], b)
    assert np.all(np.abs(a) < 2.0**53)
