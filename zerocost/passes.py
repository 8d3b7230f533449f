"""The shared train-mode pass: one forward, then only the backward passes that are needed.

Which proxies use which product (all in train mode, as NASLib's copies of the network are,
so BatchNorm uses batch statistics):

=================  ======================================================  ==============
product            computed as                                             used by
=================  ======================================================  ==============
relu_kernel        forward pre-hooks on activation modules                 nwot
input_grad         ``autograd.grad(output.sum(), x)``                      jacov, epe_nas
sample_grad_gram   ``autograd.grad(output[i].sum(), weights)`` for each i  ntk
loss_grad          ``autograd.grad(loss, layer weights)``                  grad_norm, snip,
                                                                           plain, grasp
act_grad           same call, also w.r.t. the scored layers' outputs       fisher
hessian_grad       ``autograd.grad(sum(g.detach() * g), weights)`` with    grasp
                   ``g`` from a ``create_graph=True`` loss gradient
=================  ======================================================  ==============

Computing them from one forward gives the same numbers as NASLib's separate passes (each
proxy there re-runs the same deterministic train-mode forward on a fresh copy). The pass
never splits the batch, so no score depends on available memory.
"""

from __future__ import annotations

import logging
import time

import torch
from torch import autograd, nn

from .context import ProxyContext, TrainPass
from .layers import OTHER_ACTIVATIONS, RELU_FAMILY, select_layers

log = logging.getLogger(__name__)

#: Samples used for the NTK by default (TE-NAS ``prune_tenas.py --batch_size`` default 16):
#: the NTK needs one backward pass per sample, so it is the costliest proxy.
NTK_SAMPLES = 16


def forward(net: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    """``net(x)``, checking that the output is one tensor; errors name the pass."""
    try:
        out = net(x)
    except (MemoryError, torch.OutOfMemoryError):
        raise
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        if is_oom(exc):
            raise
        raise ValueError(
            f"the model's forward pass failed in the {what} (input {tuple(x.shape)}, "
            f"dtype {x.dtype}): {exc}"
            + (" -- BatchNorm in train mode needs a batch of at least 2 samples"
               if "more than 1 value per channel" in str(exc) else "")
        ) from exc
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"the model returned a {type(out).__name__}, not a tensor; wrap it so that "
            "forward(x) returns the output tensor (e.g. the logits)"
        )
    return out


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error (CUDA or CPU allocator)."""
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
        or "DefaultCPUAllocator" in text
    )


def _activation_modules(net: nn.Module, types: tuple | None) -> tuple[list[nn.Module], str]:
    if types is not None:
        mods = [m for m in net.modules() if isinstance(m, tuple(types))]
        return mods, "given activations"
    mods = [m for m in net.modules() if isinstance(m, RELU_FAMILY)]
    if mods:
        return mods, "ReLU"
    mods = [m for m in net.modules() if isinstance(m, OTHER_ACTIVATIONS)]
    return mods, "non-ReLU activations (" + ", ".join(
        sorted({type(m).__name__ for m in mods})) + ")"


#: Stages of the train pass -> the products whose proxies share the stage's time.
STAGES: dict[str, frozenset[str]] = {
    "forward": frozenset({"output", "relu_kernel", "input_grad", "sample_grad_gram",
                          "loss_grad", "act_grad", "hessian_grad"}),
    "input_grad": frozenset({"input_grad"}),
    "sample_grad_gram": frozenset({"sample_grad_gram"}),
    "loss_grad": frozenset({"loss_grad", "act_grad", "hessian_grad"}),
    "hessian_grad": frozenset({"hessian_grad"}),
}


def run_train_pass(ctx: ProxyContext, needs: set[str]) -> TrainPass:
    """Compute the products in ``needs`` on a train-mode copy of ``ctx.model``.

    ``tp.stage_seconds`` records the wall time of each stage of :data:`STAGES` that ran.
    """
    tp = TrainPass()
    clock = time.perf_counter()
    net = ctx.copy_model(train=True)
    layers = select_layers(net, ctx.layers)
    tp.layer_names = [n for n, _ in layers]
    weights = [m.weight for _, m in layers]
    tp.weights = [w.detach() for w in weights]
    x = ctx.x.detach().clone()
    if x.is_floating_point():
        x.requires_grad_("input_grad" in needs)
    elif "input_grad" in needs:
        tp.undefined["input_grad"] = (f"the input has dtype {x.dtype}; the input Jacobian needs "
                                      "floating-point inputs")
    loss_products = {"loss_grad", "act_grad", "hessian_grad"} & needs
    if loss_products and not layers:
        for p in loss_products:
            tp.undefined[p] = "the model has no scored layer (see the `layers` argument)"

    handles = []
    kernel = {"K": None, "calls": 0}
    acts: list[tuple[str, int, torch.Tensor]] = []

    def code_hook(module: nn.Module, args: tuple) -> None:
        inp = args[0] if args else None
        if not isinstance(inp, torch.Tensor) or inp.ndim == 0:
            return
        c = (inp.detach().reshape(inp.shape[0], -1) > 0).to(torch.float64)
        k = c @ c.T + (1.0 - c) @ (1.0 - c).T
        kernel["K"] = k if kernel["K"] is None else kernel["K"] + k
        kernel["calls"] += 1

    def act_hook(module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
        # keep the layer's own output and hand a clone downstream, so that later in-place
        # ops (ReLU(inplace=True)) cannot change the tensor we differentiate against
        kind = "linear" if isinstance(module, nn.Linear) else "conv"
        acts.append((kind, module.weight.shape[1:].numel(), out))
        return out.clone()

    try:
        if "relu_kernel" in needs:
            mods, kind = _activation_modules(net, ctx.options.get("nwot", {}).get("activations"))
            for m in mods:
                handles.append(m.register_forward_pre_hook(code_hook))
            if kind != "ReLU" and mods:
                tp.notes.append(f"nwot: no ReLU module, binarised the inputs of {kind}")
        if "act_grad" in needs:
            for _, m in layers:
                handles.append(m.register_forward_hook(act_hook))
        out = forward(net, x, "train-mode pass")
    finally:
        for h in handles:
            h.remove()
    tp.output = out.detach()
    n = x.shape[0]
    clock = _lap(tp, "forward", clock)

    if "relu_kernel" in needs:
        tp.relu_modules = kernel["calls"]
        if kernel["K"] is None:
            tp.undefined["relu_kernel"] = (
                "no activation module (ReLU family or other nn activations) was called in the "
                "forward pass; functional activations (F.relu) cannot be hooked")
        else:
            tp.relu_kernel = kernel["K"]

    retain = True  # later products reuse the graph; it is freed when `out` goes out of scope
    if "input_grad" in needs and "input_grad" not in tp.undefined:
        if not out.requires_grad:
            tp.input_grad = torch.zeros_like(x)
            tp.notes.append("the output does not depend on the input: input Jacobian is 0")
        else:
            (g,) = autograd.grad(out.sum(), x, retain_graph=retain, allow_unused=True)
            tp.input_grad = torch.zeros_like(x) if g is None else g.detach()
        clock = _lap(tp, "input_grad", clock)

    if "sample_grad_gram" in needs:
        k = ctx.options.get("ntk", {}).get("samples", NTK_SAMPLES)
        k = n if k is None else int(k)
        if k < 1:
            raise ValueError(f"ntk samples must be >= 1, got {k}")
        if k < n:  # TE-NAS-size sub-batch: its own forward (BN statistics of these samples)
            tp.notes.append(f"ntk: computed on the first {k} of the {n} samples")
            sub = forward(net, ctx.x[:k].detach().clone(), "ntk pass")
            tp.sample_gram = _sample_grad_gram(net, sub, k, tp)
            del sub
        else:
            tp.sample_gram = _sample_grad_gram(net, out, n, tp)
        clock = _lap(tp, "sample_grad_gram", clock)

    if loss_products and not (loss_products & set(tp.undefined)):
        _loss_products(ctx, tp, out, weights, acts, needs, clock)
    return tp


def _lap(tp: TrainPass, stage: str, start: float) -> float:
    now = time.perf_counter()
    tp.stage_seconds[stage] = tp.stage_seconds.get(stage, 0.0) + now - start
    return now


def _sample_grad_gram(net: nn.Module, out: torch.Tensor, n: int, tp: TrainPass) -> torch.Tensor:
    """Gram matrix of per-sample gradients of ``sum_c out[i, c]`` (TE-NAS ``get_ntk_n``)."""
    params = [p for name, p in net.named_parameters() if "weight" in name]
    gram = torch.zeros(n, n, dtype=torch.float64, device=out.device)
    if not params or not out.requires_grad:
        tp.undefined["sample_grad_gram"] = "no parameter named *weight* reaches the output"
        return gram
    rows = []
    for i in range(n):
        grads = autograd.grad(out[i].sum(), params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]
                              or [out.new_zeros(1)]))
    g = torch.stack(rows)  # (n, n_weights)
    step = max(1, (1 << 22) // max(n, 1))  # column blocks keep the float64 copy small
    for a in range(0, g.shape[1], step):
        b = g[:, a:a + step].to(torch.float64)
        gram += b @ b.T
    return gram


def _loss_products(ctx: ProxyContext, tp: TrainPass, out: torch.Tensor,
                   weights: list[torch.Tensor], acts: list[tuple[str, int, torch.Tensor]],
                   needs: set[str], clock: float) -> None:
    y = ctx.y
    if ctx.default_batch and out.ndim == 2 and y is not None and int(y.max()) >= out.shape[1]:
        y = y % out.shape[1]
        tp.notes.append(f"default digits labels folded modulo the model's {out.shape[1]} outputs")
    try:
        loss = ctx.loss_fn(out, y)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        if is_oom(exc):
            raise
        raise ValueError(
            f"loss_fn(output, targets) failed for output {tuple(out.shape)} {out.dtype} and "
            f"targets {tuple(y.shape)} {y.dtype}: {exc}. Pass a loss_fn matching the task."
        ) from exc
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"loss_fn must return a scalar tensor, got "
                         f"{getattr(loss, 'shape', type(loss).__name__)}")
    loss = loss.reshape(())
    tp.loss = float(loss.detach())
    products = {"loss_grad", "act_grad", "hessian_grad"} & needs
    if not torch.isfinite(loss):
        for p in products:
            tp.undefined[p] = f"the loss on the batch is {tp.loss}"
        return
    if not loss.requires_grad:
        tp.loss_grads = [torch.zeros_like(w) for w in tp.weights]
        tp.hessian_grads = [torch.zeros_like(w) for w in tp.weights]
        tp.act_grads = [(k, f, a.detach(), torch.zeros_like(a)) for k, f, a in acts]
        tp.notes.append("the loss does not depend on any parameter: gradients are 0")
        return
    hess = "hessian_grad" in needs
    act_tensors = [a for _, _, a in acts] if "act_grad" in needs else []
    grads = autograd.grad(loss, weights + act_tensors, create_graph=hess, retain_graph=True,
                          allow_unused=True)
    wgrads = list(grads[:len(weights)])
    tp.loss_grads = [torch.zeros_like(w) if g is None else g.detach()
                     for w, g in zip(tp.weights, wgrads)]
    clock = _lap(tp, "loss_grad", clock)
    if act_tensors:
        tp.act_grads = [
            (k, f, a.detach(), torch.zeros_like(a) if g is None else g.detach())
            for (k, f, a), g in zip(acts, grads[len(weights):])
        ]
    if hess:
        z = sum((g.detach() * g).sum() for g in wgrads if g is not None and g.requires_grad)
        if isinstance(z, torch.Tensor) and z.requires_grad:
            hg = autograd.grad(z, weights, allow_unused=True)
            tp.hessian_grads = [torch.zeros_like(w) if h is None else h.detach()
                                for w, h in zip(tp.weights, hg)]
        else:  # the loss is linear in every weight: H g = 0
            tp.hessian_grads = [torch.zeros_like(w) for w in tp.weights]
        _lap(tp, "hessian_grad", clock)
