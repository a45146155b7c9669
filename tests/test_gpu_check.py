"""make gpu-check: one line and exit 0 without CUDA; the same checks run on the CPU at tiny."""
import subprocess
import sys

import polars as pl
import pytest
import torch

from shared import gpu_check
from shared.paths import REPO_ROOT


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_one_line_and_exit_0():
    out = subprocess.run([sys.executable, "-m", "shared.gpu_check"], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: no CUDA device on this machine")


def test_every_torch_model_runs_through_the_check_on_the_cpu(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # what --cpu sets, restored after the test
    record = tmp_path / "gpu.csv"
    code = gpu_check.main(["vk_clips", "hse_sasrec", "vklab_posts", "kraft_kuairec", "--cpu", "--scale", "tiny",
                           "--out", str(record)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "gpu-check kraft_kuairec: no torch model" in printed
    frame = pl.read_csv(record)
    assert frame.select("track", "model").rows() == [
        ("vk_clips", "dcnv2"), ("vk_clips", "sequence"), ("hse_sasrec", "sasrec"), ("hse_sasrec", "bert4rec"),
        ("vklab_posts", "image-encoder"), ("vklab_posts", "heads"), ("vklab_posts", "finetune")]
    assert (frame["rows"] > 0).all() and (frame["rows_per_s"] > 0).all()
    assert (frame["error"].fill_null("") == "").all() and set(frame["gpu"]) == {"cpu"}


def test_a_failing_model_is_a_row_and_a_failed_exit():
    row = gpu_check.measure("broken", lambda: 1 / 0, cuda=False)
    assert row["rows"] == 0 and row["error"] == "ZeroDivisionError: division by zero"
