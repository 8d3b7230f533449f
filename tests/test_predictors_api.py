"""The predictors' estimator API: keyword-only arguments, nested parameters reachable by
GridSearchCV, the registry, feature groups of ``auto`` and missing optional dependencies
(tiny synthetic data, no benchmark files)."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold

from nasperf.predictors import (
    PREDICTORS,
    CVSelectPredictor,
    GPPredictor,
    LambdaRankPredictor,
    MLPEnsemblePredictor,
    OmniPredictor,
    PairwiseRankerPredictor,
    RankerPredictor,
    TreePredictor,
    get_predictor,
    kendall_scorer,
    list_predictors,
    register_predictor,
)
from nasperf.predictors.base import groups_from_names, resolve_groups
from nasperf.predictors.select import DEFAULT_CANDIDATES, Candidate

CLASSES = [CVSelectPredictor, GPPredictor, LambdaRankPredictor, MLPEnsemblePredictor,
           OmniPredictor, PairwiseRankerPredictor, RankerPredictor, TreePredictor]
FAST_ET = {"params": {"n_estimators": 10}, "n_jobs": 1}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(48, 4))
    y = X[:, 0] + np.sin(3 * X[:, 1]) + 0.05 * rng.normal(size=48)
    return X, y


def _frame(n: int = 48, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols = ["graf_all:a", "graf_all:b", "zc:s", "zc:t", "zc:u"]
    X = pd.DataFrame(rng.uniform(size=(n, 5)), columns=cols)
    return X, X["graf_all:a"].to_numpy() + np.log1p(X["zc:s"].to_numpy())


def _grid(est, grid):
    return GridSearchCV(est, grid, cv=KFold(3, shuffle=True, random_state=0),
                        scoring=kendall_scorer)


# -- keyword-only arguments ------------------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_arguments_are_keyword_only(cls):
    with pytest.raises(TypeError):
        cls("impute")
    assert cls(nan_policy="raise").nan_policy == "raise"


# -- nested parameters -----------------------------------------------------------------------------
def test_dict_parameters_are_nested_parameters():
    mine = {"n_estimators": 10}
    tree = TreePredictor(kind="extra_trees", params=mine)
    assert tree.get_params()["params__n_estimators"] == 10
    assert "params__n_estimators" not in tree.get_params(deep=False)
    tree.set_params(params__n_estimators=20, params__max_depth=3)
    assert tree.params == {"n_estimators": 20, "max_depth": 3}
    assert mine == {"n_estimators": 10}                      # the caller's dict is untouched
    assert TreePredictor().set_params(params__max_depth=2).params == {"max_depth": 2}
    # nested into a dict entry, and kept as a nested key where there is no dict
    ranker = RankerPredictor(params={"params": {"n_estimators": 5}})
    assert ranker.get_params()["params__params__n_estimators"] == 5
    ranker.set_params(params__params__num_leaves=4, params__n_levels=8)
    assert ranker.params == {"params": {"n_estimators": 5, "num_leaves": 4}, "n_levels": 8}
    copy = pickle.loads(pickle.dumps(clone(ranker)))
    assert copy.get_params() == ranker.get_params()
    with pytest.raises(ValueError, match="Invalid parameter"):
        TreePredictor().set_params(nope__x=1)


def test_gridsearch_over_nested_extra_trees_parameter(data):
    X, y = data
    gs = _grid(get_predictor("extra_trees", params={"n_estimators": 10}, random_state=0),
               {"params__max_depth": [1, None]}).fit(X, y)
    chosen = gs.best_params_["params__max_depth"]
    assert set(gs.cv_results_["param_params__max_depth"]) == {1, None}
    assert gs.best_estimator_.params == {"n_estimators": 10, "max_depth": chosen}
    assert gs.best_estimator_.estimator_.max_depth == chosen
    assert gs.best_estimator_.estimator_.n_estimators == 10


def test_gridsearch_over_nested_omni_parameters(data):
    X, y = data
    omni = get_predictor("omni", base="extra_trees", base_params={"n_estimators": 10},
                         stack_predictor="extra_trees",
                         stack_params={"params": {"n_estimators": 5}},
                         switch_train_size=20, stack_cv=2, random_state=0)
    grid = {"base_params__max_depth": [1, None], "stack_predictor__params__n_estimators": [3, 6]}
    gs = _grid(omni, grid).fit(X, y)
    best = gs.best_estimator_
    assert best.stacked_
    assert best.estimator_.estimator_.max_depth == gs.best_params_["base_params__max_depth"]
    assert (best.stack_estimator_.estimator_.n_estimators
            == gs.best_params_["stack_predictor__params__n_estimators"])
    assert best.stack_params == {"params": {"n_estimators":
                                            gs.best_params_["stack_predictor__params__n_estimators"]}}
    assert omni.stack_params == {"params": {"n_estimators": 5}}
    # with an estimator as stack predictor, scikit-learn's own routing applies
    inst = OmniPredictor(stack_predictor=TreePredictor(kind="random_forest"))
    inst.set_params(stack_predictor__n_jobs=2, stack_predictor__params__n_estimators=7)
    assert inst.stack_predictor.n_jobs == 2 and inst.stack_predictor.params == {"n_estimators": 7}
    assert inst.stack_params is None


def test_gridsearch_over_nested_auto_parameter(data):
    X, y = data
    auto = get_predictor("auto", candidates=[("extra_trees", FAST_ET)], cv=2, random_state=0)
    assert auto.get_params()["candidates__extra_trees__params__n_estimators"] == 10
    gs = _grid(auto, {"candidates__extra_trees__params__max_depth": [1, None]}).fit(X, y)
    chosen = gs.best_params_["candidates__extra_trees__params__max_depth"]
    (est, cols), = gs.best_estimator_.best_estimators_
    assert est.estimator_.max_depth == chosen and est.estimator_.n_estimators == 10
    assert auto.candidates == [("extra_trees", FAST_ET)]          # the original is untouched


def test_auto_routes_into_the_default_candidates():
    auto = get_predictor("auto", **{"candidates__extra_trees[zc]__params__n_estimators": 7})
    specs = auto.candidates
    assert [c.name for c in specs] == [c.name for c in DEFAULT_CANDIDATES]
    assert specs[2].params == {"n_jobs": 2, "params__n_estimators": 7}
    assert specs[2].columns == ("zc",) and specs[:2] == DEFAULT_CANDIDATES[:2]
    assert DEFAULT_CANDIDATES[2].params == {"n_jobs": 2}
    assert auto.get_params()["candidates__extra_trees[zc]__params__n_estimators"] == 7
    models = get_predictor("auto_models").set_params(candidates__lightgbm__n_jobs=1)
    assert [c.params for c in models.candidates] == [{"n_jobs": 2}, {"n_jobs": 2}, {"n_jobs": 1}]
    with pytest.raises(ValueError, match="no candidate named"):
        get_predictor("auto").set_params(candidates__gp__max_iter=3)


def test_auto_n_jobs_and_random_state_reach_the_candidates(data):
    X, y = data
    cands = [("random_forest", {"params": {"n_estimators": 10}, "n_jobs": 2})]
    own = CVSelectPredictor(candidates=cands, cv=2, random_state=5).fit(X, y)
    (fitted, _), = own.best_estimators_
    assert fitted.n_jobs == 2 and fitted.random_state == 5     # n_jobs=None: the spec's own
    threads = CVSelectPredictor(candidates=cands, cv=2, n_jobs=1, random_state=5).fit(X, y)
    assert threads.best_estimators_[0][0].n_jobs == 1
    assert threads.cv_scores_ == own.cv_scores_
    # the same trees; a forest sums its trees in thread order, so the last bit may differ
    np.testing.assert_allclose(threads.predict(X), own.predict(X), rtol=1e-12)


# -- get_predictor and the registry ----------------------------------------------------------------
class ShiftedMean(RegressorMixin, BaseEstimator):
    """A user estimator: predicts the training mean plus ``shift``."""

    def __init__(self, *, shift: float = 0.0):
        self.shift = shift

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_ + self.shift)


@pytest.fixture
def registry():
    saved = dict(PREDICTORS)
    yield
    PREDICTORS.clear()
    PREDICTORS.update(saved)


def test_get_predictor_of_an_instance_is_a_configured_clone(data):
    X, y = data
    fitted = TreePredictor(kind="extra_trees", params={"n_estimators": 5}).fit(X, y)
    copy = get_predictor(fitted, random_state=3, params__max_depth=2)
    assert copy is not fitted and not hasattr(copy, "estimator_")
    assert copy.random_state == 3 and copy.params == {"n_estimators": 5, "max_depth": 2}
    assert fitted.random_state is None and fitted.params == {"n_estimators": 5}
    assert get_predictor("extra_trees", params__n_estimators=4).params == {"n_estimators": 4}
    with pytest.raises(ValueError, match="registry name or an estimator"):
        get_predictor(42)


def test_register_predictor(registry, data):
    X, y = data
    register_predictor("Shifted", ShiftedMean, shift=1.0)
    assert "shifted" in list_predictors()
    est = get_predictor("shifted")
    assert isinstance(est, ShiftedMean) and est.shift == 1.0
    assert get_predictor("SHIFTED", shift=2.0).fit(X, y).predict(X[:2]) == pytest.approx(
        [np.mean(y) + 2.0] * 2)
    with pytest.raises(ValueError, match="already registered"):
        register_predictor("shifted", ShiftedMean)
    with pytest.raises(ValueError, match="already registered"):
        register_predictor("extra_trees", ShiftedMean)
    register_predictor("shifted", Ridge, overwrite=True, alpha=3.0)
    assert isinstance(get_predictor("shifted"), Ridge) and get_predictor("shifted").alpha == 3.0
    with pytest.raises(TypeError, match="callable"):
        register_predictor("bad", 42)
    # a registered estimator is usable as a candidate of auto (it has no random_state)
    auto = CVSelectPredictor(candidates=["shifted", ("extra_trees", FAST_ET)], cv=2,
                             random_state=0).fit(X, y)
    assert set(auto.cv_scores_) == {"shifted", "extra_trees"}


# -- feature groups of auto ------------------------------------------------------------------------
def test_groups_from_names_and_resolve_groups():
    names = ["zc:synflow", "graf_all:op_count_conv", "graf_all:x", "plain", "zc:nwot"]
    groups = groups_from_names(names)
    assert list(groups) == ["zc", "graf_all"]
    assert groups["zc"].tolist() == [0, 4] and groups["graf_all"].tolist() == [1, 2]
    assert resolve_groups({"a": slice(3, None), "b": [-1]}, 5)["b"].tolist() == [4]
    for bad, msg in (({}, "non-empty dict"), ({"a": [9]}, "outside"), ({"a": []}, "no column"),
                     ({"a": ["x"]}, "slice or a list of ints")):
        with pytest.raises(ValueError, match=msg):
            resolve_groups(bad, 5)


def test_numpy_with_explicit_groups_equals_the_dataframe_path():
    X, y = _frame()
    Xt, _ = _frame(30, seed=1)
    fast = {f"candidates__{c.name}__params__n_estimators": 15 for c in DEFAULT_CANDIDATES}
    kw = {"n_jobs": 1, "random_state": 0, **fast}
    named = get_predictor("auto", **kw).fit(X, y)
    groups = {"graf_all": [0, 1], "graf_all.a": [0], "zc": slice(2, 5)}  # sub-groups: ignored
    plain = get_predictor("auto", feature_groups=groups, **kw).fit(X.to_numpy(), y)
    assert list(named.cv_scores_) == ["extra_trees", "random_forest", "extra_trees[zc]",
                                      "lightgbm", "extra_trees + extra_trees[zc]"]
    assert plain.cv_scores_ == named.cv_scores_ and plain.best_name_ == named.best_name_
    assert ([c.tolist() for _, c in plain.best_estimators_]
            == [c.tolist() for _, c in named.best_estimators_])
    np.testing.assert_array_equal(plain.predict(Xt.to_numpy()), named.predict(Xt))
    # explicit groups win over the column names
    other = get_predictor("auto", feature_groups={"zc": [0]}, **kw).fit(X, y)
    assert other.cv_scores_.keys() == named.cv_scores_.keys()
    assert other.cv_scores_["extra_trees[zc]"] != named.cv_scores_["extra_trees[zc]"]


def test_group_candidates_left_out_without_groups(caplog):
    X, y = _frame()
    cands = [Candidate("et", "extra_trees", FAST_ET), Candidate("et[zc]", "extra_trees", FAST_ET,
                                                                 columns=("zc",))]
    with caplog.at_level("INFO", logger="nasperf.predictors"):
        plain = CVSelectPredictor(candidates=cands, random_state=0).fit(X.to_numpy(), y)
    assert set(plain.cv_scores_) == {"et"}
    assert "et[zc] left out: no feature_groups given" in caplog.text
    unnamed = X.rename(columns=lambda c: c.replace(":", "_"))
    assert set(CVSelectPredictor(candidates=cands, random_state=0).fit(unnamed, y)
               .cv_scores_) == {"et"}
    both = Candidate("et[graf_all+zc]", "extra_trees", FAST_ET, columns=("graf_all", "zc"))
    caplog.clear()
    with caplog.at_level("INFO", logger="nasperf.predictors"):
        est = CVSelectPredictor(candidates=[cands[0], both], random_state=0).fit(X, y)
    assert set(est.cv_scores_) == {"et"} and "select 5 of 5 features" in caplog.text


# -- optional dependencies -------------------------------------------------------------------------
def test_missing_boosting_libraries_name_the_extra(monkeypatch, data):
    X, y = data
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    monkeypatch.setitem(sys.modules, "xgboost", None)
    for est in (get_predictor("lightgbm"), get_predictor("xgboost"),
                get_predictor("lambdarank"), get_predictor("omni", stack_predictor=None)):
        with pytest.raises(ImportError, match=r"pip install 'nasperf\[boosting\]'"):
            est.fit(X, y)
    # the scikit-learn ones need neither, and auto leaves out the candidates that do
    get_predictor("extra_trees", params={"n_estimators": 5}).fit(X, y)
    fast = {f"candidates__{c.name}__params__n_estimators": 5 for c in DEFAULT_CANDIDATES}
    auto = get_predictor("auto", random_state=0, **fast).fit(X, y)
    # (lightgbm is left out with a warning; extra_trees[top32] needs more than 32 columns)
    assert set(auto.cv_scores_) == {"extra_trees", "random_forest"}


def test_missing_gpytorch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpytorch", None)
    monkeypatch.delitem(sys.modules, "nasperf.predictors.gp", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'nasperf\[gp\]'"):
        get_predictor("gp")
    assert get_predictor("random_forest").kind == "random_forest"


def test_predictors_import_without_optional_libraries():
    import subprocess

    code = ("import sys\n"
            "for m in ('lightgbm', 'xgboost', 'gpytorch'): sys.modules[m] = None\n"
            "import numpy as np\n"
            "from nasperf.predictors import get_predictor, list_predictors\n"
            "X = np.random.default_rng(0).uniform(size=(20, 3))\n"
            "p = get_predictor('random_forest', params={'n_estimators': 5}).fit(X, X[:, 0])\n"
            "print(len(list_predictors()), p.predict(X).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == [str(len(list_predictors())), "(20,)"]


def test_estimator_spec_describes_what_decides_a_fit():
    import json

    import torch

    from nasperf.predictors.base import estimator_spec
    from nasperf.predictors.select import Candidate

    def spec(est):
        return json.dumps(estimator_spec(est), sort_keys=True)

    base = get_predictor("lightgbm", random_state=0)
    assert spec(base) == spec(get_predictor("lightgbm", random_state=7))  # seeds left out
    assert spec(base) != spec(get_predictor("lightgbm", params={"n_estimators": 10}))
    assert spec(base) != spec(get_predictor("xgboost"))
    assert "TreePredictor" in spec(base)
    # a selector's candidate names are described by the predictors they stand for
    auto = CVSelectPredictor(candidates=[Candidate("a", "lightgbm")])
    changed = CVSelectPredictor(candidates=[Candidate("a", "lightgbm", {"n_jobs": 3})])
    assert spec(auto) != spec(changed) and '"n_jobs": 3' in spec(changed)
    assert spec(CVSelectPredictor()) == spec(CVSelectPredictor(blends=None))
    assert spec(CVSelectPredictor()) != spec(CVSelectPredictor(blends=()))
    # nested estimators, arrays, functions and torch modules by content
    assert spec(GridSearchCV(Ridge(), {"alpha": [1.0]})) != spec(
        GridSearchCV(Ridge(alpha=2.0), {"alpha": [1.0]}))
    a = np.arange(6.0)
    assert estimator_spec(Ridge(alpha=a)) == estimator_spec(Ridge(alpha=a.copy()))
    assert estimator_spec(Ridge(alpha=a)) != estimator_spec(Ridge(alpha=a + 1))
    assert estimator_spec(Ridge(alpha=np.mean))["params"]["alpha"].endswith("numpy.mean")
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    same = torch.nn.Linear(2, 1)
    same.load_state_dict(net.state_dict())
    assert estimator_spec(Ridge(alpha=net)) == estimator_spec(Ridge(alpha=same))
    with torch.no_grad():
        same.bias += 1
    assert estimator_spec(Ridge(alpha=net)) != estimator_spec(Ridge(alpha=same))
