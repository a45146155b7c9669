"""``make book``: the course site (MkDocs, Material, mkdocs-jupyter) built from the committed
notebooks opens offline: the sidebar and the footer's previous/next links follow the reading order,
every local link resolves, every figure of every notebook is embedded, search runs from the file
system, nothing is loaded from the network and no raw TeX is left."""

import posixpath
import re

import nbformat
import pytest

from shared.runtime.paths import NOTEBOOKS_DIR
from shared.tools import book
from shared.track.registry import reading_order

pytestmark = pytest.mark.functional  # deselected by make test-fast


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "site"
    return out, book.build(out, progress=False)


def _expected() -> list[str]:
    """The primer, then each track's lessons and its README page: the sidebar's order after the home page."""
    return [
        "00_primer.html",
        *(
            page
            for t in reading_order()
            for page in [
                *(f"{t}/{p.stem}.html" for p in sorted((NOTEBOOKS_DIR / t).glob("[0-9][0-9]_*.ipynb"))),
                f"{t}/{book.README_PAGE}.html",
            ]
        ),
    ]


def _lessons() -> list[str]:
    return [p for p in _expected()[1:] if not p.endswith(f"/{book.README_PAGE}.html")]


def test_sidebar_and_footer_follow_the_reading_order(built):
    out, written = built
    expected = _expected()
    assert len(expected) >= 23
    assert [p.relative_to(out).as_posix() for p in written] == ["index.html", *expected]
    index = (out / "index.html").read_text()
    nav = re.findall(r'<a href="([^"#]+\.html)" class="md-nav__link', index)
    assert nav == ["index.html", *expected]  # the sidebar: home, the primer, each track's notebooks and README
    for track in reading_order():  # the committed manifest's comparison table under each track
        assert f"submissions/{track}/manifest.json" in index
    assert "Read first:" in index and 'href="00_primer.html"' in index
    second = (out / expected[1]).read_text()  # the footer: previous and next, relative to its folder
    here = posixpath.dirname(expected[1])
    assert re.findall(r'<a href="([^"]+)" class="md-footer__link md-footer__link--(prev|next)"', second) == [
        (posixpath.relpath(expected[0], here), "prev"),
        (posixpath.relpath(expected[2], here), "next"),
    ]


def test_links_resolve_and_nothing_comes_from_the_network(built):
    out, written = built
    for page in out.rglob("*.html"):
        text = page.read_text()
        ids = set(re.findall(r'\bid="([^"]+)"', text))
        for ref in re.findall(r'(?:href|src)="([^"]+)"', text):
            if ref.startswith("#") and len(ref) > 1:  # the page's contents and in-page links land somewhere
                assert ref[1:] in ids, f"{page.name}: no anchor {ref}"
            if ref.startswith(("http://", "https://", "#", "mailto:", "data:")):
                continue
            target = (page.parent / ref.split("#")[0].split("?")[0]).resolve()
            assert target.is_file() or (target / "index.html").is_file(), f"{page.name}: broken link {ref}"
            if "#" in ref and target.suffix == ".html":  # another page's anchor: a heading of that page
                assert f'id="{ref.split("#")[1]}"' in target.read_text(), f"{page.name}: no anchor {ref}"
        assert not re.search(r'<(script|link|img|iframe)[^>]*\b(src|href)="https?://', text), page.name
        assert not re.search(r'import\(\s*"https?://', text), page.name


def test_search_runs_from_the_file_system(built):
    """Material's offline plugin puts the index in a script beside the pages, and the worker shim it
    needs on ``file://`` is the vendored one, not unpkg.com's."""
    out, written = built
    assert (out / "search" / "search_index.js").read_text().startswith("var __index = {")
    for page in written:
        assert re.search(r'<script src="(\.\./)?assets/iframe-worker-shim\.js"', page.read_text()), page.name
    assert "swapped_bce" in (out / "search" / "search_index.js").read_text()  # notebook text is searchable
    assert "MATHML" not in (out / "search" / "search_index.js").read_text()
    index = (out / "search" / "search_index.js").read_text()
    assert "¶" not in index and "\\u00b6" not in index and "Copied!" not in index  # entries start with their words


def test_every_figure_is_embedded_and_described(built):
    """Each figure is in its page, with alt text naming its section and what its plot function says it
    draws (not nbconvert's "No description has been provided")."""
    out, written = built
    for name in _lessons():
        page = out / name
        source = NOTEBOOKS_DIR / page.relative_to(out).with_suffix(".ipynb")
        nb = nbformat.read(source, as_version=4)
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        imgs = re.findall(r"<img\b[^>]*>", page.read_text())
        srcs = [re.search(r'\bsrc="([^"]{0,20})', i).group(1) for i in imgs]
        assert len(srcs) == figures and all(s.startswith("data:image/png") for s in srcs), page.name
        for img in imgs:
            alt = re.search(r'\balt="([^"]*)"', img).group(1)
            assert alt.startswith("Figure of section ") and ": " in alt, f"{page.name}: alt {alt!r}"


def test_readme_page_links_pages_and_names_the_other_files():
    on_site = {"notebooks/t/01_data.ipynb", "solutions/t/README.md", "solutions/u/README.md"}
    text = (
        "# T: a track [0.62][1]\n\nOn [100][2] rows ([a][3]; [b][4]; [c][5]).\n\n"
        '[1]: ../../solutions/t/pipeline.py "line with 0.62 | x"\n'
        "[2]: ../../notebooks/t/01_data.ipynb 'cell 0'\n"
        "[3]: ../u/README.md#some-heading\n"
        "[4]: ../../benchmarks/x.csv\n"
        "[5]: ../../README.md\n"
    )
    md = book.readme_markdown("t", text, on_site)
    assert md.startswith('# T: a track <abbr title="solutions/t/pipeline.py, line with 0.62 &#124; x">0.62</abbr>\n')
    assert "[100](01_data.ipynb)" in md and "[a](../u/about.md#some-heading)" in md
    assert '<abbr title="benchmarks/x.csv">b</abbr>' in md and '<abbr title="README.md">c</abbr>' in md
    assert "]: " not in md  # no reference definition left
    assert "Hover over a figure" in md


def test_the_track_readme_is_a_page_and_the_lessons_link_it(built):
    out, _ = built
    for track in reading_order():
        about = (out / track / f"{book.README_PAGE}.html").read_text()
        assert 'id="the-twin-against-the-real-data"' in about and "<abbr title=" in about, track
        assert "../../" not in re.sub(r"<(pre|code)\b.*?</\1>", "", about, flags=re.S), track
        first = (out / _lessons_of(track)[0]).read_text()
        assert f'href="../{track}/{book.README_PAGE}.html#the-twin-against-the-real-data"' in first, track


def _lessons_of(track: str) -> list[str]:
    return [p for p in _lessons() if p.startswith(f"{track}/")]


def test_title_and_purpose_come_from_the_first_markdown_cell():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_markdown_cell(
                "# Track, 2: a model\n\nIt ranks **items** by `score`. Then more.\n\n## 1 Next"
            ),
        ]
    )
    assert book.describe(nb, "fallback") == ("Track, 2: a model", "It ranks items by score.")
    assert book.describe(nbformat.v4.new_notebook(), "fallback") == ("fallback", "")
    nb.cells[1].source = "# T\n\n**You will learn**\n- the `x` metric\n- why y\n\nProse."
    assert book.describe(nb, "f") == ("T", "You will learn the x metric; why y.")
    nb.cells[1].source = "# T\n\n**You will learn**\n- the `x` metric, which\n  wraps\n- why y\n\nProse."
    assert book.describe(nb, "f") == ("T", "You will learn the x metric, which wraps; why y.")


RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\frac|\\sum")
NOT_PROSE = re.compile(r"<(script|style|pre|code)\b.*?</\1>", re.S)


def test_formulas_are_mathml_and_no_tex_is_left(built):
    """The lessons write formulas in TeX (JupyterLab draws them); the book converts them to MathML,
    which a browser draws offline: no page shows raw TeX, and the primer's formulas are there."""
    out, written = built
    for page in written:
        prose = NOT_PROSE.sub("", page.read_text())
        assert not RAW_TEX.search(prose), f"{page.name}: raw TeX {RAW_TEX.search(prose).group(0)[:60]!r}"
    primer = (out / "00_primer.html").read_text()
    assert primer.count("<math") >= 10 and 'display="block"' in primer


def test_mathml_leaves_code_alone():
    html = book.mathml("cost $x_u^2$ and `$OUT` and\n\n```\n$a$\n```\n\n$$\\frac{1}{K}$$")
    assert "`$OUT`" in html and "```\n$a$\n```" in html
    assert html.count("<math") == 2 and "<mfrac>" in html and 'display="block"' in html


def test_each_lesson_closes_with_its_findings_and_collapsed_answers_in_the_contents(built):
    """The closing cell reads as part of the page: "What this shows" and "Exercises" in the page's
    contents, each answer collapsed under its exercise; the test suite's "Checks" section is left out."""
    out, _ = built
    for page in _lessons():
        text = (out / page).read_text()
        toc = re.findall(r'<a href="#([\w-]+)" class="md-nav__link', text)
        assert "what-this-shows" in toc and "exercises" in toc, page
        assert "<details>" in text and "<summary>Answer</summary>" in text, page
        assert not re.search(r"<h2[^>]*>\s*\d+ Checks", text) and "NBVAL" not in text, page


def test_for_reading_keeps_the_lesson_and_drops_the_checks():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## 2 Checks"),
            nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)"),
            nbformat.v4.new_code_cell(
                "plots.closing(table)",
                outputs=[
                    nbformat.v4.new_output(
                        "execute_result", {"text/markdown": "## What this shows\n\n- x", "text/plain": "<Markdown>"}
                    )
                ],
            ),
            nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_markdown_cell("## References"),
        ]
    )
    cells = book.for_reading(nb).cells
    assert [(c.cell_type, c.source) for c in cells] == [
        ("markdown", "## What this shows\n\n- x"),
        ("code", "x = 1"),
        ("markdown", "## References"),
    ]


def test_the_notebook_stylesheet_is_shared_not_inlined(built):
    out, written = built
    for page in written:
        inline = sum(len(m) for m in re.findall(r"<style[^>]*>(.*?)</style>", page.read_text(), re.S))
        assert inline < 20_000, f"{page.name}: {inline:,} characters of inline CSS"
    for page in (out / name for name in _lessons()):  # the notebooks' pages
        assert re.search(r'<link rel="stylesheet" href="(\.\./)?assets/nb-\w+\.css">', page.read_text()), page.name
