"""l2_norm: ``sum_l ||W_l||_2`` over the scored layers' weights, as initialised.

No data and no forward pass; it reads the weights of the given model (their initialisation,
so it depends on the init scheme and seed). Reference: NAS-Bench-Suite-Zero (Krishnakumar et
al., NeurIPS 2022 Datasets & Benchmarks); NASLib ``measures/l2_norm.py``. Higher is better.
"""

from __future__ import annotations

import torch

from ..context import ProxyContext
from ..layers import select_layers
from ..spec import Proxy, ProxyUndefined
from ._util import finite, total


def l2_norm(ctx: ProxyContext) -> float:
    layers = select_layers(ctx.model, ctx.layers)
    if not layers:
        raise ProxyUndefined("the model has no scored layer (see the `layers` argument)")
    with torch.no_grad():
        return finite(total(m.weight.detach().to(torch.float64).norm() for _, m in layers),
                      "l2_norm")


PROXY = Proxy(
    "l2_norm", l2_norm, higher_is_better=True, mode="none",
    reference="Krishnakumar et al. NeurIPS 2022 (NAS-Bench-Suite-Zero); NASLib measures/l2_norm.py",
)
