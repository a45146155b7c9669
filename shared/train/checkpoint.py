"""Resumable torch training loops (DCNv2's single epoch, the VK Clips sequence model, VK-Lab's
fine-tuning: each a ``ResumableLoop``) and resumable Lightning training (RePlay's SASRec and
BERT4Rec: ``LightningResume``).

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

from shared.data.io import atomic_path

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
        self.saved_now()

    def saved_now(self) -> None:
        """Count a write (a caller that wrote the file its own way): the clock restarts, and the
        process is killed here if ``RECSYS_KILL_AT_CHECKPOINT`` asks for this write."""
        self._last = time.monotonic()
        self.saved += 1
        kill_if_asked(self.saved)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class ResumableLoop:
    """What every resumable training loop here carries, in one place: the model, its optimiser, the
    loop's own random generator (if it draws from one) and ``state``, a dict of everything else the
    rest of the run depends on (its position, the losses so far, an early-stopping record).

    ``resume()`` restores all of them from the checkpoint a killed run of the same key left;
    ``save_if_due(step)`` writes them when the checkpoint is due; ``finish()`` deletes the file;
    ``seconds()`` is the training time so far, the processes before a resume included
    (``before``). Without a checkpoint nothing is written or read. A loop replaces ``model`` and
    ``optimizer`` when it starts afresh (a refit): the attributes are what is saved."""

    def __init__(self, checkpoint: Checkpoint | None, model, optimizer, state: dict[str, Any], generator=None):
        self.checkpoint, self.model, self.optimizer, self.generator = checkpoint, model, optimizer, generator
        self.state = state
        self.before = 0.0
        self.started = time.perf_counter()

    def resume(self) -> bool:
        """Continue from the checkpoint, if one of this key is there."""
        saved = self.checkpoint.load() if self.checkpoint else None
        if not saved:
            return False
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.generator is not None:
            self.generator.set_state(saved["generator"])
        self.state, self.before = saved["state"], saved["seconds"]
        self.started = time.perf_counter()
        return True

    def save_if_due(self, step: int) -> None:
        if self.checkpoint and self.checkpoint.due(step):
            self.checkpoint.save(
                {
                    "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "generator": None if self.generator is None else self.generator.get_state(),
                    "state": self.state,
                    "seconds": self.seconds(),
                }
            )

    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.started

    def finish(self) -> None:
        if self.checkpoint:
            self.checkpoint.clear()


class ResumableLoader:
    """A training data loader that Lightning can stop and resume in the middle of an epoch.

    Lightning keeps a loader's ``state_dict()`` in its checkpoints and hands it back on resume
    (``_Stateful``), but neither a ``DataLoader`` nor RePlay's ``ParquetDataset`` has one, and
    torchdata's ``StatefulDataLoader`` does not cover the parquet loader: so this wrapper (written
    here for that reason). Its state is the epoch's starting states of the loader's own random
    generators (``generators()``), the number of batches handed out, and the process's random
    states at the checkpoint; a resumed ``__iter__`` replays the epoch's shuffle, skips the batches
    already trained on, restores the random states and goes on with the next batch, so that batch
    and everything drawn after it are the uninterrupted run's. ``source()`` gives the wrapped loader
    (RePlay's is built only in the data module's ``setup``). Lightning fetches ahead only from
    loaders without a length, and this one has a length, so the batches handed out at a
    checkpoint are exactly those trained on (``state_dict`` checks it)."""

    def __init__(self, source, generators):
        self.source = source
        self.generators = generators
        self.handed = 0
        self.trained = 0
        self.epoch_start: list = []
        self._resume: dict | None = None

    def __len__(self) -> int:
        return len(self.source())

    def __iter__(self):
        resume, self._resume = self._resume, None
        if resume is None:
            self.epoch_start = [g.get_state() for g in self.generators()]
        else:
            self.epoch_start = resume["epoch_start"]
            for g, st in zip(self.generators(), self.epoch_start, strict=True):
                g.set_state(st)
        batches = iter(self.source())
        self.handed = 0
        if resume is not None:
            for _ in range(resume["handed"]):  # the epoch's batches already trained on
                next(batches)
            self.handed = resume["handed"]
            set_rng_state(resume["rng"])
        for batch in batches:
            self.handed += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        if self.handed != self.trained:
            raise RuntimeError(
                f"ResumableLoader: {self.handed} batches handed out but {self.trained} trained on "
                "at a checkpoint (a loader fetching ahead cannot resume mid-epoch here)"
            )
        return {"epoch_start": self.epoch_start, "handed": self.handed, "rng": rng_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._resume = state


class LightningResume:
    """Resumable Lightning training in ``directory`` for the run described by ``key``.

    ``callback`` writes ``last.ckpt`` (Lightning's own checkpoint, written to a temporary name and
    renamed, so a kill never leaves half a file) after every epoch, once the epoch line, the
    best-epoch checkpoint and early stopping have taken the epoch in, and in the middle of an epoch whenever
    ``EVERY_S`` (15 minutes) have passed since the last write (``RECSYS_CHECKPOINT_STEPS=N``: every
    N optimiser steps instead). The file holds the torch, numpy and Python random states and those
    of ``generators()`` (the data loaders' own, which exist once the trainer has set the data up),
    which Lightning does not keep: at an epoch's end they are restored when the next epoch starts,
    in the middle of one by the training loader, which must be wrapped by ``loader()``. So a
    resumed run is bit for bit the uninterrupted one on the CPU. ``ckpt_path`` (for
    ``trainer.fit``) is that file when a run of the same ``key`` left one, else None (a folder of
    another key is emptied first). With ``directory`` None nothing is written.
    ``RECSYS_KILL_AT_CHECKPOINT=N`` kills the process right after the N-th write: the resume test."""

    def __init__(self, directory: Path | None, key: str, generators):
        import shutil

        self.directory = directory
        self.generators = generators
        self._loader: ResumableLoader | None = None
        self.ckpt_path: str | None = None
        if directory is not None:
            key_file = directory / "key.txt"
            if directory.exists() and (not key_file.is_file() or key_file.read_text() != key):
                shutil.rmtree(directory)
            directory.mkdir(parents=True, exist_ok=True)
            key_file.write_text(key)
            last = directory / "last.ckpt"
            self.ckpt_path = str(last) if last.is_file() else None
        self.clock = Checkpoint(directory / "last.ckpt" if directory else "unused", key)
        self.callback = self._callback()

    def loader(self, source) -> ResumableLoader:
        """The training loader ``source()`` made resumable in the middle of an epoch."""
        self._loader = ResumableLoader(source, self.generators)
        return self._loader

    def _save(self, trainer, mid_epoch: bool) -> None:
        last = self.directory / "last.ckpt"
        self.callback.mid_epoch = mid_epoch
        with atomic_path(last) as tmp:
            trainer.save_checkpoint(tmp)
        self.clock.saved_now()

    def _callback(self):
        from lightning.pytorch.callbacks import Checkpoint as LightningCheckpoint

        resume = self

        # a Checkpoint subclass: Lightning calls it after the others, the best-epoch ModelCheckpoint
        # and EarlyStopping included, so the epoch-end file holds their verdict on the epoch
        class Resume(LightningCheckpoint):
            restored = None
            mid_epoch = False

            def state_dict(self):
                return {
                    "rng": rng_state(),
                    "generators": [g.get_state() for g in resume.generators()],
                    "mid_epoch": self.mid_epoch,
                }

            def load_state_dict(self, state):
                # an epoch-end state is applied when the next epoch starts (restoring the data draws
                # again); a mid-epoch one is the loader's to apply
                self.restored = None if state.get("mid_epoch") else state

            def on_train_epoch_start(self, trainer, pl_module):
                if self.restored:
                    set_rng_state(self.restored["rng"])
                    for g, st in zip(resume.generators(), self.restored["generators"], strict=True):
                        g.set_state(st)
                    self.restored = None

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                if resume._loader is not None:
                    resume._loader.trained = batch_idx + 1
                if (
                    resume.directory is None
                    or resume._loader is None
                    or batch_idx + 1 >= trainer.num_training_batches  # the epoch's end writes one
                    or not resume.clock.due(trainer.global_step)
                ):
                    return
                resume._save(trainer, mid_epoch=True)

            def on_train_epoch_end(self, trainer, pl_module):
                if resume.directory is not None:
                    resume._save(trainer, mid_epoch=False)

        return Resume()
