"""Each track's notebooks run headless at SCALE=tiny under `pytest --nbval-lax`, which executes every
cell and compares the cells marked NBVAL_CHECK_OUTPUT (row counts, checksums, metrics rounded to 3
places) with the outputs a maintainer's papermill run recorded in tests/<track>/notebook_outputs.json
(`shared.tools.nbcheck`, `make test-references`): they must be reproduced exactly. The notebooks run with
torch's and oneDNN's kernels at another width than the pin's (``shared.runtime.dispatch.other_width_env``),
so the same run also shows that no recorded digit, the submission's checksum among them, depends on
it (``tests/test_dispatch_invariance.py`` says why that matters)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from shared.data.io import sha256_file
from shared.runtime import dispatch
from shared.runtime.paths import NOTEBOOKS_DIR
from shared.tools import nbcheck

pytestmark = pytest.mark.notebook  # deselect with: pytest -m "not notebook"
SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
# every track: notebooks/<track>/ with NN_*.ipynb and tiny.yaml, the parameters of its test run
TRACKS = nbcheck.tracks()


def nbval(paths, out_dir, other_width=False):
    base = dispatch.other_width_env() if other_width else os.environ
    env = {**base, "RECSYS_OUTPUT_DIR": str(out_dir)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-sanitize-with",
            str(SANITIZE),
            "-p",
            "no:cacheprovider",
            "-q",
            *map(str, paths),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_every_track_has_tiny_parameters():
    assert TRACKS and TRACKS == sorted(p.name for p in NOTEBOOKS_DIR.iterdir() if p.is_dir())


@pytest.mark.parametrize("track", TRACKS)
def test_every_notebook_has_recorded_checks(track, tmp_path):
    """Every notebook has a checked cell, and each has its recorded output (the same cells, in order)."""
    paths = nbcheck.prepare(track, tmp_path)
    for path in paths:
        checked = nbcheck.checked_cells(nbformat.read(path, 4))
        assert checked and all(c.outputs for c in checked), f"{path.name}: no checked cell with a recorded output"


def test_a_changed_checked_cell_needs_new_references(tmp_path, monkeypatch):
    track = TRACKS[0]
    reference = json.loads(nbcheck.reference_path(track).read_text())
    first = sorted(reference)[0]
    reference[first][0]["source"] += "\nprint()"
    stale = tmp_path / "notebook_outputs.json"
    stale.write_text(json.dumps(reference))
    monkeypatch.setattr(nbcheck, "reference_path", lambda _: stale)
    with pytest.raises(
        nbcheck.StaleReference, match=f"checked cells of {first} changed .* `make test-references TRACKS={track}`"
    ):
        nbcheck.prepare(track, tmp_path / "prepared")


@pytest.fixture(scope="module", params=TRACKS)
def checked(request, tmp_path_factory):
    """The track's notebooks run once under nbval, in order, in a fresh output folder, at the other
    kernel width where the pin can be moved (an x86-64 CPU with AVX2)."""
    out = tmp_path_factory.mktemp(request.param)
    paths = nbcheck.prepare(request.param, out / "prepared")
    return request.param, out, paths, nbval(paths, out, other_width=dispatch.unsupported_reason({}) == "")


def test_nbval_reproduces_the_recorded_outputs(checked):
    _, _, paths, res = checked
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    n_cells = sum(1 for p in paths for c in nbformat.read(p, 4).cells if c.cell_type == "code")
    passed = int(re.search(r"(\d+) passed", res.stdout).group(1))
    assert passed == n_cells  # every code cell ran, without an error


def test_nbval_catches_a_changed_output(tmp_path):
    """The check is not vacuous: a tampered recorded output must fail (nbval runs the first notebook
    up to that cell: the rest would prove nothing more; one track: the mechanism is the same)."""
    paths = nbcheck.prepare(TRACKS[0], tmp_path / "prepared")
    nb = nbformat.read(paths[0], 4)
    at, cell = next((k, c) for k, c in enumerate(nb.cells) if c.source.startswith(nbcheck.CHECK))
    cell.outputs[0]["text"] = cell.outputs[0]["text"].replace("train rows", "train rowz")
    nb.cells = nb.cells[: at + 1]
    nbformat.write(nb, paths[0])
    res = nbval([paths[0]], tmp_path)
    assert res.returncode != 0 and "rowz" in res.stdout


def test_submission_matches_manifest(checked):
    track, out, *_ = checked
    sub = out / "submissions" / track
    manifest = json.loads((sub / "manifest.json").read_text())
    for f in manifest["files"]:
        assert f["sha256"] == sha256_file(sub / f["path"])
    assert manifest["data_source"]["kind"] == "synthetic twin" and manifest["data_source"]["scale"] == "tiny"
