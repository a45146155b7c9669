"""The whole track at tiny: the table's rows, determinism, the manifest, the real-data path."""

import os
import shutil

import polars as pl
import pytest

from shared.data.io import sha256_file
from shared.runtime.paths import submissions_dir
from shared.track.submission import read_manifest
from solutions.hse_sasrec import TRACK, data, pipeline, submit

pytestmark = pytest.mark.functional  # deselected by make test-fast

FAST = dict(scale="tiny", sasrec_epochs=2, bert4rec_epochs=1)
# Spark's classic models run in the notebook tests (04 at tiny); here the rest, twice
NO_SPARK = tuple(m for m in pipeline.MODELS if m not in pipeline.CLASSIC)


@pytest.fixture
def output_dir(tmp_path):
    old = os.environ.get("RECSYS_OUTPUT_DIR")
    os.environ["RECSYS_OUTPUT_DIR"] = str(tmp_path)
    yield tmp_path
    if old is None:
        os.environ.pop("RECSYS_OUTPUT_DIR")
    else:
        os.environ["RECSYS_OUTPUT_DIR"] = old


def test_twin_run_is_deterministic_and_complete(output_dir):
    table = pipeline.run(pipeline.Config(**FAST), NO_SPARK)
    sub = submissions_dir(TRACK)
    first = sha256_file(sub / submit.FILENAME)
    manifest = read_manifest(sub)
    shutil.rmtree(output_dir / "artifacts")
    pipeline.run(pipeline.Config(**FAST), NO_SPARK)
    assert sha256_file(sub / submit.FILENAME) == first
    assert table["model"].to_list() == list(NO_SPARK)
    hit = dict(zip(table["model"], table["hitrate"]))
    assert hit["oracle"] > hit["popularity"] > hit["random"]  # the planted signal is there
    assert manifest["files"][0] == {"path": submit.FILENAME, "rows": 120, "sha256": first}
    # ours (sasrec_lit) beside it: a valid file of its own recommendations, and its paired gain
    assert [f["path"] for f in manifest["files"]] == [submit.FILENAME, submit.OURS_FILENAME]
    ours = submit.validate(sub / submit.OURS_FILENAME, 120, pipeline.load_data(pipeline.Config(**FAST)).n_items)
    assert ours.equals(
        submit.submission_frame(pipeline.load_outputs(pipeline.Config(**FAST), pipeline.OURS, "submit"), 120)
    )
    assert manifest["metrics"]["holdout_ndcg@10_ours"] == pytest.approx(
        table["ndcg"][table["model"].to_list().index(pipeline.OURS)], abs=1e-6
    )
    assert manifest["metrics"]["ours_minus_sasrec_hitrate@10"] == pytest.approx(
        hit[pipeline.OURS] - hit["sasrec"], abs=2e-6
    )  # every user is in both means
    assert "twin_hidden_next_ndcg@10_ours" in manifest["metrics"]
    assert manifest["data_source"] == {"kind": "synthetic twin", "scale": "tiny", "seed": 42}
    assert manifest["parameters"]["sasrec_epochs"] == 2 and manifest["tolerance"] == submit.TOLERANCE
    assert manifest["metrics"]["holdout_hitrate@10"] == pytest.approx(hit["sasrec"], abs=1e-6)
    assert "twin_hidden_next_hitrate@10" in manifest["metrics"]
    d = pipeline.load_data(pipeline.Config(**FAST))
    hidden = pipeline.hidden_next(pipeline.Config(**FAST), d)
    assert hidden["history"].to_list() == ["full", "faithful"]
    diff = pipeline.paired_difference(pipeline.Config(**FAST), d, "oracle", "random")  # every user is in both means
    ndcg = dict(zip(table["model"], table["ndcg"]))
    assert diff["hitrate"] == pytest.approx(hit["oracle"] - hit["random"], abs=1e-9)
    assert diff["ndcg"] == pytest.approx(ndcg["oracle"] - ndcg["random"], abs=1e-9) and diff["ndcg_se"] > 0
    assert pipeline.paired_difference(pipeline.Config(**FAST), d, "sasrec", "sasrec") == {
        "hitrate": 0.0,
        "hitrate_se": 0.0,
        "ndcg": 0.0,
        "ndcg_se": 0.0,
    }


def test_seed_study(output_dir):
    """The run's own seed reuses its recommendations (the table's figures); another seed trains again;
    the summary is across_seeds of the per-seed gains."""
    from shared.eval.metrics import across_seeds

    cfg = pipeline.Config(**FAST)
    table = pipeline.run(cfg, ("sasrec", pipeline.OURS))
    per_seed, summary = pipeline.seed_study(cfg, [42, 7])
    ndcg = dict(zip(table["model"], table["ndcg"]))
    first = per_seed.row(0, named=True)
    assert first["sasrec_ndcg@10"] == pytest.approx(ndcg["sasrec"], abs=1e-12)
    assert first["ours_ndcg@10"] == pytest.approx(ndcg[pipeline.OURS], abs=1e-12)
    assert first["gain_ndcg"] == pytest.approx(ndcg[pipeline.OURS] - ndcg["sasrec"], abs=1e-12)
    assert per_seed["seed"].to_list() == [42, 7] and per_seed["sasrec_s"][1] > 0
    assert summary["metric"].to_list() == ["ndcg@10", "hitrate@10"]
    expected = across_seeds(per_seed["gain_ndcg"].to_list(), per_seed["gain_ndcg_se"].to_list())
    got = summary.row(0, named=True)
    assert {k: got[k] for k in ("gain", "se_seeds", "se_users", "se")} == pytest.approx(
        {k: expected[k] for k in ("gain", "se_seeds", "se_users", "se")}
    )
    # make bench records the table with each row's training and ours' paired gains (figures at full)
    bench = pipeline.bench_table(cfg, pipeline.load_data(cfg), table).to_dicts()
    training = cfg.load_training()
    assert [r["model"] for r in bench] == ["sasrec", pipeline.OURS]
    assert bench[0]["epochs"] == 2 and bench[0]["gain_ndcg"] is None
    assert bench[0]["train_s"] == pytest.approx(training["sasrec"]["seconds_per_epoch"] * 2)
    assert bench[1]["gain_ndcg"] == pytest.approx(first["gain_ndcg"], abs=1e-12)
    assert bench[1]["gain_hitrate_se"] == pytest.approx(first["gain_hitrate_se"], abs=1e-12)


def test_real_data_path(output_dir, tiny_dir, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    for f in data.FILES:  # the official files only: no truth, no sample
        shutil.copy(tiny_dir / f, real / f)
    cfg = pipeline.Config(data_dir=str(real), sasrec_epochs=1, submit_history="faithful")
    table = pipeline.run(cfg, ("popularity", "sasrec", "oracle"))
    assert table["model"].to_list() == ["popularity", "sasrec"]  # no oracle without the twin
    manifest = read_manifest(submissions_dir(TRACK))
    assert manifest["data_source"]["kind"] == "real" and set(manifest["data_source"]["files"]) == set(data.FILES)
    assert manifest["parameters"]["data_dir"] == "<real>" and "scale" not in manifest["parameters"]
    assert not any(k.startswith("twin_") for k in manifest["metrics"])
    assert [f["path"] for f in manifest["files"]] == [submit.FILENAME]  # ours not trained: no ours.csv
    sub = pl.read_csv(submissions_dir(TRACK) / submit.FILENAME)
    assert sub.height == 120 and sub.columns == ["user_id", "item_id"]


def test_resume_keeps_the_models_a_killed_run_finished(output_dir, monkeypatch):
    """``--resume``: SASRec, finished by an earlier run of this configuration, is kept (not trained
    again); ours, not finished, trains; other parameters or a missing file keep nothing."""
    from dataclasses import replace

    cfg = pipeline.Config(**FAST)
    pipeline.run(cfg, ("random", "sasrec"))
    assert pipeline.kept_by_resume(cfg) == {"sasrec"}
    assert pipeline.kept_by_resume(replace(cfg, sasrec_epochs=3)) == set()
    calls = []
    monkeypatch.setattr(pipeline, "train_sasrec", lambda *a, **k: calls.append("sasrec"))
    monkeypatch.setattr(pipeline, "train_literature", lambda *a, **k: calls.append(pipeline.OURS))
    table = pipeline.run(cfg, ("random", "sasrec", pipeline.OURS), resume=True)
    assert calls == [pipeline.OURS] and "sasrec" in table["model"].to_list()
    pipeline.run(cfg, ("random", "sasrec"))  # without --resume: trained again
    assert calls == [pipeline.OURS, "sasrec"]
    pipeline.recs_path(cfg, "sasrec", "submit_faithful").unlink()
    assert pipeline.kept_by_resume(cfg) == set()
