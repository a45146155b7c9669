"""The notebook tests' reference outputs.

`make test` runs every notebook once, at the sizes of ``notebooks/<track>/tiny.yaml``, under nbval,
which compares the cells marked ``# NBVAL_CHECK_OUTPUT`` (row counts, checksums, metrics rounded to
three places) with ``tests/<track>/notebook_outputs.json``: the outputs those cells printed when a
maintainer ran the same notebooks through papermill (``make test-references``). Passing means this
machine reproduced, at the tests' size, what the maintainer's printed: the promise the committed
submissions make at full size. nbval needs the expected outputs inside the notebook it runs, so
``prepare`` writes each notebook with the parameters injected (papermill, not executed), every
output cleared, and the checked cells' references put back; the notebooks' code is always today's.

CLI (maintainers, after a change that moves a checked figure): ``python -m shared.tools.nbcheck TRACK ...``
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat
import papermill

from shared.runtime.paths import NOTEBOOKS_DIR, OUTPUT_ENV, REPO_ROOT
from shared.tools import runner
from shared.track import profiles

CHECK = "# NBVAL_CHECK_OUTPUT"


class StaleReference(Exception):
    """A notebook's checked cells no longer match the recorded references."""


def reference_path(track: str) -> Path:
    return REPO_ROOT / "tests" / track / "notebook_outputs.json"


def tracks() -> list[str]:
    """Every track with notebook tests: ``notebooks/<track>/tiny.yaml`` holds their sizes."""
    return sorted(p.parent.name for p in NOTEBOOKS_DIR.glob("*/tiny.yaml"))


def tiny_parameters(track: str) -> dict:
    return profiles.read_file(NOTEBOOKS_DIR / track / "tiny.yaml")


def checked_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(CHECK)]


def record(track: str, executed: Sequence[Path]) -> Path:
    """Write the checked cells' sources and outputs of ``executed`` (papermill-run notebooks) as
    ``track``'s references."""
    reference = {}
    for path in executed:
        cells = checked_cells(nbformat.read(path, as_version=4))
        reference[Path(path).name] = [{"source": c.source, "outputs": c.outputs} for c in cells]
    out = reference_path(track)
    out.write_text(json.dumps(reference, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return out


def prepare(track: str, out_dir: Path) -> list[Path]:
    """Each notebook of ``track`` with tiny.yaml's parameters injected, no outputs, and the recorded
    outputs in its checked cells; raises ``StaleReference`` where a checked cell has none."""
    ref_file = reference_path(track)
    shown = os.path.relpath(ref_file, REPO_ROOT)
    if not ref_file.exists():
        raise StaleReference(f"{shown} is missing: run `make test-references TRACKS={track}`")
    reference = json.loads(ref_file.read_text())
    notebooks = runner.track_notebooks(track)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for notebook, params in zip(notebooks, runner.plan_parameters(notebooks, tiny_parameters(track))):
        out = out_dir / notebook.name
        papermill.execute_notebook(
            str(notebook),
            str(out),
            parameters=params,
            kernel_name="python3",
            prepare_only=True,
            progress_bar=False,
            log_output=False,
        )
        nb = nbformat.read(out, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        cells, refs = checked_cells(nb), reference.get(notebook.name, [])
        if [c.source for c in cells] != [r["source"] for r in refs]:
            raise StaleReference(
                f"{shown}: the checked cells of {notebook.name} changed "
                f"since the references were recorded: run `make test-references TRACKS={track}`"
            )
        for cell, ref in zip(cells, refs):
            cell.outputs = [nbformat.from_dict(o) for o in ref["outputs"]]
            cell.execution_count = 1  # nbval refuses a reference output of a cell marked unrun
        nbformat.write(nb, out)
        paths.append(out)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    for track in list(argv if argv is not None else sys.argv[1:]) or tracks():
        with tempfile.TemporaryDirectory() as tmp:
            os.environ[OUTPUT_ENV] = tmp  # the kernels inherit it: twin, artifacts and submission go there
            executed = runner.run_notebooks(
                runner.track_notebooks(track), Path(tmp) / "executed", tiny_parameters(track), progress=False
            )
            path = record(track, executed)
        n = sum(len(v) for v in json.loads(path.read_text()).values())
        print(f"{path.relative_to(REPO_ROOT)}: {n} checked cells of {len(executed)} notebooks", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
