import math
from pathlib import Path

import pytest

from shared.data import io
from shared.runtime.paths import REPO_ROOT
from shared.track import registry
from shared.twin import calibration
from shared.twin.calibration import Target, Trial


def test_target_range_and_label():
    t = Target.around("ndcg@10", "NDCG@10", 0.811, 0.02, "seed")
    assert (t.low, t.high) == pytest.approx((0.791, 0.831))
    assert t.within(0.791) and t.within(0.831) and t.within(0.8)
    assert not t.within(0.7909) and not t.within(0.8311)
    assert not t.within(None) and not t.within(math.nan)
    assert t.accepted == "0.811 ± 0.02"
    # a range that is not centred on the published value is shown as a range
    diff = Target("d", "history gain", 0.0012, 0.0, 0.005, "write-up")
    assert diff.accepted == "0 to 0.005" and diff.within(0.0) and not diff.within(-0.0001)


def test_record_appends_and_finds_the_calibrated_trial(tmp_path):
    p1, p2 = {"a": 1.0, "b": 0.0}, {"a": 2.0, "b": 0.0}
    calibration.record_trial("t", Trial("full", "screen", p1, {"m": 0.5}, 1.0), tmp_path)
    calibration.record_trial("t", Trial("full", "faithful", p2, {"m": 0.6, "n": 0.1}, 2.0), tmp_path)
    calibration.record_trial("t", Trial("full", "faithful", p2, {"m": 0.7, "n": 0.2}, 3.04, "v2", "ab12"), tmp_path)
    record = calibration.read_record("t", tmp_path)
    assert record.height == 3 and {"param.a", "param.b", "m", "n"} <= set(record.columns)
    last = record.row(2, named=True)
    assert (last["scale"], last["config"], last["wall_s"], last["param.a"]) == ("full", "faithful", 3.0, 2.0)
    assert (last["twin_version"], last["twin_fingerprint"]) == ("v2", "ab12") and record["twin_version"][0] == ""
    assert record["n"][0] is None  # columns are the union over trials
    trial = calibration.calibrated_trial(record, p2, "full", "faithful")
    assert trial["m"] == 0.7  # the latest matching trial
    with pytest.raises(LookupError, match="no 'faithful' trial at scale full with a=1"):
        calibration.calibrated_trial(record, p1, "full", "faithful")
    with pytest.raises(LookupError, match="no column param.c"):
        calibration.calibrated_trial(record, {"c": 1.0}, "full", "faithful")


def test_twin_vs_real_and_markdown():
    targets = [Target.around("m", "metric m", 0.5, 0.1, "src"), Target.around("k", "metric k", 0.3, 0.01, "src")]
    table = calibration.twin_vs_real(targets, {"m": 0.55, "k": 0.32})
    assert table["within"].to_list() == ["yes", "no"]
    assert table["twin"].to_list() == [0.55, 0.32]
    missing = calibration.twin_vs_real(targets, {"m": 0.55})
    assert missing["within"].to_list() == ["yes", "no"] and missing["twin"][1] is None
    md = calibration.render_markdown(missing.drop("source"))
    assert md.splitlines()[0] == "| figure | published (real data) | accepted | twin | within |"
    assert md.splitlines()[3] == "| metric k | 0.3 | 0.3 ± 0.01 | – | no |"  # published as published


def test_update_readme_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- t:start -->\nold\n<!-- t:end -->\nrest\n")
    assert io.update_readme(readme, "t", "| a |\n|---|")
    assert readme.read_text() == "intro\n<!-- t:start -->\n| a |\n|---|\n<!-- t:end -->\nrest\n"
    assert not io.update_readme(readme, "t", "| a |\n|---|")  # unchanged
    with pytest.raises(LookupError, match="no <!-- other:start -->"):
        io.update_readme(readme, "other", "x")


def test_command_records_every_trial_and_writes_the_readme_table(tmp_path, capsys):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Params:
        strength: float = 2.0
        noise: float = 1.0

    def run(args, params):  # a stand-in for a pipeline: the metric is a known function of the world
        return {"score": params.strength / (params.strength + params.noise)}

    readme = tmp_path / "README.md"
    readme.write_text("# t\n<!-- twin-vs-real:start -->\n<!-- twin-vs-real:end -->\n")
    spec = calibration.Spec(
        track="t",
        params=Params,
        scale="tiny",
        config="faithful",
        readme_path=readme,
        targets=(Target.around("score", "score", 0.65, 0.02, "paper"),),
    )
    common = ["--scale", "tiny", "--record-dir", str(tmp_path)]
    assert calibration.command(spec, "doc", run, [*common, "--grid", "strength=1,3", "noise=1,2"], show=["score"]) == 0
    record = calibration.read_record("t", tmp_path)
    assert record.height == 4 and record["score"].to_list() == pytest.approx([0.5, 1 / 3, 0.75, 0.6])
    assert "twin |" not in readme.read_text()  # grid trials do not touch the README
    assert calibration.command(spec, "doc", run, [*common, "--final"]) == 0
    text = readme.read_text()
    assert "| score | 0.65 | 0.65 ± 0.02 | 0.6667 | yes |" in text
    assert calibration.read_record("t", tmp_path).height == 5
    assert "strength=3 noise=2" in capsys.readouterr().out


def test_tiny_fingerprint_follows_the_data_not_the_code(tmp_path):
    def generate(scale, seed, out, params):  # a stand-in generator: one file whose bytes follow params
        (Path(out) / "data.csv").write_text(f"x\n{params['level'] * seed}\n")
        return Path(out)

    a = calibration.tiny_fingerprint(generate, ["data.csv"], {"level": 1})
    assert a == calibration.tiny_fingerprint(generate, ["data.csv"], {"level": 1}) and len(a) == 16
    assert a != calibration.tiny_fingerprint(generate, ["data.csv"], {"level": 2})


# Every calibrated track: the committed record holds the final run of the twin's constants, on the
# data the code generates now, and the READMEs show what it measured.
CALIBRATED = [n for n in registry.names() if registry.contract(n).calibration is not None]


def test_every_track_is_calibrated():
    assert CALIBRATED == ["hse_sasrec", "kraft_kuairec", "vk_clips", "vklab_posts"]


def _spec(track):
    spec = registry.contract(track).calibration.get()
    assert isinstance(spec, calibration.Spec) and spec.track == track
    return spec


@pytest.mark.parametrize("track", CALIBRATED)
def test_committed_record_holds_the_calibrated_twin_and_the_readme_shows_it(track):
    table = _spec(track).table()
    assert table.height == len(_spec(track).targets)
    readme = (REPO_ROOT / "solutions" / track / "README.md").read_text()
    assert calibration.render_markdown(table.drop("source")) in readme


@pytest.mark.parametrize("track", CALIBRATED)
def test_top_readme_states_how_many_targets_the_twin_meets(track):
    table = _spec(track).table()
    met = f"| `{track}` | `{_spec(track).scale}` | {(table['within'] == 'yes').sum()} of {table.height} "
    assert met in (REPO_ROOT / "README.md").read_text()


@pytest.mark.parametrize("track", CALIBRATED)
def test_the_calibrated_trial_ran_on_the_twin_the_code_generates_now(track):
    """A change to what the twin draws (not a refactor) makes the record stale: rerun --final."""
    spec = _spec(track)
    assert spec.trial()["twin_fingerprint"] == spec.fingerprint(spec.params())
