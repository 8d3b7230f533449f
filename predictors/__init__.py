"""Performance predictors: scikit-learn regressors from feature arrays to targets.

Predictors see arrays only (``X`` of shape ``(n_samples, n_features)``, ``y`` of shape
``(n_samples,)``), except the graph predictor ``GNNPredictor`` (``gnn``), which takes
``torch_geometric.data.Data`` graphs; they import nothing from the feature packages.

>>> from nasperf.predictors import TreePredictor, GPPredictor, get_predictor
>>> p = TreePredictor(kind="lightgbm").fit(X, y); p.predict(X_test)        # doctest: +SKIP
>>> GPPredictor().fit(X, y).predict(X_test, return_std=True)               # doctest: +SKIP

Classes are imported lazily (torch and gpytorch load only when a class that needs them is
first used). NaN/inf features follow each predictor's ``nan_policy`` (see
:mod:`nasperf.predictors.base`); fit and predict times are logged on the ``predictors`` logger.

Every predictor takes keyword arguments only, works with ``clone``, ``Pipeline`` and
``GridSearchCV``, and exposes the settings of its inner models as nested parameters
(``params__n_estimators``, ``base_params__...``, ``candidates__<name>__...``; see each class).
:func:`register_predictor` adds a name for a user estimator.

Optional dependencies: LightGBM and XGBoost (``lightgbm``, ``xgboost``, ``lambdarank``,
OMNI's default tree) come with ``pip install 'nasperf[boosting]'``, gpytorch (``gp``) with
``pip install 'nasperf[gp]'``, torch-geometric (``gnn``) with ``pip install 'nasperf[gnn]'``;
without them the other predictors (``extra_trees``,
``random_forest``, ``auto``'s default candidates, ...) work and those raise an
``ImportError`` naming the extra.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import BasePredictor, RankerMixin, kendall_scorer, kendall_tau_score
from .registry import PREDICTORS, get_predictor, list_predictors, register_predictor

_LAZY = {
    "GPPredictor": "gp",
    "MLPEnsemblePredictor": "mlp",
    "GNNPredictor": "gnn",
    "TreePredictor": "trees",
    "RankerPredictor": "rankers",
    "LambdaRankPredictor": "rankers",
    "PairwiseRankerPredictor": "rankers",
    "OmniPredictor": "omni",
    "CVSelectPredictor": "select",
}

__all__ = [
    "PREDICTORS",
    "BasePredictor",
    "RankerMixin",
    "get_predictor",
    "kendall_scorer",
    "kendall_tau_score",
    "list_predictors",
    "register_predictor",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
