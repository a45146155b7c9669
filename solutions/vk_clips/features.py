"""Reaction-history features: for every row, the past liked, disliked and ignored clip most
similar to this row's clip, causal in file order.

The source's definition (per row, in file order): among the user's earlier likes, the item whose
embedding has the highest cosine similarity to this row's item (ties: the earliest), the same among
earlier dislikes, and a third slot; an empty history gives zeros. Only after computing the row's
slots is its item appended to the list of its own label. Its code filled the third slot from the
dislikes again (it collected ignores and never read them): ``variant="faithful"`` keeps that,
``"fixed"`` (the default) uses the nearest earlier ignored item. Test pairs see the whole train
history.

The source ran this as a Python loop over 145.7M rows with a scipy call per pair (2 to 11 hours an
epoch). Here it is a handful of batched matrix products: each user's queries are cut into blocks of
at most ``block`` rows; each block's candidates are one contiguous range of that user's history
(all earlier likes, or the last ``window`` ignores); blocks of similar shape are padded into one
batched product and masked to each row's own causal range. ``history_reference`` is the plain loop,
kept as the definition the tests hold the fast one to, row for row.

Similarities are computed exactly: unit vectors rounded to multiples of 2^-20 are integers up to
2^20, so every product and partial sum is an integer below 2^53 and float64 holds it exactly in any
summation order. The vectorised code, the loop, any BLAS kernel and a GPU therefore choose the same
item, ties included. Against the source's float cosine this changes the choice only where two
candidates lie within about 1e-5 of each other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from shared.runtime import progress as progress_line
from solutions.vk_clips.data import DISLIKE, IGNORE, LIKE

GRID = 2.0**20
SLOTS = {"faithful": (LIKE, DISLIKE, DISLIKE), "fixed": (LIKE, DISLIKE, IGNORE)}
CLASS_NAMES = {DISLIKE: "dislike", IGNORE: "ignore", LIKE: "like"}
_USER_SHIFT = 32  # key = user << 32 | position (positions < 2^32)


def unit_grid(embeddings: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length and rounded to a multiple of 2^-20, times 2^20 (float64
    integers); a zero row stays zero."""
    e = np.asarray(embeddings, dtype=np.float64)
    norm = np.linalg.norm(e, axis=1, keepdims=True)
    unit = np.divide(e, norm, out=np.zeros_like(e), where=norm > 0)
    return np.round(unit * GRID)


def _bucket(x: np.ndarray) -> np.ndarray:
    """Round up to 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ...: at most 25 % padding, few shapes."""
    x = np.maximum(np.asarray(x, dtype=np.int64), 1)
    step = 2 ** np.maximum(0, np.floor(np.log2(x)).astype(np.int64) - 2)
    return -(-x // step) * step


@dataclass(frozen=True)
class Positions:
    """Rows sorted by user, then position in time: each row's user, position and item."""

    user: np.ndarray
    pos: np.ndarray
    item: np.ndarray


def nearest_past(
    grid: np.ndarray,
    queries: Positions,
    candidates: Positions,
    window: int | None = None,
    block: int = 256,
    budget: int = 1 << 23,
) -> np.ndarray:
    """For each query, the index into the candidates of the most similar candidate of the same user
    with a smaller position, among the last ``window`` such candidates when given; ties go to the
    earliest; -1 when there is none."""
    q_user, q_pos, q_item = queries.user, queries.pos, queries.item
    c_user, c_pos, c_item = candidates.user, candidates.pos, candidates.item
    n_q = len(q_user)
    out = np.full(n_q, -1, dtype=np.int64)
    if n_q == 0 or len(c_user) == 0:
        return out
    c_key = (c_user.astype(np.int64) << _USER_SHIFT) | c_pos.astype(np.int64)
    q_user64 = q_user.astype(np.int64)
    hi = np.searchsorted(c_key, (q_user64 << _USER_SHIFT) | q_pos.astype(np.int64), side="left")
    lo = np.searchsorted(c_key, q_user64 << _USER_SHIFT, side="left")  # the user's first candidate
    if window is not None:
        lo = np.maximum(lo, hi - window)
    # blocks: runs of at most `block` queries of one user
    first_of_user = np.ones(n_q, dtype=bool)
    first_of_user[1:] = q_user[1:] != q_user[:-1]
    user_start = np.maximum.accumulate(np.where(first_of_user, np.arange(n_q), 0))
    starts = np.flatnonzero(first_of_user | ((np.arange(n_q) - user_start) % block == 0))
    lengths = np.diff(np.append(starts, n_q))
    seg_lo = lo[starts]
    seg_hi = hi[starts + lengths - 1]
    width = seg_hi - seg_lo
    keep = width > 0
    starts, lengths, seg_lo, width = starts[keep], lengths[keep], seg_lo[keep], width[keep]
    shape_q, shape_c = _bucket(lengths), _bucket(width)
    n_c = len(c_user)
    for rq, rc in sorted(set(zip(shape_q.tolist(), shape_c.tolist()))):
        segs = np.flatnonzero((shape_q == rq) & (shape_c == rc))
        per_batch = max(1, budget // (rq * rc + 32 * (rq + rc)))
        for b in range(0, len(segs), per_batch):
            s = segs[b : b + per_batch]
            qi = starts[s, None] + np.arange(rq)  # (P, rq) query rows
            q_ok = np.arange(rq) < lengths[s, None]
            qi = np.minimum(qi, n_q - 1)
            ci = np.minimum(seg_lo[s, None] + np.arange(rc), n_c - 1)  # (P, rc) candidate rows
            sims = np.matmul(grid[q_item[qi]], grid[c_item[ci]].transpose(0, 2, 1))  # exact integers
            valid = (ci[:, None, :] >= lo[qi][:, :, None]) & (ci[:, None, :] < hi[qi][:, :, None])
            sims[~valid] = -np.inf
            arg = sims.argmax(axis=-1)  # the first maximum: the earliest candidate
            found = np.take_along_axis(sims, arg[..., None], axis=-1)[..., 0] > -np.inf
            chosen = np.where(found, np.take_along_axis(ci, arg, axis=-1), -1)
            out[qi[q_ok]] = chosen[q_ok]
    return out


@dataclass(frozen=True)
class Reactions:
    """The train rows in file (time) order: each one's user, clip and class."""

    user: np.ndarray
    item: np.ndarray
    cls: np.ndarray

    @classmethod
    def of(cls, user, item, classes) -> Reactions:
        return cls(np.asarray(user), np.asarray(item), np.asarray(classes))


def history_by_class(
    log: Reactions,
    embeddings: np.ndarray,
    classes=(LIKE, DISLIKE, IGNORE),
    window: int | None = None,
    queries: tuple[np.ndarray, np.ndarray] | None = None,
    block: int = 256,
    max_queries: int = 1 << 24,
    progress: bool = False,
) -> dict[int, np.ndarray]:
    """Class -> (n_queries,) int32 item ids, -1 where that history is empty: for each query the
    nearest earlier item of that class (see the module docstring). Without ``queries`` (users,
    items) the queries are the train rows themselves, each seeing only the rows before it; with
    them, queries come after all of train. ``window`` bounds the ignore history to its last
    ``window`` items. Queries are processed in groups of whole users of at most ``max_queries``
    rows, so memory stays bounded at any size."""
    user, item, cls = log.user, log.item, log.cls
    n = len(user)
    grid = unit_grid(embeddings)
    if queries is None:
        q_user, q_item = user, item
        q_pos = np.arange(n, dtype=np.int64)
    else:
        q_user, q_item = np.asarray(queries[0]), np.asarray(queries[1])
        q_pos = np.full(len(q_user), n, dtype=np.int64)
    q_order = np.argsort(q_user, kind="stable")  # positions already ascend within a user
    qu = q_user[q_order]
    bounds = _user_groups(qu, max_queries)
    out = {}
    for c in classes:
        rows = np.flatnonzero(cls == c)
        rows = rows[np.argsort(user[rows], kind="stable")]
        cu = user[rows]
        ids = np.full(len(q_user), -1, dtype=np.int32)
        for g in progress_line.over(range(len(bounds) - 1), f"history: {CLASS_NAMES[c]}", "group", progress):
            qs, qe = bounds[g], bounds[g + 1]
            sel = q_order[qs:qe]
            cs, ce = np.searchsorted(cu, qu[qs], side="left"), np.searchsorted(cu, qu[qe - 1], side="right")
            found = nearest_past(
                grid,
                Positions(qu[qs:qe], q_pos[sel], q_item[sel]),
                Positions(cu[cs:ce], rows[cs:ce], item[rows[cs:ce]]),
                window=window if c == IGNORE else None,
                block=block,
            )
            # int64 first: numpy >= 2.5 refuses -1 beside an unsigned id array (NEP 50)
            past = item[rows[cs:ce]][np.maximum(found, 0)].astype(np.int64) if ce > cs else -1
            ids[sel] = np.where(found >= 0, past, -1)
        out[c] = ids
    return out


def _user_groups(sorted_users: np.ndarray, max_queries: int) -> np.ndarray:
    """Cut points of ``sorted_users`` into runs of whole users with at most ``max_queries`` rows
    (more only when one user alone has more)."""
    n = len(sorted_users)
    if n == 0:
        return np.array([0, 0])
    user_starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    targets = np.arange(max_queries, n, max_queries)
    cuts = user_starts[np.searchsorted(user_starts, targets, side="right") - 1]  # last user start <= target
    return np.unique(np.r_[0, cuts, n])


def assemble(by_class: dict[int, np.ndarray], variant: str) -> np.ndarray:
    """(n, 3) int32 slots of a variant from the per-class nearest items."""
    if variant not in SLOTS:
        raise ValueError(f"variant must be one of {tuple(SLOTS)}")
    return np.stack([by_class[c] for c in SLOTS[variant]], axis=1).astype(np.int32)


def history_slots(
    user, item, cls, embeddings, variant: str = "fixed", window: int | None = None, queries=None, block: int = 256
) -> np.ndarray:
    """(n_queries, 3) int32: the nearest earlier like, dislike and third slot of ``variant``
    (``queries``: (users, items) after all of train; None: the train rows themselves)."""
    if variant not in SLOTS:
        raise ValueError(f"variant must be one of {tuple(SLOTS)}")
    log = Reactions.of(user, item, cls)
    by_class = history_by_class(log, embeddings, tuple(sorted(set(SLOTS[variant]))), window, queries, block)
    return assemble(by_class, variant)


def history_reference(
    user, item, cls, embeddings, variant: str = "fixed", window: int | None = None, queries=None
) -> np.ndarray:
    """The definition, as a plain loop over rows (the source's shape): the reference the tests
    hold ``history_slots`` to. Slow; tiny inputs only."""
    grid = unit_grid(embeddings)
    history: dict[int, dict[int, list[int]]] = defaultdict(lambda: {DISLIKE: [], IGNORE: [], LIKE: []})

    def nearest(candidates: list[int], it: int) -> int:
        best, best_sim = -1, -np.inf
        for c in candidates:  # in time order: a later tie never replaces an earlier item
            sim = float(grid[c] @ grid[it])
            if sim > best_sim:
                best, best_sim = c, sim
        return best

    def slots(u: int, it: int) -> list[int]:
        h = history[u]
        out = []
        for c in SLOTS[variant]:
            cands = h[c][-window:] if (window is not None and c == IGNORE) else h[c]
            out.append(nearest(cands, it))
        return out

    rows = []
    for u, it, c in zip(np.asarray(user).tolist(), np.asarray(item).tolist(), np.asarray(cls).tolist()):
        if queries is None:
            rows.append(slots(u, it))
        history[u][c].append(it)  # only after the row's own slots
    if queries is not None:
        rows = [slots(u, it) for u, it in zip(np.asarray(queries[0]).tolist(), np.asarray(queries[1]).tolist())]
    return np.asarray(rows, dtype=np.int32).reshape(-1, 3)


# ---------------------------------------------------------------- ranker features (beyond the source)

PRIOR_ROWS = 20.0  # a rate is smoothed towards its parent's rate as if from 20 more rows ...
ITEM_PRIOR_ROWS = 100.0  # ... an item's towards its source's as if from 100 (items of a source are alike)
RATES = ("like", "dislike", "share", "bookmarks", "watch")  # watch: the mean log of timespent / duration


def _sums(history: pl.DataFrame, keys: list[str], name: str) -> pl.DataFrame:
    """Per ``keys``: the row count and the sum of each of ``RATES``."""
    return history.group_by(keys).agg(
        pl.len().alias(f"{name}_n"), *[pl.col(c).sum().alias(f"{name}_{c}") for c in RATES]
    )


def _shrink(name: str, parent: str | dict[str, float], rows: float) -> list[pl.Expr]:
    """Rates of ``name`` from its sums, smoothed towards the parent's rates (columns, or constants)."""
    n = pl.col(f"{name}_n").fill_null(0)
    out = []
    for c in RATES:
        prior = pl.lit(parent[c]) if isinstance(parent, dict) else pl.col(f"{parent}_{c}")
        out.append(((pl.col(f"{name}_{c}").fill_null(0) + rows * prior) / (n + rows)).alias(f"{name}_{c}"))
    return out


def _user_means(user: np.ndarray, vectors: np.ndarray, weight: np.ndarray, n_users: int) -> np.ndarray:
    """(n_users, d): each user's mean of ``vectors`` weighted by ``weight``, over the sum of the
    weights' magnitudes (so signed weights that cancel give a short vector, not a huge one; zeros
    where a user has no weight), as one sparse product (no loop over rows)."""
    m = sp.csr_matrix((weight, (user, np.arange(len(user)))), shape=(n_users, len(user)))
    total = np.bincount(user, weights=np.abs(weight), minlength=n_users)
    s = m @ vectors
    return np.divide(s, total[:, None], out=np.zeros_like(s), where=total[:, None] > 0)


def ranker_features(history, queries, items, n_users: int, embeddings: np.ndarray):
    """Features of each query pair (user_id, item_id) computed from ``history`` alone (train rows,
    file order, with a ``cls`` column): nothing of a query's own row or anything after the
    history's end enters. What the 14th place used: item and source statistics (like, dislike,
    share and bookmark rates, the mean log of timespent / duration), the user's own rates, the
    user's rates on the candidate's source, and the cosine of the candidate's embedding to the
    user's mean liked, mean disliked and watch-weighted mean embedding (each clip weighted by how
    much more than the user's usual share of it was watched). Returns the query rows in order,
    features only. Where the history has no such row, a rate is its prior (the parent's rate, with a
    count of 0) and a cosine 0: no feature is missing."""
    meta = items.select(
        pl.col("item_id").cast(pl.Int64), pl.col("source_id").cast(pl.Int64), pl.col("duration").cast(pl.Float64)
    )
    h = (
        history.select(
            pl.col("user_id", "item_id").cast(pl.Int64),
            *[pl.col(c).cast(pl.Float64) for c in RATES[:-1]],
            pl.col("timespent").cast(pl.Float64),
            pl.col("cls"),
        )
        .join(meta, on="item_id", how="left")
        .with_columns(watch=(pl.col("timespent") / pl.col("duration")).log())
    )
    means = {c: float(h[c].mean()) for c in RATES}
    q = (
        queries.select(pl.col("user_id", "item_id").cast(pl.Int64))
        .join(meta, on="item_id", how="left", maintain_order="left")
        .join(_sums(h, ["item_id"], "item"), on="item_id", how="left", maintain_order="left")
        .join(_sums(h, ["source_id"], "source"), on="source_id", how="left", maintain_order="left")
        .join(_sums(h, ["user_id"], "user"), on="user_id", how="left", maintain_order="left")
        .join(
            _sums(h, ["user_id", "source_id"], "user_source"),
            on=["user_id", "source_id"],
            how="left",
            maintain_order="left",
        )
    )
    # empirical Bayes: a source's rates lean on the global ones, an item's on its source's, a
    # user's rates on a source on the user's own (an item seen 10 times with no like is not a dud)
    q = (
        q.with_columns(_shrink("source", means, PRIOR_ROWS) + _shrink("user", means, PRIOR_ROWS))
        .with_columns(_shrink("item", "source", ITEM_PRIOR_ROWS) + _shrink("user_source", "user", PRIOR_ROWS))
        .with_columns(
            [
                (pl.col(f"user_source_{c}") - pl.col(f"user_{c}")).alias(f"user_source_{c}_lift")
                for c in ("like", "watch")
            ]
        )
        .with_columns(pl.col("^.*_n$").fill_null(0))
    )
    cos = _taste_cosines(h, q["user_id"].to_numpy(), q["item_id"].to_numpy(), n_users, embeddings)
    return q.drop("user_id", "item_id", "source_id").with_columns(**cos)


def _taste_cosines(h: pl.DataFrame, qu: np.ndarray, qi: np.ndarray, n_users: int, embeddings: np.ndarray) -> dict:
    """The cosine of each query clip's embedding to its user's mean liked, mean disliked and
    watch-weighted mean embedding in the history ``h`` (0 where the user has none)."""
    unit = unit_grid(embeddings) / GRID
    hu, hi, cls = h["user_id"].to_numpy(), h["item_id"].to_numpy(), h["cls"].to_numpy()
    watch = h["watch"].to_numpy()
    centred = watch - _user_means(hu, watch[:, None], np.ones(len(hu)), n_users)[hu, 0]
    cos = {}
    for name, weight in (
        ("liked", (cls == LIKE).astype(np.float64)),
        ("disliked", (cls == DISLIKE).astype(np.float64)),
        ("watched", centred),
    ):
        taste = _user_means(hu, unit[hi], weight, n_users)
        norm = np.linalg.norm(taste, axis=1, keepdims=True)
        taste = np.divide(taste, norm, out=np.zeros_like(taste), where=norm > 0)  # a direction: cosines
        cos[f"cos_{name}"] = np.einsum("ij,ij->i", taste[qu], unit[qi])
    return cos


def ranker_windows(history: pl.DataFrame, edges, items, n_users: int, embeddings: np.ndarray):
    """The ranker's own training rows: for each window [edges[k], edges[k + 1]) of train (shares
    of the file, i.e. of time), its rows with features from the rows before edges[k] alone (so no
    statistic includes the row it labels, or anything later). Returns (features, positions of the
    rows in ``history``, window index of each row), windows in order, rows in file order."""
    n = history.height
    cuts = [int(round(n * e)) for e in edges]
    frames, positions, window = [], [], []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        frames.append(ranker_features(history[:a], history[a:b], items, n_users, embeddings))
        positions.append(np.arange(a, b))
        window.append(np.full(b - a, k))
    return pl.concat(frames), np.concatenate(positions), np.concatenate(window)
