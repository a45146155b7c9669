"""Numbers that trace: every figure with a decimal point in README.md and the track READMEs is held
by a committed file: a benchmark table, a manifest, an executed notebook, or the code (where the
sources' published numbers live as constants). Text generated between ``<!-- name:start -->``
markers (checked against what generates it) and literals in `code spans` (file-format examples)
are exempt; a figure followed by % may also be held as a fraction (4.66 % as 0.046601).
``benchmarks/README.md`` is generated whole from ``benchmarks/results.csv``: checked as such."""
import re

import pytest

from shared.bench import write_markdown
from shared.paths import REPO_ROOT
from shared.report import notebook_minutes

READMES = ["README.md", *sorted(p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob("solutions/*/README.md"))]
HOLDERS = ["benchmarks/*.csv", "benchmarks/*.md", "submissions/**/manifest.json", "notebooks/*/*.ipynb",
           "notebooks/*/*.yaml", "solutions/*/*.py", "shared/*.py"]
FIGURE = re.compile(r"(?<![\w.])(\d+\.\d+)(?!\d)(\s*%)?")


def _corpus() -> tuple[str, set[str]]:
    text = "\n".join(p.read_text(errors="ignore") for pattern in HOLDERS for p in REPO_ROOT.glob(pattern)
                     if p.relative_to(REPO_ROOT).as_posix() not in READMES)
    return text, set(re.findall(r"(?<![\w.])\d*\.\d+", text))


def _held(value: float, decimals: int, numbers: set[str]) -> bool:
    return any(len(n.split(".")[1]) >= decimals and abs(round(float(n), decimals) - value) < 1e-12 for n in numbers)


def untraced(readme: str, numbers: set[str]) -> list[str]:
    text = (REPO_ROOT / readme).read_text()
    text = re.sub(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    out = []
    for m in FIGURE.finditer(text):
        digits = m.group(1)
        d = len(digits.split(".")[1])
        ok = _held(float(digits), d, numbers) or (m.group(2) and _held(float(digits) / 100, d + 2, numbers))
        if not ok:
            out.append(f"{readme}:{text[:m.start()].count(chr(10)) + 1}: {m.group(0).strip()}")
    return out


@pytest.fixture(scope="module")
def numbers():
    return _corpus()[1]


@pytest.mark.parametrize("readme", READMES)
def test_every_figure_is_held_by_a_committed_file(readme, numbers):
    assert not untraced(readme, numbers)


def test_the_check_can_fail(numbers, tmp_path, monkeypatch):
    fake = tmp_path / "README.md"
    fake.write_text("holds 0.6667 (published), invents 0.123456, 98.7654 % and 8765.4, quotes `0.987654` as a literal\n")
    monkeypatch.setattr(__import__(__name__), "REPO_ROOT", tmp_path)
    assert untraced("README.md", numbers) == ["README.md:1: 0.123456", "README.md:1: 98.7654 %", "README.md:1: 8765.4"]


def test_the_bench_readme_is_the_bench_table(tmp_path):
    """benchmarks/README.md is results.csv rendered by ``make bench``, nothing edited by hand."""
    rendered = write_markdown(REPO_ROOT / "benchmarks" / "results.csv", tmp_path / "README.md")
    assert (REPO_ROOT / "benchmarks" / "README.md").read_text() == rendered.read_text()


def test_the_readme_times_are_the_committed_notebooks():
    """The top README's per-track times, between its notebook-minutes markers, are those the
    committed notebooks' papermill metadata hold (``make notebooks`` writes them)."""
    block = re.search(r"<!-- notebook-minutes:start -->\n(.*?)\n<!-- notebook-minutes:end -->",
                      (REPO_ROOT / "README.md").read_text(), re.S)
    assert block and block.group(1) == notebook_minutes()
