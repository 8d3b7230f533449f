"""flops: operation count of one forward pass on one sample, in millions.

Counted with forward hooks, per call, with the rules of ``tensorwatch``'s ``ModelStats``
(used by NASLib for the NAS-Bench-Suite-Zero ``flops`` field, which this reproduces exactly on
NB201):

* ConvNd: ``out_positions * in_channels * out_channels / groups * prod(kernel)`` multiply-adds,
  plus one per output element for the bias;
* Linear: ``in_features * out_features`` per input row (no bias term);
* BatchNormNd: 2 per element if affine, else 1;
* AvgPool / MaxPool: ``prod(kernel)`` per output element;
* AdaptiveAvg/MaxPool: ``sum over output cells of (cell_h + 1) * (cell_w + 1)`` per channel
  (tensorwatch's formula, off by one per side);
* ReLU, ReLU6, PReLU, ELU, LeakyReLU: 1 per element; Upsample: 1 per output element;
* MultiheadAttention (not in tensorwatch; added so attention is visible): the four
  projections plus the two ``L x S x E`` attention products.

Everything else (element-wise sums, functional calls, LayerNorm, GELU, ...) counts 0, as in
tensorwatch. Eval mode, batch of one sample (the first of the batch), no gradients. Higher is
better (as a proxy).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..context import ProxyContext
from ..passes import forward
from ..spec import Proxy


def _conv(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    positions = out.shape[0] * math.prod(out.shape[2:])
    n = positions * x.shape[1] * (m.out_channels // m.groups) * math.prod(m.kernel_size)
    return n + (out.numel() if m.bias is not None else 0)


def _linear(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    return math.prod(x.shape[:-1]) * m.in_features * m.out_features


def _bn(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    return x.numel() * (2 if m.affine else 1)


def _pool(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    k = m.kernel_size
    dims = out.ndim - 2
    kernel = (k,) * dims if isinstance(k, int) else tuple(k)
    return out.numel() * math.prod(kernel)


def _adaptive_pool(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    per_channel = 1
    for size_in, size_out in zip(x.shape[2:], out.shape[2:]):
        span = 0
        for i in range(size_out):
            start = math.floor(i * size_in / size_out)
            end = math.ceil((i + 1) * size_in / size_out)
            span += end - start + 1
        per_channel *= span
    return x.shape[0] * x.shape[1] * per_channel


def _elementwise_in(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    return x.numel()


def _elementwise_out(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    return out.numel()


def _mha(m: nn.Module, args: tuple, out: torch.Tensor) -> int:
    q, k = args[0], args[1] if len(args) > 1 else args[0]
    if m.batch_first or q.ndim == 2:
        lq, lk = q.shape[-2], k.shape[-2]
    else:
        lq, lk = q.shape[0], k.shape[0]
    batch = q.numel() // (lq * q.shape[-1])
    e = m.embed_dim
    proj = lq * e * e + lk * e * m.kdim + lk * e * m.vdim + lq * e * e
    return batch * (proj + 2 * lq * lk * e)


#: module type -> count(module, input, output); checked in order with isinstance.
RULES: dict[type[nn.Module], Callable[..., int]] = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv,
    nn.Linear: _linear,
    _BatchNorm: _bn,
    nn.AvgPool1d: _pool, nn.AvgPool2d: _pool, nn.AvgPool3d: _pool,
    nn.MaxPool1d: _pool, nn.MaxPool2d: _pool, nn.MaxPool3d: _pool,
    nn.AdaptiveAvgPool1d: _adaptive_pool, nn.AdaptiveAvgPool2d: _adaptive_pool,
    nn.AdaptiveAvgPool3d: _adaptive_pool, nn.AdaptiveMaxPool1d: _adaptive_pool,
    nn.AdaptiveMaxPool2d: _adaptive_pool, nn.AdaptiveMaxPool3d: _adaptive_pool,
    nn.ReLU: _elementwise_in, nn.ReLU6: _elementwise_in, nn.PReLU: _elementwise_in,
    nn.ELU: _elementwise_in, nn.LeakyReLU: _elementwise_in,
    nn.Upsample: _elementwise_out,
}


def _rule(m: nn.Module) -> Callable[..., int] | None:
    for t, fn in RULES.items():
        if isinstance(m, t):
            return fn
    return None


def count_flops(net: nn.Module, x: torch.Tensor) -> int:
    """Operations of ``net(x)`` by the rules above (``net`` is run as given)."""
    total = 0

    def hook(m: nn.Module, args: tuple, out: object) -> None:
        nonlocal total
        if isinstance(m, nn.MultiheadAttention):
            total += _mha(m, args, out)
            return
        inp = args[0] if args else None
        o = out[0] if isinstance(out, tuple) else out
        if isinstance(inp, torch.Tensor) and isinstance(o, torch.Tensor):
            total += int(_rule(m)(m, inp, o))

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, nn.MultiheadAttention) or _rule(m) is not None]
    try:
        with torch.no_grad():
            forward(net, x, "flops pass")
    finally:
        for h in handles:
            h.remove()
    return total


def flops(ctx: ProxyContext) -> float:
    net = ctx.copy_model(train=False)
    return count_flops(net, ctx.x[:1]) / 1e6


PROXY = Proxy("flops", flops, higher_is_better=True, mode="eval",
              reference="NAS-Bench-Suite-Zero flops (tensorwatch ModelStats.Flops / 1e6)")
