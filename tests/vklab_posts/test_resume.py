"""End-to-end fine-tuning killed mid-epoch (a real SIGKILL of the child process right after its
third checkpoint, one batch into the second epoch) and run again continues from the checkpoint to
the uninterrupted run's predictions, bit for bit."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from shared.runtime.paths import REPO_ROOT
from shared.train.checkpoint import KILL_ENV, STEPS_ENV

pytestmark = pytest.mark.functional  # deselected by make test-fast

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from shared.train.checkpoint import Checkpoint
    from solutions.vklab_posts import models
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 224, 224, 3), dtype=np.uint8)
    y = rng.uniform(0.0, 0.3, 12)
    params = models.FinetuneParams(epochs=2, batch=4)
    fit = models.finetune_cnn(pixels, y, np.arange(8), np.arange(8, 12), params, seed=1, progress=True,
                              checkpoint=Checkpoint(sys.argv[1], "test"))
    np.save(sys.argv[2], fit.predict_all)
""")


def child(tmp_path, name, **env):
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "ft.pt"), str(tmp_path / name)],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_killed_finetuning_resumes_to_the_same_bits(tmp_path):
    whole = child(tmp_path, "whole.npy")
    assert whole.returncode == 0, whole.stderr[-3000:]
    killed = child(tmp_path, "never.npy", **{STEPS_ENV: "1", KILL_ENV: "3"})  # epoch 2, after its first batch
    assert killed.returncode == -signal.SIGKILL and (tmp_path / "ft.pt").is_file()
    assert not (tmp_path / "never.npy").exists()
    resumed = child(tmp_path, "resumed.npy")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "fine-tune: resumed from its checkpoint in epoch 2, row 4 of 8" in resumed.stdout
    assert np.load(tmp_path / "resumed.npy").tobytes() == np.load(tmp_path / "whole.npy").tobytes()
    assert not (tmp_path / "ft.pt").exists()
