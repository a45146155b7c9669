"""``shared.train.factors.fit_als``: implicit's ALS on the CPU, the same bits for the same seed, fitting what it
is given (a planted block structure), and reading a negative entry as a known negative."""

import numpy as np
import scipy.sparse as sp

from shared.train.factors import fit_als


def _blocks() -> sp.csr_matrix:
    """Users 0-3 interact with items 0-3, users 4-7 with items 4-7."""
    dense = np.zeros((8, 8), dtype=np.float32)
    dense[:4, :4] = 1
    dense[4:, 4:] = 1
    return sp.csr_matrix(dense)


def test_same_seed_same_bits_and_the_blocks_are_found():
    a = fit_als(_blocks(), factors=4, iterations=10, seed=7, progress=False)
    b = fit_als(_blocks(), factors=4, iterations=10, seed=7, progress=False)
    assert all(x.dtype == np.float32 and x.shape == (8, 4) for x in a)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    scores = a[0] @ a[1].T
    inside = np.r_[scores[:4, :4].ravel(), scores[4:, 4:].ravel()]
    outside = np.r_[scores[:4, 4:].ravel(), scores[4:, :4].ravel()]
    assert inside.min() > 0.5 > 0.2 > outside.max()


def test_a_negative_entry_is_a_known_negative_of_confidence_its_size():
    plain = _blocks()

    def with_entry(value):
        m = plain.tolil()
        m[0, 4] = value  # user 0 and item 4, outside user 0's block
        return fit_als(m.tocsr(), factors=4, iterations=10, seed=7, progress=False)

    u0, i0 = fit_als(plain, factors=4, iterations=10, seed=7, progress=False)
    # -1 at alpha 1: preference 0 with confidence 1, exactly what an empty cell already is
    same = with_entry(-1.0)
    assert np.array_equal(same[0], u0) and np.array_equal(same[1], i0)
    (un, inn), (up, ip) = with_entry(-5.0), with_entry(5.0)
    assert un[0] @ inn[4] < u0[0] @ i0[4] < 0.5 < up[0] @ ip[4]  # a confident negative pushes the score down
