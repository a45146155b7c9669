"""``make book``: the course as a static site in ``reports/book/``, built by MkDocs (Material theme)
with mkdocs-jupyter from the executed notebooks (the committed ones by default), to hand out or
open offline from the file system.

The sidebar holds the primer, then the tracks in reading order (``shared.track.registry.reading_order``:
each track's package says its place and why), each with its notebooks; the home page argues that
order and shows each track's notebooks (title and one-line purpose, from the
notebook's first markdown cell) and the comparison table of its committed manifest. Full-text search
works from the file system (Material's ``offline`` plugin puts the index beside the pages). Every
figure is embedded (data URIs) and nothing is fetched from the network: the notebook template's
scripts from a CDN (require.js, MathJax) are left out and no web font is asked for; the lessons'
formulas (``$...$`` and ``$$...$$`` in markdown) are converted to MathML when the book is built
(latex2mathml), which browsers draw without any script.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import inspect
import io
import json
import os
import posixpath
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from shared.data.io import write_text_atomic
from shared.runtime.paths import NOTEBOOKS_DIR, REPO_ROOT, reports_dir
from shared.tools.primer import PRIMER
from shared.track.registry import contract, reading_order, reading_why


@dataclass(frozen=True)
class Page:
    track: str
    source: Path  # the executed notebook
    title: str
    purpose: str

    @property
    def href(self) -> str:  # relative to the book's root
        return f"{self.track}/{self.source.stem}.html" if self.track else f"{self.source.stem}.html"


def _first_markdown(nb: nbformat.NotebookNode) -> str:
    return next((c.source for c in nb.cells if c.cell_type == "markdown"), "")


def describe(nb: nbformat.NotebookNode, fallback: str) -> tuple[str, str]:
    """The notebook's title (its first heading) and one-line purpose: its "You will learn" items, or
    else the first sentence after the heading."""
    text = _first_markdown(nb)
    heading = re.search(r"^#\s+(.+)$", text, re.M)
    title = heading.group(1).strip() if heading else fallback
    learn = re.search(r"\*\*You will learn\*\*\n((?:(?:- |  ).+\n?)+)", text)
    if learn:  # an item may wrap onto indented lines
        items = [" ".join(item.split()) for item in re.split(r"^- ", learn.group(1), flags=re.M) if item.strip()]
        return title, "You will learn " + "; ".join(re.sub(r"[*`]", "", i) for i in items) + "."
    body = " ".join(
        line.strip() for line in text[heading.end() if heading else 0 :].strip().split("\n\n")[0].splitlines()
    )
    sentence = re.split(r"(?<=[.:])\s+(?=[A-Z(*])", body, maxsplit=1)[0] if body else ""
    return title, re.sub(r"[*`]", "", sentence)


def pages(notebooks_dir: Path, tracks: Sequence[str] | None = None) -> list[Page]:
    """The primer (when there is one), then each track's notebooks."""
    out = []
    tracks = reading_order(notebooks_dir) if tracks is None else tracks
    primer = notebooks_dir / PRIMER.name  # read first: the tasks and every metric, defined once
    if primer.is_file():
        out.append(Page("", primer, *describe(nbformat.read(primer, as_version=4), primer.stem)))
    for track in tracks:
        for path in sorted((notebooks_dir / track).glob("[0-9][0-9]_*.ipynb")):
            title, purpose = describe(nbformat.read(path, as_version=4), path.stem)
            out.append(Page(track, path, title, purpose))
    return out


README_PAGE = "about"  # a track's README as a page (MkDocs would turn a README.md into its folder's index)


def _local_links(body: str) -> str:
    """A notebook's links to other notebooks (``../00_primer.ipynb#ndcg``) point at their pages, and its
    links to a track README (``../../solutions/<track>/README.md#...``) at that track's README page."""
    body = re.sub(
        r'href="(?:\.\./)+solutions/(\w+)/README\.md(#[^"]*)?"',
        lambda m: f'href="../{m.group(1)}/{README_PAGE}.html{m.group(2) or ""}"',
        body,
    )
    return re.sub(r'href="([^":#]+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)


REF_DEF = re.compile(r"""^\[([^\]]+)\]:[ \t]+(\S+)(?:[ \t]+(?:"(.*)"|'(.*)'))?[ \t]*\n?""", re.M)
REF_USE = re.compile(r"\[([^\[\]\n]+)\]\[([^\]\n]+)\]")


def readme_markdown(track: str, text: str, on_site: set[str]) -> str:
    """A track README as a page of the site. Its figure links are reference links into the repository
    (``[0.62][f3]`` with ``[f3]: ../../solutions/<track>/pipeline.py "line with ..."``): one to a page of
    the site (``on_site``: repository paths such as ``notebooks/<track>/01_data.ipynb`` or
    ``solutions/<track>/README.md``) links that page; one to any other file (code, a record, a manifest:
    the site holds none) shows the figure with that file and line as its tooltip."""
    defs = {m[1]: (m[2], m[3] if m[3] is not None else m[4]) for m in REF_DEF.finditer(text)}
    here = f"{track}/{README_PAGE}.md"

    def page(path: str) -> str:  # the repository path's page in the staged docs, relative to this page
        path = f"{path.split('/')[1]}/{README_PAGE}.md" if path.endswith("/README.md") else path[len("notebooks/") :]
        return posixpath.relpath(path, posixpath.dirname(here))

    def use(m: re.Match) -> str:
        if m[2] not in defs:
            return m[0]
        target, title = defs[m[2]]
        path, _, anchor = target.partition("#")
        path = posixpath.normpath(posixpath.join(f"solutions/{track}", path))
        if path in on_site:
            return f"[{m[1]}]({page(path)}{'#' + anchor if anchor and path.endswith('.md') else ''})"
        tip = html.escape(f"{path}, {title}" if title else path).replace("|", "&#124;").replace("`", "")  # no markup
        return f'<abbr title="{tip}">{m[1]}</abbr>'

    note = (
        "*This is the track's README. Hover over a figure to see the file and line of the repository it "
        "comes from (in the repository each figure links there).*\n\n"
    )
    body = REF_USE.sub(use, REF_DEF.sub("", text))
    heading, _, rest = body.partition("\n")
    return f"{heading}\n\n{note}{rest.lstrip()}" if heading.startswith("# ") else note + body


def figure_alts(track: str, nb: nbformat.NotebookNode) -> dict[str, str]:
    """Alt text for each figure of a notebook, keyed by its PNG (base64): the section it sits in and
    what the function of the track's figure module (its contract's ``figures``) that drew it says it
    shows (its docstring's first sentence)."""
    c = contract(track) if track else None
    plots = c.figure_module() if c else None
    alts, section = {}, ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            headings = re.findall(r"^#+\s+(.+)$", cell.source, re.M)
            section = re.sub(r"[*`]", "", headings[-1]).strip() if headings else section
            continue
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        calls = re.findall(r"\bplots\.(\w+)\(", cell.source)
        for k, png in enumerate(pngs):
            doc = inspect.getdoc(getattr(plots, calls[min(k, len(calls) - 1)], None)) if calls and plots else None
            what = re.split(r"(?<=\.)\s", " ".join(re.sub(r"`", "", doc.split("\n\n")[0]).split()))[0] if doc else ""
            alts["".join(png.split())] = f"Figure of section {section}" + (f": {what}" if what else "")
    return alts


# nbconvert's alt text for an image without one, and the figure's PNG
DEFAULT_ALT = re.compile(
    r'<img alt="No description has been provided for this image"([^>]*\bsrc="data:image/png;base64,([^"]+)")'
)


FENCE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)  # code: fenced blocks, then inline spans
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\s](?:[^$]*?[^$\s])?)\$", re.S)
TOKEN = re.compile(r"MATHML(\d+)X")
SHIM = Path(__file__).parent / "assets" / "iframe-worker-shim.js"  # search from file:// (vendored, MIT)
# a wider page than Material's default (figures, code and tables need it) and no cell-tag badges
CSS = (
    ".md-grid { max-width: 100rem; }\n.tag-container, .cell-tag, .tags_button_container { display: none; }\n"
    ".md-typeset details { font-size: inherit; }\n"  # an exercise's answer reads at the size of the lesson
)
# what a notebook page would load from the network: CDN scripts (require.js, mermaid) and MathJax
NETWORK = (
    re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*', re.S),
    re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->\s*", re.S),
    re.compile(r'<script\b[^>]*>(?:(?!</script>).)*?\bimport\(\s*"https?://(?:(?!</script>).)*</script>\s*', re.S),
)


def mathml(markdown: str, formulas: list[str] | None = None) -> str:
    """``markdown`` with its TeX formulas (outside code) replaced by MathML: ``$$...$$`` as a block.
    With ``formulas``, each is replaced by a token ``MATHML<k>X`` instead and its MathML appended there
    (the notebook converter's HTML clean-up would take MathML apart; ``build`` puts it back afterwards)."""
    from latex2mathml.converter import convert

    def one(m: re.Match) -> str:
        math = convert(m.group(1).strip(), display="block") if m.group(1) is not None else convert(m.group(2))
        if formulas is None:
            return math
        formulas.append(math)
        return f"MATHML{len(formulas) - 1}X"

    parts = FENCE.split(markdown)
    return "".join(part if k % 2 else MATH.sub(one, part) for k, part in enumerate(parts))


def _table(comparison: dict[str, dict[str, float]]) -> str:
    """A manifest's comparison table through the course's one table display (``shared.course.show``): each
    column at the decimals that keep its rows apart."""
    import polars as pl

    from shared.course import show

    return show.html(pl.DataFrame([{"model": name, **vals} for name, vals in comparison.items()]))


def _readme(track: str) -> Path:
    return REPO_ROOT / "solutions" / track / "README.md"


def _track_title(track: str) -> str:
    """The first heading of the track's README, its figure links reduced to their text."""
    readme = _readme(track)
    first = readme.read_text().splitlines()[0] if readme.is_file() else track
    return re.sub(r"\[([^\]]+)\]\[\w+\]", r"\1", first.lstrip("# ").strip())


def index(all_pages: Sequence[Page], submissions: Path) -> str:
    """The home page (Markdown): why this reading order, then each track's notebooks and the
    comparison table of its committed run."""
    parts = [
        "# The course\n",
        "Competition solutions, each taught in numbered notebooks. Read the primer first (the three "
        "task shapes and every metric, defined once), then the tracks in this order, familiar data first "
        "and the hardest statistics last: "
        + "; ".join(w for w in (reading_why(t) for t in dict.fromkeys(p.track for p in all_pages if p.track)) if w)
        + ". Every number here comes from the synthetic twin the notebooks ran on, not from the real data: "
        "compare a model with the random and oracle rows of the same table, never with a leaderboard score.\n",
    ]
    parts += [
        f"**Read first:** [{p.title}]({p.href.removesuffix('.html')}.ipynb). {p.purpose}\n"
        for p in all_pages
        if not p.track
    ]
    for track in dict.fromkeys(p.track for p in all_pages if p.track):
        parts.append(f"## {_track_title(track)} {{ #{track} }}\n")
        parts += [
            f"{k}. [{p.title}]({track}/{p.source.name})<br>{p.purpose}"
            for k, p in enumerate((p for p in all_pages if p.track == track), 1)
        ]
        parts.append("")
        manifest = submissions / track / "manifest.json"
        if manifest.is_file():
            m = json.loads(manifest.read_text())
            src = m["data_source"]
            data = (
                "the real files" if src["kind"] == "real" else f"the twin at scale {src['scale']}, seed {src['seed']}"
            )
            if m.get("comparison"):
                table = re.sub(r'<table[^>]*class="[^"]*"', "<table", _table(m["comparison"]))  # the theme's style
                parts.append(
                    f"The comparison table of the committed run ({data}; "
                    f"`submissions/{track}/manifest.json`):\n\n{table}\n"
                )
    return "\n".join(parts)


def config(all_pages: Sequence[Page], site_dir: Path) -> dict:
    """The MkDocs configuration: Material with no web font, the sidebar in reading order, search
    that works from the file system (``offline``), notebooks through mkdocs-jupyter."""
    nav: list = [{"Home": "index.md"}]
    nav += [{f"Read first: {p.title}": p.source.name} for p in all_pages if not p.track]
    for track in dict.fromkeys(p.track for p in all_pages if p.track):
        lessons = [{p.title: f"{track}/{p.source.name}"} for p in all_pages if p.track == track]
        readme = [{"The track's README": f"{track}/{README_PAGE}.md"}] if _readme(track).is_file() else []
        nav.append({_track_title(track): lessons + readme})
    return {
        "site_name": "Recommender-system competitions, reproduced offline: the course",
        "docs_dir": "docs",
        "site_dir": str(site_dir),
        "use_directory_urls": False,
        "nav": nav,
        "theme": {
            "name": "material",
            "font": False,
            "features": ["navigation.footer", "navigation.sections", "search.highlight"],
        },
        "extra": {"polyfills": [f"assets/{SHIM.name}"]},  # the offline plugin would fetch it from unpkg.com
        "extra_css": ["assets/book.css"],
        "markdown_extensions": ["attr_list", "md_in_html", "tables"],
        "plugins": [
            "search",
            "offline",
            {"mkdocs-jupyter": {"include_source": False, "cache": False, "no_prompt": True}},
        ],
    }


STYLE = re.compile(r'<style type="text/css">(.{2000,}?)</style>', re.S)


def _shared_styles(text: str, page: Path, assets: Path) -> str:
    """Each large inline stylesheet (mkdocs-jupyter writes about 0.6 MB of Jupyter's CSS into every
    page) written once as ``assets/nb-<sha256>.css`` and linked, so a page loads it from the cache."""

    def link(m: re.Match) -> str:
        name = f"nb-{hashlib.sha256(m.group(1).encode()).hexdigest()[:12]}.css"
        if not (assets / name).exists():
            write_text_atomic(assets / name, m.group(1))
        return f'<link rel="stylesheet" href="{os.path.relpath(assets / name, page.parent)}">'

    return STYLE.sub(link, text)


CHECKS = re.compile(r"^## \d+ Checks\b")


def _closing_markdown(cell: nbformat.NotebookNode) -> str | None:
    """The Markdown a closing cell (``shared.course.lesson.closing``) displays, else None."""
    outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
    texts = ["".join(o.get("data", {}).get("text/markdown", "")) for o in outputs]
    return texts[0] if len(outputs) == 1 and texts[0].startswith("## What this shows") else None


def for_reading(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook as the site shows it: the closing cell's Markdown as a Markdown cell (its headings in
    the page's contents, its answers collapsed as written), and without the "Checks" section (its
    heading and the test suite's ``# NBVAL_*`` cells: they guard the notebook, they teach nothing)."""
    cells = []
    for cell in nb.cells:
        text = _closing_markdown(cell)
        if text is not None:
            cells.append(nbformat.v4.new_markdown_cell(text, id=cell.get("id")))
        elif not (
            (cell.cell_type == "markdown" and CHECKS.match(cell.source))
            or (cell.cell_type == "code" and re.match(r"# NBVAL_\w+", cell.source))
        ):
            cells.append(cell)
    nb.cells = cells
    return nb


def build(
    out: Path,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    tracks: Sequence[str] | None = None,
    submissions: Path = REPO_ROOT / "submissions",
    progress: bool = True,
) -> list[Path]:
    """Write the site under ``out`` (a staged MkDocs project beside it, ``<out>-src``); returns the
    pages in the sidebar's order: the home page, the primer, each track's lessons and its README page."""
    import yaml
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    all_pages = pages(notebooks_dir, tracks)
    src = out.with_name(out.name + "-src")
    shutil.rmtree(src, ignore_errors=True)
    docs = src / "docs"
    write_text_atomic(docs / "index.md", index(all_pages, submissions))
    (docs / "assets").mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIM, docs / "assets" / SHIM.name)
    write_text_atomic(docs / "assets" / "book.css", CSS)
    formulas: list[str] = []
    alts: dict[str, str] = {}
    tracks = list(dict.fromkeys(p.track for p in all_pages if p.track))
    on_site = {f"notebooks/{p.track}/{p.source.name}" if p.track else f"notebooks/{p.source.name}" for p in all_pages}
    on_site |= {f"solutions/{t}/README.md" for t in tracks if _readme(t).is_file()}
    for track in tracks:
        if _readme(track).is_file():
            text = readme_markdown(track, _readme(track).read_text(), on_site)
            write_text_atomic(docs / track / f"{README_PAGE}.md", mathml(text, formulas))
    for page in all_pages:  # TeX becomes a token here and MathML after the build
        nb = for_reading(nbformat.read(page.source, as_version=4))
        alts.update(figure_alts(page.track, nb))
        for cell in nb.cells:
            if cell.cell_type == "markdown":  # a heading's code spans as text: the contents keep their words
                cell.source = mathml(
                    re.sub(r"^(#+ .*)$", lambda m: m[1].replace("`", ""), cell.source, flags=re.M), formulas
                )
        target = docs / (f"{page.track}/" if page.track else "") / page.source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    write_text_atomic(src / "mkdocs.yml", yaml.safe_dump(config(all_pages, out.resolve()), sort_keys=False))
    with _quiet(not progress):
        mkdocs_build(load_config(str(src / "mkdocs.yml")))
    _finish_offline(out, formulas, alts)
    order = [out / "index.html"]  # the sidebar's order: each track's README page after its lessons
    for k, page in enumerate(all_pages):
        order.append(out / page.href)
        last = k + 1 == len(all_pages) or all_pages[k + 1].track != page.track
        if page.track and last and _readme(page.track).is_file():
            order.append(out / page.track / f"{README_PAGE}.html")
    return order


def _finish_offline(out: Path, formulas: list[str], alts: dict[str, str]) -> None:
    """MkDocs' pages made to open from the file system, offline: no server files or network
    links, shared styles, each figure's alt text, the formulas as MathML, local links; the
    search index holds the formulas' words instead of their tokens."""
    for name in ("404.html", "sitemap.xml", "sitemap.xml.gz"):  # a server's files, with absolute links
        (out / name).unlink(missing_ok=True)
    for path in out.rglob("*.html"):
        text = path.read_text()
        for pattern in NETWORK:
            text = pattern.sub("", text)
        text = _shared_styles(text, path, out / "assets")
        text = DEFAULT_ALT.sub(lambda m: f'<img alt="{html.escape(alts.get(m[2], "A figure"))}"{m[1]}', text)
        path.write_text(_local_links(TOKEN.sub(lambda m: formulas[int(m.group(1))], text)))
    words = [json.dumps(" ".join(re.sub(r"<[^>]+>", " ", f).split()))[1:-1] for f in formulas]
    for path in (out / "search").glob("search_index.*"):  # the index holds the formulas' text, not the
        text = TOKEN.sub(lambda m: words[int(m.group(1))], path.read_text())  # page's anchors and buttons
        path.write_text(re.sub(r"Copied! |¶|\\u00b6", "", text))


@contextlib.contextmanager
def _quiet(on: bool):
    """MkDocs' log lines (INFO, and the notice its Material theme prints) kept out of a test's output."""
    import logging

    if not on:
        yield
        return
    logger = logging.getLogger("mkdocs")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracks", nargs="*", default=reading_order())
    parser.add_argument(
        "--notebooks",
        default=str(NOTEBOOKS_DIR),
        help="folder of executed notebooks, one subfolder a track (default: the committed ones)",
    )
    parser.add_argument("--out", default=str(reports_dir() / "book"))
    args = parser.parse_args(argv)
    tracks = [t for t in reading_order() if t in args.tracks] + [t for t in args.tracks if t not in reading_order()]
    written = build(Path(args.out), Path(args.notebooks), tracks)
    readmes = sum(p.stem == README_PAGE for p in written)
    print(f"wrote {os.path.relpath(written[0])}, {len(written) - 1 - readmes} notebook pages and {readmes} READMEs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
