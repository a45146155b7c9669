"""Losses, the heads' epoch choice, the swapped BCE of source (a), CatBoost folds."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from shared.eval.metrics import log_loss, rate_metrics
from solutions.vklab_posts import models


def test_bce_takes_prediction_then_target():
    p, y = torch.tensor([0.1, 0.3]), torch.tensor([0.02, 0.5])
    hand = -np.mean([0.02 * math.log(0.1) + 0.98 * math.log(0.9), 0.5 * math.log(0.3) + 0.5 * math.log(0.7)])
    assert float(models.loss_value("bce", p, y)) == pytest.approx(hand, rel=1e-6)
    assert float(models.loss_value("wbce2", p, y)) == pytest.approx(
        -np.mean(
            [
                math.exp(0.04) * (0.02 * math.log(0.1) + 0.98 * math.log(0.9)),
                math.exp(1.0) * (0.5 * math.log(0.3) + 0.5 * math.log(0.7)),
            ]
        ),
        rel=1e-6,
    )
    assert float(models.loss_value("mse", p, y)) == pytest.approx(np.mean([0.08**2, 0.2**2]), rel=1e-6)


def test_swapped_bce_is_not_the_log_loss():
    """Source (a)'s error, on a hand-computed case: BCELoss(target, prediction) scores the observed
    rate under the prediction instead of the prediction under the observed rate."""
    y, p = np.array([0.1, 0.02]), np.array([0.01, 0.01])
    true = -np.mean([0.1 * math.log(0.01) + 0.9 * math.log(0.99), 0.02 * math.log(0.01) + 0.98 * math.log(0.99)])
    swapped = -np.mean([0.01 * math.log(0.1) + 0.99 * math.log(0.9), 0.01 * math.log(0.02) + 0.99 * math.log(0.98)])
    assert rate_metrics(y, p)["logloss"] == pytest.approx(true, rel=1e-12)
    assert models.swapped_bce(y, p) == pytest.approx(swapped, rel=1e-12)
    assert swapped < true / 2  # an under-predicting model looks twice as good


def test_head_keeps_the_best_validation_epoch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 8))
    y = 1 / (1 + np.exp(-(x[:, 0] - 3)))
    fit = models.train_head(x[:500], y[:500], x[500:], y[500:], "bce", models.HeadParams(epochs=15, lr=1e-2))
    assert len(fit.val_logloss) == 16
    assert fit.val_logloss[0] == pytest.approx(log_loss(y[500:], np.full(100, y[:500].mean())), rel=1e-5)
    assert fit.best_epoch == int(np.argmin(fit.val_logloss)) > 0
    assert log_loss(y[500:], fit.predict(x[500:])) == pytest.approx(fit.val_logloss[fit.best_epoch], rel=1e-4)
    again = models.train_head(x[:500], y[:500], x[500:], y[500:], "bce", models.HeadParams(epochs=15, lr=1e-2))
    assert np.array_equal(fit.weight, again.weight)


def test_catboost_kfold_multi_target():
    rng = np.random.default_rng(2)
    x = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400), "c": rng.choice(["cat", "dog"], 400)})
    y = np.column_stack([0.01 + 0.005 * (x["a"] > 0), 0.002 + 0.001 * (x["c"] == "dog")])
    params = models.BoostParams(iterations=60, folds=3)
    fit = models.catboost_kfold(x[:300], y[:300], x[300:], ["c"], params, seed=42)
    assert fit.test.shape == (100, 2) and fit.oof.shape == (300, 2) and len(fit.best_iterations) == 3
    assert rate_metrics(y[300:, 0], fit.test[:, 0])["r2"] > 0.8
    assert np.array_equal(fit.test, models.catboost_kfold(x[:300], y[:300], x[300:], ["c"], params, seed=42).test)


def test_catboost_kfold_cross_entropy_one_model_per_rate():
    """Soft-label cross-entropy: a rare rate (0.001 or 0.003 by a category) and a common one (0.02
    or 0.04 by a number's sign), each learnt by its own model through the logit link."""
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": rng.normal(size=600), "c": rng.choice(["cat", "dog"], 600)})
    rare = np.where(x["c"] == "dog", 0.003, 0.001)
    common = np.where(x["a"] > 0, 0.04, 0.02)
    y = np.column_stack([rng.binomial(20_000, rare) / 20_000, rng.binomial(20_000, common) / 20_000])
    # a weak l2 penalty: with rates near 0.001 a leaf's hessian (sum of p(1 - p)) is about 0.1 and
    # the default penalty of 9 would shrink each step towards nothing
    params = models.BoostParams(iterations=300, folds=3, l2_leaf_reg=0.01)
    fit = models.catboost_kfold(x[:450], y[:450], x[450:], ["c"], params, seed=42, loss="CrossEntropy")
    assert fit.test.shape == (150, 2) and len(fit.best_iterations) == 3 * 2  # folds x rates
    assert ((fit.test > 0) & (fit.test < 1)).all() and ((fit.oof > 0) & (fit.oof < 1)).all()
    assert fit.test[:, 0] == pytest.approx(rare[450:], rel=0.2)
    assert fit.test[:, 1] == pytest.approx(common[450:], rel=0.2)
    # each out-of-fold prediction comes from the fold that did not see the row: not the row's own label
    assert log_loss(y[:450, 0], fit.oof[:, 0]) > log_loss(y[:450, 0], y[:450, 0])
    with pytest.raises(ValueError, match="MultiRMSE or CrossEntropy"):
        models.catboost_kfold(x[:450], y[:450], x[450:], ["c"], params, loss="RMSE")


def test_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss"):
        models.loss_value("hinge", torch.tensor([0.5]), torch.tensor([0.5]))


def test_finetune_learns_a_colour_and_keeps_the_best_epoch():
    """End to end on 32 tiny pictures: red ones are opened 5x as often as blue ones."""
    rng = np.random.default_rng(3)
    red = rng.random(32) < 0.5
    pixels = np.zeros((32, 224, 224, 3), np.uint8)
    pixels[red, ..., 0] = 220
    pixels[~red, ..., 2] = 220
    pixels += rng.integers(0, 30, pixels.shape, dtype=np.uint8)
    y = np.where(red, 0.1, 0.02)
    params = models.FinetuneParams(epochs=2, batch=8, lr=1e-3)
    fit = models.finetune_cnn(pixels, y, np.arange(24), np.arange(24, 32), params, seed=42)
    assert fit.predict_all.shape == (32,) and len(fit.val_logloss) == 3
    assert fit.val_logloss[0] == pytest.approx(log_loss(y[24:], np.full(8, y[:24].mean())), rel=1e-5)
    assert fit.best_epoch == int(np.argmin(fit.val_logloss))
    assert log_loss(y[24:], fit.predict_all[24:]) == pytest.approx(fit.val_logloss[fit.best_epoch], rel=1e-4)
    assert fit.best_epoch > 0 and fit.predict_all[red].mean() > fit.predict_all[~red].mean()
