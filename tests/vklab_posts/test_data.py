"""The loader against the release's format; photo decoding; the split."""

import base64
import io

import numpy as np
import polars as pl
import pytest
from PIL import Image

from shared.runtime.errors import DataError
from solutions.vklab_posts import data

HEADER = ",".join(data.COLUMNS)


def _jpeg(w=40, h=30) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


def _write(tmp_path, lines, header=HEADER):
    (tmp_path / data.FILENAME).write_text("\n".join([header, *lines]) + "\n")
    return tmp_path


def _row(view=1500, like=3, text="Привет &quot;мир&quot;<br>[club1|@x]", photo=None):
    cell = "" if text is None else f'"{text}"'  # pandas writes a missing text as an empty, unquoted cell
    return f"{view},{like},0,0,1,40,2,0,{cell},{photo or _jpeg()}"


def test_twin_loads_with_the_official_schema(tiny_dir):
    posts = data.load(tiny_dir)
    raw = pl.read_csv(tiny_dir / data.FILENAME, infer_schema=False)
    assert raw.columns == list(data.COLUMNS)
    assert posts.frame.columns == ["row", *data.COLUMNS]
    assert all(posts.frame[c].dtype == pl.Int64 for c in data.COUNTS)
    assert posts.frame["view"].min() >= 1000
    assert posts.frame["photo"].str.starts_with("/9j/").all()
    assert 0 < posts.frame["text"].null_count() < posts.n
    texts = posts.frame["text"].drop_nulls()
    assert texts.str.contains("<br>").any() and texts.str.contains(r"\[club\d+\|").any()
    assert texts.str.contains("&quot;|&#", literal=False).any()
    assert (posts.frame["row"].to_numpy() == np.arange(posts.n)).all()


def test_a_hand_written_file(tmp_path):
    posts = data.load(_write(tmp_path, [_row(), _row(view=2000, like=10, text=None), _row(text="")]))
    assert posts.n == 3 and posts.frame["text"][0] == "Привет &quot;мир&quot;<br>[club1|@x]"
    assert posts.frame["text"][1] is None and posts.frame["text"][2] is None  # missing, and quoted ""
    assert posts.rates(["like", "open_photo"])[:2] == pytest.approx(
        np.array([[3 / 1500, 40 / 1500], [10 / 2000, 40 / 2000]])
    )


def test_a_pandas_index_column_is_accepted(tmp_path):
    lines = [f"{i},{_row()}" for i in range(2)]
    assert data.load(_write(tmp_path, lines, header="," + HEADER)).n == 2


@pytest.mark.parametrize(
    "header, row, match",
    [
        (HEADER.replace(",share_to_message", ""), None, r"missing column\(s\) \['share_to_message'\]"),
        (HEADER, _row(like=-1), r"column 'like' = -1 at data row 2; counts must be >= 0"),
        (HEADER, _row(view=0), r"column 'view' = 0 at data row 2; counts must be >= 1"),
        (HEADER, _row(like="x"), r"column 'like' has a value that is not Int64: 'x' \(data row 2\)"),
    ],
)
def test_loader_errors_name_file_column_and_row(tmp_path, header, row, match):
    lines = [_row(), row] if row else [_row()]
    if row is None:
        lines = [",".join(_row().split(",")[:7] + _row().split(",")[8:])]
    with pytest.raises(DataError, match=f"{data.FILENAME}: {match}"):
        data.load(_write(tmp_path, lines, header))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="post2ctr_dataset.csv: file not found"):
        data.load(tmp_path)


def test_decode_photo():
    img = data.decode_photo(_jpeg(40, 30), 0)
    assert img.mode == "RGB" and img.size == (40, 30)
    good = base64.b64decode(_jpeg())
    with pytest.raises(DataError, match=r"column 'photo' at data row 8 is a broken image"):
        data.decode_photo(base64.b64encode(good[: len(good) // 2]).decode(), 7)
    with pytest.raises(DataError, match=r"column 'photo' at data row 3 is not an image"):
        data.decode_photo(base64.b64encode(b"hello, not a picture").decode(), 2)
    with pytest.raises(DataError, match=r"column 'photo' at data row 1 is not valid base64"):
        data.decode_photo("/9j/4AAQ!!", 0)


def test_split_is_the_sources():
    train, test = data.split(data.N_ROWS)
    assert (len(train), len(test)) == (18_821, 4_706)
    assert len(np.intersect1d(train, test)) == 0
    assert (test[:5] == data.split(data.N_ROWS)[1][:5]).all()
