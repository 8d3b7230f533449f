"""Architecture encoders: scikit-learn transformers from architectures to feature matrices.

``OneHotEncoder`` (adjacency / edge-op one-hot, or integer categories) and ``PathEncoder``
(BANANAS path encoding) are hand-built; ``Arch2VecEncoder`` and ``CATEEncoder`` (learned
embeddings) and ``GraphDataEncoder`` (torch-geometric graphs for graph neural predictors; the
``gnn`` extra) are imported on first access. GRAF features live in :mod:`nasperf.graphfeatures`.

>>> from nasperf.encoders import OneHotEncoder
>>> OneHotEncoder("nb201").fit_transform(["(0, 2, 3, 2, 3, 1)"]).shape
(1, 30)
"""

from importlib import import_module
from typing import Any

from .base import ArchEncoder
from .onehot import OneHotEncoder
from .path import PathEncoder

#: Encoders defined in modules that are imported lazily (they pull in torch).
_LAZY = {"Arch2VecEncoder": ".arch2vec", "CATEEncoder": ".cate",
         "GraphDataEncoder": ".graph_data", "attach_global_features": ".graph_data"}

# the lazy names are left out of __all__: ``from nasperf.encoders import *`` must not import torch
__all__ = ["ArchEncoder", "OneHotEncoder", "PathEncoder"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
