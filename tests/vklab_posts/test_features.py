"""Encoders offline, the cache, the hand-made text counts."""

import base64
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sklearn

from solutions.vklab_posts import data, features

IMAGES = Path(sklearn.__file__).parent / "datasets" / "images"  # BSD-licensed sample photos shipped with sklearn


def _frame(paths):
    return pl.DataFrame(
        {
            "row": np.arange(len(paths), dtype=np.int64),
            "photo": [base64.b64encode(p.read_bytes()).decode() for p in paths],
        }
    )


def test_efficientnet_lite0_loads_offline_and_names_known_images(tmp_path):
    emb, top = features.image_embeddings(_frame([IMAGES / "flower.jpg", IMAGES / "china.jpg"]), tmp_path)
    assert emb.shape == (2, 1280) and emb.dtype == np.float32
    assert features.imagenet_names(top) == ["daisy", "palace"]
    assert (tmp_path / "image-efficientnet_lite0-b16.parquet").exists()


def test_tf_lite_scaling_matters():
    """The weights expect (x - 127) / 128: with ImageNet mean/std the daisy loses most of its
    probability (0.32 -> 0.11 on this machine)."""
    import torch

    enc = features.image_encoder()
    img = data.decode_photo(_frame([IMAGES / "flower.jpg"])["photo"][0], 0)
    x = torch.from_numpy(enc.pixels([img])).permute(0, 3, 1, 2).float().to(enc.device)  # the encoder's device
    mean = torch.tensor([0.485, 0.456, 0.406], device=enc.device)[:, None, None] * 255
    std = torch.tensor([0.229, 0.224, 0.225], device=enc.device)[:, None, None] * 255
    daisy = features.imagenet_names(range(1000)).index("daisy")
    with torch.inference_mode():
        tf_lite = enc.model((x - 127) / 128).softmax(1)[0, daisy]
        imagenet = enc.model((x - mean) / std).softmax(1)[0, daisy]
    assert tf_lite > 0.25 and imagenet < tf_lite / 2


def test_cache_reuses_and_extends(tmp_path, monkeypatch):
    frame = _frame([IMAGES / "flower.jpg", IMAGES / "china.jpg"])
    first, _ = features.image_embeddings(frame[:1], tmp_path)
    calls = []
    enc = features.image_encoder()

    class Counting:
        name, dim, device, cache_version = enc.name, enc.dim, enc.device, enc.cache_version

        def __call__(self, imgs):
            calls.append(len(imgs))
            return enc(imgs)

    monkeypatch.setattr(features, "image_encoder", lambda name: Counting())
    emb, _ = features.image_embeddings(frame[::-1], tmp_path)
    assert calls == [1]  # only the new photo was encoded
    assert np.array_equal(emb[1], first[0])
    assert pl.read_parquet(tmp_path / features.cache_name("image", "efficientnet_lite0", version="b16")).height == 2


def test_a_photos_embedding_does_not_depend_on_the_photos_encoded_with_it():
    """oneDNN's blocking follows the batch's shape: unpadded, a photo encoded alone (a cache that held
    all but one photo) got other last bits than in a batch of 16 (checked: it fails without the padding)."""
    enc = features.image_encoder()
    frame = _frame([IMAGES / "flower.jpg", IMAGES / "china.jpg"] * 9)  # 18 photos: a full batch and 2
    imgs = [data.decode_photo(frame["photo"][i], i) for i in range(len(frame))]
    together, _ = enc(imgs)
    alone, _ = enc(imgs[:1])
    shifted, _ = enc(imgs[1:8])
    assert together.shape == (18, 1280)
    assert np.array_equal(alone[0], together[0]) and np.array_equal(shifted[1], together[2])
    assert np.array_equal(together[16], together[0]) and np.array_equal(together[17], together[1])


def test_cache_files_are_kept_apart_by_device():
    """GPU kernels give other last digits than the CPU's: one parquet must never mix the two."""
    assert features.cache_name("image", "timm:convnext_tiny", "cpu") == "image-timm_convnext_tiny.parquet"
    assert features.cache_name("image", "timm:convnext_tiny", "cuda") == "image-timm_convnext_tiny-cuda.parquet"
    assert features.cache_name("text", "navec", "cuda") == "text-navec-cuda.parquet"
    assert (
        features.cache_name("image", "efficientnet_lite0", "cuda", "b16") == "image-efficientnet_lite0-b16-cuda.parquet"
    )


def test_navec_mean_of_clean_tokens(tmp_path):
    texts = pl.Series("text", ["Кот &quot;и&quot; <br>[club1|@vasya] собака https://vk.cc/x", None, "qqqzzz"])
    emb = features.text_embeddings(pl.DataFrame({"row": [0, 1, 2], "text": texts}), tmp_path)
    navec = features.text_encoder().model
    assert features.clean_tokens(texts[0]) == ["кот", "и", "собака"]
    assert np.allclose(emb[0], np.mean([navec["кот"], navec["и"], navec["собака"]], axis=0), atol=1e-6)
    assert not emb[1].any() and not emb[2].any()  # null, and no known token: zeros


def test_text_features_hand_counted():
    text = pl.Series(["Ура! СКИДКА 50% на всё?<br>#акция [club12|@shop] https://vk.cc/a &#128513;&#128513;", None])
    f = features.text_features(text)
    row = f.row(0, named=True)
    assert row == {
        "n_words": 5,
        "n_caps": 7,
        "n_emoji": 2,
        "n_urls": 1,
        "n_hashtags": 1,
        "n_mentions": 1,
        "n_questions": 1,
        "n_numbers": 1,
        "n_br": 1,
        "caps_ratio": pytest.approx(7 / 19),
        "has_text": 1,
    }
    assert f.row(1) == (0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0)


def test_unknown_encoders_are_refused():
    with pytest.raises(ValueError, match="unknown image encoder"):
        features.image_encoder("resnet")
    with pytest.raises(ValueError, match="unknown text encoder"):
        features.text_encoder("word2vec")
