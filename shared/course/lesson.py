"""The closing cell of a notebook: "What this shows", written from the run's own numbers (each track's
``plots.closing_*`` functions fill the sentences in, so a re-run keeps them true), the twin caveat,
and exercises."""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence

from IPython.display import Markdown

from shared.runtime.paths import REPO_ROOT

TWIN_CAVEAT = (
    "These numbers come from the synthetic [twin](../00_primer.ipynb#twin) (known true "
    "probabilities, calibrated so that the source's own ladder of models lands near its published "
    "real-data results: the {readme}). Compare a model "
    "only with the {baselines} of the same run, never with a leaderboard score."
)
UNCALIBRATED_CAVEAT = (
    "These numbers come from the synthetic [twin](../00_primer.ipynb#twin) (known true "
    "probabilities). This twin is not calibrated against the real data yet (the {readme} says "
    "what has been tried): the gaps between its models need not be the real ones. Compare a model "
    "only with the {baselines} of the same run, never with a leaderboard score."
)
REAL_NOTE = "These numbers come from the real files given in DATA_DIR."
EXERCISES_HOW = (
    "Each exercise changes one setting. Try it in a copy of the notebook, or set the value back and run the "
    "track's notebooks again in order afterwards: the later notebooks read what this one saves. An exercise "
    "that edits a module (a constant in `features.py`, say) needs the kernel restarted first."
)
CALIBRATION_ANCHOR = "the-twin-against-the-real-data"  # the README heading every track keeps


def readme_link(track: str, anchor: str = "") -> str:
    """The track README as a notebook of ``notebooks/<track>/`` links it (JupyterLab opens it; the
    course site turns it into the track's README page)."""
    return f"../../solutions/{track}/README.md" + (f"#{anchor}" if anchor else "")


def closing(
    findings: Sequence[str],
    exercises: Sequence[str],
    twin: bool = True,
    calibrated: bool = True,
    baselines: str = "random and oracle rows",
    *,
    track: str,
) -> Markdown:
    """Markdown: the findings as bullets, the caveat (comparing with the track's ``baselines``; it links
    the ``track``'s README, at its calibration table), then how to try the exercises and their list."""
    lines = ["## What this shows", ""]
    lines += [f"- {f}" for f in findings]
    readme = (
        f'track README\'s table ["The twin against the real data"]({readme_link(track, CALIBRATION_ANCHOR)})'
        if calibrated
        else f"[track README]({readme_link(track)})"
    )
    template = TWIN_CAVEAT if calibrated else UNCALIBRATED_CAVEAT
    caveat = template.format(baselines=baselines, readme=readme) if twin else REAL_NOTE
    lines += ["", caveat, "", "## Exercises", "", EXERCISES_HOW, ""]
    lines += [f"{k}. {e}" for k, e in enumerate(exercises, 1)]
    return Markdown("\n".join(lines))


def signed(x: float, digits: int = 3) -> str:
    """``+0.012`` / ``-0.004``: a difference with its sign."""
    return f"{x:+.{digits}f}"


def code(obj) -> Markdown:
    """The source of ``obj`` (a function or class of this repository), read from its module when the
    cell runs, so a lesson shows the lines that compute the model and can never drift from them."""
    lines, first = inspect.getsourcelines(obj)
    where = os.path.relpath(inspect.getsourcefile(obj), REPO_ROOT)
    return Markdown(f"`{where}`, lines {first} to {first + len(lines) - 1}:\n\n```python\n{''.join(lines)}```")
