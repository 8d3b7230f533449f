"""ntk: log condition number of the empirical NTK on the batch (TE-NAS).

``G[i] = d sum_c f_c(x_i) / d theta`` over the parameters whose name contains ``weight``
(TE-NAS ``get_ntk_n``: BatchNorm weights included, biases not), one backward per sample
through one train-mode forward of the samples (TE-NAS uses ``train_mode=True``). The NTK is
``Theta = G G^T`` (``k x k``, float64); its eigenvalues come from ``eigvalsh`` and the score is
``log(lambda_max / lambda_min)`` (natural log). TE-NAS reports the condition number itself
and replaces NaN by 1e5; here the log keeps the scale usable and a numerically
singular NTK (``lambda_min`` below ``k * eps * lambda_max``, ``eps`` of the gradient dtype) is
clamped at that tolerance, with a note.

Sub-batch (option ``samples``): ``options={"ntk": {"samples": k}}`` uses the first ``k``
samples of the batch; ``None`` uses the whole batch. Default :data:`NTK_SAMPLES` = 16, the
TE-NAS ``prune_tenas.py --batch_size`` default: the NTK costs one backward pass per sample
(``k`` backward passes, the costliest proxy), and its condition number grows with ``k``
(``Theta`` is ``k x k``), so a fixed ``k`` keeps scores comparable across batch sizes.
When ``k`` is smaller than the batch, the NTK runs its own train-mode forward of those ``k``
samples (BatchNorm statistics of the sub-batch, as TE-NAS); otherwise it shares the train
pass. This is documented behaviour, never silent: the result's ``meta`` holds
``{"samples": k, "batch_size": N}`` and its notes say "computed on the first k of the N
samples".
Reference: Chen, Gong & Wang, "Neural Architecture Search on ImageNet in Four GPU Hours: A
Theoretically Inspired Perspective", ICLR 2021; ``VITA-Group/TENAS lib/procedures/ntk.py``.
Lower is better.
"""

from __future__ import annotations

import math
import numbers

import torch

from ..context import ProxyContext
from ..passes import NTK_SAMPLES, ntk_samples
from ..spec import Proxy, ProxyUndefined

__all__ = ["NTK_SAMPLES", "PROXY", "ntk"]


def ntk(ctx: ProxyContext) -> float:
    batch = ctx.x.shape[0]
    ctx.record("samples", ntk_samples(ctx.options.get("ntk", {}), batch))
    ctx.record("batch_size", batch)
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


def _check(opts: dict) -> None:
    k = opts.get("samples", NTK_SAMPLES)
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1):
        raise ValueError(f"ntk option samples must be an integer >= 1 or None (the whole "
                         f"batch), got {k!r}")


PROXY = Proxy(
    "ntk", ntk, needs=frozenset({"sample_grad_gram"}), higher_is_better=False, mode="train",
    options=frozenset({"samples"}), check_options=_check,
    reference="Chen et al. ICLR 2021 (TE-NAS); VITA-Group/TENAS lib/procedures/ntk.py",
)
