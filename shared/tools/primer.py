"""The primer (``notebooks/00_primer.ipynb``) defines every metric the course reports and the terms a
result is read with (twin, oracle, paired difference and standard error), each under an anchor; a
track notebook must link to a definition before (or in the cell where) it first names the term: a
learner may open any notebook first.

``METRICS`` maps each anchor to the pattern of its names in prose, tables and printed output (code
cells' sources are code, not reading matter, and are not searched). ``unlinked`` lists a notebook's
first uses that no earlier link covers; ``tests/test_course.py`` holds every committed notebook to
none. ``python -m shared.tools.primer NOTEBOOK...`` prints them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from shared.runtime.paths import NOTEBOOKS_DIR

PRIMER = NOTEBOOKS_DIR / "00_primer.ipynb"
METRICS = {
    "precision": r"\bP@(?:\d|K)|[Pp]recision",
    "recall": r"\bR@(?:\d|K)|[Rr]ecall",
    "ndcg": r"NDCG|ndcg",
    "auc": r"\bAUC\b|\bauc\b|_auc\b|\bauc_|ROC",
    "hitrate": r"HitRate|hitrate|[Hh]it ?[Rr]ate",
    "mrr": r"\bMRR\b|\bmrr\b",
    "map": r"\bMAP\b|\bmap@\d|<th>map</th>",
    "coverage": r"[Cc]overage",
    "auc-zero": r"auc_zero",
    "auc-expected": r"auc_expected",
    "log-loss": r"[Ll]og ?[Ll]oss|\bBCE\b",
    "swapped-bce": r"[Ss]wapped BCE|swapped_bce",
    "mae": r"\bMAE\b|\bmae\b",
    "r2": r"\br2\b|R²",
    # the terms a result is read with
    "twin": r"\btwin\b",
    "oracle": r"\b[Oo]racle\b",
    "standard-error": r"[Ss]tandard error|±",
}
ALIASES = {"per-user-roc-auc": "auc"}  # a link to the per-user ROC-AUC covers the AUC's names
LINK = re.compile(r"00_primer\.ipynb#([\w-]+)")


def anchors(primer: Path = PRIMER) -> set[str]:
    """The anchors the primer defines (``<a id="...">``)."""
    text = "\n".join(c.source for c in nbformat.read(primer, 4).cells if c.cell_type == "markdown")
    return set(re.findall(r'<a id="([\w-]+)"></a>', text))


def _reading_text(cell) -> str:
    """What a reader sees of a cell: a markdown cell's text, a code cell's outputs."""
    if cell.cell_type == "markdown":
        return cell.source
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts += [str(out.get("data", {}).get(kind, "")) for kind in ("text/markdown", "text/html", "text/plain")]
    return "\n".join(parts)


def unlinked(nb: nbformat.NotebookNode) -> list[str]:
    """Each metric whose first use in ``nb`` comes before any link to its definition: "cell K: name"."""
    linked: set[str] = set()
    used: set[str] = set()
    out = []
    for k, cell in enumerate(nb.cells):
        text = _reading_text(cell)
        # a link the reader sees counts: in a markdown cell, or in the Markdown a closing cell displays
        linked |= {ALIASES.get(a, a) for a in LINK.findall(text)}
        for anchor, pattern in METRICS.items():
            if anchor in used:
                continue
            found = re.search(pattern, text)
            if found:
                used.add(anchor)
                if anchor not in linked:
                    out.append(f"cell {k}: {found.group(0)!r} (link ../00_primer.ipynb#{anchor} first)")
    return out


def used(nb: nbformat.NotebookNode) -> list[str]:
    """The metrics ``nb`` names, in order of first use."""
    text = "\n".join(_reading_text(c) for c in nb.cells)
    firsts = {a: m.start() for a, p in METRICS.items() if (m := re.search(p, text))}
    return sorted(firsts, key=firsts.get)


def main(argv: Sequence[str] | None = None) -> int:
    bad = 0
    for path in argv if argv is not None else sys.argv[1:]:
        for line in unlinked(nbformat.read(path, 4)):
            print(f"{path}: {line}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
