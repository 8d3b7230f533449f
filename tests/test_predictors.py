"""Behaviour of the predictors on tiny synthetic data (no benchmark files needed).

The scikit-learn estimator checks live in ``tests/test_predictors_sklearn.py``.
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from _toy import GRAPH_PREDICTORS
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nasperf.predictors import (
    GPPredictor,
    LambdaRankPredictor,
    MLPEnsemblePredictor,
    OmniPredictor,
    PairwiseRankerPredictor,
    RankerPredictor,
    TreePredictor,
    get_predictor,
    kendall_tau_score,
    list_predictors,
)
from nasperf.predictors.base import resolve_groups
from nasperf.predictors.rankers import relevance_levels

#: Small, fast settings per registry name.
FAST = {
    "gp": {"max_iter": 15},
    "mlp_ensemble": {
        "n_estimators": 3,
        "hidden_layer_sizes": (32,),
        "lr": 2e-2,
        "max_epochs": 30,
        "batch_size": 32,
    },
    "lightgbm": {"params": {"n_estimators": 100}},
    "xgboost": {"params": {"n_estimators": 100}},
    "random_forest": {"params": {"n_estimators": 50}},
    "extra_trees": {"params": {"n_estimators": 50}},
    "auto": {"candidates": [("extra_trees", {"params": {"n_estimators": 30}}),
                            ("lightgbm", {"params": {"n_estimators": 50}})], "cv": 3},
    "auto_models": {"candidates": [("extra_trees", {"params": {"n_estimators": 30}}),
                                   ("lightgbm", {"params": {"n_estimators": 50}})], "cv": 3},
    "auto_previous": {"candidates": [("extra_trees", {"params": {"n_estimators": 30}}),
                                     ("random_forest", {"params": {"n_estimators": 30}})],
                      "cv": 3},
    "lambdarank": {"params": {"n_estimators": 100}},
    "pairwise_ranker": {
        "hidden_layer_sizes": (32,),
        "max_epochs": 30,
        "pairs_per_epoch": 512,
        "batch_size": 128,
    },
    "omni": {
        "switch_train_size": 50,
        "stack_cv": 3,
        "stack_params": {"max_iter": 10},
        "base_params": {"n_estimators": 100},
    },
}
NAMES = list(FAST)


def monotone(X: np.ndarray) -> np.ndarray:
    """A simple target increasing in every feature."""
    return X.sum(axis=1) + 0.5 * np.tanh(2 * X[:, 0])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(80, 5))
    Xt = rng.uniform(-1, 1, size=(100, 5))
    return X, monotone(X) + 0.05 * rng.normal(size=80), Xt, monotone(Xt)


#: Tiny torch models run far faster on one thread (no thread spinning on a shared CPU).
pytestmark = pytest.mark.usefixtures("one_torch_thread_module")


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return {name: get_predictor(name, random_state=0, **FAST[name]).fit(X, y) for name in NAMES}


def test_registry_covers_all_predictors():
    assert set(list_predictors()) - GRAPH_PREDICTORS == set(FAST)
    with pytest.raises(ValueError, match="unknown predictor 'nope'"):
        get_predictor("nope")
    tree = get_predictor("xgboost", n_jobs=2)
    assert isinstance(tree, TreePredictor) and tree.kind == "xgboost" and tree.n_jobs == 2
    copy = get_predictor(tree, n_jobs=1)
    assert copy is not tree and copy.n_jobs == 1 and tree.n_jobs == 2  # a configured clone
    assert get_predictor(tree).get_params() == tree.get_params()


# -- every predictor ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_beats_single_feature_baseline(name, fitted, data):
    _, _, Xt, yt = data
    baseline = max(kendall_tau_score(yt, Xt[:, j]) for j in range(Xt.shape[1]))
    tau = kendall_tau_score(yt, fitted[name].predict(Xt))
    assert tau > max(0.5, baseline + 0.1), (name, tau, baseline)


@pytest.mark.parametrize("name", NAMES)
def test_params_clone_and_set(name, fitted):
    est = fitted[name]
    params = est.get_params(deep=False)
    copy = clone(est)
    assert copy.get_params(deep=False).keys() == params.keys()
    assert not hasattr(copy, "fit_time_")
    assert copy.set_params(random_state=7) is copy and copy.random_state == 7
    assert est.random_state == 0


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_pickle_roundtrip(name, fitted, data):
    X, y, Xt, _ = data
    pred = fitted[name].predict(Xt)
    again = get_predictor(name, random_state=0, **FAST[name]).fit(X, y).predict(Xt)
    np.testing.assert_array_equal(pred, again)
    restored = pickle.loads(pickle.dumps(fitted[name]))
    np.testing.assert_array_equal(restored.predict(Xt), pred)
    assert pred.shape == (len(Xt),) and pred.dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_nan_policies(name, data):
    X, y, Xt, _ = data
    Xn = X.copy()
    Xn[3, 1], Xn[10, 2], Xn[20, 4] = np.nan, np.inf, -np.inf
    est = get_predictor(name, random_state=0, **FAST[name]).fit(Xn, y)
    assert np.all(np.isfinite(est.impute_values_))
    Xtn = Xt[:5].copy()
    Xtn[0, 0] = np.nan
    assert np.all(np.isfinite(est.predict(Xtn)))
    strict = get_predictor(name, random_state=0, nan_policy="raise", **FAST[name])
    with pytest.raises(ValueError, match=r"NaN or inf in 3 row\(s\)"):
        strict.fit(Xn, y)
    strict.fit(X, y)
    with pytest.raises(ValueError, match="NaN or inf"):
        strict.predict(Xtn)


def test_nan_targets_and_bad_policy_rejected(data):
    X, y, _, _ = data
    bad = y.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TreePredictor().fit(X, bad)
    with pytest.raises(ValueError, match="nan_policy"):
        TreePredictor(nan_policy="drop").fit(X, y)


def test_all_nonfinite_column_imputed_with_zero(data):
    X, y, _, _ = data
    Xn = X.copy()
    Xn[:, 2] = np.nan
    est = TreePredictor(params={"n_estimators": 10}, random_state=0).fit(Xn, y)
    assert est.impute_values_[2] == 0.0


def test_fit_time_logged(data, caplog):
    X, y, Xt, _ = data
    with caplog.at_level(logging.DEBUG, logger="nasperf.predictors"):
        est = TreePredictor(params={"n_estimators": 10}, random_state=0).fit(X, y)
        est.predict(Xt)
    assert est.fit_time_ > 0
    messages = [r.getMessage() for r in caplog.records]
    assert any("TreePredictor.fit on X of shape (80, 5)" in m for m in messages)
    assert any("TreePredictor.predict on X of shape (100, 5)" in m for m in messages)


def test_usable_in_pipeline(data):
    X, y, Xt, yt = data
    pipe = make_pipeline(StandardScaler(), TreePredictor(params={"n_estimators": 50})).fit(X, y)
    assert kendall_tau_score(yt, pipe.predict(Xt)) > 0.5


def test_return_std_only_where_supported(fitted, data):
    with pytest.raises(ValueError, match="no uncertainty"):
        fitted["lightgbm"].predict(data[2], return_std=True)


@pytest.mark.parametrize("name", ["extra_trees", "random_forest"])
def test_forest_std_is_the_spread_of_its_trees(fitted, data, name):
    model, Xt = fitted[name], data[2]
    mean, std = model.predict(Xt, return_std=True)
    assert np.array_equal(mean, model.predict(Xt))  # the mean is unchanged by return_std
    per_tree = np.stack([t.predict(np.asarray(Xt, np.float32))
                         for t in model.estimator_.estimators_])
    np.testing.assert_allclose(std, per_tree.std(axis=0), rtol=1e-10, atol=1e-12)
    assert std.shape == (len(Xt),) and np.all(std > 0)
    assert model._supports_std and not fitted["lightgbm"]._supports_std


# -- GP -----------------------------------------------------------------------------------------
def test_gp_std_positive_and_shapes(fitted, data):
    gp = fitted["gp"]
    mean, std = gp.predict(data[2], return_std=True)
    assert mean.shape == std.shape == (len(data[2]),)
    assert np.all(std > 0)
    np.testing.assert_allclose(gp.predict_std(data[2]), std)
    np.testing.assert_allclose(gp.predict(data[2]), mean)
    assert not gp.sparse_ and gp.n_iter_ >= 1


def test_gp_coverage_on_noisy_1d_function():
    rng = np.random.default_rng(1)
    noise = 0.2
    X = rng.uniform(-3, 3, size=(60, 1))
    y = np.sin(2 * X[:, 0]) + noise * rng.normal(size=60)
    Xt = np.linspace(-3, 3, 200)[:, None]
    yt = np.sin(2 * Xt[:, 0]) + noise * rng.normal(size=200)
    gp = GPPredictor(kernel="rbf", max_iter=30, random_state=0).fit(X, y)
    mean, std = gp.predict(Xt, return_std=True)
    coverage = np.mean(np.abs(yt - mean) <= 1.96 * std)
    assert 0.85 <= coverage <= 1.0, coverage
    # far from the data the predictive std grows towards the prior
    far = gp.predict_std(np.array([[10.0]]))[0]
    assert far > 1.5 * np.median(std)


def test_gp_sparse_path(data):
    X, y, Xt, yt = data
    gp = GPPredictor(max_iter=15, sparse_threshold=50, n_inducing=16, random_state=0).fit(X, y)
    assert gp.sparse_
    mean, std = gp.predict(Xt, return_std=True)
    assert np.all(std > 0)
    assert kendall_tau_score(yt, mean) > 0.5


def test_gp_adam_and_constant_column(data):
    X, y, Xt, yt = data
    Xc = np.column_stack([X, np.full(len(X), 3.0)])
    Xtc = np.column_stack([Xt, np.full(len(Xt), 3.0)])
    gp = GPPredictor(optimizer="adam", max_iter=30, random_state=0).fit(Xc, y)
    assert kendall_tau_score(yt, gp.predict(Xtc)) > 0.5
    with pytest.raises(ValueError, match="unknown kernel"):
        GPPredictor(kernel="periodic").fit(X, y)


# -- MLP ensemble -------------------------------------------------------------------------------
def test_mlp_ensemble_std(fitted, data):
    mlp = fitted["mlp_ensemble"]
    mean, std = mlp.predict(data[2], return_std=True)
    assert mean.shape == std.shape == (len(data[2]),)
    assert np.all(std > 0)
    assert len(mlp.estimators_) == 3 and all(1 <= e <= 30 for e in mlp.n_epochs_)
    single = MLPEnsemblePredictor(n_estimators=1, max_epochs=2, random_state=0)
    single.fit(data[0], data[1])
    assert np.all(single.predict_std(data[2]) == 0)


def test_mlp_early_stopping_stops(data):
    X, y, _, _ = data
    mlp = MLPEnsemblePredictor(
        n_estimators=2, lr=5e-2, max_epochs=400, patience=3, batch_size=40, random_state=0
    ).fit(X, y)
    assert max(mlp.n_epochs_) < 400


# -- trees --------------------------------------------------------------------------------------
def test_tree_hpo_cv(data):
    X, y, Xt, yt = data
    est = TreePredictor(
        kind="lightgbm", params={"n_estimators": 50}, hpo="cv", hpo_iter=3, random_state=0
    ).fit(X, y)
    assert est.best_params_ and "n_estimators" not in est.best_params_
    assert est.estimator_.get_params()["n_estimators"] == 50
    assert kendall_tau_score(yt, est.predict(Xt)) > 0.4


def test_tree_bad_arguments(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="unknown tree kind"):
        TreePredictor(kind="catboost").fit(X, y)
    with pytest.raises(ValueError, match="unknown lightgbm parameter"):
        TreePredictor(params={"nope": 1}).fit(X, y)
    with pytest.raises(ValueError, match="hpo must be"):
        TreePredictor(hpo="bayes").fit(X, y)


# -- rankers ------------------------------------------------------------------------------------
def test_relevance_levels_are_monotone_quantile_bins():
    y = np.random.default_rng(0).normal(size=100)
    levels = relevance_levels(y, 10)
    assert levels.min() == 0 and levels.max() == 9
    assert np.all(np.diff(levels[np.argsort(y)]) >= 0)
    assert np.bincount(levels).tolist() == [10] * 10


@pytest.mark.parametrize("name", ["lambdarank", "pairwise_ranker"])
def test_ranker_score_is_kendall_tau(name, fitted, data):
    _, _, Xt, yt = data
    est = fitted[name]
    assert est.score(Xt, yt) == pytest.approx(kendall_tau_score(yt, est.predict(Xt)))


def test_lambdarank_splits_large_groups(data):
    X, y, Xt, yt = data
    est = LambdaRankPredictor(max_group_size=30, params={"n_estimators": 50}, random_state=0)
    assert kendall_tau_score(yt, est.fit(X, y).predict(Xt)) > 0.5


def test_ranker_dispatcher(data):
    X, y, Xt, yt = data
    est = RankerPredictor(kind="pairwise", params={"max_epochs": 10}, random_state=0).fit(X, y)
    assert isinstance(est.ranker_, PairwiseRankerPredictor)
    assert est.score(Xt, yt) > 0.3
    with pytest.raises(ValueError, match="unknown ranker kind"):
        RankerPredictor(kind="listnet").fit(X, y)


def test_pairwise_ranker_rejects_constant_targets(data):
    with pytest.raises(ValueError, match="no ordering"):
        PairwiseRankerPredictor(max_epochs=1).fit(data[0], np.ones(len(data[0])))


# -- OMNI ---------------------------------------------------------------------------------------
GROUPS = {"encoding": slice(0, 3), "zc": [3], "lc": [4]}


def test_omni_switch_adds_out_of_fold_stack_feature(data):
    X, y, Xt, yt = data
    kw = {"feature_groups": GROUPS, "stack_params": {"max_iter": 10}, "random_state": 0}
    small = OmniPredictor(switch_train_size=100, **kw).fit(X, y)
    assert not small.stacked_ and small.estimator_.n_features_in_ == 5
    big = OmniPredictor(switch_train_size=50, stack_groups=["encoding"], **kw).fit(X, y)
    assert big.stacked_ and big.estimator_.n_features_in_ == 6
    assert big.stack_columns_.tolist() == [0, 1, 2]
    assert isinstance(big.stack_estimator_, GPPredictor)
    assert big.stack_estimator_.n_features_in_ == 3
    assert kendall_tau_score(yt, big.predict(Xt)) > 0.5


def test_omni_feature_families(data):
    X, y, Xt, _ = data
    est = OmniPredictor(
        feature_groups=GROUPS, use_groups=["zc", "encoding"], stack_predictor=None
    ).fit(X, y)
    assert est.columns_.tolist() == [3, 0, 1, 2]
    assert est.predict(Xt).shape == (len(Xt),)
    with pytest.raises(ValueError, match="unknown or empty"):
        OmniPredictor(feature_groups=GROUPS, use_groups=["jacov"]).fit(X, y)
    with pytest.raises(ValueError, match="outside"):
        OmniPredictor(feature_groups={"zc": [7]}).fit(X, y)
    assert resolve_groups({"a": slice(3, None), "b": [-1]}, 5)["b"].tolist() == [4]


def test_omni_stack_estimator_instance_and_fallback(data):
    X, y, Xt, _ = data
    rf = TreePredictor(kind="random_forest", params={"n_estimators": 20})
    est = OmniPredictor(stack_predictor=rf, switch_train_size=10, random_state=0).fit(X, y)
    assert isinstance(est.stack_estimator_, TreePredictor) and est.stack_estimator_ is not rf
    fb = OmniPredictor(min_train_size=100, fallback_column=3).fit(X, y)
    assert fb.fallback_ and fb.estimator_ is None
    np.testing.assert_array_equal(fb.predict(Xt), Xt[:, 3])
    with pytest.raises(ValueError, match="fallback_column"):
        OmniPredictor(min_train_size=100).fit(X, y)


# -- scoring helper -----------------------------------------------------------------------------
def test_kendall_tau_score():
    assert kendall_tau_score([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert np.isnan(kendall_tau_score([1, 2, 3], [5, 5, 5]))
    with pytest.raises(ValueError, match="y_true has 3 values but y_pred has 2"):
        kendall_tau_score([1, 2, 3], [1, 2])


# -- real data (skipped without the benchmark files) ----------------------------------------------
@pytest.mark.data
def test_nb201_onehot_and_proxies(data_dir, caplog):
    """GRAF's NB201 CSVs: one-hot cells + zero-cost proxies -> CIFAR-10 validation accuracy."""
    import ast

    import pandas as pd

    nets = pd.read_csv(data_dir / "nb201-graf" / "nb201_valid_nets.csv")
    zc = pd.read_csv(data_dir / "nb201-graf" / "nb201_zc_proxies.csv")
    assert (nets["net"] == zc["net"]).all()
    ops = np.array([ast.literal_eval(s) for s in nets["net"]])
    onehot = np.concatenate([(ops[:, [e]] == np.arange(5)).astype(float) for e in range(6)], 1)
    X = np.hstack([onehot, zc.drop(columns=["net", "net_str"]).to_numpy(float)])
    y = nets["val_accs"].to_numpy(float)
    perm = np.random.default_rng(1).permutation(len(y))
    tr, te = perm[:256], perm[256:1256]
    with caplog.at_level(logging.WARNING, logger="nasperf.predictors"):
        gp = GPPredictor(random_state=1).fit(onehot[tr], y[tr])
    # one-hot lengthscales must not collapse (min_lengthscale): L-BFGS needs no Adam rescue
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
    assert kendall_tau_score(y[te], gp.predict(onehot[te])) > 0.5
    groups = {"encoding": slice(0, 30), "zc": slice(30, X.shape[1])}
    omni = OmniPredictor(
        feature_groups=groups,
        switch_train_size=128,
        stack_cv=3,
        stack_params={"max_iter": 20},
        random_state=0,
    )
    omni.fit(X[tr], y[tr])
    assert omni.stacked_
    assert kendall_tau_score(y[te], omni.predict(X[te])) > 0.7
