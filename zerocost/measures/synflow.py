"""synflow: ``log sum |theta * dR/dtheta|`` with ``R = sum f_|theta|(1)``, in float64.

On a float64 copy of the network whose parameters are replaced by their absolute values
(parameters only; buffers such as BN running statistics are left alone), the all-ones input
of one sample (shape of one batch item) is propagated, ``R = sum(output)`` is
back-propagated, and ``sum |theta * dR/dtheta|`` is taken over the scored layers' weights
(Conv/Linear, as NASLib's ``get_layer_metric_array``). The score is the natural log of that
sum, as stored by NAS-Bench-Suite-Zero (NASLib's ``ZeroCost.query`` applies ``log``); the
raw sums span 1e30..1e60 and overflow float32.

BatchNorm: by default every BatchNorm module is bypassed (its output replaced by its input),
as NASLib's ``synflow`` (``bn=False``) that produced the benchmark values; with
``options={"synflow": {"bn": True}}`` BatchNorm is kept in eval mode with its current
running statistics, as in the Synaptic Flow code (``model.eval()``), which at initialisation
is close to the identity. The copy runs in eval mode (dropout off); never train-mode BN on a
batch of one. The caller's model is never touched. A sum of 0 (no path
carries signal) or an overflow gives NaN with the reason. Reference: Tanaka et al., "Pruning
neural networks without any data by iteratively conserving synaptic flow", NeurIPS 2020;
``foresight/pruners/measures/synflow.py``; NASLib ``measures/synflow.py``. Higher is better.
"""

from __future__ import annotations

import math

import torch
from torch import autograd, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..context import ProxyContext
from ..layers import select_layers
from ..passes import differentiable_kernels, forward
from ..spec import Proxy, ProxyUndefined


def _bypass(module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
    return args[0]


def synflow_sum(ctx: ProxyContext, bn: bool = False) -> float:
    """The raw (not logged) synflow sum, float64."""
    if not ctx.x.is_floating_point():
        raise ProxyUndefined(f"synflow needs a floating-point input, got {ctx.x.dtype}")
    net = ctx.copy_model(dtype=torch.float64, train=False)
    with differentiable_kernels(net, ctx.device, eval_backward=True):
        return _synflow_sum(ctx, net, bn)


def _synflow_sum(ctx: ProxyContext, net: nn.Module, bn: bool) -> float:
    handles = []
    try:
        if not bn:
            handles = [m.register_forward_hook(_bypass) for m in net.modules()
                       if isinstance(m, _BatchNorm)]
        with torch.no_grad():
            for p in net.parameters():
                p.abs_()
        x = torch.ones((1, *ctx.x.shape[1:]), dtype=torch.float64, device=ctx.device)
        out = forward(net, x, "synflow pass")
    finally:
        for h in handles:
            h.remove()
    layers = select_layers(net, ctx.layers)
    if not layers:
        raise ProxyUndefined("the model has no scored layer (see the `layers` argument)")
    if not out.requires_grad:
        return 0.0
    weights = [m.weight for _, m in layers]
    grads = autograd.grad(out.sum(), weights, allow_unused=True)
    s = 0.0
    for w, g in zip(weights, grads):
        if g is not None:
            s += float((w.detach() * g).abs().sum())
    return s


def synflow(ctx: ProxyContext) -> float:
    s = synflow_sum(ctx, bn=bool(ctx.option("bn", False)))
    if math.isinf(s) or math.isnan(s):
        raise ProxyUndefined(f"the synflow sum overflows even in float64 ({s})")
    if s <= 0.0:
        raise ProxyUndefined("the synflow sum is 0: no input-output path carries signal "
                             "(e.g. all cells are 'none'), so its log is undefined")
    return math.log(s)


def _check(opts: dict) -> None:
    if "bn" in opts and not isinstance(opts["bn"], bool):
        raise ValueError(f"synflow option bn must be True or False, got {opts['bn']!r}")


PROXY = Proxy(
    "synflow", synflow, higher_is_better=True, mode="eval",
    options=frozenset({"bn"}), check_options=_check,
    reference="Tanaka et al. NeurIPS 2020; zero-cost-nas measures/synflow.py; NASLib synflow.py",
)
