import json
import os
import subprocess
import sys

import polars as pl
import pytest

from shared.data.io import sha256_file
from solutions.kraft_kuairec import pipeline, submit

pytestmark = pytest.mark.functional  # deselected by make test-fast

TINY = ["--scale", "tiny", "--n-estimators", "40"]


def run_cli(out_dir, *args):
    env = {**os.environ, "RECSYS_OUTPUT_DIR": str(out_dir)}
    return subprocess.run(
        [sys.executable, "-m", "solutions.kraft_kuairec.pipeline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_two_runs_give_the_same_submission(tmp_path):
    """Determinism: separate processes, separate output folders, byte-identical submissions."""
    shas = []
    for name in ("a", "b"):
        res = run_cli(tmp_path / name, *TINY)
        assert res.returncode == 0, res.stderr[-2000:]
        sub = tmp_path / name / "submissions" / "kraft_kuairec"
        manifest = json.loads((sub / "manifest.json").read_text())
        assert manifest["files"][0]["sha256"] == sha256_file(sub / "submission.csv")
        shas.append(manifest["files"][0]["sha256"])
    assert shas[0] == shas[1]


def test_pipeline_end_to_end(isolated_outputs):
    cfg = pipeline.Config(scale="tiny", n_estimators=40)
    table = pipeline.run(cfg)
    assert table["model"].to_list() == [
        "random",
        "popularity",
        "als",
        "faithful",
        "corrected",
        "leakfree",
        "best",
        "oracle",
    ]
    by = {r["model"]: r for r in table.to_dicts()}
    assert by["oracle"]["test_auc"] > by["random"]["test_auc"] + 0.2
    assert 0.4 < by["random"]["test_auc"] < 0.6
    scores, training = pipeline.load_outputs(cfg)
    assert set(training) == {"config", "data", *pipeline.VARIANTS}
    assert training["best"]["objective"] in ("lambdarank", "binary")
    assert training["best"]["n_trees"] <= 40 and training["best"]["n_fit_rows"] < training["faithful"]["n_fit_rows"]
    assert training["config"]["n_estimators"] == 40
    assert training["faithful"]["n_trees"] <= 40
    sub = isolated_outputs / "submissions" / "kraft_kuairec" / "submission.csv"
    df = submit.validate(sub, scores.select("user_id", "video_id"))
    assert df.height == scores.height
    manifest = json.loads(sub.with_name("manifest.json").read_text())
    assert manifest["metrics"]["ndcg@10"] == pytest.approx(by["faithful"]["ndcg@10"], abs=1e-6)
    assert manifest["data_source"] == {"kind": "synthetic twin", "scale": "tiny", "seed": 42}
    assert manifest["comparison"]["oracle"]["test_auc"] == pytest.approx(by["oracle"]["test_auc"], abs=1e-6)
    assert set(manifest["comparison"]) == set(pipeline.MODELS)
    assert manifest["data_facts"]["train_positive_rate"] == pytest.approx(
        training["data"]["train_positive_rate"], abs=1e-6
    )
    assert (
        manifest["tolerance"] == submit.TOLERANCE and manifest["environment"]["threads"]["OPENBLAS_NUM_THREADS"] == "1"
    )
    # ours (best) beside the submission, with its paired gain: every user with a relevant row is in both means
    ours = submit.validate(sub.with_name(submit.OURS_FILENAME), scores.select("user_id", "video_id"))
    assert ours["score"].to_list() == pytest.approx(scores["best"].to_list(), abs=5e-7)  # 6 decimals written
    assert [f["path"] for f in manifest["files"]] == [submit.FILENAME, submit.OURS_FILENAME]
    assert manifest["metrics"]["ndcg@10_ours"] == pytest.approx(by["best"]["ndcg@10"], abs=1e-6)
    assert manifest["metrics"]["ours_minus_faithful_ndcg@10"] == pytest.approx(
        by["best"]["ndcg@10"] - by["faithful"]["ndcg@10"], abs=2e-6
    )
    assert manifest["metrics"]["ours_minus_faithful_ndcg@10_se"] > 0


def test_seed_study(isolated_outputs):
    """The run's own seed reproduces the run's figures; another seed trains again; the summary is
    across_seeds of the per-seed gains."""
    from shared.eval.metrics import across_seeds

    cfg = pipeline.Config(scale="tiny", n_estimators=20)
    table = pipeline.run(cfg, variants=("faithful", "best"))
    per_seed, summary = pipeline.seed_study(cfg, [42, 7])
    ndcg = dict(zip(table["model"], table["ndcg@10"]))
    first = per_seed.row(0, named=True)
    assert (first["seed"], first["faithful_ndcg@10"], first["best_ndcg@10"]) == (42, ndcg["faithful"], ndcg["best"])
    assert first["gain"] == pytest.approx(ndcg["best"] - ndcg["faithful"], abs=1e-12)
    assert per_seed["seed"].to_list() == [42, 7] and per_seed["faithful_ndcg@10"][1] != ndcg["faithful"]
    expected = across_seeds(per_seed["gain"].to_list(), per_seed["gain_se"].to_list())
    got = summary.row(0, named=True)
    assert {k: got[k] for k in ("gain", "se_seeds", "se_users", "se")} == pytest.approx(
        {k: expected[k] for k in ("gain", "se_seeds", "se_users", "se")}
    )
    assert got["se"] > max(got["se_seeds"], got["se_users"])  # both noises


def test_missing_split_and_bad_data_dir_fail_clearly(tmp_path):
    from shared.runtime.errors import DataError

    with pytest.raises(DataError, match="run notebook 01"):
        pipeline.load_split(pipeline.Config(scale="tiny", seed=999))
    res = run_cli(tmp_path, "--data-dir", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "no such directory" in res.stderr and "Traceback" not in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_cli(tmp_path, "--data-dir", str(empty))
    assert res.returncode == 2 and "missing KuaiRec file(s)" in res.stderr
    assert not (tmp_path / "submissions").exists()  # nothing half written


def test_real_data_path(tmp_path, isolated_outputs):
    """DATA_DIR switches to the official files: same pipeline, no oracle, hashes in the manifest.
    The folder holds the real user_features.csv and item_categories.csv (the twin copies them byte
    for byte) beside a generated small_matrix.csv, so both real files run through the whole pipeline."""
    from shared.data.io import sha256_file
    from solutions.kraft_kuairec import data, twin

    real = twin.generate("tiny", 5, tmp_path / "KuaiRec 2.0" / "data")
    (real / twin.TRUTH).unlink()  # real data has no truth file
    assert sha256_file(real / data.USER_FEATURES) == sha256_file(twin.USER_FEATURES_FIXTURE)
    assert sha256_file(real / data.ITEM_CATEGORIES) == sha256_file(twin.ITEM_CATEGORIES_FIXTURE)
    cfg = pipeline.Config(data_dir=str(tmp_path), n_estimators=20, als_iterations=3)
    assert not cfg.is_twin and cfg.tag == "real"
    table = pipeline.run(cfg, variants=("faithful",))
    assert table["model"].to_list() == ["random", "popularity", "faithful"]
    manifest = json.loads((isolated_outputs / "submissions" / "kraft_kuairec" / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == [submit.FILENAME]  # no best trained: no ours.csv
    assert manifest["data_source"] == {"kind": "real", "files": {f: sha256_file(real / f) for f in data.FILES}}
    assert manifest["parameters"]["data_dir"] == "<real>" and "scale" not in manifest["parameters"]


def test_validation_beside_test_subtracts_per_variant():
    table = pl.DataFrame({"model": ["random", "faithful", "best"], "test_auc": [0.5, 0.70, 0.75]})
    training = {"faithful": {"val_auc": 0.80}, "best": {"val_auc": 0.74}, "config": {}}
    beside = pipeline.validation_beside_test(table, training)
    assert beside["model"].to_list() == ["faithful", "best"]  # random was not trained: no validation
    assert [round(x, 6) for x in beside["optimism"]] == [0.1, -0.01]
