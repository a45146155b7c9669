"""`make reproduce PROFILE=source` at `tiny`: every track's source configuration runs end to end
through the runner and the report, as a user's command would (epochs and sizes overridden only by
tiny.yaml), prints its estimate line, and writes its own submission folder. A track whose source
profile overrides nothing (kraft_kuairec: KRAFT's configuration is the default) runs the code the
teach notebooks' tests run; tests/test_profiles.py checks its profile is read and typed."""

import json
import os
import subprocess
import sys

import pytest

from shared.runtime.paths import NOTEBOOKS_DIR, REPO_ROOT
from shared.track import profiles

pytestmark = pytest.mark.notebook
ALL = sorted(p.parent.name for p in NOTEBOOKS_DIR.glob("*/source.yaml"))
TRACKS = [t for t in ALL if profiles.parameters(t, "source") != {"PROFILE": "source"}]
# Over tiny.yaml: the team's final SASRec (4 blocks of 256, sequences of 200) takes 100 s for tiny.yaml's
# 4 epochs on 2 cores, and one epoch runs the same code; source (a)'s fine-tuning (off in the teach
# profile and its tests) for one epoch instead of source.yaml's five.
ONE_EPOCH = {"hse_sasrec": {"SASREC_EPOCHS": 1, "BERT4REC_EPOCHS": 1}, "vklab_posts": {"FINETUNE_EPOCHS": 1}}
# HSE's classic models (a minute at tiny, the same as in the lessons' test) are left out, as on a machine
# without Spark: this run takes that path through every notebook.
ENV = {"hse_sasrec": {"RECSYS_SPARK": "0"}}


def test_every_track_has_a_source_profile():
    assert ALL == sorted(p.name for p in NOTEBOOKS_DIR.iterdir() if p.is_dir())
    assert set(ALL) - set(TRACKS) == {"kraft_kuairec"}


@pytest.mark.parametrize("track", TRACKS)
def test_source_profile_runs_at_tiny(track, tmp_path):
    env = {**os.environ, "RECSYS_OUTPUT_DIR": str(tmp_path), **ENV.get(track, {})}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.tools.runner",
            track,
            "--out",
            str(tmp_path / "executed"),
            "--profile",
            "source",
            "-f",
            str(NOTEBOOKS_DIR / track / "tiny.yaml"),
            "-p",
            "DATA_DIR",
            "",
            *[a for name, value in ONE_EPOCH.get(track, {}).items() for a in ("-p", name, str(value))],
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"estimate: {track}, profile source, twin tiny, on " in run.stdout
    manifest = json.loads((tmp_path / "submissions" / track / "source" / "manifest.json").read_text())
    assert manifest["profile"] == "source" and manifest["data_source"]["scale"] == "tiny"
    assert all(manifest["parameters"][name.lower()] == value for name, value in ONE_EPOCH.get(track, {}).items())
    if track in ENV:  # no classic row anywhere, and the submission still written
        assert not {"slim", "als", "itemknn"} & set(manifest["comparison"]) and manifest["files"]
    assert manifest["timing"]["estimate_s"] is None and manifest["timing"]["wall_s"] > 0
    assert not (tmp_path / "submissions" / track / "manifest.json").exists()  # the teach run is untouched
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.tools.report",
            track,
            "--executed",
            str(tmp_path / "executed"),
            "--profile",
            "source",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stderr
    assert f"{track}: not comparable: no committed source-profile run to compare with" in report.stdout
