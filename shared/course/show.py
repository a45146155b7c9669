"""One way to show a table, in every notebook and on the course site.

A polars DataFrame displayed in a notebook (a cell's last expression, or ``display(df)``) goes
through ``html``/``text`` here: ``import shared`` registers them with IPython. The table shows its
values, nothing else: no dtype row, no shape line, no quotes around strings, labels never cut, every
row up to ``ROWS`` (then the first ``ROWS`` and a line saying how many there are), and each float
column at the fewest decimals (at least ``SIGNIFICANT`` significant digits of its largest value) that
keep its distinct values distinct: two models that differ show different numbers. Whole-number
floats (a date stored as 20200708.0) show as integers; a list (an embedding) as its first three values
and its length.

pandas writes the HTML (``DataFrame.to_html``) from the formatted strings; polars' own display has
one precision for all columns and quotes its strings, so the formatting is ours.
"""

from __future__ import annotations

import numpy as np
import polars as pl

ROWS = 40  # shown in full up to ROWS + ROWS // 4 rows; longer tables show their first ROWS
SIGNIFICANT = 4
MOST_DECIMALS = 8
MISSING = "–"


def decimals(values: np.ndarray) -> int:
    """The decimals a float column is shown with (see the module's docstring)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0 or np.all(x == np.round(x)):
        return 0
    top = float(np.abs(x).max())
    d = max(0, SIGNIFICANT - 1 - int(np.floor(np.log10(top))))
    distinct = np.unique(np.round(x, 12)).size
    while d < MOST_DECIMALS and np.unique(np.round(x, d)).size < distinct:
        d += 1
    return d


def _list(v) -> str:
    """A list value (an embedding) as its first values and its length: the table stays readable."""
    if v is None:
        return MISSING
    head = ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in v[:3])
    return f"[{head}{', …' if len(v) > 3 else ''}] ({len(v)} values)" if len(v) > 3 else f"[{head}]"


def _column(s: pl.Series, rows: int) -> list[str]:
    """The first ``rows`` values of ``s`` as shown; a float column's decimals are chosen over all of
    it (numpy), so the shown rows read as the full table does, and only they are formatted."""
    head = s.head(rows).to_list()
    if isinstance(s.dtype, (pl.List, pl.Array)):
        return [_list(v) for v in head]
    if s.dtype.is_float():
        d = decimals(s.drop_nulls().to_numpy())
        return [MISSING if v is None or not np.isfinite(v) else f"{v:.{d}f}" for v in head]
    return [MISSING if v is None else str(v) for v in head]


def formatted(df: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The rows to show, every value as its shown text, and the table's full row count."""
    rows = df.height if df.height <= ROWS + ROWS // 4 else ROWS
    cols = {name: _column(df[name], rows) for name in df.columns}
    return pl.DataFrame(cols, schema={name: pl.String for name in df.columns}), df.height


def _note(shown: int, total: int) -> str:
    return "" if shown == total else f"first {shown} of {total:,} rows"


def html(df: pl.DataFrame) -> str:
    """The table as HTML (what a notebook and the site show)."""
    rows, total = formatted(df)
    table = rows.to_pandas().to_html(index=False, border=0, classes="recsys-table", na_rep=MISSING)
    note = _note(rows.height, total)
    return table + (f"\n<p><em>{note}</em></p>" if note else "")


def text(df: pl.DataFrame) -> str:
    """The table as aligned plain text (a terminal, a notebook's text form)."""
    rows, total = formatted(df)
    body = rows.to_pandas().to_string(index=False) if rows.width else ""
    note = _note(rows.height, total)
    return body + (f"\n{note}" if note else "")


def register(ipython) -> None:
    """Show every polars DataFrame displayed in ``ipython`` through ``html`` and ``text``."""
    formatters = ipython.display_formatter.formatters
    formatters["text/html"].for_type_by_name("polars.dataframe.frame", "DataFrame", html)
    formatters["text/plain"].for_type_by_name(
        "polars.dataframe.frame", "DataFrame", lambda df, printer, cycle: printer.text(text(df))
    )
