"""Pinned CPU dispatch and thread counts, so that one commit gives byte-identical results on any
x86-64 machine with AVX2.

Numeric libraries pick their kernels per CPU at load time, and the kernel changes the last bits:
OpenBLAS (numpy and scipy each load their own copy) picks Haswell, SkylakeX, Sandybridge...;
numpy 2.4 dispatches exp/log/trig per CPU; torch picks its ATen and oneDNN ISA; and summation
order depends on thread counts. Each reads its setting once, when it is loaded, so the pin must be
in the environment before the first import, in every process:

- the Makefile exports ``python3 shared/runtime/dispatch.py --make`` before any Python starts;
- ``import shared`` (and so ``import solutions``) applies it in processes started otherwise
  (the runner, a pipeline's CLI, pytest, a notebook kernel), and warns when numpy, scipy or torch
  was loaded before under other settings;
- notebook kernels and test subprocesses inherit the environment of the process that starts them.

Standard library only: this file runs before anything else is importable.
``RECSYS_PIN_CPU=0`` turns the dispatch pin off (the tests do, to show what it prevents); a CPU
without AVX2 (or not x86-64) is left unpinned, since forcing these kernels there would crash.
``RECSYS_THREADS`` sets the thread count of the libraries whose results depend on it (default 2,
the CI machine's cores): another count is allowed, and recorded in every manifest.

OpenMP's idle threads sleep (``OMP_WAIT_POLICY=passive``) instead of spinning: LightGBM, torch and
implicit run their threads through OpenMP, and a spinning thread fights any other process for its
core (a browser, an editor, a second test worker), so that beside a one-core busy loop a step took
2.8 to 3.6 times its time alone, against 1.06 to 1.45 times when idle threads sleep
(``make bench-sharing``, ``benchmarks/core-sharing.csv``). The policy decides only how threads wait,
never what they compute: no result moves, and a manifest does not record it. A policy already in
the environment is kept (``make bench-sharing`` times each one).
"""

from __future__ import annotations

import os
import platform
import sys
import warnings
from collections.abc import MutableMapping

PIN_SWITCH = "RECSYS_PIN_CPU"
THREADS_VAR = "RECSYS_THREADS"
DEFAULT_THREADS = 2

# What each variable holds a library to. All are AVX2-level: what every x86-64 CPU of the last
# decade runs (Zen runs OpenBLAS's Haswell kernels itself; SkylakeX would crash an AVX2-only CPU).
DISPATCH = {
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's and scipy's OpenBLAS (wheels: Prescott .. SkylakeX)
    "NPY_ENABLE_CPU_FEATURES": "X86_V3",  # numpy 2.4: the AVX2 loops (names like AVX512F are ignored)
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's vectorised ATen kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # torch's oneDNN (matmul, conv)
    "MKL_CBWR": "COMPATIBLE",  # MKL's reproducible code path, where MKL is loaded
}
LOADED_TOO_EARLY = ("numpy", "scipy", "torch")
WAIT_POLICY = "OMP_WAIT_POLICY"


def threads(environ: MutableMapping[str, str] = os.environ) -> int:
    """Threads for the libraries whose sums depend on it (LightGBM, torch)."""
    value = environ.get(THREADS_VAR, "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else DEFAULT_THREADS


def thread_env(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    n = str(threads(environ))
    # BLAS single-threaded: its gemv/dot/potrf sums change with the thread count, and implicit
    # parallelises over users itself.
    return {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n}


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def other_width_env(environ: MutableMapping[str, str] = os.environ, flags: set[str] | None = None) -> dict[str, str]:
    """``environ`` with the pin off and every pinned variable as pinned, but torch's vector kernels and
    oneDNN's ISA at another width: AVX-512 where the CPU has it, else the scalar and SSE4.1 paths.
    The tests run the notebooks under it, to show that no recorded digit depends on the width."""
    flags = _cpu_flags() if flags is None else flags
    other = (
        {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}
        if "avx512f" in flags
        else {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
    )
    base = {k: v for k, v in environ.items() if k not in DISPATCH and k != PIN_SWITCH}
    return {**base, **pinned_env(base, flags), **DISPATCH, **other, PIN_SWITCH: "0"}


def unsupported_reason(environ: MutableMapping[str, str] = os.environ, flags: set[str] | None = None) -> str:
    """Why the dispatch is not pinned here ("" when it is)."""
    if environ.get(PIN_SWITCH, "1") == "0":
        return f"turned off ({PIN_SWITCH}=0)"
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return f"not x86-64 ({platform.machine()})"
    flags = _cpu_flags() if flags is None else flags
    if not {"avx2", "fma"} <= flags:
        return "CPU without AVX2/FMA (or flags unreadable)"
    return ""


def wait_env(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """How OpenMP's idle threads wait: asleep, unless the environment already chose."""
    return {WAIT_POLICY: environ.get(WAIT_POLICY) or "passive"}


def pinned_env(environ: MutableMapping[str, str] = os.environ, flags: set[str] | None = None) -> dict[str, str]:
    """The variables to set: thread counts and the wait policy always, the dispatch where it can be
    pinned."""
    return {**thread_env(environ), **wait_env(environ), **({} if unsupported_reason(environ, flags) else DISPATCH)}


def apply(environ: MutableMapping[str, str] = os.environ, modules: dict | None = None) -> dict[str, str]:
    """Set the pinned variables in ``environ`` (overriding what was there: the pin is the point).
    Warns when a numeric library was already loaded under other settings, which it keeps."""
    wanted = pinned_env(environ)
    changed = {k for k, v in wanted.items() if environ.get(k) != v and k != WAIT_POLICY}  # it moves no result
    loaded = [m for m in LOADED_TOO_EARLY if m in (sys.modules if modules is None else modules)]
    if changed and loaded:
        warnings.warn(
            f"{', '.join(loaded)} loaded before the CPU dispatch was pinned ({', '.join(sorted(changed))}): "
            "results may differ from the committed ones in the last digits; import shared first, "
            "or start from make",
            RuntimeWarning,
            stacklevel=2,
        )
    environ.update(wanted)
    return wanted


def describe() -> dict:
    """What a result depends on, for the manifest: CPU, dispatch, threads, kernels in use, versions."""
    from importlib import metadata

    reason = unsupported_reason()
    out = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "dispatch": {k: os.environ.get(k, "") for k in DISPATCH} if not reason else f"not pinned: {reason}",
        "threads": {**thread_env(), "lightgbm/torch": threads()},
    }
    try:  # the BLAS kernels actually loaded: proof that the pin took effect
        from threadpoolctl import threadpool_info

        out["blas"] = sorted(
            {
                f"{i.get('internal_api')} {i.get('architecture')}"
                for i in threadpool_info()
                if i.get("user_api") == "blas"
            }
        )
    except ImportError:
        pass
    versions = {}
    for package in (
        "numpy",
        "scipy",
        "polars",
        "pandas",
        "scikit-learn",
        "implicit",
        "lightgbm",
        "catboost",
        "torch",
        "replay-rec",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    out["libraries"] = versions
    out["python"] = platform.python_version()
    out["accelerator"] = accelerator()
    return out


def accelerator() -> dict:
    """The device torch computed on: a run that never imported torch ran on the CPU."""
    if "torch" not in sys.modules:
        return {"device": "cpu"}
    from shared.runtime.device import device_facts

    return device_facts()


if __name__ == "__main__":
    # `python3 shared/runtime/dispatch.py --make`: NAME=VALUE words for the Makefile to export
    if sys.argv[1:] == ["--make"]:
        print(" ".join(f"{k}={v}" for k, v in pinned_env().items()))
    else:
        print("\n".join(f"{k}={v}" for k, v in pinned_env().items()))
        reason = unsupported_reason()
        print(f"# dispatch {'not pinned: ' + reason if reason else 'pinned'}; cpu: {cpu_model()}", file=sys.stderr)
