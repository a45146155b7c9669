"""Synthetic twin of the HSE RecSys 2024 files (MovieLens-1M re-encoded), in exactly their format.

Sequences come from a process with real sequential structure whose next-item distribution is
known exactly (``next_item_probs``), so the oracle is computable for any history:

    items   each has a primary genre (its cluster; cluster sizes follow MovieLens-1M's genre counts),
            0-2 extra genre flags, a popularity p_i, and a place in its cluster's chain (think
            sequels and series: what usually comes next)
    users   a genre taste pi_u (Dirichlet around their gender-and-age group's mix), a stickiness
            s_u (stay in the last item's genre) and a chain affinity q_u
    step    P(next = i | history, last item l) is proportional to [i unseen] * A(c_i) * B(i), with
              A(c) = s_u [c = c_l] + (1 - s_u) pi_u[c]                           (which genre next)
              B(i) = q_u K(i | l) + (1 - q_u) p_i / P(c_i)   if c_i = c_l        (chain or popularity)
                     p_i / P(c_i)                            otherwise
            K puts mass RHO^(d-1) on the d-th successor of l in its chain (d = 1..CHAIN_SPAN)

A user's first item is drawn from the genre taste and popularity. MovieLens users rate a movie
once, so seen items are never drawn again (rejection; rows left after a few rounds are drawn from
the exact distribution). Ratings rise with the user's taste for the genre. Each user has one more,
hidden event after the last one in events.csv: the twin's stand-in for the leaderboard's target,
kept in ``truth.parquet``.

Formats, as the release: int64 everywhere, events ordered by user with timestamp = position,
genre flags 0/1 in MovieLens's alphabetical genre order, gender 'M'/'F', user_features.csv not
sorted. ``full`` has the real counts (894,149 events, 6,040 users, 3,706 items, 14..2,056 events
per user, median near 84.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

import shared.twin.blocks as shared_twin
from shared.data.io import atomic_path
from shared.twin.blocks import check_scale, code_version, params_folder, sample_categorical, stream
from solutions.hse_sasrec import TRACK
from solutions.hse_sasrec.data import AGES, EVENTS, GENRE_COLUMNS, ITEMS, SAMPLE, TOP_K, USERS

TRUTH = "truth.parquet"
VERSION = code_version(__file__, shared_twin.__file__)


@dataclass(frozen=True)
class Scale:
    n_users: int
    n_items: int
    n_events: int  # rows of events.csv, exactly
    min_len: int
    max_len: int


SCALES = {
    "tiny": Scale(120, 300, 5_000, 14, 150),
    "small": Scale(1_500, 1_200, 150_000, 14, 600),
    "full": Scale(6_040, 3_706, 894_149, 14, 2_056),  # the real counts
}
# MovieLens-1M genre counts over its 3,883 movies, alphabetical (the clusters' relative sizes)
GENRE_COUNTS = np.array(
    [503, 283, 105, 251, 1200, 211, 127, 1603, 68, 44, 343, 114, 106, 471, 276, 492, 143, 68], float
)
GENDER_M = 4331 / 6040  # MovieLens-1M shares
AGE_SHARES = np.array([222, 1103, 2096, 1193, 550, 496, 380], float) / 6040
REAL_MEAN_RATING = 3.581564  # MovieLens-1M's 1,000,209 ratings (the HSE events are most of them)
LENGTH_SIGMA = 1.06  # lognormal spread of events per user: real median 84.5, mean 148
CHAIN_SPAN, RHO = 8, 0.6
EXACT_AFTER = 12  # rejection rounds before a row is drawn from the exact distribution


@dataclass(frozen=True)
class Params:
    """The twin's global parameters, fitted by ``python -m solutions.hse_sasrec.calibrate`` on the
    ``full`` twin (every trial in ``benchmarks/calibration-hse_sasrec.csv``; the calibrated one is
    the ``ladder`` row with these values). At 1.0 / 1.0 / 6.0, the twin as first built, the next
    item was far too easy (SASRec 0.55 on `small` against 0.30 on the real data); weaker chains
    alone left BERT4Rec and the order-free models below their ranges, so the users' genre taste was
    made sharper (a lower Dirichlet concentration). chain_scale 0.55 with taste_concentration 2.0
    puts the whole published ladder inside its tolerances (README, "The twin against the real data")."""

    chain_scale: float = 0.55  # users' chain affinity q_u (sequels and series next) times this, at most 1
    stick_scale: float = 1.0  # users' stickiness s_u (stay in the last item's genre) times this, at most 1
    taste_concentration: float = 2.0  # Dirichlet concentration of pi_u around the group mix (lower: fewer genres)


@dataclass
class World:
    cluster: np.ndarray  # (n_items,) primary genre
    genres: np.ndarray  # (n_items, 18) 0/1 flags
    pop_in_cluster: np.ndarray  # (n_items,) p_i / P(c_i)
    successors: np.ndarray  # (n_items, CHAIN_SPAN) d-th successor in the chain
    kernel: np.ndarray  # (CHAIN_SPAN,) weights of the successors, sum 1
    taste: np.ndarray  # (n_users, 18) pi_u
    stick: np.ndarray  # (n_users,) s_u
    chain: np.ndarray  # (n_users,) q_u
    gender: np.ndarray  # (n_users,) 'M'/'F'
    age: np.ndarray  # (n_users,)
    lengths: np.ndarray  # (n_users,) events in events.csv (one hidden event follows)
    search_key: np.ndarray  # sorted: cluster + cumulative in-cluster popularity, for inverse-CDF draws
    search_item: np.ndarray  # item at each search_key position


def _lengths(sc: Scale, rng: np.random.Generator) -> np.ndarray:
    """Events per user: lognormal, clipped to [min_len, max_len], summing to exactly n_events."""
    raw = rng.lognormal(0.0, LENGTH_SIGMA, sc.n_users)
    lo, hi = 1e-3, 1e6
    for _ in range(200):  # bisect the scale so the clipped lengths sum to n_events
        mid = (lo * hi) ** 0.5
        total = np.clip(np.round(raw * mid), sc.min_len, sc.max_len).sum()
        lo, hi = (mid, hi) if total < sc.n_events else (lo, mid)
    lengths = np.clip(np.round(raw * hi), sc.min_len, sc.max_len).astype(np.int64)
    diff = int(sc.n_events - lengths.sum())
    step = 1 if diff > 0 else -1
    room = (lengths < sc.max_len) if diff > 0 else (lengths > sc.min_len)
    order = np.flatnonzero(room)[np.argsort(-lengths[room], kind="stable")]  # longest first
    lengths[order[: abs(diff)]] += step
    assert lengths.sum() == sc.n_events and lengths.max() < sc.n_items
    return lengths


def make_world(sc: Scale, seed: int, params: Params = Params()) -> World:
    rng = stream(seed, "hse/items")
    n_g = len(GENRE_COLUMNS)
    cluster = rng.choice(n_g, size=sc.n_items, p=GENRE_COUNTS / GENRE_COUNTS.sum())
    cluster[:n_g] = np.arange(n_g)  # every genre has an item
    genres = np.zeros((sc.n_items, n_g), np.int64)
    genres[np.arange(sc.n_items), cluster] = 1
    for share in (0.5, 0.15):  # extra genre flags
        extra = rng.choice(n_g, size=sc.n_items, p=GENRE_COUNTS / GENRE_COUNTS.sum())
        pick = rng.random(sc.n_items) < share
        genres[np.flatnonzero(pick), extra[pick]] = 1
    pop = rng.lognormal(0.0, 1.2, sc.n_items)
    mass = np.bincount(cluster, weights=pop, minlength=n_g)
    pop_in = pop / mass[cluster]
    # chains: a random order inside each cluster; successor d = d places further on (wrapping)
    order = np.lexsort((rng.random(sc.n_items), cluster))
    starts = np.searchsorted(cluster[order], np.arange(n_g))
    sizes = np.bincount(cluster, minlength=n_g)
    place = np.empty(sc.n_items, np.int64)
    place[order] = np.arange(sc.n_items) - starts[cluster[order]]
    d = np.arange(1, CHAIN_SPAN + 1)
    succ_place = (place[:, None] + d[None, :]) % sizes[cluster][:, None]
    successors = order[starts[cluster][:, None] + succ_place]
    kernel = RHO ** (d - 1.0)
    kernel /= kernel.sum()
    # inverse-CDF table: key = cluster + cumulative in-cluster popularity (strictly increasing)
    cum = np.empty(sc.n_items)
    cum[order] = np.concatenate([np.cumsum(pop_in[order[s : s + n]]) for s, n in zip(starts, sizes)])
    key_order = np.argsort(cluster + np.minimum(cum, 1.0) - 1e-12, kind="stable")
    search_key = (cluster + np.minimum(cum, 1.0))[key_order]

    urng = stream(seed, "hse/users")
    gender = np.where(urng.random(sc.n_users) < GENDER_M, "M", "F")
    age = np.asarray(AGES)[urng.choice(len(AGES), size=sc.n_users, p=AGE_SHARES)]
    group = (gender == "F") * len(AGES) + np.searchsorted(AGES, age)
    base = GENRE_COUNTS / GENRE_COUNTS.sum()
    mixes = base * stream(seed, "hse/groups").lognormal(0.0, 0.6, (2 * len(AGES), n_g))  # planted: taste by group
    mixes /= mixes.sum(axis=1, keepdims=True)
    taste = urng.gamma(params.taste_concentration * mixes[group])
    taste = np.maximum(taste, 1e-12)
    taste /= taste.sum(axis=1, keepdims=True)
    stick = np.minimum(params.stick_scale * urng.beta(6.0, 2.0, sc.n_users), 1.0)
    chain = np.minimum(params.chain_scale * urng.beta(3.0, 3.0, sc.n_users), 1.0)
    lengths = _lengths(sc, stream(seed, "hse/lengths"))
    return World(
        cluster, genres, pop_in, successors, kernel, taste, stick, chain, gender, age, lengths, search_key, key_order
    )


def next_item_probs(world: World, users: np.ndarray, last: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The exact next-item distribution (rows sum to 1) of ``users`` whose last item is ``last``
    (-1: no history yet) and whose seen items are the rows of the boolean ``seen``."""
    n = len(users)
    c = world.cluster
    if n == 0:
        return np.zeros((0, len(c)))
    first = last < 0
    lastc = np.where(first, -1, c[np.maximum(last, 0)])
    same = c[None, :] == lastc[:, None]
    s = np.where(first, 0.0, world.stick[users])[:, None]
    a = s * same + (1 - s) * world.taste[users][:, c]
    k = np.zeros((n, len(c)))
    rows = np.repeat(np.arange(n), CHAIN_SPAN)
    np.add.at(k, (rows, world.successors[np.maximum(last, 0)].ravel()), np.tile(world.kernel, n))
    q = np.where(first, 0.0, world.chain[users])[:, None]
    b = np.where(same, q * k + (1 - q) * world.pop_in_cluster[None, :], world.pop_in_cluster[None, :])
    w = a * b * ~seen
    return w / w.sum(axis=1, keepdims=True)


def _draw(
    world: World, rng: np.random.Generator, users: np.ndarray, last: np.ndarray, seen_rows: np.ndarray
) -> np.ndarray:
    """One draw of the next item per user (rejection on seen items, then the exact rest)."""
    n = len(users)
    out = np.full(n, -1, np.int64)
    todo = np.arange(n)
    for _ in range(EXACT_AFTER):
        u, prev = users[todo], last[todo]
        first = prev < 0
        lastc = world.cluster[np.maximum(prev, 0)]
        stay = ~first & (rng.random(len(todo)) < world.stick[u])
        c = np.where(stay, lastc, sample_categorical(rng, world.taste[u]))
        on_chain = ~first & (c == lastc) & (rng.random(len(todo)) < world.chain[u])
        d = sample_categorical(rng, np.broadcast_to(world.kernel, (len(todo), CHAIN_SPAN)))
        chained = world.successors[np.maximum(prev, 0), d]
        pos = np.searchsorted(world.search_key, c + rng.random(len(todo)) * (1 - 1e-12), side="right")
        popular = world.search_item[np.minimum(pos, len(world.search_item) - 1)]
        item = np.where(on_chain, chained, popular)
        ok = ~seen_rows[todo, item]
        out[todo[ok]] = item[ok]
        todo = todo[~ok]
        if len(todo) == 0:
            return out
    probs = next_item_probs(world, users[todo], last[todo], seen_rows[todo])
    out[todo] = sample_categorical(rng, probs)
    return out


def simulate(world: World, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each user's items in order, ``lengths + 1`` of them (the last one hidden): (user, item)
    arrays grouped by user, in position order."""
    rng = stream(seed, "hse/steps")
    n_users, n_items = len(world.stick), len(world.cluster)
    total = world.lengths + 1
    seen = np.zeros((n_users, n_items), bool)
    last = np.full(n_users, -1, np.int64)
    seqs = np.full((n_users, int(total.max())), -1, np.int64)
    for t in range(int(total.max())):
        active = np.flatnonzero(total > t)
        item = _draw(world, rng, active, last[active], seen[active])
        seen[active, item] = True
        last[active] = item
        seqs[active, t] = item
    mask = np.arange(seqs.shape[1])[None, :] < total[:, None]
    users = np.broadcast_to(np.arange(n_users)[:, None], seqs.shape)[mask]
    return users, seqs[mask]


def ratings(world: World, rng: np.random.Generator, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """1..5, higher where the user's taste for the item's genre is above uniform."""
    lift = np.log(world.taste[users, world.cluster[items]] * len(GENRE_COLUMNS))
    mean = 3.45 + 0.45 * np.tanh(0.5 * lift)
    return np.clip(np.round(mean + rng.normal(0.0, 0.95, len(users))), 1, 5).astype(np.int64)


def folder(scale: str, seed: int, params: Params = Params()) -> Path:
    """Where the twin of (scale, seed) with ``params`` lives."""
    return params_folder(TRACK, scale, seed, VERSION, params)


def generate(
    scale: str = "small", seed: int = 42, out_dir: str | Path | None = None, params: Params = Params()
) -> Path:
    """Write events.csv, item_features.csv, user_features.csv, submission_sample.csv and
    truth.parquet (each user's hidden next item)."""
    sc = SCALES[check_scale(scale, SCALES, TRACK)]
    out = Path(out_dir) if out_dir else folder(scale, seed, params)
    out.mkdir(parents=True, exist_ok=True)
    world = make_world(sc, seed, params)
    users, items = simulate(world, seed)
    pos = pl.DataFrame({"user_id": users}).select(p=pl.int_range(pl.len()).over("user_id"))["p"].to_numpy()
    hidden = pos == world.lengths[users]
    rating = ratings(world, stream(seed, "hse/ratings"), users, items)
    events = pl.DataFrame(
        {"user_id": users[~hidden], "item_id": items[~hidden], "rating": rating[~hidden], "timestamp": pos[~hidden]}
    )
    truth = pl.DataFrame({"user_id": users[hidden], "item_id": items[hidden]})
    item_frame = pl.DataFrame({"item_id": np.arange(sc.n_items), **dict(zip(GENRE_COLUMNS, world.genres.T))})
    user_order = stream(seed, "hse/user-order").permutation(sc.n_users)  # the release's file is not sorted
    user_frame = pl.DataFrame({"user_id": user_order, "gender": world.gender[user_order], "age": world.age[user_order]})
    top = events.group_by("item_id").len().sort(["len", "item_id"], descending=[True, False])["item_id"][:TOP_K]
    sample = pl.DataFrame({"user_id": np.arange(sc.n_users), "item_id": " ".join(map(str, top))})
    for name, frame in ((EVENTS, events), (ITEMS, item_frame), (USERS, user_frame), (SAMPLE, sample)):
        with atomic_path(out / name) as tmp:
            frame.write_csv(tmp)
    with atomic_path(out / TRUTH) as tmp:
        truth.write_parquet(tmp)
    return out


def ensure(scale: str, seed: int, params: Params = Params()) -> Path:
    """The twin's folder, generated on first use."""
    return shared_twin.ensure(
        folder(scale, seed, params),
        (EVENTS, ITEMS, USERS, SAMPLE, TRUTH),
        lambda out: generate(scale, seed, out, params),
    )


def world_for(scale: str, seed: int, params: Params = Params()) -> World:
    return make_world(SCALES[check_scale(scale, SCALES, TRACK)], seed, params)
