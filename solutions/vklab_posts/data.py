"""The loader for ``post2ctr_dataset.csv``, checked against the release's format.

    view, like, comment, hide, expand, open_photo, open, share_to_message   int64 counts, never null;
                                                  view >= 1 (>= 1,000 in the release)
    text    raw VK post text (HTML entities, ``<br>``, mentions like ``[club123|@name]``); empty = null
    photo   a base64 JPEG string (``/9j/...``), RGB, longest side 256 px

23,527 rows; both sources split them with ``train_test_split(test_size=0.2, random_state=42)``
into 18,821 train and 4,706 test rows. Every bad input ends in one ``DataError`` naming the file,
the column and the (1-based data) row.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import train_test_split

from shared.data.tables import read_csv_checked, require
from shared.runtime.errors import DataError

FILENAME = "post2ctr_dataset.csv"
COUNTS = ("view", "like", "comment", "hide", "expand", "open_photo", "open", "share_to_message")
COLUMNS = (*COUNTS, "text", "photo")
SCHEMA = {**{c: pl.Int64 for c in COUNTS}, "text": pl.String, "photo": pl.String}
ACTIVITIES = COUNTS[1:]
TARGET_A = "open_photo"  # source (a): open_photo / view
TARGETS_B = ("like", "comment", "share_to_message")  # source (b): CatBoost MultiRMSE
TARGETS = (TARGET_A, *TARGETS_B)
N_ROWS = 23_527
TEST_SIZE, SPLIT_SEED = 0.2, 42


@dataclass
class Posts:
    frame: pl.DataFrame  # the file's columns plus ``row`` (0-based position in the file)
    path: Path

    @property
    def n(self) -> int:
        return self.frame.height

    def rates(self, targets=TARGETS) -> np.ndarray:
        """(n, len(targets)) count / view, clipped to [0, 1] (an activity counted more often than
        the post was viewed is read as a rate of 1)."""
        view = self.frame["view"].to_numpy().astype(np.float64)
        return np.column_stack([np.clip(self.frame[t].to_numpy() / view, 0.0, 1.0) for t in targets])


def resolve_files(folder: str | Path) -> list[Path]:
    path = Path(folder) / FILENAME
    if not path.is_file():
        raise DataError(
            f"{path}: file not found (the VK-Lab posts file {FILENAME} is supplied by the user, "
            f"see solutions/vklab_posts/README.md)"
        )
    return [path]


def load(folder: str | Path) -> Posts:
    """Read and check ``post2ctr_dataset.csv`` in ``folder``."""
    (path,) = resolve_files(folder)
    df = read_csv_checked(path, SCHEMA, nullable=("text",), drop_index=True)
    for col in COUNTS:
        bad = df[col] < (1 if col == "view" else 0)
        if bad.any():
            row = int(bad.arg_max())
            need = ">= 1 (a rate needs views)" if col == "view" else ">= 0"
            raise DataError(
                f"{path.name}: column '{col}' = {df[col][row]} at data row {row + 1}; counts must be {need}"
            )
    empty = df["photo"].str.len_bytes() == 0
    require(not empty.any(), path, f"column 'photo' is empty at data row {int(empty.arg_max()) + 1}")
    text = pl.when(pl.col("text").str.len_bytes() > 0).then(pl.col("text"))  # a quoted "" is no text too
    return Posts(df.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64), text=text), path)


def split(n: int, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Both sources' split: ``train_test_split(range(n), test_size=0.2, random_state=42)``; row
    positions of train and test (in the order sklearn returns them)."""
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    return np.asarray(train), np.asarray(test)


def decode_photo(b64: str, row: int, name: str = FILENAME) -> Image.Image:
    """The RGB image of one ``photo`` cell; ``row`` is the 0-based data row, for the message."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise DataError(f"{name}: column 'photo' at data row {row + 1} is not valid base64 ({exc})") from None
    try:
        with Image.open(io.BytesIO(raw)) as img:
            return img.convert("RGB")  # convert() loads every byte: a truncated JPEG fails here
    except UnidentifiedImageError:
        raise DataError(f"{name}: column 'photo' at data row {row + 1} is not an image (starts {raw[:8]!r})") from None
    except OSError as exc:
        raise DataError(f"{name}: column 'photo' at data row {row + 1} is a broken image ({exc})") from None
