"""zen: Zen-score, ``log E|F(x) - F(x + g x')| + sum_BN log sqrt(mean running_var)``.

On a copy of the network re-initialised as Zen-NAS does (Conv/Linear weights ~ N(0, 1),
biases 0, BatchNorm/GroupNorm weight 1 and bias 0), two Gaussian inputs ``x, x'`` of the
batch's shape (the data is not used, only its shape) give the feature map ``F`` before global
pooling; the score is ``log(mean_n sum |F(x) - F(x + 0.01 x')|)`` plus, for every BatchNorm
with running statistics, ``log sqrt(mean(running_var))`` read after the two train-mode
forwards (BatchNorm modules without running statistics are skipped). ``F`` is,
in order: ``options={"zen": {"feature_fn": f}}`` (``f(net, x) -> Tensor``), the model's
``forward_before_global_avg_pool`` or ``forward_features`` method, the input of its last
adaptive pooling module, or (with a note) the output. Train mode, no gradients, seeded.
Options: ``mixup_gamma`` (0.01), ``repeat`` (1). Reference: Lin et al., "Zen-NAS: A Zero-Shot
NAS for High-Performance Deep Image Recognition", ICCV 2021; ``idstcv/ZenNAS``; NASLib
``measures/zen.py``. Higher is better.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..context import ProxyContext
from ..passes import forward
from ..spec import Proxy, ProxyUndefined

_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
          nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)


def gaussian_init(net: nn.Module, generator: torch.Generator) -> None:
    """Zen-NAS's ``network_weight_gaussian_init``, seeded."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
                m.weight.normal_(0.0, 1.0, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)) and m.weight is not None:
                m.weight.fill_(1.0)
                m.bias.zero_()


def feature_extractor(ctx: ProxyContext, net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> F(x)``: the feature map before global pooling (see the module docstring)."""
    fn = ctx.option("feature_fn")
    if fn is not None:
        return lambda x: fn(net, x)
    for name in ("forward_before_global_avg_pool", "forward_features"):
        if callable(getattr(net, name, None)):
            return getattr(net, name)
    pools = [m for m in net.modules() if isinstance(m, _POOLS)]
    if pools:
        pool = pools[-1]

        def via_hook(x: torch.Tensor) -> torch.Tensor:
            seen: list[torch.Tensor] = []
            h = pool.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
            try:
                forward(net, x, "zen pass")
            finally:
                h.remove()
            if not seen:
                raise ProxyUndefined("zen: the last adaptive pooling module was not called")
            return seen[-1]
        return via_hook
    ctx.note("zen: no feature map before global pooling found; used the model output")
    return lambda x: forward(net, x, "zen pass")


def zen(ctx: ProxyContext) -> float:
    if not ctx.x.is_floating_point():
        raise ProxyUndefined(f"zen needs a floating-point input, got {ctx.x.dtype}")
    gamma = float(ctx.option("mixup_gamma", 1e-2))
    repeat = int(ctx.option("repeat", 1))
    gen = torch.Generator(device=ctx.device).manual_seed(ctx.seed)
    scores = []
    for _ in range(repeat):
        net = ctx.copy_model(train=True)
        gaussian_init(net, gen)
        features = feature_extractor(ctx, net)
        shape, dt = ctx.x.shape, ctx.x.dtype
        x1 = torch.randn(shape, generator=gen, device=ctx.device, dtype=dt)
        x2 = torch.randn(shape, generator=gen, device=ctx.device, dtype=dt)
        with torch.no_grad():
            f1 = features(x1)
            f2 = features(x1 + gamma * x2)
            diff = (f1 - f2).abs().to(torch.float64)
            delta = float(diff.reshape(diff.shape[0], -1).sum(1).mean())
            log_bn = 0.0
            for m in net.modules():
                if isinstance(m, _BatchNorm) and m.running_var is not None:
                    log_bn += math.log(math.sqrt(float(m.running_var.to(torch.float64).mean())))
        if not math.isfinite(delta) or delta <= 0.0:
            raise ProxyUndefined(f"zen: the feature difference is {delta} (no signal, or an "
                                 "overflow with Gaussian weights)")
        if not math.isfinite(log_bn):
            raise ProxyUndefined("zen: a BatchNorm running variance is 0 or not finite")
        scores.append(math.log(delta) + log_bn)
    return sum(scores) / len(scores)


def _check(opts: dict) -> None:
    if "feature_fn" in opts and opts["feature_fn"] is not None \
            and not callable(opts["feature_fn"]):
        raise ValueError("zen option feature_fn must be a callable f(net, x) -> Tensor")
    if "repeat" in opts and (isinstance(opts["repeat"], bool)
                             or not isinstance(opts["repeat"], int) or opts["repeat"] < 1):
        raise ValueError(f"zen option repeat must be an integer >= 1, got {opts['repeat']!r}")
    if "mixup_gamma" in opts:
        g = opts["mixup_gamma"]
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not g > 0:
            raise ValueError(f"zen option mixup_gamma must be a number > 0, got {g!r}")


PROXY = Proxy(
    "zen", zen, higher_is_better=True, mode="train",
    options=frozenset({"feature_fn", "mixup_gamma", "repeat"}), check_options=_check,
    reference="Lin et al. ICCV 2021 (Zen-NAS); idstcv/ZenNAS; NASLib measures/zen.py",
)
