"""Predictors never crash on huge finite features and are bit-reproducible.

Huge values: a column beyond float32 range (raw synflow reaches 1e61) is signed-log
transformed at fit and predict (``nasperf.predictors.base``), which keeps its order.
Reproducibility: two fits with one ``random_state``, a pickled copy and ``n_jobs=1`` vs
``n_jobs=2`` give identical predictions, bit for bit (tiny synthetic data).
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pandas as pd
import pytest
from _toy import GRAPH_PREDICTORS
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

from nasperf.predictors import get_predictor, kendall_tau_score, list_predictors
from nasperf.predictors.base import HUGE_VALUE, signed_log
from nasperf.predictors.trees import forest_predict

#: Small, fast settings per registry name.
SMALL = {
    "gp": {"max_iter": 10},
    "mlp_ensemble": {"n_estimators": 2, "hidden_layer_sizes": (16,), "lr": 2e-2,
                     "max_epochs": 30},
    "lightgbm": {"params": {"n_estimators": 60}},
    "xgboost": {"params": {"n_estimators": 60}},
    "random_forest": {"params": {"n_estimators": 40}},
    "extra_trees": {"params": {"n_estimators": 40}},
    "lambdarank": {"params": {"n_estimators": 60}},
    "pairwise_ranker": {"hidden_layer_sizes": (16,), "max_epochs": 20, "pairs_per_epoch": 512,
                        "batch_size": 128},
    "omni": {"switch_train_size": 40, "stack_cv": 3, "stack_params": {"max_iter": 5},
             "base_params": {"n_estimators": 60}},
    "auto": {"candidates": [("extra_trees", {"params": {"n_estimators": 30}}),
                            ("random_forest", {"params": {"n_estimators": 30}})], "cv": 3},
    "auto_models": {"candidates": [("extra_trees", {"params": {"n_estimators": 30}}),
                                   ("lightgbm", {"params": {"n_estimators": 40}})], "cv": 3},
    "auto_previous": {"candidates": [("extra_trees", {"params": {"n_estimators": 30}}),
                                     ("random_forest", {"params": {"n_estimators": 30}})],
                      "cv": 3},
}
NAMES = list(SMALL)
#: Predictors with threads (``n_jobs``), in the settings the registry gives them.
THREADED = ["lightgbm", "xgboost", "random_forest", "extra_trees", "lambdarank", "omni", "auto",
            "auto_models", "auto_previous"]


#: Tiny torch models run far faster on one thread (no thread spinning on a shared CPU).
pytestmark = pytest.mark.usefixtures("one_torch_thread_module")


def huge_data(kind: str, n: int = 90, seed: int = 0):
    """``X`` (n, 3) whose column 1 is huge and carries the signal; ``y`` follows its order.

    ``kind``: ``"pos"`` values 1e40..1e61, ``"neg"`` -1e61..-1e40, ``"mixed"`` both signs.
    """
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, n) if kind == "mixed" else rng.uniform(0, 1, n)
    col = np.sign(u) * 10.0 ** (40 + 21 * np.abs(u))
    if kind == "neg":
        col = -col
    X = np.column_stack([rng.normal(size=n), col, rng.normal(size=n)])
    y = (u if kind != "neg" else -u) + 0.02 * rng.normal(size=n)
    return X, y


def test_registry_is_covered():
    assert set(list_predictors()) - GRAPH_PREDICTORS == set(SMALL)


# -- huge finite values --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["pos", "neg", "mixed"])
@pytest.mark.parametrize("name", NAMES)
def test_huge_column_fits_predicts_and_keeps_its_ranking(name, kind):
    X, y = huge_data(kind)
    Xt, yt = huge_data(kind, n=60, seed=1)
    assert np.abs(X[:, 1]).max() > 1e60
    p = get_predictor(name, random_state=0, **SMALL[name]).fit(X, y)
    pred = p.predict(Xt)
    assert pred.shape == (60,) and np.isfinite(pred).all()
    # clipping at float32's maximum would tie the whole column (tau near 0)
    assert kendall_tau_score(yt, pred) > 0.6, name


@pytest.mark.parametrize("kind", ["pos", "neg", "mixed"])
def test_signed_log_keeps_the_order_exactly(kind, caplog):
    X, y = huge_data(kind)
    with caplog.at_level(logging.INFO, logger="nasperf.predictors"):
        p = get_predictor("extra_trees", random_state=0, **SMALL["extra_trees"]).fit(X, y)
    assert p.log_columns_.tolist() == [1]
    assert "1 column(s) with finite values beyond" in caplog.text
    Z = p.clean_input(X)
    assert np.abs(Z).max() < 1e3
    np.testing.assert_array_equal(Z[:, [0, 2]], X[:, [0, 2]])  # other columns untouched
    np.testing.assert_array_equal(Z[:, 1], signed_log(X[:, 1]))
    z32 = Z[:, 1].astype(np.float32)  # what a float32 tree library sees
    assert np.array_equal(np.argsort(z32, kind="stable"), np.argsort(X[:, 1], kind="stable"))
    assert len(np.unique(z32)) == len(np.unique(X[:, 1]))


def test_signed_log_is_strictly_increasing():
    x = np.array([-1e61, -1e40, -3e38, -1.0, -1e-9, 0.0, 1e-9, 1.0, 3e38, 1e40, 1e61])
    z = signed_log(x)
    assert np.all(np.diff(z) > 0) and z[5] == 0.0 and np.array_equal(z, -signed_log(-x))


def test_no_transform_below_the_threshold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2)) * 1e20
    p = get_predictor("random_forest", random_state=0, params={"n_estimators": 5}).fit(
        X, X[:, 0])
    assert p.log_columns_.size == 0
    assert np.array_equal(p.clean_input(X), X)


def test_huge_value_at_predict_in_a_column_without_any_at_fit_is_clipped(caplog):
    X, y = huge_data("pos")
    p = get_predictor("random_forest", random_state=0, **SMALL["random_forest"]).fit(X, y)
    Xt = X[:5].copy()
    Xt[:, 0] = [1e50, -1e61, 0.0, 1.0, HUGE_VALUE]
    with caplog.at_level(logging.WARNING, logger="nasperf.predictors"):
        pred = p.predict(Xt)
    assert np.isfinite(pred).all()
    assert "2 value(s) beyond" in caplog.text and "[0]" in caplog.text
    Z = p.clean_input(Xt)
    assert Z[0, 0] == HUGE_VALUE and Z[1, 0] == -HUGE_VALUE and Z[4, 0] == HUGE_VALUE


def test_huge_values_with_nan_and_inf_and_dataframe_names(caplog):
    X, y = huge_data("mixed")
    X[3, 1], X[4, 1], X[5, 0] = np.nan, np.inf, -np.inf
    frame = pd.DataFrame(X, columns=["zc:a", "zc:synflow", "zc:b"])
    with caplog.at_level(logging.INFO, logger="nasperf.predictors"):
        p = get_predictor("xgboost", random_state=0, **SMALL["xgboost"]).fit(frame, y)
    assert "zc:synflow" in caplog.text
    Z = p.clean_input(frame)
    assert np.isfinite(Z).all()
    assert Z[3, 1] == Z[4, 1] == signed_log(p.impute_values_[1])
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        get_predictor("xgboost", nan_policy="raise").fit(X, y)


def test_tree_shap_sees_the_transformed_input():
    pytest.importorskip("shap")
    from nasperf.eval.shap_attr import shap_attributions

    X, y = huge_data("mixed")
    p = get_predictor("extra_trees", random_state=0, **SMALL["extra_trees"]).fit(X, y)
    res = shap_attributions(p, X[:20], ["a", "synflow", "b"])
    assert res.explainer == "tree" and res.mean_abs().index[0] == "synflow"
    np.testing.assert_allclose(res.base_value + res.values.sum(axis=1), p.predict(X[:20]),
                               atol=1e-6)


# -- bit-reproducibility -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 6))
    y = X[:, 0] + np.sin(2 * X[:, 1]) + 0.3 * X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=120)
    return X, y, rng.normal(size=(200, 6))


@pytest.mark.parametrize("name", NAMES)
def test_two_fits_and_a_pickle_are_identical(name, data):
    X, y, Xt = data
    a = get_predictor(name, random_state=5, **SMALL[name]).fit(X, y)
    b = get_predictor(name, random_state=5, **SMALL[name]).fit(X, y)
    pred = a.predict(Xt)
    assert np.array_equal(pred, b.predict(Xt))
    assert np.array_equal(pred, a.predict(Xt))
    assert np.array_equal(pred, pickle.loads(pickle.dumps(a)).predict(Xt))


@pytest.mark.parametrize("name", THREADED)
def test_n_jobs_does_not_change_predictions(name, data):
    X, y, Xt = data
    preds = {}
    for n_jobs in (1, 2):
        p = get_predictor(name, random_state=5, n_jobs=n_jobs, **SMALL[name]).fit(X, y)
        preds[n_jobs] = p.predict(Xt)
        if name.startswith("auto"):
            preds[f"best{n_jobs}"] = p.best_name_
            preds[f"scores{n_jobs}"] = p.cv_scores_
    assert np.array_equal(preds[1], preds[2])
    if name.startswith("auto"):
        assert preds["best1"] == preds["best2"] and preds["scores1"] == preds["scores2"]


@pytest.mark.slow
def test_default_auto_is_bit_reproducible(data):
    """The registry's ``auto`` (threads 2 in its candidates) on the default settings."""
    X, y, Xt = data
    a = get_predictor("auto", random_state=0).fit(X, y)
    b = get_predictor("auto", random_state=0).fit(X, y)
    pred = a.predict(Xt)
    assert np.array_equal(pred, b.predict(Xt))
    assert np.array_equal(pred, pickle.loads(pickle.dumps(a)).predict(Xt))
    c = get_predictor("auto", random_state=0, n_jobs=1).fit(X, y)
    assert c.best_name_ == a.best_name_ and np.array_equal(pred, c.predict(Xt))


@pytest.mark.parametrize("cls", [RandomForestRegressor, ExtraTreesRegressor])
def test_forest_predict_sums_in_tree_order(cls):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    forest = cls(n_estimators=60, random_state=0).fit(X, X[:, 0] + rng.normal(size=300))
    ordered = np.zeros(len(X))
    for tree in forest.estimators_:
        ordered += tree.predict(X.astype(np.float32))
    ordered /= len(forest.estimators_)
    for n_jobs in (1, 2):
        assert np.array_equal(forest_predict(forest, X, n_jobs), ordered)
    assert np.array_equal(forest.predict(X), ordered)  # single-threaded forest: same sums
