import numpy as np
import pytest

from shared.twin import calibration
from solutions.vk_clips import calibrate, pipeline, twin


def test_params_scale_the_affinity_and_the_item_effect():
    sc = twin.SCALES["tiny"]
    unit = twin.Params(affinity_scale=1.0, item_scale=1.0)  # the twin as first built
    base = twin.make_world(sc, 1, unit)
    flat = twin.make_world(sc, 1, twin.Params(affinity_scale=0.0, item_scale=0.0))
    assert np.array_equal(base.popularity, flat.popularity)  # which items are drawn: unchanged
    assert np.array_equal(base.embeddings, flat.embeddings) and np.array_equal(base.v, flat.v)
    assert (flat.item_bias == 0).all() and base.item_bias.std() > 0.3
    users, items = np.arange(20), np.arange(20)
    like, dislike, affinity = twin.logits(flat, users, items, np.ones(20))
    assert (affinity == 0).all()
    # without both, a user's like logit differs between items only by the duration effect
    likers = np.isfinite(flat.like_bias[users])  # never-likers: -inf
    assert likers.sum() > 10
    assert np.allclose(like[likers] - flat.like_bias[users][likers], flat.duration_effect[items][likers])
    half = twin.make_world(sc, 1, twin.Params(affinity_scale=0.5, item_scale=1.0))
    _, _, a_half = twin.logits(half, users, items, np.ones(20))
    _, _, a_base = twin.logits(base, users, items, np.ones(20))
    assert np.allclose(a_half, 0.5 * a_base)
    # the class rates are recalibrated for any parameters: the pilot rows hit the real rates
    for world in (flat, half):
        rng = twin.stream(1, "pilot")
        u, i = twin.draw_rows(world, rng, 400_000)
        like, dislike, _ = twin.logits(world, u, i, rng.random(400_000))
        probs = twin.class_probs(world, like, dislike).mean(axis=0)
        assert probs[2] == pytest.approx(twin.LIKE_RATE, abs=1e-6)
        assert probs[0] == pytest.approx(twin.DISLIKE_RATE, abs=1e-6)


def test_medium_scale_keeps_the_real_densities():
    full, medium = twin.SCALES["full"], twin.SCALES["medium"]
    for field in ("n_users", "n_items", "n_sources", "n_test_users"):
        assert getattr(medium, field) / medium.n_rows == pytest.approx(getattr(full, field) / full.n_rows, rel=0.01)
    assert medium.n_rows == 3_000_000


def test_trial_twins_are_kept_apart():
    other = pipeline.Config(scale="tiny", twin_params=twin.Params(affinity_scale=0.5))
    assert other.tag.startswith(pipeline.Config(scale="tiny").tag + "-p")
    assert twin.folder("tiny", 42, other.twin_params) != twin.folder("tiny", 42)
    assert other.data_source()["twin_params"]["affinity_scale"] == 0.5
    assert "twin_params" not in pipeline.Config(scale="tiny").parameters()


def test_calibration_command_at_tiny(tmp_path):
    args = ["--scale", "tiny", "--grid", "affinity_scale=0.5", "--emb-dim", "4", "--record-dir", str(tmp_path)]
    assert calibrate.main(args) == 0
    row = calibration.read_record("vk_clips", tmp_path).row(0, named=True)
    assert row["config"] == "dcn-emb4" and row["param.affinity_scale"] == 0.5
    assert row["param.item_scale"] == twin.Params().item_scale  # the calibrated value where the grid is silent
    assert row["history_gain"] == pytest.approx(row["dcn_faithful.auc"] - row["dcn_nohistory.auc"], abs=2e-6)
    assert row["oracle.auc_expected"] > row["random.auc_expected"]
    assert row["train_rows"] == twin.SCALES["tiny"].n_rows
