"""Synthetic twin of ``post2ctr_dataset.csv``, in exactly its format, with known true rates.

Each post has hidden traits, drawn per row from named seeded streams:

    photo   background colour (7 hues), texture (flat, stripes, noise, gradient), drawn shapes
            (none, circles, squares or triangles; 1-6 of them) and an optional caption banner;
            longest side 256 px, aspect ratio from 16:9 landscape to 9:16 portrait, JPEG quality 85
    text    null in 17.9 % of rows (4,205 of 23,527 in the release); otherwise a topic (8), words
            from that topic's vocabulary among common filler words, and VK quirks: HTML entities
            (``&quot;``, emoji as ``&#128513;``), ``<br>``, ``[club123|@name]`` mentions, hashtags,
            links, a question, words in CAPS
    quality an unobservable log-normal factor per activity (no model can see it; the oracle can)

True rates are logistic in these traits, each activity's intercept set so its mean rate is
``MEAN_RATES``; ``Params.photo_scale`` scales what the photo says about ``open_photo`` against the
unobservable quality, fitted (``python -m solutions.vklab_posts.calibrate``, every trial in
``benchmarks/calibration-vklab_posts.csv``) so that source (a)'s heads gain over a constant what they
gained on the real file. The photo drives ``open_photo`` (colour, texture, shapes, caption), the text drives
``like`` (topic, emoji), ``comment`` (topic, question) and ``share_to_message`` (topic, link); views
are heavy-tailed (1,000 + log-normal; median near 7,333, maximum near 7M at full size) and each
count is Binomial(view, rate). ``truth.parquet`` keeps every row's true rates (the oracle) and, as
``<activity>_seen``, each rate's expectation over the quality given the traits a model can see (the
ceiling: what the best possible model predicts; the gap between it and the oracle is unreachable).

Images and texts are built one row at a time (drawing a picture and joining words are per-item
operations no array library does); every random choice is drawn up front, vectorised.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
from PIL import Image, ImageDraw, ImageFont

import shared.twin.blocks as shared_twin
from shared.data.io import atomic_path
from shared.twin.blocks import calibrate_intercept, check_scale, code_version, params_folder, stream
from solutions.vklab_posts import TRACK
from solutions.vklab_posts.data import ACTIVITIES, COUNTS, FILENAME, N_ROWS

TRUTH = "truth.parquet"
SEEN = "_seen"  # truth column suffix: the expected rate given what a model can see (the ceiling)
VERSION = code_version(__file__, shared_twin.__file__)
SCALES = {"tiny": 240, "small": 3_000, "full": N_ROWS}
NULL_TEXT = 4_205 / 23_527
# fmt: off
MEAN_RATES = {"like": 0.012, "comment": 0.0009, "hide": 0.0004, "expand": 0.006, "open_photo": 0.038,
              "open": 0.004, "share_to_message": 0.0015}
# fmt: on
VIEW_MEDIAN_EXTRA, VIEW_SIGMA = 6_333.0, 1.8  # view = 1,000 + LogNormal: median ~7,333, max ~7M at 23,527 rows
QUALITY_SD = 0.35  # the unobservable part of each logit


@dataclass(frozen=True)
class Params:
    """The twin's global parameters; the defaults are the calibrated values (every trial, and the
    ``--final`` run of these, in ``benchmarks/calibration-vklab_posts.csv``)."""

    photo_scale: float = 0.65  # strength of the photo's traits in the open_photo logit
    open_photo_rate: float = MEAN_RATES["open_photo"]  # mean true open_photo rate (the constant's log loss)


HUES = np.array(
    [[220, 60, 50], [240, 150, 40], [235, 215, 60], [70, 170, 80], [50, 110, 220], [150, 70, 190], [128, 128, 128]],
    float,
)  # red orange yellow green blue purple grey
HUE_NAMES = ("red", "orange", "yellow", "green", "blue", "purple", "grey")
TEXTURES = ("flat", "stripes", "noise", "gradient")
SHAPES = ("none", "circles", "squares", "triangles")
SIZES = ((256, 256), (256, 192), (192, 256), (256, 144), (144, 256), (256, 171), (171, 256))
# effects on the open_photo logit
HUE_EFFECT = np.array([0.55, 0.25, 0.0, -0.2, -0.45, 0.35, -0.7])
TEXTURE_EFFECT = np.array([-0.35, 0.2, 0.45, -0.1])
SHAPE_EFFECT = np.array([0.0, 0.45, -0.15, 0.3])  # times log(1 + count)
CAPTION_EFFECT = 0.6

TOPICS = {
    "animals": "кот кошка котик собака щенок пёс лапы хвост питомец приют корм ветеринар",
    "food": "рецепт торт пирог ужин завтрак вкусно блюдо сыр мясо салат суп десерт",
    "sport": "матч гол команда чемпионат тренировка футбол хоккей победа игрок турнир счёт стадион",
    "news": "новости город власти закон сегодня решение заявил район жители дорога суд администрация",
    "humor": "смешно шутка анекдот мем ржака прикол юмор смех весело угар",
    "contest": "конкурс розыгрыш приз подарок победитель репост подписка участвуйте разыгрываем итоги",
    "shop": "скидка цена магазин заказ доставка товар акция купить распродажа наличие",
    "travel": "путешествие море горы отдых тур отель пляж озеро поход маршрут закат",
}
TOPIC_NAMES = tuple(TOPICS)
TOPIC_WORDS = tuple(tuple(v.split()) for v in TOPICS.values())
FILLER = tuple(
    (
        "и в на с по для это как что все мы вы они наш ваш очень уже ещё только можно нужно будет "
        "было есть день год время люди друзья жизнь дом новый первый хороший большой лучший "
        "сегодня завтра вчера здесь там всегда снова теперь потом вместе каждый свой"
    ).split()
)
# effects of the topic (index as TOPICS) on like, comment and share_to_message logits
TOPIC_LIKE = np.array([0.7, 0.3, 0.1, -0.5, 0.8, -0.2, -0.6, 0.4])
TOPIC_COMMENT = np.array([0.3, 0.4, 0.6, 0.9, 0.2, 1.2, -0.4, -0.2])
TOPIC_SHARE = np.array([0.2, 0.5, -0.3, 0.4, 0.9, 1.6, -0.2, 0.3])
EMOJI = ("&#128513;", "&#128521;", "&#128571;", "&#10084;", "&#128293;", "&#128170;", "&#128009;")
FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"  # Cyrillic glyphs


@dataclass
class Traits:
    hue: np.ndarray
    texture: np.ndarray
    shape: np.ndarray
    n_shapes: np.ndarray
    caption: np.ndarray
    size: np.ndarray
    has_text: np.ndarray
    topic: np.ndarray
    n_words: np.ndarray
    question: np.ndarray
    n_emoji: np.ndarray
    mention: np.ndarray
    hashtag: np.ndarray
    link: np.ndarray
    caps: np.ndarray

    @property
    def n(self) -> int:
        return len(self.hue)


def draw_traits(n: int, seed: int) -> Traits:
    rng = stream(seed, "vklab/traits")
    shape = rng.choice(4, n, p=[0.3, 0.25, 0.25, 0.2])
    has_text = rng.random(n) >= NULL_TEXT
    return Traits(
        hue=rng.integers(0, len(HUES), n),
        texture=rng.integers(0, len(TEXTURES), n),
        shape=shape,
        n_shapes=np.where(shape > 0, rng.integers(1, 7, n), 0),
        caption=rng.random(n) < 0.3,
        size=rng.integers(0, len(SIZES), n),
        has_text=has_text,
        topic=rng.integers(0, len(TOPICS), n),
        n_words=np.clip(np.round(rng.lognormal(np.log(18), 0.8, n)), 2, 300).astype(np.int64),
        question=has_text & (rng.random(n) < 0.25),
        n_emoji=np.where(has_text, rng.poisson(0.8, n), 0),
        mention=has_text & (rng.random(n) < 0.15),
        hashtag=has_text & (rng.random(n) < 0.2),
        link=has_text & (rng.random(n) < 0.1),
        caps=has_text & (rng.random(n) < 0.12),
    )


def true_rates(t: Traits, seed: int, params: Params = Params(), seen: bool = False) -> dict[str, np.ndarray]:
    """Each activity's true rate per row: logistic in the traits plus unobservable quality. With
    ``seen``, each activity's expected rate given what a model can see instead (the traits, averaged
    over the quality it cannot): the best any model can predict in expectation, the ``ceiling``."""
    rng = stream(seed, "vklab/quality")
    text = t.has_text.astype(float)
    length = np.where(t.has_text, np.log(t.n_words) - np.log(18), 0.0)
    means = MEAN_RATES | {"open_photo": params.open_photo_rate}
    logits = {
        "open_photo": params.photo_scale
        * (
            HUE_EFFECT[t.hue]
            + TEXTURE_EFFECT[t.texture]
            + SHAPE_EFFECT[t.shape] * np.log1p(t.n_shapes)
            + CAPTION_EFFECT * t.caption
            - 0.15 * length
        ),
        "like": text * TOPIC_LIKE[t.topic] + 0.25 * np.minimum(t.n_emoji, 4) + 0.3 * HUE_EFFECT[t.hue],
        "comment": text * TOPIC_COMMENT[t.topic] + 1.0 * t.question + 0.3 * t.mention,
        "share_to_message": text * TOPIC_SHARE[t.topic] + 0.4 * t.link + 0.3 * t.hashtag,
        "hide": 0.6 * t.caps + 0.4 * t.link - 0.3 * text,
        "expand": 1.2 * length + 1.5 * text,
        "open": 0.5 * t.link + 0.3 * length,
    }
    out, expected = {}, {}
    for name in ACTIVITIES:
        z = logits[name] + rng.normal(0.0, QUALITY_SD, t.n)
        b = calibrate_intercept(z, means[name])
        out[name] = shared_twin.sigmoid(z + b)
        if seen:
            expected[name] = shared_twin.expected_sigmoid(logits[name] + b, QUALITY_SD)
    return expected if seen else out


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def draw_photo(t: Traits, i: int, rng: np.random.Generator, caption: str) -> bytes:
    """Row i's JPEG: colour, texture, shapes and caption as its traits say."""
    w, h = SIZES[t.size[i]]
    base = HUES[t.hue[i]] * rng.uniform(0.8, 1.1)
    yy, xx = np.mgrid[0:h, 0:w]
    texture = TEXTURES[t.texture[i]]
    if texture == "stripes":
        period, angle = rng.uniform(10, 28), rng.uniform(0, np.pi)
        band = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period) > 0
        shade = np.where(band, 1.0, 0.6)[..., None]
    elif texture == "noise":
        shade = 1.0 + rng.normal(0.0, 0.25, (h, w, 1))
    elif texture == "gradient":
        shade = (0.45 + 0.8 * (xx + yy) / (w + h))[..., None]
    else:
        shade = np.ones((h, w, 1))
    img = Image.fromarray(np.clip(base * shade, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(t.n_shapes[i])):
        r = rng.uniform(12, 40)
        cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
        colour = tuple(int(c) for c in rng.choice([0, 255], 3)) if rng.random() < 0.5 else (255, 255, 255)
        kind = SHAPES[t.shape[i]]
        if kind == "circles":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=(0, 0, 0), width=2)
        elif kind == "squares":
            draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=(0, 0, 0), width=2)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour, outline=(0, 0, 0))
    if t.caption[i]:
        top = rng.random() < 0.5
        y0 = 0 if top else h - 40
        draw.rectangle((0, y0, w, y0 + 40), fill=(255, 255, 255))
        draw.text((8, y0 + 8), caption, fill=(0, 0, 0), font=_font(20))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def write_text(t: Traits, i: int, rng: np.random.Generator) -> str | None:
    """Row i's raw VK text (None where the post has none)."""
    if not t.has_text[i]:
        return None
    topic = TOPIC_WORDS[t.topic[i]]
    words = [
        topic[k % len(topic)] if u < 0.3 else FILLER[k % len(FILLER)]
        for u, k in zip(rng.random(t.n_words[i]), rng.integers(0, 10_000, t.n_words[i]))
    ]
    if t.caps[i]:
        words[0] = words[0].upper()
    if rng.random() < 0.2:
        j = int(rng.integers(len(words)))
        words[j] = f"&quot;{words[j]}&quot;"
    sentences, k = [], 0
    while k < len(words):
        step = int(rng.integers(4, 12))
        sentences.append(" ".join(words[k : k + step]).capitalize() + ".")
        k += step
    if t.question[i]:
        sentences.append(f"А вы {rng.choice(topic)}?")
    if t.n_emoji[i]:
        sentences[-1] += " " + "".join(rng.choice(EMOJI, t.n_emoji[i]))
    if t.mention[i]:
        sentences.insert(0, f"[club{int(rng.integers(1, 10**8))}|@{rng.choice(FILLER)}{rng.choice(topic)}]")
    if t.link[i]:
        sentences.append(f"https://vk.cc/{int(rng.integers(10**5, 10**6)):x}")
    if t.hashtag[i]:
        sentences.append(f"#{rng.choice(topic)} #{TOPIC_NAMES[t.topic[i]]}")
    gaps = rng.choice([" ", "<br>", "<br><br>"], len(sentences) - 1, p=[0.5, 0.3, 0.2])
    return sentences[0] + "".join(g + s for g, s in zip(gaps, sentences[1:]))


def views(n: int, seed: int) -> np.ndarray:
    return 1_000 + np.round(stream(seed, "vklab/views").lognormal(np.log(VIEW_MEDIAN_EXTRA), VIEW_SIGMA, n)).astype(
        np.int64
    )


def folder(scale: str, seed: int, params: Params = Params()) -> Path:
    """Where the twin of (scale, seed) with ``params`` lives."""
    return params_folder(TRACK, scale, seed, VERSION, params)


def generate(
    scale: str = "small", seed: int = 42, out_dir: str | Path | None = None, params: Params = Params()
) -> Path:
    """Write post2ctr_dataset.csv and truth.parquet (row, each activity's true rate)."""
    n = SCALES[check_scale(scale, SCALES, TRACK)]
    out = Path(out_dir) if out_dir else folder(scale, seed, params)
    out.mkdir(parents=True, exist_ok=True)
    t = draw_traits(n, seed)
    rates = true_rates(t, seed, params)
    seen = true_rates(t, seed, params, seen=True)
    view = views(n, seed)
    counts = stream(seed, "vklab/counts")
    table = {"view": view, **{a: counts.binomial(view, rates[a]).astype(np.int64) for a in ACTIVITIES}}
    per_row = np.random.SeedSequence([seed, 1_000_003]).spawn(n)  # one generator per row: any row redrawn alone
    texts, photos = [], []
    for i in range(n):
        rng = np.random.default_rng(per_row[i])
        texts.append(write_text(t, i, rng))
        caption = " ".join(rng.choice(TOPIC_WORDS[t.topic[i]], 2)).upper()
        photos.append(base64.b64encode(draw_photo(t, i, rng, caption)).decode("ascii"))
    frame = pl.DataFrame({**{c: table[c] for c in COUNTS}, "text": pl.Series(texts, dtype=pl.String), "photo": photos})
    truth = pl.DataFrame(
        {
            "row": np.arange(n, dtype=np.int64),
            **{a: rates[a] for a in ACTIVITIES},
            **{f"{a}{SEEN}": seen[a] for a in ACTIVITIES},
            "hue": np.asarray(HUE_NAMES)[t.hue],
            "texture": np.asarray(TEXTURES)[t.texture],
            "shape": np.asarray(SHAPES)[t.shape],
            "n_shapes": t.n_shapes,
            "caption": t.caption,
            "topic": np.where(t.has_text, np.asarray(TOPIC_NAMES)[t.topic], None),
        }
    )
    with atomic_path(out / FILENAME) as tmp:
        frame.write_csv(tmp)
    with atomic_path(out / TRUTH) as tmp:
        truth.write_parquet(tmp)
    return out


def ensure(scale: str, seed: int, params: Params = Params()) -> Path:
    """The twin's folder, generated on first use."""
    return shared_twin.ensure(
        folder(scale, seed, params), (FILENAME, TRUTH), lambda out: generate(scale, seed, out, params)
    )
