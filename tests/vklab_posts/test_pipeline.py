"""The pipeline end to end at tiny: the table, the submission, byte-identical reruns."""

import os

import numpy as np
import polars as pl
import pytest

from shared.data.io import sha256_file
from shared.runtime.errors import SubmissionError
from shared.runtime.paths import submissions_dir
from shared.track.submission import read_manifest
from solutions.vklab_posts import data, features, pipeline, submit

pytestmark = pytest.mark.functional  # deselected by make test-fast

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
    assert table.filter(pl.col("target") == "open_photo")["model"].to_list() == [
        "constant",
        *pipeline.HEAD_MODELS,
        pipeline.OURS,
        "ceiling",
        "oracle",
    ]
    for t in data.TARGETS_B:
        assert table.filter(pl.col("target") == t)["model"].to_list() == [
            "constant",
            "catboost",
            *pipeline.BLENDED,
            pipeline.OURS_B,
            "ceiling",
            "oracle",
        ]
    oracle, ceiling = table.filter(pl.col("model") == "oracle"), table.filter(pl.col("model") == "ceiling")
    assert (oracle["gap_closed"] == 1).all() and (ceiling["reachable_closed"] == 1).all()
    assert ((ceiling["gap_closed"] > 0) & (ceiling["gap_closed"] < 1)).all()  # the quality is out of reach
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


def test_ours_is_written_beside_the_submission_and_compared_paired(ran):
    table, d, folder = ran
    ours, sub = pl.read_csv(folder / submit.OURS_FILENAME), pl.read_csv(folder / submit.FILENAME)
    assert ours["row"].to_list() == sub["row"].to_list()
    assert not ours["open_photo"].equals(sub["open_photo"])
    rows = ours.select("row")  # ascending, as the files
    pred = lambda m, t: rows.join(pipeline.load_outputs(CFG, m), on="row", how="left")[t].to_numpy()  # noqa: E731
    for t in data.TARGETS_B:  # ours: the blend's rates, rounded to the file's decimals; the submission: CatBoost's
        assert ours[t].to_numpy() == pytest.approx(pred(pipeline.OURS_B, t), abs=1e-8)
        parts = [pred(m, t) for m in pipeline.BLENDED]
        assert pred(pipeline.OURS_B, t) == pytest.approx((parts[0] + parts[1]) / 2, rel=1e-12)
        assert sub[t].to_numpy() == pytest.approx(np.clip(pred("catboost", t), 0, 1), abs=1e-8)
    manifest = read_manifest(folder)
    assert sorted(f["path"] for f in manifest["files"]) == [submit.OURS_FILENAME, submit.FILENAME]
    for t, m in (("open_photo", pipeline.OURS), *((t, pipeline.OURS_B) for t in data.TARGETS_B)):
        got = manifest["metrics"][f"test_logloss_{t}_ours"]
        assert got == pytest.approx(
            table.filter((pl.col("model") == m) & (pl.col("target") == t))["logloss"][0], abs=1e-6
        )  # the manifest rounds to 6 decimals
    # the paired gain, by brute force: each row's log loss, one loop per row
    y = d.rates(["open_photo"])[d.test, 0]
    pred = {m: pipeline.load_outputs(CFG, m).sort("row")[d.test]["open_photo"].to_list() for m in ("mlp", "cnn-bce")}
    diffs = []
    for k in range(len(y)):
        loss = {m: -(y[k] * np.log(pred[m][k]) + (1 - y[k]) * np.log(1 - pred[m][k])) for m in pred}
        diffs.append(loss["cnn-bce"] - loss["mlp"])
    g = pipeline.paired_difference(CFG, d, "mlp", "cnn-bce")
    assert g["gain"] == pytest.approx(np.mean(diffs), abs=1e-12)
    assert g["se"] == pytest.approx(np.std(diffs, ddof=1) / np.sqrt(len(diffs)), rel=1e-9)
    beyond = pipeline.beyond_source(CFG, d, table)
    assert (
        beyond["against"][0]
        == table.filter(pl.col("model").is_in(pipeline.HEAD_MODELS)).sort("logloss", "model")["model"][0]
    )
    b = beyond.filter((pl.col("ours") == pipeline.OURS_B) & (pl.col("target") == "comment")).to_dicts()[0]
    g = pipeline.paired_difference(CFG, d, pipeline.OURS_B, "catboost", "comment")
    get = lambda m: table.filter((pl.col("model") == m) & (pl.col("target") == "comment"))["logloss"][0]  # noqa: E731
    assert b["against"] == "catboost" and b["gain"] == g["gain"] == pytest.approx(
        get("catboost") - get(pipeline.OURS_B)
    )
    assert b["gain / se"] == pytest.approx(g["gain"] / g["se"])
    assert (
        beyond.filter(pl.col("target") == "open_photo")["ours"].to_list()
        == [pipeline.OURS] * beyond.filter(pl.col("target") == "open_photo").height
    )
    # notebook 2 passes only open_photo's table, notebook 3 only the other rates'
    assert set(pipeline.beyond_source(CFG, d, table.filter(pl.col("target") == "open_photo"))["target"]) == {
        "open_photo"
    }
    assert "open_photo" not in pipeline.beyond_source(CFG, d, table.filter(pl.col("target") != "open_photo"))["target"]


def test_ours_comes_from_the_rows_of_the_run_not_from_an_earlier_runs_files(ran):
    """A run that leaves out the blend, or ours altogether, finds the earlier run's predictions still in
    the artifacts folder: ours.csv must not carry them."""
    table, d, folder = ran
    before = {p.name: sha256_file(p) for p in folder.iterdir()}
    try:
        pipeline.write_submission(CFG, d, table.filter(pl.col("model") != pipeline.OURS_B))
        ours = pl.read_csv(folder / submit.OURS_FILENAME)
        boost = ours.select("row").join(pipeline.load_outputs(CFG, "catboost"), on="row", how="left")
        for t in data.TARGETS_B:  # CatBoost's rates beside ours on open_photo, as before the blend existed
            assert ours[t].to_numpy() == pytest.approx(np.clip(boost[t].to_numpy(), 0, 1), abs=1e-8)
        metrics = read_manifest(folder)["metrics"]
        assert metrics["test_logloss_comment_ours"] == metrics["test_logloss_comment"]  # CatBoost's
        pipeline.write_submission(CFG, d, table.filter(~pl.col("model").is_in([pipeline.OURS, pipeline.OURS_B])))
        assert not (folder / submit.OURS_FILENAME).exists()
        assert [f["path"] for f in read_manifest(folder)["files"]] == [submit.FILENAME]
    finally:
        pipeline.write_submission(CFG, d, table)
    assert {p.name: sha256_file(p) for p in folder.iterdir()} == before


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
        ran[0].filter((pl.col("model") == pipeline.chosen_head(CFG)) & (pl.col("target") == "open_photo"))["logloss"][0]
    )
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
