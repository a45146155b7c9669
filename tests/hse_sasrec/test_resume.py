"""SASRec and BERT4Rec killed (a real SIGKILL of the child process, right after a resume
checkpoint) and run again continue from that checkpoint, with the whole training curve, to the
uninterrupted run's recommendations, bit for bit: once killed at an epoch's end, once in the middle
of an epoch (four batches an epoch, a checkpoint every third optimiser step: the third write is the
one after the second batch of epoch 2)."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from shared.runtime.paths import REPO_ROOT
from shared.train.checkpoint import KILL_ENV, STEPS_ENV

pytestmark = pytest.mark.functional  # deselected by make test-fast

CHILD = textwrap.dedent("""
    import dataclasses, hashlib, sys
    from pathlib import Path
    from solutions.hse_sasrec import models, pipeline
    kind, folder = sys.argv[1], Path(sys.argv[2])
    cfg = pipeline.Config(scale="tiny", sasrec_epochs=4, bert4rec_epochs=4)
    d = pipeline.load_data(cfg)
    train = models.train_sasrec if kind == "sasrec" else models.train_bert4rec
    predict = models.predict_sasrec if kind == "sasrec" else models.predict_bert4rec
    params = dataclasses.replace(cfg.sasrec if kind == "sasrec" else cfg.bert4rec, batch=32)  # 120 users: 4 batches
    fit = train(d.split.train, d.split.val_gt, d.n_items, params, cfg.seed, progress=False, resume_dir=folder)
    recs = predict(fit, d.split.test_events)
    print("curve", [row["epoch"] for row in fit.epochs], "best", fit.best_epoch)
    print("recs", hashlib.sha256(recs.write_csv().encode()).hexdigest())
    print("left", folder.exists())
""")


def child(folder, kind, **env):
    return subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(folder / "ckpt")],
        cwd=REPO_ROOT,
        env={**os.environ, "RECSYS_OUTPUT_DIR": str(folder), STEPS_ENV: "3", **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The uninterrupted run of each model, once for the module (both kill points compare with it)."""
    runs = {}

    def run(kind):
        if kind not in runs:
            whole = child(tmp_path_factory.mktemp(f"{kind}-whole"), kind)
            assert whole.returncode == 0, whole.stderr[-3000:]
            assert "curve [1, 2, 3, 4]" in whole.stdout and "left False" in whole.stdout
            runs[kind] = whole.stdout
        return runs[kind]

    return run


@pytest.mark.parametrize("kind", ["sasrec", "bert4rec"])
@pytest.mark.parametrize("kill_at", ["2", "3"], ids=["epoch-end", "mid-epoch"])
def test_killed_training_resumes_to_the_same_bits(tmp_path_factory, uninterrupted, kind, kill_at):
    whole = uninterrupted(kind)
    folder = tmp_path_factory.mktemp(f"{kind}-{kill_at}")
    killed = child(folder, kind, **{KILL_ENV: kill_at})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (folder / "ckpt" / "last.ckpt").is_file()
    resumed = child(folder, kind)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout == whole
