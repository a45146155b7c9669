"""Resumable torch training loops (DCNv2's single epoch, the VK Clips sequence model, VK-Lab's
fine-tuning; RePlay's models go through Lightning's own checkpoints).

A loop asks ``ckpt.due(step)`` after each optimiser step and, when due, saves everything the rest of
the run depends on: model and optimiser state, the torch, numpy and Python random states, its
position in the data and whatever it accumulates (losses). At least every 15 minutes of training
(``EVERY_S``), atomically, so a kill never leaves half a checkpoint. Re-running the same command
loads it (``ckpt.load()``) and continues; on the CPU the result is bit for bit the uninterrupted
run's. A checkpoint is keyed by what was being trained (``key``: the configuration and data
sizes): one from other settings is ignored, never resumed. The loop deletes it when it finishes.

Environment, for tests and impatient users: ``RECSYS_CHECKPOINT_STEPS=N`` checkpoints every N steps
instead of by time; ``RECSYS_KILL_AT_CHECKPOINT=N`` sends the process SIGKILL right after its N-th
checkpoint (the resume test kills a real child process at a known point this way, instead of
racing a timer).
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shared.io import atomic_path

EVERY_S = 15 * 60
STEPS_ENV = "RECSYS_CHECKPOINT_STEPS"
KILL_ENV = "RECSYS_KILL_AT_CHECKPOINT"


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def kill_if_asked(written: int) -> None:
    """SIGKILL this process when ``written`` checkpoints are the ``RECSYS_KILL_AT_CHECKPOINT`` asked for."""
    if written == int(os.environ.get(KILL_ENV, "0") or 0):
        os.kill(os.getpid(), signal.SIGKILL)


class Checkpoint:
    """One training loop's checkpoint file at ``path`` for the run described by ``key``."""

    def __init__(self, path: str | os.PathLike, key: str, every_s: float = EVERY_S):
        self.path = Path(path)
        self.key = key
        self.every_s = every_s
        self.every_steps = int(os.environ.get(STEPS_ENV, "0") or 0)
        self.saved = 0
        self._last = time.monotonic()

    def load(self) -> dict[str, Any] | None:
        """The saved state of this run (with ``rng`` already restored), or None: no checkpoint, or
        one of other settings."""
        if not self.path.is_file():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=False)  # our own file
        if state.get("key") != self.key:
            return None
        set_rng_state(state["rng"])
        self._last = time.monotonic()
        return state

    def due(self, step: int) -> bool:
        if self.every_steps:
            return step % self.every_steps == 0
        return time.monotonic() - self._last >= self.every_s

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (plus the key and the random states) atomically."""
        with atomic_path(self.path) as tmp:
            torch.save({**state, "key": self.key, "rng": rng_state()}, tmp)
        self._last = time.monotonic()
        self.saved += 1
        kill_if_asked(self.saved)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
