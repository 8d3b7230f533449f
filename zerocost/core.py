"""``compute_proxies``: any set of proxies on any ``nn.Module``, sharing passes."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasperf._utils import resolve_device, torch_seed

from .context import ProductFailed, ProxyContext
from .data import (
    DEFAULT_BATCH_SIZE,
    check_finite,
    default_batch,
    infer_input_shape,
    parse_shape,
    to_batch,
)
from .layers import LayerSpec, select_layers
from .passes import STAGES, forward, is_oom, run_train_pass, stage_error, trim_heap
from .registry import PROXIES, check_options, get_proxy, resolve_proxies
from .spec import ProxyComputationError, ProxyUndefined

log = logging.getLogger(__name__)


class BatchTooLargeError(MemoryError):
    """The batch does not fit in the device's memory; the message names the batch size."""


@dataclass
class ProxyResult:
    """One proxy's score with how it was obtained.

    Attributes
    ----------
    name : str
    score : float
        ``NaN`` when undefined; then ``reason`` says why.
    seconds : float
        Wall time: the proxy's own computation plus an equal share of each shared pass it used.
    higher_is_better : bool
    mode : str
        ``"train"``, ``"eval"`` or ``"none"`` (no forward pass).
    shared : tuple of str
        Shared-pass products the proxy used.
    reason : str or None
        Why the score is NaN: mathematically undefined for this network/batch, or (with
        ``error`` set) the proxy's own pass raised.
    notes : list of str
        Remarks (fallbacks, clamping, label folding, sub-batches).
    n_layers : int
        Scored layers (per-layer proxies) or hooked activation calls (nwot).
    error : str or None
        The exception type name when the proxy (or the stage of the shared pass it needs)
        raised; ``None`` when it was computed or is mathematically undefined.
    meta : dict
        Settings the proxy actually used, e.g. ntk's ``{"samples": 16, "batch_size": 64}``.
    """

    name: str
    score: float
    seconds: float
    higher_is_better: bool
    mode: str
    shared: tuple[str, ...] = ()
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    n_layers: int = 0
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": self.score, "seconds": self.seconds,
                "higher_is_better": self.higher_is_better, "mode": self.mode,
                "shared": list(self.shared), "reason": self.reason, "notes": list(self.notes),
                "n_layers": self.n_layers, "error": self.error, "meta": dict(self.meta)}


def _model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def _default_loss(y: torch.Tensor | None, notes: list[str]) -> Callable | None:
    if y is None:
        return None
    if not y.is_floating_point():
        return F.cross_entropy
    notes.append("floating-point targets and no loss_fn: using mean squared error")
    return F.mse_loss


def compute_proxies(
    model: nn.Module,
    batch: Any = None,
    proxies: str | Sequence[str] = "all",
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    *,
    input_shape: Sequence[int] | str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_batches: int = 1,
    layers: LayerSpec = None,
    options: dict[str, dict[str, Any]] | None = None,
    return_details: bool = False,
    progress: bool = False,
    trim_memory: bool = True,
) -> dict[str, float] | dict[str, ProxyResult]:
    """Zero-cost proxy scores of a network at initialisation.

    Parameters
    ----------
    model : nn.Module
        Any network; never modified (every pass runs on a deep copy moved to ``device``).
    batch : tensor, (x, y), dict, DataLoader or None
        Inputs ``x`` of shape ``(N, ...)`` and targets ``y`` (class indices for the default
        cross-entropy loss; anything ``loss_fn`` accepts otherwise). A DataLoader (any
        iterable of batches) contributes its first ``num_batches`` batches. ``None`` uses
        :func:`nasperf.zerocost.data.default_batch` (``batch_size`` real digit images resized to
        ``input_shape``). Proxies that use targets need ``y``. The batch is used as given
        (only ntk takes a documented sub-batch, see its ``samples`` option).
    proxies : "all", list of names, or comma-separated string
        See :func:`nasperf.zerocost.list_proxies`.
    loss_fn : callable, optional
        ``loss_fn(output, y) -> scalar``. Default: cross-entropy for integer targets, mean
        squared error for floating-point targets.
    device : str or torch.device
    seed : int
        Seeds everything random (dropout in the train pass, zen's inputs and weights, the
        default batch). The global RNG state is restored afterwards.
    input_shape : sequence of int or "C,H,W", optional
        Shape of one input for the default batch (default: from the model's first layer).
    batch_size, num_batches : int
        Size of the default batch; batches taken from a DataLoader.
    layers : None, "weighted", tuple of types or callable
        Layers scored by the per-layer proxies (see :func:`nasperf.zerocost.layers.select_layers`).
    options : dict, optional
        Per-proxy options, e.g. ``{"synflow": {"bn": True}, "zen": {"feature_fn": f},
        "ntk": {"samples": 32}}``. Each proxy accepts the keys of its ``Proxy.options``
        (built-ins: synflow ``bn``; nwot ``activations``; zen ``feature_fn``,
        ``mixup_gamma``, ``repeat``; ntk ``samples``); any other key raises.
    return_details : bool
        Return :class:`ProxyResult` objects instead of floats.
    progress : bool, default False
        Show a ``tqdm.auto`` bar with one step per shared pass and per proxy (for a single
        model; the default is quiet).
    trim_memory : bool, default True
        After the call, return the memory it freed to the operating system (glibc
        ``malloc_trim``; see :func:`nasperf.zerocost.passes.trim_heap`): the resident memory
        stays flat over many calls (about the model and the batch) instead of keeping the
        call's peak. The next call then faults that memory in again, which costs about
        0.1-0.4 s on a full-size NB201 cell at batch 64 (see ``docs/proxies.md``); pass
        ``False`` in a loop where time matters more than resident memory.

    Returns
    -------
    dict
        ``name -> score`` (float; ``NaN`` when a score is undefined or its pass failed), or
        ``name -> ProxyResult`` with ``return_details=True`` (``reason``, ``error``, ``notes``
        and ``meta`` say why and how). When any score is NaN, one ``WARNING`` on the
        ``nasperf.zerocost`` logger lists every NaN proxy with its reason.

    Raises
    ------
    ValueError
        Before any pass runs: unknown proxies, unknown option keys (the message names the
        key and the valid ones) or invalid option values, a malformed batch, a batch that
        contains NaN/inf (inputs or targets), missing targets for a proxy that needs them,
        an invalid ``layers``.
    ProxyComputationError
        A ``ValueError`` raised when no proxy can be computed: the model's plain forward
        fails on the batch (wrong input shape, an exception inside the user's ``forward``,
        a non-tensor output, BatchNorm in train mode with one sample) or ``loss_fn`` fails
        on the output and targets. The message names the pass (or the proxy whose pass hit
        it first); the original exception is ``__cause__``.
    BatchTooLargeError
        The batch does not fit in memory (the message names the batch size).

    Notes
    -----
    Failure policy. An error that makes every proxy impossible raises (see above). An error
    specific to one proxy, or to one stage of the shared train pass, is isolated: the
    affected proxies are NaN with ``reason`` (the stage and the exception) and ``error``
    (the exception type), and every other proxy is computed as if it had not been
    requested. Examples: an op without a double backward in grasp's Hessian-gradient
    stage, a custom proxy that raises, a proxy's own forward (synflow's float64 all-ones
    input, flops' batch of one) failing while the plain forward works. Mathematically
    undefined scores (:class:`~nasperf.zerocost.ProxyUndefined`) are NaN with the reason
    and ``error=None``. Out-of-memory errors always raise.

    Kernels. When grasp (a second-order proxy) is requested, the shared train pass runs with
    the math backend of ``scaled_dot_product_attention`` (the fused kernels have no double
    backward) and, on CUDA, without cuDNN for networks with RNN layers; see
    :func:`nasperf.zerocost.passes.differentiable_kernels`. On attention networks the other
    proxies of that call then differ from a call without grasp in the last float32 digits;
    networks without attention or RNN layers are unaffected.
    """
    names = resolve_proxies(proxies)
    specs = [get_proxy(n) for n in names]
    dev = resolve_device(device)
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    options = check_options(options)
    select_layers(model, layers)  # validates `layers` before any pass

    is_default = batch is None
    if is_default:
        shape = parse_shape(input_shape) if input_shape is not None else infer_input_shape(model)
        x, y = default_batch(shape, batch_size=batch_size, seed=seed)
    else:
        x, y = to_batch(batch, num_batches=num_batches)
    check_finite(x, y)
    need_y = [s.name for s in specs if s.needs_targets]
    if y is None and need_y:
        raise ValueError(
            f"proxies {need_y} need targets; pass batch=(x, y) or leave them out of `proxies`"
        )
    if x.is_floating_point():
        x = x.to(_model_dtype(model))
    x, y = x.to(dev), (None if y is None else y.to(dev))

    pass_notes: list[str] = []
    ctx = ProxyContext(model=model, x=x, y=y, device=dev, seed=seed,
                       loss_fn=loss_fn or _default_loss(y, pass_notes), layers=layers,
                       options=options, default_batch=is_default)
    needs: set[str] = set().union(*(s.needs for s in specs))
    results: dict[str, ProxyResult] = {}
    stage = "the train-mode pass"
    from tqdm.auto import tqdm

    bar = tqdm(total=len(specs) + bool(needs), desc="zero-cost proxies", unit="step",
               disable=not progress)
    plain: dict[str, ProxyComputationError | None] = {}
    scored: dict[str, tuple] = {}  # name -> (score, reason, error, own seconds, notes, meta)
    pass_error: tuple[str, str] | None = None

    def score(spec: Any) -> None:
        nonlocal stage
        stage = f"proxy {spec.name!r}"
        bar.set_postfix_str(spec.name)
        ctx.current, ctx.notes, ctx.meta = spec.name, [], {}
        torch.manual_seed(seed)  # a proxy's randomness must not depend on the others
        t0 = time.perf_counter()
        reason = error = None
        try:
            if spec.needs and pass_error is not None:
                raise ProductFailed(*pass_error)
            value = float(spec.fn(ctx))
        except ProductFailed as exc:
            value, reason, error = math.nan, str(exc), exc.error
        except ProxyUndefined as exc:
            value, reason = math.nan, str(exc)
        except ProxyComputationError as exc:
            # a forward inside the proxy's own pass failed: if the plain forward
            # fails too, no proxy can be computed; otherwise only this one
            err = _plain_forward_error(ctx, plain)
            if err is not None:
                raise ProxyComputationError(
                    f"{err} (first hit in proxy {spec.name!r})") from err.__cause__
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            value, reason, error = (math.nan, f"proxy {spec.name!r}: {exc}",
                                    type(cause).__name__)
        except Exception as exc:
            if is_oom(exc):
                raise
            value, reason = math.nan, stage_error(exc, f"proxy {spec.name!r}")
            error = type(exc).__name__
        scored[spec.name] = (value, reason, error, time.perf_counter() - t0, ctx.notes,
                             dict(ctx.meta))
        bar.update(1)

    # the proxies of the first-order products are scored inside the pass, before its
    # Hessian-gradient stage, which then runs without their products in memory
    first_order = [s for s in specs if s.needs and "hessian_grad" not in s.needs]
    keep = set().union(*(s.needs for s in specs if "hessian_grad" in s.needs))

    def before_hessian(tp: Any) -> set[str]:
        ctx.train_pass = tp
        for spec in first_order:
            score(spec)
        return set().union(*(s.needs for s in first_order)) - keep

    try:
        with torch_seed(seed, dev, deterministic=True):
            share = dict.fromkeys(names, 0.0)
            if needs:
                bar.set_postfix_str("train pass")
                t0 = time.perf_counter()
                try:
                    ctx.train_pass = run_train_pass(
                        ctx, needs, on_stage=lambda st: bar.set_postfix_str(f"train pass: {st}"),
                        before_hessian=before_hessian)
                except (ValueError, MemoryError, torch.OutOfMemoryError):
                    raise
                except Exception as exc:  # a bug outside the guarded stages: isolate the pass
                    if is_oom(exc):
                        raise
                    pass_error = (stage_error(exc, "the shared train-mode pass"),
                                  type(exc).__name__)
                # the proxies scored inside the pass are not part of its time
                total = time.perf_counter() - t0 - sum(r[3] for r in scored.values())
                if ctx.train_pass is not None:
                    pass_notes.extend(ctx.train_pass.notes)
                    stages = dict(ctx.train_pass.stage_seconds)
                else:
                    stages = {}
                stages["forward"] = stages.get("forward", 0.0) + total - sum(stages.values())
                for st, seconds in stages.items():
                    users = [s.name for s in specs if s.needs & STAGES[st]]
                    for u in users:
                        share[u] += seconds / len(users)
                bar.update(1)
            for spec in specs:
                if spec.name not in scored:
                    score(spec)
            tp = ctx.train_pass
            for spec in specs:
                value, reason, error, own, own_notes, meta = scored[spec.name]
                if reason is None and not math.isfinite(value):
                    reason = f"the computed value is {value}"
                    value = math.nan
                notes = [n for n in pass_notes if _concerns(n, spec.name, spec.needs)]
                n_layers = (tp.relu_modules if spec.name == "nwot" and tp is not None
                            else len(tp.layer_names) if tp is not None and spec.needs else 0)
                results[spec.name] = ProxyResult(
                    name=spec.name, score=value, seconds=own + share[spec.name],
                    higher_is_better=spec.higher_is_better, mode=spec.mode,
                    shared=tuple(sorted(spec.needs)), reason=reason,
                    notes=notes + own_notes, n_layers=n_layers, error=error, meta=meta,
                )
    except Exception as exc:
        if is_oom(exc) and not isinstance(exc, BatchTooLargeError):
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            raise BatchTooLargeError(
                f"out of memory on {dev} in {stage} with a batch of {x.shape[0]} samples of "
                f"shape {tuple(x.shape[1:])}; use a smaller batch (batch_size=... or fewer "
                f"samples) or a smaller input resolution. ({exc})"
            ) from exc
        raise
    finally:
        bar.close()
        ctx.train_pass = None  # free the graph and gradients before returning
        if trim_memory:
            trim_heap()  # hand the freed memory back instead of keeping the call's peak
    _log_summary(results)
    if return_details:
        return results
    return {n: r.score for n, r in results.items()}


def _plain_forward_error(ctx: ProxyContext,
                         cache: dict[str, ProxyComputationError | None]
                         ) -> ProxyComputationError | None:
    """The error of the model's plain forward (train-mode copy, the whole batch, no
    gradients), or ``None`` when it works; computed once per call."""
    if ctx.train_pass is not None:
        return None  # the shared train pass ran that forward successfully
    if "error" not in cache:
        try:
            with torch.no_grad():
                forward(ctx.copy_model(train=True), ctx.x, "plain forward pass")
            cache["error"] = None
        except ProxyComputationError as exc:
            cache["error"] = exc
    return cache["error"]


def _log_summary(results: dict[str, ProxyResult]) -> None:
    """One WARNING listing every NaN proxy: failed (an exception) or undefined."""
    bad = [r for r in results.values() if r.reason is not None]
    if not bad:
        return
    failed = [r for r in bad if r.error is not None]
    parts = [f"{r.name} ({'failed, ' + r.error if r.error else 'undefined'}): {r.reason}"
             for r in bad]
    log.warning("%d of %d proxies are NaN (%d failed, %d undefined): %s", len(bad),
                len(results), len(failed), len(bad) - len(failed), "; ".join(parts))


def _concerns(note: str, name: str, needs: frozenset[str]) -> bool:
    """Whether a train-pass note is relevant to proxy ``name`` (``"<proxy>: ..."`` notes
    belong to that proxy only)."""
    head = note.split(":", 1)[0]
    if head in PROXIES:
        return head == name
    if "labels" in note or "targets" in note or "loss" in note or "gradients are 0" in note:
        return bool(needs & {"loss_grad", "act_grad", "hessian_grad"})
    if "input Jacobian" in note:
        return "input_grad" in needs
    return bool(needs)


def results_table(results: dict[str, ProxyResult]):
    """A pandas DataFrame (one row per proxy) from ``return_details=True`` results."""
    import pandas as pd

    rows = [r.as_dict() for r in results.values()]
    return pd.DataFrame(rows).set_index("name")
