"""Label, time split, ALS factors and the ranker's 157 features, as the source built them.

Every feature is a property of the user or of the item, so the feature matrix of any rows is two
gathers from a user table and an item table: nothing of (rows x features) is built that is not
fed straight to LightGBM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

from shared.eval.metrics import ranking_metrics
from shared.train.factors import AlsParams, fit_als  # noqa: F401  (features.fit_als, as before)
from solutions.kraft_kuairec.data import USER_CATEGORICAL, USER_NUMERIC

THRESHOLD = 1.0  # positive: watch_ratio >= 1.0 (watched to the end)


def add_label(interactions: pl.DataFrame) -> pl.DataFrame:
    return interactions.with_columns(label=(pl.col("watch_ratio") >= THRESHOLD).cast(pl.Int8))


def time_split(interactions: pl.DataFrame, train_frac: float = 0.8) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The source's split: all rows sorted by timestamp (rows without one last), the first 80 %
    train, the rest test; test keeps only users seen in train."""
    rows = interactions.sort("timestamp", nulls_last=True, maintain_order=True)
    n_train = int(rows.height * train_frac)
    train, test = rows.head(n_train), rows.slice(n_train)
    test = test.join(train.select("user_id").unique(), on="user_id", how="semi")
    return train, test


@dataclass
class Index:
    """Contiguous 0-based positions for the ids seen in train (the source's LabelEncoder)."""

    users: np.ndarray  # sorted user ids
    items: np.ndarray  # sorted video ids

    @classmethod
    def fit(cls, train: pl.DataFrame) -> Index:
        return cls(np.unique(train["user_id"].to_numpy()), np.unique(train["video_id"].to_numpy()))

    def lookup(self, ids: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Position of each id in ``known``, -1 when absent."""
        pos = np.clip(np.searchsorted(known, ids), 0, len(known) - 1)
        return np.where(known[pos] == ids, pos, -1)


def interaction_matrix(train: pl.DataFrame, index: Index, explicit_zeros: bool) -> sp.csr_matrix:
    """users x items CSR of the label. ``explicit_zeros=True`` is the source's matrix: the
    negatives are stored as explicit 0 entries, and implicit then gives them confidence 0, i.e.
    drops them from the loss (its solver adds (c - 1) * y y^T for each stored entry on top of
    Y^T Y). ``False`` removes them, so negatives count as ordinary zeros with weight 1."""
    u = index.lookup(train["user_id"].to_numpy(), index.users)
    i = index.lookup(train["video_id"].to_numpy(), index.items)
    data = train["label"].to_numpy().astype(np.float32)
    mat = sp.csr_matrix((data, (u, i)), shape=(len(index.users), len(index.items)))
    if not explicit_zeros:
        mat.eliminate_zeros()
    return mat


def with_zero_row(table: np.ndarray) -> np.ndarray:
    """``table`` plus a trailing all-zero row, so position -1 (unseen in train) reads zeros:
    the source's fillna(0) for items that appear only in test."""
    return np.vstack([table, np.zeros((1, table.shape[1]), table.dtype)])


def als_scores(
    index: Index, user_factors: np.ndarray, item_factors: np.ndarray, user_ids: np.ndarray, video_ids: np.ndarray
) -> np.ndarray:
    """ALS's own score <x_u, y_i> for each row (0 for items unseen in train)."""
    u = index.lookup(np.asarray(user_ids), index.users)
    i = index.lookup(np.asarray(video_ids), index.items)
    return np.einsum("ij,ij->i", user_factors[u], with_zero_row(item_factors)[i]).astype(np.float64)


@dataclass
class FeatureTables:
    """One row per train user / item; X = [user_table[u], item_table[i]]."""

    index: Index
    user_table: np.ndarray
    item_table: np.ndarray
    names: list[str]
    categorical: list[int]  # column positions of categorical features

    @property
    def n_features(self) -> int:
        return len(self.names)

    def matrix(self, user_ids: np.ndarray, video_ids: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
        """float32 C-contiguous feature matrix for the given rows, filled chunk by chunk so the
        only large allocation is the result. Unknown items get an all-zero row (the source's fillna 0)."""
        u = self.index.lookup(np.asarray(user_ids), self.index.users)
        if (u < 0).any():
            raise ValueError("rows with users unseen in train: filter them first")
        i = self.index.lookup(np.asarray(video_ids), self.index.items)
        item_table = with_zero_row(self.item_table)
        n, du = len(u), self.user_table.shape[1]
        out = np.empty((n, self.n_features), dtype=np.float32)
        for start in range(0, n, chunk):
            sl = slice(start, start + chunk)
            out[sl, :du] = self.user_table[u[sl]]
            out[sl, du:] = item_table[i[sl]]
        return out


def category_codes(values: pl.Series) -> np.ndarray:
    """Missing -> -1, then codes 0..n-1 in sorted order of the values, as pandas'
    ``fillna(-1).astype('category')`` gives LightGBM (it needs non-negative categories)."""
    if values.dtype == pl.String:
        filled = values.fill_null("-1")
    else:
        filled = values.cast(pl.Float64).fill_nan(None).fill_null(-1.0)
    uniques = np.unique(filled.to_numpy())
    return np.searchsorted(uniques, filled.to_numpy()).astype(np.float32)


def build_tables(
    train: pl.DataFrame,
    users: pl.DataFrame,
    items: pl.DataFrame,
    index: Index,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
) -> FeatureTables:
    """The source's 157 features: 19 categorical user features, 7 numeric ones, num_categories,
    64 + 64 ALS factors, user and item interaction counts in train."""
    u_frame = pl.DataFrame({"user_id": index.users}).join(users, on="user_id", how="left", maintain_order="left")
    i_frame = pl.DataFrame({"video_id": index.items}).join(items, on="video_id", how="left", maintain_order="left")
    user_counts = (
        pl.DataFrame({"user_id": index.users})
        .join(train.group_by("user_id").len("n"), on="user_id", how="left", maintain_order="left")["n"]
        .to_numpy()
    )
    item_counts = (
        pl.DataFrame({"video_id": index.items})
        .join(train.group_by("video_id").len("n"), on="video_id", how="left", maintain_order="left")["n"]
        .to_numpy()
    )
    k_u, k_i = user_factors.shape[1], item_factors.shape[1]

    user_cols = [category_codes(u_frame[c]) for c in USER_CATEGORICAL]
    user_cols += [u_frame[c].cast(pl.Float32).fill_null(0).to_numpy() for c in USER_NUMERIC]
    user_table = np.column_stack([*user_cols, user_factors, user_counts.astype(np.float32)]).astype(np.float32)
    num_categories = i_frame["tags"].list.len().fill_null(0).to_numpy().astype(np.float32)
    item_table = np.column_stack([num_categories, item_factors, item_counts.astype(np.float32)]).astype(np.float32)

    names = [
        *USER_CATEGORICAL,
        *USER_NUMERIC,
        *[f"user_als_{k}" for k in range(k_u)],
        "user_interaction_count",
        "num_categories",
        *[f"item_als_{k}" for k in range(k_i)],
        "item_interaction_count",
    ]
    return FeatureTables(
        index,
        np.ascontiguousarray(user_table),
        np.ascontiguousarray(item_table),
        names,
        list(range(len(USER_CATEGORICAL))),
    )


# --- the `best` variant: a few out-of-sample features whose meaning does not depend on the fit ---

SCALAR_NAMES = [
    "als_score",
    "item_rate",
    "item_positives",
    "item_log_count",
    "user_rate",
    "tag_rate",
    "tag_lift",
    "num_categories",
    "taste",
]
TASTE_RANKS = (4, 8, 16, 32)  # candidate ranks of the taste factorisation; ``choose_taste_rank`` picks one


@dataclass
class HistoryFeatures:
    """Features of (user, item) pairs computed from a window of past rows only, so that the same
    code gives out-of-sample features for the ranker's rows (history = the earlier part of train)
    and for test (history = all of train). Only scalars that keep their meaning across fits: the
    ALS dot product, not the factor coordinates (another fit is another rotation of them), and
    rates, not raw counts (a longer window has larger counts). Tables are indexed by raw id."""

    user_factors: np.ndarray  # (max user id + 1, k); zeros for users absent from the history
    item_factors: np.ndarray
    item_rate: np.ndarray  # smoothed positive rate of each item in the history
    item_positives: np.ndarray  # positives of the item / positives of the most liked item (popularity)
    item_log_count: np.ndarray  # log1p(rows of the item) / log1p(rows of the busiest item)
    user_rate: np.ndarray
    tag_rate: np.ndarray  # (users, 31) smoothed positive rate of each user on each tag
    tags: sp.csr_matrix  # (items, 31), each item's tags with weights 1 / n_tags
    num_categories: np.ndarray
    # taste: a truncated SVD of the residuals label - item rate - user rate + mean rate (what popularity
    # and the user's activity leave unexplained); ``taste`` is their reconstruction at ``taste_rank``
    taste_user: np.ndarray  # (users, max rank): left singular vectors times the singular values
    taste_item: np.ndarray  # (items, max rank): right singular vectors
    taste_rank: int = max(TASTE_RANKS)

    @classmethod
    def fit(
        cls,
        history: pl.DataFrame,
        items: pl.DataFrame,
        n_users: int,
        als: AlsParams,
        seed: int,
        prior: float = 10.0,
    ) -> HistoryFeatures:
        n_items = int(items["video_id"].max()) + 1
        u, i = history["user_id"].to_numpy(), history["video_id"].to_numpy()
        y = history["label"].to_numpy().astype(np.float64)
        positives = sp.csr_matrix((y.astype(np.float32), (u, i)), shape=(n_users, n_items))
        positives.eliminate_zeros()  # negatives as ordinary zeros (the `corrected` matrix)
        user_f, item_f = als.fit(positives, seed)

        base = y.mean()
        item_pos, item_n = np.bincount(i, y, n_items), np.bincount(i, minlength=n_items).astype(np.float64)
        user_pos, user_n = np.bincount(u, y, n_users), np.bincount(u, minlength=n_users).astype(np.float64)
        user_rate = (user_pos + prior * base) / (user_n + prior)

        flat = items.explode("tags", empty_as_null=False)
        vid, tag = flat["video_id"].to_numpy(), flat["tags"].to_numpy()
        n_tags = np.bincount(vid, minlength=n_items)
        tags = sp.csr_matrix((1.0 / n_tags[vid], (vid, tag)), shape=(n_items, 31))
        seen = sp.csr_matrix((np.ones_like(y), (u, i)), shape=(n_users, n_items))  # one entry per (user, item)
        tag_pos = (sp.csr_matrix((y, (u, i)), shape=(n_users, n_items)) @ tags).toarray()
        tag_n = (seen @ tags).toarray()
        tag_rate = (tag_pos + prior * user_rate[:, None]) / (tag_n + prior)
        item_rate = (item_pos + prior * base) / (item_n + prior)
        residual = sp.csr_matrix((y - item_rate[i] - user_rate[u] + base, (u, i)), shape=(n_users, n_items))
        rank = min(max(TASTE_RANKS), min(residual.shape) - 1)
        left, sing, right = randomized_svd(residual, rank, random_state=seed)
        return cls(
            user_f,
            item_f,
            item_rate,
            item_pos / item_pos.max(),
            np.log1p(item_n) / np.log1p(item_n.max()),
            user_rate,
            tag_rate.astype(np.float32),
            tags,
            np.diff(tags.indptr).astype(np.float32),
            left * sing,
            right.T,
            rank,
        )

    def taste(self, user_ids: np.ndarray, video_ids: np.ndarray, rank: int | None = None) -> np.ndarray:
        """The residual factorisation's reconstruction at ``rank`` (default ``taste_rank``)."""
        k = min(rank or self.taste_rank, self.taste_user.shape[1])
        return np.einsum("ij,ij->i", self.taste_user[user_ids, :k], self.taste_item[video_ids, :k])

    def choose_taste_rank(self, user_ids: np.ndarray, video_ids: np.ndarray, labels: np.ndarray) -> dict[int, float]:
        """Sets ``taste_rank`` to the candidate whose item rate + taste ranks these rows (later than
        the history) best by NDCG@10; returns each candidate's NDCG@10."""
        scores = {
            k: ranking_metrics(user_ids, self.item_rate[video_ids] + self.taste(user_ids, video_ids, k), labels, (10,))[
                "ndcg@10"
            ]
            for k in TASTE_RANKS
            if k <= self.taste_user.shape[1]
        }
        self.taste_rank = max(scores, key=lambda k: (scores[k], -k))
        return scores

    def matrix(self, user_ids: np.ndarray, video_ids: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
        """float32 (rows, len(SCALAR_NAMES)), filled chunk by chunk."""
        u, i = np.asarray(user_ids), np.asarray(video_ids)
        out = np.empty((len(u), len(SCALAR_NAMES)), dtype=np.float32)
        for start in range(0, len(u), chunk):
            su, si = u[start : start + chunk], i[start : start + chunk]
            tag_rate = np.asarray(self.tags[si].multiply(self.tag_rate[su]).sum(axis=1)).ravel()
            out[start : start + chunk] = np.column_stack(
                [
                    np.einsum("ij,ij->i", self.user_factors[su], self.item_factors[si]),
                    self.item_rate[si],
                    self.item_positives[si],
                    self.item_log_count[si],
                    self.user_rate[su],
                    tag_rate,
                    tag_rate - self.user_rate[su],
                    self.num_categories[si],
                    self.taste(su, si),
                ]
            )
        return out
