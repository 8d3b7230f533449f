"""Name -> predictor factory, resolved lazily so that importing the registry stays cheap.

Built-in names map to a class of this package (imported on first use) and default keyword
arguments; :func:`register_predictor` adds names for user estimators. Names are
case-insensitive.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from sklearn.base import clone

from .base import make_estimator

#: Predictor name -> (factory, default keyword arguments). The factory of a built-in name
#: is ``"module:Class"`` inside this package (imported when first used); a registered one
#: is the callable given to :func:`register_predictor`.
PREDICTORS: dict[str, tuple[str | Callable[..., Any], dict[str, Any]]] = {
    "gp": ("gp:GPPredictor", {}),
    "mlp_ensemble": ("mlp:MLPEnsemblePredictor", {}),
    "gnn": ("gnn:GNNPredictor", {}),
    "gnn_pretrained": ("gnn:GNNPredictor", {"backbone": "pretrained"}),
    "lightgbm": ("trees:TreePredictor", {"kind": "lightgbm"}),
    "xgboost": ("trees:TreePredictor", {"kind": "xgboost"}),
    "random_forest": ("trees:TreePredictor", {"kind": "random_forest"}),
    "extra_trees": ("trees:TreePredictor", {"kind": "extra_trees"}),
    "lambdarank": ("rankers:LambdaRankPredictor", {}),
    "pairwise_ranker": ("rankers:PairwiseRankerPredictor", {}),
    "omni": ("omni:OmniPredictor", {}),
    "auto": ("select:CVSelectPredictor", {}),
    "auto_models": ("select:CVSelectPredictor", {"candidates": "models", "blends": (),
                                                 "cv_repeats": 1}),
    "auto_gnn": ("select:CVSelectPredictor", {"candidates": "gnn"}),
    "auto_gnn_pretrained": ("select:CVSelectPredictor", {"candidates": "gnn_pretrained"}),
    "auto_previous": ("select:CVSelectPredictor", {"candidates": "previous", "cv_repeats": 1}),
}


def list_predictors() -> list[str]:
    """Names accepted by :func:`get_predictor` (built-in, then registered)."""
    return list(PREDICTORS)


def register_predictor(name: str, factory: Callable[..., Any], *, overwrite: bool = False,
                       **defaults: Any) -> None:
    """Make ``get_predictor(name, **kw)`` return ``factory(**{**defaults, **kw})``.

    Parameters
    ----------
    name : str
        The new name (case-insensitive). It is usable everywhere a predictor name is, e.g.
        as a candidate of ``"auto"`` (:class:`~nasperf.predictors.select.CVSelectPredictor`).
    factory : callable
        A scikit-learn regressor class (or a function returning an unfitted instance).
        ``get_predictor`` passes ``random_state`` only when the caller does; keyword
        arguments containing ``"__"`` are applied with ``set_params`` after construction.
    overwrite : bool, default False
        Replace an existing name (built-in names included) instead of raising.
    **defaults
        Default keyword arguments of ``factory``.

    Raises
    ------
    ValueError
        ``name`` is empty or not a string, or already registered and ``overwrite`` is False.
    TypeError
        ``factory`` is not callable.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a predictor name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for {name!r} must be callable, got {factory!r}")
    key = name.lower()
    if key in PREDICTORS and not overwrite:
        raise ValueError(f"predictor {name!r} is already registered; pass overwrite=True "
                         "to replace it")
    PREDICTORS[key] = (factory, dict(defaults))


def _factory(target: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(target):
        return target
    module, cls = target.split(":")
    return getattr(import_module(f"{__package__}.{module}"), cls)


def get_predictor(name: Any, **kwargs: Any) -> Any:
    """An unfitted predictor by name (``"gp"``, ``"lightgbm"``, ...), with ``kwargs`` applied.

    Parameters
    ----------
    name : str or estimator
        A name of :func:`list_predictors`, or an estimator instance: then an unfitted
        ``sklearn.base.clone`` of it is returned with ``kwargs`` set (the instance itself is
        neither modified nor returned).
    **kwargs
        Override the registry defaults (e.g. ``get_predictor("lightgbm", hpo="cv")``).
        Nested names are set with ``set_params`` after construction
        (``get_predictor("extra_trees", params__n_estimators=100)``).
    """
    if not isinstance(name, str):
        if hasattr(name, "get_params") and not isinstance(name, type):
            return clone(name).set_params(**kwargs)
        raise ValueError(f"a predictor is a registry name or an estimator instance, got "
                         f"{name!r}")
    if name.lower() not in PREDICTORS:
        raise ValueError(f"unknown predictor {name!r}; known: {', '.join(PREDICTORS)}")
    target, defaults = PREDICTORS[name.lower()]
    return make_estimator(_factory(target), {**defaults, **kwargs})
