"""The whole track at tiny: the table's rows, the submission format, determinism."""

import shutil

import numpy as np
import polars as pl
import pytest

from shared.data.io import sha256_file
from shared.runtime.errors import SubmissionError
from shared.runtime.paths import submissions_dir
from shared.track.submission import Report, read_manifest, write_csv
from solutions.vk_clips import TRACK, models, pipeline, submit

pytestmark = pytest.mark.functional  # deselected by make test-fast

FAST = dict(scale="tiny", emb_dim=16, batch_size=2048, seq_dim=16, seq_epochs=1, seq_len=16)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import os

    out = tmp_path_factory.mktemp("vk_run")
    old = os.environ.get("RECSYS_OUTPUT_DIR")
    os.environ["RECSYS_OUTPUT_DIR"] = str(out)
    try:
        table = pipeline.run(pipeline.Config(**FAST))
        sub = submissions_dir(TRACK)
        first = sha256_file(sub / submit.FILENAME)
        manifest = read_manifest(sub)
        shutil.rmtree(out / "artifacts")
        pipeline.run(pipeline.Config(**FAST))
        second = sha256_file(sub / submit.FILENAME)
        scores, info = pipeline.load_outputs(pipeline.Config(**FAST))
        study = pipeline.seed_study(pipeline.Config(**FAST), [42, 7])
    finally:
        if old is None:
            os.environ.pop("RECSYS_OUTPUT_DIR")
        else:
            os.environ["RECSYS_OUTPUT_DIR"] = old
    return table, first, second, manifest, scores, info, study


def test_every_row_of_the_table(tiny_run):
    table, *_ = tiny_run
    assert table["model"].to_list() == list(pipeline.MODELS)
    auc = dict(zip(table["model"], table["auc"]))
    assert all(0.0 <= v <= 1.0 for v in auc.values())
    assert auc["oracle"] > auc["random"] + 0.05  # the planted signal is there
    assert (table["auc_zero"] <= table["auc"]).all()
    expected = dict(zip(table["model"], table["auc_expected"]))
    assert expected["oracle"] == max(expected.values())  # the true expected class ranks best by far here
    assert abs(expected["random"] - 0.5) < 0.05


def test_seed_study(tiny_run):
    table, *_, (per_seed, summary) = tiny_run
    rows = pipeline.SEED_ROWS
    assert per_seed.select("model", "seed").rows() == [(m, 42) for m in rows] + [(m, 7) for m in rows]
    run = table.filter(pl.col("model").is_in(rows)).sort("model")
    own = per_seed.filter(pl.col("seed") == 42).sort("model")
    assert own["auc"].to_list() == run["auc"].to_list()  # the run's seed is read back, not retrained
    assert own["auc_expected"].to_list() == pytest.approx(run["auc_expected"].to_list(), abs=1e-12)
    other = per_seed.filter(pl.col("seed") == 7).sort("model")
    for a, b in zip(other["auc_expected"], own["auc_expected"]):
        assert a != b  # another seed, another model: the rankers' stacked models and trees too
    assert (per_seed["seconds"] > 0).all()
    trained = per_seed.filter(pl.col("model").is_in(list(pipeline.LTR_ROWS)).not_())
    assert (trained["rows_per_s"] > 0).all()
    assert per_seed.filter(pl.col("model") == "dcn_faithful")["gain_vs_faithful"].to_list() == [0.0, 0.0]
    for seed in (42, 7):  # the paired gain: the difference of the two rows' means (every user in both)
        one = {r["model"]: r for r in per_seed.filter(pl.col("seed") == seed).to_dicts()}
        assert one["ltr"]["gain_vs_faithful"] == pytest.approx(
            one["ltr"]["auc_expected"] - one["dcn_faithful"]["auc_expected"], abs=1e-12
        )
    dcn = per_seed.filter(pl.col("model") == "dcn_nohistory")["auc_expected"]
    by = {r["model"]: r for r in summary.to_dicts()}
    assert by["dcn_nohistory"]["seeds"] == 2 and by["dcn_nohistory"]["auc_expected_mean"] == pytest.approx(dcn.mean())
    assert by["dcn_nohistory"]["auc_expected_sd"] == pytest.approx(abs(dcn[0] - dcn[1]) / np.sqrt(2))
    gains = per_seed.filter(pl.col("model") == "ltr")["gain_vs_faithful"].to_numpy()
    assert by["ltr"]["gain"] == pytest.approx(gains.mean())
    ses = per_seed.filter(pl.col("model") == "ltr")["gain_se"].to_numpy()
    assert by["ltr"]["gain_se_seeds"] == pytest.approx(
        abs(gains[0] - gains[1]) / 2
    )  # sd / sqrt(2), sd = |a - b| / sqrt(2)
    assert by["ltr"]["gain_se_users"] == pytest.approx(np.sqrt((ses**2).mean()))  # shared by both seeds
    se = np.hypot(abs(gains[0] - gains[1]) / 2, np.sqrt((ses**2).mean()))
    assert by["ltr"]["gain_se"] == pytest.approx(se) and by["ltr"]["met"] == (gains.mean() > 2 * se)
    assert by["dcn_faithful"]["gain"] is None and by["dcn_faithful"]["time_vs_faithful"] == 1.0
    ltr_s = per_seed.filter(pl.col("model") == "ltr")["seconds"].sum()
    assert by["ltr"]["time_vs_faithful"] == pytest.approx(
        ltr_s / per_seed.filter(pl.col("model") == "dcn_faithful")["seconds"].sum()
    )


def test_paired_difference(tiny_run):
    *_, scores, _, _ = tiny_run
    same = pipeline.paired_difference(scores, "oracle", "oracle")
    assert same["auc"] == same["auc_expected"] == same["auc_se"] == 0.0
    diff = pipeline.paired_difference(scores, "oracle", "random")
    table = pipeline.evaluate(scores, ["oracle", "random"])
    gap = table["auc_expected"][0] - table["auc_expected"][1]
    assert diff["auc_expected"] == pytest.approx(gap, abs=1e-12)  # every user is in both means
    assert 0 < diff["auc_expected_se"] < diff["auc_expected"]


def test_two_runs_write_identical_submissions(tiny_run):
    _, first, second, *_ = tiny_run
    assert first == second


def test_manifest(tiny_run):
    _, first, _, manifest, *_ = tiny_run
    assert manifest["files"][0] == {"path": submit.FILENAME, "rows": 20 * 150, "sha256": first}
    assert manifest["files"][1]["path"] == submit.OURS_FILENAME and len(manifest["files"]) == 2  # ours beside it
    assert manifest["metrics"]["auc_ours"] == manifest["comparison"][pipeline.OURS]["auc"]
    assert manifest["metrics"]["ours_minus_faithful_auc_expected"] == pytest.approx(
        manifest["comparison"][pipeline.OURS]["auc_expected"] - manifest["comparison"]["dcn_faithful"]["auc_expected"],
        abs=2e-6,
    )  # every user is in both means; the manifest rounds to 6 places
    assert manifest["metrics"]["ours_minus_faithful_auc_expected_se"] > 0
    assert manifest["data_source"] == {"kind": "synthetic twin", "scale": "tiny", "seed": 42}
    assert manifest["tolerance"] == submit.TOLERANCE
    assert set(manifest["comparison"]) == set(pipeline.MODELS)
    assert manifest["metrics"]["auc"] == manifest["comparison"]["dcn_fixed"]["auc"]
    assert set(manifest["comparison"]["oracle"]) == {"auc", "auc_expected"}


def test_submission_validator(tiny_run, tmp_path):
    *_, scores, _, _ = tiny_run
    test = scores.select("user_id", "item_id")
    good = submit.submission_frame(test, scores["dcn_fixed"].to_numpy())
    path = write_csv(good, tmp_path / submit.FILENAME, pack_7z=True)
    assert submit.validate(path, test).height == test.height
    cases = {
        "header": (good.rename({"predict": "score"}), r"header \['user_id', 'item_id', 'score'\]"),
        "order": (good.reverse(), "not in test_pairs.csv's order"),
        "nan": (
            good.with_columns(
                predict=pl.when(pl.int_range(pl.len()) == 3).then(float("nan")).otherwise(pl.col("predict"))
            ),
            r"NaN values in column\(s\) \['predict'\]",
        ),
        "rows": (good.head(100), "100 rows"),
    }
    for name, (frame, message) in cases.items():
        bad = write_csv(frame, tmp_path / name / submit.FILENAME, pack_7z=True)
        with pytest.raises(SubmissionError, match=message):
            submit.validate(bad, test)


def test_corrupt_7z(tmp_path, tiny_run):
    *_, scores, _, _ = tiny_run
    path = tmp_path / submit.FILENAME
    path.write_bytes(b"7z\xbc\xaf\x27\x1c garbage")
    with pytest.raises(SubmissionError, match="submission.csv.7z: cannot be read"):
        submit.validate(path, scores.select("user_id", "item_id"))


def test_packing_is_byte_stable(tmp_path):
    frame = pl.DataFrame({"user_id": [1, 1], "item_id": [2, 3], "predict": [0.5, 0.25]})
    a = write_csv(frame, tmp_path / "a" / submit.FILENAME, pack_7z=True)
    b = write_csv(frame, tmp_path / "b" / submit.FILENAME, pack_7z=True)
    assert sha256_file(a) == sha256_file(b)


def test_training_facts(tiny_run):
    *_, info, _ = tiny_run
    for row in ("dcn_nohistory", "dcn_faithful", "dcn_fixed", "sequence"):
        assert info[row]["rows_per_s"] > 0 and len(info[row]["losses"]) >= 1
    assert 0.0 < info["data"]["like_rate"] < 0.2
    for row, stacked in pipeline.LTR_ROWS.items():
        assert info[row]["trees"] == models.LTR_TREES and len(info[row]["val_ndcg@20"]) == models.LTR_TREES
        assert (set(pipeline.STACKED) <= set(info[row]["importance"])) == stacked
    assert pipeline.ltr_seconds(info, "ltr") == pytest.approx(
        info["ltr"]["seconds"] + info["dcn_nohistory"]["seconds"] + info["sequence"]["seconds"]
    )


def test_beyond_source(tiny_run):
    *_, scores, info, _ = tiny_run
    beyond = pipeline.beyond_source(scores, info)
    assert beyond.select("ours", "against").rows() == [
        (o, a) for o in pipeline.LTR_ROWS for a in ("dcn_faithful", "dcn_fixed")
    ]
    row = beyond.row(0, named=True)
    diff = pipeline.paired_difference(scores, "ltr_stats", "dcn_faithful")
    assert (row["gain"], row["se"], row["gain_drawn"]) == (diff["auc_expected"], diff["auc_expected_se"], diff["auc"])
    assert row["seconds against"] == info["dcn_faithful"]["seconds"]


def test_ours_is_written_beside_the_submission_and_removed_without_it(tiny_run, tmp_path):
    *_, scores, _, _ = tiny_run
    test = scores.select("user_id", "item_id")
    report = Report({"seed": 42}, {"kind": "synthetic twin"}, {"auc": 0.5})
    args = (test, scores["dcn_fixed"].to_numpy(), report, tmp_path)
    submit.write(*args, ours=scores["ltr"].to_numpy())
    ours = submit.validate(tmp_path / submit.OURS_FILENAME, test)
    assert ours["predict"].to_list() == pytest.approx(scores["ltr"].to_list(), abs=5e-7)  # 6 decimals written
    assert [f["path"] for f in read_manifest(tmp_path)["files"]] == [submit.FILENAME, submit.OURS_FILENAME]
    submit.write(*args)  # a run without ours must not leave an older ours.csv.7z beside its manifest
    assert not (tmp_path / submit.OURS_FILENAME).exists()
    assert [f["path"] for f in read_manifest(tmp_path)["files"]] == [submit.FILENAME]


def test_real_data_path(tiny_dir, tmp_path, monkeypatch):
    """The four files alone in a folder (no truth.parquet), as a user downloads them: the pipeline
    writes a validated submission, with no table (the real test labels are hidden)."""
    folder = tmp_path / "real"
    folder.mkdir()
    for name in ("train_interactions.parquet", "users_meta.parquet", "items_meta.parquet", "test_pairs.csv"):
        shutil.copy(tiny_dir / name, folder / name)
    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(tmp_path / "out"))
    fast = {k: v for k, v in FAST.items() if k != "scale"}
    cfg = pipeline.Config(data_dir=str(folder), **fast)
    assert pipeline.run(cfg, ("random", "dcn_fixed")) is None
    manifest = read_manifest(submissions_dir(TRACK))
    assert manifest["data_source"]["kind"] == "real" and manifest["parameters"]["data_dir"] == "<real>"
    assert manifest["metrics"] == {} and set(manifest["data_source"]["files"]) == {
        "train_interactions.parquet",
        "users_meta.parquet",
        "items_meta.parquet",
        "test_pairs.csv",
    }
    assert pipeline.Config(data_dir=str(folder)).batch == pipeline.SOURCE_BATCH  # the source's batch on real files


def test_bench_times_the_source_loop_beside_ours(tmp_path, monkeypatch):
    """make bench: two stages on the same slice, named so the bench states their ratio; the two
    computations are checked to agree."""
    from shared.train.bench import StageTimer, ratio_lines

    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(tmp_path))
    timer = StageTimer()
    d = pipeline.load_data(pipeline.Config(**FAST))
    with timer.stage("history: like + dislike"):  # the full-run stages are not a variant of anything
        pass
    pipeline.history_ratio(d, timer.stage, rows=d.vk.train.height // 4)
    every_4th = int((d.vk.train["user_id"].to_numpy() % 4 == 0).sum())
    names = [r["stage"] for r in timer.records]
    assert names[1:] == [
        f"source loop: faithful history, the {every_4th:,} rows of one user in 4",
        f"ours: faithful history, the {every_4th:,} rows of one user in 4",
    ]
    (line, _) = ratio_lines([{**r, "wall_s": str(r["wall_s"])} for r in timer.records])
    assert line.startswith("Same run: `ours` took ") and " of `source loop`'s " in line


def test_the_stack_keeps_each_cut_and_a_rerun_trains_only_the_missing_one(tiny_dir, tmp_path, monkeypatch):
    """The ranker's out-of-fold models (four trainings; hours at `medium` on a CPU): each cut's
    scores are kept once both of its models are done, and each model's as soon as it is: a killed run
    trains again only what it had not finished; a run with other parameters never reads them."""
    from dataclasses import replace

    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(tmp_path))
    cfg = pipeline.Config(data_dir=str(tiny_dir), **{k: v for k, v in FAST.items() if k != "scale"})
    d = pipeline.load_data(cfg)
    trained, real = [], pipeline.train_dcn
    monkeypatch.setattr(pipeline, "train_dcn", lambda *a, **k: trained.append(k["name"]) or real(*a, **k))
    first, seconds = pipeline.stacked_scores(cfg, d)
    assert trained == ["ltr-dcn-0", "ltr-dcn-1"] and seconds > 0
    half = round(d.vk.train.height * pipeline.LTR_CUTS[0])
    for m in pipeline.STACKED:
        assert np.isnan(first[m][:half]).all() and np.isfinite(first[m][half:]).mean() > 0.5
    files = sorted((cfg.artifacts / "ltr-stack").glob("cut*.npz"))
    assert [f.name[:5] for f in files] == ["cut0-", "cut1-"]
    files[1].unlink()  # as if killed in the second cut
    again, _ = pipeline.stacked_scores(cfg, d)
    assert trained[2:] == ["ltr-dcn-1"]
    for m in pipeline.STACKED:
        np.testing.assert_array_equal(first[m], again[m])
    pipeline.stacked_scores(replace(cfg, seed=7), d)
    assert trained[3:] == ["ltr-dcn-0", "ltr-dcn-1"]
    # killed in the second cut's sequence model, after its DCNv2 was done: only the sequence trains again
    files[1].unlink()
    real_seq = pipeline.train_sequence

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "train_sequence", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.stacked_scores(cfg, d)
    assert trained[5:] == ["ltr-dcn-1"]
    assert [f.name[:9] for f in (cfg.artifacts / "ltr-stack").glob("cut1-dcn*.npz")] == ["cut1-dcn_"]
    monkeypatch.setattr(pipeline, "train_sequence", real_seq)
    resumed, _ = pipeline.stacked_scores(cfg, d)
    assert trained[6:] == []
    for m in pipeline.STACKED:
        np.testing.assert_array_equal(first[m], resumed[m])
    assert sorted(f.name[:5] for f in (cfg.artifacts / "ltr-stack").glob("cut*.npz")) == [
        "cut0-",
        "cut0-",
        "cut1-",
        "cut1-",
    ]


def test_resume_keeps_the_rows_a_killed_run_finished(tiny_dir, tmp_path, monkeypatch):
    """``--resume``: a row trained by an earlier run of the same parameters is kept (its scores as
    they were), none of a run of other parameters is; without it every row trains."""
    from dataclasses import replace

    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(tmp_path))
    cfg = pipeline.Config(data_dir=str(tiny_dir), **{k: v for k, v in FAST.items() if k != "scale"})
    names = ("random", "dcn_nohistory", "sequence")
    pipeline.run(cfg, names[:2])  # as if killed in the sequence model: one torch row done
    first, _ = pipeline.load_outputs(cfg)
    trained = []
    real_dcn, real_seq = pipeline.train_dcn, pipeline.train_sequence
    monkeypatch.setattr(
        pipeline, "train_dcn", lambda c, d, row, *a, **k: trained.append(row) or real_dcn(c, d, row, *a, **k)
    )
    monkeypatch.setattr(pipeline, "train_sequence", lambda *a, **k: trained.append("sequence") or real_seq(*a, **k))
    pipeline.run(cfg, names, resume=True)
    assert trained == ["sequence"]
    scores, info = pipeline.load_outputs(cfg)
    assert scores.select(names[:2]).equals(first.select(names[:2])) and info["sequence"]["key"]
    d = pipeline.load_data(cfg)
    assert pipeline.kept_by_resume(cfg, d, scores) == {"dcn_nohistory", "sequence"}
    assert pipeline.kept_by_resume(replace(cfg, seed=7), d, scores) == set()
    assert pipeline.kept_by_resume(replace(cfg, emb_dim=8), d, scores) == {"sequence"}  # DCNv2's size only
    pipeline.run(cfg, names)  # without --resume: every row again
    assert trained[1:] == ["dcn_nohistory", "sequence"]
