import os

import pytest

import shared  # noqa: F401  (first: pins the CPU dispatch before numpy is loaded, as make does)
from shared.track import registry

os.environ.setdefault("MPLBACKEND", "Agg")
_TRACKS = set(registry.names())


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path_factory, monkeypatch):
    """Every test writes twin data, artifacts and submissions under a temp folder, never into
    the repository (shared.runtime.paths reads RECSYS_OUTPUT_DIR)."""
    out = tmp_path_factory.mktemp("out")
    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(out))
    return out


# The heavy kinds first: a worker that draws a notebook run late would hold up the end of the suite.
_WEIGHT = {"notebook": 0, "functional": 1}
# Files whose tests for one track share nothing with another track's: each track's tests of these
# files are a group of their own (the notebook tests run one track's notebooks per parameter).
_SPLIT_BY_TRACK = {"tests/test_notebooks.py", "tests/test_source_profile.py"}


def _group(nodeid: str) -> str:
    """The tests that must run in one worker: a file's (its module- and session-scoped runs happen
    once), split by track where ``_SPLIT_BY_TRACK`` says so."""
    path, _, name = nodeid.partition("::")
    param = name[name.find("[") + 1 : -1] if name.endswith("]") else ""
    return f"{path}[{param}]" if path in _SPLIT_BY_TRACK and param in _TRACKS else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """make test runs the suite on two workers (pytest-xdist): whole groups (``_group``) are handed
    out in collection order, so that a run that tests share happens once. xdist's own
    ``--dist loadgroup`` cannot do it under pytest 9 (the group it appends to a node id is lost)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    return ByGroup(config, log)


def pytest_collection_modifyitems(config, items):
    """Notebook tests first, then functional, then unit tests; a file's order is kept."""
    items.sort(key=lambda i: min((_WEIGHT.get(m.name, 2) for m in i.iter_markers()), default=2))
