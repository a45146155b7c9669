import numpy as np
import pytest

from shared.twin import calibration
from solutions.hse_sasrec import calibrate, pipeline, twin


def test_chain_scale_zero_removes_the_chains():
    sc = twin.SCALES["tiny"]
    base, flat = twin.make_world(sc, 1), twin.make_world(sc, 1, twin.Params(chain_scale=0.0))
    assert (base.chain > 0).all() and (flat.chain == 0).all()
    assert np.array_equal(base.stick, flat.stick)  # the other parameter is untouched
    # without chains, two unseen items of the last item's genre compare as their popularity does
    users, last = np.array([0]), np.array([5])
    seen = np.zeros((1, len(flat.cluster)), bool)
    seen[0, 5] = True
    p = twin.next_item_probs(flat, users, last, seen)[0]
    same = np.flatnonzero((flat.cluster == flat.cluster[5]) & ~seen[0])[:2]
    assert p[same[0]] / p[same[1]] == pytest.approx(flat.pop_in_cluster[same[0]] / flat.pop_in_cluster[same[1]])
    successor = base.successors[5, 0]
    assert twin.next_item_probs(base, users, last, seen)[0, successor] > p[successor]


def test_trial_twins_are_kept_apart():
    other = pipeline.Config(scale="tiny", twin_params=twin.Params(chain_scale=0.5))
    assert other.tag.startswith(pipeline.Config(scale="tiny").tag + "-p")
    assert twin.folder("tiny", 42, other.twin_params) != twin.folder("tiny", 42)
    assert "twin_params" not in pipeline.Config(scale="tiny").parameters()


def test_screening_command_at_tiny(tmp_path):
    args = [
        "--scale",
        "tiny",
        "--sasrec-only",
        "--epochs",
        "1",
        "--grid",
        "chain_scale=0.5",
        "--record-dir",
        str(tmp_path),
    ]
    assert calibrate.main(args) == 0
    row = calibration.read_record("hse_sasrec", tmp_path).row(0, named=True)
    assert row["config"] == "sasrec-1epochs-patience10" and row["param.chain_scale"] == 0.5
    assert 0 <= row["sasrec.hitrate"] <= 1 and row["oracle.hitrate"] > row["random.hitrate"]
    assert row["events"] == twin.SCALES["tiny"].n_events


def test_taste_concentration_sharpens_the_genre_taste_only():
    sc = twin.SCALES["small"]
    sharp, diffuse = twin.make_world(sc, 42), twin.make_world(sc, 42, twin.Params(taste_concentration=6.0))
    assert twin.Params().taste_concentration == 2.0  # the calibrated value (README)
    # the user's favourite genre: about 56 % of the taste at 2.0, 40 % at 6.0 (Dirichlet around the group mix)
    assert sharp.taste.max(axis=1).mean() == pytest.approx(0.559, abs=0.01)
    assert diffuse.taste.max(axis=1).mean() == pytest.approx(0.401, abs=0.01)
    assert np.allclose(sharp.taste.sum(axis=1), 1.0)
    for kept in ("lengths", "cluster", "successors", "pop_in_cluster"):
        assert np.array_equal(getattr(sharp, kept), getattr(diffuse, kept)), kept
    # the taste's gamma draws use the users' stream by rejection, so stickiness and chain affinity are
    # other draws of the same distributions, not the same numbers
    assert sharp.chain.mean() == pytest.approx(diffuse.chain.mean(), abs=0.01)
    assert sharp.stick.mean() == pytest.approx(diffuse.stick.mean(), abs=0.01)


def test_the_calibrated_chain_affinity():
    world = twin.make_world(twin.SCALES["small"], 42)
    assert twin.Params().chain_scale == 0.55
    # q_u = 0.55 x Beta(3, 3): mean 0.275, never above 0.55
    assert world.chain.mean() == pytest.approx(0.275, abs=0.01) and world.chain.max() <= 0.55
