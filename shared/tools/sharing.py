"""How training steps share the cores: each library's step timed alone, then beside a one-core busy
loop (a browser, an editor, another job), under each OpenMP wait policy.

LightGBM and torch run their threads through OpenMP. With the ``active`` policy a thread that waits
for the others spins on its core; when another process holds one of the two cores, the spinning
threads and the busy one take turns at the scheduler's pace and a step can take many times as long.
``passive`` puts a waiting thread to sleep. The wait policy changes no result (it decides only
how threads wait: the KRAFT pipeline at ``small`` wrote the same bytes under both), only time. The
record is what a choice of policy in ``shared.runtime.dispatch`` has to be argued from: how much sharing
costs under each, and how much an idle machine pays for sleeping threads.

CLI (``make bench-sharing``): ``python -m shared.tools.sharing [--out benchmarks/core-sharing.csv]`` runs
each (library, policy) in a fresh process, three repeats each, and appends the median times and
their ratio to the record. ``--command CMD --label L`` times a whole command instead (a track's
pipeline: a step's cost is not the whole run's, where larger parallel regions wake threads less
often), its outputs in a scratch folder (``RECSYS_OUTPUT_DIR``); ``--policies`` picks the policies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from shared.data.io import append_csv
from shared.runtime import dispatch
from shared.runtime.paths import REPO_ROOT, benchmarks_dir

RECORD = "core-sharing.csv"
# How OpenMP's idle threads wait: libgomp's own default (no OMP_WAIT_POLICY: spin 300,000 times, then
# sleep), spinning without end, shorter spins, and sleeping at once.
POLICIES = {
    "libgomp default": {"OMP_WAIT_POLICY": "active", "GOMP_SPINCOUNT": "300000"},
    "active": {"OMP_WAIT_POLICY": "active"},
    "spin 10000": {"OMP_WAIT_POLICY": "active", "GOMP_SPINCOUNT": "10000"},
    "spin 1000": {"OMP_WAIT_POLICY": "active", "GOMP_SPINCOUNT": "1000"},
    "spin 100": {"OMP_WAIT_POLICY": "active", "GOMP_SPINCOUNT": "100"},
    "passive": {"OMP_WAIT_POLICY": "passive"},
}
REPEATS = 3

# Each workload runs in a child process (the policy is read when OpenMP loads) and prints its seconds.
WORKLOADS = {
    "lightgbm": """
import numpy as np, lightgbm as lgb
x = np.random.default_rng(0).normal(size=(100_000, 40)); y = x[:, 0] + np.random.default_rng(1).normal(size=len(x))
data = lgb.Dataset(x, y, params={"verbose": -1}).construct()
params = {"objective": "regression", "num_threads": THREADS, "verbose": -1, "deterministic": True, "seed": 0}
lgb.train(params, data, 5)
start = time.perf_counter(); lgb.train(params, data, 60); print(time.perf_counter() - start)
""",
    "torch": """
import torch
torch.set_num_threads(THREADS); torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 1))
opt = torch.optim.Adam(net.parameters()); x = torch.randn(512, 256); y = torch.randn(512, 1)
def steps(n):
    for _ in range(n):
        opt.zero_grad(); torch.nn.functional.mse_loss(net(x), y).backward(); opt.step()
steps(20)
start = time.perf_counter(); steps(400); print(time.perf_counter() - start)
""",
}


def _env(policy: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    return {**env, **POLICIES[policy], "PYTHONPATH": str(REPO_ROOT)}


def time_step(library: str, policy: str) -> float:
    """Seconds of ``library``'s workload in a fresh process with ``policy``."""
    code = f"import shared, time\nTHREADS = {dispatch.threads()}\n" + WORKLOADS[library]
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(policy), capture_output=True, text=True, timeout=600, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def time_command(command: str, policy: str) -> float:
    """Wall seconds of ``command`` (run from the repository, its outputs in a scratch folder) with ``policy``."""
    argv = shlex.split(command)
    argv[0] = sys.executable if argv[0] in ("python", "python3") else argv[0]  # this venv's Python
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            argv,
            cwd=REPO_ROOT,
            env={**_env(policy), "RECSYS_OUTPUT_DIR": out},
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
        return time.perf_counter() - start


def measure(library: str, policy: str, repeats: int = REPEATS, timer=time_step) -> dict:
    """Median seconds alone and beside a one-core busy loop, and their ratio."""
    alone = statistics.median(timer(library, policy) for _ in range(repeats))
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        beside = statistics.median(timer(library, policy) for _ in range(repeats))
    finally:
        busy.kill()
        busy.wait()
    return {
        "library": library,
        "wait": policy,
        **{k.lower(): v for k, v in POLICIES[policy].items()},
        "alone_s": round(alone, 3),
        "beside_busy_core_s": round(beside, 3),
        "ratio": round(beside / alone, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(benchmarks_dir() / RECORD))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--command", help="time this whole command instead of the library steps")
    parser.add_argument("--label", help="its name in the record (with --command)")
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated, of: " + ", ".join(POLICIES))
    args = parser.parse_args(argv)
    policies = [p.strip() for p in args.policies.split(",")]
    if unknown := [p for p in policies if p not in POLICIES]:
        parser.error(f"unknown policies {unknown}; known: {', '.join(POLICIES)}")
    facts = {
        "date": dt.date.today().isoformat(),
        "cpu": dispatch.cpu_model(),
        "cores": os.cpu_count(),
        "threads": dispatch.threads(),
    }
    rows = []
    if args.command:
        workloads, timer = [args.label or args.command], lambda _, policy: time_command(args.command, policy)
    else:
        workloads, timer = list(WORKLOADS), time_step
    for library in workloads:
        for policy in policies:
            rows.append({**facts, **measure(library, policy, args.repeats, timer)})
            print(", ".join(f"{k} {v}" for k, v in rows[-1].items() if k not in facts), flush=True)
    append_csv(Path(args.out), rows)
    print(f"recorded in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
