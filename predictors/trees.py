"""Tree ensembles (LightGBM, XGBoost, random forest) with defaults for small NAS training sets.

NAS predictors are trained on tens to a few thousand architectures, so the defaults keep
trees small and leaves allowed to be small, and boost slowly:

========================  ===============================================================
``"lightgbm"``            300 trees, learning rate 0.05, 15 leaves, ``min_child_samples=5``,
                          row/column subsampling 0.8, L2 1.0, ``min_data_in_bin=1``,
                          ``deterministic=True``, ``force_row_wise=True``, ``verbose=-1``
``"xgboost"``             300 trees, learning rate 0.05, depth 4, row/column subsampling
                          0.8, L2 1.0, ``tree_method="hist"``
``"random_forest"``       300 trees, ``max_features=0.5``, ``min_samples_leaf=1``
``"extra_trees"``         500 extremely randomised trees, ``max_features=0.5``
========================  ===============================================================

``params`` overrides any of these (keyword arguments of the underlying estimator); its
entries are also reachable as nested parameters ``params__<name>`` (e.g.
``GridSearchCV(TreePredictor(kind="extra_trees"), {"params__n_estimators": [100, 500]})``).

Uncertainty: the random forest and ExtraTrees also give ``predict(X, return_std=True)``,
the standard deviation of their trees' predictions (the spread SMAC's random-forest model
uses for Bayesian optimisation; it measures how much the trees disagree, not a calibrated
predictive interval). The boosted kinds have none and raise ``ValueError``.

LightGBM and XGBoost are optional dependencies (``pip install 'nasperf[boosting]'``);
fitting those kinds without them raises an ``ImportError`` that says so. The random forest
and ExtraTrees need scikit-learn only.

Determinism: for a given ``random_state`` the predictions are identical bit for bit
whatever ``n_jobs`` (and after pickling). LightGBM runs with ``deterministic=True`` and
``force_row_wise=True``; XGBoost's ``hist`` method and per-row prediction do not depend on
the thread count. A scikit-learn forest's own ``predict`` adds its trees' predictions in
the order its threads finish, so two calls can differ in the last bits; here the trees
predict in parallel (``n_jobs`` threads) but their predictions are summed in tree order
(:func:`forest_predict`), exactly as the single-threaded forest does.

``hpo="cv"`` runs a small randomised search (``hpo_iter`` draws from a per-kind space, see
:data:`HPO_SPACES`) scored by Kendall tau with ``KFold(hpo_cv, shuffle=True)`` on the
training data only, then refits the best configuration on all of it. The chosen values are
in ``best_params_``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from scipy.stats import loguniform, randint, uniform
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import KFold, RandomizedSearchCV

from nasperf._utils import import_optional

from .base import BasePredictor, kendall_scorer, seeds_from

logger = logging.getLogger("nasperf.predictors")


def _lightgbm(seed: int, n_jobs: int) -> BaseEstimator:
    lightgbm = import_optional("lightgbm", "boosting", "TreePredictor(kind='lightgbm')")

    return lightgbm.LGBMRegressor(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=5,
        min_data_in_bin=1,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
        n_jobs=n_jobs,
        random_state=seed,
    )


def _xgboost(seed: int, n_jobs: int) -> BaseEstimator:
    xgboost = import_optional("xgboost", "boosting", "TreePredictor(kind='xgboost')")

    return xgboost.XGBRegressor(
        n_estimators=300,
        learning_rate=0.05,
        max_depth=4,
        min_child_weight=1.0,
        subsample=0.8,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        tree_method="hist",
        n_jobs=n_jobs,
        random_state=seed,
        verbosity=0,
    )


def _random_forest(seed: int, n_jobs: int) -> BaseEstimator:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(
        n_estimators=300, max_features=0.5, min_samples_leaf=1, n_jobs=n_jobs, random_state=seed
    )


def _extra_trees(seed: int, n_jobs: int) -> BaseEstimator:
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(
        n_estimators=500, max_features=0.5, min_samples_leaf=1, n_jobs=n_jobs, random_state=seed
    )


#: Rows per block of :func:`forest_predict` (bounds its memory to trees x block floats).
_FOREST_BLOCK = 8192


def forest_predict(forest: BaseEstimator, X: np.ndarray, n_jobs: int = 1,
                   return_std: bool = False):
    """Mean prediction ``(n_samples,)`` of a fitted scikit-learn forest regressor, summed
    in tree order; with ``return_std`` also the standard deviation of the trees'
    predictions ``(n_samples,)``.

    The trees predict in ``n_jobs`` threads; their predictions are added in the order of
    ``forest.estimators_`` and divided by their number, the arithmetic of the forest's
    single-threaded ``predict``, so the result does not depend on ``n_jobs``.
    """
    from joblib import Parallel, delayed

    X32 = np.ascontiguousarray(X, dtype=np.float32)
    trees = forest.estimators_
    out = np.zeros(len(X32), dtype=np.float64)
    std = np.zeros(len(X32), dtype=np.float64) if return_std else None
    with Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
        for start in range(0, len(X32), _FOREST_BLOCK):
            block = X32[start:start + _FOREST_BLOCK]
            preds = parallel(delayed(t.predict)(block, check_input=False) for t in trees)
            acc = np.zeros(len(block), dtype=np.float64)
            for p in preds:  # tree order, whatever the thread order
                acc += p
            mean = acc / len(trees)
            out[start:start + len(block)] = mean
            if std is not None:  # two-pass variance: no cancellation
                sq = np.zeros(len(block), dtype=np.float64)
                for p in preds:
                    sq += (p - mean) ** 2
                std[start:start + len(block)] = np.sqrt(sq / len(trees))
    return (out, std) if return_std else out


#: Kinds whose trees are averaged (a forest): they have ``return_std``.
FOREST_KINDS = ("random_forest", "extra_trees")


def _is_forest(est: BaseEstimator) -> bool:
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    return isinstance(est, (RandomForestRegressor, ExtraTreesRegressor)) and \
        getattr(est, "n_outputs_", 1) == 1


#: Tree kind -> factory ``(seed, n_jobs) -> unfitted estimator with the small-data defaults``.
TREE_KINDS: dict[str, Callable[[int, int], BaseEstimator]] = {
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "random_forest": _random_forest,
    "extra_trees": _extra_trees,
}

#: Randomised-search spaces (scipy distributions or lists) per tree kind.
HPO_SPACES: dict[str, dict] = {
    "lightgbm": {
        "n_estimators": randint(100, 600),
        "learning_rate": loguniform(0.01, 0.2),
        "num_leaves": randint(4, 32),
        "min_child_samples": randint(2, 20),
        "colsample_bytree": uniform(0.4, 0.6),
        "subsample": uniform(0.5, 0.5),
        "reg_lambda": loguniform(1e-3, 10.0),
    },
    "xgboost": {
        "n_estimators": randint(100, 600),
        "learning_rate": loguniform(0.01, 0.2),
        "max_depth": randint(2, 8),
        "min_child_weight": loguniform(0.5, 10.0),
        "colsample_bytree": uniform(0.4, 0.6),
        "subsample": uniform(0.5, 0.5),
        "reg_lambda": loguniform(1e-3, 10.0),
    },
    "random_forest": {
        "n_estimators": randint(100, 500),
        "max_features": uniform(0.2, 0.8),
        "min_samples_leaf": randint(1, 6),
        "max_depth": [None, 8, 16],
    },
    "extra_trees": {
        "n_estimators": randint(200, 800),
        "max_features": uniform(0.2, 0.8),
        "min_samples_leaf": randint(1, 4),
    },
}


def make_tree(kind: str, seed: int, n_jobs: int, params: dict | None = None) -> BaseEstimator:
    """An unfitted tree ensemble of ``kind`` with the small-data defaults and ``params``."""
    if kind not in TREE_KINDS:
        raise ValueError(f"unknown tree kind {kind!r}; known: {', '.join(TREE_KINDS)}")
    est = TREE_KINDS[kind](seed, n_jobs)
    if params:
        unknown = set(params) - set(est.get_params())
        if unknown:
            raise ValueError(f"unknown {kind} parameter(s) {sorted(unknown)} in params")
        est.set_params(**params)
    return est


class TreePredictor(BasePredictor):
    """Gradient-boosted trees or a random forest for small NAS training sets.

    Parameters
    ----------
    kind : {"lightgbm", "xgboost", "random_forest", "extra_trees"}, default "lightgbm"
    params : dict or None
        Overrides of the defaults listed in the module docstring (underlying estimator's
        keyword arguments, e.g. ``{"n_estimators": 500}``). Nested parameters
        ``params__<name>`` read and set its entries: ``get_params(deep=True)`` lists those
        given, ``set_params(params__n_estimators=100)`` replaces ``params`` by an updated
        copy, so ``GridSearchCV`` can search them.
    hpo : False or "cv", default False
        ``"cv"`` tunes by randomised search with Kendall-tau cross-validation on the
        training data; ``params`` then fixes the values that are not searched.
    hpo_iter : int, default 20
        Configurations drawn by the search.
    hpo_cv : int, default 3
        Folds of the search (reduced to ``n_samples`` when fewer).
    n_jobs : int, default 1
        Threads of the tree library (the search itself runs sequentially).
    nan_policy : {"impute", "raise"}, default "impute"
    random_state : int, RandomState or None

    Attributes
    ----------
    estimator_ : the fitted LightGBM / XGBoost / scikit-learn estimator.
    best_params_ : dict, the searched values chosen by ``hpo="cv"`` (empty without HPO).
    fit_time_ : float, seconds (including the search).
    """

    _dict_params = ("params",)

    def __init__(
        self,
        *,
        kind: str = "lightgbm",
        params: dict | None = None,
        hpo: bool | str = False,
        hpo_iter: int = 20,
        hpo_cv: int = 3,
        n_jobs: int = 1,
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.kind = kind
        self.params = params
        self.hpo = hpo
        self.hpo_iter = hpo_iter
        self.hpo_cv = hpo_cv
        self.n_jobs = n_jobs
        self.nan_policy = nan_policy
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.hpo not in (False, None, "cv"):
            raise ValueError(f"hpo must be False or 'cv', got {self.hpo!r}")
        seed, search_seed = seeds_from(self.random_state, 2)
        est = make_tree(self.kind, seed, self.n_jobs, self.params)
        self.best_params_ = {}
        if self.hpo == "cv":
            est = self._search(est, X, y, search_seed)
        self.estimator_ = est.fit(X, y)

    def _search(self, est: BaseEstimator, X: np.ndarray, y: np.ndarray, seed: int):
        fixed = set(self.params or {})
        space = {k: v for k, v in HPO_SPACES[self.kind].items() if k not in fixed}
        n_splits = min(self.hpo_cv, len(y))
        if n_splits < 2 or not space:
            logger.warning("skipping HPO: %d samples, %d free parameters", len(y), len(space))
            return est
        search = RandomizedSearchCV(
            est,
            space,
            n_iter=self.hpo_iter,
            scoring=kendall_scorer,
            cv=KFold(n_splits, shuffle=True, random_state=seed),
            refit=False,
            random_state=seed,
            n_jobs=1,
        )
        search.fit(X, y)
        self.best_params_ = dict(search.best_params_)
        logger.info(
            "TreePredictor(%s) HPO: best CV Kendall tau %.3f with %s",
            self.kind,
            search.best_score_,
            self.best_params_,
        )
        return clone(est).set_params(**self.best_params_)

    @property
    def _supports_std(self) -> bool:
        """Forests have an uncertainty estimate, the spread of their trees."""
        return self.kind in FOREST_KINDS

    def _predict(self, X: np.ndarray, return_std: bool):
        if _is_forest(self.estimator_):
            return forest_predict(self.estimator_, X, self.estimator_.n_jobs or 1,
                                  return_std=return_std)
        return np.asarray(self.estimator_.predict(X), dtype=np.float64)
