import numpy as np
import polars as pl
import pytest

from shared.twin import calibration
from solutions.vklab_posts import calibrate, pipeline, twin


def test_params_move_only_open_photo():
    traits = twin.draw_traits(4_000, 1)
    base = twin.true_rates(traits, 1)
    flat = twin.true_rates(traits, 1, twin.Params(photo_scale=0.0, open_photo_rate=0.02))
    assert flat["open_photo"].mean() == pytest.approx(0.02, abs=1e-6)
    for a in ("like", "comment", "share_to_message"):
        assert np.array_equal(flat[a], base[a])
    # without the photo's traits open_photo no longer depends on the colour: only on quality
    hue = pl.DataFrame({"hue": traits.hue, "base": base["open_photo"], "flat": flat["open_photo"]})
    by_hue = hue.group_by("hue").agg(pl.col("base", "flat").mean())
    assert by_hue["base"].max() / by_hue["base"].min() > 1.8
    assert by_hue["flat"].max() / by_hue["flat"].min() < 1.1


def test_trial_twins_are_kept_apart():
    other = pipeline.Config(scale="tiny", twin_params=twin.Params(photo_scale=0.5))
    assert other.tag.startswith(pipeline.Config(scale="tiny").tag + "-p")
    assert twin.folder("tiny", 42, other.twin_params) != twin.folder("tiny", 42)
    assert other.data_source()["twin_params"]["photo_scale"] == 0.5


def test_calibration_command_at_tiny(tmp_path):
    assert calibrate.main(["--scale", "tiny", "--final", "--record-dir", str(tmp_path)]) == 0
    row = calibration.read_record("vklab_posts", tmp_path).row(0, named=True)
    assert row["config"] == "heads" and row["param.photo_scale"] == twin.Params().photo_scale
    assert row["best_head.gain"] == pytest.approx(row["constant.logloss"] - row["best_head.logloss"], abs=2e-6)
    assert row["oracle.logloss"] < row["constant.logloss"]
