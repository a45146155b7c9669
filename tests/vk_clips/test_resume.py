"""A DCNv2 run killed mid-epoch (a real SIGKILL of the child process, right after its second
checkpoint) and run again continues from the checkpoint and writes the uninterrupted run's
submission, bit for bit; the submission already in place is untouched by the killed run."""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from shared.data.io import sha256_file
from shared.runtime.paths import NOTEBOOKS_DIR, REPO_ROOT
from shared.train.checkpoint import KILL_ENV, STEPS_ENV
from solutions.vk_clips import TRACK, pipeline, submit

pytestmark = pytest.mark.functional  # deselected by make test-fast


def pipeline_run(out, **env):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "solutions.vk_clips.pipeline",
            "--scale",
            "tiny",
            "--models",
            "random,dcn_fixed",
            "-f",
            str(NOTEBOOKS_DIR / "vk_clips" / "tiny.yaml"),
        ],  # the notebook tests' sizes
        cwd=REPO_ROOT,
        env={**os.environ, "RECSYS_OUTPUT_DIR": str(out), **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


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


SEQUENCE_CHILD = """
import sys
import numpy as np, torch
from shared.train.checkpoint import Checkpoint
from solutions.vk_clips import models
from tests.vk_clips.toy import toy_data
torch.set_num_threads(1)
tables, users, items, target, rng = toy_data()
n = len(users)
zeros = np.zeros(n, np.int64)
log = models.TrainLog(users, items, target, zeros, zeros, rng.integers(1, 60, n))
params = models.SequenceParams(dim=16, layers=1, max_len=16, epochs=3, batch_size=8, patience=5)
fit = models.train_sequence(tables, log, params, seed=1, progress=True, checkpoint=Checkpoint(sys.argv[2], "test"))
torch.save({"state": fit.model.state_dict(), "losses": fit.losses, "val": fit.val_losses, "seconds": fit.seconds,
            "seconds_before": fit.seconds_before}, sys.argv[1])
"""


def sequence_run(tmp_path, name, **env):
    return subprocess.run(
        [sys.executable, "-c", SEQUENCE_CHILD, str(tmp_path / f"{name}.pt"), str(tmp_path / "ckpt.pt")],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_sequence_model_killed_in_search_and_in_refit_resumes_to_the_same_weights(tmp_path):
    """Killed twice (once while searching the epoch count, once in the refit on every row), the
    sequence model ends with the uninterrupted run's weights and losses, bit for bit."""
    import torch

    whole = sequence_run(tmp_path, "whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    for kill_at in ("5", "8"):  # at step 10 (the search's 2nd epoch of 8 steps), then step 26 (the refit)
        killed = sequence_run(tmp_path, "resumed", **{STEPS_ENV: "2", KILL_ENV: kill_at})
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        assert (tmp_path / "ckpt.pt").is_file()
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    phase = saved["state"]["phase"]
    resumed = sequence_run(tmp_path, "resumed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "sequence: resumed from its checkpoint (refit" in resumed.stdout and phase == "refit"
    a, b = (torch.load(tmp_path / f"{n}.pt", weights_only=False) for n in ("whole", "resumed"))
    assert a["losses"] == b["losses"] and a["val"] == b["val"] and len(a["val"]) == 3
    assert a["state"].keys() == b["state"].keys()
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
    assert not (tmp_path / "ckpt.pt").exists()
    # the training time counts the killed processes' too (what the resumed row says it cost)
    assert a["seconds_before"] == 0.0 and 0.0 < saved["seconds"] == b["seconds_before"] < b["seconds"]


def test_a_resumed_dcn_counts_the_earlier_processes_training_time(tmp_path, monkeypatch):
    """A checkpoint left in place (as a kill leaves it) is resumed: the Fit's seconds are the saved
    ones plus this process's, and its weights those of a run in one go."""
    import torch

    from shared.train.checkpoint import Checkpoint
    from solutions.vk_clips import models

    from .toy import toy_data

    tables, users, items, target, _ = toy_data()

    def train(ckpt=None):
        rows, params = models.DcnRows(users, items, target=target), models.DcnParams(emb_dim=8, batch_size=100)
        return models.train_dcn(tables, rows, params, seed=3, progress=False, checkpoint=ckpt)

    whole = train()
    monkeypatch.setenv(STEPS_ENV, "2")
    ckpt = Checkpoint(tmp_path / "dcn.pt", "test")
    monkeypatch.setattr(ckpt, "clear", lambda: None)  # keep the last one (step 4 of 6), as a kill would
    first = train(ckpt)
    saved = torch.load(tmp_path / "dcn.pt", weights_only=False)
    assert saved["state"]["step"] == 4 and first.seconds_before == 0.0
    resumed = train(Checkpoint(tmp_path / "dcn.pt", "test"))
    assert 0.0 < saved["seconds"] == resumed.seconds_before < resumed.seconds
    assert resumed.losses == whole.losses
    assert all(
        torch.equal(a, b) for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values())
    )
    assert not (tmp_path / "dcn.pt").exists()
