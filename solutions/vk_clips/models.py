"""The models of the comparison table: popularity, the official ALS baseline, DCNv2 as the
source's code has it, and a sequence model over each user's reaction history.

Every model predicts the three classes (0 dislike, 1 ignore, 2 like) or a score with the same
order; a class model's score is the expected class, P(ignore) + 2 P(like).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import polars as pl
import scipy.sparse as sp
import torch
from torch import nn

from shared.runtime import dispatch
from shared.runtime import progress as progress_line
from shared.runtime.device import torch_device
from shared.runtime.seed import seed_everything
from shared.train import boosting
from shared.train.checkpoint import Checkpoint, ResumableLoop
from shared.train.factors import AlsParams
from solutions.vk_clips.data import EMBEDDING_DIM

DURATION_MIN = 5  # the shortest clip (seconds): durations are embedded as duration - 5, as the source did


def expected_class(probs: np.ndarray | torch.Tensor) -> np.ndarray:
    """P(ignore) + 2 P(like): the source's score, the expected class."""
    p = probs.detach().cpu().numpy() if isinstance(probs, torch.Tensor) else np.asarray(probs)
    return (p[:, 1] + 2.0 * p[:, 2]).astype(np.float64)


def popularity_scores(train: pl.DataFrame, test: pl.DataFrame) -> np.ndarray:
    """Likes minus dislikes of each test item over all of train."""
    counts = train.group_by("item_id").agg(
        score=(pl.col("like").cast(pl.Int64) - pl.col("dislike").cast(pl.Int64)).sum()
    )
    return (
        test.select("item_id")
        .join(counts, on="item_id", how="left", maintain_order="left")["score"]
        .fill_null(0)
        .to_numpy()
        .astype(np.float64)
    )


ORGANISERS_ALS = AlsParams(factors=16, regularization=1.0, iterations=10, alpha=100.0)  # their baseline's


def als_scores(
    train: pl.DataFrame,
    test: pl.DataFrame,
    n_users: int,
    n_items: int,
    als: AlsParams = ORGANISERS_ALS,
    seed: int = 42,
) -> np.ndarray:
    """The organisers' baseline: implicit ALS on the rows with a like or a dislike, weight
    like - dislike (a dislike is a known negative of confidence alpha), score = <user, item>."""
    rows = train.filter((pl.col("like") + pl.col("dislike")) >= 1)
    weight = (rows["like"].cast(pl.Float32) - rows["dislike"].cast(pl.Float32)).to_numpy()
    matrix = sp.csr_matrix(
        (weight, (rows["user_id"].to_numpy(), rows["item_id"].to_numpy())), shape=(n_users, n_items), dtype=np.float32
    )
    user_f, item_f = als.fit(matrix, seed)
    u, i = test["user_id"].to_numpy(), test["item_id"].to_numpy()
    return np.einsum("ij,ij->i", user_f[u].astype(np.float64), item_f[i].astype(np.float64))


@dataclass(frozen=True)
class Tables:
    """Sizes (max id + 1, as the source sized its embedding tables) and per-id lookups."""

    n_users: int
    n_items: int
    n_sources: int
    n_ages: int
    n_durations: int
    user_age: torch.Tensor  # age - 18
    user_gender: torch.Tensor  # {1, 2} -> {0, 1}
    item_source: torch.Tensor
    item_duration: torch.Tensor  # duration - DURATION_MIN
    item_embedding: torch.Tensor  # (n_items + 1, 32), last row zeros (an empty history slot)

    @classmethod
    def build(cls, users: pl.DataFrame, items: pl.DataFrame, n_users: int, n_items: int) -> Tables:
        age = np.zeros(n_users, np.int64)
        gender = np.zeros(n_users, np.int64)
        uid = users["user_id"].to_numpy().astype(np.int64)
        age[uid] = users["age"].to_numpy().astype(np.int64) - 18
        gender[uid] = users["gender"].to_numpy().astype(np.int64) - 1
        source = np.zeros(n_items, np.int64)
        duration = np.zeros(n_items, np.int64)
        emb = np.zeros((n_items + 1, EMBEDDING_DIM), np.float32)
        iid = items["item_id"].to_numpy().astype(np.int64)
        source[iid] = items["source_id"].to_numpy().astype(np.int64)
        duration[iid] = items["duration"].to_numpy().astype(np.int64) - DURATION_MIN
        emb[iid] = items["embeddings"].to_numpy()
        return cls(
            n_users,
            n_items,
            int(source.max()) + 1,
            int(age.max()) + 1,
            int(duration.max()) + 1,
            torch.from_numpy(age),
            torch.from_numpy(gender),
            torch.from_numpy(source),
            torch.from_numpy(duration),
            torch.from_numpy(emb),
        )

    def to(self, device: torch.device) -> Tables:
        return Tables(
            self.n_users,
            self.n_items,
            self.n_sources,
            self.n_ages,
            self.n_durations,
            *(
                t.to(device)
                for t in (self.user_age, self.user_gender, self.item_source, self.item_duration, self.item_embedding)
            ),
        )

    def categorical(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """(batch, 6): user, item, source, age - 18, duration - 5, gender - 1."""
        return torch.stack(
            [
                users,
                items,
                self.item_source[items],
                self.user_age[users],
                self.item_duration[items],
                self.user_gender[users],
            ],
            dim=1,
        )

    def history(self, slots: torch.Tensor) -> torch.Tensor:
        """(batch, 96): the slot items' embeddings, zeros for an empty slot (-1)."""
        idx = torch.where(slots < 0, torch.full_like(slots, self.n_items), slots)
        return self.item_embedding[idx].reshape(len(slots), -1)


class CrossLayer(nn.Module):
    """DCNv2's full-rank cross layer as the source wrote it: x <- x0 * (x W) + b + x (the bias
    added outside the product)."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim, dim, bias=False)
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x0 * self.linear(x) + self.bias + x


class DCNv2(nn.Module):
    """Two independent sets of six embeddings, each concatenated with the item embedding and the
    history vector; a cross branch (3 layers) and a deep branch (one Linear + ReLU) side by side;
    a linear head over both to the three classes."""

    def __init__(self, tables: Tables, emb_dim: int = 256, n_cross: int = 3, use_history: bool = True):
        super().__init__()
        sizes = [tables.n_users, tables.n_items, tables.n_sources, tables.n_ages, tables.n_durations, 2]
        self.use_history = use_history
        dim = len(sizes) * emb_dim + EMBEDDING_DIM + (3 * EMBEDDING_DIM if use_history else 0)
        self.dim = dim
        self.cross_embeddings = nn.ModuleList(nn.Embedding(n, emb_dim) for n in sizes)
        self.deep_embeddings = nn.ModuleList(nn.Embedding(n, emb_dim) for n in sizes)
        self.cross = nn.ModuleList(CrossLayer(dim) for _ in range(n_cross))
        self.deep = nn.Sequential(nn.Linear(dim, dim), nn.ReLU())
        self.head = nn.Linear(2 * dim, 3)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def _input(self, embeddings: nn.ModuleList, cat: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        return torch.cat([e(cat[:, k]) for k, e in enumerate(embeddings)] + [dense], dim=1)

    def forward(self, cat: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        x0 = self._input(self.cross_embeddings, cat, dense)
        x = x0
        for layer in self.cross:
            x = layer(x0, x)
        deep = self.deep(self._input(self.deep_embeddings, cat, dense))
        return self.head(torch.cat([x, deep], dim=1))


@dataclass
class Fit:
    model: nn.Module
    losses: list[float] = field(default_factory=list)  # mean loss of each logged stretch of batches
    rows_per_s: float = 0.0
    device: str = "cpu"
    val_losses: list[float] = field(default_factory=list)  # sequence model: validation loss per epoch
    rows: int = 0  # training rows over all steps
    seconds: float = 0.0  # wall time of the training, a resumed run's earlier processes included
    seconds_before: float = 0.0  # of which in the processes before a resume (0: trained in one go)


def _progress(total: int, desc: str, enabled: bool):
    return progress_line.line(total, desc, "row", enabled, unit_scale=True)


def dcn_inputs(tables: Tables, users: torch.Tensor, items: torch.Tensor, slots: torch.Tensor | None) -> tuple:
    dense = tables.item_embedding[items]
    if slots is not None:
        dense = torch.cat([dense, tables.history(slots)], dim=1)
    return tables.categorical(users, items), dense


@dataclass(frozen=True)
class DcnRows:
    """The (user, clip) pairs DCNv2 reads, with each pair's history slots (None: no history) and,
    to train on, each pair's class."""

    users: np.ndarray
    items: np.ndarray
    slots: np.ndarray | None = None
    target: np.ndarray | None = None


@dataclass(frozen=True)
class DcnParams:
    """DCNv2's size and its one epoch's schedule (the source's: embeddings of 256, batches of 16,384)."""

    emb_dim: int = 256
    batch_size: int = 16_384
    lr: float = 1e-3
    log_every: int = 1  # batches a logged loss averages


def train_dcn(
    tables: Tables,
    rows: DcnRows,
    params: DcnParams = DcnParams(),
    seed: int = 42,
    progress: bool = True,
    checkpoint: Checkpoint | None = None,
) -> Fit:
    """One epoch over the rows in file order, no shuffling, as the source trained it. With a
    ``checkpoint`` (``shared.train.checkpoint``) it saves its state at least every 15 minutes and a rerun
    continues from the last one, to the same bits on the CPU."""
    seed_everything(seed)
    device = torch_device()
    model = DCNv2(tables, params.emb_dim, use_history=rows.slots is not None).to(device)
    t = tables.to(device)
    loss_fn = nn.CrossEntropyLoss()
    n, batch = len(rows.users), params.batch_size
    n_batches = -(-n // batch)
    u_all, i_all = torch.from_numpy(rows.users.astype(np.int64)), torch.from_numpy(rows.items.astype(np.int64))
    y_all = torch.from_numpy(rows.target.astype(np.int64))
    s_all = torch.from_numpy(rows.slots.astype(np.int64)) if rows.slots is not None else None
    opt = torch.optim.Adam(model.parameters(), lr=params.lr)
    loop = ResumableLoop(checkpoint, model, opt, {"step": 0, "losses": [], "running": 0.0, "seen": 0})
    if loop.resume() and progress:
        print(f"dcnv2: resumed from its checkpoint at step {loop.state['step']:,} of {n_batches:,}", flush=True)
    st, first = loop.state, loop.state["step"]
    start = time.perf_counter()
    model.train()
    with _progress(n, "dcnv2", progress) as bar:
        bar.update(min(first * batch, n))
        for b in range(first, n_batches):
            lo = b * batch
            sl = slice(lo, lo + batch)
            u, i, y = u_all[sl].to(device), i_all[sl].to(device), y_all[sl].to(device)
            cat, dense = dcn_inputs(t, u, i, s_all[sl].to(device) if s_all is not None else None)
            loss = loss_fn(model(cat, dense), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            st["running"] += float(loss.detach()) * len(y)
            st["seen"] += len(y)
            if (b + 1) % params.log_every == 0 or lo + batch >= n:
                st["losses"].append(st["running"] / st["seen"])
                st["running"], st["seen"] = 0.0, 0
            if st["losses"]:
                bar.set_postfix_str(f"loss {st['losses'][-1]:.4f}", refresh=False)
            bar.update(len(y))
            st["step"] = b + 1
            if lo + batch < n:  # the last step writes none: the loop is done
                loop.save_if_due(b + 1)
    loop.finish()
    elapsed = time.perf_counter() - start
    rate = (n - min(first * batch, n)) / elapsed if elapsed > 0 else 0.0
    return Fit(
        model, st["losses"], rate, str(device), rows=n, seconds=loop.before + elapsed, seconds_before=loop.before
    )


@torch.no_grad()
def predict_dcn(fit: Fit, tables: Tables, rows: DcnRows, batch_size: int = 65_536) -> np.ndarray:
    """Class probabilities (n, 3)."""
    device = torch.device(fit.device)
    t = tables.to(device)
    fit.model.eval()
    out = []
    for lo in range(0, len(rows.users), batch_size):
        sl = slice(lo, lo + batch_size)
        u = torch.from_numpy(rows.users[sl].astype(np.int64)).to(device)
        i = torch.from_numpy(rows.items[sl].astype(np.int64)).to(device)
        s = torch.from_numpy(rows.slots[sl].astype(np.int64)).to(device) if rows.slots is not None else None
        out.append(torch.softmax(fit.model(*dcn_inputs(t, u, i, s)), dim=1).cpu())
    return torch.cat(out).numpy().astype(np.float64)


# ---------------------------------------------------------------- sequence model

TIMESPENT_BUCKETS = 24  # quarter-octave buckets of timespent / duration, from 1/16 (and below) to 4 (and above)


def timespent_bucket(timespent: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """How much of the clip was watched, bucketed: 4 log2(timespent / duration) shifted to 0..23.
    The share watched says more about interest than the seconds (a 10 s clip watched for 10 s was
    watched to the end)."""
    ratio = np.asarray(timespent, dtype=np.float64) / np.maximum(np.asarray(duration, dtype=np.float64), 1)
    return np.clip(np.floor(4 * np.log2(ratio)) + 16, 0, TIMESPENT_BUCKETS - 1).astype(np.int64)


class SequenceModel(nn.Module):
    """A causal Transformer encoder (torch's own layers) over a user's past events; each event is
    its item (projected content embedding, source, duration), reaction (dislike/ignore/like), share and
    bookmark flags and timespent bucket. The state after the last past event, with the candidate
    item's content, gives the three class logits, plus a learned per-item bias toward like.
    Collaborative signal enters through two small id embeddings, each behind dropout 0.5: an
    ``id_dim``-d item embedding added to the item's content, and a ``user_dim``-d user embedding
    added to the state (0 turns either off; a 64-d item embedding without dropout memorised)."""

    def __init__(
        self,
        tables: Tables,
        dim: int = 64,
        layers: int = 2,
        heads: int = 4,
        max_len: int = 64,
        dropout: float = 0.1,
        id_dim: int = 8,
        user_dim: int = 16,
    ):
        super().__init__()
        self.id_dim, self.user_dim = id_dim, user_dim
        if id_dim:
            self.item_id = nn.Embedding(tables.n_items, id_dim)
            nn.init.normal_(self.item_id.weight, 0.0, 0.01)
            self.item_id_proj = nn.Linear(id_dim, dim, bias=False)
        if user_dim:
            self.user = nn.Embedding(tables.n_users, user_dim)
            nn.init.normal_(self.user.weight, 0.0, 0.01)
            self.user_proj = nn.Linear(user_dim, dim, bias=False)
        self.id_dropout = nn.Dropout(0.5)
        self.item_bias = nn.Embedding(tables.n_items, 1)  # ids: one number per item (more memorises)
        nn.init.zeros_(self.item_bias.weight)
        self.content = nn.Linear(EMBEDDING_DIM, dim)
        self.source = nn.Embedding(tables.n_sources, dim)
        self.duration = nn.Embedding(tables.n_durations, dim)
        self.reaction = nn.Embedding(3 * 4, dim)  # class x (share, bookmarks)
        self.timespent = nn.Embedding(TIMESPENT_BUCKETS, dim)
        self.position = nn.Embedding(max_len, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Linear(3 * dim, dim), nn.ReLU(), nn.Linear(dim, 3))
        self.max_len = max_len
        self.register_buffer("bias_direction", torch.tensor([-1.0, 0.0, 1.0]), persistent=False)
        self.register_buffer("item_content", tables.item_embedding[:-1].clone(), persistent=False)
        self.register_buffer("item_source", tables.item_source.clone(), persistent=False)
        self.register_buffer("item_duration", tables.item_duration.clone(), persistent=False)

    def item_repr(self, items: torch.Tensor) -> torch.Tensor:
        """An item as its content embedding, source and duration, plus its small id embedding."""
        out = (
            self.content(self.item_content[items])
            + self.source(self.item_source[items])
            + self.duration(self.item_duration[items])
        )
        if self.id_dim:
            out = out + self.item_id_proj(self.id_dropout(self.item_id(items)))
        return out

    def encode(self, items, reactions, timespent) -> torch.Tensor:
        """(B, L) events -> (B, L, dim) states, position j summarising events 0..j."""
        L = items.shape[1]
        x = self.item_repr(items) + self.reaction(reactions) + self.timespent(timespent)
        x = x + self.position(torch.arange(L, device=items.device))[None]
        mask = nn.Transformer.generate_square_subsequent_mask(L, device=items.device)
        return self.norm(self.encoder(x, mask=mask, is_causal=True))

    def score(self, state: torch.Tensor, candidates: torch.Tensor, users: torch.Tensor) -> torch.Tensor:
        """Class logits of ``candidates`` for ``users`` (same shape) after their history ``state``."""
        if self.user_dim:
            state = state + self.user_proj(self.id_dropout(self.user(users)))
        c = self.item_repr(candidates)
        logits = self.head(torch.cat([state, c, state * c], dim=-1))
        return logits + self.item_bias(candidates) * self.bias_direction  # the item's own lean to like


def user_sequences(users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows grouped by user in file order: (order, start of each user's run, its length)."""
    order = np.argsort(users, kind="stable")
    u = users[order]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    lengths = np.diff(np.r_[starts, len(u)])
    return order, starts, lengths


def training_windows(users: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``max_len`` events with stride max_len / 2 over each user's history. Returns the
    (W, max_len) row indices (-1 = padding) and a (W, max_len) mask of the positions whose event is
    predicted in this window: each row except a user's first is predicted exactly once, with at
    least max_len / 2 - 1 earlier events in view (fewer only at the start of a history)."""
    half = max_len // 2
    order, starts, lengths = user_sequences(users)
    n_win = np.where(lengths <= max_len, 1, -(-(lengths - max_len) // half) + 1)
    win_user = np.repeat(np.arange(len(starts)), n_win)
    k = np.arange(len(win_user)) - np.repeat(np.cumsum(n_win) - n_win, n_win)
    offset = k * half  # window start inside the user's run
    pos = offset[:, None] + np.arange(max_len)[None]
    inside = pos < lengths[win_user][:, None]
    rows = np.where(inside, order[np.minimum(starts[win_user][:, None] + pos, len(order) - 1)], -1)
    predict = inside & (np.arange(max_len)[None] >= np.where(k == 0, 1, half)[:, None])
    return rows, predict


@dataclass(frozen=True)
class TrainLog:
    """The train rows the sequence model learns from, in file (time) order: one array a column."""

    users: np.ndarray
    items: np.ndarray
    target: np.ndarray
    share: np.ndarray
    bookmarks: np.ndarray
    timespent: np.ndarray


@dataclass(frozen=True)
class SequenceParams:
    """The sequence model's size and training schedule (``train_sequence``)."""

    dim: int = 64
    layers: int = 2
    max_len: int = 64
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    val_frac: float = 0.1
    patience: int = 2
    refit: bool = True
    id_dim: int = 8
    user_dim: int = 16

    def model_args(self) -> dict:
        return dict(dim=self.dim, layers=self.layers, max_len=self.max_len, id_dim=self.id_dim, user_dim=self.user_dim)


@dataclass(frozen=True)
class Events:
    """Every train row as the sequence model reads it, on the device: its item, reaction (class x
    share x bookmarks), timespent bucket, class and user. Training and prediction share it."""

    items: torch.Tensor
    reactions: torch.Tensor
    timespent: torch.Tensor
    target: torch.Tensor
    users: torch.Tensor

    @classmethod
    def of(cls, tables: Tables, log: TrainLog, device: torch.device) -> Events:
        seconds = tables.item_duration.numpy()[log.items] + DURATION_MIN
        reactions = log.target * 4 + log.share * 2 + log.bookmarks
        cols = (log.items, reactions, timespent_bucket(log.timespent, seconds), log.target, log.users)
        return cls(*(torch.from_numpy(np.asarray(c).astype(np.int64)).to(device) for c in cols))

    def at(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The model's inputs for (B, L) row indices, -1 = padding (read as row 0, masked by position)."""
        safe = rows.clamp(min=0)
        return self.items[safe], self.reactions[safe], self.timespent[safe]


class _SequenceTraining(ResumableLoop):
    """One ``train_sequence`` call: the windows, the model and optimiser, and in ``state`` everything
    else the rest of the run depends on (phase, epoch, position inside it, losses, early-stopping
    record), so that one checkpoint holds all of it."""

    def __init__(
        self,
        tables: Tables,
        events: Events,
        rows: np.ndarray,
        params: SequenceParams,
        seed: int,
        checkpoint: Checkpoint | None,
    ):
        self.tables, self.events, self.model_args = tables, events, params.model_args()
        self.lr, self.seed, self.batch_size = params.lr, seed, params.batch_size
        self.device = events.items.device
        self.rows = torch.from_numpy(rows).to(self.device)
        self.loss_fn = nn.CrossEntropyLoss(reduction="sum")
        self.trained = 0  # rows trained on by this process (the rate)
        state = {
            "phase": "search",
            "epoch": 0,
            "perm": None,
            "lo": 0,
            "running": None,
            "seen": 0,
            "step": 0,
            "done": 0,
            "losses": [],
            "val_losses": [],
            "best": np.inf,
            "best_state": None,
            "bad": 0,
            "best_epochs": 0,
        }
        # the generator draws the window order of every epoch
        super().__init__(checkpoint, None, None, state, torch.Generator().manual_seed(seed))
        self.fresh()

    def fresh(self) -> None:
        """A new model and optimiser from the seed (the search and the refit start alike)."""
        seed_everything(self.seed)
        self.model = SequenceModel(self.tables, **self.model_args).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)

    # Which positions a batch predicts is known on the host (numpy masks): the flat indices of the
    # predicted positions select the same elements, in the same order, as boolean indexing, without
    # the device-to-host syncs of a boolean mask and its count; the loss is summed on the device
    # (in float64, as Python's floats did) and read once an epoch.
    def batch_loss(self, w: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, int]:
        idx = np.flatnonzero(mask[w][:, 1:])
        r = self.rows[torch.from_numpy(w).to(self.device)]
        it, re, ts = self.events.at(r)
        states = self.model.encode(it, re, ts)
        # the event at position j is predicted from the state after event j - 1
        u = self.events.users[r[:, 0].clamp(min=0)][:, None].expand(-1, r.shape[1] - 1)  # one user per window
        logits = self.model.score(states[:, :-1], it[:, 1:], u)
        sel = torch.from_numpy(idx).to(self.device)
        return self.loss_fn(logits.reshape(-1, 3)[sel], self.events.target[r[:, 1:].reshape(-1)[sel]]), len(idx)

    def epoch(self, windows: np.ndarray, mask: np.ndarray, bar) -> float:
        """One pass over ``windows`` in a seeded random order (or the rest of one a checkpoint
        interrupted); the mean training loss."""
        st = self.state
        if st["perm"] is None:
            st["perm"] = windows[torch.randperm(len(windows), generator=self.generator).numpy()]
            st["lo"], st["running"], st["seen"] = 0, torch.zeros((), dtype=torch.float64, device=self.device), 0
        self.model.train()
        perm = st["perm"]
        while st["lo"] < len(perm):
            loss, k = self.batch_loss(perm[st["lo"] : st["lo"] + self.batch_size], mask)
            self.optimizer.zero_grad(set_to_none=True)
            (loss / max(k, 1)).backward()
            self.optimizer.step()
            st["running"] += loss.detach().double()
            st["lo"] += self.batch_size
            st["seen"] += k
            st["step"] += 1
            st["done"] += k
            self.trained += k
            bar.update(k)
            self.save_if_due(st["step"])
        st["perm"] = None
        return float(st["running"]) / max(st["seen"], 1)

    @torch.no_grad()
    def validation_loss(self, windows: np.ndarray, mask: np.ndarray) -> float:
        self.model.eval()
        total, count = torch.zeros((), dtype=torch.float64, device=self.device), 0
        for lo in range(0, len(windows), 256):
            loss, k = self.batch_loss(windows[lo : lo + 256], mask)
            total, count = total + loss.double(), count + k
        return float(total) / max(count, 1)


def train_sequence(
    tables: Tables,
    log: TrainLog,
    params: SequenceParams = SequenceParams(),
    seed: int = 42,
    progress: bool = True,
    checkpoint: Checkpoint | None = None,
) -> Fit:
    """Predict every row's class from the events before it (cross-entropy, the DCN's target).
    The latest ``val_frac`` of the rows (file order, i.e. time) are only predicted, never trained
    on: after each epoch their loss decides whether to go on. With ``refit`` the model is then
    trained again from scratch on every row for the best number of epochs (else the best epoch's
    weights are kept). With a ``checkpoint`` it saves its state at least every 15 minutes and a
    rerun continues from the last one, to the same bits on the CPU."""
    rows, predict = training_windows(log.users, params.max_len)
    cut = int(len(log.users) * (1 - params.val_frac))
    is_val = predict & (rows >= cut)
    fit_mask = predict & ~is_val  # a validation row never precedes a fitted row of its user: causal
    events = Events.of(tables, log, torch_device())
    run = _SequenceTraining(tables, events, rows, params, seed, checkpoint)
    if run.resume() and progress:
        print(
            f"sequence: resumed from its checkpoint ({run.state['phase']}, epoch {run.state['epoch'] + 1})", flush=True
        )
    st = run.state
    start = time.perf_counter()
    if st["phase"] == "search":
        _search(run, params, fit_mask, is_val, progress)
        if params.refit:  # the same number of epochs again on every row: the latest rows matter most (drift)
            run.fresh()
            st.update(phase="refit", epoch=0, done=0, losses=[])
    n_rows = len(st["val_losses"]) * int(fit_mask.sum())
    if st["phase"] == "refit":
        all_windows = np.flatnonzero(predict.any(axis=1))
        with _progress(st["best_epochs"] * int(predict.sum()), "sequence, refit on all rows", progress) as bar:
            bar.update(st["done"])
            while st["epoch"] < st["best_epochs"]:
                st["losses"].append(run.epoch(all_windows, predict, bar))
                st["epoch"] += 1
                bar.set_postfix_str(f"loss {st['losses'][-1]:.4f}")
        n_rows += st["best_epochs"] * int(predict.sum())
    else:
        run.model.load_state_dict(st["best_state"])
    run.finish()
    elapsed = time.perf_counter() - start
    rate = run.trained / elapsed if elapsed > 0 else 0.0
    return Fit(run.model, st["losses"], rate, str(run.device), st["val_losses"], n_rows, run.seconds(), run.before)


def _search(run: _SequenceTraining, params: SequenceParams, fit_mask: np.ndarray, is_val: np.ndarray, progress: bool):
    """Epochs on the fitted rows until the validation loss has not improved ``patience`` times (or
    ``epochs`` ran); the best epoch's weights and count are kept in ``run.state``."""
    import copy

    st = run.state
    fit_windows, val_windows = np.flatnonzero(fit_mask.any(axis=1)), np.flatnonzero(is_val.any(axis=1))
    with _progress(params.epochs * int(fit_mask.sum()), "sequence", progress) as bar:
        bar.update(st["done"])
        while st["epoch"] < params.epochs:
            st["losses"].append(run.epoch(fit_windows, fit_mask, bar))
            st["val_losses"].append(run.validation_loss(val_windows, is_val))
            st["epoch"] += 1
            bar.set_postfix_str(f"loss {st['losses'][-1]:.4f} val {st['val_losses'][-1]:.4f}")
            if st["val_losses"][-1] < st["best"]:
                st["best"], st["best_state"], st["bad"] = st["val_losses"][-1], copy.deepcopy(run.model.state_dict()), 0
            else:
                st["bad"] += 1
                if st["bad"] >= params.patience:
                    break
        st["best_epochs"] = int(np.argmin(st["val_losses"])) + 1
        done = len(st["val_losses"])
        stopped = "stopped early after " if done < params.epochs else ""
        progress_line.stop(bar, bar.n, f"{stopped}{done} epochs, best {st['best_epochs']}: val {st['best']:.4f}")


@torch.no_grad()
def predict_sequence(
    fit: Fit, tables: Tables, log: TrainLog, test_users: np.ndarray, test_items: np.ndarray, batch_size: int = 512
) -> np.ndarray:
    """Class probabilities (n_test, 3) of each test pair from the user's last ``max_len`` train events."""
    model: SequenceModel = fit.model
    device = torch.device(fit.device)
    model.eval()
    L = model.max_len
    order, starts, lengths = user_sequences(log.users)
    run_users = log.users[order[starts]]
    # each test user's last L events, left-aligned: the state after the last one is read
    q_users = np.unique(test_users)
    run = np.minimum(np.searchsorted(run_users, q_users), len(run_users) - 1)
    if (run_users[run] != q_users).any():  # the loaders guarantee it; a caller passing other arrays might not
        raise ValueError("a test user has no train history")
    n_ev = np.minimum(lengths[run], L)
    first = starts[run] + lengths[run] - n_ev
    pos = first[:, None] + np.arange(L)[None]
    rows = np.where(np.arange(L)[None] < n_ev[:, None], order[np.minimum(pos, len(order) - 1)], -1)
    events = Events.of(tables, log, device)
    which = np.searchsorted(q_users, test_users)  # test row -> its user's row in `rows`
    out = np.zeros((len(test_users), 3))
    for lo in range(0, len(q_users), batch_size):
        sl = slice(lo, lo + batch_size)
        r = torch.from_numpy(rows[sl]).to(device)
        states = model.encode(*events.at(r))
        last = states[torch.arange(len(r), device=device), torch.from_numpy(n_ev[sl] - 1).to(device)]
        sel = np.flatnonzero((which >= lo) & (which < lo + batch_size))
        st = last[torch.from_numpy(which[sel] - lo).to(device)]
        cand = torch.from_numpy(test_items[sel].astype(np.int64)).to(device)
        who = torch.from_numpy(q_users[which[sel]].astype(np.int64)).to(device)
        out[sel] = torch.softmax(model.score(st, cand, who), dim=-1).cpu().numpy()
    return out


# ---------------------------------------------------------------- ours: a learning-to-rank stack

# LightGBM lambdarank, one query per user and window, labels dislike 0 / ignore 1 / like 2. Small
# trees, large leaves and an L2 penalty: the labels are one draw each, 95 % of them "ignore", and
# the ranker's rows are few (half of train); bagging makes it a model seed's business.
LTR_PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [20],
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_data_in_leaf": 500,
    "lambda_l2": 10.0,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
# A fixed number of trees, set by hand: on the small twin the latest window's NDCG@20 (one drawn
# label a row) moves less than its noise anywhere from 5 to 400 trees, so early stopping on it
# stops at a random round (it picked 10, a ranker that has barely moved from its first trees).
# ``train_ltr`` still records that curve, for the notebook to show.
LTR_TREES = 100


def train_ltr(
    X: np.ndarray,
    y: np.ndarray,
    query: np.ndarray,
    is_val: np.ndarray,
    names: list[str],
    seed: int = 42,
    trees: int = LTR_TREES,
) -> tuple[lgb.Booster, list[float]]:
    """``trees`` trees on every row. Returns (booster, the NDCG@20 of the ``is_val`` rows after
    each tree of the same ranker fitted without them)."""
    params = {**LTR_PARAMS, "seed": seed, "num_threads": dispatch.threads()}
    order = np.lexsort((np.arange(len(query)), query))  # rows sorted by query, file order within
    X, y, query, is_val = X[order], y[order], query[order], is_val[order]

    def dataset(mask, reference=None):
        return boosting.ranking_dataset(X[mask], y[mask], query[mask], names, reference)

    dfit, curve = dataset(~is_val), {}
    lgb.train(
        params,
        dfit,
        trees,
        valid_sets=[dataset(is_val, dfit)],
        valid_names=["val"],
        callbacks=[lgb.record_evaluation(curve)],
    )
    booster = lgb.train(params, dataset(np.ones(len(y), dtype=bool)), num_boost_round=trees)
    return booster, [float(v) for v in curve["val"]["ndcg@20"]]
