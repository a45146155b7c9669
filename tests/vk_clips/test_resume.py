"""A DCNv2 run killed mid-epoch (a real SIGKILL of the child process, right after its second
checkpoint) and run again continues from the checkpoint and writes the uninterrupted run's
submission, bit for bit; the submission already in place is untouched by the killed run."""
import os
import shutil
import signal
import subprocess
import sys

from shared.checkpoint import KILL_ENV, STEPS_ENV
from shared.io import sha256_file
from shared.paths import REPO_ROOT
from solutions.vk_clips import TRACK, pipeline, submit


def pipeline_run(out, **env):
    return subprocess.run(
        [sys.executable, "-m", "solutions.vk_clips.pipeline", "--scale", "tiny", "--models", "random,dcn_fixed"],
        cwd=REPO_ROOT, env={**os.environ, "RECSYS_OUTPUT_DIR": str(out), **env},
        capture_output=True, text=True, timeout=900)


def test_killed_run_resumes_to_the_same_bits(tmp_path):
    whole = pipeline_run(tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    expected = sha256_file(tmp_path / "whole" / "submissions" / TRACK / submit.FILENAME)

    out = tmp_path / "killed"
    previous = out / "submissions" / TRACK / submit.FILENAME
    previous.parent.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "submissions" / TRACK / submit.FILENAME, previous)  # the committed one
    before = sha256_file(previous)
    killed = pipeline_run(out, **{STEPS_ENV: "3", KILL_ENV: "2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    ckpt = out / "artifacts" / TRACK / pipeline.Config(scale="tiny").tag / "checkpoints" / "dcn_fixed.pt"
    assert ckpt.is_file() and sha256_file(previous) == before
    assert not list(previous.parent.glob(".*.tmp"))  # no half-written file left beside it

    resumed = pipeline_run(out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "dcnv2: resumed from its checkpoint at step 6 of " in resumed.stdout
    assert sha256_file(previous) == expected and not ckpt.exists()
