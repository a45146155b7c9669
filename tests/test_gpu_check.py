"""make gpu-check: one line and exit 0 without CUDA; the same checks run on the CPU at tiny."""

import subprocess
import sys

import polars as pl
import pytest
import torch

from shared.runtime.paths import REPO_ROOT
from shared.tools import gpu_check

pytestmark = pytest.mark.functional  # deselected by make test-fast

MODELS = [
    ("vk_clips", "dcnv2"),
    ("vk_clips", "sequence"),
    ("hse_sasrec", "sasrec"),
    ("hse_sasrec", "bert4rec"),
    ("vklab_posts", "image-encoder"),
    ("vklab_posts", "heads"),
    ("vklab_posts", "finetune"),
]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_one_line_and_exit_0():
    out = subprocess.run(
        [sys.executable, "-m", "shared.tools.gpu_check"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: no CUDA device on this machine")


def test_every_torch_model_runs_through_the_check_on_the_cpu(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # what --cpu sets, restored after the test
    record = tmp_path / "gpu.csv"
    code = gpu_check.main(
        ["vk_clips", "hse_sasrec", "vklab_posts", "kraft_kuairec", "--cpu", "--scale", "tiny", "--out", str(record)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "gpu-check kraft_kuairec: no torch model" in printed
    frame = pl.read_csv(record)
    assert frame.select("track", "model").rows() == MODELS
    assert (frame["rows"] > 0).all() and (frame["rows_per_s"] > 0).all()
    assert (frame["error"].fill_null("") == "").all() and set(frame["gpu"]) == {"cpu"}
    assert set(frame["scale"]) == {"tiny"} and set(frame["torch"]) == {torch.__version__}


def test_the_committed_gpu_record_has_every_model_passing_on_a_gpu():
    """benchmarks/gpu-check.csv (quoted by the READMEs): each model's latest row on a GPU has no error
    and ran at its track's default scale."""
    frame = pl.read_csv(REPO_ROOT / "benchmarks" / gpu_check.RECORD).filter(pl.col("gpu") != "cpu")
    latest = frame.group_by("track", "model", maintain_order=True).last()
    assert sorted(latest.select("track", "model").rows()) == sorted(MODELS)
    assert (latest["error"].fill_null("") == "").all() and (latest["rows_per_s"] > 0).all()
    defaults = {"vk_clips": "medium", "hse_sasrec": "full", "vklab_posts": "full"}
    assert dict(latest.select("track", "scale").rows()) == defaults


def test_a_failing_model_is_a_row_and_a_failed_exit():
    row = gpu_check.measure("broken", lambda: 1 / 0, cuda=False)
    assert row["rows"] == 0 and row["error"] == "ZeroDivisionError: division by zero"


def test_twice_compares_the_saved_outputs_of_two_fresh_runs(tmp_path, capsys, monkeypatch):
    """``--twice`` on the CPU at tiny: SASRec and BERT4Rec run in two fresh folders, their ten
    recommendation files are compared byte for byte (equal here: two runs on one machine), and the
    output folder the caller had is restored."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(tmp_path / "mine"))
    record = tmp_path / "gpu.csv"
    code = gpu_check.main(["hse_sasrec", "--cpu", "--scale", "tiny", "--twice", "--out", str(record)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "gpu-check hse_sasrec: 10 saved outputs, the two runs wrote the same bytes" in printed
    assert pl.read_csv(record).height == 4  # two models, two runs
    same = pl.read_csv(tmp_path / gpu_check.SAME_RECORD)
    assert same.height == 10 and same["same"].all() and (same["sha256_first"].str.len_chars() == 64).all()
    assert same["file"].str.starts_with("artifacts/hse_sasrec/").all()
    assert (tmp_path / "mine" / "gpu-check" / "second" / same["file"][0]).exists()
    import os

    assert os.environ["RECSYS_OUTPUT_DIR"] == str(tmp_path / "mine")


def test_compare_runs_flags_a_changed_and_a_missing_file():
    rows = gpu_check.compare_runs({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"}, "t", "cpu")
    assert [(r["file"], r["same"]) for r in rows] == [("a", True), ("b", False), ("c", False), ("d", False)]
    assert rows[2]["sha256_second"] == "" and rows[3]["sha256_first"] == ""
