"""The track registry and contract: a track is a folder of numbered notebooks and a package whose
``CONTRACT`` says its place in the course, its scales and its hooks; the tools use nothing else."""

import json
import subprocess
import sys

import pytest

from shared.course.answers import Exercise
from shared.runtime.paths import REPO_ROOT
from shared.track import contract, registry


def _notebook(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_reading_order_follows_each_package_then_names(tmp_path):
    for track in ("vklab_posts", "kraft_kuairec", "hse_sasrec", "vk_clips", "a_toy_track"):
        _notebook(tmp_path / track / "01_x.ipynb")
    _notebook(tmp_path / ".ipynb_checkpoints" / "01_x.ipynb")  # JupyterLab's, not a track
    # a fifth folder of notebooks without a package (no contract) comes after the others
    assert registry.reading_order(tmp_path) == ["kraft_kuairec", "hse_sasrec", "vk_clips", "vklab_posts", "a_toy_track"]
    assert registry.reading_why("a_toy_track") == ""
    assert all(registry.reading_why(t) for t in registry.names())


def test_the_course_reads_kraft_first_and_vklab_last():
    order = registry.reading_order()
    assert order[0] == "kraft_kuairec" and order[-1] == "vklab_posts" and sorted(order) == registry.names()


def test_every_track_keeps_the_contract():
    """Each hook resolves to what the tools expect, and the scales are the twin's and the config's."""
    import importlib

    for name in registry.names():
        c = registry.contract(name)
        assert isinstance(c, contract.Track) and c.name == name
        cfg = c.config_class()
        assert tuple(cfg.SCALES) == c.scales == tuple(importlib.import_module(f"solutions.{name}.twin").SCALES)
        assert all(isinstance(e, Exercise) for e in c.exercise_list()) and c.exercise_list()
        assert callable(getattr(c.figure_module(), "closing", None)) or c.figure_module().__doc__
        if c.gpu_checks is not None:
            assert c.gpu_scale in c.scales and callable(c.gpu_checks.get())
        if c.seed_summary is not None:
            assert callable(c.seed_summary.get())
    offered = {n: registry.contract(n).gpu_checks is not None for n in registry.names()}
    assert offered == {"hse_sasrec": True, "kraft_kuairec": False, "vk_clips": True, "vklab_posts": True}


def test_every_pipeline_speaks_the_one_vocabulary():
    """The same jobs under the same names in every track (shared.track.contract.PIPELINE_VOCABULARY), and
    what --resume keeps named where a run resumes; the check itself finds a missing name."""
    resumes = {}
    for name in registry.names():
        c = registry.contract(name)
        assert c.missing_vocabulary() == [], name
        module = c.pipeline.get()
        assert module.OURS in module.MODELS
        resumes[name] = hasattr(module, "kept_by_resume")
    assert resumes == {"hse_sasrec": True, "kraft_kuairec": False, "vk_clips": True, "vklab_posts": False}
    for old in ("save_scores", "save_recs", "save_preds", "kept_rows", "kept_models", "paired", "LITERATURE"):
        assert not any(hasattr(registry.contract(n).pipeline.get(), old) for n in registry.names()), old
    lacking = contract.Track.of_package("shared", 9, "", ("tiny",))  # shared.pipeline does not exist
    with pytest.raises(ModuleNotFoundError):
        lacking.missing_vocabulary()
    partial = contract.Track(
        "x",
        9,
        "",
        ("tiny",),
        contract.lazy("shared.track.contract"),
        contract.lazy("shared.track.contract"),
        contract.lazy("shared.track.contract"),
        pipeline=contract.lazy("shared.eval.metrics"),
    )
    assert "OURS" in partial.missing_vocabulary() and "paired_difference" not in partial.missing_vocabulary()


def test_a_contract_says_what_goes_together():
    hook = contract.lazy("json", "dumps")
    assert hook({"a": 1}) == '{"a": 1}' and contract.lazy("json").get() is json
    base = dict(name="t", reading_order=9, reading_why="w", scales=("tiny", "small"), config=hook, exercises=hook)
    with pytest.raises(ValueError, match="go together"):
        contract.Track(**base, figures=hook, gpu_checks=hook)
    with pytest.raises(ValueError, match="not one of"):
        contract.Track(**base, figures=hook, gpu_checks=hook, gpu_scale="full")
    assert contract.Track(**base, figures=hook).gpu_check_runs() is None


def test_the_registry_loads_no_heavy_module():
    """Reading the course's order imports each track's package only: no torch, Spark or LightGBM."""
    code = (
        "import sys; from shared.track import registry; registry.reading_order(); "
        "print(sorted(m for m in ('torch', 'pyspark', 'lightgbm', 'replay') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_make_bench_names_every_option_it_adds():
    """``--bench`` only times: what a benchmark does besides (a fresh twin, the history loop's ratio,
    an empty embedding cache, the rows a CPU can time at full) is in each command, as its track's
    ``bench_options`` asks, and the track's own CLI parses it; ARGS come last and win."""
    from shared.tools import benchmark

    tracks = ["kraft_kuairec", "vk_clips", "hse_sasrec", "vklab_posts"]
    full_cpu = dict(zip(tracks, benchmark.commands(tracks, "full", "", "teach", gpu=False, more=["--seed", "7"])))
    base = ["--scale", "full", "--data-dir", "", "--profile", "teach", "--bench", "--fresh-twin"]
    assert full_cpu == {
        "kraft_kuairec": [
            "-m",
            "solutions.kraft_kuairec.pipeline",
            *base,
            "--variants",
            "faithful,best",
            "--seed",
            "7",
        ],
        "vk_clips": [
            *("-m", "solutions.vk_clips.pipeline", *base, "--models", "random,popularity,als,history,oracle"),
            *("--loop-ratio", "--seed", "7"),
        ],
        "hse_sasrec": [
            *("-m", "solutions.hse_sasrec.pipeline", *base, "--models=random,popularity,sasrec,bert4rec,oracle"),
            *("--sasrec-preset=final", "--sasrec-epochs=1", "--bert4rec-preset=team", "--bert4rec-epochs=1"),
            *("--seed", "7"),
        ],
        "vklab_posts": ["-m", "solutions.vklab_posts.pipeline", *base, "--fresh-embeddings", "--seed", "7"],
    }
    small_gpu = dict(zip(tracks, benchmark.commands(tracks, "small", "", "teach", gpu=True)))
    assert (
        small_gpu["vk_clips"][-2:] == ["--fresh-twin", "--loop-ratio"] and small_gpu["hse_sasrec"][-1] == "--fresh-twin"
    )
    real = dict(zip(tracks, benchmark.commands(tracks, "full", "/data", "source", gpu=False)))
    assert not any("--fresh-twin" in command for command in real.values())  # no twin on the real files
    assert real["hse_sasrec"][-1] == "--bench" and real["vk_clips"][-1] == "--loop-ratio"
    assert benchmark.commands(["a_lesson_of_its_own"], "full", "", "teach", gpu=False) == []  # no package: no bench
    for name, command in full_cpu.items():  # each option is one its CLI knows
        args = registry.contract(name).pipeline.get().cli_parser().parse_args(command[2:])
        assert args.bench and args.fresh_twin and args.seed == 7
