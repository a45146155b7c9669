"""Each track's notebooks run headless at SCALE=tiny through the shared runner, then
`pytest --nbval-lax` re-runs them and compares the cells marked NBVAL_CHECK_OUTPUT (row counts,
checksums, metrics rounded to 3 places): the outputs must be reproduced exactly."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from shared import runner
from shared.io import sha256_file
from shared.paths import NOTEBOOKS_DIR

pytestmark = pytest.mark.notebook  # deselect with: pytest -m "not notebook"
SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
# every track: notebooks/<track>/ with NN_*.ipynb and tiny.yaml, the parameters of its test run
TRACKS = sorted(p.parent.name for p in NOTEBOOKS_DIR.glob("*/tiny.yaml"))


def nbval(paths, out_dir):
    env = {**os.environ, "RECSYS_OUTPUT_DIR": str(out_dir)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-sanitize-with", str(SANITIZE),
         "-p", "no:cacheprovider", "-q", *map(str, paths)],
        env=env, capture_output=True, text=True, timeout=1200,
    )


def test_every_track_has_tiny_parameters():
    assert TRACKS and TRACKS == sorted(p.name for p in NOTEBOOKS_DIR.iterdir() if p.is_dir())


@pytest.fixture(scope="module", params=TRACKS)
def executed(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    params = yaml.safe_load((NOTEBOOKS_DIR / request.param / "tiny.yaml").read_text())
    os.environ["RECSYS_OUTPUT_DIR"] = str(out)  # the kernels inherit it
    try:
        paths = runner.run_notebooks(runner.track_notebooks(request.param), out / "executed", params, progress=False)
    finally:
        os.environ.pop("RECSYS_OUTPUT_DIR")
    return request.param, out, paths


def test_every_code_cell_ran_and_checks_exist(executed):
    track, _, paths = executed
    for path in paths:
        nb = nbformat.read(path, 4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), path.name
        checked = [c for c in code if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
        assert checked and all(c.outputs for c in checked), f"{path.name}: no checked cell with output"


def test_nbval_reproduces_checked_outputs(executed):
    _, out, paths = executed
    res = nbval(paths, out)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    n_cells = sum(1 for p in paths for c in nbformat.read(p, 4).cells if c.cell_type == "code")
    passed = int(re.search(r"(\d+) passed", res.stdout).group(1))
    assert passed == n_cells


def test_nbval_catches_a_changed_output(executed, tmp_path):
    """The check is not vacuous: a tampered checked output must fail."""
    _, out, paths = executed
    nb = nbformat.read(paths[0], 4)
    at, cell = next((k, c) for k, c in enumerate(nb.cells) if c.source.startswith("# NBVAL_CHECK_OUTPUT"))
    cell.outputs[0]["text"] = cell.outputs[0]["text"].replace("train rows", "train rowz")
    nb.cells = nb.cells[:at + 1]  # nbval runs the cells up to the tampered one: the rest would prove nothing more
    tampered = tmp_path / paths[0].name
    nbformat.write(nb, tampered)
    res = nbval([tampered], out)
    assert res.returncode != 0 and "rowz" in res.stdout


def test_submission_matches_manifest(executed):
    track, out, _ = executed
    sub = out / "submissions" / track
    manifest = json.loads((sub / "manifest.json").read_text())
    for f in manifest["files"]:
        assert f["sha256"] == sha256_file(sub / f["path"])
    assert manifest["data_source"]["kind"] == "synthetic twin" and manifest["data_source"]["scale"] == "tiny"
