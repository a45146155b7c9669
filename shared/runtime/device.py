"""The accelerator: which device torch computes on, the settings that keep a GPU's arithmetic the
CPU run's, and what a manifest says about it. Nothing here imports ``shared.runtime.dispatch`` (which reads
``device_facts`` for a manifest's environment) and nothing here seeds (``shared.runtime.seed``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

CUBLAS_WORKSPACE = ":4096:8"  # what cuBLAS needs to pick deterministic kernels (CUDA's docs)


def gpu_settings() -> None:
    """The same arithmetic on a GPU as the CPU run asks for, set before any CUDA work: no TF32 in
    matrix products or cuDNN convolutions (TF32 keeps 10 mantissa bits: results drift about 1e-3
    from the CPU's), cuDNN's deterministic kernels without autotuning, and cuBLAS's fixed workspace
    (``use_deterministic_algorithms`` raises on CUDA without it). Harmless on a CPU-only machine.
    (The legacy flags, not ``fp32_precision``: mixing the two APIs raises, and Lightning reads the
    legacy ones.)"""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


@contextlib.contextmanager
def deterministic_algorithms() -> Iterator[None]:
    """``torch.use_deterministic_algorithms(True)`` inside the block and the previous setting after
    it. Lightning's ``Trainer(deterministic=True)`` switches it on for the whole process and never
    back, so a later CUDA step in the same kernel (another model, a notebook's next cell) would run
    other kernels, or raise, depending on what ran before it."""
    import torch

    before, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn)


def device_facts() -> dict[str, object]:
    """What the manifest must say about the accelerator: a GPU run is compared with a CPU
    submission as another device, never as the same one."""
    import torch

    if not torch.cuda.is_available():
        return {"device": "cpu"}
    props = torch.cuda.get_device_properties(0)
    return {
        "device": "cuda",
        "gpu": props.name,
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
    }


def torch_device():
    """GPU when one is present, CPU otherwise."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
