"""snip: connection sensitivity ``sum |dL/dW * W|`` over the scored layers' weights.

NASLib / zero-cost-nas compute the gradient w.r.t. a multiplicative mask of ones, which equals
``W * dL/dW``; the absolute value is summed over all weights. Train mode, mean-reduced loss.
Reference: Lee et al., "SNIP: Single-shot Network Pruning", ICLR 2019;
``foresight/pruners/measures/snip.py``; NASLib ``measures/snip.py``. Higher is better.
"""

from __future__ import annotations

from ..context import ProxyContext
from ..spec import Proxy
from ._util import finite, total


def snip(ctx: ProxyContext) -> float:
    grads = ctx.product("loss_grad")
    w = ctx.train_pass.weights
    return finite(total((g * wi).abs() for g, wi in zip(grads, w)), "snip")


PROXY = Proxy(
    "snip", snip, needs=frozenset({"loss_grad"}), higher_is_better=True, mode="train",
    needs_targets=True,
    reference="Lee et al. ICLR 2019; zero-cost-nas measures/snip.py; NASLib measures/snip.py",
)
