import csv
import io
import shutil

import polars as pl
import pytest

from shared.runtime.errors import DataError
from solutions.kraft_kuairec import data, twin


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return twin.generate("tiny", 0, tmp_path_factory.mktemp("kuairec"))


def test_real_item_categories_fixture():
    items = data.load_item_categories(twin.ITEM_CATEGORIES_FIXTURE)
    assert items.height == 10_728
    assert items["video_id"].to_list() == list(range(10_728))
    lengths = items["tags"].list.len()
    assert lengths.min() == 1 and lengths.max() == 4
    assert items["tags"].explode(empty_as_null=False).n_unique() == 31
    assert items.filter(pl.col("video_id") == 1)["tags"].to_list() == [[27, 9]]


def test_real_user_features_fixture():
    """The real release file loads as it is, with its missing values as nulls (the seed's NaN)."""
    users = data.load_user_features(twin.USER_FEATURES_FIXTURE)
    assert users.height == 7_176 and users["user_id"].to_list() == list(range(7_176))
    nulls = {c: users[c].null_count() for c in users.columns if users[c].null_count()}
    assert nulls == {
        "onehot_feat4": 201,
        "onehot_feat12": 77,
        "onehot_feat13": 75,
        "onehot_feat14": 75,
        "onehot_feat15": 74,
        "onehot_feat16": 74,
        "onehot_feat17": 74,
    }
    maxima = [1, 7, 29, 1075, 11, 9, 2, 46, 339, 6, 4, 2, *[1] * 6]
    assert [users[f"onehot_feat{i}"].max() for i in range(18)] == maxima
    assert all(users[f"onehot_feat{i}"].min() == 0 for i in range(18))
    assert users["onehot_feat3"].n_unique() == 1_076
    for column, labels in data.RANGE_LABELS.items():
        assert set(users[column].unique()) == set(labels), column
    # written as integers, never 0.0; a missing value is an empty cell
    text = twin.USER_FEATURES_FIXTURE.read_text()
    assert ".0," not in text and ",," in text
    # the seed's categorical coding: a missing onehot_feat4 is its own category, code 0 (for -1)
    from solutions.kraft_kuairec.features import category_codes

    codes = category_codes(users["onehot_feat4"])
    assert codes.max() == 12 and (codes == 0).sum() == 201


def test_bom_is_accepted(tmp_path):
    path = tmp_path / data.USER_FEATURES
    path.write_bytes(b"\xef\xbb\xbf" + twin.USER_FEATURES_FIXTURE.read_bytes())
    assert data.load_user_features(path).equals(data.load_user_features(twin.USER_FEATURES_FIXTURE))


def test_load_twin(tiny_dir):
    k = data.load(tiny_dir)
    assert k.interactions.columns == list(data.SMALL_MATRIX_SCHEMA)
    assert k.users.columns == list(data.USER_FEATURES_SCHEMA)
    assert [f.name for f in k.files] == list(data.FILES)


def test_load_finds_data_subfolder(tiny_dir, tmp_path):
    shutil.copytree(tiny_dir, tmp_path / "data")
    assert data.resolve_files(tmp_path)[0] == tmp_path / "data" / data.SMALL_MATRIX


def _corrupt(tiny_dir, tmp_path, name, edit):
    out = tmp_path / "d"
    shutil.copytree(tiny_dir, out)
    lines = (out / name).read_text().splitlines()
    (out / name).write_text("\n".join(edit(lines)) + "\n")
    return out


def _replace_field(line, col, value):
    """``line`` with CSV field ``col`` replaced (the real user_features.csv quotes "(0,10]")."""
    parts = next(csv.reader([line]))
    parts[col] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(parts)
    return out.getvalue()


@pytest.mark.parametrize(
    "name, edit, message",
    [
        (
            data.SMALL_MATRIX,
            lambda ls: [ls[0].replace("watch_ratio", "ratio"), *ls[1:]],
            r"small_matrix.csv: missing column\(s\) \['watch_ratio'\]; unexpected column\(s\) \['ratio'\]",
        ),
        (
            data.SMALL_MATRIX,
            lambda ls: [ls[0], _replace_field(ls[1], 0, "abc"), *ls[2:]],
            r"small_matrix.csv: column 'user_id' has a value that is not Int64: 'abc' \(data row 1\)",
        ),
        (
            data.SMALL_MATRIX,
            lambda ls: [ls[0], _replace_field(ls[1], 0, "-5"), *ls[2:]],
            "small_matrix.csv: negative user_id or video_id",
        ),
        (
            data.SMALL_MATRIX,
            lambda ls: [ls[0], _replace_field(ls[1], 6, ""), *ls[2:]],
            "small_matrix.csv: time, date and timestamp must be missing together",
        ),
        (
            data.SMALL_MATRIX,
            lambda ls: [ls[0], ls[1], ls[1], *ls[2:]],
            r"small_matrix.csv: 1 duplicate \(user_id, video_id\) rows",
        ),
        (data.SMALL_MATRIX, lambda ls: [ls[0]], "small_matrix.csv: no data rows"),
        (
            data.SMALL_MATRIX,
            lambda ls: [ls[0], _replace_field(ls[1], 1, "99999"), *ls[2:]],
            r"small_matrix.csv: 1 video_id\(s\) not in item_categories.csv",
        ),
        (
            data.ITEM_CATEGORIES,
            lambda ls: [ls[0], "0,[8", *ls[2:]],
            r"item_categories.csv: feat is not a list of ints like '\[27, 9\]': '\[8' \(data row 1\)",
        ),
        (data.ITEM_CATEGORIES, lambda ls: [ls[0], "0,[31]", *ls[2:]], "item_categories.csv: tags must lie in 0..30"),
        (
            data.USER_FEATURES,
            lambda ls: [ls[0], _replace_field(ls[1], 1, "super_active"), *ls[2:]],
            r"user_features.csv: user_active_degree 'super_active' \(data row 1\) is not one of",
        ),
        (data.USER_FEATURES, lambda ls: [ls[0], *ls[2:]], r"small_matrix.csv: 1 user_id\(s\) not in user_features.csv"),
        # a missing value where the release has none is still an error (onehot_feat3 is column 16)
        (
            data.USER_FEATURES,
            lambda ls: [ls[0], _replace_field(ls[1], 16, ""), *ls[2:]],
            r"user_features.csv: column 'onehot_feat3' has 1 missing value\(s\), first at data row 1",
        ),
        (
            data.USER_FEATURES,
            lambda ls: [ls[0], ls[1].replace('"(0,10]"', '"(0,10)"'), *ls[2:]],
            r"user_features.csv: follow_user_num_range '\(0,10\)' \(data row 1\) is not one of",
        ),
    ],
)
def test_bad_files_fail_with_one_clear_message(tiny_dir, tmp_path, name, edit, message):
    if "not in user_features" in message:  # drop the row of a user the matrix uses
        used = data.load_small_matrix(tiny_dir / data.SMALL_MATRIX)["user_id"][0]
        edit = lambda ls: [ls[0], *[line for line in ls[1:] if not line.startswith(f"{used},")]]  # noqa: E731
    with pytest.raises(DataError, match=message):
        data.load(_corrupt(tiny_dir, tmp_path, name, edit))


def test_missing_file_and_folder(tiny_dir, tmp_path):
    out = tmp_path / "d"
    shutil.copytree(tiny_dir, out)
    (out / data.USER_FEATURES).unlink()
    with pytest.raises(DataError, match=r"missing KuaiRec file\(s\) \['user_features.csv'\]"):
        data.load(out)
    with pytest.raises(DataError, match="file not found"):
        data.load_small_matrix(tmp_path / "nope.csv")


def test_readme_onehot_ranges_are_the_real_files():
    """The README's value ranges of the onehot features are those of the real user_features.csv."""
    import re

    from shared.runtime.paths import REPO_ROOT

    users = pl.read_csv(twin.USER_FEATURES_FIXTURE)
    ranges = ", ".join(f"{users[f'onehot_feat{k}'].min()}-{users[f'onehot_feat{k}'].max()}" for k in range(18))
    block = re.search(
        r"<!-- onehot-ranges:start -->\n(.*?)\n<!-- onehot-ranges:end -->",
        (REPO_ROOT / "solutions" / "kraft_kuairec" / "README.md").read_text(),
        re.S,
    )
    assert block and block.group(1).endswith(f": {ranges}.")
