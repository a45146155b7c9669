"""A fifth track, made here in a temporary folder, that implements the contract (``shared.track.contract``)
and nothing else: the runner executes its notebook, the report and the book pick it up, in the
reading order its contract gives, without a change in ``shared/``."""

import json
import textwrap

import nbformat
import pytest

import solutions
from shared.runtime.paths import OUTPUT_ENV, submissions_dir
from shared.tools import book, report, runner
from shared.track import registry

pytestmark = pytest.mark.functional  # a kernel runs the toy notebook

TOY = "toy_track"
PACKAGE = {
    "__init__.py": f'''
        """A toy track: one notebook that writes a two-row submission and draws one figure."""
        from shared.track.contract import Track, lazy

        TRACK = "{TOY}"
        CONTRACT = Track(
            name=TRACK,
            reading_order=5,
            reading_why="the toy: a track added by following the contract",
            scales=("tiny", "small"),
            config=lazy(f"solutions.{{TRACK}}.pipeline", "Config"),
            exercises=lazy(f"solutions.{{TRACK}}.pipeline", "EXERCISES"),
            figures=lazy(f"solutions.{{TRACK}}.plots"),
        )
    ''',
    "pipeline.py": f'''
        from dataclasses import dataclass

        import polars as pl

        from shared.course.answers import Exercise
        from shared.track.config import TrackConfig
        from shared.runtime.paths import submissions_dir
        from shared.track.submission import Report, twin_source, write_csv, write_manifest

        EXERCISES = (Exercise("01_toy", 1, "Why?", "Because {{x}}.", "tiny", lambda scale: {{"x": 1}}),)


        @dataclass(frozen=True)
        class Config(TrackConfig):
            TRACK = "{TOY}"
            SCALES = ("tiny", "small")
            scale: str = "small"
            data_dir: str = ""
            seed: int = 42
            profile: str = "teach"


        def submit(cfg: Config) -> None:
            out = submissions_dir(cfg.TRACK)
            out.mkdir(parents=True, exist_ok=True)
            path = write_csv(pl.DataFrame({{"user_id": [0, 1], "score": [0.5, 0.25]}}), out / "submission.csv")
            comparison = {{"ours": {{"auc": 0.75}}, "random": {{"auc": 0.5}}}}
            report = Report({{"scale": cfg.scale}}, twin_source(cfg.scale, cfg.seed), {{"auc": 0.75}}, comparison)
            write_manifest(out, cfg.TRACK, report, [path], rows=2)
    ''',
    "plots.py": '''
        import matplotlib.pyplot as plt


        def hello():
            """Two bars: the toy model against random."""
            fig, ax = plt.subplots(figsize=(3, 2))
            ax.bar(["ours", "random"], [0.75, 0.5])
            return fig
    ''',
}


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy track's notebooks folder (beside a copy of nothing else) and its package on the path."""
    packages = tmp_path / "packages"
    for name, text in PACKAGE.items():
        path = packages / TOY / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    monkeypatch.setattr(solutions, "__path__", [*solutions.__path__, str(packages)])
    notebooks = tmp_path / "notebooks"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('SCALE: str = "small"  # tiny | small\nPACKAGES: str = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Toy, 1: a track by the contract\n\nIt writes a submission.\n\n## 1 Run"),
        params,
        nbformat.v4.new_code_cell(
            "%matplotlib inline\nimport solutions\nsolutions.__path__.append(PACKAGES)\n"
            "from solutions.toy_track import pipeline, plots\n"
            "pipeline.submit(pipeline.Config(scale=SCALE))\nplots.hello();"
        ),
    ]
    (notebooks / TOY).mkdir(parents=True)
    nbformat.write(nb, notebooks / TOY / "01_toy.ipynb")
    monkeypatch.setenv(OUTPUT_ENV, str(tmp_path / "out"))
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", notebooks)
    return notebooks, packages


def test_a_toy_track_is_run_reported_and_in_the_book(toy, tmp_path):
    notebooks, packages = toy
    assert registry.reading_order(notebooks) == [TOY] and registry.contract(TOY).reading_order == 5
    executed = tmp_path / "executed"
    assert runner.main([TOY, "--out", str(executed), "-p", "PACKAGES", str(packages), "-p", "SCALE", "tiny"]) == 0
    manifest = json.loads((submissions_dir(TOY) / "manifest.json").read_text())
    assert manifest["track"] == TOY and manifest["data_source"]["scale"] == "tiny"

    text, verdicts = report.summary([TOY], executed)
    assert f"## {TOY}" in text and verdicts[TOY].text  # a verdict of its own (nothing committed to compare)
    assert f"{TOY} " in report.notebook_minutes(executed)

    site = tmp_path / "site"
    pages = book.build(site, executed, submissions=submissions_dir(TOY).parent, progress=False)
    assert [p.relative_to(site).as_posix() for p in pages] == ["index.html", f"{TOY}/01_toy.html"]
    index = (site / "index.html").read_text()
    assert "the toy: a track added by following the contract" in index and "Toy, 1: a track by the contract" in index
    assert f"submissions/{TOY}/manifest.json" in index  # its comparison table
    page = (site / TOY / "01_toy.html").read_text()
    assert 'alt="Figure of section 1 Run: Two bars: the toy model against random."' in page
