"""The pipeline end to end at tiny: the table, the submission, byte-identical reruns."""
import os

import numpy as np
import polars as pl
import pytest

from shared.errors import SubmissionError
from shared.io import sha256_file
from shared.paths import submissions_dir
from shared.submission import read_manifest
from solutions.vklab_posts import data, features, pipeline, submit

CFG = pipeline.Config(scale="tiny", head_epochs=5, boost_iterations=40)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("vklab_run")
    os.environ["RECSYS_OUTPUT_DIR"] = str(out)
    try:
        table = pipeline.run(CFG)
    finally:
        os.environ.pop("RECSYS_OUTPUT_DIR")
    return out, table


@pytest.fixture
def ran(out_dir, monkeypatch):
    """The module's one run; every test sees its outputs (the autouse fixture points each test at
    a fresh folder)."""
    out, table = out_dir
    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(out))
    return table, pipeline.load_data(CFG), submissions_dir("vklab_posts")


def test_table_has_every_model_and_target(ran):
    table, d, _ = ran
    assert table.filter(pl.col("target") == "open_photo")["model"].to_list() == \
        ["constant", *pipeline.HEAD_MODELS, "oracle"]
    for t in data.TARGETS_B:
        assert table.filter(pl.col("target") == t)["model"].to_list() == ["constant", "catboost", "oracle"]
    oracle = table.filter(pl.col("model") == "oracle")
    assert (oracle["gap_closed"] == 1).all()
    const = table.filter(pl.col("model") == "constant")
    y = d.rates()[d.test]
    mean = d.rates()[d.train].mean(0)
    hand = [-np.mean(y[:, k] * np.log(mean[k]) + (1 - y[:, k]) * np.log(1 - mean[k])) for k in range(4)]
    assert const["logloss"].to_list() == pytest.approx(hand)


def test_submission_is_valid_and_stable(ran, monkeypatch, tmp_path):
    _, d, folder = ran
    path = folder / submit.FILENAME
    df = submit.validate(path, d.frame["row"].to_numpy()[d.test])
    assert df.columns == ["row", *data.TARGETS] and df.height == len(d.test)
    manifest = read_manifest(folder)
    assert manifest["parameters"]["submitted_head"] == pipeline.chosen_head(CFG)
    first = sha256_file(path)
    pipeline.write_submission(CFG, d)
    assert sha256_file(path) == first
    # the same frame written twice from fresh training gives the same bytes
    pipeline.train_heads(CFG, d, pipeline.encode(CFG, d), [pipeline.chosen_head(CFG)])
    pipeline.write_submission(CFG, d)
    assert sha256_file(path) == first


def test_validator_rejects_wrong_files(ran, tmp_path):
    _, d, folder = ran
    good = pl.read_csv(folder / submit.FILENAME)
    rows = d.frame["row"].to_numpy()[d.test]
    bad = tmp_path / "bad.csv"
    good.with_columns(pl.lit(1.5).alias("like")).write_csv(bad)
    with pytest.raises(SubmissionError, match="column 'like' = 1.5 at data row 1 is not a rate"):
        submit.validate(bad, rows)
    good[1:].write_csv(bad)
    with pytest.raises(SubmissionError, match="rows"):
        submit.validate(bad, rows)


def test_source_reading(ran):
    _, d, _ = ran
    r = pipeline.source_reading(CFG, d, pipeline.chosen_head(CFG))
    assert r["true BCE"] == pytest.approx(
        ran[0].filter((pl.col("model") == pipeline.chosen_head(CFG)) & (pl.col("target") == "open_photo"))["logloss"][0])
    assert abs(r["swapped BCE (as printed)"] - r["true BCE"]) > 1e-4


def test_photo_categories_without_an_imagenet_head():
    rng = np.random.default_rng(0)
    image = np.vstack([rng.normal(0, 0.1, (40, 4)) + k for k in range(20)])
    f = pipeline.Features(image, np.full(len(image), -1), np.zeros((len(image), 2)), pl.DataFrame())
    cats = pipeline.photo_categories(f, np.arange(0, len(image), 2), seed=42)
    assert len(set(cats)) == pipeline.CLUSTERS and all(c.startswith("cluster ") for c in cats)
    f.image_class = np.arange(len(image)) % 3
    assert pipeline.photo_categories(f, np.arange(10), 42)[:3] == features.imagenet_names([0, 1, 2])


def test_real_files_path(tiny_dir, tmp_path, monkeypatch):
    """DATA_DIR: the same pipeline without truth.parquet: no oracle row, no gap, a 'real' manifest."""
    import shutil

    real = tmp_path / "real"
    real.mkdir()
    shutil.copy(tiny_dir / data.FILENAME, real / data.FILENAME)
    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(tmp_path / "out"))
    cfg = pipeline.Config(data_dir=str(real), head_epochs=3, boost_iterations=20)
    table = pipeline.run(cfg, ("constant", "cnn-bce", "fusion-bce", "catboost"))
    assert "oracle" not in table["model"].to_list() and "gap_closed" not in table.columns
    manifest = read_manifest(submissions_dir("vklab_posts"))
    assert manifest["data_source"]["kind"] == "real" and manifest["parameters"]["data_dir"] == "<real>"
    assert str(tmp_path) not in (submissions_dir("vklab_posts") / "manifest.json").read_text()
