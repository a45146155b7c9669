"""The committed notebooks, submissions and manifests agree with each other (an unexecuted
notebook would pass nbval vacuously; a stale manifest would pass everything else).

They are read as committed (git's HEAD; the files on disk outside a checkout), never from the work
tree: ``make reproduce`` rewrites ``submissions/`` there, and on another CPU its run may differ from
the committed one (its verdict says so), which is no defect of what is committed.
``test_make_reproduce_then_these_tests`` runs the README's order of commands in a scratch copy."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from shared.course import lesson
from shared.data.io import committed_bytes
from shared.runtime.paths import NOTEBOOKS_DIR, OUTPUT_ENV, REPO_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*/[0-9][0-9]_*.ipynb"))
MANIFESTS = sorted((REPO_ROOT / "submissions").glob("*/manifest.json"))


def test_there_is_something_to_check():
    assert NOTEBOOKS and MANIFESTS


def committed_notebook(path):
    return nbformat.reads(committed_bytes(path).decode(), 4)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_is_executed(path):
    nb = committed_notebook(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "commit it executed (make notebooks)"
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    text = committed_bytes(path).decode()
    for local in (str(REPO_ROOT), "site-packages", "IProgress not found", "/tmp/"):
        assert local not in text, f"shows a local path or a progress-bar warning: {local}"


ROW = re.compile(r"<tr[ >].*?<td", re.S)  # a body row: a table row holding a data cell


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_shows_no_noise(path):
    """Nothing on stderr (no warnings, JVM lines or progress bars: a saved notebook is read, not
    watched), no empty output, no table without rows, no bare reprs (a value with only a text/plain
    form: a Config object, a tuple, a list)."""
    for k, cell in enumerate(committed_notebook(path).cells):
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                assert out.name != "stderr", f"cell {k}: stderr output: {out.text.strip()[:120]!r}"
                assert out.text.strip(), f"cell {k}: an empty output"
            if out.output_type in ("execute_result", "display_data"):
                assert set(out.data) - {"text/plain"}, f"cell {k}: a bare repr: {out.data['text/plain'][:80]}"
                html = out.data.get("text/html", "")
                assert "<table" not in html or ROW.search(html), f"cell {k}: a table without rows"
                assert any(str(v).strip() for v in out.data.values()), f"cell {k}: an empty output"


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_manifest_matches_submission_and_notebook(path):
    manifest = json.loads(committed_bytes(path))
    for f in manifest["files"]:
        sub = committed_bytes(path.parent / f["path"])
        assert hashlib.sha256(sub).hexdigest() == f["sha256"], "stale manifest: re-run make notebooks"
        if f["path"].endswith(".csv"):
            assert sub.count(b"\n") - 1 == f["rows"]
    # the last notebook of the track prints "rows N sha256 PREFIX" in a checked cell
    last = sorted((NOTEBOOKS_DIR / manifest["track"]).glob("[0-9][0-9]_*.ipynb"))[-1]
    cells = committed_notebook(last).cells
    text = "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)
    found = re.search(r"rows (\d+) sha256 ([0-9a-f]{16})", text)
    assert found, f"{last.name} prints no 'rows N sha256 X' line"
    assert int(found.group(1)) == manifest["files"][0]["rows"]
    assert manifest["files"][0]["sha256"].startswith(found.group(2))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_parameter_is_read(path):
    """A parameters cell lists only what its notebook reads (papermill would accept anything)."""
    code = [c for c in committed_notebook(path).cells if c.cell_type == "code"]
    params = next(c for c in code if "parameters" in c.metadata.get("tags", []))
    rest = "\n".join(c.source for c in code if c is not params)
    names = re.findall(r"^([A-Z_][A-Z0-9_]*)\s*[:=]", params.source, re.M)
    assert names and not [n for n in names if not re.search(rf"\b{n}\b", rest)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_is_a_lesson(path):
    """A title and what the reader will learn first; at the end, what this run showed (written from its
    numbers by a closing cell) and exercises."""
    cells = committed_notebook(path).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert "**You will learn**\n- " in cells[0].source
    closing = [
        o.data["text/markdown"]
        for c in cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/markdown" in o.get("data", {})
    ]
    exercises = f"## Exercises\n\n{lesson.EXERCISES_HOW}\n\n1. "  # how to try them, then the list
    assert any("## What this shows" in t and exercises in t for t in closing)


@pytest.mark.notebook
def test_make_reproduce_then_these_tests(tmp_path):
    """The README's order on any machine: ``make reproduce`` (here one track at tiny, which rewrites its
    submission and manifest in the work tree of a scratch copy of this tree), then the tests of what
    is committed, which must still pass there."""
    repo = tmp_path / "repo"
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        if (REPO_ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / rel, repo / rel)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "this tree"]):
        subprocess.run(git + args, cwd=repo, check=True, capture_output=True)
    (repo / ".venv").symlink_to(REPO_ROOT / ".venv")  # the installed environment, as make setup left it
    env = {k: v for k, v in os.environ.items() if k != OUTPUT_ENV} | {"PYTHONPATH": str(repo)}
    done = subprocess.run(
        ["make", "-o", ".venv/.installed", "reproduce", "TRACKS=kraft_kuairec", "SCALE=tiny"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    assert "kraft_kuairec: not comparable: data source differs" in done.stdout
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert " submissions/kraft_kuairec/manifest.json" in changed  # the work tree now holds the tiny run
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_committed_outputs.py",
            "-k",
            "not make_reproduce",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
