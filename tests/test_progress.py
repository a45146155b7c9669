"""shared.progress: a bar stopped early ends at what was done, with its note, not frozen midway."""
from shared import progress


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
