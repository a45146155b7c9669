import csv

import numpy as np
import pytest

from shared.train.bench import StageTimer
from shared.twin.blocks import (
    calibrate_intercept,
    check_scale,
    expected_sigmoid,
    sample_categorical,
    sigmoid,
    softmax,
    stream,
)


def test_streams_are_deterministic_and_independent():
    assert np.array_equal(stream(1, "a").random(5), stream(1, "a").random(5))
    assert not np.array_equal(stream(1, "a").random(5), stream(1, "b").random(5))
    assert not np.array_equal(stream(1, "a").random(5), stream(2, "a").random(5))


def test_calibrate_intercept_hits_target_rate():
    logits = stream(0, "x").normal(0, 2, 10_000)
    b = calibrate_intercept(logits, 0.324)
    assert sigmoid(logits + b).mean() == pytest.approx(0.324, abs=1e-8)
    with pytest.raises(ValueError):
        calibrate_intercept(logits, 1.0)


def test_expected_sigmoid_against_monte_carlo():
    z = np.array([-4.0, -3.2, 0.0, 1.5])
    e = np.random.default_rng(0).normal(0.0, 1.0, 2_000_000)
    for sd in (0.35, 1.0):
        brute = np.array([sigmoid(zi + sd * e).mean() for zi in z])
        got = expected_sigmoid(z, sd)
        assert np.abs(got - brute).max() < 4 * sd * 0.5 / np.sqrt(len(e)) + 1e-5
        assert got[2] == pytest.approx(0.5, abs=1e-12)  # symmetric about a zero logit
        assert (got[:2] > sigmoid(z[:2])).all()  # below 0.5 the noise raises the mean (convex part)
    assert expected_sigmoid(z, 0.0) == pytest.approx(sigmoid(z), abs=1e-15)
    assert expected_sigmoid(z.reshape(2, 2), 0.5).shape == (2, 2)


def test_sigmoid_softmax_and_sampling():
    assert sigmoid(np.array([0.0]))[0] == 0.5
    assert sigmoid(np.array([2.0]))[0] == pytest.approx(1 / (1 + np.exp(-2)))
    probs = softmax(np.log(np.tile([0.2, 0.5, 0.3], (100_000, 1))))
    assert probs[0] == pytest.approx([0.2, 0.5, 0.3])
    draws = sample_categorical(stream(0, "s"), probs)
    assert np.bincount(draws, minlength=3) / len(draws) == pytest.approx([0.2, 0.5, 0.3], abs=0.01)


def test_check_scale():
    assert check_scale("tiny") == "tiny"
    with pytest.raises(ValueError, match="SCALE"):
        check_scale("huge")
    assert check_scale("medium") == "medium"  # some track has it
    with pytest.raises(ValueError, match=r"^unknown scale 'medium': SCALE must be one of tiny, full$"):
        check_scale("medium", {"tiny": 1, "full": 2})  # a track's own scales
    with pytest.raises(ValueError, match=r"^demo has no 'medium' twin; its scales are tiny, full$"):
        check_scale("medium", {"tiny": 1, "full": 2}, "demo")


def test_stage_timer_records_peak_memory(tmp_path):
    timer = StageTimer()
    with timer.stage("alloc"):
        block = np.ones(300 * 2**20 // 8)  # 300 MiB
        block.sum()
        del block
    with timer.stage("idle"):
        pass
    alloc, idle = timer.records
    assert alloc["stage"] == "alloc" and alloc["peak_rss_mib"] - idle["peak_rss_mib"] > 250
    timer.write("track", "tiny", directory=tmp_path)
    timer.write("track", "tiny", directory=tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [r["stage"] for r in rows] == ["alloc", "idle", "TOTAL"] * 2
    md = (tmp_path / "README.md").read_text()
    assert "| alloc |" in md and md.count("## track, scale `tiny`") == 2  # one table per run


def test_latent_factors_scale():
    from shared.twin.blocks import latent_factors

    u = latent_factors(stream(0, "u"), 20_000, 8, scale=1.5)
    v = latent_factors(stream(0, "v"), 20_000, 8, scale=1.5)
    dots = np.einsum("ij,ij->i", u, v)
    assert dots.mean() == pytest.approx(0.0, abs=0.05)
    assert (dots**2).mean() == pytest.approx(1.5**4, rel=0.05)


def test_bench_records_cpu_and_same_run_ratios(tmp_path):
    from shared.train import bench

    rows = [
        {"stage": s, "variant": v, "wall_s": w}
        for s, v, w in [
            ("twin: generate", "", 9.0),
            ("load + split", "", 3.0),
            ("faithful: als", "faithful", 10.0),
            ("faithful: lightgbm", "faithful", 90.0),
            ("best: features", "best", 5.0),
            ("best: lightgbm", "best", 20.0),
            ("TOTAL", "", 137.0),
        ]
    ]
    assert bench.ratio_lines(rows) == ["Same run: `best` took 25.0 s, 0.250 of `faithful`'s 100.0 s.", ""]
    assert bench.ratio_lines(rows[:4]) == []
    named = [{**r, "variant": ""} for r in rows]  # the label is only a label: the variant is a field
    assert bench.ratio_lines(named) == []
    older = [{"stage": "encode photos: efficientnet_lite0 (9 distinct)", "wall_s": 300.0}, *rows]  # no variant field
    assert bench.ratio_lines(older) == bench.ratio_lines(rows)
    unknown = [{**r, "variant": bench.NOT_RECORDED} for r in rows]  # a row appended before the column
    assert bench.ratio_lines(unknown) == []
    timer = bench.StageTimer()
    with timer.stage("a: x", variant="a", rows=7):
        pass
    assert timer.records[0]["variant"] == "a" and timer.records[0]["rows"] == 7
    (tmp_path / "results.csv").write_text(
        "date,track,scale,config,stage,wall_s,peak_rss_mib,cores,ram_gib,gpu\n"
        "2026-01-01,t,full,c,TOTAL,1.0,1.0,2,24,none\n"
    )  # an older run
    timer.write("t", "tiny", "c", tmp_path)
    text = (tmp_path / "results.csv").read_text().splitlines()
    assert text[0].endswith(",cpu") and text[1].endswith(",not recorded")
    assert text[-1].endswith("," + bench.dispatch.cpu_model())
    assert f"CPU: {bench.dispatch.cpu_model()}." in (tmp_path / "README.md").read_text()


def test_record_table_writes_the_comparison_beside_the_timings(tmp_path):
    import polars as pl

    from shared.track.cli import record_table

    class Cfg:
        scale, is_twin = "full", True

    table = pl.DataFrame({"model": ["constant", "cnn-bce"], "logloss": [0.1621341, 0.15574]})
    path = record_table(table, "vklab_posts", Cfg(), "table-finetune3", tmp_path)
    assert path.name == "vklab_posts-full-table-finetune3.csv"
    assert path.read_text() == "model,logloss\nconstant,0.162134\ncnn-bce,0.155740\n"
    Cfg.is_twin = False
    assert record_table(table, "t", Cfg(), "a b/c", tmp_path).name == "t-real-a_b_c.csv"


def test_model_seeds_put_the_runs_seed_first():
    from shared.track.cli import model_seeds

    assert model_seeds("7,11,42,13", 42) == [42, 7, 11, 13] and model_seeds("", 5) == [5]
