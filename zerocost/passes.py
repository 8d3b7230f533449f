"""The shared train-mode pass: one forward, then only the backward passes that are needed.

Which proxies use which product (all in train mode, as NASLib's copies of the network are,
so BatchNorm uses batch statistics):

=================  ======================================================  ==============
product            computed as                                             used by
=================  ======================================================  ==============
relu_kernel        forward pre-hooks on activation modules (or a           nwot
                   ``TorchFunctionMode`` on functional activation calls)
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

Memory. Every step below changes when memory is freed, never what is computed, so each
value is bit for bit that of the proxy computed alone:

* fisher's layer outputs are recorded as they are (the tensor the next op saves anyway),
  not cloned; only when a later in-place op (``ReLU(inplace=True)`` right after a scored
  layer) changed one of them is the forward re-run, on a fresh copy from the same RNG
  state, with clones handed downstream;
* the graph is retained only while a later stage differentiates through it: without grasp
  the loss backward is its last use and frees it as it runs;
* with grasp, ``before_hessian`` (the caller, :func:`~nasperf.zerocost.compute_proxies`)
  scores the first-order proxies once their products are final, and the products no
  remaining proxy needs (``act_grad``, ``input_grad``, ``relu_kernel``,
  ``sample_grad_gram``) are freed, with the recorded layer outputs, before the double
  backward, the stage of the peak;
* :func:`trim_heap` returns the freed memory to the operating system before the double
  backward (glibc keeps freed tensors in a fragmented heap, so without it the resident
  memory of the first-order stages carries into the double backward), and
  :func:`~nasperf.zerocost.compute_proxies` calls it after each call (``trim_memory``).

Failures: the forward (and the loss) failing raises
:class:`~nasperf.zerocost.spec.ProxyComputationError` (no proxy of the pass can be computed).
A backward stage that raises (e.g. an op without a double backward in the Hessian-gradient
stage) marks only its products undefined (``tp.undefined`` with the exception in the reason,
``tp.failed`` with its type); the other stages still run. Out-of-memory errors propagate.

Kernels: a pass that differentiates twice (grasp's Hessian-gradient product) runs under
:func:`differentiable_kernels`: scaled-dot-product attention uses its math backend (the
fused CPU/CUDA kernels have no double backward) and, on CUDA, cuDNN is disabled for
networks with recurrent layers (cuDNN RNNs support neither double backward nor a backward
in eval mode). Both settings are restored on exit; convolutional networks without attention
or RNNs compute exactly the same values.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import autograd, nn
from torch.overrides import TorchFunctionMode

from .context import ProxyContext, TrainPass
from .layers import (
    FUNCTIONAL_OTHER,
    FUNCTIONAL_RELU,
    OTHER_ACTIVATIONS,
    RELU_FAMILY,
    select_layers,
)
from .spec import ProxyComputationError

log = logging.getLogger(__name__)

#: Samples used for the NTK by default (TE-NAS ``prune_tenas.py --batch_size`` default 16):
#: the NTK needs one backward pass per sample, so it is the costliest proxy.
NTK_SAMPLES = 16


def ntk_samples(opts: Mapping[str, Any], n: int) -> int:
    """Samples the NTK uses for a batch of ``n``: ``min(opts["samples"], n)`` (default
    :data:`NTK_SAMPLES`; ``None`` for the whole batch)."""
    k = opts.get("samples", NTK_SAMPLES)
    return n if k is None else min(int(k), n)


def forward(net: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    """``net(x)``, checking that the output is one tensor; errors name the pass.

    Raises
    ------
    ProxyComputationError
        The forward raised (any exception but out-of-memory, which propagates), with the
        original exception as ``__cause__``, or it did not return a tensor.
    """
    try:
        out = net(x)
    except (MemoryError, torch.OutOfMemoryError):
        raise
    except Exception as exc:
        if is_oom(exc):
            raise
        raise ProxyComputationError(
            f"the model's forward pass failed in the {what} (input {tuple(x.shape)}, "
            f"dtype {x.dtype}): {type(exc).__name__}: {exc}"
            + (" -- BatchNorm in train mode needs a batch of at least 2 samples"
               if "more than 1 value per channel" in str(exc) else "")
        ) from exc
    if not isinstance(out, torch.Tensor):
        raise ProxyComputationError(
            f"the model returned a {type(out).__name__}, not a tensor; wrap it so that "
            "forward(x) returns the output tensor (e.g. the logits)"
        )
    return out


@contextmanager
def differentiable_kernels(net: nn.Module, device: torch.device, *,
                           double_backward: bool = False,
                           eval_backward: bool = False) -> Iterator[None]:
    """Kernels that can be differentiated as a pass needs, for the block only.

    ``double_backward``: scaled-dot-product attention runs its math backend
    (``torch.nn.attention.sdpa_kernel(SDPBackend.MATH)``); the fused flash / memory-efficient
    kernels have no double backward. On CUDA, with ``double_backward`` or ``eval_backward``
    (a backward through an eval-mode network), cuDNN is disabled if ``net`` has recurrent
    layers (cuDNN RNNs support neither). The previous settings are restored on exit; nothing
    changes for networks without attention calls or recurrent layers.
    """
    with ExitStack() as stack:
        if double_backward:
            stack.enter_context(_math_attention())
        if (double_backward or eval_backward) and device.type == "cuda" \
                and any(isinstance(m, nn.RNNBase) for m in net.modules()):
            stack.enter_context(_cudnn_disabled())
        yield


def _math_attention():
    """``sdpa_kernel(SDPBackend.MATH)`` (torch >= 2.3) or the older ``sdp_kernel`` flags."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # torch < 2.3
        return torch.backends.cuda.sdp_kernel(enable_flash=False, enable_math=True,
                                              enable_mem_efficient=False)
    return sdpa_kernel(SDPBackend.MATH)


@contextmanager
def _cudnn_disabled() -> Iterator[None]:
    previous = torch.backends.cudnn.enabled
    torch.backends.cudnn.enabled = False
    try:
        yield
    finally:
        torch.backends.cudnn.enabled = previous


def stage_error(exc: BaseException, stage: str) -> str:
    """The reason recorded for a stage that raised: which stage, the exception and its text."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{stage} raised {type(exc).__name__}: {text}"[:500]


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


class _CodeKernel:
    """Accumulates the NWOT kernel ``sum c c^T + (1 - c)(1 - c)^T`` over activation calls whose
    input has the batch as its leading dimension (other calls are counted as skipped)."""

    def __init__(self, n: int) -> None:
        self.n, self.K, self.calls, self.skipped = n, None, 0, 0

    def add(self, inp: object) -> None:
        if not isinstance(inp, torch.Tensor) or inp.ndim == 0:
            return
        if inp.shape[0] != self.n:
            self.skipped += 1
            return
        c = (inp.detach().reshape(inp.shape[0], -1) > 0).to(torch.float64)
        k = c @ c.T + (1.0 - c) @ (1.0 - c).T
        self.K = k if self.K is None else self.K + k
        self.calls += 1


class _FunctionalActivations(TorchFunctionMode):
    """Feeds the inputs of functional activation calls (``F.relu``, ``torch.relu``,
    ``F.gelu``, ...) to two kernels: ReLU family and others."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.relu, self.other = _CodeKernel(n), _CodeKernel(n)
        self.names: dict[str, set[str]] = {"relu": set(), "other": set()}
        self._kind = {f: "relu" for f in FUNCTIONAL_RELU}
        self._kind.update({f: "other" for f in FUNCTIONAL_OTHER})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        try:
            kind = self._kind.get(func)
        except TypeError:  # an unhashable callable
            kind = None
        if kind is not None and args:
            getattr(self, kind).add(args[0])
            self.names[kind].add(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


#: Stages of the train pass -> the products whose proxies share the stage's time.
STAGES: dict[str, frozenset[str]] = {
    "forward": frozenset({"output", "relu_kernel", "input_grad", "sample_grad_gram",
                          "loss_grad", "act_grad", "hessian_grad"}),
    "input_grad": frozenset({"input_grad"}),
    "sample_grad_gram": frozenset({"sample_grad_gram"}),
    "loss_grad": frozenset({"loss_grad", "act_grad", "hessian_grad"}),
    "hessian_grad": frozenset({"hessian_grad"}),
}


def run_train_pass(ctx: ProxyContext, needs: set[str],
                   on_stage: Callable[[str], None] | None = None,
                   before_hessian: Callable[[TrainPass], Iterable[str]] | None = None
                   ) -> TrainPass:
    """Compute the products in ``needs`` on a train-mode copy of ``ctx.model``.

    ``tp.stage_seconds`` records the wall time of each stage of :data:`STAGES` that ran;
    ``on_stage(name)`` (optional) is called as each stage starts. ``before_hessian(tp)``
    (optional) is called once every product but ``hessian_grad`` is final, just before the
    Hessian-gradient stage (only when that stage runs); it returns the products its caller
    no longer needs, which the pass then frees (:meth:`TrainPass.release`) so that they do
    not add to the memory of the double backward.

    Raises
    ------
    ProxyComputationError
        The forward or the loss fails on the batch (see the module docstring).
    """
    clock = time.perf_counter()
    net = ctx.copy_model(train=True)
    with differentiable_kernels(net, ctx.device, double_backward="hessian_grad" in needs):
        return _train_pass(ctx, net, needs, clock, on_stage or (lambda stage: None),
                           before_hessian)


def _fail(tp: TrainPass, products: set[str] | list[str], reason: str,
          exc: BaseException) -> None:
    for p in products:
        tp.undefined[p] = reason
        tp.failed[p] = type(exc).__name__
    log.debug("train-pass products %s failed: %s", sorted(products), reason)


def _rng_state(device: torch.device) -> tuple:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(device: torch.device, state: tuple) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


class _Forward:
    """One hooked train-mode forward: the output, the NWOT kernel and the scored layers'
    outputs (for fisher)."""

    def __init__(self, out: torch.Tensor, kernel: _CodeKernel,
                 functional: _FunctionalActivations | None,
                 acts: list[tuple[str, int, torch.Tensor]], modified: bool) -> None:
        self.out, self.kernel, self.functional = out, kernel, functional
        self.acts, self.modified = acts, modified


def _hooked_forward(ctx: ProxyContext, net: nn.Module, x: torch.Tensor, needs: set[str],
                    layers: list[tuple[str, nn.Module]], tp: TrainPass,
                    clone: bool) -> _Forward:
    """``net(x)`` with the hooks the products in ``needs`` use.

    For fisher (``act_grad``) each scored layer's output is recorded. With ``clone=False``
    the layer's own output flows downstream (no extra memory); ``modified`` then tells
    whether a later in-place op changed one of them (its version counter moved), in which
    case the recorded tensor is not the layer's output any more and the caller re-runs
    with ``clone=True``, which hands a clone downstream and keeps the original.
    """
    handles = []
    kernel = _CodeKernel(x.shape[0])
    functional: _FunctionalActivations | None = None
    acts: list[tuple[str, int, torch.Tensor]] = []
    versions: list[int] = []

    def code_hook(module: nn.Module, args: tuple) -> None:
        kernel.add(args[0] if args else None)

    def act_hook(module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor | None:
        kind = "linear" if isinstance(module, nn.Linear) else "conv"
        acts.append((kind, module.weight.shape[1:].numel(), out))
        versions.append(out._version)
        return out.clone() if clone else None

    with ExitStack() as stack:
        if "relu_kernel" in needs:
            mods, kind = _activation_modules(net, ctx.options.get("nwot", {}).get("activations"))
            for m in mods:
                handles.append(m.register_forward_pre_hook(code_hook))
            if kind != "ReLU" and mods and not clone:
                tp.notes.append(f"nwot: no ReLU module, binarised the inputs of {kind}")
            if not mods and ctx.options.get("nwot", {}).get("activations") is None:
                functional = stack.enter_context(_FunctionalActivations(x.shape[0]))
        if "act_grad" in needs:
            for _, m in layers:
                handles.append(m.register_forward_hook(act_hook))
        try:
            out = forward(net, x, "train-mode pass")
        finally:
            for h in handles:
                h.remove()
    modified = any(a._version != v for (_, _, a), v in zip(acts, versions))
    return _Forward(out, kernel, functional, acts, modified)


def _train_pass(ctx: ProxyContext, net: nn.Module, needs: set[str], clock: float,
                on_stage: Callable[[str], None],
                before_hessian: Callable[[TrainPass], Iterable[str]] | None) -> TrainPass:
    tp = TrainPass()
    on_stage("forward")
    layers = select_layers(net, ctx.layers)
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

    rng = _rng_state(ctx.device) if "act_grad" in needs else None
    fw = _hooked_forward(ctx, net, x, needs, layers, tp, clone=False)
    if fw.modified:
        # an in-place op changed a scored layer's output: redo the forward on a fresh copy,
        # from the same RNG state, handing clones downstream
        del fw
        _set_rng_state(ctx.device, rng)
        net = ctx.copy_model(train=True)
        layers = select_layers(net, ctx.layers)
        x = x.detach().requires_grad_(x.requires_grad)
        fw = _hooked_forward(ctx, net, x, needs, layers, tp, clone=True)
    out, acts = fw.out, fw.acts
    tp.layer_names = [n for n, _ in layers]
    weights = [m.weight for _, m in layers]
    tp.weights = [w.detach() for w in weights]
    tp.output = out.detach()
    n = x.shape[0]
    clock = _lap(tp, "forward", clock)

    if "relu_kernel" in needs:
        kernel, functional = fw.kernel, fw.functional
        if functional is not None:
            kind = "relu" if functional.relu.calls else "other"
            kernel = getattr(functional, kind)
            if kernel.calls:
                tp.notes.append(
                    "nwot: no activation module, binarised the inputs of the functional "
                    f"activation calls ({', '.join(sorted(functional.names[kind]))}; "
                    f"{kernel.calls} calls)")
        tp.relu_modules = kernel.calls
        if kernel.skipped:
            tp.notes.append(f"nwot: skipped {kernel.skipped} activation calls whose leading "
                            f"dimension is not the batch ({n})")
        if kernel.K is None:
            tp.undefined["relu_kernel"] = (
                "no activation (ReLU-family or other nn activation module, or functional call "
                "such as F.relu / F.gelu) with the batch as leading dimension was called in "
                "the forward pass")
        else:
            tp.relu_kernel = kernel.K
    del fw

    # the graph is retained only while a later stage still differentiates through it
    k = ntk_samples(ctx.options.get("ntk", {}), n)
    ntk_on_graph = "sample_grad_gram" in needs and k >= n
    loss_stage = bool(loss_products) and not (loss_products & set(tp.undefined))
    if "input_grad" in needs and "input_grad" not in tp.undefined:
        on_stage("input_grad")
        if not out.requires_grad:
            tp.input_grad = torch.zeros_like(x)
            tp.notes.append("the output does not depend on the input: input Jacobian is 0")
        else:
            try:
                (g,) = autograd.grad(out.sum(), x, retain_graph=ntk_on_graph or loss_stage,
                                     allow_unused=True)
                tp.input_grad = torch.zeros_like(x) if g is None else g.detach()
                del g
            except Exception as exc:
                if is_oom(exc):
                    raise
                _fail(tp, ["input_grad"], stage_error(exc, "the input-gradient backward"), exc)
        clock = _lap(tp, "input_grad", clock)

    if "sample_grad_gram" in needs:
        on_stage("sample_grad_gram")
        try:
            if k < n:  # TE-NAS-size sub-batch: its own forward (BN statistics of these samples)
                tp.notes.append(f"ntk: computed on the first {k} of the {n} samples")
                sub = forward(net, ctx.x[:k].detach().clone(), "ntk pass")
                tp.sample_gram = _sample_grad_gram(net, sub, k, tp, retain_last=False)
                del sub
            else:
                tp.sample_gram = _sample_grad_gram(net, out, n, tp, retain_last=loss_stage)
        except Exception as exc:
            if is_oom(exc):
                raise
            _fail(tp, ["sample_grad_gram"],
                  stage_error(exc, f"the NTK's per-sample gradients ({k} samples)"), exc)
        clock = _lap(tp, "sample_grad_gram", clock)

    if loss_stage:
        on_stage("loss_grad")
        _loss_products(ctx, tp, out, weights, acts, needs, clock, on_stage, before_hessian)
    return tp


def _lap(tp: TrainPass, stage: str, start: float) -> float:
    now = time.perf_counter()
    tp.stage_seconds[stage] = tp.stage_seconds.get(stage, 0.0) + now - start
    return now


def _sample_grad_gram(net: nn.Module, out: torch.Tensor, n: int, tp: TrainPass,
                      retain_last: bool = True) -> torch.Tensor:
    """Gram matrix of per-sample gradients of ``sum_c out[i, c]`` (TE-NAS ``get_ntk_n``);
    the graph is freed by the last sample's backward unless ``retain_last``."""
    params = [p for name, p in net.named_parameters() if "weight" in name]
    gram = torch.zeros(n, n, dtype=torch.float64, device=out.device)
    if not params or not out.requires_grad:
        tp.undefined["sample_grad_gram"] = "no parameter named *weight* reaches the output"
        return gram
    rows = []
    for i in range(n):
        grads = autograd.grad(out[i].sum(), params, retain_graph=retain_last or i < n - 1,
                              allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]
                              or [out.new_zeros(1)]))
        del grads
    g = torch.stack(rows)  # (n, n_weights)
    del rows
    step = max(1, (1 << 22) // max(n, 1))  # column blocks keep the float64 copy small
    for a in range(0, g.shape[1], step):
        b = g[:, a:a + step].to(torch.float64)
        gram += b @ b.T
    return gram


def _loss_products(ctx: ProxyContext, tp: TrainPass, out: torch.Tensor,
                   weights: list[torch.Tensor], acts: list[tuple[str, int, torch.Tensor]],
                   needs: set[str], clock: float, on_stage: Callable[[str], None],
                   before_hessian: Callable[[TrainPass], Iterable[str]] | None) -> None:
    y = ctx.y
    if ctx.default_batch and out.ndim == 2 and y is not None and int(y.max()) >= out.shape[1]:
        y = y % out.shape[1]
        tp.notes.append(f"default digits labels folded modulo the model's {out.shape[1]} outputs")
    try:
        loss = ctx.loss_fn(out, y)
    except Exception as exc:
        if is_oom(exc):
            raise
        raise ProxyComputationError(
            f"loss_fn(output, targets) failed for output {tuple(out.shape)} {out.dtype} and "
            f"targets {tuple(y.shape)} {y.dtype}: {type(exc).__name__}: {exc}. Pass a "
            "loss_fn matching the task."
        ) from exc
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ProxyComputationError(f"loss_fn must return a scalar tensor, got "
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
    del out  # the caller still holds it; only the loss is differentiated from here on
    try:
        # without the Hessian stage this is the graph's last use: free it as it goes
        grads = autograd.grad(loss, weights + act_tensors, create_graph=hess,
                              retain_graph=hess, allow_unused=True)
    except Exception as exc:
        if is_oom(exc):
            raise
        if not hess:
            _fail(tp, products, stage_error(exc, "the loss-gradient backward"), exc)
            return
        # the differentiable (create_graph) backward failed: first-order products only
        _fail(tp, ["hessian_grad"], stage_error(
            exc, "the loss-gradient backward with create_graph=True (for H g)"), exc)
        hess = False
        try:
            grads = autograd.grad(loss, weights + act_tensors, allow_unused=True)
        except Exception as exc2:
            if is_oom(exc2):
                raise
            _fail(tp, products - {"hessian_grad"},
                  stage_error(exc2, "the loss-gradient backward"), exc2)
            return
    del loss
    wgrads = list(grads[:len(weights)])
    tp.loss_grads = [torch.zeros_like(w) if g is None else g.detach()
                     for w, g in zip(tp.weights, wgrads)]
    clock = _lap(tp, "loss_grad", clock)
    if act_tensors:
        tp.act_grads = [
            (k, f, a.detach(), torch.zeros_like(a) if g is None else g.detach())
            for (k, f, a), g in zip(acts, grads[len(weights):])
        ]
    del grads, act_tensors
    if not hess:
        return
    if before_hessian is not None:
        # the first-order products are final: the caller scores their proxies now, and
        # what it no longer needs is freed before the double backward
        tp.release(before_hessian(tp))
        if "act_grad" in tp.released:
            acts.clear()  # the scored layers' outputs that are not part of the graph
    trim_heap()
    on_stage("hessian_grad")
    z = sum((g.detach() * g).sum() for g in wgrads if g is not None and g.requires_grad)
    try:
        if isinstance(z, torch.Tensor) and z.requires_grad:
            hg = autograd.grad(z, weights, allow_unused=True)
            tp.hessian_grads = [torch.zeros_like(w) if h is None else h.detach()
                                for w, h in zip(tp.weights, hg)]
        else:  # the loss is linear in every weight: H g = 0
            tp.hessian_grads = [torch.zeros_like(w) for w in tp.weights]
    except Exception as exc:
        if is_oom(exc):
            raise
        _fail(tp, ["hessian_grad"], stage_error(
            exc, "the Hessian-gradient product (double backward)"), exc)
    _lap(tp, "hessian_grad", clock)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` on other C libraries / platforms."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


def trim_heap() -> None:
    """Return the free memory of the C heap to the operating system (glibc
    ``malloc_trim(0)``; a no-op elsewhere).

    Freed tensors of a pass stay in glibc's heap, fragmented, and count in the process's
    resident memory; trimming after a pass keeps that memory from carrying over into the
    next stage or call (it costs a few milliseconds plus the page faults of re-using it).
    """
    fn = _malloc_trim()
    if fn is not None:
        fn(0)
