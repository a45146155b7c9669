"""``make ci-time`` (maintainers): the promised fresh-clone check, timed. Clones the committed HEAD
into a scratch folder, runs ``.ci/run`` there (the install, then ``make test``) as CI does, and, if it
passes, appends a row to ``benchmarks/ci-times.csv`` (date, commit, device, tests passed, pytest's
seconds, the whole run's) and writes the README's ``make-test-time`` line from it, so the README's
test timing is a recorded measurement, never a hand-typed figure."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from shared.data.io import append_csv, update_readme
from shared.runtime.paths import REPO_ROOT, benchmarks_dir
from shared.train.bench import cores_text

FILE = "ci-times.csv"
SUMMARY = re.compile(r"(\d+) passed.*? in ([\d.]+)s")


def _clock(seconds: float) -> str:
    whole = round(seconds)  # rounded once: 1019.6 s is 17 min 0 s, not 16 min 60 s
    return f"{whole // 60} min {whole % 60} s"


def readme_line(directory: Path | None = None) -> str:
    """The README's sentence from the latest recorded run (or that none is recorded)."""
    path = (directory or benchmarks_dir()) / FILE
    if not path.is_file():
        return "`make test` on a clean clone: not recorded yet (`make ci-time` records it)."
    r = pl.read_csv(path).row(-1, named=True)
    return (
        f"`make test` on a clean clone (`make ci-time`, the latest row of `benchmarks/{FILE}`): {r['tests']} tests "
        f"passed in {_clock(r['pytest_s'])}, {_clock(r['total_s'])} with the install; {r['cpu']}, "
        f"{cores_text(r['cores'])}, {r['date']}, commit {r['commit'][:10]}."
    )


def run() -> dict:
    """Clone HEAD, run ``.ci/run`` in the clone, return its row (raises with the log's tail on failure)."""
    from shared.train.bench import machine

    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="ci-time.") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
        # as CI starts it: no virtualenv, no test switches, and not a sub-make of this `make ci-time`
        # (a sub-make prints "Entering directory" lines that tests of make's own output would see)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "RECSYS_", "MAKE", "MFLAGS"))}
        start = time.perf_counter()
        done = subprocess.run(["bash", ".ci/run"], cwd=clone, env={**env, "CI": "true"}, capture_output=True, text=True)
        total = time.perf_counter() - start
    found = SUMMARY.findall(done.stdout)
    if done.returncode != 0 or not found:
        failures = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        raise SystemExit(
            f"ci-time: .ci/run failed (exit {done.returncode}); pytest's last lines:\n"
            + "\n".join([*done.stdout.splitlines()[-15:], *failures[:20]])
        )
    tests, pytest_s = found[-1]
    m = machine()
    return {
        "date": dt.date.today().isoformat(),
        "commit": commit,
        "cpu": m["cpu"],
        "cores": m["cores"],
        "gpu": m["gpu"],
        "tests": int(tests),
        "pytest_s": round(float(pytest_s), 1),
        "total_s": round(total, 1),
    }


def main() -> int:
    row = run()
    append_csv(benchmarks_dir() / FILE, [row])
    update_readme(REPO_ROOT / "README.md", "make-test-time", readme_line())
    print(readme_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
