"""Reading official CSV files with a checked schema.

A wrong file fails with one ``DataError`` line naming the file, the column and the first bad
value, never a stack trace from inside the CSV parser.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Collection, Mapping
from pathlib import Path

import polars as pl

from shared.runtime.errors import DataError

INDEX_NAMES = ("", "Unnamed: 0")  # the header pandas gives its index column


def read_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as f:  # a BOM (spreadsheet re-saves) is fine
        try:
            return next(csv.reader(f))
        except StopIteration:
            raise DataError(f"{path.name}: file is empty") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"{path.name}: not a CSV text file ({exc})") from None


def _first_bad_cast(path: Path, schema: Mapping[str, pl.DataType]) -> str:
    """Find the first column whose text does not parse as its dtype (slow path, errors only)."""
    raw = pl.read_csv(path, infer_schema=False)
    for name, dtype in schema.items():
        col = raw[name]
        cast = col.cast(dtype, strict=False)
        bad = cast.is_null() & col.is_not_null() & (col.str.strip_chars() != "")
        if dtype.is_float():  # "nan" and "" are valid missing floats
            bad = bad & ~col.str.to_lowercase().is_in(["nan", ""])
        if bad.any():
            row = int(bad.arg_max())
            return f"column '{name}' has a value that is not {dtype}: {col[row]!r} (data row {row + 1})"
    return "cannot be parsed"


def read_csv_checked(
    path: str | os.PathLike,
    schema: Mapping[str, pl.DataType],
    nullable: Collection[str] = (),
    drop_index: bool = False,
) -> pl.DataFrame:
    """Read ``path`` with exactly the columns of ``schema`` (any order; returned in schema order),
    each cast to its dtype; columns outside ``nullable`` may not hold missing values. With
    ``drop_index`` a leading unnamed column (what ``pandas.to_csv`` writes by default) is dropped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    header = read_header(path)
    if drop_index and header and header[0] in INDEX_NAMES:
        header = header[1:]
    missing = [c for c in schema if c not in header]
    extra = [c for c in header if c not in schema]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        raise DataError(f"{path.name}: {'; '.join(parts)}; expected {list(schema)}")
    if len(set(header)) != len(header):
        raise DataError(f"{path.name}: duplicate column names in header {header}")
    try:
        df = pl.read_csv(path, schema_overrides=dict(schema))
    except (pl.exceptions.PolarsError, OSError):
        raise DataError(f"{path.name}: {_first_bad_cast(path, schema)}") from None
    df = df.select(list(schema))
    if df.height == 0:
        raise DataError(f"{path.name}: no data rows")
    for name in schema:
        if name in nullable:
            continue
        n_null = df[name].null_count()
        if n_null:
            row = int(df[name].is_null().arg_max())
            raise DataError(f"{path.name}: column '{name}' has {n_null} missing value(s), first at data row {row + 1}")
    return df


def require(condition: bool, path: str | os.PathLike, message: str) -> None:
    """Raise a DataError naming the file when a value check fails."""
    if not condition:
        raise DataError(f"{Path(path).name}: {message}")
