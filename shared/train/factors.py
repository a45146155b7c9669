"""Matrix factorisation for the tracks that use it: implicit's ALS, held to one deterministic CPU setup."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shared.runtime.progress import shown


@dataclass(frozen=True)
class AlsParams:
    """implicit's ALS settings (``fit_als``'s defaults)."""

    factors: int = 64
    regularization: float = 0.01
    iterations: int = 20
    alpha: float = 1.0

    def fit(self, matrix: sp.csr_matrix, seed: int = 42, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``fit_als`` with these settings."""
        return fit_als(matrix, self.factors, self.regularization, self.iterations, self.alpha, seed, progress)


def fit_als(
    matrix: sp.csr_matrix,
    factors: int = 64,
    regularization: float = 0.01,
    iterations: int = 20,
    alpha: float = 1.0,
    seed: int = 42,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """implicit's ALS on the CPU (its GPU build is not deterministic) on a users x items matrix.
    implicit multiplies the matrix by ``alpha``; a negative value is a known negative with
    confidence |value| (preference 0). Returns user and item factors, float32."""
    import implicit  # imported here: a track that never fits ALS does not pay for it

    # implicit parallelises over users itself; a multi-threaded BLAS underneath only oversubscribes
    with threadpool_limits(limits=1, user_api="blas"):
        model = implicit.cpu.als.AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            iterations=iterations,
            alpha=alpha,
            random_state=seed,
        )
        model.fit(matrix, show_progress=shown(progress))
    return np.asarray(model.user_factors, dtype=np.float32), np.asarray(model.item_factors, dtype=np.float32)
