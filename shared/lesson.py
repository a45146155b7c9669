"""The closing cell of a notebook: "What this shows", written from the run's own numbers (each track's
``plots.closing_*`` functions fill the sentences in, so a re-run keeps them true), the twin caveat,
and exercises."""
from __future__ import annotations

from typing import Sequence

from IPython.display import Markdown

TWIN_CAVEAT = ("These numbers come from the synthetic twin (known true probabilities, calibrated so that "
               "the source's own ladder of models lands near its published real-data results: the track "
               "README's table \"The twin against the real data\"). Compare a model only with the random "
               "and oracle rows of the same run, never with a leaderboard score.")
UNCALIBRATED_CAVEAT = ("These numbers come from the synthetic twin (known true probabilities). This twin is not "
                       "calibrated against the real data yet (the track README says what has been tried): the gaps "
                       "between its models need not be the real ones. Compare a model only with the random and "
                       "oracle rows of the same run, never with a leaderboard score.")
REAL_NOTE = "These numbers come from the real files given in DATA_DIR."


def closing(findings: Sequence[str], exercises: Sequence[str], twin: bool = True, calibrated: bool = True) -> Markdown:
    """Markdown: the findings as bullets, the caveat, then the exercises as a numbered list."""
    lines = ["## What this shows", ""]
    lines += [f"- {f}" for f in findings]
    caveat = (TWIN_CAVEAT if calibrated else UNCALIBRATED_CAVEAT) if twin else REAL_NOTE
    lines += ["", caveat, "", "## Exercises", ""]
    lines += [f"{k}. {e}" for k, e in enumerate(exercises, 1)]
    return Markdown("\n".join(lines))


def signed(x: float, digits: int = 3) -> str:
    """``+0.012`` / ``-0.004``: a difference with its sign."""
    return f"{x:+.{digits}f}"
