"""``make book``: the course built from the committed notebooks opens offline: every local link
resolves, every figure of every notebook is embedded, nothing is loaded from the network, and the
pages come in reading order with working previous/next links."""
import re

import nbformat
import pytest

from shared import book
from shared.paths import NOTEBOOKS_DIR


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    return out, book.build(out, progress=False)


def test_every_notebook_has_a_page_in_reading_order(built):
    out, written = built
    expected = [f"{t}/{p.stem}.html" for t in book.TRACKS for p in sorted((NOTEBOOKS_DIR / t).glob("[0-9][0-9]_*.ipynb"))]
    assert len(expected) >= 18
    assert [p.relative_to(out).as_posix() for p in written] == ["index.html", *expected]
    index = (out / "index.html").read_text()
    assert re.findall(r'<li><a href="([^"]+)"', index) == expected
    for track in book.TRACKS:  # the committed manifest's comparison table under each track
        assert f"submissions/{track}/manifest.json" in index
    second = (out / expected[1]).read_text()  # previous, contents, next
    assert f'href="../{expected[0]}"' in second and 'href="../index.html"' in second and f'href="../{expected[2]}"' in second


def test_links_resolve_and_nothing_comes_from_the_network(built):
    out, written = built
    for page in written:
        text = page.read_text()
        for href in re.findall(r'href="([^"]+)"', text):
            if href.startswith(("http://", "https://", "#", "mailto:")):
                continue
            assert (page.parent / href.split("#")[0]).resolve().is_file(), f"{page.name}: broken link {href}"
        assert not re.search(r'<(script|link|img)[^>]*\b(src|href)="https?://', text), page.name


def test_every_figure_is_embedded(built):
    out, written = built
    for page in written[1:]:
        source = NOTEBOOKS_DIR / page.parent.name / f"{page.stem}.ipynb"
        nb = nbformat.read(source, as_version=4)
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        srcs = re.findall(r'<img[^>]*\bsrc="([^"]{0,20})', page.read_text())
        assert len(srcs) == figures and all(s.startswith("data:image/png") for s in srcs), page.name


def test_title_and_purpose_come_from_the_first_markdown_cell():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("# Track, 2: a model\n\nIt ranks **items** by `score`. Then more.\n\n## 1 Next")])
    assert book.describe(nb, "fallback") == ("Track, 2: a model", "It ranks items by score.")
    assert book.describe(nbformat.v4.new_notebook(), "fallback") == ("fallback", "")
    nb.cells[1].source = "# T\n\n**You will learn**\n- the `x` metric\n- why y\n\nProse."
    assert book.describe(nb, "f") == ("T", "You will learn the x metric; why y.")


def test_no_notebook_needs_mathjax():
    """The book loads no MathJax (offline), so the lessons write formulas as text, not TeX."""
    for path in NOTEBOOKS_DIR.glob("*/[0-9][0-9]_*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        tex = [c.source for c in nb.cells if c.cell_type == "markdown" and re.search(r"\$[^$\s][^$]*\$|\\frac", c.source)]
        assert not tex, f"{path.name}: TeX in a markdown cell: {tex[0][:80]}"
