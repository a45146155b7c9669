import numpy as np
import pytest

from shared import calibration
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
    args = ["--scale", "tiny", "--sasrec-only", "--epochs", "1", "--grid", "chain_scale=0.5", "--record-dir", str(tmp_path)]
    assert calibrate.main(args) == 0
    row = calibration.read_record("hse_sasrec", tmp_path).row(0, named=True)
    assert row["config"] == "sasrec-1epochs-patience10" and row["param.chain_scale"] == 0.5
    assert 0 <= row["sasrec.hitrate"] <= 1 and row["oracle.hitrate"] > row["random.hitrate"]
    assert row["events"] == twin.SCALES["tiny"].n_events
