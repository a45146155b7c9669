"""The HSE RecSys 2024 pipeline in stages, shared by the notebooks, ``make bench`` and the CLI.

    python -m solutions.hse_sasrec.pipeline --scale small            # whole pipeline on the twin
    python -m solutions.hse_sasrec.pipeline --data-dir ~/data/hse    # on the real (or converted) files
    python -m solutions.hse_sasrec.pipeline --scale small --bench    # time + peak memory per stage
    make bench TRACKS=hse_sasrec                  # at full, with the options bench_options names

Each model recommends 10 unseen items per user at three steps: ``val`` (from the train history,
scored on the second-to-last events), ``test`` (from train + val, scored on the last events: the
comparison table) and, for the submitted SASRec, ``submit`` (from the whole history; the twin
scores it on each user's hidden next event).

Rows of the comparison table:
  random, popularity   seeded noise; most frequent items
  sasrec               RePlay SASRec (replay.nn), checkpointed on val recall@10 (the submission)
  bert4rec             RePlay Bert4Rec (legacy replay.models.nn), checkpointed the same way
  slim, als, itemknn   RePlay's classic models on a local Spark session (skipped, with the reason,
                       where pyspark or Java is missing)
  reranker             LightGBM lambdarank over SASRec's top 50: trained on the validation step's
                       labels (early-stopped on a fifth of its users), scored on the untouched test step
  sasrec_lit           ours: SASRec as the literature trains it (2 blocks, 1 head, width 64, dropout
                       0.1, 200 items, early stopping on val recall@10)
  oracle               the twin's true next-item distribution (twin only)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

import shared.eval.metrics as shared_metrics
from shared.data.io import write_parquet_atomic
from shared.eval.metrics import across_seeds, per_user_topn
from shared.runtime.errors import DataError
from shared.runtime.seed import seed_everything
from shared.track import cli, profiles
from shared.track.cli import add_model_seeds, pipeline_parser, record_bench, record_table
from shared.track.config import TrackConfig
from shared.track.submission import Report
from shared.train import bench
from shared.train.bench import StageTimer
from solutions.hse_sasrec import TRACK, data, features, models, submit, twin

CLASSIC = models.CLASSIC
OURS = "sasrec_lit"  # ours: SASRec as the literature trains it (models.SASREC_PRESETS["literature"])
MODELS = ("random", "popularity", *CLASSIC, "sasrec", "bert4rec", "reranker", OURS, "oracle")
SUBMITTED = "sasrec"
STEPS = ("val", "test")
RERANK_BERT4REC_K = 100  # BERT4Rec's top this many score the reranker's candidates (features.py)
HISTORIES = ("full", "faithful")
# The team's real-data numbers (local holdout, RePlay 0.18) and leaderboard: not comparable with any
# twin figure; shown beside the twin's table in the README.
SOURCE = {
    "SASRec final (holdout)": {"hitrate": 0.3013, "ndcg": 0.1649, "map": 0.1236},
    "SASRec first (holdout)": {"hitrate": 0.2916, "ndcg": 0.1596},
    "BERT4Rec (holdout)": {"hitrate": 0.1957, "ndcg": 0.1032},
    "SLIM (val)": {"hitrate": 0.0866, "ndcg": 0.0402},
    "ALS (val)": {"hitrate": 0.0826, "ndcg": 0.0371},
    "ItemKNN (val)": {"hitrate": 0.0598, "ndcg": 0.0289},
}
SOURCE_LB = {"SASRec (the team)": 0.2453, "SASRec (a peer)": 0.2394, "BERT4Rec (a peer)": 0.1769}


@dataclass(frozen=True)
class Config(TrackConfig):
    scale: str = "small"  # twin size: tiny | small | full (ignored with data_dir)
    data_dir: str = ""  # folder with events.csv, item_features.csv, user_features.csv; "" = synthetic twin
    seed: int = 42
    profile: str = "teach"  # teach | source (shared.track.profiles: notebooks/hse_sasrec/source.yaml)
    sasrec_preset: str = "cpu"  # cpu (default) | first | final (the team's; a GPU job, README)
    sasrec_epochs: int = 0  # 0: the preset's
    submit_history: str = "full"  # full: predict from every event | faithful: as the team, without the last
    bert4rec_preset: str = "cpu"  # cpu (default) | team (the team's configuration; a GPU job)
    bert4rec_epochs: int = 0  # 0: the preset's
    patience: int = 0  # early stopping of both sequence models on val recall@10 (0: the presets', none)
    twin_params: twin.Params = twin.Params()  # the twin's global parameters; calibrate.py tries others

    TRACK = TRACK
    ensure_twin = staticmethod(twin.ensure)
    real_files = staticmethod(data.resolve_files)
    twin_version = twin.VERSION
    SCALES = tuple(twin.SCALES)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sasrec_preset not in models.SASREC_PRESETS:
            raise ValueError(f"sasrec_preset must be one of {list(models.SASREC_PRESETS)}, got {self.sasrec_preset!r}")
        if self.bert4rec_preset not in models.BERT4REC_PRESETS:
            raise ValueError(
                f"bert4rec_preset must be one of {list(models.BERT4REC_PRESETS)}, got {self.bert4rec_preset!r}"
            )
        if self.submit_history not in HISTORIES:
            raise ValueError(f"submit_history must be one of {HISTORIES}, got {self.submit_history!r}")

    @property
    def sasrec(self) -> models.SeqParams:
        p = models.SASREC_PRESETS[self.sasrec_preset]
        p = dataclasses.replace(p, epochs=self.sasrec_epochs) if self.sasrec_epochs else p
        return dataclasses.replace(p, patience=self.patience) if self.patience else p

    @property
    def bert4rec(self) -> models.BertParams:
        p = models.BERT4REC_PRESETS[self.bert4rec_preset]
        p = dataclasses.replace(p, epochs=self.bert4rec_epochs) if self.bert4rec_epochs else p
        return dataclasses.replace(p, patience=self.patience) if self.patience else p


@dataclass
class Data:
    hse: data.HSE
    split: models.Split
    world: twin.World | None  # twin only: the generating process (oracle)
    truth: pl.DataFrame | None  # twin only: each user's hidden next event

    @property
    def n_users(self) -> int:
        return self.hse.n_users

    @property
    def n_items(self) -> int:
        return self.hse.n_items

    def history(self, step: str) -> pl.DataFrame:
        return {"val": self.split.train, "test": self.split.test_events, "submit": self.hse.events}[step]

    def ground_truth(self, step: str) -> pl.DataFrame:
        return {"val": self.split.val_gt, "test": self.split.test_gt}[step]


def load_data(cfg: Config) -> Data:
    """Load and check the three files (generating the twin on first use), then split."""
    folder = cfg.data_folder()
    hse = data.load(folder)
    world = twin.world_for(cfg.scale, cfg.seed, cfg.twin_params) if cfg.is_twin else None
    truth = pl.read_parquet(folder / twin.TRUTH) if cfg.is_twin else None
    return Data(hse, models.split(hse.events), world, truth)


def describe(d: Data) -> pl.DataFrame:
    ev = d.hse.events
    per_user = ev.group_by("user_id").len()["len"]
    facts = {
        "events": ev.height,
        "users": d.n_users,
        "items": d.n_items,
        "items with events": ev["item_id"].n_unique(),
        "events per user (min / median / max)": f"{per_user.min()} / {per_user.median():g} / {per_user.max()}",
        "mean rating": f"{ev['rating'].mean():.3f}",
        "train rows": d.split.train.height,
        "val rows": d.split.val_gt.height,
        "test rows": d.split.test_gt.height,
    }
    return pl.DataFrame({"fact": list(facts), "value": [f"{v:,}" if isinstance(v, int) else v for v in facts.values()]})


def data_facts(d: Data) -> dict[str, float]:
    ev = d.hse.events
    per_user = ev.group_by("user_id").len()["len"]
    return {
        "events": float(ev.height),
        "users": float(d.n_users),
        "items": float(d.n_items),
        "median_events_per_user": float(per_user.median()),
        "mean_rating": float(ev["rating"].mean()),
        "train_rows": float(d.split.train.height),
    }


# ---------------------------------------------------------------- recommendations on disk


def recs_path(cfg: Config, model: str, step: str) -> Path:
    return cfg.artifacts / "recs" / f"{model}-{step}.parquet"


def save_outputs(cfg: Config, model: str, step: str, recs: pl.DataFrame) -> None:
    write_parquet_atomic(recs_path(cfg, model, step), recs)


def load_outputs(cfg: Config, model: str, step: str) -> pl.DataFrame:
    path = recs_path(cfg, model, step)
    if not path.exists():
        trainer = "sasrec" if model == "sasrec50" else model
        raise DataError(
            f"{model}-{step}: no recommendations; run the notebook that trains {trainer} "
            f"(or the pipeline) with the same SCALE/DATA_DIR/SEED"
        )
    return pl.read_parquet(path)


# ---------------------------------------------------------------- models


def baselines(cfg: Config, d: Data, names: Sequence[str] = ("random", "popularity", "oracle")) -> None:
    for step in STEPS:
        hist = d.history(step)
        if "random" in names:
            save_outputs(cfg, "random", step, models.random_recs(hist, d.n_users, d.n_items, cfg.seed))
        if "popularity" in names:
            save_outputs(cfg, "popularity", step, models.popularity(hist, d.n_users, d.n_items))
        if "oracle" in names and d.world is not None:
            save_outputs(cfg, "oracle", step, models.oracle(d.world, hist, d.n_users, d.n_items))


def seq_info(fit: models.SeqFit, params) -> dict:
    return {
        "params": dataclasses.asdict(params),
        "epochs": fit.epochs,
        "best_epoch": fit.best_epoch,
        "seconds_per_epoch": round(fit.seconds_per_epoch, 2),
        "device": fit.device,
    }


def train_sasrec(cfg: Config, d: Data, progress: bool = True, stage=bench.no_stage) -> models.SeqFit:
    """Train on the train split (checkpoint on val recall@10), then recommend at every step; the
    ``submit`` step from the whole history, and ``submit_faithful`` as the team did (without the
    last event, which stays recommendable)."""
    seed_everything(cfg.seed)
    p = cfg.sasrec
    with stage(f"sasrec: train {p.epochs} epoch(s)", variant="sasrec"):
        fit = models.train_sasrec(
            d.split.train,
            d.split.val_gt,
            d.n_items,
            p,
            cfg.seed,
            progress,
            resume_dir=cfg.artifacts / "checkpoints" / "sasrec",
        )
    with stage("sasrec: recommend", variant="sasrec"):
        _sasrec_recs(cfg, d, fit)
    cfg.save_training(data_facts(d), {"sasrec": seq_info(fit, p)})
    return fit


def _sasrec_recs(cfg: Config, d: Data, fit: models.SeqFit) -> None:
    """Three predictions: the top 50 at each step (the reranker's candidates; their first 10 are
    SASRec's row), and the top 10 after the whole history. The team's faithful submission is the
    test step's top 10: the same history (without the last event), the same seen items."""
    for step in STEPS:
        top50 = models.predict_sasrec(fit, d.history(step), k=models.CANDIDATES)
        save_outputs(cfg, "sasrec50", step, top50)
        save_outputs(cfg, "sasrec", step, top50.filter(pl.col("rank") <= data.TOP_K))
    save_outputs(cfg, "sasrec", "submit", models.predict_sasrec(fit, d.hse.events))
    save_outputs(cfg, "sasrec", "submit_faithful", load_outputs(cfg, "sasrec", "test"))


def train_literature(cfg: Config, d: Data, progress: bool = True, stage=bench.no_stage) -> models.SeqFit:
    """Ours: SASRec with the literature's configuration, its own row beside the team's (its top 10
    at the val and test steps, and at the ``submit`` step from the whole history, written as
    ``submit.OURS_FILENAME`` beside the submission, which stays the team's SASRec). ``sasrec_epochs``
    caps its epochs too (the notebook tests)."""
    seed_everything(cfg.seed)
    p = _preset(cfg, OURS)
    with stage(f"{OURS}: train at most {p.epochs} epoch(s)", variant=OURS):
        fit = models.train_sasrec(
            d.split.train,
            d.split.val_gt,
            d.n_items,
            p,
            cfg.seed,
            progress,
            resume_dir=cfg.artifacts / "checkpoints" / OURS,
        )
    with stage(f"{OURS}: recommend", variant=OURS):
        for step in (*STEPS, "submit"):
            save_outputs(cfg, OURS, step, models.predict_sasrec(fit, d.history(step)))
    cfg.save_training(data_facts(d), {OURS: seq_info(fit, p)})
    return fit


def train_bert4rec(cfg: Config, d: Data, progress: bool = True, stage=bench.no_stage) -> models.SeqFit:
    seed_everything(cfg.seed)
    p = cfg.bert4rec
    with stage(f"bert4rec: train {p.epochs} epoch(s)", variant="bert4rec"):
        fit = models.train_bert4rec(
            d.split.train,
            d.split.val_gt,
            d.n_items,
            p,
            cfg.seed,
            progress,
            resume_dir=cfg.artifacts / "checkpoints" / "bert4rec",
        )
    with stage("bert4rec: recommend", variant="bert4rec"):
        for step in STEPS:  # its top 100 also scores the reranker's candidates
            top = models.predict_bert4rec(fit, d.history(step), k=RERANK_BERT4REC_K)
            save_outputs(cfg, "bert4rec100", step, top)
            save_outputs(cfg, "bert4rec", step, top.filter(pl.col("rank") <= data.TOP_K))
    cfg.save_training(data_facts(d), {"bert4rec": seq_info(fit, p)})
    return fit


def gpu_checks(scale: str = "full", epochs: int = 2, **sizes) -> dict:
    """``make gpu-check`` (``shared.tools.gpu_check``): SASRec and BERT4Rec (the `cpu` presets) for
    ``epochs`` epochs on the train split, then their recommendations at every step. Each run
    returns the train events it went through. ``sizes``: other ``Config`` fields (the tests' tiny.yaml;
    ``epochs`` is kept)."""
    cfg = Config(**{"scale": scale, **sizes, "sasrec_epochs": epochs, "bert4rec_epochs": epochs})
    d = load_data(cfg)

    def sasrec() -> int:
        train_sasrec(cfg, d, progress=False)
        return epochs * d.split.train.height

    def bert4rec() -> int:
        train_bert4rec(cfg, d, progress=False)
        return epochs * d.split.train.height

    return {"sasrec": sasrec, "bert4rec": bert4rec}


def train_classic(cfg: Config, d: Data, names: Sequence[str] = CLASSIC) -> str | None:
    """The classic models on Spark: recommendations at both steps and, where SASRec's candidates
    exist, their scores of the candidate pairs. Returns None, or why Spark could not run."""
    problem = models.spark_status()
    if problem:
        return problem
    pairs = {step: load_outputs(cfg, "sasrec50", step) for step in STEPS if recs_path(cfg, "sasrec50", step).exists()}
    info = {}
    for name in names:
        out, timing = models.train_classic(name, d.split.train, {s: d.history(s) for s in STEPS}, cfg.seed, pairs=pairs)
        for key, frame in out.items():
            save_outputs(cfg, name, key, frame)
        info[name] = timing
    cfg.save_training(data_facts(d), {"classic": info})
    return None


def reranker_frames(cfg: Config, d: Data) -> dict[str, pl.DataFrame]:
    """Candidate features at the val step (labelled with the val events) and the test step
    (unlabelled: the test events are only used to score)."""
    out = {}
    for step in STEPS:
        pair_scores = [
            load_outputs(cfg, m, f"pairs-{step}") for m in CLASSIC if recs_path(cfg, m, f"pairs-{step}").exists()
        ]
        truth = d.split.val_gt if step == "val" else None
        bert = recs_path(cfg, "bert4rec100", step)
        out[step] = features.candidate_features(
            load_outputs(cfg, "sasrec50", step),
            d.history(step),
            d.hse.items,
            d.hse.users,
            pair_scores,
            truth,
            load_outputs(cfg, "bert4rec100", step) if bert.exists() else None,
        )
    return out


def train_reranker(cfg: Config, d: Data, progress: bool = False) -> dict:
    frames = reranker_frames(cfg, d)
    columns = features.feature_columns(frames["val"].drop("label"))
    fit = models.train_reranker(frames["val"], columns, cfg.seed, progress=progress)
    booster = fit.booster
    save_outputs(cfg, "reranker", "test", models.rerank(booster, frames["test"], columns))
    gain = booster.feature_importance("gain")
    importance = dict(
        sorted(zip(columns, (round(float(g), 2) for g in gain / max(gain.sum(), 1e-12))), key=lambda kv: -kv[1])
    )
    val = frames["val"]
    info = {
        "features": columns,
        "importance": importance,
        "trees": fit.best_iteration,
        "rounds": fit.n_trees,
        f"holdout_ndcg@{data.TOP_K}": round(fit.val_score, 6),
        "val_users_with_hit": int(val.group_by("user_id").agg(pl.col("label").max())["label"].sum()),
        "val_users": int(val["user_id"].n_unique()),
    }
    cfg.save_training(data_facts(d), {"reranker": info})
    return info


# ---------------------------------------------------------------- evaluation and submission


def evaluate(cfg: Config, d: Data, names: Sequence[str] = MODELS, step: str = "test") -> pl.DataFrame:
    """One row per model with recommendations on disk: HitRate/NDCG/MAP/Recall/MRR/Coverage@10.
    The reranker exists only at the test step (the val step is its training data)."""
    rows = []
    for name in names:
        if not recs_path(cfg, name, step).exists():
            continue
        recs = load_outputs(cfg, name, step)
        rows.append({"model": name, **models.evaluate(recs, d.ground_truth(step), d.split.train)})
    return pl.DataFrame(rows)


def paired_difference(cfg: Config, d: Data, a: str, b: str, step: str = "test") -> dict[str, float]:
    """Model ``a`` minus model ``b`` at ``step``, user by user (every user has one held-out event):
    the mean per-user difference of HitRate@10 and NDCG@10 and their standard errors."""
    truth = d.ground_truth(step)
    per = [per_user_topn(load_outputs(cfg, m, step), truth, data.TOP_K) for m in (a, b)]
    out = {}
    for metric in ("hitrate", "ndcg"):
        diff = shared_metrics.paired_difference(per[0][metric].to_numpy(), per[1][metric].to_numpy())
        out |= {metric: diff["mean"], f"{metric}_se": diff["se"]}
    return out


def seed_study(cfg: Config, seeds: Sequence[int], progress: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Ours (``sasrec_lit``) and the team's SASRec (``cfg.sasrec``) trained again with other model
    seeds on the same twin and split (those of ``cfg.seed``; the run's own seed reuses its saved
    recommendations): per seed, each one's test-step HitRate@10 and NDCG@10, ours' per-user paired
    gains with their standard errors and both training times; then ``seed_summary``."""
    d = load_data(cfg)
    truth = d.ground_truth("test")
    presets = {m: _preset(cfg, m) for m in ("sasrec", OURS)}
    training = cfg.load_training()
    rows = []
    for seed in seeds:
        per, seconds = {}, {}
        for model, p in presets.items():
            if seed == cfg.seed and recs_path(cfg, model, "test").exists() and model in training:
                recs = load_outputs(cfg, model, "test")
                seconds[model] = training[model]["seconds_per_epoch"] * len(training[model]["epochs"])
            else:
                seed_everything(seed)
                start = time.perf_counter()
                fit = models.train_sasrec(
                    d.split.train,
                    d.split.val_gt,
                    d.n_items,
                    p,
                    seed,
                    progress,
                    resume_dir=cfg.artifacts / "checkpoints" / f"{model}-seed{seed}",
                )
                seconds[model] = time.perf_counter() - start
                recs = models.predict_sasrec(fit, d.history("test"))
            per[model] = per_user_topn(recs, truth, data.TOP_K)
        row = {"seed": seed}
        for k in ("hitrate", "ndcg"):
            diff = shared_metrics.paired_difference(per[OURS][k].to_numpy(), per["sasrec"][k].to_numpy())
            row |= {
                f"sasrec_{k}@10": per["sasrec"][k].mean(),
                f"ours_{k}@10": per[OURS][k].mean(),
                f"gain_{k}": diff["mean"],
                f"gain_{k}_se": diff["se"],
            }
        rows.append(row | {"sasrec_s": seconds["sasrec"], "ours_s": seconds[OURS]})
    per_seed = pl.DataFrame(rows)
    return per_seed, seed_summary(per_seed)


def seed_summary(per_seed: pl.DataFrame) -> pl.DataFrame:
    """The seed study's summary from its per-seed rows: per metric, ours' gain across seeds with both
    noises (``shared.eval.metrics.across_seeds``) and ours' training time over the team's SASRec's."""
    return pl.DataFrame(
        [
            {
                "metric": f"{k}@10",
                **across_seeds(per_seed[f"gain_{k}"].to_list(), per_seed[f"gain_{k}_se"].to_list()),
                "time_ratio": float(per_seed["ours_s"].sum() / per_seed["sasrec_s"].sum()),
            }
            for k in ("ndcg", "hitrate")
        ]
    )


def hidden_next(cfg: Config, d: Data, model: str = SUBMITTED) -> pl.DataFrame | None:
    """Twin only: the submission's two histories (ours: the whole history) scored on each user's
    hidden next event (the twin's stand-in for the leaderboard; not a leaderboard score)."""
    if d.truth is None:
        return None
    rows = []
    for history, step in (("full", "submit"), ("faithful", "submit_faithful")):
        if recs_path(cfg, model, step).exists():
            m = models.evaluate(load_outputs(cfg, model, step), d.truth, d.hse.events)
            rows.append({"history": history, "hitrate": m["hitrate"], "ndcg": m["ndcg"]})
    return pl.DataFrame(rows)


def ours_metrics(cfg: Config, d: Data, rows: dict[str, dict]) -> dict[str, float]:
    """Ours (``sasrec_lit``) in the manifest: its holdout metrics, its per-user paired differences
    from the team's SASRec at the test step (with their standard errors) and, on the twin, its
    hidden-next-event scores."""
    if OURS not in rows or SUBMITTED not in rows:
        return {}
    out = {f"holdout_{k}@10_ours": rows[OURS][k] for k in models.METRICS}
    diff = paired_difference(cfg, d, OURS, SUBMITTED)
    for k in ("hitrate", "ndcg"):
        out |= {f"ours_minus_sasrec_{k}@10": diff[k], f"ours_minus_sasrec_{k}@10_se": diff[f"{k}_se"]}
    hidden = hidden_next(cfg, d, OURS)
    if hidden is not None and hidden.height:
        out |= {f"twin_hidden_next_{k}@10_ours": hidden[k][0] for k in ("hitrate", "ndcg")}
    return out


def bench_table(cfg: Config, d: Data, table: pl.DataFrame) -> pl.DataFrame:
    """The comparison table as ``make bench`` records it beside the timings: each trained row's
    epochs and training seconds (every epoch's, a resumed run's earlier processes included, from
    training.json) and, on ours' row, its per-user paired gains over the team's SASRec with their
    standard errors: the figures a README may quote for a scale no notebook runs (``full``)."""
    training = cfg.load_training()
    names = table["model"].to_list()
    gains = {}
    if OURS in names and SUBMITTED in names:
        diff = paired_difference(cfg, d, OURS, SUBMITTED)
        gains = {f"gain_{k}": diff[k] for k in ("hitrate", "ndcg")} | {
            f"gain_{k}_se": diff[f"{k}_se"] for k in ("hitrate", "ndcg")
        }
    extra = []
    for name in names:
        info = training.get(name, {}) if name in ("sasrec", "bert4rec", OURS) else {}
        epochs = len(info.get("epochs", [])) or None
        extra.append(
            {
                "epochs": epochs,
                "best_epoch": info.get("best_epoch") if epochs else None,
                "train_s": info["seconds_per_epoch"] * epochs if epochs else None,
                **{k: (v if name == OURS else None) for k, v in gains.items()},
            }
        )
    return table.hstack(pl.DataFrame(extra, schema_overrides={"train_s": pl.Float64} | {k: pl.Float64 for k in gains}))


def write_submission(cfg: Config, d: Data, table: pl.DataFrame | None = None) -> Path:
    """The submission and its manifest; ``table`` (the test-step comparison, computed if not given)
    supplies the holdout metrics, on the twin and on real files alike."""
    step = "submit" if cfg.submit_history == "full" else "submit_faithful"
    recs = load_outputs(cfg, SUBMITTED, step)
    table = evaluate(cfg, d) if table is None else table
    rows = {r["model"]: r for r in table.to_dicts()}
    metrics = {f"holdout_{k}@10": rows[SUBMITTED][k] for k in models.METRICS} if SUBMITTED in rows else {}
    hidden = hidden_next(cfg, d)
    if hidden is not None:
        mine = hidden.filter(pl.col("history") == cfg.submit_history).row(0, named=True)
        metrics |= {"twin_hidden_next_hitrate@10": mine["hitrate"], "twin_hidden_next_ndcg@10": mine["ndcg"]}
    ours = load_outputs(cfg, OURS, "submit") if recs_path(cfg, OURS, "submit").exists() else None
    if ours is not None:
        metrics |= ours_metrics(cfg, d, rows)
    comparison = {m: {k: r[k] for k in ("hitrate", "ndcg")} for m, r in rows.items()}
    training = cfg.load_training()
    parameters = training.get("config", cfg.parameters())
    report = Report(parameters, cfg.data_source(), metrics, comparison, data_facts(d), cfg.profile)
    return submit.write(recs, d.n_users, d.n_items, report, ours=ours)


def _outputs(model: str) -> list[tuple[str, str]]:
    """The recommendation files a sequential model's training ends by writing."""
    if model == "sasrec":
        return [("sasrec50", s) for s in STEPS] + [("sasrec", s) for s in (*STEPS, "submit", "submit_faithful")]
    if model == "bert4rec":
        return [(m, s) for m in ("bert4rec100", "bert4rec") for s in STEPS]
    return [(OURS, s) for s in (*STEPS, "submit")]


def _preset(cfg: Config, model: str):
    if model == OURS:
        p = models.SASREC_PRESETS["literature"]
        return dataclasses.replace(p, epochs=cfg.sasrec_epochs) if cfg.sasrec_epochs else p
    return cfg.sasrec if model == "sasrec" else cfg.bert4rec


def kept_by_resume(cfg: Config) -> set[str]:
    """The sequential models an earlier run finished in this run's artifacts folder (same data,
    scale and seed) with this run's configuration: training.json holds their parameters and every
    recommendation file they write is there."""
    training = cfg.load_training()
    return {
        m
        for m in ("sasrec", "bert4rec", OURS)
        if training.get(m, {}).get("params") == dataclasses.asdict(_preset(cfg, m))
        and all(recs_path(cfg, name, step).exists() for name, step in _outputs(m))
    }


def run(
    cfg: Config,
    names: Sequence[str] = MODELS,
    timer: StageTimer | None = None,
    progress: bool = False,
    resume: bool = False,
    fresh_twin: bool = False,
) -> pl.DataFrame:
    """The whole pipeline; returns the test-step comparison table (real files get one too: the
    holdout is cut from the given events). ``timer`` only times the stages; ``fresh_twin`` generates
    the twin again even when it is cached (``make bench``). ``resume``: SASRec, BERT4Rec and ours are kept when an
    earlier run of the same configuration finished them (``kept_by_resume``), not trained again; the
    one a run was killed in continues from its checkpoint either way (hours at ``full`` on a CPU)."""
    stage = bench.stages(timer)
    if cfg.is_twin and fresh_twin:
        with stage("twin: generate"):
            twin.generate(cfg.scale, cfg.seed, params=cfg.twin_params)
    with stage("load + split"):
        d = load_data(cfg)
    kept = kept_by_resume(cfg) if resume else set()
    cfg.save_training(data_facts(d), {})
    with stage("baselines"):
        baselines(cfg, d, [n for n in names if n in ("random", "popularity", "oracle")])
    for model, train in (("sasrec", train_sasrec), ("bert4rec", train_bert4rec), (OURS, train_literature)):
        if model not in names:
            continue
        if model in kept:
            bench.kept_by_resume(stage, model, progress)
            continue
        train(cfg, d, progress, stage)
    classic = [n for n in CLASSIC if n in names]
    if classic:
        with stage("classic (spark)"):
            problem = train_classic(cfg, d, classic)
        if problem:
            print(f"classic models skipped: {problem}", file=sys.stderr)
    if "reranker" in names:
        with stage("reranker"):
            train_reranker(cfg, d)
    with stage("evaluate + submit"):
        table = evaluate(cfg, d, [m for m in MODELS if m in names])
        if recs_path(cfg, SUBMITTED, "submit").exists():
            write_submission(cfg, d, table)
    return table


# make bench at full on a CPU: one epoch of each of the team's configurations (their time per epoch
# is the figure; 200 epochs are a GPU job), the baselines and the oracle; Spark's models and the
# reranker are timed at small by the notebooks
BENCH_FULL_CPU = {
    "models": "random,popularity,sasrec,bert4rec,oracle",
    "sasrec_preset": "final",
    "sasrec_epochs": 1,
    "bert4rec_preset": "team",
    "bert4rec_epochs": 1,
}


def bench_options(scale: str, real: bool, gpu: bool) -> list[str]:
    """What ``make bench`` adds to ``--bench --fresh-twin``: at ``full`` on a CPU, one epoch of each
    of the team's configurations with the baselines and the oracle (``BENCH_FULL_CPU``)."""
    if real or scale != "full" or gpu:
        return []
    return [f"--{key.replace('_', '-')}={value}" for key, value in BENCH_FULL_CPU.items()]


def cli_parser() -> argparse.ArgumentParser:
    """The pipeline's command line: the shared options and this track's models, presets and --resume."""
    parser = pipeline_parser(__doc__, Config.SCALES)
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated rows of the table (default: all; make bench at full on a CPU: "
        f"{BENCH_FULL_CPU['models']})",
    )
    parser.add_argument(
        "--sasrec-preset",
        default=Config.sasrec_preset,
        choices=list(models.SASREC_PRESETS),
        help="default cpu; make bench at full on a CPU: final, 1 epoch",
    )
    parser.add_argument("--sasrec-epochs", type=int, default=Config.sasrec_epochs, help="0: the preset's")
    parser.add_argument("--submit-history", default="full", choices=HISTORIES)
    parser.add_argument(
        "--bert4rec-preset",
        default=Config.bert4rec_preset,
        choices=list(models.BERT4REC_PRESETS),
        help="default cpu; make bench at full on a CPU: team, 1 epoch",
    )
    parser.add_argument("--bert4rec-epochs", type=int, default=Config.bert4rec_epochs, help="0: the preset's")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep SASRec, BERT4Rec and ours where a killed run of this configuration finished "
        "them (their recommendations are in the artifacts) instead of training them again",
    )
    add_model_seeds(parser, f"sasrec and {OURS}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = cli_parser().parse_args(argv)
    try:
        cfg = Config(
            scale=args.scale,
            data_dir=args.data_dir,
            seed=args.seed,
            sasrec_preset=args.sasrec_preset,
            sasrec_epochs=args.sasrec_epochs,
            submit_history=args.submit_history,
            bert4rec_preset=args.bert4rec_preset,
            bert4rec_epochs=args.bert4rec_epochs,
        )
        cfg = profiles.apply(cfg, args.profile, argv, args.params)
        timer = StageTimer() if args.bench else None
        names = tuple(m for m in args.models.split(",") if m)
        table = run(cfg, names, timer, progress=True, resume=args.resume, fresh_twin=args.fresh_twin)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with pl.Config(float_precision=4):
        print(table)
    if timer:
        presets = f"sasrec={cfg.sasrec_preset}x{cfg.sasrec.epochs},bert4rec={cfg.bert4rec_preset}x{cfg.bert4rec.epochs}"
        record_bench(timer, TRACK, cfg, presets + ":" + "+".join(names), args.bench_dir)
        record_table(
            bench_table(cfg, load_data(cfg), table), TRACK, cfg, presets + ":" + "+".join(names), args.bench_dir
        )
    if args.model_seeds:
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
