"""The one seed helper every track calls first (the device's settings are ``shared.runtime.device``'s)."""

from __future__ import annotations

import os
import random

import numpy as np

from shared.runtime import dispatch
from shared.runtime.device import gpu_settings


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python, numpy and torch (CPU and CUDA); return a numpy Generator for new code."""
    seed = int(seed)
    # for the processes this one starts (Spark's Python workers): this interpreter's string hashing
    # was fixed when it started (the Makefile exports PYTHONHASHSEED=0)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch  # imported here: tracks without torch models pay the import only when seeding

    torch.manual_seed(seed)
    torch.set_num_threads(dispatch.threads())  # sums depend on the thread count: pinned
    gpu_settings()
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)
