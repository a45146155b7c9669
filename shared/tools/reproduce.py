"""Did this run reproduce the committed submission? The verdict ``make reproduce`` ends with.

Before the runner overwrites ``submissions/<track>/``, ``keep_committed`` saves the committed
manifest (from git's HEAD when the checkout has one, else the file on disk) under
``reports/committed/<track>/``. ``verdict`` then compares the new manifest with it:

- identical: same submission sha256;
- not comparable: another profile (``shared.track.profiles``): a ``source`` run is compared only with a
  committed ``source`` run (``submissions/<track>/source/``), and says so where none is committed;
- not comparable: another data source or other parameters (the verdict says which);
- differs: the largest change of any metric the manifests share (headline and comparison
  rows), within or outside the track's tolerance (``tolerance`` in its manifest, stated in its
  README); how many values of each CSV file differ and by how much; and another CPU where the
  committed run was made on one (its maker's kernels may block sums otherwise: the track README
  says what that moves). Outside the tolerance the run fails. A run on another device (a GPU's kernels against
  a CPU submission: never bit for bit) says so and is judged by the same tolerance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.data.io import committed_bytes, write_text_atomic
from shared.runtime.paths import reports_dir

MANIFEST = "manifest.json"


def committed_dir(track: str, profile: str = "teach") -> Path:
    folder = reports_dir() / "committed" / track
    return folder if profile == "teach" else folder / profile


def _committed_text(track: str, profile: str) -> str | None:
    data = committed_bytes(f"submissions/{track}/{'' if profile == 'teach' else profile + '/'}{MANIFEST}")
    return None if data is None else data.decode()


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


def verdict(committed: Mapping[str, Any] | None, new: Mapping[str, Any], values: list[str] = ()) -> Verdict:
    """``values``: where the submissions differ, value by value (``value_changes``), for the text."""
    sha = new["files"][0]["sha256"]
    profile = new.get("profile", "teach")
    if committed is None:
        what = "manifest" if profile == "teach" else f"{profile}-profile run"
        return Verdict(
            "not comparable", f"not comparable: no committed {what} to compare with; sha256 {sha[:16]}…", True
        )
    if committed.get("profile", "teach") != profile:
        return Verdict(
            "not comparable",
            f"not comparable: profile {profile}, the committed run's is "
            f"{committed.get('profile', 'teach')}; sha256 {sha[:16]}…",
            True,
        )
    if committed["files"][0]["sha256"] == sha:
        return Verdict("identical", f"identical to the committed submission (sha256 {sha[:16]}…)", True)
    if committed.get("data_source") != new.get("data_source"):
        why = (
            f"data source differs (committed: {_source_text(committed['data_source'])}; "
            f"this run: {_source_text(new['data_source'])})"
        )
        return Verdict("not comparable", f"not comparable: {why}; sha256 {sha[:16]}…", True)
    changes = _parameter_changes(committed.get("parameters", {}), new.get("parameters", {}))
    if changes:
        return Verdict(
            "not comparable", f"not comparable: parameters differ ({'; '.join(changes)}); sha256 {sha[:16]}…", True
        )
    old_m, new_m = _metrics(committed), _metrics(new)
    shared_keys = sorted(set(old_m) & set(new_m))
    deltas = {k: abs(float(new_m[k]) - float(old_m[k])) for k in shared_keys}
    worst = max(deltas, key=deltas.get) if deltas else None
    change = deltas[worst] if worst else float("inf")
    tolerance = float(committed.get("tolerance", new.get("tolerance", 0.0)))
    within = change <= tolerance
    where = f" ({worst}: {float(old_m[worst]):.6f} -> {float(new_m[worst]):.6f})" if worst else " (no shared metric)"
    old_dev, new_dev = _device(committed), _device(new)
    old_cpu, new_cpu = (m.get("environment", {}).get("cpu", "?") for m in (committed, new))
    device = (
        f" on another device (committed: {old_dev}; this run: {new_dev})"
        if old_dev != new_dev
        else f" on another CPU (committed: {old_cpu}; this run: {new_cpu})"
        if old_cpu != new_cpu
        else ""
    )
    cells = f", {'; '.join(values)}" if values else ""
    text = (
        f"differs{device}: sha256 {sha[:16]}… (committed {committed['files'][0]['sha256'][:16]}…){cells}, largest "
        f"metric change {change:.6f}{where}, {'within' if within else 'outside'} tolerance {tolerance:g}"
    )
    return Verdict("differs", text, within)


def value_changes(committed_csv: bytes | None, new_csv: Path) -> str:
    """How two CSV submissions of the same rows differ: "<file>: N of M values differ, by at most X"
    ("" when they cannot be compared value by value: no committed file, other rows or columns)."""
    import io

    import polars as pl

    if committed_csv is None or new_csv.suffix != ".csv" or not new_csv.is_file():
        return ""
    old, new = pl.read_csv(io.BytesIO(committed_csv)), pl.read_csv(new_csv)
    if old.columns != new.columns or old.height != new.height:
        return ""
    numeric = [c for c, t in new.schema.items() if t.is_numeric() and old.schema[c].is_numeric()]
    if [c for c in new.columns if c not in numeric and not old[c].equals(new[c])]:
        return ""
    gaps = pl.DataFrame({c: (new[c].cast(pl.Float64) - old[c].cast(pl.Float64)).abs() for c in numeric})
    n = int(sum((gaps[c] > 0).sum() for c in numeric))
    top = max((gaps[c].max() or 0.0) for c in numeric) if numeric else 0.0
    return f"{new_csv.name}: {n} of {gaps.height * len(numeric)} values differ, by at most {top:.2g}"


def _device(manifest: Mapping[str, Any]) -> str:
    """cpu, or the GPU's name (manifests from before the field existed ran on the CPU)."""
    acc = manifest.get("environment", {}).get("accelerator", {})
    return acc.get("gpu", acc.get("device", "cpu")) if acc.get("device") == "cuda" else "cpu"
