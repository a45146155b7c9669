import lightgbm as lgb
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shared.train import boosting


def test_query_sizes():
    assert boosting.query_sizes(np.array([3, 3, 5, 9, 9, 9])).tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="sorted by user"):
        boosting.query_sizes(np.array([1, 0]))


def test_boost_stops_early_at_the_best_validation_round(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] + rng.normal(0, 2.0, 600) > 0).astype(float)  # one informative feature, much noise
    params = {
        "objective": "binary",
        "metric": "auc",
        "learning_rate": 0.3,
        "num_leaves": 31,
        "min_data_in_leaf": 5,
        "verbosity": -1,
        "seed": 1,
        "deterministic": True,
        "num_threads": 1,
    }
    dfit = lgb.Dataset(X[:400], y[:400], feature_name=["signal", "noise_a", "noise_b"])
    dval = lgb.Dataset(X[400:], y[400:], reference=dfit)
    fit = boosting.boost(params, dfit, dval, n_estimators=500, early_stopping=10, metric="auc")
    assert fit.n_trees == fit.best_iteration + 10 < 500  # overfits fast: stops 10 rounds after the best
    best = roc_auc_score(y[400:], fit.booster.predict(X[400:], num_iteration=fit.best_iteration))
    assert fit.val_score == pytest.approx(best)
    assert f"stopped early at {fit.n_trees} trees, best {fit.best_iteration}" in capsys.readouterr().err
    imp = boosting.feature_importance(fit.booster)
    assert imp["feature"][0] == "signal" and (np.diff(imp["gain"].to_numpy()) <= 0).all()


def test_ranking_dataset_groups_rows_by_user():
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    fit = boosting.ranking_dataset(
        X, np.array([1, 0, 0, 1, 0, 1]), np.array([3, 3, 5, 5, 5, 9]), ["a", "b"]
    ).construct()
    assert fit.get_group().tolist() == [2, 3, 1] and fit.get_feature_name() == ["a", "b"]
    val = boosting.ranking_dataset(X[:2], np.array([0, 1]), np.array([4, 4]), ["a", "b"], reference=fit).construct()
    assert val.get_group().tolist() == [2] and val.reference is fit
    with pytest.raises(ValueError, match="sorted by user"):
        boosting.ranking_dataset(X, np.zeros(6), np.array([5, 3, 3, 5, 5, 9]), ["a", "b"])
