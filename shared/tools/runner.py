"""Run a track's notebooks headless, in order, through papermill.

Used by ``make reproduce`` and by the notebook tests. Each notebook receives only the
parameters its ``parameters`` cell declares, converted to the declared type (papermill's CLI
parses ``-p 001`` as the integer 1); a parameter no notebook declares is refused instead of
papermill's silent warning.

With ``--profile source`` each track's ``notebooks/<track>/source.yaml`` supplies the parameters
(``shared.track.profiles``); ``-p`` values override them. Before a track runs, one line estimates its wall
time on this device; after it, the time is recorded (``shared.tools.timing``).

CLI: ``python -m shared.tools.runner TRACK [TRACK ...] --out DIR [--profile P] [-f YAML] -p NAME VALUE ...``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import nbformat
import papermill
from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from tqdm.auto import tqdm

from shared.runtime.errors import DataError
from shared.runtime.paths import NOTEBOOKS_DIR, REPO_ROOT, submissions_dir
from shared.runtime.progress import QUIET_ENV
from shared.tools import timing
from shared.tools.primer import PRIMER
from shared.tools.reproduce import keep_committed
from shared.track import profiles, registry

_CASTS = {"int": int, "float": float, "str": str}


def track_notebooks(track: str) -> list[Path]:
    """The numbered notebooks of a track, in order."""
    folder = NOTEBOOKS_DIR / track
    notebooks = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks NN_*.ipynb in {folder}")
    return notebooks


def declared_parameters(notebook: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Name -> papermill's description (inferred_type_name, default) of the parameters cell."""
    return dict(papermill.inspect_notebook(str(notebook)))


def _coerce(name: str, value: Any, type_name: str) -> Any:
    """Convert a parameter value to the type its notebook declares (annotation or default)."""
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in {"true", "1", "yes", "false", "0", "no"}:
            return text in {"true", "1", "yes"}
        raise ValueError(f"parameter {name}: {value!r} is not a bool")
    cast = _CASTS.get(type_name)
    if cast is None:  # an undeclared type: pass the value through as given
        return value
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name}: {value!r} is not a {type_name}") from None


def plan_parameters(notebooks: Sequence[Path], parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per notebook, the subset of ``parameters`` it declares, typed as declared."""
    declared = [declared_parameters(nb) for nb in notebooks]
    known = set().union(*declared) if declared else set()
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; the notebooks declare {sorted(known)}")
    plans = []
    for decl in declared:
        plans.append(
            {
                name: _coerce(name, value, decl[name]["inferred_type_name"])
                for name, value in parameters.items()
                if name in decl
            }
        )
    return plans


def tidy_executed(path: Path) -> None:
    """Merge each cell's consecutive stream outputs and apply their carriage returns, as a live
    notebook shows them: a text progress bar (one stream message per update) is saved as its one
    final line instead of dozens (nbconvert's own preprocessor does exactly this). papermill's
    record of the input and output paths becomes relative to the repository: no local path."""
    nb = nbformat.read(path, as_version=4)
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = os.path.relpath(record[key], REPO_ROOT)
    nbformat.write(nb, path)


def quiet_kernels():
    """Kernels started inside inherit ``TQDM_DISABLE=1``: a saved notebook holds no progress bar
    (``shared.runtime.progress``); the runner's own line shows which notebook runs."""
    return mock.patch.dict(os.environ, {QUIET_ENV: "1"})


def run_notebooks(
    notebooks: Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    cwd: str | os.PathLike | None = None,
    progress: bool = True,
) -> list[Path]:
    """Execute ``notebooks`` in order into ``output_dir`` with a kernel of this Python.
    Stops at the first failing notebook: papermill's error, with ``.executed`` = its executed copy."""
    notebooks = [Path(nb) for nb in notebooks]
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    plans = plan_parameters(notebooks, parameters or {})
    outputs = []
    bar = tqdm(list(zip(notebooks, plans)), desc="notebooks", unit="nb", disable=not progress)
    for nb, params in bar:
        bar.set_postfix_str(nb.name)
        out = output_dir / nb.name
        # kernel "python3" resolves to this interpreter: jupyter_client replaces a kernelspec's
        # bare "python" with sys.executable, so the kernel sees this venv's packages.
        try:
            with quiet_kernels():
                papermill.execute_notebook(
                    str(nb),
                    str(out),
                    parameters=params,
                    kernel_name="python3",
                    cwd=str(cwd or REPO_ROOT),
                    progress_bar=False,
                    log_output=False,
                    # the kernel's start-up warning about TCP without encryption (a local kernel) is noise
                    extra_arguments=["--IPKernelApp.log_level=ERROR"],
                )
        except (papermill.PapermillExecutionError, DeadKernelError) as exc:
            exc.executed = out  # the executed copy, with the traceback, for the caller's message
            raise
        finally:
            if out.exists():
                tidy_executed(out)
        outputs.append(out)
    return outputs


def running_cell(executed: Path) -> int | None:
    """The 1-based number, among code cells, of the cell that was running when the kernel died:
    the last one papermill started (it stamps ``start_time`` as a cell starts; the cells after it
    stay pending). None when the executed copy cannot be read."""
    try:
        nb = nbformat.read(executed, 4)
    except (OSError, ValueError):
        return None
    code = [c for c in nb.cells if c.cell_type == "code"]
    started = [k for k, c in enumerate(code, 1) if c.metadata.get("papermill", {}).get("start_time")]
    return started[-1] if started else None


def failure_line(track: str, exc: Exception, executed: Path) -> str:
    """One line for a failing notebook: track, notebook, cell, the error's own message, and where
    the executed notebook (with the full traceback) is. A dead kernel (killed, out of memory) has
    no traceback: the line names the cell that was running."""
    where = f"(executed notebook: {os.path.relpath(executed)})"
    if isinstance(exc, DeadKernelError):
        cell = running_cell(executed)
        return (
            f"error: {track}/{executed.name}, code cell {cell if cell else '?'}: the kernel died (killed, or out "
            f"of memory) {where}"
        )
    message = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
    return f"error: {track}/{executed.name}, cell {exc.exec_count}: {exc.ename}: {message} {where}"


def plan_runs(tracks: Sequence[str], profile: str, files: Sequence[str], given: Mapping[str, str]) -> dict[str, dict]:
    """Each track's notebook parameters (its profile's, then the ``-f`` files', then ``-p``), checked
    (tracks, profile, scale, DATA_DIR, parameter names) before anything runs."""
    registry.check_names(tracks, NOTEBOOKS_DIR)
    over = {}
    for name in files:
        over |= profiles.read_file(name)
    plans = {}
    for track in tracks:
        # -p values stay strings; each notebook's declared type converts them (no YAML guessing)
        params = {**profiles.parameters(track, profile), **over, **given}
        registry.check_run(track, profile, params)
        plan_parameters(track_notebooks(track), params)  # a parameter no notebook declares
        plans[track] = params
    return plans


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracks", nargs="+")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="folder for executed notebooks (one subfolder per track)")
    where.add_argument("--in-place", action="store_true", help="maintainers: overwrite the committed notebooks")
    parser.add_argument(
        "--profile", default="teach", help="teach: the notebooks' defaults; source: notebooks/<track>/source.yaml"
    )
    parser.add_argument(
        "-f",
        dest="files",
        action="append",
        default=[],
        metavar="YAML",
        help="a parameters file over the profile's (e.g. notebooks/<track>/tiny.yaml)",
    )
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument(
        "--primer", action="store_true", help="with --in-place: re-execute the primer (notebooks/00_primer.ipynb) first"
    )
    args = parser.parse_args(argv)
    if args.in_place and args.profile != "teach":
        parser.error("--in-place rewrites the committed notebooks, which run the teach profile")
    try:  # every mistake in the command ends here, in one line, before any notebook starts
        plans = plan_runs(args.tracks, args.profile, args.files, dict(args.p))
    except (ValueError, FileNotFoundError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.primer and args.in_place and PRIMER.is_file():
        print(f"== {PRIMER.name}", flush=True)
        run_notebooks([PRIMER], PRIMER.parent, progress=False)
    for track, params in plans.items():
        print(f"== {track}" + ("" if args.profile == "teach" else f" (profile {args.profile})"), flush=True)
        key = timing.run_key(track, args.profile, params)
        before = timing.recorded(key)
        print(timing.estimate_line(key, before), flush=True)
        keep_committed(track, args.profile)  # before this run overwrites submissions/<track>/
        out = NOTEBOOKS_DIR / track if args.in_place else Path(args.out) / track
        start = time.perf_counter()
        try:
            run_notebooks(track_notebooks(track), out, params)
        except (papermill.PapermillExecutionError, DeadKernelError) as exc:
            print(failure_line(track, exc, exc.executed), file=sys.stderr)
            return 1
        timing.record(
            key,
            time.perf_counter() - start,
            before and float(before["wall_s"]),
            submissions_dir(track, args.profile) / "manifest.json",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
