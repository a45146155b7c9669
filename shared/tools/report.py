"""``reports/summary.md``: per track, the reproduction verdict (``shared.tools.reproduce``) and one
metrics table from its submission manifest, with links to the executed notebooks. Written by
``make reproduce``, which fails when a track differs from its committed submission beyond the
track's tolerance."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from shared.data.io import committed_bytes, sha256_file, update_readme, write_text_atomic
from shared.runtime.paths import REPO_ROOT, reports_dir, submissions_dir
from shared.tools.reproduce import Verdict, load_committed, value_changes, verdict
from shared.track.profiles import PROFILES
from shared.track.registry import reading_order


def summary(
    tracks: Sequence[str], executed_dir: str | os.PathLike, profile: str = "teach"
) -> tuple[str, dict[str, Verdict]]:
    """The summary's markdown, and each track's reproduction verdict (runs of ``profile``)."""
    verdicts: dict[str, Verdict] = {}
    lines = [
        "# Reproduction summary",
        "",
        "Written by `make reproduce`. Numbers on a synthetic twin are not leaderboard scores:",
        "compare them only with the random and oracle rows of the same twin.",
        "",
    ]
    for track in tracks:
        manifest_path = submissions_dir(track, profile) / "manifest.json"
        lines += [f"## {track}" + ("" if profile == "teach" else f" (profile `{profile}`)"), ""]
        if not manifest_path.exists():
            verdicts[track] = Verdict("failed", "no manifest: the track did not finish", False)
            lines += ["No manifest: the track did not finish.", ""]
            continue
        m = json.loads(manifest_path.read_text())
        verdicts[track] = _judge(track, profile, m, manifest_path)
        lines += _track_section(track, profile, m, verdicts[track], Path(executed_dir))
    return "\n".join(lines), verdicts


def _judge(track: str, profile: str, m: dict, manifest_path: Path) -> Verdict:
    """The run's verdict against the committed run of ``profile`` (how many values moved, if any)."""
    committed = load_committed(track, profile)
    values = []
    if committed and committed["files"][0]["sha256"] != m["files"][0]["sha256"]:
        folder = f"submissions/{track}/" + ("" if profile == "teach" else f"{profile}/")
        values = [
            v
            for f in m["files"]
            if (v := value_changes(committed_bytes(folder + f["path"]), manifest_path.parent / f["path"]))
        ]
    return verdict(committed, m, values)


def _track_section(track: str, profile: str, m: dict, judged: Verdict, executed_dir: Path) -> list[str]:
    """One track's part of the summary: verdict, machine, data, metrics, comparison, files, notebooks."""
    out = reports_dir()
    env = m.get("environment", {})
    lines = [
        f"**Reproduction: {judged.text}.**",
        "",
        f"CPU: {env.get('cpu', 'unknown')}; dispatch: {env.get('dispatch', 'unknown')}; "
        f"BLAS: {', '.join(env.get('blas', [])) or 'unknown'}.",
        "",
    ]
    src = m["data_source"]
    src_text = f"twin, scale `{src['scale']}`, seed {src['seed']}" if src["kind"] != "real" else "real files"
    lines += [f"Data: {src_text}. Commit `{m['git_commit'][:10]}`.", ""]
    lines += ["| metric | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in m["metrics"].items()]
    lines += [""]
    if m.get("comparison"):
        keys = list(next(iter(m["comparison"].values())))
        lines += ["| model | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
        lines += [
            f"| {name} | " + " | ".join(f"{vals[k]:.4f}" for k in keys) + " |" for name, vals in m["comparison"].items()
        ]
        lines += [""]
    for i, f in enumerate(m["files"]):
        path = submissions_dir(track, profile) / f["path"]
        if not path.exists() or sha256_file(path) != f["sha256"]:
            raise SystemExit(f"{path}: missing or does not match its manifest's sha256")
        rel = os.path.relpath(path, out)
        what = "submission" if i == 0 else "ours, beside it,"
        lines.append(f"- {what} [`{f['path']}`]({rel}): {f['rows']} rows, sha256 `{f['sha256'][:16]}…`")
    for nb in sorted((executed_dir / track).glob("*.ipynb")):
        lines.append(f"- executed notebook [{nb.name}]({os.path.relpath(nb, out)})")
    return lines + [""]


def notebook_minutes(notebooks: str | os.PathLike = REPO_ROOT / "notebooks") -> str:
    """The README's per-track times: each track's committed notebooks' papermill durations, summed,
    in minutes (``make notebooks`` writes it between the README's ``notebook-minutes`` markers)."""
    notebooks = Path(notebooks)
    parts = []
    for track in reading_order(notebooks):
        seconds = sum(
            json.loads(nb.read_text())["metadata"]["papermill"]["duration"]
            for nb in sorted((notebooks / track).glob("*.ipynb"))
        )
        parts.append(f"{track} {seconds / 60:.1f} min")
    return (
        "Time per track on the `small` twin, 2 cores (the papermill durations of the committed notebooks, "
        "written here by `make notebooks`): " + ", ".join(parts) + "."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tracks", nargs="+")
    parser.add_argument("--executed", required=True, help="folder the runner wrote executed notebooks to")
    parser.add_argument("--profile", default="teach", choices=PROFILES)
    parser.add_argument(
        "--readme", action="store_true", help="also write the committed notebooks' times into README.md"
    )
    args = parser.parse_args(argv)
    if args.readme:
        update_readme(REPO_ROOT / "README.md", "notebook-minutes", notebook_minutes())
    text, verdicts = summary(args.tracks, args.executed, args.profile)
    path = write_text_atomic(reports_dir() / "summary.md", text)
    print(f"wrote {os.path.relpath(path)}")
    for track, v in verdicts.items():
        print(f"{track}: {v.text}")
    return 0 if all(v.ok for v in verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
