"""SASRec and BERT4Rec killed after their second epoch (a real SIGKILL of the child process, right
after the resume checkpoint) and run again continue from the third epoch, with the whole training
curve, to the uninterrupted run's recommendations, bit for bit."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from shared.checkpoint import KILL_ENV
from shared.paths import REPO_ROOT

CHILD = textwrap.dedent("""
    import hashlib, sys
    from pathlib import Path
    from solutions.hse_sasrec import models, pipeline
    kind, folder = sys.argv[1], Path(sys.argv[2])
    cfg = pipeline.Config(scale="tiny", sasrec_epochs=4, bert4rec_epochs=4)
    d = pipeline.load_data(cfg)
    train = models.train_sasrec if kind == "sasrec" else models.train_bert4rec
    predict = models.predict_sasrec if kind == "sasrec" else models.predict_bert4rec
    params = cfg.sasrec if kind == "sasrec" else cfg.bert4rec
    fit = train(d.split.train, d.split.val_gt, d.n_items, params, cfg.seed, progress=False, resume_dir=folder)
    recs = predict(fit, d.split.test_events)
    print("curve", [row["epoch"] for row in fit.epochs], "best", fit.best_epoch)
    print("recs", hashlib.sha256(recs.write_csv().encode()).hexdigest())
    print("left", folder.exists())
""")


def child(tmp_path, kind, **env):
    return subprocess.run([sys.executable, "-c", CHILD, kind, str(tmp_path / "ckpt")], cwd=REPO_ROOT,
                          env={**os.environ, "RECSYS_OUTPUT_DIR": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("kind", ["sasrec", "bert4rec"])
def test_killed_training_resumes_to_the_same_bits(tmp_path, kind):
    whole = child(tmp_path, kind)
    assert whole.returncode == 0, whole.stderr[-3000:]
    killed = child(tmp_path, kind, **{KILL_ENV: "2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (tmp_path / "ckpt" / "last.ckpt").is_file()
    resumed = child(tmp_path, kind)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "curve [1, 2, 3, 4]" in resumed.stdout and "left False" in resumed.stdout
    assert resumed.stdout == whole.stdout
