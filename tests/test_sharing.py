"""The core-sharing benchmark measures what it says: the wait policy reaches the child's OpenMP."""

import os
import subprocess
import sys

import polars as pl

from shared.runtime import dispatch
from shared.runtime.paths import REPO_ROOT
from shared.tools import sharing


def test_the_policy_reaches_the_child_after_the_pin():
    code = "import shared, os; print(os.environ['OMP_WAIT_POLICY'], os.environ.get('GOMP_SPINCOUNT'))"
    for policy, env in sharing.POLICIES.items():
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=sharing._env(policy),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
        assert out == [env["OMP_WAIT_POLICY"], env.get("GOMP_SPINCOUNT", "None")]


def test_a_step_is_timed_in_a_fresh_process():
    seconds = sharing.time_step("torch", "passive")
    assert 0 < seconds < 60


def test_a_command_is_timed_with_the_policy_and_a_scratch_output_folder(tmp_path):
    seen = tmp_path / "seen.txt"
    code = (
        "import os, sys; "
        "open(sys.argv[1], 'w').write(os.environ['OMP_WAIT_POLICY'] + ' ' + os.environ['RECSYS_OUTPUT_DIR'])"
    )
    seconds = sharing.time_command(f'python -c "{code}" {seen}', "passive")
    policy, out = seen.read_text().split(" ", 1)
    assert seconds > 0 and policy == "passive" and not os.path.exists(out)  # the scratch folder is gone after


def test_the_pinned_policy_shares_the_cores_in_proportion():
    """The policy shared.runtime.dispatch pins was measured: beside a one-core busy loop a LightGBM and a torch
    training step take at most 2.5 times their time alone (benchmarks/core-sharing.csv)."""
    record = pl.read_csv(REPO_ROOT / "benchmarks" / sharing.RECORD)  # the committed record
    pinned = dispatch.wait_env({})[dispatch.WAIT_POLICY]
    rows = record.filter(pl.col("omp_wait_policy") == pinned, pl.col("library").is_in(["lightgbm", "torch"]))
    assert sorted(rows["library"].unique()) == ["lightgbm", "torch"]
    assert (rows["beside_busy_core_s"] / rows["alone_s"] <= 2.5).all()
    spinning = record.filter(pl.col("wait") == "libgomp default", pl.col("library").is_in(["lightgbm", "torch"]))
    assert (spinning["ratio"] > rows["ratio"].max()).all()  # what the pin is for
