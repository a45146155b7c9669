"""A toy VK Clips world for the training-loop tests (here and in their killed child processes)."""

import numpy as np
import torch

from solutions.vk_clips import models


def toy_data(seed: int = 0, n_users: int = 20, n_items: int = 30, n: int = 600):
    """(tables, users, items, target, rng): random ids and embeddings, classes tied to the item."""
    rng = np.random.default_rng(seed)
    tables = models.Tables(
        n_users,
        n_items,
        3,
        2,
        4,
        torch.zeros(n_users, dtype=torch.int64),
        torch.zeros(n_users, dtype=torch.int64),
        torch.from_numpy(rng.integers(0, 3, n_items)),
        torch.from_numpy(rng.integers(0, 4, n_items)),
        torch.from_numpy(rng.normal(size=(n_items + 1, 32)).astype(np.float32)),
    )
    users, items = rng.integers(0, n_users, n), rng.integers(0, n_items, n)
    target = (items % 3 + rng.integers(0, 2, n)).clip(0, 2)
    return tables, users, items, target, rng
