"""The submission: ``submission.csv`` with header ``user_id,item_id``, one row per user (sorted), and
item_id one string of 10 distinct item ids separated by spaces, best first (and ``ours.csv``, the
same for our SASRec, beside it)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from shared.runtime.errors import SubmissionError
from shared.runtime.paths import submissions_dir
from shared.track.submission import Report, SubmissionFormat, publish_run, validate_submission
from solutions.hse_sasrec import TRACK
from solutions.hse_sasrec.data import TOP_K

FORMAT = SubmissionFormat(
    name="HSE RecSys 2024 submission",
    columns=("user_id", "item_id"),
    keys=("user_id",),
    dtypes={"user_id": pl.Int64, "item_id": pl.String},
)
FILENAME = "submission.csv"
OURS_FILENAME = "ours.csv"  # beyond the source: SASRec as the literature trains it, the same format
# Largest change of a manifest metric still counted as the same result on another machine: the
# holdout HitRate@10 moves in steps of 1/n_users; 0.01 is about one standard error on the small
# twin (sqrt(0.5 * 0.5 / 1,500) = 0.013), so a change within it is noise.
TOLERANCE = 0.01


def submission_frame(recs: pl.DataFrame, n_users: int, k: int = TOP_K) -> pl.DataFrame:
    """recs (user_id, item_id, rank) -> one row per user with the space-joined item ids."""
    counts = recs.group_by("user_id").len()
    if counts.height != n_users or (counts["len"] != k).any():
        raise SubmissionError(f"need exactly {k} recommendations for each of {n_users} users")
    return (
        recs.sort("user_id", "rank")
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("item_id").cast(pl.String).str.join(" "))
    )


def validate(path: str | os.PathLike, n_users: int, n_items: int, k: int = TOP_K) -> pl.DataFrame:
    """The official format: every user once, exactly k distinct known item ids each."""
    name = Path(path).name
    df = validate_submission(path, FORMAT, pl.DataFrame({"user_id": np.arange(n_users, dtype=np.int64)}))
    parts = df["item_id"].str.split(" ")
    ids = parts.explode(empty_as_null=True).cast(pl.Int64, strict=False)
    lengths = parts.list.len().to_numpy()
    row_of = np.repeat(np.arange(df.height), lengths)
    bad_id = (ids.is_null() | (ids < 0) | (ids >= n_items)).to_numpy()
    if bad_id.any():
        r = int(row_of[np.argmax(bad_id)])
        raise SubmissionError(
            f"{name}: user_id {df['user_id'][r]} (data row {r + 1}) has an item id that is not "
            f"an integer in 0..{n_items - 1}: {df['item_id'][r]!r}"
        )
    distinct = parts.list.eval(pl.element().cast(pl.Int64)).list.n_unique().to_numpy()
    bad = (lengths != k) | (distinct != k)
    if bad.any():
        r = int(np.argmax(bad))
        raise SubmissionError(
            f"{name}: user_id {df['user_id'][r]} (data row {r + 1}) has {lengths[r]} item ids, "
            f"{distinct[r]} distinct; exactly {k} distinct ids are needed"
        )
    return df


def write(
    recs: pl.DataFrame,
    n_users: int,
    n_items: int,
    report: Report,
    directory: str | Path | None = None,
    ours: pl.DataFrame | None = None,
) -> Path:
    """Write, validate, then replace the previous submission and write the manifest. ``ours``: our
    model's recommendations, written beside it as ``OURS_FILENAME`` (never the submission)."""
    directory = Path(directory) if directory else submissions_dir(TRACK, report.profile)
    frames = {
        name: None if r is None else submission_frame(r, n_users)
        for r, name in ((recs, FILENAME), (ours, OURS_FILENAME))
    }
    return publish_run(
        directory, TRACK, frames, lambda new: validate(new, n_users, n_items), report, rows=n_users, tolerance=TOLERANCE
    )
