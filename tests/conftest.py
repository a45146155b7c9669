import os

import pytest

import shared  # noqa: F401  (first: pins the CPU dispatch before numpy is loaded, as make does)

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path_factory, monkeypatch):
    """Every test writes twin data, artifacts and submissions under a temp folder, never into
    the repository (shared.paths reads RECSYS_OUTPUT_DIR)."""
    out = tmp_path_factory.mktemp("out")
    monkeypatch.setenv("RECSYS_OUTPUT_DIR", str(out))
    return out
