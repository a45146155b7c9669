"""Numbers that trace: every figure with three or more decimals in README.md, the track READMEs and
benchmarks/README.md is held by a committed file: a benchmark table, a manifest, an executed
notebook, or the code (where the sources' published numbers live as constants). Tables generated
between ``<!-- name:start -->`` markers and literals in `code spans` (file-format examples) are
exempt; a figure followed by % may also be held as a fraction (4.6601 % as 0.046601)."""
import re

import pytest

from shared.paths import REPO_ROOT

READMES = ["README.md", *sorted(p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob("solutions/*/README.md")),
           "benchmarks/README.md"]
HOLDERS = ["benchmarks/*.csv", "benchmarks/*.md", "submissions/**/manifest.json", "notebooks/*/*.ipynb",
           "notebooks/*/*.yaml", "solutions/*/*.py", "shared/*.py"]
FIGURE = re.compile(r"(?<![\w.])(\d+\.\d{3,})(?!\d)(\s*%)?")


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
    fake.write_text("holds 0.6667 (published), invents 0.123456 and 98.7654 %, quotes `0.987654` as a literal\n")
    monkeypatch.setattr(__import__(__name__), "REPO_ROOT", tmp_path)
    assert untraced("README.md", numbers) == ["README.md:1: 0.123456", "README.md:1: 98.7654 %"]
