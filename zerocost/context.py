"""What a proxy function receives: the batch, the settings and the shared pass products."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .layers import LayerSpec
from .spec import ProxyUndefined


@dataclass
class TrainPass:
    """Products of the shared train-mode pass (one forward, then only the backward passes
    that the requested proxies need). All tensors are detached.

    Attributes
    ----------
    output : Tensor
        Network output on the batch, ``(N, ...)``.
    relu_kernel : Tensor or None
        NWOT kernel ``sum_a [c_a c_a^T + (1 - c_a)(1 - c_a)^T]``, float64 ``(N, N)``, where
        ``c_a`` are the binary codes (pre-activation > 0) of activation module ``a``.
    relu_modules : int
        Number of activation-module calls that entered the kernel.
    input_grad : Tensor or None
        ``d sum(output) / d x``, shape of the batch (jacov, epe_nas).
    layer_names : list of str
        Scored layers (see :func:`nasperf.zerocost.layers.select_layers`).
    weights, loss_grads, hessian_grads : list of Tensor
        Per scored layer: the weight, ``dL/dW`` and ``H dL/dW`` (GraSP's Hessian-gradient
        product; ``None`` when not requested). A layer the loss does not reach has zeros.
    act_grads : list of (kind, fan_in, act, grad)
        Per call of a scored layer: ``kind`` is ``"linear"`` (channels last) or ``"conv"``
        (channels at dim 1), ``fan_in`` the number of weights per output channel
        (``weight.shape[1:].numel()``), its output and ``dL/d output`` (fisher).
    sample_gram : Tensor or None
        Float64 ``(N, N)`` Gram matrix of per-sample gradients ``d sum_c f_c(x_i) / d theta``
        over parameters whose name contains ``weight`` (TE-NAS NTK).
    loss : float or None
    undefined : dict
        Product name -> reason, for products that cannot be computed for this net/batch.
    failed : dict
        Product name -> exception type name, for the products of :attr:`undefined` whose
        stage raised (e.g. a double backward the model's ops do not support) rather than
        being mathematically undefined.
    notes : list of str
    stage_seconds : dict
        Wall time of each stage that ran (see :data:`nasperf.zerocost.passes.STAGES`).
    released : set of str
        Products freed by :meth:`release` once every proxy using them was scored (their
        attributes are ``None``).
    """

    output: torch.Tensor | None = None
    relu_kernel: torch.Tensor | None = None
    relu_modules: int = 0
    input_grad: torch.Tensor | None = None
    layer_names: list[str] = field(default_factory=list)
    weights: list[torch.Tensor] = field(default_factory=list)
    loss_grads: list[torch.Tensor] | None = None
    hessian_grads: list[torch.Tensor] | None = None
    act_grads: list[tuple[str, int, torch.Tensor, torch.Tensor]] | None = None
    sample_gram: torch.Tensor | None = None
    loss: float | None = None
    undefined: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)

    def release(self, products: Iterable[str]) -> None:
        """Free the tensors of ``products`` (names as in :meth:`ProxyContext.product`;
        ``output`` is kept); reading one later raises a ``RuntimeError`` saying so."""
        for name in products:
            if name in _PRODUCT_ATTR and name != "output":
                setattr(self, _PRODUCT_ATTR[name], None)
                self.released.add(name)


_PRODUCT_ATTR = {
    "output": "output",
    "relu_kernel": "relu_kernel",
    "input_grad": "input_grad",
    "loss_grad": "loss_grads",
    "act_grad": "act_grads",
    "hessian_grad": "hessian_grads",
    "sample_grad_gram": "sample_gram",
}


@dataclass
class ProxyContext:
    """Everything a proxy function may use. ``model`` is the caller's model: read it, never
    modify it; use :meth:`copy_model` for anything that runs or changes the network."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor | None
    device: torch.device
    seed: int = 0
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    layers: LayerSpec = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_batch: bool = False
    train_pass: TrainPass | None = None
    current: str = ""
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str, default: Any = None) -> Any:
        """Option ``key`` of the proxy being computed (``options={name: {key: value}}``)."""
        return self.options.get(self.current, {}).get(key, default)

    def note(self, message: str) -> None:
        """Attach a note to the current proxy's result."""
        self.notes.append(message)

    def record(self, key: str, value: Any) -> None:
        """Record ``key: value`` in the current proxy's result metadata (``ProxyResult.meta``),
        e.g. the sub-batch size a proxy used."""
        self.meta[key] = value

    def product(self, name: str) -> Any:
        """A product of the shared train pass, or :class:`ProxyUndefined` with the reason."""
        tp = self.train_pass
        if tp is None:
            raise RuntimeError(f"proxy {self.current!r} read {name!r} but no train pass ran; "
                               "declare it in the proxy's `needs`")
        if name in tp.undefined:
            if name in tp.failed:
                raise ProductFailed(tp.undefined[name], tp.failed[name])
            raise ProxyUndefined(tp.undefined[name])
        value = getattr(tp, _PRODUCT_ATTR[name])
        if value is None and name in tp.released:
            raise RuntimeError(f"proxy {self.current!r} read {name!r}, which the train pass "
                               "already released after scoring the proxies that need it")
        if value is None:
            raise RuntimeError(f"proxy {self.current!r} read {name!r}, which the train pass "
                               "did not compute; declare it in the proxy's `needs`")
        return value

    def copy_model(self, dtype: torch.dtype | None = None, train: bool = True) -> nn.Module:
        """A deep copy of the model on ``self.device`` (optionally cast to ``dtype``), in
        train or eval mode, every parameter requiring grad and without ``.grad``."""
        return copy_model(self.model, self.device, dtype=dtype, train=train)

    def input_dtype(self) -> torch.dtype:
        return self.x.dtype


class ProductFailed(ProxyUndefined):  # noqa: N818 - a signal like ProxyUndefined
    """A shared-pass product the proxy needs could not be computed because its stage raised
    (``error`` is the exception type name); the proxy is NaN and counted as failed."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(reason)
        self.error = error


def copy_model(model: nn.Module, device: torch.device, dtype: torch.dtype | None = None,
               train: bool = True) -> nn.Module:
    """See :meth:`ProxyContext.copy_model`."""
    try:
        net = copy.deepcopy(model)
    except Exception as exc:  # deepcopy raises many types (TypeError, PicklingError, ...)
        raise ValueError(
            f"cannot deep-copy the model ({type(model).__name__}): {exc}. The proxies never "
            "run on the caller's model; make it deep-copyable."
        ) from exc
    net = net.to(device)
    if dtype is not None:
        net = net.to(dtype)
    for p in net.parameters():
        p.grad = None
        p.requires_grad_(True)
    net.train(train)
    return net
