"""``reports/summary.md``: one metrics table per track from its submission manifest, with links
to the executed notebooks. Written by ``make reproduce``."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from shared.io import sha256_file, write_text_atomic
from shared.paths import reports_dir, submissions_dir


def summary(tracks: Sequence[str], executed_dir: str | os.PathLike) -> str:
    executed_dir = Path(executed_dir)
    out = reports_dir()
    lines = [
        "# Reproduction summary",
        "",
        "Written by `make reproduce`. Numbers on a synthetic twin are not leaderboard scores:",
        "compare them only with the random and oracle rows of the same twin.",
        "",
    ]
    for track in tracks:
        manifest_path = submissions_dir(track) / "manifest.json"
        lines += [f"## {track}", ""]
        if not manifest_path.exists():
            lines += ["No manifest: the track did not finish.", ""]
            continue
        m = json.loads(manifest_path.read_text())
        src = m["data_source"]
        src_text = f"twin, scale `{src['scale']}`, seed {src['seed']}" if src["kind"] != "real" else "real files"
        lines += [f"Data: {src_text}. Commit `{m['git_commit'][:10]}`.", ""]
        lines += ["| metric | value |", "|---|---:|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in m["metrics"].items()]
        lines += [""]
        if m.get("comparison"):
            keys = list(next(iter(m["comparison"].values())))
            lines += ["| model | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
            lines += [f"| {name} | " + " | ".join(f"{vals[k]:.4f}" for k in keys) + " |"
                      for name, vals in m["comparison"].items()]
            lines += [""]
        for f in m["files"]:
            path = submissions_dir(track) / f["path"]
            if not path.exists() or sha256_file(path) != f["sha256"]:
                raise SystemExit(f"{path}: missing or does not match its manifest's sha256")
            rel = os.path.relpath(path, out)
            lines.append(f"- submission [`{f['path']}`]({rel}): {f['rows']} rows, sha256 `{f['sha256'][:16]}…`")
        for nb in sorted((executed_dir / track).glob("*.ipynb")):
            lines.append(f"- executed notebook [{nb.name}]({os.path.relpath(nb, out)})")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tracks", nargs="+")
    parser.add_argument("--executed", required=True, help="folder the runner wrote executed notebooks to")
    args = parser.parse_args(argv)
    path = write_text_atomic(reports_dir() / "summary.md", summary(args.tracks, args.executed))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
