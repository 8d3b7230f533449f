"""Zero-cost proxies: scores of an untrained network that predict its trained accuracy.

>>> from nasperf.zerocost import compute_proxies, list_proxies
>>> from nasperf.searchspaces import get_space
>>> space = get_space("nb201")
>>> model = space.to_model(space.parse("(0, 2, 3, 2, 3, 1)"), channels=4, cells_per_stage=1)
>>> scores = compute_proxies(model, proxies=["params", "synflow"])   # default digits batch
>>> sorted(scores)
['params', 'synflow']

Every proxy lives in its own module under :mod:`nasperf.zerocost.measures` and is registered in
:data:`nasperf.zerocost.registry.PROXIES`; proxies computed together share one train-mode pass
(:mod:`nasperf.zerocost.passes`). :class:`ZeroCostEncoder` turns architectures of a search space
into a proxy feature matrix.
"""

from .core import BatchTooLargeError, ProxyResult, compute_proxies, results_table
from .data import default_batch
from .encoder import ZeroCostEncoder
from .layers import DEFAULT_LAYERS, select_layers
from .registry import PROXIES, get_proxy, list_proxies, register_proxy
from .spec import Proxy, ProxyComputationError, ProxyUndefined

__all__ = [
    "DEFAULT_LAYERS",
    "PROXIES",
    "BatchTooLargeError",
    "Proxy",
    "ProxyComputationError",
    "ProxyResult",
    "ProxyUndefined",
    "ZeroCostEncoder",
    "compute_proxies",
    "default_batch",
    "get_proxy",
    "list_proxies",
    "register_proxy",
    "results_table",
    "select_layers",
]
