"""params: number of parameters, in millions.

Counts every distinct parameter tensor of the model (shared tensors once), trainable or not,
BatchNorm affine parameters included, buffers excluded. Equals the ``params`` field of
NAS-Bench-201 / NAS-Bench-Suite-Zero for the standard NB201 network. Higher is better (as a
proxy: bigger networks tend to be more accurate in these spaces).
"""

from __future__ import annotations

from ..context import ProxyContext
from ..spec import Proxy


def params(ctx: ProxyContext) -> float:
    return sum(p.numel() for p in ctx.model.parameters()) / 1e6


PROXY = Proxy("params", params, higher_is_better=True, mode="none",
              reference="NAS-Bench-Suite-Zero params (tensorwatch ModelStats.parameters / 1e6)")
