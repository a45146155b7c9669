"""The submission: test_pairs.csv in its order plus ``predict``, packed as submission.csv.7z."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from shared.runtime.errors import SubmissionError
from shared.runtime.paths import submissions_dir
from shared.track.submission import Report, SubmissionFormat, publish_run, validate_submission
from solutions.vk_clips import TRACK

FORMAT = SubmissionFormat(
    name="VK Clips submission",
    columns=("user_id", "item_id", "predict"),
    keys=("user_id", "item_id"),
    dtypes={"user_id": pl.Int64, "item_id": pl.Int64, "predict": pl.Float64},
)
FILENAME = "submission.csv.7z"
OURS_FILENAME = "ours.csv.7z"  # beyond the source: the learning-to-rank stack's scores, the same format
# Largest change of any manifest metric (per-user ROC-AUC) still counted as the same result on
# another machine (README, "Reproducibility"): with the dispatch pinned the submission is
# byte-identical on this machine; 0.005 is under half the standard error of the mean per-user AUC
# on the small twin (0.011 over 478 users with two classes), so a change within it is noise.
TOLERANCE = 0.005


def submission_frame(test: pl.DataFrame, scores: np.ndarray) -> pl.DataFrame:
    if len(scores) != test.height:
        raise ValueError(f"{len(scores)} scores for {test.height} test pairs")
    return pl.DataFrame(
        {
            "user_id": test["user_id"].cast(pl.Int64),
            "item_id": test["item_id"].cast(pl.Int64),
            "predict": np.asarray(scores, np.float64),
        }
    )


def validate(path: str | os.PathLike, test: pl.DataFrame) -> pl.DataFrame:
    """The official format, every test pair once, and the test file's order."""
    keys = test.select(pl.col("user_id", "item_id").cast(pl.Int64))
    df = validate_submission(path, FORMAT, keys)
    if not df.select("user_id", "item_id").equals(keys):
        row = int(np.argmax((df["user_id"] != keys["user_id"]) | (df["item_id"] != keys["item_id"]))) + 1
        raise SubmissionError(f"{Path(path).name}: rows are not in test_pairs.csv's order (first at data row {row})")
    return df


def write(
    test: pl.DataFrame,
    scores: np.ndarray,
    report: Report,
    directory: str | Path | None = None,
    ours: np.ndarray | None = None,
) -> Path:
    """Pack, validate, then replace the previous submission and write the manifest. ``ours``: our
    model's scores, written beside it as ``OURS_FILENAME`` in the same format (never the submission)."""
    directory = Path(directory) if directory else submissions_dir(TRACK, report.profile)
    frames = {
        name: None if s is None else submission_frame(test, s)
        for s, name in ((scores, FILENAME), (ours, OURS_FILENAME))
    }
    return publish_run(
        directory, TRACK, frames, lambda new: validate(new, test), report, rows=test.height, tolerance=TOLERANCE
    )
