"""``make book``: the course as static HTML in ``reports/book/``, rendered by nbconvert from the
executed notebooks (the committed ones by default), to hand out or open offline from the file system.

``index.html`` lists the tracks in reading order, each with its notebooks (title and one-line
purpose, from the notebook's first markdown cell) and the comparison table of its committed
manifest; every notebook page has its figures embedded (data URIs) and links to the previous
page, the contents and the next page. Nothing is fetched from the network: nbconvert's template
scripts from a CDN (require.js, MathJax) are left out, so a page reads the same offline; the lessons'
formulas (``$...$`` and ``$$...$$`` in markdown) are converted to MathML when the book is built
(latex2mathml), which browsers draw without any script.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import nbformat

from shared.io import write_text_atomic
from shared.paths import NOTEBOOKS_DIR, REPO_ROOT, reports_dir
from shared.primer import PRIMER

TRACKS = ("kraft_kuairec", "hse_sasrec", "vk_clips", "vklab_posts")  # reading order: familiar data first, hardest statistics later
CDN_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*', re.S)
MATHJAX_CONFIG = re.compile(r'<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->\s*', re.S)
STYLE = """
body.book { max-width: 60rem; margin: 2rem auto; padding: 0 1rem; font: 16px/1.5 system-ui, sans-serif; color: #222; }
.book table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
.book th, .book td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: right; }
.book th:first-child, .book td:first-child { text-align: left; }
.book li { margin: 0.4rem 0; }
nav.book-nav { display: flex; justify-content: space-between; gap: 1rem; max-width: 1200px; margin: 0.5rem auto;
  padding: 0.5rem 1rem; font: 15px system-ui, sans-serif; border-bottom: 1px solid #ddd; }
nav.book-nav.bottom { border-top: 1px solid #ddd; border-bottom: none; }
"""


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
    learn = re.search(r"\*\*You will learn\*\*\n((?:- .+\n?)+)", text)
    if learn:
        items = [line[2:].strip() for line in learn.group(1).splitlines()]
        return title, "You will learn " + "; ".join(re.sub(r"[*`]", "", i) for i in items) + "."
    body = " ".join(line.strip() for line in text[heading.end() if heading else 0:].strip().split("\n\n")[0].splitlines())
    sentence = re.split(r"(?<=[.:])\s+(?=[A-Z(*])", body, maxsplit=1)[0] if body else ""
    return title, re.sub(r"[*`]", "", sentence)


def pages(notebooks_dir: Path, tracks: Sequence[str] = TRACKS) -> list[Page]:
    """The primer (when there is one), then each track's notebooks."""
    out = []
    primer = notebooks_dir / PRIMER.name  # read first: the tasks and every metric, defined once
    if primer.is_file():
        out.append(Page("", primer, *describe(nbformat.read(primer, as_version=4), primer.stem)))
    for track in tracks:
        for path in sorted((notebooks_dir / track).glob("[0-9][0-9]_*.ipynb")):
            title, purpose = describe(nbformat.read(path, as_version=4), path.stem)
            out.append(Page(track, path, title, purpose))
    return out


def _relative(page: Page, href: str) -> str:
    """``href`` (relative to the book's root) as a link from ``page``."""
    return posixpath.relpath(href, posixpath.dirname(page.href) or ".")


def _local_links(page: Page, body: str) -> str:
    """A notebook's links to other notebooks (``../00_primer.ipynb#ndcg``) point at their pages."""
    return re.sub(r'href="([^":#]+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)


def _nav(page: Page, prev: Page | None, nxt: Page | None, where: str) -> str:
    def link(p: Page | None, label: str) -> str:
        return f'<a href="{_relative(page, p.href)}">{label}: {html.escape(p.title)}</a>' if p else "<span></span>"

    return (f'<nav class="book-nav {where}">{link(prev, "&larr; previous")}'
            f'<a href="{_relative(page, "index.html")}">contents</a>{link(nxt, "next &rarr;")}</nav>')


FENCE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)  # code: fenced blocks, then inline spans
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\s](?:[^$]*?[^$\s])?)\$", re.S)


def mathml(markdown: str, formulas: list[str] | None = None) -> str:
    """``markdown`` with its TeX formulas (outside code) replaced by MathML: ``$$...$$`` as a block.
    With ``formulas``, each is replaced by a token ``MATHML<k>X`` instead and its MathML appended there
    (nbconvert's HTML clean-up would take MathML apart; ``render`` puts it back afterwards)."""
    from latex2mathml.converter import convert

    def one(m: re.Match) -> str:
        math = convert(m.group(1).strip(), display="block") if m.group(1) is not None else convert(m.group(2))
        if formulas is None:
            return math
        formulas.append(math)
        return f"MATHML{len(formulas) - 1}X"

    parts = FENCE.split(markdown)
    return "".join(part if k % 2 else MATH.sub(one, part) for k, part in enumerate(parts))


def render(page: Page, prev: Page | None, nxt: Page | None) -> str:
    """One notebook as a self-contained HTML page (figures embedded, maths as MathML, no network) with
    its navigation."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    nb = nbformat.read(page.source, as_version=4)
    formulas: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = mathml(cell.source, formulas)
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r"MATHML(\d+)X", lambda m: formulas[int(m.group(1))], body)
    body = _local_links(page, MATHJAX_CONFIG.sub("", CDN_SCRIPT.sub("", body)))
    body = body.replace("<title>Notebook</title>", f"<title>{html.escape(page.title)}</title>")
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav(page, prev, nxt, "top"), body, count=1)
    body = body.replace("</body>", f"{_nav(page, prev, nxt, 'bottom')}<style>{STYLE}</style></body>")
    return body


def _table(comparison: dict[str, dict[str, float]]) -> str:
    """A manifest's comparison table through the course's one table display (``shared.show``): each
    column at the decimals that keep its rows apart."""
    import polars as pl

    from shared import show

    return show.html(pl.DataFrame([{"model": name, **vals} for name, vals in comparison.items()]))


def _track_title(track: str) -> str:
    readme = REPO_ROOT / "solutions" / track / "README.md"
    first = readme.read_text().splitlines()[0] if readme.is_file() else track
    return first.lstrip("# ").strip()


def index(all_pages: Sequence[Page], submissions: Path) -> str:
    parts = ["<h1>Recommender-system competitions, reproduced offline: the course</h1>",
             "<p>Competition solutions, each taught in numbered notebooks, read in this order. Every "
             "number below comes from the synthetic twin the notebooks ran on, not from the real data: "
             "compare a model with the random and oracle rows of the same table, never with a "
             "leaderboard score.</p>"]
    parts += [f'<p>Read first: <a href="{p.href}">{html.escape(p.title)}</a>. {html.escape(p.purpose)}</p>'
              for p in all_pages if not p.track]
    for track in dict.fromkeys(p.track for p in all_pages if p.track):
        parts.append(f'<h2 id="{track}">{html.escape(_track_title(track))}</h2><ol>')
        parts += [f'<li><a href="{p.href}">{html.escape(p.title)}</a><br>{html.escape(p.purpose)}</li>'
                  for p in all_pages if p.track == track]
        parts.append("</ol>")
        manifest = submissions / track / "manifest.json"
        if manifest.is_file():
            m = json.loads(manifest.read_text())
            src = m["data_source"]
            data = "the real files" if src["kind"] == "real" else f"the twin at scale {src['scale']}, seed {src['seed']}"
            if m.get("comparison"):
                parts.append(f"<p>The comparison table of the committed run ({html.escape(data)}; "
                             f"<code>submissions/{track}/manifest.json</code>):</p>{_table(m['comparison'])}")
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>The course</title>'
            f'<style>{STYLE}</style></head><body class="book">{"".join(parts)}</body></html>')


def build(out: Path, notebooks_dir: Path = NOTEBOOKS_DIR, tracks: Sequence[str] = TRACKS,
          submissions: Path = REPO_ROOT / "submissions", progress: bool = True) -> list[Path]:
    """Write the book under ``out``; returns the pages written, the index first."""
    all_pages = pages(notebooks_dir, tracks)
    written = [write_text_atomic(out / "index.html", index(all_pages, submissions))]
    for k, page in enumerate(all_pages):
        if progress:
            print(f"\rbook: {k + 1}/{len(all_pages)} {page.href:<60}", end="", flush=True)
        prev = all_pages[k - 1] if k else None
        nxt = all_pages[k + 1] if k + 1 < len(all_pages) else None
        written.append(write_text_atomic(out / page.href, render(page, prev, nxt)))
    if progress:
        print()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracks", nargs="*", default=list(TRACKS))
    parser.add_argument("--notebooks", default=str(NOTEBOOKS_DIR),
                        help="folder of executed notebooks, one subfolder a track (default: the committed ones)")
    parser.add_argument("--out", default=str(reports_dir() / "book"))
    args = parser.parse_args(argv)
    tracks = [t for t in TRACKS if t in args.tracks] + [t for t in args.tracks if t not in TRACKS]
    written = build(Path(args.out), Path(args.notebooks), tracks)
    print(f"wrote {os.path.relpath(written[0])} and {len(written) - 1} notebook pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
