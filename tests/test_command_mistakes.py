"""Every command-line mistake ends in one line naming what is valid, before any work starts: no
traceback, no kernel started (issue: the README's commands on any machine)."""

import subprocess
import sys

import pytest

from shared.runtime.paths import REPO_ROOT
from shared.track import registry
from shared.twin.blocks import check_scale

pytestmark = pytest.mark.functional  # deselected by make test-fast

TRACKS = ", ".join(registry.names())


def runner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shared.tools.runner", *args, "--out", "unused"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["bogus"], f"error: unknown track 'bogus'; the tracks are: {TRACKS}"),
        (["kraft_kuairec", "bogus"], f"error: unknown track 'bogus'; the tracks are: {TRACKS}"),
        (
            ["kraft_kuairec", "-p", "SCALE", "huge"],
            "error: unknown scale 'huge' for kraft_kuairec: SCALE must be one of tiny, small, full",
        ),
        (
            ["vklab_posts", "-p", "SCALE", "medium"],
            "error: vklab_posts has no 'medium' twin; its scales are tiny, small, full",
        ),
        (
            ["kraft_kuairec", "--profile", "nonsense"],
            "error: profile must be one of ['teach', 'source'], got 'nonsense'",
        ),
        (
            ["kraft_kuairec", "-p", "DATA_DIR", "/nonexistent/folder"],
            "error: DATA_DIR /nonexistent/folder: no such directory",
        ),
        (["kraft_kuairec", "-p", "NOPE", "1"], "error: unknown parameter(s) ['NOPE']"),
    ],
    ids=["track", "second-track", "scale", "no-medium", "profile", "data-dir", "parameter"],
)
def test_a_mistake_in_make_reproduce_is_one_line_before_any_notebook(args, message):
    done = runner(*args)
    assert done.returncode == 2
    assert done.stdout == ""  # not even the track's heading: nothing started
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(message), done.stderr


def test_a_track_with_a_medium_twin_accepts_it_and_the_others_say_theirs():
    scales = {t: registry.config_class(t).SCALES for t in registry.names()}
    assert [t for t, s in scales.items() if "medium" in s] == ["vk_clips"]
    assert all(s[:2] == ("tiny", "small") and s[-1] == "full" for s in scales.values())
    registry.check_run("vk_clips", "teach", {"SCALE": "medium", "DATA_DIR": ""})
    with pytest.raises(ValueError, match="^hse_sasrec has no 'medium' twin; its scales are tiny, small, full$"):
        registry.check_run("hse_sasrec", "teach", {"SCALE": "medium"})


def test_a_pipeline_cli_offers_only_its_twins_scales(capsys):
    from solutions.kraft_kuairec import pipeline

    with pytest.raises(SystemExit):
        pipeline.main(["--scale", "medium"])
    assert "invalid choice: 'medium' (choose from 'tiny', 'small', 'full')" in capsys.readouterr().err


def test_the_scale_message_names_the_valid_ones():
    assert check_scale("small", ("tiny", "small")) == "small"
    with pytest.raises(ValueError, match=r"^unknown scale 'x': SCALE must be one of tiny, small$"):
        check_scale("x", ("tiny", "small"))


def test_gpu_check_refuses_an_unknown_track_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "shared.tools.gpu_check", "bogus"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr == f"gpu-check: unknown track 'bogus'; the tracks are: {TRACKS}\n"


def test_an_id_bound_in_a_loader_message_is_the_last_valid_id(tmp_path):
    from shared.runtime.errors import DataError
    from solutions.hse_sasrec import data

    path = tmp_path / "train.csv"
    path.write_text("user_id,item_id,rating,timestamp\n0,2147483648,5,1\n")
    with pytest.raises(DataError, match=r"item_id' = 2147483648 at data row 1 is outside 0\.\.2147483647$"):
        data.load_events(path)


def test_make_bench_checks_its_tracks_first():
    done = subprocess.run(
        [sys.executable, "-m", "shared.tools.benchmark", "kraft_kuairec", "nope"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr == f"error: unknown track 'nope'; the tracks are: {TRACKS}\n"
    assert done.stdout == ""  # before any pipeline started
    assert "$(PY) -m shared.tools.benchmark $(TRACKS)" in (REPO_ROOT / "Makefile").read_text()
