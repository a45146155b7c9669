"""The exercises' worked answers: each recorded by ``make answers``, each shown by its notebook from the record."""

from __future__ import annotations

import json

import pytest

from shared.course import answers
from shared.course.answers import Exercise
from shared.runtime.paths import NOTEBOOKS_DIR
from shared.track.registry import names

TRACKS = [t for t in names() if (NOTEBOOKS_DIR.parent / "solutions" / t / "exercises.py").exists()]


def test_every_track_has_exercises():
    assert TRACKS == names()


@pytest.mark.parametrize("track", TRACKS)
def test_every_exercise_is_recorded_and_its_answer_fills(track):
    record = answers.read_record(track)
    listed = answers.exercises(track)
    assert sorted(record) == sorted(e.key for e in listed), "run `make answers TRACKS=" + track + "`"
    for ex in listed:
        entry = record[ex.key]
        assert entry["scale"] == ex.scale, ex.key
        text = answers.answer(track, ex, record)
        assert "{" not in text and "Not recorded" not in text, ex.key


@pytest.mark.parametrize("track", TRACKS)
def test_every_notebook_has_its_exercises_and_shows_the_recorded_answers(track):
    """Each numbered notebook lists exactly its exercises, and its committed closing cell shows each answer
    as the record fills it today: a new record without re-executed notebooks fails here."""
    listed = answers.exercises(track)
    notebooks = sorted(p.stem for p in (NOTEBOOKS_DIR / track).glob("[0-9][0-9]_*.ipynb"))
    assert sorted({e.notebook for e in listed}) == notebooks
    for stem in notebooks:
        nb = json.loads((NOTEBOOKS_DIR / track / f"{stem}.ipynb").read_text())
        shown = "\n".join(
            "".join(o.get("data", {}).get("text/markdown", "")) for c in nb["cells"] for o in c.get("outputs", [])
        )
        for ex in (e for e in listed if e.notebook == stem):
            assert ex.question in shown, f"{stem}: exercise {ex.number} is not in its closing cell"
            assert answers.answer(track, ex) in shown, (
                f"{stem}: exercise {ex.number}'s answer differs from the record; run `make notebooks TRACKS={track}`"
            )


def _fake(calls: list) -> list[Exercise]:
    def run_a(scale):
        calls.append(("a", scale))
        return {"x": 0.123456789, "n": 3, "who": "`cnn`"}

    return [
        Exercise("01_x", 1, "Q one?", "x is {x:.3f} over {n} rows, {who}.", "tiny", run_a),
        Exercise("01_x", 2, "Q two?", "missing {y}", "tiny", lambda s: {"x": 1.0}),
    ]


def test_run_records_each_answer_and_keeps_the_others(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(answers, "exercises", lambda track: _fake(calls))
    (tmp_path / "answers-toy.json").write_text(json.dumps({"01_x:9": {"scale": "small", "seconds": 1, "values": {}}}))
    answers.run("toy", ["01_x:1"], tmp_path)
    record = json.loads((tmp_path / "answers-toy.json").read_text())
    assert calls == [("a", "tiny")]
    assert set(record) == {"01_x:1", "01_x:9"}  # the other record kept
    assert record["01_x:1"]["values"] == {"x": 0.123457, "n": 3, "who": "`cnn`"}  # floats to 6 significant digits
    text = answers.answer("toy", _fake([])[0], record)
    assert text.endswith("x is 0.123 over 3 rows, `cnn`.")
    assert "`tiny`" in text and "`benchmarks/answers-toy.json`" in text


def test_a_template_naming_a_figure_the_run_did_not_return_fails_before_recording(tmp_path, monkeypatch):
    monkeypatch.setattr(answers, "exercises", lambda track: _fake([]))
    with pytest.raises(KeyError, match="y"):
        answers.run("toy", ["01_x:2"], tmp_path)
    assert not (tmp_path / "answers-toy.json").exists()
    with pytest.raises(ValueError, match="no exercise 01_x:3"):
        answers.run("toy", ["01_x:3"], tmp_path)


def test_for_notebook_collapses_each_answer_under_its_question(monkeypatch, tmp_path):
    monkeypatch.setattr(answers, "exercises", lambda track: _fake([]))
    monkeypatch.setattr(answers, "RECORD_DIR", tmp_path)
    monkeypatch.setattr(
        answers,
        "read_record",
        lambda track, directory=tmp_path: {
            "01_x:1": {"scale": "small", "seconds": 2.0, "values": {"x": 0.5, "n": 2, "who": "w"}}
        },
    )
    one, two = answers.for_notebook("toy", "01_x")
    # measured at tiny: the question says so, since the lessons run at small
    assert one.startswith('Q one? Run the track\'s notebooks up to this one at `SCALE = "tiny"` first')
    assert "was measured there.\n\n   <details><summary>Answer</summary>\n\n   *On the twin at `small`" in one
    assert "x is 0.500 over 2 rows, w." in one and one.rstrip().endswith("</details>")
    assert "Not recorded yet: `make answers TRACKS=toy ONLY=01_x:2`" in two
    with pytest.raises(ValueError, match="no exercise for notebook"):
        answers.for_notebook("toy", "02_y")


def test_an_answer_may_be_a_function_of_the_figures(tmp_path, monkeypatch):
    def words(v):
        return f"{'up' if v['gain'] > 0 else 'down'} by {abs(v['gain']):.2f}"

    listed = [Exercise("01_x", 1, "Q?", words, "tiny", lambda s: {"gain": -0.25})]
    monkeypatch.setattr(answers, "exercises", lambda track: listed)
    answers.run("toy", [], tmp_path)
    assert answers.answer("toy", listed[0], answers.read_record("toy", tmp_path)).endswith("down by 0.25")


def test_a_failing_exercise_does_not_stop_the_others(tmp_path, monkeypatch):
    def boom(scale):
        raise ZeroDivisionError

    listed = [
        Exercise("01_x", 1, "Q?", "{a}", "tiny", boom),
        Exercise("01_x", 2, "Q?", "{a}", "tiny", lambda s: {"a": 1}),
    ]
    monkeypatch.setattr(answers, "exercises", lambda track: listed)
    with pytest.raises(RuntimeError, match="exercise 01_x:1 failed"):
        answers.run("toy", [], tmp_path)
    assert list(answers.read_record("toy", tmp_path)) == ["01_x:2"]
