"""One updating progress line per long loop, the same everywhere: tqdm's text bar (notebooks keep
its last state; the runner strips the intermediate ones), redrawn at most once a second.

A loop that can stop before its planned total (early stopping) ends its line with ``stop``: the bar
then reads ``done/done`` with what happened ("stopped at 219 trees, best 169") instead of staying
frozen at 219/1000 with a time left that never comes.
"""
from __future__ import annotations

from typing import Iterable, Sequence, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def line(total: int | None, desc: str, unit: str = "row", enabled: bool = True, unit_scale: bool = False) -> tqdm:
    """The progress line of one loop (a no-op bar when not ``enabled``)."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, disable=not enabled, mininterval=1.0)


def over(items: Sequence[T], desc: str, unit: str, enabled: bool = True) -> Iterable[T]:
    """``items`` with a progress line (the items themselves when not ``enabled``)."""
    return tqdm(items, desc=desc, unit=unit, mininterval=1.0) if enabled else items


def stop(bar: tqdm, done: float, note: str) -> None:
    """Close ``bar`` at ``done`` (its new total) with ``note`` as its last words."""
    if not bar.disable:
        bar.total = bar.n = done
        bar.set_postfix_str(note, refresh=False)
    bar.close()  # draws the final state
