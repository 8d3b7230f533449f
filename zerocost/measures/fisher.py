"""fisher: channel saliency ``0.5 * mean_n (sum_spatial a * dL/da)^2``, broadcast to weights.

For each call of a scored layer with output ``a`` (before any norm/activation) and its loss
gradient ``dL/da``: ``g[n, k] = sum over the non-channel positions of a * dL/da``,
``s_k = 0.5 * mean_n g[n, k]^2``. NASLib broadcasts ``s_k`` to every weight of output channel
``k`` and sums, so the layer contributes ``fan_in * sum_k s_k`` with
``fan_in = weight.shape[1:].numel()``; the score is the sum over layers. Channels are dim 1
for convolutions and the last dim for Linear layers (NASLib sums dims 2.. for every layer,
which coincides for 2-D Linear inputs). Train mode, mean-reduced loss. Reference: Theis et
al. 2018 / Turner et al. ICLR 2020 ("BlockSwap"); ``foresight/pruners/measures/fisher.py``;
NASLib ``measures/fisher.py``. Higher is better.
"""

from __future__ import annotations

import torch

from ..context import ProxyContext
from ..spec import Proxy
from ._util import finite


def _channel_saliency(kind: str, act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    prod = (act * grad).to(torch.float64)
    if kind == "linear":
        g = prod.reshape(prod.shape[0], -1, prod.shape[-1]).sum(1) if prod.ndim > 2 else prod
    else:
        g = prod.sum(tuple(range(2, prod.ndim))) if prod.ndim > 2 else prod
    return g.pow(2).mean(0).mul(0.5)


def fisher(ctx: ProxyContext) -> float:
    s = 0.0
    for kind, fan_in, act, grad in ctx.product("act_grad"):
        s += fan_in * float(_channel_saliency(kind, act, grad).abs().sum())
    return finite(s, "fisher")


PROXY = Proxy(
    "fisher", fisher, needs=frozenset({"act_grad"}), higher_is_better=True, mode="train",
    needs_targets=True,
    reference="Turner et al. ICLR 2020; zero-cost-nas measures/fisher.py; NASLib fisher.py",
)
