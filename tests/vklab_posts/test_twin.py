"""The twin: the official format, determinism, planted signal with known rates."""

import base64
import io

import numpy as np
import polars as pl
from PIL import Image

from shared.data.io import sha256_file
from solutions.vklab_posts import data, twin


def test_deterministic(tiny_dir, tmp_path):
    again = twin.generate("tiny", 42, tmp_path)
    for name in (data.FILENAME, twin.TRUTH):
        assert sha256_file(again / name) == sha256_file(tiny_dir / name)
    other = twin.generate("tiny", 7, tmp_path / "seed7")
    assert sha256_file(other / data.FILENAME) != sha256_file(tiny_dir / data.FILENAME)


def test_images_are_jpegs_with_longest_side_256(tiny_dir):
    photos = pl.read_csv(tiny_dir / data.FILENAME)["photo"][:40]
    sizes = set()
    for b64 in photos:
        img = Image.open(io.BytesIO(base64.b64decode(b64)))
        assert img.format == "JPEG" and img.mode == "RGB" and max(img.size) == 256
        sizes.add(img.size)
    assert len(sizes) > 3  # varied aspect ratios


def test_counts_follow_the_true_rates(tiny_dir):
    posts = data.load(tiny_dir)
    truth = pl.read_parquet(tiny_dir / twin.TRUTH)
    assert truth["row"].to_list() == list(range(posts.n))
    for a in data.ACTIVITIES:
        obs = posts.frame[a].to_numpy() / posts.frame["view"].to_numpy()
        p = truth[a].to_numpy()
        # binomial: the observed rate is within 6 standard errors of the true one on every row
        se = np.sqrt(p * (1 - p) / posts.frame["view"].to_numpy())
        assert (np.abs(obs - p) <= 6 * se + 1e-12).all(), a
        assert p.mean() == np.float64(p.mean()) and abs(p.mean() - twin.MEAN_RATES[a]) < 1e-6  # calibrated


def test_planted_signal(tiny_dir):
    """open_photo rises with the photo's traits, comment with a question in the text."""
    truth = pl.read_parquet(tiny_dir / twin.TRUTH)
    by_hue = truth.group_by("hue").agg(pl.col("open_photo").mean())
    rates = dict(zip(by_hue["hue"], by_hue["open_photo"]))
    assert rates["red"] > rates["grey"] * 1.5
    text = pl.read_csv(tiny_dir / data.FILENAME, columns=["text"])["text"]
    asks = text.str.contains(r"\?").fill_null(False).to_numpy()
    assert truth["comment"].to_numpy()[asks].mean() > 1.5 * truth["comment"].to_numpy()[~asks].mean()


def test_views_are_heavy_tailed():
    v = twin.views(23_527, 42)
    assert v.min() >= 1000 and 6_500 < np.median(v) < 8_200 and v.max() > 1_000_000


def test_ceiling_lies_between_the_constant_and_the_oracle():
    """``<activity>_seen`` (the expected rate given the traits, over the unseen quality) averages to
    the true mean rate, and scores between the constant and the oracle against the true rates."""
    from shared.eval.metrics import log_loss

    t = twin.draw_traits(3_000, 5)
    rates, seen = twin.true_rates(t, 5), twin.true_rates(t, 5, seen=True)
    for a in data.ACTIVITIES:
        y, s = rates[a], seen[a]
        assert abs(s.mean() - y.mean()) < 0.03 * y.mean(), a
        const = log_loss(y, np.full_like(y, y.mean()))
        assert log_loss(y, y) < log_loss(y, s) < const, a
