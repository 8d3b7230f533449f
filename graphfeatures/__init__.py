"""GRAF: neural graph features (Kadlecová et al., ICML 2024) computed on ArchGraphs.

>>> from nasperf.graphfeatures import GRAFEncoder
>>> enc = GRAFEncoder(space="nb201")
>>> X = enc.fit_transform(["(0, 2, 3, 2, 3, 1)"])
>>> X.shape == (1, len(enc.get_feature_names_out()))
True
"""

from .batch import GraphBatch, build_batch
from .encoder import GRAFEncoder, graph_features
from .groups import FEATURE_GROUPS, FeatureContext, compute_groups
from .spaces import DEFAULT_GROUPS, GRAFSpaceConfig

__all__ = [
    "DEFAULT_GROUPS",
    "FEATURE_GROUPS",
    "FeatureContext",
    "GRAFEncoder",
    "GRAFSpaceConfig",
    "GraphBatch",
    "build_batch",
    "compute_groups",
    "graph_features",
]
