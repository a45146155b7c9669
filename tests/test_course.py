"""The course reads in order: the primer defines every metric the notebooks report (each worked
example computed by the function the tracks call, its committed outputs current), and every track
notebook links to a metric's definition before it first names it."""

import re

import nbformat
import numpy as np
import pytest

from shared.data.io import committed_bytes
from shared.eval import metrics
from shared.runtime.paths import NOTEBOOKS_DIR
from shared.tools import primer, runner

pytestmark = pytest.mark.notebook  # deselected by make test-fast

TRACK_NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*/[0-9][0-9]_*.ipynb"))


def committed(path):
    return nbformat.reads(committed_bytes(path).decode(), 4)


def test_the_primer_defines_every_metric():
    assert set(primer.METRICS) <= primer.anchors()
    assert set(primer.ALIASES) <= primer.anchors()


@pytest.mark.parametrize("path", TRACK_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_metrics_are_linked_to_their_definition_before_use(path):
    nb = committed(path)
    assert not primer.unlinked(nb)
    for anchor in re.findall(r"00_primer\.ipynb#([\w-]+)", "\n".join(c.source for c in nb.cells)):
        assert anchor in primer.anchors(), f"a link to an anchor the primer lacks: #{anchor}"


def test_the_check_can_fail():
    cells = [
        nbformat.v4.new_markdown_cell("# T\n\nWe rank by NDCG@10."),
        nbformat.v4.new_markdown_cell("See [AUC](../00_primer.ipynb#auc)."),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("stream", text="val auc 0.7\n")]),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert primer.unlinked(nb) == ["cell 0: 'NDCG' (link ../00_primer.ipynb#ndcg first)"]
    cells[0].source += " [NDCG@K](../00_primer.ipynb#ndcg)"
    assert primer.unlinked(nb) == []
    cells.insert(1, nbformat.v4.new_code_cell("y", outputs=[nbformat.v4.new_output("stream", text="auc 0.5\n")]))
    assert primer.unlinked(nb) == ["cell 1: 'auc' (link ../00_primer.ipynb#auc first)"]  # printed before its link


def _shown(nb):
    return [
        (o.get("text") or o.get("data", {}).get("text/plain"))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    ]


def test_the_committed_primer_is_what_it_computes(tmp_path):
    (out,) = runner.run_notebooks([primer.PRIMER], tmp_path, progress=False)
    assert _shown(nbformat.read(out, 4)) == _shown(committed(primer.PRIMER))
    text = "\n".join(c.source for c in committed(primer.PRIMER).cells)
    assert "Answers" in text and "NDCG@3 0.6981" in text


def test_the_primers_exercise_answers():
    """The answers written in the primer, computed with the functions the tracks use."""
    users = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 2])
    labels = np.array([1, 0, 1, 0, 0, 1, 0, 1, 0, 0])
    moved = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.95, 0.9, 0.8, 0.7, 0.6])  # exercise 1: row 6 first
    got = metrics.ranking_metrics(users, moved, labels, ks=(3,))
    assert (round(got["precision@3"], 4), round(got["recall@3"], 4), round(got["ndcg@3"], 4)) == (0.5, 0.8333, 0.6981)
    assert round(float(metrics.per_user_ndcg(users, moved, labels, 3)[1][0]), 4) == 0.7654
    # exercise 2: user 2's first clip liked
    args = ([1, 1, 1, 1, 2, 2, 2], [2, 1, 0, 1, 2, 1, 1], [0.9, 0.5, 0.6, 0.4, 0.3, 0.2, 0.1])
    assert metrics.mean_user_roc_auc(*args) == metrics.mean_user_roc_auc(*args, single_label="zero") == 0.8
