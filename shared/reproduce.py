"""Did this run reproduce the committed submission? The verdict ``make reproduce`` ends with.

Before the runner overwrites ``submissions/<track>/``, ``keep_committed`` saves the committed
manifest (from git's HEAD when the checkout has one, else the file on disk) under
``reports/committed/<track>/``. ``verdict`` then compares the new manifest with it:

- identical: same submission sha256;
- not comparable: another profile (``shared.profiles``): a ``source`` run is compared only with a
  committed ``source`` run (``submissions/<track>/source/``), and says so where none is committed;
- not comparable: another data source or other parameters (the verdict says which);
- differs: the largest change of any metric the manifests share (headline and comparison
  rows), within or outside the track's tolerance (``tolerance`` in its manifest, stated in its
  README). Outside the tolerance the run fails. A run on another device (a GPU's kernels against
  a CPU submission: never bit for bit) says so and is judged by the same tolerance.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from shared.io import write_text_atomic
from shared.paths import REPO_ROOT, reports_dir

MANIFEST = "manifest.json"


def committed_dir(track: str, profile: str = "teach") -> Path:
    folder = reports_dir() / "committed" / track
    return folder if profile == "teach" else folder / profile


def _committed_text(track: str, profile: str) -> str | None:
    rel = f"submissions/{track}/{'' if profile == 'teach' else profile + '/'}{MANIFEST}"
    try:
        out = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            return out.stdout
    except (OSError, subprocess.SubprocessError):
        pass
    path = REPO_ROOT / rel
    return path.read_text() if path.is_file() else None


def keep_committed(track: str, profile: str = "teach") -> Path | None:
    """Save the committed manifest of ``track`` (and ``profile``) before a run replaces it; None when
    there is none."""
    text = _committed_text(track, profile)
    target = committed_dir(track, profile) / MANIFEST
    if text is None:
        target.unlink(missing_ok=True)
        return None
    return write_text_atomic(target, text)


def load_committed(track: str, profile: str = "teach") -> dict[str, Any] | None:
    path = committed_dir(track, profile) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


@dataclass(frozen=True)
class Verdict:
    status: str  # identical | differs | not comparable
    text: str
    ok: bool  # False only when it differs beyond the tolerance


def _metrics(manifest: Mapping[str, Any]) -> dict[str, float]:
    flat = {f"submission {k}": v for k, v in manifest.get("metrics", {}).items()}
    for model, values in manifest.get("comparison", {}).items():
        flat |= {f"{model} {k}": v for k, v in values.items()}
    return flat


def _source_text(src: Mapping[str, Any]) -> str:
    if src.get("kind") == "real":
        return "real files " + ", ".join(f"{name} {sha[:8]}" for name, sha in sorted(src.get("files", {}).items()))
    return f"twin scale {src.get('scale')} seed {src.get('seed')}"


def _parameter_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k} {old.get(k, '(absent)')} -> {new.get(k, '(absent)')}" for k in keys if old.get(k) != new.get(k)]


def verdict(committed: Mapping[str, Any] | None, new: Mapping[str, Any]) -> Verdict:
    sha = new["files"][0]["sha256"]
    profile = new.get("profile", "teach")
    if committed is None:
        what = "manifest" if profile == "teach" else f"{profile}-profile run"
        return Verdict("not comparable", f"not comparable: no committed {what} to compare with; sha256 {sha[:16]}…", True)
    if committed.get("profile", "teach") != profile:
        return Verdict("not comparable", f"not comparable: profile {profile}, the committed run's is "
                       f"{committed.get('profile', 'teach')}; sha256 {sha[:16]}…", True)
    if committed["files"][0]["sha256"] == sha:
        return Verdict("identical", f"identical to the committed submission (sha256 {sha[:16]}…)", True)
    if committed.get("data_source") != new.get("data_source"):
        why = f"data source differs (committed: {_source_text(committed['data_source'])}; " \
              f"this run: {_source_text(new['data_source'])})"
        return Verdict("not comparable", f"not comparable: {why}; sha256 {sha[:16]}…", True)
    changes = _parameter_changes(committed.get("parameters", {}), new.get("parameters", {}))
    if changes:
        return Verdict("not comparable", f"not comparable: parameters differ ({'; '.join(changes)}); sha256 {sha[:16]}…", True)
    old_m, new_m = _metrics(committed), _metrics(new)
    shared_keys = sorted(set(old_m) & set(new_m))
    deltas = {k: abs(float(new_m[k]) - float(old_m[k])) for k in shared_keys}
    worst = max(deltas, key=deltas.get) if deltas else None
    change = deltas[worst] if worst else float("inf")
    tolerance = float(committed.get("tolerance", new.get("tolerance", 0.0)))
    within = change <= tolerance
    where = f" ({worst}: {float(old_m[worst]):.6f} -> {float(new_m[worst]):.6f})" if worst else " (no shared metric)"
    old_dev, new_dev = _device(committed), _device(new)
    device = "" if old_dev == new_dev else f" on another device (committed: {old_dev}; this run: {new_dev})"
    text = (f"differs{device}: sha256 {sha[:16]}… (committed {committed['files'][0]['sha256'][:16]}…), largest "
            f"metric change {change:.6f}{where}, {'within' if within else 'outside'} tolerance {tolerance:g}")
    return Verdict("differs", text, within)


def _device(manifest: Mapping[str, Any]) -> str:
    """cpu, or the GPU's name (manifests from before the field existed ran on the CPU)."""
    acc = manifest.get("environment", {}).get("accelerator", {})
    return acc.get("gpu", acc.get("device", "cpu")) if acc.get("device") == "cuda" else "cpu"
