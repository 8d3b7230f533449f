"""grasp: ``sum -W * (H g)`` over the scored layers' weights, ``g = dL/dW``.

``H g`` is the Hessian-gradient product, obtained by differentiating ``sum(g.detach() * g)``
(``g`` computed with ``create_graph=True``) w.r.t. the weights. Sign convention as in
NASLib / zero-cost-nas (``-theta * Hg``: "accuracy seems to be negatively correlated with
this metric, so we add -ve sign"); the original GraSP prunes the *lowest* ``-theta Hg``.
Train mode, mean-reduced loss, temperature 1, one iteration. The value varies a lot across
initialisation seeds. Reference: Wang et al., "Picking Winning Tickets Before
Training by Preserving Gradient Flow", ICLR 2020; ``foresight/pruners/measures/grasp.py``;
NASLib ``measures/grasp.py``. Higher is better.
"""

from __future__ import annotations

from ..context import ProxyContext
from ..spec import Proxy
from ._util import finite, total


def grasp(ctx: ProxyContext) -> float:
    hg = ctx.product("hessian_grad")
    w = ctx.train_pass.weights
    return finite(total(-wi * h for wi, h in zip(w, hg)), "grasp")


PROXY = Proxy(
    "grasp", grasp, needs=frozenset({"loss_grad", "hessian_grad"}), higher_is_better=True,
    mode="train", needs_targets=True,
    reference="Wang et al. ICLR 2020; zero-cost-nas measures/grasp.py; NASLib measures/grasp.py",
)
