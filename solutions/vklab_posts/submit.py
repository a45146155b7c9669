"""The predictions file: ``predictions.csv`` with header ``row,open_photo,like,comment,share_to_message``,
one line per test row (``row`` = 0-based position in post2ctr_dataset.csv, ascending) and each
target's predicted rate (activity count / view) in [0, 1]."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from shared.runtime.errors import SubmissionError
from shared.runtime.paths import submissions_dir
from shared.track.submission import Report, SubmissionFormat, publish_run, validate_submission
from solutions.vklab_posts import TRACK
from solutions.vklab_posts.data import TARGETS

FORMAT = SubmissionFormat(
    name="VK-Lab posts predictions",
    columns=("row", *TARGETS),
    keys=("row",),
    dtypes={"row": pl.Int64, **{t: pl.Float64 for t in TARGETS}},
)
FILENAME = "predictions.csv"
OURS_FILENAME = "ours.csv"  # beyond the source: open_photo from ours (pipeline.OURS), the rest as predictions.csv
PRECISION = 8  # decimals: comment rates are near 1e-3, six decimals would round away their detail
# Largest change of a manifest log loss still counted as the same result on another machine: the
# heads and CatBoost run float sums whose order depends on the CPU's kernels; 1e-4 is a tenth of
# the smallest model-to-model difference the README reads.
TOLERANCE = 1e-4


def validate(path: str | os.PathLike, test_rows: np.ndarray) -> pl.DataFrame:
    """Every test row once, ascending, each rate a number in [0, 1]."""
    name = Path(path).name
    df = validate_submission(path, FORMAT, pl.DataFrame({"row": np.sort(test_rows).astype(np.int64)}))
    if not df["row"].is_sorted():
        raise SubmissionError(f"{name}: rows are not in ascending order")
    for t in TARGETS:
        bad = ~df[t].is_between(0.0, 1.0)
        if bad.any():
            r = int(bad.arg_max())
            raise SubmissionError(f"{name}: column '{t}' = {df[t][r]} at data row {r + 1} is not a rate in [0, 1]")
    return df


def write(
    preds: pl.DataFrame,
    test_rows: np.ndarray,
    report: Report,
    directory: str | Path | None = None,
    ours: pl.DataFrame | None = None,
) -> Path:
    """Write, validate, then replace the previous file and write the manifest. ``ours``: the same
    format with our open_photo model, written beside it as ``OURS_FILENAME`` (never the submission)."""
    directory = Path(directory) if directory else submissions_dir(TRACK, report.profile)
    frames = {
        name: None if f is None else f.select("row", *TARGETS).sort("row")
        for f, name in ((preds, FILENAME), (ours, OURS_FILENAME))
    }
    return publish_run(
        directory,
        TRACK,
        frames,
        lambda new: validate(new, test_rows),
        report,
        rows=len(test_rows),
        tolerance=TOLERANCE,
        float_precision=PRECISION,
    )
