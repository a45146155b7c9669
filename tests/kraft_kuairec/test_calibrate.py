import numpy as np
import polars as pl
import pytest

from shared.twin import calibration
from solutions.kraft_kuairec import calibrate, pipeline, twin


def test_grid_is_every_combination():
    trials = calibration.grid(twin.Params, ["item_scale=1,2", "drift=0,-0.5,-1"])
    assert len(trials) == 6
    assert trials[0] == twin.Params(item_scale=1.0, drift=0.0)
    assert trials[-1] == twin.Params(item_scale=2.0, drift=-1.0, personal_scale=twin.Params().personal_scale)
    with pytest.raises(SystemExit, match="name one of"):
        calibration.grid(twin.Params, ["nonsense=1"])


def test_params_move_the_world(tmp_path):
    base = pl.read_parquet(twin.generate("tiny", 3, tmp_path / "a", twin.Params(drift=0.0)) / twin.TRUTH)
    drifted = twin.generate("tiny", 3, tmp_path / "b", twin.Params(drift=-2.0))
    truth = pl.read_parquet(drifted / twin.TRUTH)
    # same rows, same overall rate (the intercept is refitted), lower probabilities late in the period
    assert truth.select("user_id", "video_id").equals(base.select("user_id", "video_id"))
    assert truth["p"].mean() == pytest.approx(base["p"].mean(), abs=1e-9)
    from solutions.kraft_kuairec import data, features

    m = features.add_label(data.load(drifted).interactions).drop_nulls("timestamp")
    t = m["timestamp"].to_numpy()
    early, late = m.filter(pl.Series(t < np.median(t))), m.filter(pl.Series(t >= np.median(t)))
    assert early["label"].mean() > late["label"].mean() + 0.05


def test_artifacts_are_keyed_by_the_twin_version_and_its_parameters():
    calibrated = pipeline.Config(scale="tiny")
    other = pipeline.Config(scale="tiny", twin_params=twin.Params(item_scale=9.0))
    assert twin.VERSION in calibrated.tag and calibrated.tag.endswith(twin.VERSION)
    assert other.tag.startswith(calibrated.tag + "-p") and other.artifacts != calibrated.artifacts
    assert twin.folder("tiny", 1, other.twin_params) != twin.folder("tiny", 1)
    # the manifest names parameters only where they are not the calibrated ones
    assert "twin_params" not in calibrated.parameters() and "twin_params" not in calibrated.data_source()
    assert other.parameters()["twin_params"]["item_scale"] == 9.0
    assert other.data_source()["twin_params"]["item_scale"] == 9.0


def test_calibration_command_at_tiny(tmp_path, capsys):
    assert (
        calibrate.main(["--scale", "tiny", "--screen", "--grid", "item_scale=1,2", "--record-dir", str(tmp_path)]) == 0
    )
    assert (
        calibrate.main(
            ["--scale", "tiny", "--final", "--n-estimators", "10", "--with-best", "--record-dir", str(tmp_path)]
        )
        == 0
    )
    record = calibration.read_record("kraft_kuairec", tmp_path)
    assert record["config"].to_list() == ["screen", "screen", "faithful-10trees"]
    final = record.row(2, named=True)  # ours against the seed, paired by user
    assert final["best_minus_faithful.ndcg@10"] == pytest.approx(final["best.ndcg@10"] - final["ndcg@10"], abs=1e-9)
    assert 0 < final["best_minus_faithful.ndcg@10_se"] < 0.2
    assert record["param.item_scale"].to_list()[:2] == [1.0, 2.0]
    final = record.row(2, named=True)
    assert 0 < final["ndcg@10"] <= 1 and final["oracle.ndcg@10"] > final["random.ndcg@10"]
    assert final["precision@10"] is not None


def test_skewed_noise_keeps_mean_and_variance():
    z = np.random.default_rng(0).normal(size=400_000)
    assert np.array_equal(twin.skewed(z, 0.0), z)
    s = twin.skewed(z, 0.8)
    assert abs(s.mean()) < 0.01 and abs(s.std() - 1) < 0.02
    assert np.mean((s - s.mean()) ** 3) > 1.0  # right tail
    left = twin.skewed(z, -0.8)
    assert abs(left.std() - 1) < 0.02 and np.mean(left**3) < -1.0  # left tail
    assert (np.argsort(left) == np.argsort(z)).all()  # the same order as the draws
