"""shared.course.show: the one table display. Values as hand-written here: no quotes, no dtype row, each
float column at the decimals that keep its rows apart, long tables cut with a note."""

import types

import polars as pl
from IPython.core.formatters import DisplayFormatter

from shared.course import show


def test_decimals_keep_distinct_values_distinct():
    assert show.decimals([0.64221, 0.64143]) == 4  # 4 significant digits already separate them
    assert show.decimals([0.161800011, 0.161800024]) == 8  # the ten heads that all read 0.1618
    assert show.decimals([0.0074, 0.0075]) == 6  # 4 significant digits of a small value
    assert show.decimals([1.25, 287.5]) == 1
    assert show.decimals([20200708.0, 20200709.0]) == 0  # a whole-number float is an integer
    assert show.decimals([float("nan")]) == 0


def test_text_and_html_show_values_only():
    df = pl.DataFrame({"model": ["faithful", "ours"], "ndcg@10": [0.64221, 0.64143], "date": [20200708.0, None]})
    assert show.text(df).splitlines() == [
        "   model ndcg@10     date",
        "faithful  0.6422 20200708",
        "    ours  0.6414        –",
    ]
    html = show.html(df)
    assert "<td>faithful</td>" in html and "<td>0.6414</td>" in html and "<td>20200708</td>" in html
    assert "&quot;" not in html and "str" not in html and "shape" not in html


def test_long_tables_show_their_first_rows_and_say_so():
    assert show.text(pl.DataFrame({"k": range(50)})).count("\n") == 50  # header + 50 rows: about 40 is all
    long = show.text(pl.DataFrame({"k": range(51)})).splitlines()
    assert len(long) == 1 + show.ROWS + 1 and long[-1] == f"first {show.ROWS} of 51 rows"


def test_registered_for_polars_frames_in_ipython():
    shell = types.SimpleNamespace(display_formatter=DisplayFormatter())
    show.register(shell)
    data, _ = shell.display_formatter.format(pl.DataFrame({"model": ["a"], "x": [0.5]}))
    assert data["text/html"] == show.html(pl.DataFrame({"model": ["a"], "x": [0.5]}))
    assert data["text/plain"] == "model      x\n    a 0.5000"


def test_lists_show_their_first_values_and_length():
    df = pl.DataFrame({"item": [1, 2], "embedding": [[0.5, -1.25, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]]})
    assert show.text(df).splitlines()[1].split(maxsplit=1)[1] == "[0.5, -1.25, 2, …] (4 values)"
    assert show.text(pl.DataFrame({"x": [[1, 2]]})).splitlines()[1].strip() == "[1, 2]"
