"""The specification of a proxy.

Every proxy declares what it needs from the shared passes of :mod:`nasperf.zerocost.passes` (so
proxies computed together share one forward/backward pass), its direction
(``higher_is_better``), the network mode it is computed in, and its reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import ProxyContext

#: Products of the shared train-mode pass (see :class:`nasperf.zerocost.context.TrainPass`).
PRODUCTS = frozenset({
    "output",          # the network output on the batch (train mode)
    "relu_kernel",     # NWOT binary-code kernel, summed over activation modules
    "input_grad",      # d sum(output) / d input, shape of the batch
    "loss_grad",       # d loss / d weight for every scored layer
    "act_grad",        # scored layers' outputs and d loss / d output (fisher)
    "hessian_grad",    # H g for every scored layer weight (GraSP)
    "sample_grad_gram",  # per-sample gradient Gram matrix (NTK)
})


class ProxyUndefined(Exception):  # noqa: N818 - a signal, not an error: the score is NaN
    """Raised inside a proxy when its score is mathematically undefined for this network/batch.

    :func:`nasperf.zerocost.compute_proxies` turns it into ``NaN`` and records (and logs) the
    reason.
    Bugs and bad input are *not* signalled this way: they raise ordinary exceptions.
    """


class ProxyComputationError(ValueError):
    """No proxy can be computed: the model's plain forward pass (or the loss) fails on the
    batch.

    The message names the pass (or the proxy whose pass first hit the failure); the
    original exception (e.g. a ``KeyError`` raised inside the user's ``forward``) is kept as
    ``__cause__``. Failures specific to one proxy's own pass do not raise this: they make
    that proxy NaN with the reason (see :func:`nasperf.zerocost.compute_proxies`).
    """


@dataclass(frozen=True)
class Proxy:
    """Specification of one zero-cost proxy.

    Attributes
    ----------
    name : str
        Registry key.
    fn : callable
        ``fn(ctx: ProxyContext) -> float``. Reads the shared pass products from
        ``ctx.train_pass`` and may build its own copies of the model with ``ctx.copy_model``;
        it must never modify ``ctx.model``. Raises :class:`ProxyUndefined` for an undefined
        score.
    needs : frozenset of str
        Products of the shared train pass (:data:`PRODUCTS`); empty when the proxy needs no
        shared pass (it then does its own, e.g. synflow's float64 pass).
    higher_is_better : bool
        Direction of the proxy as published (a larger score predicts a better network).
    mode : str
        Network mode the proxy is computed in: ``"train"``, ``"eval"`` or ``"none"`` (no
        forward pass).
    needs_targets : bool
        Whether the proxy uses the batch's targets (loss-based proxies, epe_nas).
    reference : str
        Paper and reference code the implementation follows.
    options : frozenset of str
        The keys accepted in ``options={name: {...}}``; any other key raises ``ValueError``
        before a pass runs.
    check_options : callable, optional
        ``check_options(opts: dict) -> None`` validates the option values before any pass
        runs (raises ``ValueError``).
    """

    name: str
    fn: Callable[[ProxyContext], float]
    needs: frozenset[str] = field(default_factory=frozenset)
    higher_is_better: bool = True
    mode: str = "train"
    needs_targets: bool = False
    reference: str = ""
    options: frozenset[str] = field(default_factory=frozenset)
    check_options: Callable[[Mapping[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.needs) - PRODUCTS
        if unknown:
            raise ValueError(
                f"proxy {self.name!r} needs unknown pass products {sorted(unknown)}; "
                f"known: {sorted(PRODUCTS)}"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"a proxy name must be a non-empty string, got {self.name!r}")
        if not callable(self.fn):
            raise TypeError(f"proxy {self.name!r}: fn must be callable, got "
                            f"{type(self.fn).__name__}")
        object.__setattr__(self, "needs", frozenset(self.needs))
        object.__setattr__(self, "options", frozenset(self.options))
        if self.mode not in ("train", "eval", "none"):
            raise ValueError(f"proxy {self.name!r}: mode must be train, eval or none, "
                             f"got {self.mode!r}")
