"""Same bits under another CPU dispatch: each track's tiny pipeline, run once as pinned and once with
torch's vector kernels and oneDNN's ISA forced to another width, writes byte-identical submission
files.

Two machines of different makers (an Intel Xeon, an AMD EPYC) run the same pinned kernels
(``shared.dispatch``), but below the pin the kernels still choose their blocking, and so their
summation order, by what the CPU reports: its vector width, its caches. This test moves what it can
move on one machine, the width (AVX-512 where the CPU has it, else the scalar and SSE4.1 paths), and
asks that no written digit moves. It caught VK-Lab's MLP head (float32: 5 of 48 rows moved by 1e-8;
float64 now), and ``tests/vklab_posts/test_features.py`` catches the encoder's batch-shaped blocking.
OpenBLAS and numpy's loops stay pinned here: they change the twin itself (its exp and log), and the
pin holds them equal on every AVX2 machine (``tests/test_reproduce.py`` shows an unpinned BLAS moving
the KRAFT submission).
"""

import hashlib
import os
import subprocess
import sys

import pytest

from shared import dispatch, tracks
from shared.paths import OUTPUT_ENV, REPO_ROOT

pytestmark = pytest.mark.functional  # deselected by make test-fast

AVX512 = "avx512f" in dispatch._cpu_flags()
OTHER = (
    {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}
    if AVX512
    else {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
)


def _env(out, forced: bool) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in dispatch.DISPATCH and k != dispatch.PIN_SWITCH}
    env = {**base, OUTPUT_ENV: str(out), "RECSYS_SPARK": "0"}  # HSE's Spark models write no submission file
    if forced:  # the pin off, every pinned variable as pinned but torch's and oneDNN's width
        env |= {**dispatch.DISPATCH, **OTHER, dispatch.PIN_SWITCH: "0"}
    return env


def _written(track: str, out, forced: bool) -> dict[str, str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            f"solutions.{track}.pipeline",
            "--scale",
            "tiny",
            "-f",
            str(REPO_ROOT / "notebooks" / track / "tiny.yaml"),
        ],
        env=_env(out, forced),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    folder = out / "submissions" / track
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "manifest.json")
    assert files
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.skipif(dispatch.unsupported_reason({}) != "", reason="needs an x86-64 CPU with AVX2")
def test_the_forced_dispatch_reaches_torch(tmp_path):
    code = "import shared, torch; print(torch.backends.cpu.get_cpu_capability())"
    got = [
        subprocess.run(
            [sys.executable, "-c", code], env=_env(tmp_path, forced), capture_output=True, text=True, timeout=120
        ).stdout.strip()
        for forced in (False, True)
    ]
    assert got == ["AVX2", "AVX512" if AVX512 else "DEFAULT"]


@pytest.mark.skipif(dispatch.unsupported_reason({}) != "", reason="needs an x86-64 CPU with AVX2")
@pytest.mark.parametrize("track", tracks.names())
def test_another_kernel_width_writes_the_same_files(track, tmp_path):
    pinned = _written(track, tmp_path / "pinned", forced=False)
    assert _written(track, tmp_path / "forced", forced=True) == pinned
