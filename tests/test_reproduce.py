"""The reproduction verdict, and the CPU-dispatch pin it relies on."""

import json
import os
import subprocess
import sys
import warnings

import polars as pl
import pytest

from shared.runtime import dispatch, paths
from shared.tools import reproduce
from shared.track.submission import Report, twin_source, write_csv, write_manifest

pytestmark = pytest.mark.functional  # deselected by make test-fast


def manifest(tmp_path, name, scores, params=None, source=None, metrics=None, tolerance=0.01, profile="teach"):
    folder = tmp_path / name
    path = write_csv(pl.DataFrame({"user_id": [1, 1, 2], "score": scores}), folder / "s.csv")
    report = Report(
        params or {"n": 1},
        source or twin_source("small", 42),
        metrics or {"ndcg@10": 0.5},
        comparison={"random": {"ndcg@10": 0.25}},
        profile=profile,
    )
    write_manifest(folder, "t", report, [path], rows=3, tolerance=tolerance)
    return json.loads((folder / "manifest.json").read_text())


def test_identical(tmp_path):
    a, b = manifest(tmp_path, "a", [0.1, 0.2, 0.3]), manifest(tmp_path, "b", [0.1, 0.2, 0.3])
    v = reproduce.verdict(a, b)
    assert v.status == "identical" and v.ok and a["files"][0]["sha256"][:16] in v.text


def test_a_perturbed_score_is_never_identical(tmp_path):
    a = manifest(tmp_path, "a", [0.1, 0.2, 0.3])
    b = manifest(tmp_path, "b", [0.1, 0.2, 0.300001])  # the smallest change the CSV keeps
    v = reproduce.verdict(a, b)
    assert v.status == "differs" and v.ok
    assert "largest metric change 0.000000" in v.text and "within tolerance 0.01" in v.text


def test_outside_the_tolerance_fails(tmp_path):
    a = manifest(tmp_path, "a", [0.1, 0.2, 0.3])
    b = manifest(tmp_path, "b", [0.3, 0.2, 0.1], metrics={"ndcg@10": 0.47})
    v = reproduce.verdict(a, b)
    assert v.status == "differs" and not v.ok
    assert "largest metric change 0.030000 (submission ndcg@10: 0.500000 -> 0.470000)" in v.text
    assert "outside tolerance 0.01" in v.text


def test_a_gpu_run_is_judged_as_another_device(tmp_path):
    a = manifest(tmp_path, "a", [0.1, 0.2, 0.3])
    assert a["environment"]["accelerator"]["device"] in {"cpu", "cuda"}
    b = manifest(tmp_path, "b", [0.1, 0.2, 0.300001])
    b["environment"]["accelerator"] = {"device": "cuda", "gpu": "NVIDIA H200", "cuda": "12.8"}
    a["environment"]["accelerator"] = {"device": "cpu"}
    v = reproduce.verdict(a, b)
    assert v.status == "differs" and v.ok
    assert v.text.startswith("differs on another device (committed: cpu; this run: NVIDIA H200): ")
    del a["environment"]["accelerator"]  # a manifest from before the field: the CPU
    assert "committed: cpu; this run: NVIDIA H200" in reproduce.verdict(a, b).text
    b["environment"]["accelerator"] = {"device": "cpu"}
    assert "another device" not in reproduce.verdict(a, b).text


def test_another_cpu_is_named_with_how_many_values_moved(tmp_path):
    a = manifest(tmp_path, "a", [0.1, 0.2, 0.3])
    b = manifest(tmp_path, "b", [0.1, 0.2, 0.300001])
    a["environment"]["cpu"], b["environment"]["cpu"] = "Intel(R) Xeon(R) Processor", "AMD EPYC"
    changes = reproduce.value_changes((tmp_path / "a" / "s.csv").read_bytes(), tmp_path / "b" / "s.csv")
    assert changes == "s.csv: 1 of 6 values differ, by at most 1e-06"
    v = reproduce.verdict(a, b, [changes])
    assert v.status == "differs" and v.ok
    assert v.text.startswith(
        "differs on another CPU (committed: Intel(R) Xeon(R) Processor; this run: AMD EPYC): sha256 "
    )
    assert ", s.csv: 1 of 6 values differ, by at most 1e-06, largest metric change 0.000000" in v.text
    # other rows, or no committed file: no value-by-value account
    write_csv(pl.DataFrame({"user_id": [1, 1], "score": [0.1, 0.2]}), tmp_path / "c.csv")
    assert reproduce.value_changes((tmp_path / "a" / "s.csv").read_bytes(), tmp_path / "c.csv") == ""
    assert reproduce.value_changes(None, tmp_path / "b" / "s.csv") == ""


def test_not_comparable(tmp_path):
    a = manifest(tmp_path, "a", [0.1, 0.2, 0.3])
    v = reproduce.verdict(a, manifest(tmp_path, "b", [0.3, 0.2, 0.1], source=twin_source("tiny", 42)))
    assert v.status == "not comparable" and v.ok
    assert "data source differs (committed: twin scale small seed 42; this run: twin scale tiny seed 42)" in v.text
    v = reproduce.verdict(a, manifest(tmp_path, "c", [0.3, 0.2, 0.1], params={"n": 2}))
    assert v.status == "not comparable" and "parameters differ (n 1 -> 2)" in v.text
    assert reproduce.verdict(None, a).status == "not comparable"


def test_a_profile_is_compared_only_with_its_own_committed_run(tmp_path):
    teach = manifest(tmp_path, "a", [0.1, 0.2, 0.3])
    source = manifest(tmp_path, "b", [0.1, 0.2, 0.3], profile="source")
    assert teach["profile"] == "teach" and source["profile"] == "source"
    v = reproduce.verdict(None, source)
    assert v.status == "not comparable" and v.ok
    assert v.text.startswith("not comparable: no committed source-profile run to compare with")
    # the same bits, but a teach manifest is not the committed source run
    v = reproduce.verdict(teach, source)
    assert v.status == "not comparable" and "profile source, the committed run's is teach" in v.text
    del teach["profile"]  # manifests from before the field ran the teach profile
    assert reproduce.verdict(teach, manifest(tmp_path, "c", [0.1, 0.2, 0.3])).status == "identical"
    assert reproduce.verdict(source, manifest(tmp_path, "d", [0.1, 0.2, 0.3], profile="source")).status == "identical"


def test_keep_committed_reads_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.OUTPUT_ENV, str(tmp_path))
    kept = reproduce.keep_committed("kraft_kuairec")
    assert kept == tmp_path / "reports" / "committed" / "kraft_kuairec" / "manifest.json"
    assert reproduce.load_committed("kraft_kuairec")["track"] == "kraft_kuairec"
    assert reproduce.keep_committed("no_such_track") is None and reproduce.load_committed("no_such_track") is None
    # no committed source-profile run of this track: nothing kept, and the teach one is left alone
    (tmp_path / "reports" / "committed" / "kraft_kuairec" / "source").mkdir()
    (tmp_path / "reports" / "committed" / "kraft_kuairec" / "source" / "manifest.json").write_text("{}")
    if not (paths.REPO_ROOT / "submissions" / "kraft_kuairec" / "source" / "manifest.json").exists():
        assert reproduce.keep_committed("kraft_kuairec", "source") is None
        assert reproduce.load_committed("kraft_kuairec", "source") is None
    assert reproduce.load_committed("kraft_kuairec")["track"] == "kraft_kuairec"


def test_pin_sets_and_overrides(monkeypatch):
    avx2 = {"avx2", "fma"}
    monkeypatch.setattr(dispatch.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(dispatch, "_cpu_flags", lambda: avx2)
    env = {"OPENBLAS_CORETYPE": "Sandybridge", dispatch.THREADS_VAR: "3"}
    dispatch.apply(env, modules={})
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["NPY_ENABLE_CPU_FEATURES"] == "X86_V3"
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "3" and dispatch.threads(env) == 3
    off = {dispatch.PIN_SWITCH: "0", "OPENBLAS_CORETYPE": "Sandybridge"}
    dispatch.apply(off, modules={})
    assert off["OPENBLAS_CORETYPE"] == "Sandybridge" and "NPY_ENABLE_CPU_FEATURES" not in off
    assert dispatch.unsupported_reason({}, flags={"sse4_2"}) == "CPU without AVX2/FMA (or flags unreadable)"
    with pytest.warns(RuntimeWarning, match="numpy loaded before the CPU dispatch was pinned"):
        dispatch.apply({}, modules={"numpy": object()})


def test_idle_openmp_threads_sleep_unless_the_environment_chose(monkeypatch):
    """The wait policy is pinned passive (shared.runtime.dispatch says why), a chosen one is kept, and
    neither is a result pin: changing it after numpy loaded warns of nothing."""
    env = {}
    dispatch.apply(env, modules={})
    assert env[dispatch.WAIT_POLICY] == "passive"
    chosen = {**env, dispatch.WAIT_POLICY: "active"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dispatch.apply(chosen, modules={"numpy": object(), "torch": object()})
    assert chosen[dispatch.WAIT_POLICY] == "active"
    made = subprocess.run(
        [sys.executable, str(paths.REPO_ROOT / "shared" / "runtime" / "dispatch.py"), "--make"],
        env={k: v for k, v in os.environ.items() if k != dispatch.WAIT_POLICY},
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{dispatch.WAIT_POLICY}=passive" in made.stdout.split()


def _pipeline(out_dir, **env):
    """The KRAFT pipeline (small: at tiny no factor bit crosses a LightGBM bin edge) in a fresh process;
    environment without this process's pin."""
    base = {k: v for k, v in os.environ.items() if k not in dispatch.DISPATCH and k != dispatch.PIN_SWITCH}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "solutions.kraft_kuairec.pipeline",
            "--scale",
            "small",
            "--n-estimators",
            "30",
            "--variants",
            "faithful",
        ],
        env={**base, paths.OUTPUT_ENV: str(out_dir), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads((out_dir / "submissions" / "kraft_kuairec" / "manifest.json").read_text())


@pytest.mark.skipif(dispatch.unsupported_reason({}) != "", reason="needs an x86-64 CPU with AVX2")
def test_another_blas_kernel_differs_unpinned_and_not_pinned(tmp_path):
    """OpenBLAS picks its kernel per CPU; OPENBLAS_CORETYPE=Sandybridge stands in for another CPU.
    Unpinned, the ALS factors and so the submission change; pinned, the run is identical."""
    committed = _pipeline(tmp_path / "committed")
    assert committed["environment"]["blas"] == ["openblas Haswell"]
    unpinned = _pipeline(tmp_path / "unpinned", OPENBLAS_CORETYPE="Sandybridge", RECSYS_PIN_CPU="0")
    assert unpinned["environment"]["blas"] == ["openblas Sandybridge"]
    assert unpinned["environment"]["dispatch"] == f"not pinned: turned off ({dispatch.PIN_SWITCH}=0)"
    assert reproduce.verdict(committed, unpinned).status == "differs"
    pinned = _pipeline(tmp_path / "pinned", OPENBLAS_CORETYPE="Sandybridge")
    assert pinned["environment"]["blas"] == ["openblas Haswell"]
    assert reproduce.verdict(committed, pinned).status == "identical"
