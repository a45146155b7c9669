"""Evaluation metrics shared by the tracks, vectorised over all users at once.

Why by hand: RePlay and scikit-learn have these metrics, but RePlay's loop over users in Python
and re-sort for every K, and neither has the per-user averaged ordinal ROC-AUC VK Clips uses.
Here one sort serves every K. The tests check each function against a brute-force reference
and, where the definitions agree, against RePlay and scikit-learn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl


def _discounts(n: int) -> np.ndarray:
    """1 / log2(rank + 1) for ranks 1..n."""
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def _rank_within_user(users: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order rows by (user, score descending); ties keep input order. Returns the order,
    the dense user group of each sorted row and its 1-based rank inside the user's list."""
    order = np.lexsort((-scores, users))  # lexsort is stable: equal scores keep input order
    u = users[order]
    new_group = np.empty(len(u), dtype=bool)
    new_group[:1] = True
    new_group[1:] = u[1:] != u[:-1]
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    rank = np.arange(len(u)) - starts[group] + 1
    return order, group, rank


def _user_lists(users: np.ndarray, scores: np.ndarray, labels: np.ndarray):
    """``_rank_within_user`` plus each sorted row's relevance and each user's count of relevant rows."""
    order, group, rank = _rank_within_user(users, scores)
    hit = labels[order]
    return order, group, rank, hit, np.bincount(group, weights=hit, minlength=group[-1] + 1)


def ranking_metrics(
    users: Sequence, scores: Sequence, labels: Sequence, ks: Iterable[int] = (10, 20, 50)
) -> dict[str, float]:
    """Precision/Recall/NDCG@K with binary relevance, each user ranking only their own rows.

    As KRAFT defines them: P@K = hits in top K / K (K also when the user has fewer rows),
    R@K = hits in top K / |R|, NDCG@K = DCG@K / IDCG over min(|R|, K) positions; the mean over
    users with at least one relevant row (users with none are skipped).
    """
    users = np.asarray(users)
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    if not (len(users) == len(scores) == len(labels)):
        raise ValueError("users, scores and labels must have the same length")
    if len(users) == 0:
        raise ValueError("no rows to evaluate")
    order, group, rank, hit, n_rel = _user_lists(users, scores, labels)
    n_groups = len(n_rel)
    keep = n_rel > 0
    if not keep.any():
        raise ValueError("no user has a relevant row")
    max_k = int(max(ks))
    disc = _discounts(max(max_k, int(rank.max())))
    ideal_cum = np.concatenate([[0.0], np.cumsum(disc)])
    gain = hit * disc[rank - 1]
    out: dict[str, float] = {}
    for k in ks:
        top = rank <= k
        hits_k = np.bincount(group, weights=hit & top, minlength=n_groups)
        dcg_k = np.bincount(group, weights=gain * top, minlength=n_groups)
        idcg_k = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
        out[f"precision@{k}"] = float(np.mean(hits_k[keep] / k))
        out[f"recall@{k}"] = float(np.mean(hits_k[keep] / n_rel[keep]))
        out[f"ndcg@{k}"] = float(np.mean(dcg_k[keep] / idcg_k[keep]))
    return out


def per_user_ndcg(users: Sequence, scores: Sequence, labels: Sequence, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each user's NDCG@k as ``ranking_metrics`` defines it (users without a relevant row skipped):
    (the users, sorted; their NDCG@k). Its mean is ``ranking_metrics(...)[f"ndcg@{k}"]``."""
    users = np.asarray(users)
    order, group, rank, hit, n_rel = _user_lists(
        users, np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    )
    disc = _discounts(max(k, int(rank.max())))
    dcg = np.bincount(group, weights=hit * disc[rank - 1] * (rank <= k), minlength=len(n_rel))
    idcg = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_rel, k).astype(np.int64)]
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]  # each group's first row in ``order``
    keep = n_rel > 0
    return users[order][first][keep], dcg[keep] / idcg[keep]


def paired_difference(a: Sequence, b: Sequence) -> dict[str, float]:
    """Mean of ``a - b`` over paired units (users, rows) and its standard error (sample sd / sqrt(n))."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError("need two equal-length 1-d arrays of at least two paired values")
    return {"mean": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(len(d)))}


def across_seeds(gains: Sequence[float], gain_ses: Sequence[float]) -> dict[str, float]:
    """Ours minus the source's row, one paired gain per training seed, all on one test set, with
    each seed's paired standard error over users (``gain_ses``).

    Two noises: training (the spread over seeds, ``sd``; its error of the mean ``se_seeds`` = sd /
    sqrt(seeds)) and the test set's sampling of users, which every seed shares and no number of
    seeds averages away (``se_users``: the root mean square of the per-seed errors, an upper bound on
    the error of the seeds' mean gain, since a mean of correlated differences varies no more than its
    parts). ``se`` = sqrt(se_seeds^2 + se_users^2) is the error of ``gain`` as an estimate of the
    gain on new users with a new seed; ``met``: the gain is more than two ``se`` above zero."""
    g, e = np.asarray(gains, dtype=np.float64), np.asarray(gain_ses, dtype=np.float64)
    if g.ndim != 1 or len(g) < 2 or e.shape != g.shape:
        raise ValueError("need the gains of at least two seeds and one standard error per gain")
    sd = float(g.std(ddof=1))
    se_seeds, se_users = sd / np.sqrt(len(g)), float(np.sqrt(np.mean(e**2)))
    se = float(np.hypot(se_seeds, se_users))
    return {
        "seeds": len(g),
        "gain": float(g.mean()),
        "sd": sd,
        "se_seeds": float(se_seeds),
        "se_users": se_users,
        "se": se,
        "met": bool(g.mean() > 2 * se),
    }


def per_user_topn(
    recs: pl.DataFrame, truth: pl.DataFrame, k: int = 10, user: str = "user_id", item: str = "item_id"
) -> pl.DataFrame:
    """HitRate/NDCG/MRR@k of each user in ``truth`` (sorted by user; 0 for a user without a hit or
    without recommendations), as ``topn_metrics`` defines them: its means over these rows."""
    for name, frame, cols in (("recs", recs, (user, item, "rank")), ("truth", truth, (user, item))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    truth = truth.select(user, item).unique()
    if truth.height == 0:
        raise ValueError("truth is empty")
    n_rel = truth.group_by(user).len("n_rel")
    ideal_cum = np.concatenate([[0.0], np.cumsum(_discounts(k))])
    hits = (
        recs.select(user, item, "rank")
        .join(truth, on=[user, item], how="inner")
        .filter(pl.col("rank") <= k)
        .group_by(user)
        .agg(dcg=(1.0 / (pl.col("rank").cast(pl.Float64) + 1.0).log(2)).sum(), first=pl.col("rank").min())
    )
    per_user = n_rel.join(hits, on=user, how="left").sort(user)
    idcg = ideal_cum[np.minimum(per_user["n_rel"].to_numpy(), k)]
    return per_user.select(
        user,
        hitrate=pl.col("first").is_not_null().cast(pl.Float64),
        ndcg=pl.Series(per_user["dcg"].fill_null(0.0).to_numpy() / idcg),
        mrr=(1.0 / pl.col("first").cast(pl.Float64)).fill_null(0.0),
    )


def topn_metrics(
    recs: pl.DataFrame, truth: pl.DataFrame, ks: Iterable[int] = (10,), user: str = "user_id", item: str = "item_id"
) -> dict[str, float]:
    """HitRate/NDCG/MRR@K for top-N lists.

    ``recs`` holds (user, item, rank) with rank 1 = best; ``truth`` holds the relevant (user, item)
    pairs. Every user in ``truth`` counts; one with no recommendations scores 0.
    NDCG@K uses IDCG over min(|truth|, K); MRR@K is 1 / rank of the first hit within K.
    """
    out: dict[str, float] = {}
    for k in ks:
        per_user = per_user_topn(recs, truth, k, user, item)
        out |= {f"{m}@{k}": float(per_user[m].mean()) for m in ("hitrate", "ndcg", "mrr")}
    return out


def per_user_roc_auc(users: Sequence, labels: Sequence, scores: Sequence) -> pl.DataFrame:
    """ROC-AUC of each user over ordinal labels: over all pairs of the user's rows with different
    labels, the share where the higher label has the higher score, ties counting 0.5 (for two
    labels this is the ordinary ROC-AUC). Columns ``user``, ``auc``; users whose rows all share
    one label have no row."""
    df = pl.DataFrame({"u": np.asarray(users), "y": np.asarray(labels), "s": np.asarray(scores, dtype=np.float64)})
    if df.height == 0:
        raise ValueError("no rows to evaluate")
    classes = np.sort(df["y"].unique().to_numpy())
    parts = []
    # One Mann-Whitney U per pair of label values (a < b): midranks of scores inside each user
    # among rows labelled a or b. The number of label values is small (3 for VK Clips).
    for i, a in enumerate(classes):
        for b in classes[i + 1 :]:
            parts.append(
                df.filter(pl.col("y").is_in([a, b]))
                .with_columns(r=pl.col("s").rank("average").over("u"), hi=pl.col("y") == b)
                .group_by("u")
                .agg(
                    n_hi=pl.col("hi").sum(),
                    n_lo=(~pl.col("hi")).sum(),
                    r_hi=pl.col("r").filter(pl.col("hi")).sum(),
                )
                .select(
                    "u",
                    u_stat=pl.col("r_hi") - pl.col("n_hi") * (pl.col("n_hi") + 1) / 2,
                    pairs=pl.col("n_hi").cast(pl.Float64) * pl.col("n_lo"),
                )
            )
    if not parts:
        raise ValueError("every row has the same label: ROC-AUC is undefined")
    per_user = pl.concat(parts).group_by("u").agg(pl.col("u_stat").sum(), pl.col("pairs").sum())
    return per_user.filter(pl.col("pairs") > 0).sort("u").select(user="u", auc=pl.col("u_stat") / pl.col("pairs"))


def mean_user_roc_auc(users: Sequence, labels: Sequence, scores: Sequence, single_label: str = "skip") -> float:
    """``per_user_roc_auc`` averaged over users. Users whose rows all share one label are skipped
    (``single_label="skip"``), or count as 0 (``"zero"``, the rule of one public implementation of
    the VK Clips metric)."""
    if single_label not in ("skip", "zero"):
        raise ValueError("single_label must be 'skip' or 'zero'")
    per_user = per_user_roc_auc(users, labels, scores)
    if per_user.height == 0:
        raise ValueError("no user has two different labels: ROC-AUC is undefined")
    n_users = per_user.height if single_label == "skip" else len(np.unique(np.asarray(users)))
    return float(per_user["auc"].sum()) / n_users


def per_user_expected_roc_auc(
    users: Sequence, probs: Sequence, scores: Sequence, max_cells: int = 1 << 24
) -> pl.DataFrame:
    """``per_user_roc_auc`` with the drawn labels replaced by their distribution: ``probs`` (n, k)
    holds each row's probabilities of the k ordered labels, drawn independently. Per user, the
    expected number of correctly ordered pairs over the expected number of pairs with different
    labels (ties in score 0.5). A synthetic twin knows these probabilities: this removes the noise
    of drawing one label per row, which dominates the spread of the plain metric on a few thousand
    rows, and keeps the noise of which users and items were sampled. Columns ``user``, ``auc``;
    users none of whose pairs can differ have no row."""
    u = np.asarray(users)
    p = np.asarray(probs, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if p.ndim != 2 or len(p) != len(u) or len(s) != len(u) or len(u) == 0:
        raise ValueError("users, probs (n, k) and scores must be non-empty and of one length n")
    order = np.argsort(u, kind="stable")
    starts = np.flatnonzero(np.r_[True, u[order][1:] != u[order][:-1]])
    lengths = np.diff(np.r_[starts, len(u)])
    m, k = int(lengths.max()), p.shape[1]
    # Each user's rows padded to m; a padded row has probability 0 for every label, so every pair
    # it is in weighs 0. Hand-written: no library computes a ranking metric under label uncertainty.
    slot = np.arange(len(u)) - np.repeat(starts, lengths)
    who = np.repeat(np.arange(len(starts)), lengths)
    P = np.zeros((len(starts), m, k))
    S = np.zeros((len(starts), m))
    P[who, slot], S[who, slot] = p[order], s[order]
    below = np.cumsum(P, axis=2) - P  # P(label < c) of each row
    off_diagonal = ~np.eye(m, dtype=bool)
    correct, differ = np.empty(len(starts)), np.empty(len(starts))
    step = max(1, max_cells // (m * m * k))
    for lo in range(0, len(starts), step):  # users in chunks: memory bounded by max_cells
        hi = slice(lo, lo + step)
        above = np.einsum("uic,ujc->uij", P[hi], below[hi]) * off_diagonal  # P(label_i > label_j)
        d = S[hi][:, :, None] - S[hi][:, None, :]
        correct[hi] = (above * ((d > 0) + 0.5 * (d == 0))).sum(axis=(1, 2))
        differ[hi] = above.sum(axis=(1, 2))
    keep = differ > 0
    return pl.DataFrame({"user": u[order][starts][keep], "auc": correct[keep] / differ[keep]})


def mean_user_expected_roc_auc(users: Sequence, probs: Sequence, scores: Sequence) -> float:
    """``per_user_expected_roc_auc`` averaged over users."""
    return float(per_user_expected_roc_auc(users, probs, scores)["auc"].mean())


def log_loss(y_true: Sequence, y_prob: Sequence, eps: float = 1e-15) -> float:
    """Binary log loss with probabilities clipped to [eps, 1 - eps]. ``y_true`` may be soft
    targets in [0, 1] (click-through rates). Written here because scikit-learn 1.8 dropped its
    ``eps`` argument and rejects soft targets."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(y_prob, dtype=np.float64), eps, 1 - eps)
    if y.shape != p.shape or y.size == 0:
        raise ValueError("y_true and y_prob must be non-empty and of the same shape")
    if np.isnan(p).any() or np.isnan(y).any():
        raise ValueError("NaN in y_true or y_prob")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def rate_metrics(y_true: Sequence, y_pred: Sequence, eps: float = 1e-6) -> dict[str, float]:
    """How well predicted rates match observed ones: log loss (binary cross-entropy with the
    observed rate as the soft target, predictions clipped to [eps, 1 - eps]), MAE and R^2."""
    from sklearn.metrics import mean_absolute_error, r2_score

    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    return {"logloss": log_loss(y, p, eps=eps), "mae": float(mean_absolute_error(y, p)), "r2": float(r2_score(y, p))}
