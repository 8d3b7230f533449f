"""ntk: log condition number of the empirical NTK on the batch (TE-NAS).

``G[i] = d sum_c f_c(x_i) / d theta`` over the parameters whose name contains ``weight``
(TE-NAS ``get_ntk_n``: BatchNorm weights included, biases not), one backward per sample
through one train-mode forward of the samples (TE-NAS uses ``train_mode=True``). The NTK
uses the first ``options={"ntk": {"samples": k}}`` samples of the batch (default 16, the
TE-NAS ``--batch_size`` default; ``None`` for all): with the default batch of 32 it runs its
own forward of those 16, with a batch of at most ``k`` it shares the train pass. The NTK is
``Theta = G G^T`` (``N x N``, float64); its eigenvalues come from ``eigvalsh`` and the score is
``log(lambda_max / lambda_min)`` (natural log). TE-NAS reports the condition number itself
and replaces NaN by 1e5; here the log keeps the scale usable and a numerically
singular NTK (``lambda_min`` below ``N * eps * lambda_max``, ``eps`` of the gradient dtype) is
clamped at that tolerance, with a note. Cost: ``k`` backward passes.
Reference: Chen, Gong & Wang, "Neural Architecture Search on ImageNet in Four GPU Hours: A
Theoretically Inspired Perspective", ICLR 2021; ``VITA-Group/TENAS lib/procedures/ntk.py``.
Lower is better.
"""

from __future__ import annotations

import math

import torch

from ..context import ProxyContext
from ..spec import Proxy, ProxyUndefined


def ntk(ctx: ProxyContext) -> float:
    gram = ctx.product("sample_grad_gram")
    n = gram.shape[0]
    if n < 2:
        raise ProxyUndefined("the NTK condition number needs a batch of at least 2 samples")
    if not bool(torch.isfinite(gram).all()):
        raise ProxyUndefined("the per-sample gradients are not finite")
    eig = torch.linalg.eigvalsh(gram)
    lmax = float(eig[-1])
    if lmax <= 0.0:
        raise ProxyUndefined("every per-sample gradient is zero (no signal reaches the output)")
    tol = n * torch.finfo(ctx.x.dtype if ctx.x.is_floating_point() else torch.float32).eps * lmax
    lmin = float(eig[0])
    if lmin < tol:
        ctx.note(f"ntk: NTK numerically singular (lambda_min={lmin:.3g}); clamped to {tol:.3g}")
        lmin = tol
    return math.log(lmax / lmin)


PROXY = Proxy(
    "ntk", ntk, needs=frozenset({"sample_grad_gram"}), higher_is_better=False, mode="train",
    reference="Chen et al. ICLR 2021 (TE-NAS); VITA-Group/TENAS lib/procedures/ntk.py",
)
