"""The notebooks' closing cells say what this run's numbers say (and stay silent on hidden labels)."""

import polars as pl

from solutions.vk_clips import plots

TABLE = pl.DataFrame(
    {
        "model": ["random", "popularity", "als", "dcn_nohistory", "dcn_faithful", "dcn_fixed", "sequence", "oracle"],
        "auc": [0.50, 0.58, 0.53, 0.61, 0.62, 0.615, 0.612, 0.79],
        "auc_expected": [0.50, 0.57, 0.52, 0.61, 0.62, 0.619, 0.611, 0.83],
        "auc_zero": [0.3, 0.4, 0.35, 0.45, 0.46, 0.455, 0.452, 0.6],
    }
)
TRAIN = pl.DataFrame({"user_id": [0, 0, 1, 1], "like": [1, 0, 0, 0], "dislike": [0, 1, 0, 0]})
TEST = pl.DataFrame({"user_id": [0] * 20 + [1] * 20})


def test_closings_quote_the_run():
    text = plots.closing_baselines(TABLE, TRAIN).data
    assert (
        "Popularity reaches 0.580" in text
        and "scores 0.530, below popularity" in text
        and "50.0% of train rows" in text
    )
    diff = {"auc": 0.004, "auc_se": 0.003, "auc_expected": 0.001, "auc_expected_se": 0.002}
    gain = {"auc": 0.002, "auc_se": 0.003, "auc_expected": 0.0004, "auc_expected_se": 0.0004}
    text = plots.closing_dcn(TABLE, 512, diff, gain).data
    assert "with the faithful history 0.6200 (+0.0100)" in text and "+0.0010 ± 0.0020" in text
    assert "dcn_faithful minus dcn_nohistory is +0.0004 ± 0.0004" in text  # the history gain, paired
    assert "within two standard errors" in text and "batch 512" in text
    text = plots.closing_sequence(TABLE, {"epochs": 5, "best_epoch": 3}, {**diff, "auc_expected": -0.008}).data
    assert "-0.0080 ± 0.0020" in text and "more than two standard errors: a difference" in text and "best 3" in text
    text = plots.closing_submission(TABLE, "dcn_fixed").data
    assert "0.615 when the users" in text and "`dcn_faithful` (0.620)" in text
    text = plots.closing_data(TRAIN, TEST, True).data
    assert "4 train rows of 2 users; 2 test users" in text and "## Exercises" in text and "calibrated so that" in text


def test_real_data_closings_claim_nothing_about_hidden_labels():
    for md in (
        plots.closing_baselines(None, TRAIN),
        plots.closing_dcn(None, 16384, None),
        plots.closing_sequence(None, {}, None),
        plots.closing_submission(None, "dcn_faithful"),
    ):
        assert "hidden" in md.data or "leaderboard scores it" in md.data
        assert "synthetic twin" not in md.data
