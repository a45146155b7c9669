"""``make bench``: each track's pipeline CLI with ``--bench`` (time and peak memory per stage, and
the run's tables, into ``benchmarks/``) and the options its contract asks for at this scale and
device (``Track.bench_options``: a fresh twin, so that its stage times the generation; the rows a
CPU can time at ``full``). Each command is printed before it runs: ``--bench`` itself only times."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Sequence

from shared.runtime.paths import REPO_ROOT, benchmarks_dir
from shared.track import registry


def commands(
    tracks: Sequence[str], scale: str, data_dir: str, profile: str, gpu: bool, more: Sequence[str] = ()
) -> list[list[str]]:
    """One command line per track (after ``python``): its ``bench_command``, then ``more`` (``ARGS``:
    given last, so an option there overrides the track's)."""
    out = []
    for track in tracks:
        c = registry.contract(track)  # None: notebooks without a package (a lesson of their own)
        command = None if c is None else c.bench_command(scale, data_dir, profile, gpu)
        if command is not None:
            out.append([*command, *more])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("tracks", nargs="*")
    parser.add_argument("--scale", default="full")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--profile", default="teach")
    parser.add_argument("--bench-dir", default=str(benchmarks_dir()))
    parser.add_argument("--args", default="", help="more pipeline options, one string (make bench ARGS=...)")
    args = parser.parse_args(argv)
    try:
        tracks = registry.check_names(args.tracks) if args.tracks else registry.reading_order()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from shared.runtime.device import torch_device  # loads torch: after the names are checked

    gpu = torch_device().type == "cuda"
    more = ["--bench-dir", args.bench_dir, *shlex.split(args.args)]
    for command in commands(tracks, args.scale, args.data_dir, args.profile, gpu, more):
        print("make bench: python " + shlex.join(command), flush=True)
        done = subprocess.run([sys.executable, *command], cwd=REPO_ROOT)
        if done.returncode:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
