"""plain: ``sum dL/dW * W`` (signed) over the scored layers' weights.

The first-order Taylor term of the loss change when the weights are removed. Train mode,
mean-reduced loss. Reference: Mozer & Smolensky 1989 / Abdelfattah et al. ICLR 2021;
``foresight/pruners/measures/plain.py``; NASLib ``measures/plain.py``. Higher is better (as
registered by NAS-Bench-Suite-Zero; its correlation with accuracy is weak).
"""

from __future__ import annotations

from ..context import ProxyContext
from ..spec import Proxy
from ._util import finite, total


def plain(ctx: ProxyContext) -> float:
    grads = ctx.product("loss_grad")
    w = ctx.train_pass.weights
    return finite(total(g * wi for g, wi in zip(grads, w)), "plain")


PROXY = Proxy(
    "plain", plain, needs=frozenset({"loss_grad"}), higher_is_better=True, mode="train",
    needs_targets=True,
    reference="Abdelfattah et al. ICLR 2021; zero-cost-nas measures/plain.py; NASLib copy",
)
