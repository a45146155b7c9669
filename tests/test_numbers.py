"""Numbers that trace: README.md and every track README name the record of each of their figures
(``shared.tools.figures``: a link to the committed file, its title the row and column, key, cell or line),
resolved exactly and compared at the printed precision; a bare figure fails. Text generated between
``<!-- name:start -->`` markers is checked against what generates it; ``benchmarks/README.md`` is
generated whole from ``benchmarks/results.csv``."""

import re

import pytest

from shared.runtime.paths import REPO_ROOT
from shared.tools import figures
from shared.tools.ci_time import readme_line
from shared.tools.report import notebook_minutes
from shared.train.bench import write_markdown

READMES = ["README.md", *sorted(p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob("solutions/*/README.md"))]


@pytest.mark.parametrize("readme", READMES)
def test_every_figure_links_the_record_that_holds_it(readme):
    assert not figures.check(REPO_ROOT / readme)


def test_a_figure_must_name_its_record_and_the_right_row(tmp_path):
    """An invented figure fails at any precision; a real one fails when it is bare or linked to the
    wrong row, key, column or cell; a link that holds it passes (a JSON or CSV number needs no
    trailing zeros, a printed one must show the figure's decimals)."""
    (tmp_path / "r.csv").write_text("model,auc,share\nfaithful,0.629013,0.0466\nltr,0.634459,0.41\n")
    (tmp_path / "m.json").write_text('{"comparison": {"ltr": {"auc": 0.634459}}, "rows": [120, 3706]}')
    (tmp_path / "n.ipynb").write_text('{"cells": [{"source": ["x"], "outputs": [{"text": ["ltr 0.6345\\n"]}]}]}')
    (tmp_path / "c.py").write_text('SOURCE = {"auc": 0.6667}\n')
    (tmp_path / "README.md").write_text(
        "ok [0.6345][1] [0.6345][2] [0.634][3] [3,706][4] [4.66][5] % [0.4100][6] [0.667][7] [0.6345][8]\n"
        "bare 0.6345 and 123,457; invented [0.5][1] [0.123456][2]\n"
        "wrong row [0.6290][1], wrong column [0.6345][9], wrong key [0.6345][10], wrong cell [0.6345][11]\n"
        "more decimals than printed [0.63450][8]; no such file [0.6345][12]; no definition [0.6345][99]\n\n"
        '[1]: r.csv "row model=ltr; column auc"\n[2]: m.json "key comparison.ltr.auc"\n'
        '[3]: r.csv "row #2; column auc"\n[4]: m.json "key rows.1"\n[5]: r.csv "row model=faithful; column share"\n'
        '[6]: r.csv "row model=ltr; column share"\n[7]: c.py \'line with SOURCE = {"auc"\'\n[8]: n.ipynb "cell 0"\n'
        '[9]: r.csv "row model=ltr; column share"\n[10]: m.json "key comparison.faithful.auc"\n'
        '[11]: n.ipynb "cell 1"\n[12]: gone.csv "row #1; column auc"\n'
    )
    found = [line.split(": ", 1)[1] for line in figures.check(tmp_path / "README.md")]
    assert [f.split(" (")[0] for f in found] == [
        "0.6345",
        "123,457",
        "0.5",
        "0.123456",
        "0.6290",
        "0.6345",
        "0.6345",
        "0.6345",
        "0.63450",
        "0.6345",
        "0.6345",
    ]
    assert "no source" in found[0] and "holds 0.41" in found[5] and "no key" in found[6] and "no cell 1" in found[7]
    assert "not a file" in found[9] and "no definition [99]" in found[10]


def test_numbers_are_read_as_printed():
    assert figures.NUMBER.findall("36,26,9048.600000,0.016887 1e-2") == ["36", "26", "9048.600000", "0.016887", "1e-2"]
    assert figures.NUMBER.findall("894,149 events, 145_667_282 rows") == ["894,149", "145_667_282"]
    assert figures.agrees("0.4100", "0.41", exact=True) and not figures.agrees("0.4100", "0.41")
    assert figures.agrees("4.66", "0.046601", percent=True) and figures.agrees("0.01", "1e-2")


def test_the_bench_readme_is_the_bench_table(tmp_path):
    """benchmarks/README.md is results.csv rendered by ``make bench``, nothing edited by hand."""
    rendered = write_markdown(REPO_ROOT / "benchmarks" / "results.csv", tmp_path / "README.md")
    assert (REPO_ROOT / "benchmarks" / "README.md").read_text() == rendered.read_text()


def test_the_readme_times_are_the_committed_notebooks():
    """The top README's per-track times, between its notebook-minutes markers, are those the
    committed notebooks' papermill metadata hold (``make notebooks`` writes them)."""
    block = re.search(
        r"<!-- notebook-minutes:start -->\n(.*?)\n<!-- notebook-minutes:end -->",
        (REPO_ROOT / "README.md").read_text(),
        re.S,
    )
    assert block and block.group(1) == notebook_minutes()


def test_the_readme_test_time_is_the_recorded_run():
    """The README's make-test line is the latest row of benchmarks/ci-times.csv (``make ci-time``)."""
    block = re.search(
        r"<!-- make-test-time:start -->\n(.*?)\n<!-- make-test-time:end -->",
        (REPO_ROOT / "README.md").read_text(),
        re.S,
    )
    assert block and block.group(1) == readme_line(
        REPO_ROOT / "benchmarks"
    )  # the committed file, not the test's folder


def test_ci_time_line_reads_the_latest_row(tmp_path):
    from shared.data.io import append_csv
    from shared.tools.ci_time import SUMMARY

    assert "not recorded yet" in readme_line(tmp_path)
    row = {
        "date": "2026-11-29",
        "commit": "0123456789abcdef",
        "cpu": "AMD EPYC",
        "cores": 2,
        "gpu": "none",
        "tests": 401,
        "pytest_s": 914.2,
        "total_s": 973.4,
    }
    append_csv(tmp_path / "ci-times.csv", [{**row, "tests": 1}, row])
    assert readme_line(tmp_path).endswith(
        ": 401 tests passed in 15 min 14 s, 16 min 13 s with the install; "
        "AMD EPYC, 2 cores, 2026-11-29, commit 0123456789."
    )
    assert SUMMARY.findall("= 401 passed, 15 warnings in 914.23s (0:15:14) =") == [("401", "914.23")]


def test_seed_summaries_are_their_per_seed_records(tmp_path):
    """Each committed seed-study summary is its track's ``seed_summary`` of the committed per-seed
    rows (``make seed-summaries``), so its errors carry both noises (``shared.eval.metrics.across_seeds``)."""
    import shutil

    from shared.track.cli import seed_summaries

    for path in (REPO_ROOT / "benchmarks").glob("*-seeds.csv"):
        shutil.copy(path, tmp_path / path.name)
    written = seed_summaries(tmp_path)
    assert len(written) == 3
    for path in written:
        assert path.read_text() == (REPO_ROOT / "benchmarks" / path.name).read_text(), path.name


def test_renumber_keeps_each_figure_on_its_record():
    text = (
        "a [0.5][7] b [0.25][3] c [0.5][7] d [0.125][9]\n\n" + figures.SOURCES_HEADER + "\n"
        '[3]: x.csv "row #1; column b"\n[7]: x.csv "row #1; column a"\n[8]: unused.csv "key x"\n'
        "[9]: c.py 'line with \"c\": 0.125'\n"
    )
    assert figures.renumber(text) == (
        "a [0.5][1] b [0.25][2] c [0.5][1] d [0.125][3]\n\n" + figures.SOURCES_HEADER + "\n"
        '[1]: x.csv "row #1; column a"\n[2]: x.csv "row #1; column b"\n[3]: c.py \'line with "c": 0.125\'\n'
    )


def test_the_clock_never_shows_sixty_seconds():
    from shared.tools.ci_time import _clock

    assert [_clock(s) for s in (1019.6, 914.2, 59.5, 60.0)] == ["17 min 0 s", "15 min 14 s", "1 min 0 s", "1 min 0 s"]
