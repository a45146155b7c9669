"""The twin: the release's counts at full, and a sampler that draws from the stated distribution."""

import numpy as np
import polars as pl

from shared.twin.blocks import stream
from solutions.hse_sasrec import data, twin


def test_full_scale_has_the_real_counts(tmp_path):
    d = data.load(twin.generate("full", 42, tmp_path))
    per_user = d.events.group_by("user_id").len()["len"]
    assert (d.events.height, d.n_users, d.n_items) == (894_149, 6_040, 3_706)
    assert (per_user.min(), per_user.max()) == (14, 2_056)
    assert 75 <= per_user.median() <= 95  # real: 84.5
    assert abs(d.events["rating"].mean() - twin.REAL_MEAN_RATING) < 0.1  # 3.66 against MovieLens-1M's 3.58
    assert d.events.select(pl.struct("user_id", "item_id").is_unique().all()).item()  # a movie is rated once
    truth = pl.read_parquet(tmp_path / twin.TRUTH)
    assert truth.height == 6_040 and truth.join(d.events, on=["user_id", "item_id"]).height == 0  # hidden item unseen


def test_the_sampler_draws_from_next_item_probs():
    """Rejection sampling plus the exact fallback equal the stated distribution: many draws for one
    state against next_item_probs (total variation under 0.03 with 60,000 draws)."""
    world = twin.world_for("tiny", 42)
    n_items = len(world.cluster)
    rng = stream(0, "test")
    user, last = 3, int(world.successors[10, 0])
    seen = np.zeros(n_items, bool)
    seen[world.successors[last, :3]] = True  # the likeliest chain items are seen: rejection matters
    seen[last] = True
    n = 60_000
    draws = twin._draw(world, rng, np.full(n, user), np.full(n, last), np.broadcast_to(seen, (n, n_items)))
    freq = np.bincount(draws, minlength=n_items) / n
    probs = twin.next_item_probs(world, np.array([user]), np.array([last]), seen[None])[0]
    assert freq[seen].sum() == 0
    assert 0.5 * np.abs(freq - probs).sum() < 0.03
    chain_next = world.successors[last, 3]
    assert probs[chain_next] > 20 / n_items  # the first unseen successor is a planted favourite


def test_first_items_follow_taste_and_popularity():
    world = twin.world_for("tiny", 42)
    probs = twin.next_item_probs(world, np.array([0]), np.array([-1]), np.zeros((1, len(world.cluster)), bool))[0]
    expected = world.taste[0, world.cluster] * world.pop_in_cluster
    np.testing.assert_allclose(probs, expected / expected.sum())
