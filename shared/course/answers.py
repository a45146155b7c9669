"""Worked answers to the notebooks' exercises, computed by a command, recorded, and written from the record.

A track lists its exercises in ``solutions/<track>/exercises.py`` as ``EXERCISES``, a sequence of
``Exercise``: the notebook and number it belongs to, the question, the answer as a format string, the
scale it runs at, and ``run(scale) -> {name: value}``, which applies the exercise's change (on a twin of
its own under the scratch output folder, never touching the lessons' artifacts) and returns the figures
the answer quotes. ``make answers`` runs them and records each in ``benchmarks/answers-<track>.json``;
a notebook's closing cell (``shared.course.lesson.closing``) shows each question with its answer, filled from
that record and collapsed under it, so the answer a learner reads is what the command measured.

    python -m shared.course.answers TRACK ... [--only NOTEBOOK:N ...] [--record-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.data.io import write_text_atomic
from shared.runtime.paths import REPO_ROOT

RECORD_DIR = REPO_ROOT / "benchmarks"  # the committed record, whatever RECSYS_OUTPUT_DIR says


@dataclass(frozen=True)
class Exercise:
    notebook: str  # the notebook's stem, "02_als_lightgbm"
    number: int  # its place in the notebook's list, from 1
    question: str
    answer: str | Callable[[Mapping], str]  # a str.format template over the names ``run`` returns, or a
    # function of them (where the words depend on the figures: "up" or "down", "within two errors" or not)
    scale: str  # the twin's scale the command runs at
    run: Callable[[str], Mapping[str, float | int | str]]

    @property
    def key(self) -> str:
        return f"{self.notebook}:{self.number}"

    def text(self, values: Mapping) -> str:
        return self.answer(values) if callable(self.answer) else self.answer.format(**values)


def exercises(track: str) -> list[Exercise]:
    """The track's exercises, in notebook then number order; a ValueError when two share a place."""
    from shared.track.registry import contract

    c = contract(track)
    if c is None:
        raise ValueError(f"{track} has no package solutions/{track}/, so no exercises")
    listed = sorted(c.exercise_list(), key=lambda e: (e.notebook, e.number))
    keys = [e.key for e in listed]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{track}: two exercises share a place: {sorted(k for k in keys if keys.count(k) > 1)}")
    return listed


def record_path(track: str, directory: Path = RECORD_DIR) -> Path:
    return Path(directory) / f"answers-{track}.json"


def read_record(track: str, directory: Path = RECORD_DIR) -> dict:
    path = record_path(track, directory)
    return json.loads(path.read_text()) if path.exists() else {}


def _number(value):
    """Floats rounded to 6 significant decimals for the record (what the answers print is coarser)."""
    return float(f"{value:.6g}") if isinstance(value, float) else value


def run(track: str, only: Sequence[str] = (), directory: Path = RECORD_DIR) -> Path:
    """Run the track's exercises (those of ``only``, keys ``NOTEBOOK:N``, when given) and record each
    as soon as it ends, keeping the other records: an interrupted run loses only the exercise it was in."""
    listed = exercises(track)
    chosen = [e for e in listed if not only or e.key in only]
    unknown = set(only) - {e.key for e in listed}
    if unknown:
        raise ValueError(f"{track} has no exercise {', '.join(sorted(unknown))}")
    path = record_path(track, directory)
    failed = []
    for ex in chosen:
        start = time.perf_counter()
        try:
            values = {k: _number(v) for k, v in ex.run(ex.scale).items()}
            ex.text(values)  # an answer naming a figure the run did not return fails here, not in a lesson
        except Exception:  # the others still run; the run fails at the end, naming each
            if len(chosen) == 1:
                raise
            traceback.print_exc()
            failed.append(ex.key)
            continue
        seconds = time.perf_counter() - start
        record = read_record(track, directory)
        record[ex.key] = {"scale": ex.scale, "seconds": round(seconds, 1), "values": values}
        write_text_atomic(path, json.dumps(dict(sorted(record.items())), indent=1, ensure_ascii=False) + "\n")
        print(f"{track} {ex.key}: {seconds:.1f} s at {ex.scale}", flush=True)
    if failed:
        raise RuntimeError(f"{track}: exercise {', '.join(failed)} failed (traceback above); the others are recorded")
    return path


LESSON_SCALE = "small"  # the notebooks' default SCALE


def answer(track: str, ex: Exercise, record: Mapping | None = None) -> str:
    """The answer's text, filled from the record, after the scale it was measured at and the record's file."""
    record = read_record(track) if record is None else record
    entry = record.get(ex.key)
    if entry is None:
        return f"Not recorded yet: `make answers TRACKS={track} ONLY={ex.key}` computes it."
    where = f"`benchmarks/{record_path(track).name}`"
    return f"*On the twin at `{entry['scale']}`, as measured and recorded in {where}.* " + ex.text(entry["values"])


def for_notebook(track: str, notebook: str) -> list[str]:
    """Markdown for each exercise of ``notebook``: the question, then its answer in a collapsed block."""
    record = read_record(track)
    out = []
    for ex in exercises(track):
        if ex.notebook == notebook:
            question = ex.question
            if ex.scale != LESSON_SCALE:  # the learner runs it there too, or cannot check the answer
                question += (
                    f' Run the track\'s notebooks up to this one at `SCALE = "{ex.scale}"` first (at '
                    f"`{LESSON_SCALE}` it takes much longer): the answer was measured there."
                )
            out.append(
                f"{question}\n\n   <details><summary>Answer</summary>\n\n   {answer(track, ex, record)}"
                "\n\n   </details>\n"
            )
    if not out:
        raise ValueError(f"{track} has no exercise for notebook {notebook!r}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracks", nargs="+")
    parser.add_argument("--only", nargs="*", default=[], help="NOTEBOOK:N keys, e.g. 02_als_lightgbm:1")
    parser.add_argument("--record-dir", default=str(RECORD_DIR))
    args = parser.parse_args(argv)
    from shared.track.registry import check_names

    for track in check_names(args.tracks):
        keys = {e.key for e in exercises(track)}
        only = [k for k in args.only if k in keys] if args.only else []
        if args.only and not only:
            continue
        print(f"recorded in {run(track, only, Path(args.record_dir)).name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
