"""The two sources' models, on frozen encoder features.

(a) open_photo / view: a head on the image embedding (``cnn``) or on the image and text
    embeddings concatenated (``fusion``): Linear -> sigmoid, as the source's fusion. Five losses:
    BCE, MSE and exp(alpha * y)-weighted BCE with alpha 2, 3, 4. AdamW, gradient clip 1.0, seed 42;
    the epoch kept is the one with the lowest validation log loss on a split carved from train (the
    source kept the last epoch and printed BCE with prediction and target swapped).
(b) like, comment and share_to_message rates: CatBoost MultiRMSE (1000 iterations, depth 5, lr 0.2,
    l2_leaf_reg 9), 5-fold KFold with early stopping on each held-out fold, test predictions
    averaged over the folds; leak-free features only (no other activity counts, nothing fitted on
    test rows).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shared.eval.metrics import log_loss
from shared.runtime import dispatch
from shared.runtime import progress as progress_line
from shared.runtime.device import torch_device
from shared.runtime.seed import seed_everything

if TYPE_CHECKING:  # torch is imported where it is used: the frozen-encoder lessons start faster
    from shared.train.checkpoint import Checkpoint

LOSSES = ("bce", "mse", "wbce2", "wbce3", "wbce4")
HEADS = ("cnn", "fusion")
EPS = 1e-6  # predictions are clipped to [EPS, 1 - EPS] wherever a log loss is taken


@dataclass(frozen=True)
class HeadParams:
    epochs: int = 40
    batch: int = 256
    lr: float = 3e-4  # 1e-3 (AdamW default) peaked at epoch 2 on the small twin, then overfit
    weight_decay: float = 1e-2
    clip: float = 1.0  # gradient-norm clip, as the source


@dataclass
class HeadFit:
    weight: np.ndarray  # (d,) on standardised inputs
    bias: float
    mean: np.ndarray
    std: np.ndarray
    best_epoch: int  # 0: the initial constant (the mean rate) was never beaten
    val_logloss: list[float] = field(default_factory=list)  # after each epoch, [0] = before training
    seconds: float = 0.0
    rows_per_s: float = 0.0

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.std) @ self.weight + self.bias
        return 1.0 / (1.0 + np.exp(-z))


def loss_value(name: str, p, y):
    """The training loss of one batch (torch tensors). BCE takes the prediction first and the
    target second: ``binary_cross_entropy(p, y)``; the source passed them the other way round."""
    import torch.nn.functional as F

    if name == "mse":
        return F.mse_loss(p, y)
    bce = F.binary_cross_entropy(p, y, reduction="none")
    if name == "bce":
        return bce.mean()
    if name.startswith("wbce"):
        import torch

        return (torch.exp(float(name.removeprefix("wbce")) * y) * bce).mean()
    raise ValueError(f"unknown loss {name!r}: one of {LOSSES}")


def train_head(
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    loss: str,
    params: HeadParams = HeadParams(),
    seed: int = 42,
) -> HeadFit:
    """Linear -> sigmoid on standardised features, started at the constant mean rate (zero weights,
    bias logit(mean)), so epoch 0 is the constant baseline; keeps the epoch with the lowest
    validation log loss."""
    import torch

    seed_everything(seed)
    mean, std = x.mean(0), x.std(0) + 1e-6
    dev = torch_device()
    xt = torch.tensor((x - mean) / std, dtype=torch.float32, device=dev)
    yt = torch.tensor(y, dtype=torch.float32, device=dev)
    xv = torch.tensor((x_val - mean) / std, dtype=torch.float32, device=dev)
    head = torch.nn.Linear(x.shape[1], 1).to(dev)
    torch.nn.init.zeros_(head.weight)
    m = float(np.clip(y.mean(), EPS, 1 - EPS))
    torch.nn.init.constant_(head.bias, np.log(m / (1 - m)))
    opt = torch.optim.AdamW(head.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    gen = torch.Generator().manual_seed(seed)

    def val_loss() -> float:
        with torch.no_grad():
            return log_loss(y_val, torch.sigmoid(head(xv)).squeeze(1).cpu().numpy(), eps=EPS)

    def snapshot():
        return head.weight.detach().cpu().numpy()[0].astype(np.float64).copy(), float(head.bias.item())

    history, best, best_epoch = [val_loss()], snapshot(), 0
    start = time.perf_counter()
    for epoch in range(1, params.epochs + 1):
        for idx in torch.randperm(len(yt), generator=gen).split(params.batch):
            opt.zero_grad()
            p = torch.sigmoid(head(xt[idx])).squeeze(1).clamp(EPS, 1 - EPS)
            loss_value(loss, p, yt[idx]).backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), params.clip)
            opt.step()
        history.append(val_loss())
        if history[-1] < history[best_epoch]:
            best, best_epoch = snapshot(), epoch
    seconds = time.perf_counter() - start
    return HeadFit(
        best[0], best[1], mean, std, best_epoch, history, seconds, len(y) * params.epochs / max(seconds, 1e-9)
    )


# ---------------------------------------------------------------- ours: a small MLP head, seed-averaged


@dataclass(frozen=True)
class MlpParams:
    """Ours, on the same frozen embedding as ``cnn``: one hidden layer (dropout on the input and on
    the hidden units), BCE, early stopping on validation, and the mean of ``seeds`` such heads.
    On the full calibrated twin it gained 0.0001 log loss over ``cnn-bce`` (several standard errors):
    the photo's traits are not linear in the embedding."""

    hidden: int = 64
    input_dropout: float = 0.2
    dropout: float = 0.3
    epochs: int = 40
    batch: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-2
    seeds: int = 4


CLIP_Z = 5.0  # standardised MLP inputs are clipped to [-CLIP_Z, CLIP_Z]


@dataclass
class MlpFit:
    predict_all: np.ndarray  # every row, the mean over the seeds of each seed's best epoch
    best_epochs: list[int]  # per seed; 0: the initial constant was never beaten
    val_logloss: list[float]  # per seed, at its best epoch
    seconds: float


def train_mlp_head(
    x: np.ndarray,
    y: np.ndarray,
    fit_idx: np.ndarray,
    val_idx: np.ndarray,
    params: MlpParams = MlpParams(),
    seed: int = 42,
) -> MlpFit:
    """``params.seeds`` MLP heads on standardised ``x`` (rows ``fit_idx``), each started at the constant
    (zero output weights, bias logit(mean)) and kept at its lowest validation log loss; returns the
    mean of their predictions for every row."""
    import torch

    dev = torch_device()
    mean, std = x[fit_idx].mean(0), x[fit_idx].std(0) + 1e-6
    # clipped: a feature (nearly) constant on the fitting rows standardises other rows to thousands,
    # which the random first layer, unlike the zero-started linear head, passes on
    # float64: a float32 MLP's written rates moved by 1e-8 (their eighth decimal) with the width of
    # torch's vector kernels (AVX2 against AVX-512), its rounding noise being 1e9 times larger
    xt = torch.tensor(np.clip((x - mean) / std, -CLIP_Z, CLIP_Z), dtype=torch.float64, device=dev)
    yt = torch.tensor(y, dtype=torch.float64, device=dev)
    m = float(np.clip(y[fit_idx].mean(), EPS, 1 - EPS))
    fit_t = torch.as_tensor(fit_idx)
    start, preds, best_epochs, best_losses = time.perf_counter(), [], [], []
    for k in range(params.seeds):
        seed_everything(seed + k)
        net = torch.nn.Sequential(
            torch.nn.Dropout(params.input_dropout),
            torch.nn.Linear(x.shape[1], params.hidden),
            torch.nn.GELU(),
            torch.nn.Dropout(params.dropout),
            torch.nn.Linear(params.hidden, 1),
        ).to(dev, torch.float64)
        torch.nn.init.zeros_(net[-1].weight)
        torch.nn.init.constant_(net[-1].bias, np.log(m / (1 - m)))
        opt = torch.optim.AdamW(net.parameters(), lr=params.lr, weight_decay=params.weight_decay)
        gen = torch.Generator().manual_seed(seed + k)

        def predict(net=net) -> np.ndarray:  # this seed's net (bound now: the loop rebinds the name)
            net.eval()
            with torch.no_grad():
                return torch.sigmoid(net(xt)).squeeze(1).double().cpu().numpy()

        best = predict()
        losses = [log_loss(y[val_idx], best[val_idx], eps=EPS)]
        for _ in range(params.epochs):
            net.train()
            for idx in fit_t[torch.randperm(len(fit_t), generator=gen)].split(params.batch):
                opt.zero_grad()
                p = torch.sigmoid(net(xt[idx])).squeeze(1).clamp(EPS, 1 - EPS)
                loss_value("bce", p, yt[idx]).backward()
                opt.step()
            p = predict()
            losses.append(log_loss(y[val_idx], p[val_idx], eps=EPS))
            if losses[-1] < min(losses[:-1]):
                best = p
        preds.append(best)
        best_epochs.append(int(np.argmin(losses)))
        best_losses.append(float(min(losses)))
    return MlpFit(np.mean(preds, axis=0), best_epochs, best_losses, time.perf_counter() - start)


# ---------------------------------------------------------------- (b) CatBoost MultiRMSE


@dataclass(frozen=True)
class BoostParams:
    iterations: int = 1000
    depth: int = 5
    learning_rate: float = 0.2
    l2_leaf_reg: float = 9.0
    folds: int = 5
    early_stopping: int = 50  # rounds without improvement on the held-out fold


@dataclass
class KFoldFit:
    """CatBoost over k folds (``catboost_kfold``): the folds' mean test predictions, each train row's
    out-of-fold prediction, each fold's best round, the mean importance and the seconds it took."""

    test: np.ndarray  # (n_test, n_targets), the folds' mean
    oof: np.ndarray  # (n_train, n_targets), each row predicted by the fold that did not see it
    best_iterations: list[int]
    importance: dict[str, float]
    seconds: float


def _catboost_settings(params: BoostParams, loss: str, seed: int) -> dict:
    """One fold's CatBoost: ``params``, early stopping on the held-out part, the pinned threads; a
    per-target CrossEntropy model starts from the target's mean."""
    return {
        "loss_function": loss,
        "iterations": params.iterations,
        "depth": params.depth,
        "learning_rate": params.learning_rate,
        "l2_leaf_reg": params.l2_leaf_reg,
        "random_seed": seed,
        "thread_count": dispatch.threads(),
        "verbose": False,
        "allow_writing_files": False,
        "od_type": "Iter",
        "od_wait": params.early_stopping,
        "use_best_model": True,
        **({"boost_from_average": True} if loss == "CrossEntropy" else {}),
    }


def catboost_kfold(
    x: pd.DataFrame,
    y: np.ndarray,
    x_test: pd.DataFrame,
    cat_features: list[str],
    params: BoostParams = BoostParams(),
    seed: int = 42,
    loss: str = "MultiRMSE",
) -> KFoldFit:
    """KFold(shuffle, seed) over the rows of ``y`` (n, n_targets): each fold early-stops on its
    held-out part; the test predictions are averaged over the folds. ``loss`` "MultiRMSE" (source
    (b)): one model for all targets, on the rates. "CrossEntropy" (ours): one model per target on
    the same folds, the rate as a soft label through a logit link: the log loss the task is scored by."""
    from catboost import CatBoost, Pool
    from sklearn.model_selection import KFold

    if loss not in ("MultiRMSE", "CrossEntropy"):
        raise ValueError(f"loss must be MultiRMSE or CrossEntropy, got {loss!r}")
    start = time.perf_counter()
    oof = np.zeros_like(y, dtype=np.float64)
    test = np.zeros((len(x_test), y.shape[1]))
    best, importance = [], np.zeros(x.shape[1])
    test_pool = Pool(x_test, cat_features=cat_features)
    per_target = loss == "CrossEntropy"  # one model per target column; MultiRMSE: all columns in one
    groups = [[k] for k in range(y.shape[1])] if per_target else [list(range(y.shape[1]))]
    kind = {"prediction_type": "Probability"} if per_target else {}
    for fit_idx, hold_idx in KFold(params.folds, shuffle=True, random_state=seed).split(x):
        for cols in groups:
            model = CatBoost(_catboost_settings(params, loss, seed))
            target = y[:, cols[0]] if per_target else y[:, cols]
            model.fit(
                Pool(x.iloc[fit_idx], target[fit_idx], cat_features=cat_features),
                eval_set=Pool(x.iloc[hold_idx], target[hold_idx], cat_features=cat_features),
            )
            hold = model.predict(Pool(x.iloc[hold_idx], cat_features=cat_features), **kind)
            pred = model.predict(test_pool, **kind)
            if per_target:  # Probability: the columns of classes 0 and 1
                hold, pred = hold[:, 1:], pred[:, 1:]
            oof[np.ix_(hold_idx, cols)] = hold
            test[:, cols] += pred / params.folds
            best.append(int(model.get_best_iteration()))
            importance += model.get_feature_importance() / (params.folds * len(groups))
    order = np.argsort(-importance)
    return KFoldFit(
        test, oof, best, {x.columns[i]: round(float(importance[i]), 3) for i in order}, time.perf_counter() - start
    )


def pca_columns(
    train: np.ndarray, other: np.ndarray, k: int, prefix: str, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first ``k`` principal components of an embedding, fitted on the train rows only."""
    from sklearn.decomposition import PCA

    k = min(k, train.shape[1], train.shape[0])
    pca = PCA(n_components=k, random_state=seed, svd_solver="full").fit(train)
    cols = [f"{prefix}{i}" for i in range(k)]
    return pd.DataFrame(pca.transform(train), columns=cols), pd.DataFrame(pca.transform(other), columns=cols)


def swapped_bce(y: np.ndarray, p: np.ndarray) -> float:
    """Source (a)'s printed "LogLoss": torch's BCELoss called as ``BCELoss()(target, prediction)``,
    i.e. the observed rate used as the probability and the prediction as the target (torch clamps
    each log at -100). Kept only to read the source's number; never used to choose a model."""
    import torch
    import torch.nn.functional as F

    return float(
        F.binary_cross_entropy(torch.tensor(np.asarray(y, np.float64)), torch.tensor(np.asarray(p, np.float64)))
    )


# ---------------------------------------------------------------- (a) fine-tuning the CNN


@dataclass(frozen=True)
class FinetuneParams:
    """End-to-end training of EfficientNet-Lite0 + the Linear head, as source (a) trained its CNNs.
    ``epochs`` 0 turns it off: the default, since on 2 CPU cores it trains about 12 rows/s (an
    epoch over the real file's 16,938 fitting rows: about 25 minutes; benchmarks/)."""

    epochs: int = 0
    batch: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-2
    clip: float = 1.0
    loss: str = "wbce2"  # the source's favourite


@dataclass
class FinetuneFit:
    predict_all: np.ndarray  # predictions of every row given, with the best epoch's weights
    best_epoch: int
    val_logloss: list[float]
    seconds: float
    rows_per_s: float
    device: str


def _finetune_model(y_fit: np.ndarray, dev):
    """The ImageNet EfficientNet-Lite0 with a Linear -> sigmoid head that starts at the constant (the
    fitted rows' mean rate), as ``train_head``'s."""
    import torch

    from solutions.vklab_posts.features import load_efficientnet_lite0

    net = load_efficientnet_lite0()
    head = torch.nn.Linear(1280, 1)
    torch.nn.init.zeros_(head.weight)
    m = float(np.clip(y_fit.mean(), EPS, 1 - EPS))
    torch.nn.init.constant_(head.bias, np.log(m / (1 - m)))
    return torch.nn.ModuleDict({"net": net, "head": head}).to(dev, memory_format=torch.channels_last)


def _finetune_calls(model, pixels: np.ndarray, dev):
    """``forward(rows)``: the model's rates for those rows of ``pixels`` (uint8, centred and scaled
    as the encoder was trained); ``predict(rows)``: the same in inference mode, 64 photos at a time."""
    import torch

    def forward(idx: np.ndarray):
        x = torch.from_numpy(pixels[idx]).to(dev).permute(0, 3, 1, 2).float()
        x = ((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)
        feats = model["net"]._avg_pooling(model["net"].extract_features(x)).flatten(1)
        return torch.sigmoid(model["head"](feats)).squeeze(1)

    def predict(idx: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.inference_mode():
            return np.concatenate([forward(idx[s : s + 64]).double().cpu().numpy() for s in range(0, len(idx), 64)])

    return forward, predict


def finetune_cnn(
    pixels: np.ndarray,
    y: np.ndarray,
    fit_idx: np.ndarray,
    val_idx: np.ndarray,
    params: FinetuneParams,
    seed: int = 42,
    progress: bool = False,
    checkpoint: Checkpoint | None = None,
) -> FinetuneFit:
    """Fine-tune ``_finetune_model`` on ``pixels`` (n, 224, 224, 3) uint8 rows ``fit_idx``; keep the
    epoch with the lowest log loss on ``val_idx``; return the kept model's predictions for all n rows.
    With a ``checkpoint`` (``shared.train.checkpoint``) it saves its state at least every 15 minutes, mid-epoch
    included, and a rerun continues from the last one, to the same bits on the CPU."""
    import torch

    from shared.train.checkpoint import ResumableLoop

    seed_everything(seed)
    model = _finetune_model(y[fit_idx], dev := torch_device())
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)

    forward, predict = _finetune_calls(model, pixels, dev)
    state = {"history": [log_loss(y[val_idx], predict(val_idx), eps=EPS)], "best": copy.deepcopy(model.state_dict())}
    state |= {"best_epoch": 0, "epoch": 1, "pos": 0, "order": None, "steps": 0}  # epoch and row to go on from
    loop = ResumableLoop(checkpoint, model, opt, state, torch.Generator().manual_seed(seed))
    if loop.resume() and progress:
        where = f"epoch {loop.state['epoch']}, row {loop.state['pos']:,} of {len(fit_idx):,}"
        print(f"fine-tune: resumed from its checkpoint in {where}", flush=True)
    st = loop.state
    done = (st["epoch"] - 1) * len(fit_idx) + st["pos"]  # rows trained before this process
    bar = progress_line.line(params.epochs * len(fit_idx), f"fine-tune ({params.loss})", "row", progress)
    bar.update(done)
    yt = torch.as_tensor(y, dtype=torch.float32)
    start = time.perf_counter()
    for epoch in range(st["epoch"], params.epochs + 1):
        st["epoch"] = epoch
        model.train()
        if st["order"] is None:
            st["order"] = fit_idx[torch.randperm(len(fit_idx), generator=loop.generator).numpy()]
        for s in range(st["pos"], len(st["order"]), params.batch):
            idx = st["order"][s : s + params.batch]
            opt.zero_grad()
            loss_value(params.loss, forward(idx).clamp(EPS, 1 - EPS), yt[idx].to(dev)).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), params.clip)
            opt.step()
            st["steps"], st["pos"] = st["steps"] + 1, s + params.batch
            bar.update(len(idx))
            loop.save_if_due(st["steps"])
        st["pos"], st["order"] = 0, None
        st["history"].append(log_loss(y[val_idx], predict(val_idx), eps=EPS))
        if st["history"][-1] < st["history"][st["best_epoch"]]:
            st["best"], st["best_epoch"] = copy.deepcopy(model.state_dict()), epoch
    loop.finish()
    seconds = time.perf_counter() - start
    bar.close()
    model.load_state_dict(st["best"])
    rate = (params.epochs * len(fit_idx) - done) / max(seconds, 1e-9)  # rows a second
    return FinetuneFit(predict(np.arange(len(y))), st["best_epoch"], st["history"], seconds, rate, dev.type)
