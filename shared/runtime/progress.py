"""One updating progress line per long loop, the same everywhere: tqdm's text bar, redrawn at most
once a second, shown where someone watches (a terminal, a notebook stepped through in JupyterLab).

A notebook the runner executes and saves shows none: the runner starts its kernels with tqdm's own
``TQDM_DISABLE=1`` (every tqdm bar that leaves ``disable`` at its default, a library's included, is
then off), and ``shown`` applies the same rule to the bars whose ``disable`` we pass ourselves (ours,
implicit's ``show_progress``). A saved notebook is read, not watched: a bar there is only debris.

A loop that can stop before its planned total (early stopping) ends its line with ``stop``: the bar
then reads ``done/done`` with what happened ("stopped at 219 trees, best 169") instead of staying
frozen at 219/1000 with a time left that never comes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
QUIET_ENV = "TQDM_DISABLE"  # tqdm's own switch: any non-empty value turns its bars off


def shown(enabled: bool = True) -> bool:
    """Whether a bar asked for (``enabled``) is drawn: not where ``TQDM_DISABLE`` is set."""
    return enabled and not os.environ.get(QUIET_ENV)


def line(total: int | None, desc: str, unit: str = "row", enabled: bool = True, unit_scale: bool = False) -> tqdm:
    """The progress line of one loop (a no-op bar when not ``enabled``)."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, disable=not shown(enabled), mininterval=1.0)


def over(items: Sequence[T], desc: str, unit: str, enabled: bool = True) -> Iterable[T]:
    """``items`` with a progress line (the items themselves when not ``enabled``)."""
    return tqdm(items, desc=desc, unit=unit, mininterval=1.0) if shown(enabled) else items


def stop(bar: tqdm, done: float, note: str) -> None:
    """Close ``bar`` at ``done`` (its new total) with ``note`` as its last words."""
    if not bar.disable:
        bar.total = bar.n = done
        bar.set_postfix_str(note, refresh=False)
    bar.close()  # draws the final state
