"""The VK Clips pipeline in stages, shared by the notebooks, ``make bench`` and the CLI.

    python -m solutions.vk_clips.pipeline --scale small            # whole pipeline on the twin
    python -m solutions.vk_clips.pipeline --data-dir ~/vk_clips    # on the real files
    python -m solutions.vk_clips.pipeline --scale small --bench    # time + peak memory per stage
    python -m solutions.vk_clips.pipeline --bench --model-seeds 1,2,3   # + the DCNv2 rows, the
                                                # sequence model and the rankers with three more seeds
    make bench TRACKS=vk_clips                  # at full, with the options bench_options names

Rows of the comparison table:
  random, popularity   seeded noise; likes minus dislikes of the item
  als                  the organisers' baseline (implicit ALS, 16 factors, alpha 100)
  dcn_nohistory        DCNv2 without the history vector (the source's sibling)
  dcn_faithful         DCNv2 with the source's history: like, dislike, dislike again
  dcn_fixed            DCNv2 with the fixed history: like, dislike, ignore (the submission)
  sequence             a causal Transformer over the user's reactions
  ltr_stats            a LightGBM lambdarank ranker over leak-free statistics (windows in time)
  ltr                  ours: the same with DCNv2's and the sequence model's out-of-fold scores stacked
  oracle               the twin's true expected class (twin only)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from shared.data.io import atomic_path, cache_key, digest, write_parquet_atomic
from shared.eval import metrics
from shared.eval.metrics import (
    across_seeds,
    mean_user_expected_roc_auc,
    mean_user_roc_auc,
    per_user_expected_roc_auc,
    per_user_roc_auc,
)
from shared.runtime.errors import DataError
from shared.runtime.seed import seed_everything
from shared.track import cli, profiles
from shared.track.cli import add_model_seeds, pipeline_parser, record_bench, record_table
from shared.track.config import TrackConfig
from shared.track.submission import Report
from shared.train import bench, boosting
from shared.train.bench import StageTimer
from shared.train.checkpoint import Checkpoint
from shared.train.factors import AlsParams
from solutions.vk_clips import TRACK, data, features, models, submit, twin

DCN_ROWS = {"dcn_nohistory": None, "dcn_faithful": "faithful", "dcn_fixed": "fixed"}
MODELS = ("random", "popularity", "als", *DCN_ROWS, "sequence", "ltr_stats", "ltr", "oracle")
SUBMITTED = "dcn_fixed"
# retrained per model seed by --model-seeds: the rankers against the faithful DCNv2 (the bar: a gain of
# more than two standard errors across seeds), with the two models they stack (dcn_fixed, about 4
# minutes a seed at small here, is left out)
SEED_ROWS = ("dcn_nohistory", "dcn_faithful", "sequence", "ltr_stats", "ltr")
TRUE_PROBS = ("p_dislike", "p_ignore", "p_like")  # twin: columns of truth.parquet
SOURCE_BATCH, TWIN_BATCH = 16_384, 512
# make bench at full on a CPU: the data path and the history features for all rows; one DCNv2
# epoch over 145.7M rows needs a GPU (its throughput on the CPU is measured at small)
BENCH_FULL_CPU = ("random", "popularity", "als", "history", "oracle")
# The source's private leaderboard ROC-AUC on the real test set (13th of 465): real-data numbers,
# not comparable with any twin figure.
SOURCE_LB = {"DCNv2 + history (faithful)": 0.6666753935, "DCNv2 without history": 0.665494}


@dataclass(frozen=True)
class Config(TrackConfig):
    scale: str = "small"  # twin size: tiny | small | medium | full (ignored with data_dir)
    data_dir: str = ""  # folder with the real VK Clips files; "" = synthetic twin
    seed: int = 42
    profile: str = "teach"  # teach | source (shared.track.profiles: notebooks/vk_clips/source.yaml)
    emb_dim: int = 256
    batch_size: int = 0  # 0: the source's 16,384 on the real files and `full`, 512 on `small`/`tiny` (README)
    lr: float = 1e-3
    ignore_window: int = 256  # fixed history: only the last 256 ignores are searched (README)
    als_factors: int = 16
    als_iterations: int = 10
    als_regularization: float = 1.0
    als_alpha: float = 100.0
    seq_dim: int = 64
    seq_layers: int = 2
    seq_len: int = 64
    seq_epochs: int = 20  # at most; early-stopped on the latest 10 % of train
    seq_batch: int = 32
    seq_id_dim: int = 8  # item-id embedding of the sequence model (behind dropout 0.5; 0: none)
    seq_user_dim: int = 16  # user embedding added to its state (behind dropout 0.5; 0: none)
    submitted: str = SUBMITTED  # the DCNv2 row written as the submission (the source profile: dcn_faithful)
    twin_params: twin.Params = twin.Params()  # the twin's global parameters; calibrate.py tries others

    TRACK = TRACK
    ensure_twin = staticmethod(twin.ensure)
    real_files = staticmethod(data.resolve_files)
    twin_version = twin.VERSION
    SCALES = tuple(twin.SCALES)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.submitted not in DCN_ROWS:
            raise ValueError(f"submitted must be one of {list(DCN_ROWS)}, got {self.submitted!r}")

    @property
    def als(self) -> AlsParams:
        return AlsParams(self.als_factors, self.als_regularization, self.als_iterations, self.als_alpha)

    @property
    def batch(self) -> int:
        """The DCNv2 batch: one epoch of 16,384-row batches is 8,900 Adam steps on the real 145.7M
        rows but 6 on `small`'s 100,000, too few to learn anything; the smaller twins keep the number
        of steps meaningful instead of the batch size."""
        if self.batch_size:
            return self.batch_size
        return SOURCE_BATCH if (not self.is_twin or self.scale == "full") else TWIN_BATCH


@dataclass
class Data:
    vk: data.VKClips
    target: np.ndarray  # class of each train row, file order
    tables: models.Tables
    truth: pl.DataFrame | None  # twin only: test pairs with true probabilities and drawn classes

    @property
    def test_users(self) -> np.ndarray:
        return self.vk.test["user_id"].to_numpy().astype(np.int64)

    @property
    def test_items(self) -> np.ndarray:
        return self.vk.test["item_id"].to_numpy().astype(np.int64)


def load_data(cfg: Config) -> Data:
    """Load and check the four files (generating the twin on first use)."""
    folder = cfg.data_folder()
    vk = data.load(folder)
    n_users = int(max(vk.users["user_id"].max(), vk.train["user_id"].max())) + 1
    n_items = int(max(vk.items["item_id"].max(), vk.train["item_id"].max())) + 1
    truth = pl.read_parquet(folder / twin.TRUTH) if cfg.is_twin else None
    return Data(vk, data.target(vk.train), models.Tables.build(vk.users, vk.items, n_users, n_items), truth)


def describe(d: Data) -> pl.DataFrame:
    t = d.vk.train
    per_user = t.group_by("user_id").agg(n=pl.len(), likes=pl.col("like").sum())
    facts = {
        "train rows": t.height,
        "users in train": per_user.height,
        "items in train": t["item_id"].n_unique(),
        "like rate": f"{t['like'].mean():.4%}",
        "dislike rate": f"{t['dislike'].mean():.4%}",
        "share rate": f"{t['share'].mean():.4%}",
        "bookmarks rate": f"{t['bookmarks'].mean():.4%}",
        "users who never like": f"{(per_user['likes'] == 0).mean():.1%}",
        "rows per user (median)": int(per_user["n"].median()),
        "rows per user (max)": int(per_user["n"].max()),
        "test users x items": f"{d.vk.test['user_id'].n_unique():,} x {data.PAIRS_PER_USER}",
    }
    return pl.DataFrame({"fact": list(facts), "value": [f"{v:,}" if isinstance(v, int) else v for v in facts.values()]})


def data_facts(d: Data) -> dict[str, float]:
    t = d.vk.train
    per_user = t.group_by("user_id").agg(likes=pl.col("like").sum())
    return {
        "like_rate": float(t["like"].mean()),
        "dislike_rate": float(t["dislike"].mean()),
        "share_rate": float(t["share"].mean()),
        "bookmarks_rate": float(t["bookmarks"].mean()),
        "never_like_share": float((per_user["likes"] == 0).mean()),
        "train_rows": float(t.height),
    }


# ---------------------------------------------------------------- history features


def history(cfg: Config, d: Data, progress: bool = False, stage=bench.no_stage) -> dict[str, np.ndarray]:
    """Nearest earlier like, dislike and ignore of every train row and every test pair, cached
    in the artifacts (keys ``train_<class>`` and ``test_<class>``)."""
    train_file = d.vk.files[0]  # the cache is keyed by the train file's size too (real files replaced in place)
    path = cfg.artifacts / f"history-w{cfg.ignore_window}-{train_file.stat().st_size}.npz"
    if path.exists():
        with np.load(path) as f:
            return dict(f)
    t = d.vk.train
    u, i, emb = t["user_id"].to_numpy(), t["item_id"].to_numpy(), d.tables.item_embedding[:-1].numpy()
    log, out = features.Reactions.of(u, i, d.target), {}
    for classes, name in (((data.LIKE, data.DISLIKE), "history: like + dislike"), ((data.IGNORE,), "history: ignore")):
        with stage(name):
            for split, queries in (("train", None), ("test", (d.test_users, d.test_items))):
                by = features.history_by_class(log, emb, classes, cfg.ignore_window, queries, progress=progress)
                out |= {f"{split}_{features.CLASS_NAMES[c]}": v for c, v in by.items()}
    cfg.artifacts.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **out)
    return out


RATIO_ROWS = 200_000  # make bench: about this many train rows, all of the rows of every k-th user


def history_ratio(d: Data, stage, rows: int = RATIO_ROWS) -> None:
    """``make bench``: the source's per-row history loop (``features.history_reference``, the shape
    of its notebook, in Python) and ours on the same slice of train, one after the other in one run,
    so ``benchmarks/README.md`` states the ratio. The slice is every row, in file order, of every k-th
    user (about ``rows`` rows): each history is as long as in the whole file, which is what the loop's
    cost grows with (the first rows of the file would hold only the users' first few events). Both
    compute the source's own variant (like, dislike, dislike again) and must agree row for row."""
    t = d.vk.train
    every = max(1, round(t.height / rows))
    keep = (t["user_id"].to_numpy() % every) == 0
    u, i, cls = t["user_id"].to_numpy()[keep], t["item_id"].to_numpy()[keep], d.target[keep]
    emb = d.tables.item_embedding[:-1].numpy()
    what = f"faithful history, the {len(u):,} rows of one user in {every:,}"
    with stage(f"source loop: {what}", variant="source loop"):
        slow = features.history_reference(u, i, cls, emb, "faithful")
    with stage(f"ours: {what}", variant="ours"):
        fast = features.history_slots(u, i, cls, emb, "faithful")
    if not np.array_equal(slow, fast):
        raise AssertionError("the source's loop and ours disagree on the benchmark slice")


def slots(hist: dict[str, np.ndarray], split: str, variant: str) -> np.ndarray:
    return features.assemble({c: hist[f"{split}_{features.CLASS_NAMES[c]}"] for c in features.CLASS_NAMES}, variant)


# ---------------------------------------------------------------- models


def baseline_scores(cfg: Config, d: Data) -> dict[str, np.ndarray]:
    """random, popularity, ALS and (twin only) the oracle's expected class."""
    rng = np.random.default_rng(cfg.seed)
    test = d.vk.test
    out = {
        "random": rng.random(test.height),
        "popularity": models.popularity_scores(d.vk.train, test),
        "als": models.als_scores(
            d.vk.train,
            test,
            d.tables.n_users,
            d.tables.n_items,
            cfg.als,
            cfg.seed,
        ),
    }
    if d.truth is not None:
        out["oracle"] = d.truth["p_ignore"].to_numpy() + 2 * d.truth["p_like"].to_numpy()
    return out


def dcn_key(cfg: Config, d: Data, row: str) -> str:
    """What a DCNv2 row's training depends on: its checkpoint's key, and a kept row's (``--resume``)."""
    window = cfg.ignore_window if DCN_ROWS[row] else None
    facts = dict(emb=cfg.emb_dim, batch=cfg.batch, lr=cfg.lr, seed=cfg.seed, window=window)
    return cache_key(row, **facts, rows=d.vk.train.height, data=cfg.tag)


def sequence_key(cfg: Config, d: Data) -> str:
    return cache_key("sequence", params=sequence_params(cfg), seed=cfg.seed, rows=d.vk.train.height, data=cfg.tag)


def train_dcn(
    cfg: Config, d: Data, row: str, hist: dict[str, np.ndarray] | None, progress: bool = True, name: str = ""
):
    """One DCNv2 row of the table: (test scores, Fit). ``name``: its checkpoint's, if not ``row``."""
    variant = DCN_ROWS[row]
    t = d.vk.train
    tr_slots = slots(hist, "train", variant) if variant else None
    ckpt = Checkpoint(cfg.artifacts / "checkpoints" / f"{name or row}.pt", dcn_key(cfg, d, row))
    train = models.DcnRows(t["user_id"].to_numpy(), t["item_id"].to_numpy(), tr_slots, d.target)
    params = models.DcnParams(emb_dim=cfg.emb_dim, batch_size=cfg.batch, lr=cfg.lr)
    fit = models.train_dcn(d.tables, train, params, cfg.seed, progress, checkpoint=ckpt)
    te_slots = slots(hist, "test", variant) if variant else None
    probs = models.predict_dcn(fit, d.tables, models.DcnRows(d.test_users, d.test_items, te_slots))
    return models.expected_class(probs), fit


def train_log(d: Data) -> models.TrainLog:
    """The train rows as the sequence model reads them."""
    t = d.vk.train
    cols = {c: t[c].to_numpy().astype(np.int64) for c in ("user_id", "item_id", "share", "bookmarks", "timespent")}
    return models.TrainLog(
        cols["user_id"], cols["item_id"], d.target, cols["share"], cols["bookmarks"], cols["timespent"]
    )


def sequence_params(cfg: Config) -> models.SequenceParams:
    return models.SequenceParams(
        dim=cfg.seq_dim,
        layers=cfg.seq_layers,
        max_len=cfg.seq_len,
        epochs=cfg.seq_epochs,
        batch_size=cfg.seq_batch,
        id_dim=cfg.seq_id_dim,
        user_dim=cfg.seq_user_dim,
    )


def train_sequence(cfg: Config, d: Data, progress: bool = True, name: str = "sequence"):
    """The sequence row of the table: (test scores, Fit). ``name``: its checkpoint's, if not ``sequence``."""
    log = train_log(d)
    checkpoint = Checkpoint(cfg.artifacts / "checkpoints" / f"{name}.pt", sequence_key(cfg, d))
    fit = models.train_sequence(d.tables, log, sequence_params(cfg), cfg.seed, progress, checkpoint)
    probs = models.predict_sequence(fit, d.tables, log, d.test_users, d.test_items)
    return models.expected_class(probs), fit


def gpu_checks(scale: str = "medium", **sizes) -> dict:
    """``make gpu-check`` (``shared.tools.gpu_check``): DCNv2 with the faithful history, one epoch in file
    order (at ``medium``: 3.0M rows, 5,860 steps of 512, ``Config.batch``), and the sequence model for
    one epoch and its refit; each predicts the test pairs (saved under ``artifacts/.../gpu-check/``).
    Each run returns the rows it trained on. ``sizes``: other ``Config`` fields (the tests' tiny.yaml)."""
    cfg = Config(scale=scale, **sizes)
    d = load_data(cfg)
    hist = history(cfg, d)

    def saved(name: str, scores: np.ndarray) -> None:  # what ``gpu_check --twice`` compares byte for byte
        (cfg.artifacts / "gpu-check").mkdir(parents=True, exist_ok=True)
        np.save(cfg.artifacts / "gpu-check" / f"{name}.npy", scores)

    def dcn() -> int:
        scores, fit = train_dcn(cfg, d, "dcn_faithful", hist, progress=False)
        saved("dcnv2", scores)
        return fit.rows

    def sequence() -> int:
        scores, fit = train_sequence(replace(cfg, seq_epochs=1), d, progress=False)
        saved("sequence", scores)
        return fit.rows

    return {"dcnv2": dcn, "sequence": sequence}


# ---------------------------------------------------------------- ours: a learning-to-rank stack

# The ranker's own training rows: train's second half, in ten windows of time, each with features
# from the rows before it (features.ranker_windows). Narrow windows keep each row close to the end
# of its features' history, as a test pair is to train's (four wider windows scored lower on the
# small twin in a scratch comparison); the latest one is the validation curve's.
LTR_EDGES = tuple(round(0.5 + 0.05 * k, 2) for k in range(11))
# The stacked models' scores of those rows come from models trained on train[:cut] alone: rows in
# [0.5, 0.75) from the first half, rows in [0.75, 1) from the first three quarters (out of fold in
# time); the test pairs' from the models of notebooks 03 and 04, trained on all of train.
LTR_CUTS = (0.5, 0.75)
STACKED = ("dcn_nohistory", "sequence")
LTR_ROWS = {"ltr_stats": False, "ltr": True}  # row -> with the stacked models' scores
OURS = "ltr"


def _before(d: Data, a: int, b: int) -> Data:
    """``d`` cut in time: train rows before ``a`` are the train, rows [a, b) of users seen before
    ``a`` the test pairs (a model can score only a user it has seen)."""
    t = d.vk.train
    seen = np.zeros(d.tables.n_users, dtype=bool)
    seen[t["user_id"][:a].to_numpy()] = True
    queries = t[a:b].select("user_id", "item_id").filter(pl.Series(seen[t["user_id"][a:b].to_numpy()]))
    return Data(replace(d.vk, train=t[:a], test=queries), d.target[:a], d.tables, None)


def stacked_scores(cfg: Config, d: Data, progress: bool = False) -> tuple[dict[str, np.ndarray], float]:
    """Each stacked model's score of every train row from LTR_CUTS[0] on, from a model trained
    only on rows before its cut (NaN for a user first seen after it); NaN before LTR_CUTS[0]. With
    the seconds they took (training, a resumed run's earlier processes included, and predicting).
    Each model's scores of a cut are kept in the artifacts as soon as it is done, and the cut's once
    both are, keyed by the run's parameters and the rows: a killed run (four trainings at ``medium``,
    hours on a CPU) trains again only what it had not finished, from its checkpoint."""
    t = d.vk.train
    n = t.height
    out = {m: np.full(n, np.nan) for m in STACKED}
    bounds = [int(round(n * c)) for c in LTR_CUTS] + [n]
    seconds = 0.0
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        key = cache_key("ltr-stack", parameters=cfg.parameters(), cut=[a, b], train_bytes=d.vk.files[0].stat().st_size)
        path = cfg.artifacts / "ltr-stack" / f"cut{k}-{digest(key)}.npz"
        if not path.exists():
            start = time.perf_counter()
            part = _before(d, a, b)
            rows = a + np.flatnonzero(np.isin(t["user_id"][a:b].to_numpy(), part.vk.test["user_id"].to_numpy()))
            trainers = {
                "dcn_nohistory": lambda part=part, k=k: train_dcn(
                    cfg, part, "dcn_nohistory", None, progress, name=f"ltr-dcn-{k}"
                ),
                "sequence": lambda part=part, k=k: train_sequence(cfg, part, progress, name=f"ltr-sequence-{k}"),
            }
            kept = {m: path.with_name(f"cut{k}-{m}-{digest}.npz") for m in trainers}  # one model's scores
            scores, spent = {}, time.perf_counter() - start
            for m, train in trainers.items():
                one = kept[m]
                if not one.exists():
                    begin = time.perf_counter()
                    score, fit = train()
                    with atomic_path(one) as tmp, open(tmp, "wb") as f:  # creates the folder
                        np.savez(f, scores=score, seconds=time.perf_counter() - begin + fit.seconds_before)
                with np.load(one) as f:
                    scores[m], spent = f["scores"], spent + float(f["seconds"])
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.savez(f, rows=rows, seconds=spent, **scores)
            for one in kept.values():
                one.unlink()
        with np.load(path) as f:
            for m in STACKED:
                out[m][f["rows"]] = f[m]
            seconds += float(f["seconds"])
    return out, seconds


def _ranker_history(d: Data) -> tuple[pl.DataFrame, np.ndarray]:
    """Train with each row's class, and the item embeddings: what the ranker's features read."""
    return d.vk.train.with_columns(cls=pl.Series(d.target)), d.tables.item_embedding[:-1].numpy()


def ranker_rows(d: Data) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """(features, train positions, window) of the ranker's rows: ``features.ranker_windows``."""
    history, emb = _ranker_history(d)
    return features.ranker_windows(history, LTR_EDGES, d.vk.items, d.tables.n_users, emb)


def train_ltr(cfg: Config, d: Data, scores: pl.DataFrame, progress: bool = False) -> tuple[dict[str, np.ndarray], dict]:
    """Ours: the LightGBM lambdarank stack (rows ``ltr_stats``: the statistics alone; ``ltr``: with
    the stacked models' out-of-fold scores). Needs the stacked models' test scores in ``scores``.
    Returns (test scores per row, training facts: trees, seconds, feature importance)."""
    missing = [m for m in STACKED if m not in scores.columns]
    if missing:
        raise DataError(f"scores.parquet: no {missing}: run notebooks 03 and 04 first (the stack's inputs)")
    start = time.perf_counter()
    X, pos, window = ranker_rows(d)
    history, emb = _ranker_history(d)
    X_test = features.ranker_features(history, d.vk.test, d.vk.items, d.tables.n_users, emb)
    seconds_stats = time.perf_counter() - start
    stacked, seconds_stacked = stacked_scores(cfg, d, progress)
    y, query = d.target[pos], window.astype(np.int64) * d.tables.n_users + d.vk.train["user_id"].to_numpy()[pos]
    is_val = window == window.max()
    new, info = {}, {}
    for row, with_models in LTR_ROWS.items():
        t0 = time.perf_counter()
        fit_X, test_X = X, X_test
        if with_models:
            fit_X = X.with_columns(**{m: stacked[m][pos] for m in STACKED})
            test_X = X_test.with_columns(**{m: scores[m] for m in STACKED})
        booster, curve = models.train_ltr(fit_X.to_numpy(), y, query, is_val, fit_X.columns, cfg.seed)
        new[row] = booster.predict(test_X.to_numpy())
        importance = boosting.feature_importance(booster)
        info[row] = {
            "trees": booster.current_iteration(),
            "val_ndcg@20": [round(v, 6) for v in curve],
            "rows": len(y),
            "seconds": round(seconds_stats + (seconds_stacked if with_models else 0) + time.perf_counter() - t0, 1),
            "importance": dict(zip(importance["feature"], [round(float(g), 1) for g in importance["gain"]])),
        }
    return new, info


def ltr_seconds(training: dict, row: str) -> float | None:
    """What a ranker row costs: its own time (features, the out-of-fold models, the trees) plus the
    training of the stacked models whose test scores it reads (``ltr``)."""
    own = training.get(row, {}).get("seconds")
    if own is None:
        return None
    if not LTR_ROWS[row]:
        return own
    stacked = [training.get(m, {}).get("seconds") for m in STACKED]
    return None if None in stacked else own + sum(stacked)


def beyond_source(scores: pl.DataFrame, training: dict) -> pl.DataFrame:
    """Ours (and the ranker without the stacked scores) against the source's faithful DCNv2 and the
    submitted dcn_fixed: the paired per-user difference of ``auc_expected`` (true probabilities)
    and of ``auc`` (drawn classes) with their standard errors, and each side's training seconds
    in this run."""
    rows = []
    for ours in LTR_ROWS:
        for against in ("dcn_faithful", "dcn_fixed"):
            if ours not in scores.columns or against not in scores.columns:
                continue
            diff = paired_difference(scores, ours, against)
            rows.append(
                {
                    "ours": ours,
                    "against": against,
                    "gain": diff["auc_expected"],
                    "se": diff["auc_expected_se"],
                    "gain_drawn": diff["auc"],
                    "se_drawn": diff["auc_se"],
                    "seconds ours": ltr_seconds(training, ours),
                    "seconds against": training.get(against, {}).get("seconds"),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "ours": pl.String,
            "against": pl.String,
            "gain": pl.Float64,
            "se": pl.Float64,
            "gain_drawn": pl.Float64,
            "se_drawn": pl.Float64,
            "seconds ours": pl.Float64,
            "seconds against": pl.Float64,
        },
    )


# ---------------------------------------------------------------- scores, metrics, submission


def save_outputs(cfg: Config, d: Data, new: dict[str, np.ndarray], info: dict | None = None) -> pl.DataFrame:
    """Add columns to scores.parquet (test pairs in file order, one column per model) and facts to
    training.json; returns the whole table."""
    path = cfg.artifacts / "scores.parquet"
    frame = pl.read_parquet(path) if path.exists() else d.vk.test.select("user_id", "item_id")
    if d.truth is not None:
        frame = frame.with_columns(*d.truth.select("target", *TRUE_PROBS).get_columns())
    frame = frame.with_columns(**{k: pl.Series(k, v, dtype=pl.Float64) for k, v in new.items()})
    write_parquet_atomic(path, frame)
    cfg.save_training(data_facts(d), info or {})
    return frame


def load_outputs(cfg: Config) -> tuple[pl.DataFrame, dict]:
    path = cfg.artifacts / "scores.parquet"
    if not path.exists():
        raise DataError(
            f"{path.name}: not found; run notebooks 02 to 04 (or the pipeline) with the same SCALE/DATA_DIR/SEED"
        )
    return pl.read_parquet(path), cfg.load_training()


def fit_info(fit: models.Fit) -> dict:
    out = {
        "rows_per_s": round(fit.rows_per_s, 1),
        "seconds": round(fit.seconds, 1),
        "device": fit.device,
        "losses": [round(x, 6) for x in fit.losses],
    }
    if fit.val_losses:
        out |= {
            "val_losses": [round(x, 6) for x in fit.val_losses],
            "epochs": len(fit.val_losses),
            "best_epoch": int(np.argmin(fit.val_losses)) + 1,
        }
    return out


def evaluate(scores: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """Per-user ROC-AUC of each model on the test pairs (twin: drawn classes). ``auc`` skips the
    users whose 20 pairs share one class (our rule); ``auc_zero`` counts them as 0 (the rule of one
    public implementation), shown once for comparison. ``auc_expected`` (twin only) is the same
    ranking scored against the true class probabilities instead of one drawn class per pair: far
    less noisy, the column to compare two models by."""
    if "target" not in scores.columns:
        raise DataError("the test labels are hidden in the real data: only the leaderboard scores a submission")
    users, y = scores["user_id"].to_numpy(), scores["target"].to_numpy()
    probs = scores.select(TRUE_PROBS).to_numpy() if set(TRUE_PROBS) <= set(scores.columns) else None
    rows = []
    for name in names:
        s = scores[name].to_numpy()
        row = {
            "model": name,
            "auc": mean_user_roc_auc(users, y, s),
            "auc_zero": mean_user_roc_auc(users, y, s, single_label="zero"),
        }
        if probs is not None:
            row["auc_expected"] = mean_user_expected_roc_auc(users, probs, s)
        rows.append(row)
    return pl.DataFrame(rows)


def paired_difference(scores: pl.DataFrame, a: str, b: str) -> dict[str, float]:
    """Model ``a`` minus model ``b`` on the same test users: the mean per-user difference and its
    standard error, for ``auc`` (drawn classes, users with two or more classes) and ``auc_expected``
    (true probabilities). Pairing by user removes the spread between users that both models share."""
    users, y = scores["user_id"].to_numpy(), scores["target"].to_numpy()
    probs = scores.select(TRUE_PROBS).to_numpy()
    out = {}
    for metric, per_user in (
        ("auc", lambda s: per_user_roc_auc(users, y, s)),
        ("auc_expected", lambda s: per_user_expected_roc_auc(users, probs, s)),
    ):
        diff = metrics.paired_difference(per_user(scores[a].to_numpy())["auc"], per_user(scores[b].to_numpy())["auc"])
        out |= {metric: diff["mean"], f"{metric}_se": diff["se"]}
    return out


def write_submission(cfg: Config, scores: pl.DataFrame, training: dict, table: pl.DataFrame | None) -> Path:
    rows = {r["model"]: r for r in table.to_dicts()} if table is not None else {}
    metrics = {"auc": rows[cfg.submitted]["auc"]} if cfg.submitted in rows else {}
    if OURS in rows:
        metrics["auc_ours"] = rows[OURS]["auc"]
        if "dcn_faithful" in scores.columns and "auc_expected" in rows[OURS]:  # the README's claim, held here
            diff = paired_difference(scores, OURS, "dcn_faithful")
            metrics |= {
                "ours_minus_faithful_auc_expected": diff["auc_expected"],
                "ours_minus_faithful_auc_expected_se": diff["auc_expected_se"],
            }
    comparison = {m: {k: r[k] for k in ("auc", "auc_expected") if k in r} for m, r in rows.items()}
    ours = scores[OURS].to_numpy() if OURS in scores.columns else None
    report = Report(training["config"], cfg.data_source(), metrics, comparison, training.get("data"), cfg.profile)
    return submit.write(scores.select("user_id", "item_id"), scores[cfg.submitted].to_numpy(), report, ours=ours)


def kept_by_resume(cfg: Config, d: Data, scores: pl.DataFrame) -> set[str]:
    """The torch rows an earlier run of the same parameters finished: their scores are in
    scores.parquet and training.json holds the key they were trained under."""
    training = cfg.load_training()
    keys = {row: dcn_key(cfg, d, row) for row in DCN_ROWS} | {"sequence": sequence_key(cfg, d)}
    return {row for row, key in keys.items() if row in scores.columns and training.get(row, {}).get("key") == key}


def run(
    cfg: Config,
    names: Sequence[str] = MODELS,
    timer: StageTimer | None = None,
    progress: bool = False,
    resume: bool = False,
    fresh_twin: bool = False,
    loop_ratio: bool = False,
) -> pl.DataFrame | None:
    """The whole pipeline; returns the comparison table (None on the real files: hidden labels).
    ``timer`` only times the stages; ``fresh_twin`` generates the twin again even when it is cached,
    ``loop_ratio`` times the source's history loop against ours (``history_ratio``; ``make bench``
    asks for both).
    ``resume``: the torch rows a killed run of the same parameters finished are kept, not trained
    again (the model it was killed in continues from its checkpoint either way; the ranker's
    out-of-fold models are kept per cut either way): hours at ``medium`` on a CPU."""
    stage = bench.stages(timer)
    if cfg.is_twin and fresh_twin:
        with stage("twin: generate"):
            twin.generate(cfg.scale, cfg.seed, progress=progress, params=cfg.twin_params)
    seed_everything(cfg.seed)
    with stage("load"):
        d = load_data(cfg)
    with stage("baselines"):
        new = baseline_scores(cfg, d)
    hist = None
    if "history" in names or any(DCN_ROWS.get(n) for n in names):
        hist = history(cfg, d, progress, stage)
    if loop_ratio:
        history_ratio(d, stage)
    scores = save_outputs(cfg, d, {k: v for k, v in new.items() if k in names})
    kept = kept_by_resume(cfg, d, scores) if resume else set()
    for row in (*DCN_ROWS, "sequence"):  # each row's scores saved as soon as it is trained
        if row not in names:
            continue
        if row in kept:
            bench.kept_by_resume(stage, row, progress)
            continue
        with stage(row):
            if row == "sequence":
                score, fit = train_sequence(cfg, d, progress)
            else:
                score, fit = train_dcn(cfg, d, row, hist, progress)
        key = sequence_key(cfg, d) if row == "sequence" else dcn_key(cfg, d, row)
        scores = save_outputs(cfg, d, {row: score}, {row: fit_info(fit) | {"key": key}})
    if any(row in names for row in LTR_ROWS):
        with stage("ltr stack, ours (features, out-of-fold models, trees)"):
            ltr, ltr_info = train_ltr(cfg, d, scores, progress)
        scores = save_outputs(cfg, d, {k: v for k, v in ltr.items() if k in names}, ltr_info)
    with stage("evaluate + submit"):
        training = cfg.load_training()
        table = evaluate(scores, [m for m in MODELS if m in scores.columns]) if cfg.is_twin else None
        if cfg.submitted in scores.columns:
            write_submission(cfg, scores, training, table)
    return table


def seed_study(cfg: Config, seeds: Sequence[int], progress: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every trained row of SEED_ROWS trained again with other model seeds on the same data (the
    twin of ``cfg.seed``; the run's own seed is read from scores.parquet): the DCNv2 rows, the
    sequence model and the two rankers (each seed its own stacked models, out-of-fold ones included,
    and LightGBM's seed). Per model and seed: ROC-AUC, ``auc_expected``, the paired per-user gain over
    the faithful DCNv2 with its standard error, and training seconds (a ranker's: its own plus the
    models it stacks). Then ``seed_summary``."""
    d = load_data(cfg)
    hist = history(cfg, d)
    scores, training = load_outputs(cfg)
    base = scores.select("user_id", "item_id", "target", *TRUE_PROBS)
    rows = []
    for seed in seeds:
        if seed == cfg.seed and set(SEED_ROWS) <= set(scores.columns):
            seeded, info = scores, training
        else:
            run_cfg = replace(cfg, seed=seed)  # a model seed only: `d` is the twin of cfg.seed
            new, info = {}, {}
            for row in SEED_ROWS:  # the torch models; then both rankers from their scores
                if row == "sequence":
                    new[row], fit = train_sequence(run_cfg, d, progress)
                elif row in DCN_ROWS:
                    new[row], fit = train_dcn(run_cfg, d, row, hist, progress)
                else:
                    continue
                info[row] = fit_info(fit)
            ltr, ltr_info = train_ltr(run_cfg, d, pl.DataFrame(new), progress)
            seeded, info = pl.DataFrame(new | ltr), info | ltr_info
        table = base.with_columns(*(pl.Series(row, seeded[row]) for row in SEED_ROWS))
        measured = {r["model"]: r for r in evaluate(table, SEED_ROWS).to_dicts()}
        for row in SEED_ROWS:
            diff = paired_difference(table, row, "dcn_faithful")
            rows.append(
                {
                    "model": row,
                    "seed": seed,
                    "auc": measured[row]["auc"],
                    "auc_expected": measured[row]["auc_expected"],
                    "gain_vs_faithful": diff["auc_expected"],
                    "gain_se": diff["auc_expected_se"],
                    "seconds": ltr_seconds(info, row) if row in LTR_ROWS else info[row]["seconds"],
                    "rows_per_s": info[row].get("rows_per_s"),
                }
            )
    per_seed = pl.DataFrame(rows, schema_overrides={"rows_per_s": pl.Float64})
    return per_seed, seed_summary(per_seed)


def seed_summary(per_seed: pl.DataFrame) -> pl.DataFrame:
    """The seed study's summary from its per-seed rows, per model: the means and spreads over seeds,
    the ``auc_expected`` gain over the faithful DCNv2 across seeds with both noises
    (``shared.eval.metrics.across_seeds``: the bar is more than two standard errors) and its time over the
    faithful DCNv2's."""
    faithful = per_seed.filter(pl.col("model") == "dcn_faithful")["seconds"].sum()
    summary = []
    for row in per_seed["model"].unique(maintain_order=True).to_list():
        one = per_seed.filter(pl.col("model") == row)
        g = (
            {}
            if row == "dcn_faithful" or one.height < 2
            else across_seeds(one["gain_vs_faithful"].to_list(), one["gain_se"].to_list())
        )
        summary.append(
            {
                "model": row,
                "seeds": one.height,
                "auc_mean": one["auc"].mean(),
                "auc_sd": one["auc"].std(),
                "auc_expected_mean": one["auc_expected"].mean(),
                "auc_expected_sd": one["auc_expected"].std(),
                "gain": g.get("gain"),
                "gain_sd": g.get("sd"),
                "gain_se_seeds": g.get("se_seeds"),
                "gain_se_users": g.get("se_users"),
                "gain_se": g.get("se"),
                "met": g.get("met"),
                "time_vs_faithful": one["seconds"].sum() / faithful,
            }
        )
    gains = ("gain", "gain_sd", "gain_se_seeds", "gain_se_users", "gain_se")
    return pl.DataFrame(summary, schema_overrides={k: pl.Float64 for k in gains} | {"met": pl.Boolean})


def bench_options(scale: str, real: bool, gpu: bool) -> list[str]:
    """What ``make bench`` adds to ``--bench --fresh-twin``: at ``full`` on a CPU only the rows a CPU
    can time there (``BENCH_FULL_CPU``), and the history loop's ratio."""
    full_cpu = not real and scale == "full" and not gpu
    return [*(["--models", ",".join(BENCH_FULL_CPU)] if full_cpu else []), "--loop-ratio"]


def cli_parser() -> argparse.ArgumentParser:
    """The command line: the options every pipeline shares and this track's own."""
    parser = pipeline_parser(__doc__, Config.SCALES)
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help="comma-separated rows of the table, and 'history' for the history features alone "
        f"(default: all; make bench at full on a CPU: {','.join(BENCH_FULL_CPU)})",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the DCNv2 and sequence rows that a killed run of the same parameters finished "
        "(their scores are in the artifacts) instead of training them again",
    )
    parser.add_argument(
        "--loop-ratio",
        action="store_true",
        help="also time the source's per-row history loop against ours on a slice (make bench: the README's ratio)",
    )
    add_model_seeds(parser, ", ".join(SEED_ROWS))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = cli_parser().parse_args(argv)
    try:
        cfg = Config(scale=args.scale, data_dir=args.data_dir, seed=args.seed)
        cfg = profiles.apply(cfg, args.profile, argv, args.params)
        timer = StageTimer() if args.bench else None
        names = tuple(m for m in args.models.split(",") if m)
        table = run(
            cfg, names, timer, progress=True, resume=args.resume, fresh_twin=args.fresh_twin, loop_ratio=args.loop_ratio
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if table is not None:
        with pl.Config(float_precision=4):
            print(table)
    if timer:
        record_bench(timer, TRACK, cfg, "+".join(names), args.bench_dir)
        if table is not None:  # with each model's training speed (rows/s) of this run
            training = cfg.load_training()
            speed = [training.get(m, {}).get("rows_per_s") for m in table["model"]]
            record_table(
                table.with_columns(rows_per_s=pl.Series(speed, dtype=pl.Float64)),
                TRACK,
                cfg,
                "+".join(names),
                args.bench_dir,
            )
            beyond = beyond_source(*load_outputs(cfg))
            if beyond.height:  # ours against the faithful and submitted rows: the README's figures
                record_table(beyond, TRACK, cfg, "beyond", args.bench_dir)
    if args.model_seeds and table is not None:
        cli.seed_study(
            lambda seeds: seed_study(cfg, seeds, progress=True),
            args.model_seeds,
            TRACK,
            cfg,
            args.bench_dir,
            bool(timer),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
