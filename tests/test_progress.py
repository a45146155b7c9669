"""shared.runtime.progress: a bar stopped early ends at what was done, with its note, not frozen midway;
no bar where tqdm's ``TQDM_DISABLE`` is set (the runner's kernels)."""

import numpy as np
import scipy.sparse as sp

from shared.runtime import progress
from shared.train.factors import fit_als


def test_stopped_bar_ends_at_what_was_done_with_its_note(capsys):
    bar = progress.line(1000, "lightgbm", unit="tree")
    bar.update(219)
    progress.stop(bar, 219, "stopped early at 219 trees, best 169")
    last = capsys.readouterr().err.rstrip().split("\r")[-1]
    assert "219/219" in last and "100%" in last and "stopped early at 219 trees, best 169" in last
    assert "/1000" not in last


def test_disabled_lines_are_silent():
    bar = progress.line(10, "x", enabled=False)
    bar.update(3)
    progress.stop(bar, 3, "note")  # no error, nothing drawn
    items = [1, 2, 3]
    assert progress.over(items, "x", "item", enabled=False) is items
    assert list(progress.over(items, "x", "item")) == items


def test_no_bar_where_tqdm_is_disabled(capsys, monkeypatch):
    monkeypatch.setenv(progress.QUIET_ENV, "1")
    bar = progress.line(10, "x")
    bar.update(10)
    progress.stop(bar, 10, "note")
    assert list(progress.over([1, 2], "x", "item")) == [1, 2]
    fit_als(
        sp.random(30, 20, density=0.3, format="csr", random_state=0, dtype=np.float32),
        factors=4,
        iterations=2,
        progress=True,
    )  # implicit's own bar follows the same rule
    assert capsys.readouterr().err == ""
    monkeypatch.delenv(progress.QUIET_ENV)
    fit_als(
        sp.random(30, 20, density=0.3, format="csr", random_state=0, dtype=np.float32),
        factors=4,
        iterations=2,
        progress=True,
    )
    assert "2/2" in capsys.readouterr().err  # the check above can fail: the bar exists without the switch
