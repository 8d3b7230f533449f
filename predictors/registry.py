"""Name -> predictor factory, resolved lazily so that importing the registry stays cheap."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import BasePredictor

#: Predictor name -> (``module:Class`` inside this package, default keyword arguments).
PREDICTORS: dict[str, tuple[str, dict[str, Any]]] = {
    "gp": ("gp:GPPredictor", {}),
    "mlp_ensemble": ("mlp:MLPEnsemblePredictor", {}),
    "lightgbm": ("trees:TreePredictor", {"kind": "lightgbm"}),
    "xgboost": ("trees:TreePredictor", {"kind": "xgboost"}),
    "random_forest": ("trees:TreePredictor", {"kind": "random_forest"}),
    "extra_trees": ("trees:TreePredictor", {"kind": "extra_trees"}),
    "lambdarank": ("rankers:LambdaRankPredictor", {}),
    "pairwise_ranker": ("rankers:PairwiseRankerPredictor", {}),
    "omni": ("omni:OmniPredictor", {}),
    "auto": ("select:CVSelectPredictor", {}),
    "auto_models": ("select:CVSelectPredictor", {"candidates": "models", "blends": ()}),
}


def list_predictors() -> list[str]:
    """Names accepted by :func:`get_predictor`."""
    return list(PREDICTORS)


def get_predictor(name: str | BasePredictor, **kwargs: Any) -> BasePredictor:
    """An unfitted predictor by name (``"gp"``, ``"lightgbm"``, ...), with ``kwargs`` applied.

    ``kwargs`` override the registry defaults (e.g. ``get_predictor("lightgbm",
    hpo="cv")``). An estimator instance is returned as is (``kwargs`` are then set on it).
    """
    if isinstance(name, BasePredictor):
        return name.set_params(**kwargs) if kwargs else name
    if not isinstance(name, str) or name.lower() not in PREDICTORS:
        raise ValueError(f"unknown predictor {name!r}; known: {', '.join(PREDICTORS)}")
    target, defaults = PREDICTORS[name.lower()]
    module, cls = target.split(":")
    factory = getattr(import_module(f"{__package__}.{module}"), cls)
    return factory(**{**defaults, **kwargs})
