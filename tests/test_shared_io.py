import json
import re

import numpy as np
import polars as pl
import pytest

from shared.data.io import atomic_path, sha256_file, write_text_atomic
from shared.data.tables import read_csv_checked
from shared.runtime import paths
from shared.runtime.errors import DataError, SubmissionError
from shared.runtime.seed import seed_everything
from shared.track.submission import (
    Report,
    SubmissionFormat,
    read_submission,
    real_source,
    twin_source,
    validate_submission,
    write_csv,
    write_manifest,
)

FMT = SubmissionFormat(
    "demo",
    ("user_id", "item_id", "score"),
    ("user_id", "item_id"),
    {"user_id": pl.Int64, "item_id": pl.Int64, "score": pl.Float64},
)
KEYS = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10]})


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "f.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp file left behind


def test_sha256_file(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"abc")
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_seed_everything_reproducible():
    import random

    import torch

    seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    g1 = seed_everything(7).random()
    seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    g2 = seed_everything(7).random()
    assert a == b and g1 == g2
    seed_everything(8)
    assert np.random.rand() != a[1]


def test_paths_follow_output_env(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.OUTPUT_ENV, str(tmp_path))
    assert paths.submissions_dir("t") == tmp_path / "submissions" / "t"
    assert paths.twin_dir("t", "tiny", 3) == tmp_path / "data" / "twin" / "t" / "tiny-seed3"
    monkeypatch.delenv(paths.OUTPUT_ENV)
    assert paths.output_root() == paths.REPO_ROOT
    assert (paths.REPO_ROOT / "pyproject.toml").exists()


def test_resolve_data_dir(tmp_path):
    assert paths.resolve_data_dir("") is None and paths.resolve_data_dir(None) is None
    assert paths.resolve_data_dir(tmp_path) == tmp_path.resolve()
    with pytest.raises(DataError, match="no such directory"):
        paths.resolve_data_dir(tmp_path / "nope")


def test_csv_and_7z_roundtrip(tmp_path):
    df = pl.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10], "score": [0.5, 0.25, 1 / 3]})
    csv = write_csv(df, tmp_path / "s.csv")
    assert csv.read_text().splitlines() == ["user_id,item_id,score", "1,10,0.500000", "1,11,0.250000", "2,10,0.333333"]
    packed = write_csv(df, tmp_path / "s.csv.7z", pack_7z=True)
    assert not (tmp_path / "s.csv.7z.tmp").exists()
    assert read_submission(packed).equals(read_submission(csv))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.csv.7z"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("user,item_id,score\n1,10,0.1\n1,11,0.2\n2,10,0.3\n", "header"),
        ("user_id,item_id,score\n1,10,0.1\n1,11,0.2\n", "2 rows"),
        ("user_id,item_id,score\n1,10,0.1\n1,10,0.2\n2,10,0.3\n", "duplicate"),
        ("user_id,item_id,score\n1,10,0.1\n1,11,0.2\n3,10,0.3\n", "unknown"),
        ("user_id,item_id,score\n1,10,0.1\n1,11,NaN\n2,10,0.3\n", "NaN"),
        ("user_id,item_id,score\n1,10,0.1\n1,11,\n2,10,0.3\n", "missing"),
        ("user_id,item_id,score\n1,10,0.1\n1,x,0.2\n2,10,0.3\n", "cannot be read"),
    ],
)
def test_validator_rejects(tmp_path, text, message):
    p = tmp_path / "s.csv"
    p.write_text(text)
    with pytest.raises(SubmissionError, match=message):
        validate_submission(p, FMT, KEYS)


def test_validator_accepts(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("user_id,item_id,score\n2,10,0.3\n1,10,0.1\n1,11,0.2\n")
    assert validate_submission(p, FMT, KEYS).height == 3
    with pytest.raises(SubmissionError, match="no such file"):
        validate_submission(tmp_path / "missing.csv", FMT, KEYS)


def test_manifest(tmp_path):
    p = write_csv(pl.DataFrame({"a": [1]}), tmp_path / "s.csv")
    data = tmp_path / "d.csv"
    data.write_text("x\n1\n")
    write_manifest(tmp_path, "t", Report({"k": 1}, real_source([data]), {"m": 0.1234567}), [p], rows=1)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["track"] == "t" and m["parameters"] == {"k": 1} and m["metrics"] == {"m": 0.123457}
    assert m["files"] == [{"path": "s.csv", "rows": 1, "sha256": sha256_file(p)}]
    assert m["data_source"] == {"kind": "real", "files": {"d.csv": sha256_file(data)}}
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", m["git_commit"])
    assert "comparison" not in m
    write_manifest(tmp_path, "t", Report({}, twin_source("tiny", 1), {"m": 1.0}, {"random": {"m": 0.5}}), [p], rows=1)
    assert json.loads((tmp_path / "manifest.json").read_text())["comparison"] == {"random": {"m": 0.5}}
    assert twin_source("tiny", 3) == {"kind": "synthetic twin", "scale": "tiny", "seed": 3}


SCHEMA = {"a": pl.Int64, "b": pl.Float64, "c": pl.String}


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "file is empty"),
        ("a,b,c\n", "no data rows"),
        ("a,b\n1,2.0\n", r"missing column\(s\) \['c'\]"),
        ("a,b,c,d\n1,2.0,x,1\n", r"unexpected column\(s\) \['d'\]"),
        ("a,b,c\n1,2.0,x\nfoo,3.0,y\n", "column 'a' has a value that is not Int64: 'foo' \\(data row 2\\)"),
        ("a,b,c\n1,2.0,x\n2,abc,y\n", "column 'b' has a value that is not Float64: 'abc'"),
        ("a,b,c\n1,2.0,x\n,3.0,y\n", "column 'a' has 1 missing value"),
    ],
)
def test_read_csv_checked_errors(tmp_path, text, message):
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        read_csv_checked(p, SCHEMA)
    assert str(err.value).startswith("t.csv: ")


def test_read_csv_checked_ok(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("c,a,b\nx,1,2.5\ny,2,\n")
    df = read_csv_checked(p, SCHEMA, nullable=("b",))
    assert df.columns == ["a", "b", "c"] and df["a"].to_list() == [1, 2] and df["b"].null_count() == 1
    with pytest.raises(DataError, match="file not found"):
        read_csv_checked(tmp_path / "none.csv", SCHEMA)


def test_summary_report(tmp_path, monkeypatch):
    from shared.tools import report

    monkeypatch.setenv(paths.OUTPUT_ENV, str(tmp_path))
    sub = paths.submissions_dir("t")
    p = write_csv(pl.DataFrame({"a": [1]}), sub / "s.csv")
    comparison = {"random": {"ndcg@10": 0.25}, "model": {"ndcg@10": 0.5}}
    write_manifest(sub, "t", Report({}, twin_source("tiny", 1), {"ndcg@10": 0.5}, comparison), [p], rows=1)
    (tmp_path / "executed" / "t").mkdir(parents=True)
    (tmp_path / "executed" / "t" / "01_x.ipynb").write_text("{}")
    text, verdicts = report.summary(["t", "missing"], tmp_path / "executed")
    assert verdicts["t"].status == "not comparable" and not verdicts["missing"].ok
    assert "**Reproduction: not comparable: no committed manifest to compare with; sha256 " in text
    assert "| ndcg@10 | 0.5000 |" in text and "| random | 0.2500 |" in text
    assert "[01_x.ipynb](../executed/t/01_x.ipynb)" in text and "No manifest" in text
    # a source-profile run: its own folder, its own heading and verdict
    src = paths.submissions_dir("t", "source")
    q = write_csv(pl.DataFrame({"a": [3]}), src / "s.csv")
    write_manifest(src, "t", Report({}, twin_source("tiny", 1), {"ndcg@10": 0.6}, profile="source"), [q], rows=1)
    text, verdicts = report.summary(["t"], tmp_path / "executed", profile="source")
    assert src == sub / "source" and "## t (profile `source`)" in text and "| ndcg@10 | 0.6000 |" in text
    assert verdicts["t"].text.startswith("not comparable: no committed source-profile run")
    p.write_text("a\n2\n")  # the submission changed after the manifest was written
    with pytest.raises(SystemExit, match="does not match"):
        report.summary(["t"], tmp_path / "executed")


def test_merge_json_and_parquet(tmp_path):
    import polars as pl

    from shared.data.io import merge_json, read_json, write_parquet_atomic

    path = tmp_path / "a" / "training.json"
    assert read_json(path) == {}
    assert merge_json(path, {"x": 1, "heads": {"a": 1}}) == {"x": 1, "heads": {"a": 1}}
    assert merge_json(path, {"heads": {"b": 2}}) == {"x": 1, "heads": {"b": 2}}  # top-level keys replaced
    assert read_json(path) == {"x": 1, "heads": {"b": 2}}
    frame = pl.DataFrame({"row": [2, 1]})
    assert pl.read_parquet(write_parquet_atomic(tmp_path / "b" / "p.parquet", frame)).equals(frame)
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["p.parquet"]  # no temp file left


def test_track_config_training_record(tmp_path, monkeypatch):
    """TrackConfig.save_training merges a stage's record with the parameters and data facts."""
    from dataclasses import dataclass

    from shared.track.config import TrackConfig

    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(tmp_path))

    @dataclass(frozen=True)
    class Cfg(TrackConfig):
        scale: str = "tiny"
        data_dir: str = ""
        seed: int = 7
        profile: str = "teach"
        TRACK = "t"

    cfg = Cfg()
    assert cfg.load_training() == {}
    cfg.save_training({"rows": 3}, {"a": {"loss": 1.0}})
    merged = cfg.save_training({"rows": 4}, {"b": 2})
    assert merged == {
        "config": {"scale": "tiny", "data_dir": "", "seed": 7},
        "data": {"rows": 4},
        "a": {"loss": 1.0},
        "b": 2,
    }
    assert cfg.load_training() == merged
    assert (tmp_path / "artifacts" / "t" / "twin-tiny-seed7" / "training.json").exists()
    source = Cfg(profile="source")  # its own artifacts; the manifest, not the parameters, names the profile
    assert source.artifacts.name == "twin-tiny-seed7-source" and source.parameters() == merged["config"]


def test_atomic_write_has_the_usual_permissions(tmp_path):
    import os
    import stat

    from shared.data.io import write_text_atomic

    path = write_text_atomic(tmp_path / "x.csv", "a\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("a\n")  # what open() gives under this process's umask (0644 under 022, not mkstemp's 0600)
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)


def test_cache_key_is_stable_and_names_every_fact():
    import dataclasses
    import hashlib
    from pathlib import Path

    from shared.data.io import cache_key, digest

    @dataclasses.dataclass(frozen=True)
    class Params:
        dim: int = 16
        lr: float = 0.5

    key = cache_key("dcn", params=Params(), seed=np.int64(42), rows=[3, 4], data=Path("twin-tiny"))
    assert key == 'dcn {"data": "twin-tiny", "params": {"dim": 16, "lr": 0.5}, "rows": [3, 4], "seed": 42}'
    assert cache_key("dcn", seed=1, params=Params()) == cache_key("dcn", params=Params(), seed=1)  # names sorted
    assert cache_key("dcn", params=Params(lr=0.25), seed=1) != cache_key("dcn", params=Params(), seed=1)
    assert cache_key("sequence", seed=1) != cache_key("dcn", seed=1)
    assert digest(key) == hashlib.sha256(key.encode()).hexdigest()[:12] and len(digest(key, 8)) == 8
