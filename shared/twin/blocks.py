"""Building blocks for the synthetic twins: named seeded streams, latent-factor users and items,
logistic and softmax responses whose true probabilities are known.

Each twin draws every quantity from its own named stream, so adding a column to one file does
not shift the random numbers of another, and ``tiny``/``small``/``full`` are one code path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shared.data.io import digest
from shared.runtime.paths import twin_dir

# Every scale a twin may define. medium: a track's calibration scale where its full twin is too slow
# to train on 2 cores; only a track whose twin defines it accepts it (each passes its own scales).
SCALES = ("tiny", "small", "medium", "full")


def check_scale(scale: str, available: Iterable[str] = SCALES, track: str = "") -> str:
    """``scale``, if it is one of ``available`` (a track passes its twin's own scales and its name)."""
    names = tuple(available)
    if scale not in names:
        if track and scale in SCALES:
            raise ValueError(f"{track} has no {scale!r} twin; its scales are {', '.join(names)}")
        raise ValueError(
            f"unknown scale {scale!r}"
            + (f" for {track}" if track else "")
            + f": SCALE must be one of {', '.join(names)}"
        )
    return scale


def code_version(*paths: str | os.PathLike) -> str:
    """12 hex digits of the sha256 over the bytes of ``paths`` (a twin's generating code and the
    fixtures it reads): the key that invalidates a cached twin when any of them changes."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:12]


def params_key(params: Any) -> str:
    """ "" for a twin's calibrated parameters (its ``Params()`` defaults), else 8 hex digits naming
    the other values: the suffix that keeps a calibration trial's twin and artifacts apart."""
    if params is None or params == type(params)():
        return ""
    return digest(json.dumps(dataclasses.asdict(params), sort_keys=True), 8)


def params_folder(track: str, scale: str, seed: int, version: str, params: Any) -> Path:
    """A twin's cache folder: keyed by its generator's ``version``, and by its parameters where
    they are not the calibrated ones (a calibration trial's twin never overwrites the real one)."""
    key = params_key(params)
    return twin_dir(track, scale, seed, version + (f"-p{key}" if key else ""))


def ensure(out: Path, files: Sequence[str], generate: Callable[[Path], object]) -> Path:
    """The twin folder ``out``, generated (``generate(out)``) unless every one of ``files`` is there:
    each file is written atomically, so a file present is a whole one."""
    if not all((out / f).exists() for f in files):
        generate(out)
    return out


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator for (seed, name): same inputs, same numbers, on any machine."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def latent_factors(rng: np.random.Generator, n: int, dim: int, scale: float = 1.0) -> np.ndarray:
    """Gaussian latent vectors with E[<u, v>^2] = scale^4 for two independent draws."""
    return rng.normal(0.0, scale / dim**0.25, size=(n, dim))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def expected_sigmoid(logits: np.ndarray, sd: float, nodes: int = 40) -> np.ndarray:
    """E[sigmoid(logits + e)] for e ~ N(0, sd^2), per element, by Gauss-Hermite quadrature: the
    probability a model can reach when ``e`` is the part of the logit it cannot see. Hand-written:
    neither numpy nor scipy has a logistic-normal mean; 40 nodes are exact to ~1e-10 for sd < 2."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)  # weight exp(-x^2 / 2): standard normal nodes
    z = np.asarray(logits, dtype=np.float64)
    return sigmoid(z[..., None] + sd * x) @ (w / w.sum())


def calibrate_intercept(logits: np.ndarray, target_rate: float, tol: float = 1e-10) -> float:
    """The b for which mean(sigmoid(logits + b)) equals target_rate (bisection; the mean is
    monotone in b)."""
    if not 0.0 < target_rate < 1.0:
        raise ValueError("target_rate must be in (0, 1)")
    return bisect_rate(lambda b: float(sigmoid(logits + b).mean()), target_rate, tol=tol)


def bisect_rate(
    rate: Callable[[float], float], target: float, lo: float = -50.0, hi: float = 50.0, tol: float = 1e-10
) -> float:
    """The b for which ``rate(b)`` (increasing in b) equals ``target``, by bisection."""
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if rate(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample_categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1), vectorised by inverse CDF."""
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((probs.shape[0], 1))
    return np.minimum((u > cdf).sum(axis=-1), probs.shape[-1] - 1)
