"""Models of the HSE RecSys track: the split, popularity, RePlay's SASRec (new ``replay.nn`` API),
the twin's oracle, and the holdout metrics (RePlay's ``OfflineMetrics``).

Recommendations everywhere are a polars frame (user_id, item_id, score, rank) with rank 1 = best,
``TOP_K`` rows per user, seen items removed unless a caller says otherwise.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from shared.data.io import cache_key
from shared.runtime import dispatch
from shared.runtime import progress as progress_line
from shared.runtime.device import deterministic_algorithms
from shared.train import boosting
from solutions.hse_sasrec.data import TOP_K

# our metric names -> RePlay's
METRICS = {"hitrate": "HitRate", "ndcg": "NDCG", "map": "MAP", "recall": "Recall", "mrr": "MRR", "coverage": "Coverage"}


# ---------------------------------------------------------------- split and metrics


@dataclass
class Split:
    """RePlay ``LastNSplitter(N=1)`` twice: test_gt = each user's last event, val_gt = the one before;
    train = the rest; test_events = train + val_gt (the history the test step is predicted from)."""

    train: pl.DataFrame
    val_gt: pl.DataFrame
    test_events: pl.DataFrame
    test_gt: pl.DataFrame


def last_n_split(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    from replay.splitters import LastNSplitter

    splitter = LastNSplitter(
        N=1,
        divide_column="user_id",
        query_column="user_id",
        item_column="item_id",
        timestamp_column="timestamp",
        strategy="interactions",
    )
    head, tail = splitter.split(events.to_pandas())
    order = ["user_id", "timestamp"]
    return pl.from_pandas(head).sort(order), pl.from_pandas(tail).sort(order)


def split(events: pl.DataFrame) -> Split:
    test_events, test_gt = last_n_split(events)
    train, val_gt = last_n_split(test_events)
    return Split(train, val_gt, test_events, test_gt)


def rank_frame(users: np.ndarray, items: np.ndarray, scores: np.ndarray) -> pl.DataFrame:
    """(n_users, k) arrays of items and scores, best first -> the long recommendations frame."""
    n, k = items.shape
    return pl.DataFrame(
        {
            "user_id": np.repeat(np.asarray(users, np.int64), k),
            "item_id": items.ravel().astype(np.int64),
            "score": scores.ravel().astype(np.float64),
            "rank": np.tile(np.arange(1, k + 1), n),
        }
    )


def top_k(users: np.ndarray, scores: np.ndarray, k: int = TOP_K) -> pl.DataFrame:
    """Top k of each row of a dense (users x items) score matrix; -inf marks excluded items.
    Ties go to the smaller item id (a stable sort), so results are deterministic."""
    items = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return rank_frame(users, items, np.take_along_axis(scores, items, 1))


def seen_matrix(events: pl.DataFrame, n_users: int, n_items: int) -> np.ndarray:
    seen = np.zeros((n_users, n_items), bool)
    seen[events["user_id"].to_numpy(), events["item_id"].to_numpy()] = True
    return seen


def evaluate(recs: pl.DataFrame, truth: pl.DataFrame, train: pl.DataFrame, k: int = TOP_K) -> dict[str, float]:
    """HitRate, NDCG, MAP, Recall, MRR and Coverage @k of ``recs`` against ``truth`` (RePlay's
    OfflineMetrics; Coverage is measured against the items of ``train``)."""
    from replay.metrics import MAP, MRR, NDCG, Coverage, HitRate, OfflineMetrics, Recall

    cols = dict(query_column="user_id", item_column="item_id", rating_column="score")
    metrics = OfflineMetrics([HitRate(k), NDCG(k), MAP(k), Recall(k), MRR(k), Coverage(k)], **cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = metrics(
            recs.select("user_id", "item_id", "score").to_pandas(),
            truth.select("user_id", "item_id").to_pandas(),
            train.select("user_id", "item_id").to_pandas(),
        )
    return {name: float(out[f"{replay}@{k}"]) for name, replay in METRICS.items()}


# ---------------------------------------------------------------- baselines


def popularity(history: pl.DataFrame, n_users: int, n_items: int, k: int = TOP_K) -> pl.DataFrame:
    """Most frequent items of ``history``, each user's seen ones removed."""
    counts = np.bincount(history["item_id"].to_numpy(), minlength=n_items).astype(np.float64)
    scores = np.broadcast_to(counts, (n_users, n_items)).copy()
    scores[seen_matrix(history, n_users, n_items)] = -np.inf
    return top_k(np.arange(n_users), scores, k)


def random_recs(history: pl.DataFrame, n_users: int, n_items: int, seed: int, k: int = TOP_K) -> pl.DataFrame:
    scores = np.random.default_rng(seed).random((n_users, n_items))
    scores[seen_matrix(history, n_users, n_items)] = -np.inf
    return top_k(np.arange(n_users), scores, k)


def oracle(world, history: pl.DataFrame, n_users: int, n_items: int, k: int = TOP_K, block: int = 512) -> pl.DataFrame:
    """The twin's true next-item distribution after ``history`` (seen items have probability 0)."""
    from solutions.hse_sasrec.twin import next_item_probs

    seen = seen_matrix(history, n_users, n_items)
    last = history.group_by("user_id").agg(pl.col("item_id").last()).sort("user_id")
    last_item = np.full(n_users, -1, np.int64)
    last_item[last["user_id"].to_numpy()] = last["item_id"].to_numpy()
    parts = []
    for s in range(0, n_users, block):
        users = np.arange(s, min(s + block, n_users))
        probs = next_item_probs(world, users, last_item[users], seen[users])
        probs[seen[users]] = -np.inf
        parts.append(top_k(users, probs, k))
    return pl.concat(parts)


# ---------------------------------------------------------------- SASRec (replay.nn)


@dataclass(frozen=True)
class SeqParams:
    """A transformer recommender's size and training: every preset sets all of them."""

    blocks: int = 4
    heads: int = 8
    hidden: int = 256
    dropout: float = 0.2
    max_len: int = 200
    batch: int = 256
    lr: float = 1e-4
    epochs: int = 200
    patience: int = 0  # stop after this many epochs without a better val recall@10 (0: never)


# The team's two SASRec configurations and the CPU default of this repository (README, "The solution"):
# the final one is a GPU job (one epoch of the full twin took 970 s on 2 CPU cores: benchmarks/results.csv).
# fmt: off
SASREC_PRESETS = {
    "final": SeqParams(blocks=4, heads=8, hidden=256, dropout=0.2, max_len=200, batch=256, lr=1e-4, epochs=200),
    # the first fit: epochs and max length not published; the final fit's are used
    "first": SeqParams(blocks=2, heads=2, hidden=300, dropout=0.5, max_len=200, batch=1024, lr=1e-3, epochs=200),
    "cpu": SeqParams(blocks=2, heads=2, hidden=64, dropout=0.2, max_len=50, batch=128, lr=1e-3, epochs=30),
    # beyond the team: the configuration with which SASRec trained with full cross-entropy beat BERT4Rec
    # on MovieLens-1M (Klenitskiy and Vasilev, RecSys 2023: HitRate@10 0.3152, NDCG@10 0.1821; BERT4Rec
    # 0.2843, SASRec with its original binary cross-entropy 0.2500), early stopping on the validation
    # recall@10 instead of a fixed number of epochs
    "literature": SeqParams(blocks=2, heads=1, hidden=64, dropout=0.1, max_len=200, batch=128, lr=1e-3, epochs=200,
                            patience=10),
}
# fmt: on


@dataclass
class SeqFit:
    """A trained sequential model and its training record."""

    module: object  # the lightning module
    n_items: int
    max_len: int
    epochs: list[dict] = field(default_factory=list)  # per epoch: train_loss, val recall@10 / ndcg@10
    best_epoch: int = 0
    seconds_per_epoch: float = 0.0
    device: str = "cpu"
    kind: str = "sasrec"


def _ranked(result: pd.DataFrame) -> pl.DataFrame:
    """A RePlay top-items frame (best first within each user) as recommendations with ranks."""
    out = pl.from_pandas(result.reset_index(drop=True)).select(
        pl.col("user_id").cast(pl.Int64), pl.col("item_id").cast(pl.Int64), pl.col("score").cast(pl.Float64)
    )
    return out.with_columns(rank=pl.int_range(1, pl.len() + 1).over("user_id")).sort("user_id", "rank")


def _quiet_lightning() -> None:
    """Lightning's and RePlay's chatter off: info logs and known warnings (calling it again adds
    nothing: ``warnings`` keeps one copy of an identical filter)."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning", "pytorch_lightning", "replay", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings(
        "ignore",
        message=".*(IterableDataset|treespec|num_workers|LeafSpec|does not have many "
        "workers|dataset paths aren't provided|class is deprecated|"
        "Use `replay.nn).*",
    )


def sequence_frame(history: pl.DataFrame, length: int, seen: bool = False) -> pl.DataFrame:
    """One row per user (sorted): the last ``length`` items of the history (and, with ``seen``, all
    of them, for the seen-items filter)."""
    seqs = history.group_by("user_id", maintain_order=True).agg(pl.col("item_id")).sort("user_id")
    out = seqs.with_columns(pl.col("item_id").list.tail(length).alias("item_id"))
    if seen:
        out = out.with_columns(seen_ids=seqs["item_id"])
    return out


def _schema(n_items: int, hidden: int):
    from replay.data import FeatureHint, FeatureSource, FeatureType
    from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema

    return TensorSchema(
        [
            TensorFeatureInfo(
                "item_id",
                is_seq=True,
                feature_type=FeatureType.CATEGORICAL,
                embedding_dim=hidden,
                padding_value=n_items,
                cardinality=n_items,
                feature_hint=FeatureHint.ITEM_ID,
                feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, "item_id")],
            )
        ]
    )


def _meta(n_items: int, length: int, extra: dict[str, int] | None = None) -> dict:
    meta = {"user_id": {}, "item_id": {"shape": length, "padding": n_items}}
    for name, shape in (extra or {}).items():
        meta[name] = {"shape": shape, "padding": -1}
    return meta


def _epoch_line(total: int, desc: str, progress: bool):
    """One updating line over the epochs (Lightning's own per-step bars are off)."""
    import lightning as L

    class EpochLine(L.Callback):
        def __init__(self):
            self.bar = progress_line.line(total, desc, unit="epoch", enabled=progress)
            self.rows: list[dict] = []
            self.started = 0.0
            self.seconds: list[float] = []

        def on_train_epoch_start(self, trainer, pl_module):
            self.started = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            # Lightning runs the epoch's validation before this hook: loss and metrics are both in
            self.seconds.append(time.perf_counter() - self.started)
            m = trainer.callback_metrics
            row = {
                "epoch": trainer.current_epoch + 1,
                **{key: round(float(m[key]), 6) for key in ("train_loss_epoch", "recall@10", "ndcg@10") if key in m},
            }
            self.rows.append(row)
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k != "epoch"})

        def state_dict(self):  # kept in the resume checkpoint: a resumed run's curve is the whole curve
            return {"rows": self.rows, "seconds": self.seconds, "elapsed": time.perf_counter() - self.started}

        def load_state_dict(self, state):
            self.rows, self.seconds = state["rows"], state["seconds"]
            self.started = time.perf_counter() - state["elapsed"]  # resumed mid-epoch: the epoch's time so far
            self.bar.update(len(self.rows))

        def close(self, best_epoch: int):
            done = len(self.rows)
            progress_line.stop(
                self.bar, done, ("stopped early after " if done < total else "") + f"{done} epochs, best {best_epoch}"
            )

    return EpochLine()


@contextlib.contextmanager
def _trainer(max_epochs: int, callbacks: list, seed: int, patience: int = 0):
    """``with _trainer(...) as trainer:`` Lightning's deterministic Trainer, built and used inside
    ``deterministic_algorithms()``, which switches torch's deterministic mode back off afterwards."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping

    _quiet_lightning()
    if patience:
        callbacks = [*callbacks, EarlyStopping(monitor="recall@10", mode="max", patience=patience, verbose=False)]
    L.seed_everything(seed, workers=True, verbose=False)
    with deterministic_algorithms():
        yield L.Trainer(
            max_epochs=max_epochs,
            callbacks=callbacks,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            deterministic=True,
            accelerator="auto",
            devices=1,
            num_sanity_val_steps=0,
        )


def _write(frame: pl.DataFrame, path: Path) -> str:
    frame.write_parquet(path)
    return str(path)


def train_sasrec(
    train: pl.DataFrame,
    val_gt: pl.DataFrame,
    n_items: int,
    p: SeqParams,
    seed: int = 42,
    progress: bool = True,
    scratch: Path | None = None,
    resume_dir: Path | None = None,
) -> SeqFit:
    """RePlay's SasRec (``replay.nn``) with full-softmax CE, trained on each user's last
    ``max_len + 1`` train items; the epoch with the best validation recall@10 (seen items removed)
    is kept, as the team's checkpointing did. With ``resume_dir`` a killed run continues from its
    last checkpoint (``shared.train.checkpoint.LightningResume``)."""
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from replay.nn.lightning import LightningModule
    from replay.nn.lightning.callback import ComputeMetricsCallback
    from replay.nn.lightning.optimizer import OptimizerFactory
    from replay.nn.lightning.postprocessor import SeenItemsFilter
    from replay.nn.sequential import SasRec

    from shared.train.checkpoint import LightningResume

    _quiet_lightning()
    schema = _schema(n_items, p.hidden)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="sasrec.") as tmp:
        tmp = Path(tmp)
        data = _sasrec_data(train, val_gt, n_items, p, schema, tmp)
        torch.manual_seed(seed)
        model = SasRec.from_params(
            schema=schema,
            embedding_dim=p.hidden,
            num_heads=p.heads,
            num_blocks=p.blocks,
            max_sequence_length=p.max_len,
            dropout=p.dropout,
        )
        module = LightningModule(model, optimizer_factory=OptimizerFactory(learning_rate=p.lr, betas=(0.9, 0.98)))
        line = _epoch_line(p.epochs, "SASRec", progress)
        # ParquetModule shuffles with a copy of torch's default generator made in its setup
        resume = LightningResume(
            resume_dir,
            cache_key("sasrec", params=p, seed=seed, rows=[train.height, val_gt.height]),
            lambda: (data.datasets["train"].raw_dataset.generator,),
        )
        data.train_dataloader = lambda: resume.loader(lambda: data.datasets["train"])
        ckpt = ModelCheckpoint(dirpath=resume_dir or tmp / "ckpt", monitor="recall@10", mode="max", save_top_k=1)
        metrics = ComputeMetricsCallback(
            metrics=["recall", "ndcg"], ks=[TOP_K], postprocessors=[SeenItemsFilter(n_items)], verbose=False
        )
        with _trainer(p.epochs, [metrics, ckpt, line, resume.callback], seed, p.patience) as trainer:
            trainer.fit(module, datamodule=data, ckpt_path=resume.ckpt_path, weights_only=False)  # our own file
        return _best_fit(module, ckpt, line, resume_dir, n_items, p.max_len, "sasrec")


def _sasrec_data(train: pl.DataFrame, val_gt: pl.DataFrame, n_items: int, p: SeqParams, schema, tmp: Path):
    """RePlay's ParquetModule over each user's last ``max_len + 1`` train items (training) and their
    last ``max_len`` with the validation item to find (validation), written as parquet in ``tmp``."""
    from replay.data.nn import ParquetModule
    from replay.nn.transform.template import make_default_sasrec_transforms

    tr = sequence_frame(train, p.max_len + 1)
    val = (
        sequence_frame(train, p.max_len, seen=True)
        .join(val_gt.group_by("user_id").agg(ground_truth=pl.col("item_id")), on="user_id")
        .sort("user_id")
    )
    longest = int(val["seen_ids"].list.len().max())
    return ParquetModule(
        batch_size={"train": p.batch, "validate": 512},
        metadata={
            "train": _meta(n_items, p.max_len + 1),
            "validate": _meta(n_items, p.max_len, {"seen_ids": longest, "ground_truth": 1}),
        },
        transforms=make_default_sasrec_transforms(schema),
        train_path=_write(tr, tmp / "train.parquet"),
        validate_path=_write(val, tmp / "val.parquet"),
    )


def _best_fit(module, ckpt, line, resume_dir: Path | None, n_items: int, max_len: int, kind: str) -> SeqFit:
    """The epoch with the best validation recall@10 loaded back into ``module`` (the checkpoint
    ``ckpt`` kept), the resume folder removed, and the fit's record."""
    import torch

    best = torch.load(ckpt.best_model_path, map_location="cpu", weights_only=False)  # our own file
    module.load_state_dict(best["state_dict"])
    best_epoch = int(best["epoch"]) + 1
    line.close(best_epoch)
    if resume_dir:
        shutil.rmtree(resume_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    seconds = float(np.mean(line.seconds)) if line.seconds else 0.0
    return SeqFit(module, n_items, max_len, line.rows, best_epoch, seconds, device, kind)


def predict_sasrec(
    fit: SeqFit,
    history: pl.DataFrame,
    k: int = TOP_K,
    filter_seen: pl.DataFrame | None = None,
    scratch: Path | None = None,
) -> pl.DataFrame:
    """Top-k next items after each user's ``history``; the items of ``filter_seen`` (default: the
    history itself) are removed."""
    from replay.data.nn import ParquetModule
    from replay.nn.lightning.callback import PandasTopItemsCallback
    from replay.nn.lightning.postprocessor import SeenItemsFilter
    from replay.nn.transform.template import make_default_sasrec_transforms

    seen_source = history if filter_seen is None else filter_seen
    seen = seen_source.group_by("user_id").agg(seen_ids=pl.col("item_id"))
    frame = sequence_frame(history, fit.max_len).join(seen, on="user_id", how="left").sort("user_id")
    longest = int(frame["seen_ids"].list.len().max())
    _quiet_lightning()
    schema = _schema(fit.n_items, 1)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="predict.") as tmp:
        data = ParquetModule(
            batch_size=512,
            metadata={"predict": _meta(fit.n_items, fit.max_len, {"seen_ids": longest})},
            transforms=make_default_sasrec_transforms(schema),
            predict_path=_write(frame, Path(tmp) / "predict.parquet"),
        )
        top = PandasTopItemsCallback(
            top_k=k,
            query_column="user_id",
            item_column="item_id",
            rating_column="score",
            postprocessors=[SeenItemsFilter(fit.n_items)],
        )
        with _trainer(1, [top], 0) as trainer:
            trainer.predict(fit.module, datamodule=data, return_predictions=False)
    return _ranked(top.get_result())


# ---------------------------------------------------------------- BERT4Rec (legacy replay.models.nn)


@dataclass(frozen=True)
class BertParams(SeqParams):
    mask_prob: float = 0.15


# The team's configuration (batch and epochs not published: SASRec's final batch and epochs are
# used) and this repository's CPU default.
# fmt: off
BERT4REC_PRESETS = {
    "team": BertParams(blocks=2, heads=4, hidden=300, dropout=0.5, max_len=100, mask_prob=0.15, batch=256, lr=1e-3,
                       epochs=200),
    "cpu": BertParams(blocks=2, heads=2, hidden=64, dropout=0.2, max_len=50, mask_prob=0.15, batch=128, lr=1e-3,
                      epochs=30),
}
# fmt: on


def _legacy_sequences(history: pl.DataFrame, n_items: int):
    """A RePlay ``PandasSequentialDataset`` of each user's whole history (ids are already 0..n-1:
    no tokenizer needed). Its padding value is 0: the legacy model embeds exactly ``n_items`` rows
    and masks padded positions, so the padding must be a valid row (below the item count)."""
    from replay.data.nn import PandasSequentialDataset

    seqs = history.group_by("user_id", maintain_order=True).agg(pl.col("item_id")).sort("user_id")
    frame = pd.DataFrame(
        {"user_id": seqs["user_id"].to_numpy(), "item_id": [np.asarray(s, np.int64) for s in seqs["item_id"].to_list()]}
    )
    return PandasSequentialDataset(_legacy_schema(n_items, 1), "user_id", "item_id", frame)


def _legacy_schema(n_items: int, hidden: int):
    from replay.data import FeatureHint, FeatureSource, FeatureType
    from replay.data.nn import TensorFeatureInfo, TensorFeatureSource, TensorSchema

    return TensorSchema(
        [
            TensorFeatureInfo(
                "item_id",
                is_seq=True,
                feature_type=FeatureType.CATEGORICAL,
                embedding_dim=hidden,
                padding_value=0,
                cardinality=n_items,
                feature_hint=FeatureHint.ITEM_ID,
                feature_sources=[TensorFeatureSource(FeatureSource.INTERACTIONS, "item_id")],
            )
        ]
    )


def _bert4rec_loaders(seq_train, seq_gt, p: BertParams, gen):
    """The legacy module's masked training loader (shuffled by ``gen``) and its validation loader."""
    from torch.utils.data import DataLoader

    _quiet_lightning()  # the legacy module's classes are marked deprecated
    from replay.models.nn.sequential.bert4rec import Bert4RecTrainingDataset, Bert4RecValidationDataset

    train_loader = DataLoader(
        Bert4RecTrainingDataset(seq_train, p.max_len, mask_prob=p.mask_prob, padding_value=0),
        batch_size=p.batch,
        shuffle=True,
        generator=gen,
        num_workers=0,
    )
    val_loader = DataLoader(
        Bert4RecValidationDataset(seq_train, seq_gt, seq_train, p.max_len, padding_value=0),
        batch_size=512,
        num_workers=0,
    )
    return train_loader, val_loader


def train_bert4rec(
    train: pl.DataFrame,
    val_gt: pl.DataFrame,
    n_items: int,
    p: BertParams,
    seed: int = 42,
    progress: bool = True,
    resume_dir: Path | None = None,
) -> SeqFit:
    """RePlay's legacy Bert4Rec (no ``replay.nn`` BERT4Rec exists) with its masked-item CE loss; the
    epoch with the best validation recall@10 (seen items removed) is kept. With ``resume_dir`` a
    killed run continues from its last checkpoint (``shared.train.checkpoint.LightningResume``)."""
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    from shared.train.checkpoint import LightningResume

    _quiet_lightning()  # the legacy module's classes are marked deprecated
    from replay.models.nn.optimizer_utils import FatOptimizerFactory
    from replay.models.nn.sequential import Bert4Rec
    from replay.models.nn.sequential.callbacks import ValidationMetricsCallback
    from replay.models.nn.sequential.postprocessors import RemoveSeenItems

    seq_train = _legacy_sequences(train, n_items)
    gen = torch.Generator().manual_seed(seed)
    train_loader, val_loader = _bert4rec_loaders(seq_train, _legacy_sequences(val_gt, n_items), p, gen)
    torch.manual_seed(seed)
    model = Bert4Rec(
        _legacy_schema(n_items, p.hidden),
        block_count=p.blocks,
        head_count=p.heads,
        hidden_size=p.hidden,
        max_seq_len=p.max_len,
        dropout_rate=p.dropout,
        loss_type="CE",
        optimizer_factory=FatOptimizerFactory(learning_rate=p.lr),
    )
    line = _epoch_line(p.epochs, "BERT4Rec", progress)
    key = cache_key("bert4rec", params=p, seed=seed, rows=[train.height, val_gt.height])
    resume = LightningResume(resume_dir, key, lambda: (gen,))
    with tempfile.TemporaryDirectory(prefix="bert4rec.") as tmp:
        ckpt = ModelCheckpoint(dirpath=resume_dir or tmp, monitor="recall@10", mode="max", save_top_k=1)
        metrics = ValidationMetricsCallback(
            metrics=["recall", "ndcg"], ks=[TOP_K], item_count=n_items, postprocessors=[RemoveSeenItems(seq_train)]
        )
        # the legacy callback prints a table every epoch
        with (
            _trainer(p.epochs, [metrics, ckpt, line, resume.callback], seed, p.patience) as trainer,
            contextlib.redirect_stdout(io.StringIO()),
        ):
            trainer.fit(
                model, resume.loader(lambda: train_loader), val_loader, ckpt_path=resume.ckpt_path, weights_only=False
            )
        return _best_fit(model, ckpt, line, resume_dir, n_items, p.max_len, "bert4rec")


def predict_bert4rec(fit: SeqFit, history: pl.DataFrame, k: int = TOP_K) -> pl.DataFrame:
    """Top-k next items after each user's ``history`` (its items removed): a [MASK] is appended
    after the history and scored."""
    from torch.utils.data import DataLoader

    _quiet_lightning()
    from replay.models.nn.sequential.bert4rec import Bert4RecPredictionDataset
    from replay.models.nn.sequential.callbacks import PandasPredictionCallback
    from replay.models.nn.sequential.postprocessors import RemoveSeenItems

    seqs = _legacy_sequences(history, fit.n_items)
    loader = DataLoader(Bert4RecPredictionDataset(seqs, fit.max_len, padding_value=0), batch_size=512, num_workers=0)
    top = PandasPredictionCallback(
        top_k=k,
        query_column="user_id",
        item_column="item_id",
        rating_column="score",
        postprocessors=[RemoveSeenItems(seqs)],
    )
    with _trainer(1, [top], 0) as trainer:
        trainer.predict(fit.module, loader, return_predictions=False)
    return _ranked(top.get_result())


# ---------------------------------------------------------------- classic models on Spark (RePlay)

SPARK_MEMORY = "6g"  # driver memory: bounded; SLIM's prediction on `small` runs out of memory at 2g


SPARK_SWITCH = "RECSYS_SPARK"  # 0: leave the classic models out, as on a machine without Spark


def spark_status() -> str | None:
    """None when pyspark and Java are there; otherwise what is missing and how to get it, or that
    ``RECSYS_SPARK=0`` switched Spark off."""
    import importlib.util
    import os
    import shutil

    if os.environ.get(SPARK_SWITCH, "").strip() == "0":
        return f"Spark is switched off ({SPARK_SWITCH}=0): the classic models are left out."
    if importlib.util.find_spec("pyspark") is None:
        return (
            "pyspark is not installed: the classic models run on Spark. Install the extra with "
            "`pip install -e '.[spark]'` (make setup does) and Java 17."
        )
    java_home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (java_home and Path(java_home, "bin", "java").exists())):
        return "Java is not found: Spark needs Java 17 (e.g. openjdk-17-jre) on PATH or in JAVA_HOME."
    return None


def spark_session():
    """A local Spark session (2 cores, bounded memory, no console progress bars), registered with
    RePlay. Started once per process; about 10 s."""
    import os

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = __import__("sys").executable
    from pyspark.sql import SparkSession
    from replay.utils.session_handler import State

    session = (
        SparkSession.builder.master("local[2]")
        .appName("hse_sasrec")
        .config("spark.driver.memory", SPARK_MEMORY)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "localhost")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.local.dir", tempfile.gettempdir())
    )
    # The JVM writes its start-up banner, log4j warnings and netlib's fallback notices straight to
    # file descriptor 2, past Python's sys.stderr and log levels; the JVM inherits the descriptor
    # when it starts, so it starts with fd 2 on /dev/null (Python's own stderr is restored at once;
    # Spark's errors still reach Python as exceptions through py4j).
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            session = session.getOrCreate()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    session.sparkContext.setLogLevel("ERROR")
    State(session)
    return session


def _replay_dataset(session, history: pl.DataFrame):
    """Implicit feedback: every event counts 1 (the rating is not a preference for a next item)."""
    from replay.data import Dataset, FeatureHint, FeatureInfo, FeatureSchema, FeatureType

    frame = history.select("user_id", "item_id").with_columns(rating=pl.lit(1.0)).to_pandas()
    schema = FeatureSchema(
        [
            FeatureInfo("user_id", FeatureType.CATEGORICAL, FeatureHint.QUERY_ID),
            FeatureInfo("item_id", FeatureType.CATEGORICAL, FeatureHint.ITEM_ID),
            FeatureInfo("rating", FeatureType.NUMERICAL, FeatureHint.RATING),
        ]
    )
    return Dataset(feature_schema=schema, interactions=session.createDataFrame(frame), check_consistency=False)


def classic_model(name: str, seed: int):
    """The team's classic models: SLIM (beta 0.01, lambda 0.01), ALS (rank 100, implicit), ItemKNN
    (100 neighbours)."""
    warnings.filterwarnings("ignore", message=".*optuna.*")
    from replay.models import SLIM, ALSWrap, ItemKNN

    # allow_collect_to_master: SLIM collects its item-item matrix to the driver (it fits: 3,706 items)
    return {
        "slim": lambda: SLIM(beta=0.01, lambda_=0.01, seed=seed, allow_collect_to_master=True),
        "als": lambda: ALSWrap(rank=100, implicit_prefs=True, seed=seed),
        "itemknn": lambda: ItemKNN(num_neighbours=100),
    }[name]()


CLASSIC = ("slim", "als", "itemknn")


def _to_recs(frame: pd.DataFrame) -> pl.DataFrame:
    out = pl.from_pandas(frame).select(
        pl.col("user_id").cast(pl.Int64),
        pl.col("item_id").cast(pl.Int64),
        pl.col("rating").cast(pl.Float64).alias("score"),
    )
    out = out.sort(["user_id", "score", "item_id"], descending=[False, True, False])
    return out.with_columns(rank=pl.int_range(1, pl.len() + 1).over("user_id"))


def train_classic(
    name: str,
    train: pl.DataFrame,
    histories: dict[str, pl.DataFrame],
    seed: int = 42,
    k: int = TOP_K,
    pairs: dict[str, pl.DataFrame] | None = None,
) -> tuple[dict[str, pl.DataFrame], dict]:
    """Fit ``name`` on ``train`` once, then recommend k unseen items after each history of
    ``histories`` (step -> events) and, with ``pairs`` (step -> user_id, item_id), score those pairs
    (the reranker's features). Returns (recommendations or pair scores by key, timings)."""
    session = spark_session()
    _quiet_lightning()
    model = classic_model(name, seed)
    started = time.perf_counter()
    model.fit(_replay_dataset(session, train))
    timing = {"fit_s": round(time.perf_counter() - started, 2)}
    out = {}
    for step, history in histories.items():
        ds = _replay_dataset(session, history)
        out[step] = _to_recs(model.predict(ds, k=k, filter_seen_items=True).toPandas())
        if pairs and step in pairs:
            sdf = session.createDataFrame(pairs[step].select("user_id", "item_id").to_pandas())
            scored = model.predict_pairs(sdf, ds).toPandas()
            out[f"pairs-{step}"] = pl.from_pandas(scored).select(
                pl.col("user_id").cast(pl.Int64),
                pl.col("item_id").cast(pl.Int64),
                pl.col("rating").cast(pl.Float64).alias(f"{name}_score"),
            )
    timing["total_s"] = round(time.perf_counter() - started, 2)
    # The model's cached item-item matrix would stay in the JVM's memory after it: with SLIM's and
    # ALS's still there, ItemKNN's 366M-pair self-join at `full` spills and stalls (53 minutes, not 4)
    session.catalog.clearCache()
    return out, timing


# ---------------------------------------------------------------- leak-free reranker (LightGBM)

CANDIDATES = 50
RERANK_PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [TOP_K],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": CANDIDATES,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
RERANK_ROUNDS = 1000  # at most: early-stopped on the NDCG@10 of held-out users' validation step
RERANK_EARLY_STOPPING = 50
RERANK_HOLDOUT = 0.2  # the share of the validation step's users the stopping round is chosen on


def train_reranker(
    train_frame: pl.DataFrame, columns: list[str], seed: int = 42, rounds: int = RERANK_ROUNDS, progress: bool = False
):
    """LightGBM lambdarank on the validation step's candidates, grouped by user; users whose
    validation item is not among their candidates carry no signal and are left out. A seeded
    ``RERANK_HOLDOUT`` of those users is held out to choose the number of trees (early stopping on
    their NDCG@10); the booster keeps the trees up to the best round. Returns ``boosting.BoostFit``."""
    has_hit = train_frame.group_by("user_id").agg(pl.col("label").max()).filter(pl.col("label") == 1)["user_id"].sort()
    held = np.random.default_rng(seed).permutation(has_hit.to_numpy())[: int(round(RERANK_HOLDOUT * len(has_hit)))]
    frame = train_frame.filter(pl.col("user_id").is_in(has_hit.implode())).sort("user_id", "sasrec_rank")
    is_held = np.isin(frame["user_id"].to_numpy(), held)

    def dataset(mask, reference=None):
        part = frame.filter(pl.Series(mask))
        return boosting.ranking_dataset(
            part.select(columns).to_numpy().astype(np.float64),
            part["label"].to_numpy(),
            part["user_id"].to_numpy(),
            columns,
            reference,
        )

    dfit = dataset(~is_held)
    # a pinned thread count (shared.runtime.dispatch), not the machine's cores: LightGBM's sums depend on it
    params = {**RERANK_PARAMS, "seed": seed, "num_threads": dispatch.threads()}
    return boosting.boost(
        params, dfit, dataset(is_held, dfit), rounds, RERANK_EARLY_STOPPING, f"ndcg@{TOP_K}", progress
    )


def rerank(booster, frame: pl.DataFrame, columns: list[str], k: int = TOP_K) -> pl.DataFrame:
    """The top k of each user's candidates by the booster's score (ties: SASRec's order)."""
    scored = frame.select("user_id", "item_id", "sasrec_rank").with_columns(
        score=booster.predict(frame.select(columns).to_numpy().astype(np.float64))
    )
    ranked = scored.sort(["user_id", "score", "sasrec_rank"], descending=[False, True, False])
    ranked = ranked.with_columns(rank=pl.int_range(1, pl.len() + 1).over("user_id"))
    return ranked.filter(pl.col("rank") <= k).select("user_id", "item_id", "score", "rank")
