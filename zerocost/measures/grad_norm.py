"""grad_norm: sum over layers of the L2 norm of the loss gradient of the layer's weight.

``sum_l ||dL/dW_l||_2`` over the scored layers (Conv/Linear), train mode, mean-reduced loss
on the batch. Reference: Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR
2021; ``foresight/pruners/measures/grad_norm.py`` (zero-cost-nas) and its NASLib copy
``naslib/predictors/utils/pruners/measures/grad_norm.py``. Higher is better.
"""

from __future__ import annotations

import torch

from ..context import ProxyContext
from ..spec import Proxy
from ._util import finite, total


def grad_norm(ctx: ProxyContext) -> float:
    grads = ctx.product("loss_grad")
    return finite(total(g.to(torch.float64).norm() for g in grads), "grad_norm")


PROXY = Proxy(
    "grad_norm", grad_norm, needs=frozenset({"loss_grad"}), higher_is_better=True,
    mode="train", needs_targets=True,
    reference="Abdelfattah et al. ICLR 2021; zero-cost-nas measures/grad_norm.py; NASLib copy",
)
