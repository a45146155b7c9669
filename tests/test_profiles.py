"""Profiles: one parameters file per track, read alike by the notebooks and the pipeline CLIs."""

import dataclasses
import importlib

import pytest

from shared.runtime.paths import NOTEBOOKS_DIR, REPO_ROOT
from shared.tools import runner
from shared.track import profiles

TRACKS = sorted(p.name for p in NOTEBOOKS_DIR.iterdir() if p.is_dir())


def test_teach_is_the_notebooks_defaults_and_unknown_profiles_are_refused():
    assert profiles.parameters("vk_clips", "teach") == {}
    with pytest.raises(ValueError, match="profile must be one of"):
        profiles.parameters("vk_clips", "fast")
    with pytest.raises(FileNotFoundError, match="no_such_track has no source profile"):
        profiles.parameters("no_such_track", "source")


@pytest.mark.parametrize("track", TRACKS)
def test_every_track_has_a_source_profile_its_notebooks_and_config_understand(track):
    values = profiles.parameters(track, "source")
    assert values["PROFILE"] == "source"
    # every notebook that builds a Config declares PROFILE; the runner types the values per notebook
    plans = runner.plan_parameters(runner.track_notebooks(track), values)
    assert all(plan.get("PROFILE") == "source" for plan in plans)
    pipeline = importlib.import_module(f"solutions.{track}.pipeline")
    cfg = profiles.apply(pipeline.Config(scale="tiny"), "source", argv=[])
    assert cfg.profile == "source"
    for name, value in values.items():
        assert getattr(cfg, name.lower()) == value, name
    # its own artifacts and submission folder; the manifest records the profile, not a parameter
    teach = pipeline.Config(scale="tiny")
    assert cfg.tag == teach.tag + "-source"
    assert cfg.submissions == teach.submissions / "source"
    assert "profile" not in cfg.parameters()


def test_options_given_on_the_command_line_win_over_the_profile():
    from solutions.hse_sasrec import pipeline

    cfg = profiles.apply(pipeline.Config(sasrec_preset="cpu"), "source", argv=["--sasrec-preset", "cpu"])
    assert (cfg.sasrec_preset, cfg.bert4rec_preset, cfg.submit_history) == ("cpu", "team", "faithful")
    cfg = profiles.apply(pipeline.Config(sasrec_preset="cpu"), "source", argv=["--sasrec-preset=cpu"])
    assert cfg.sasrec_preset == "cpu"
    assert profiles.apply(pipeline.Config(), "source", argv=[]).sasrec_preset == "final"
    with pytest.raises(ValueError, match="profile must be one of"):
        dataclasses.replace(pipeline.Config(), profile="fast")


def test_a_parameters_file_goes_over_the_profile_and_under_the_command_line(tmp_path):
    """The pipeline CLIs' ``-f`` (as the runner's): tiny.yaml's sizes over source.yaml's, options over both."""
    from solutions.vk_clips import pipeline

    tiny = NOTEBOOKS_DIR / "vk_clips" / "tiny.yaml"
    cfg = profiles.apply(pipeline.Config(), "source", argv=[], params=tiny)
    assert (cfg.scale, cfg.emb_dim, cfg.batch_size, cfg.submitted) == ("tiny", 16, 16384, "dcn_faithful")
    cfg = profiles.apply(pipeline.Config(emb_dim=32), "teach", argv=["--emb-dim", "32"], params=tiny)
    assert (cfg.emb_dim, cfg.seq_epochs, cfg.profile) == (32, 1, "teach")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("NO_SUCH_FIELD: 1\n")
    with pytest.raises(ValueError, match=r"teach profile and wrong.yaml: \['no_such_field'\] are not fields"):
        profiles.apply(pipeline.Config(), "teach", argv=[], params=wrong)
    wrong.write_text("lower: 1\n")
    with pytest.raises(ValueError, match="wrong.yaml: expected NAME: value lines"):
        profiles.apply(pipeline.Config(), "teach", argv=[], params=wrong)


def test_readme_and_make_help_give_the_source_command_per_track():
    readme = (REPO_ROOT / "README.md").read_text()
    makefile = (REPO_ROOT / "Makefile").read_text()
    for track in TRACKS:
        command = f"make reproduce PROFILE=source TRACKS={track} DATA_DIR="
        assert command in readme and command in makefile, track
