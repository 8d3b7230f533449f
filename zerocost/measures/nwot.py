"""nwot: ``log |det K|`` of the binary activation-code kernel (NASWOT, paper v2).

For each call of an activation module ``a`` the pre-activations of the batch are binarised
(``c = x > 0``, one row per sample) and ``K += c c^T + (1 - c)(1 - c)^T`` (the number of
units on which two samples agree); the score is ``slogdet(K)`` in float64. The kernel is
summed over all activation modules without normalisation (as in the reference code; it
favours networks with more ReLUs, nas-without-training#20). ReLU-family modules are hooked
(NASLib hooks modules whose type name contains "ReLU"); a network without any uses the sign
of the inputs of its other activation modules (GELU, SiLU, tanh, ...) and says so in the
result notes; ``options={"nwot": {"activations": (types...)}}`` chooses them explicitly. A
network without any activation module has its functional activation calls intercepted
(``F.relu``, ``torch.relu``, ``Tensor.relu``, ... or, without any of those, ``F.gelu``,
``F.silu``, ``torch.tanh``, ...; :data:`nasperf.zerocost.layers.FUNCTIONAL_RELU`), with a note.
Activation calls whose leading dimension is not the batch are skipped (noted). Recurrent
layers expose no activation (their gates are inside the kernel): NaN with the reason.
Train mode, as in the authors' updated code (nas-without-training#1). Reference: Mellor et
al., "Neural Architecture Search without Training", ICML 2021 (v2);
``BayesWatch/nas-without-training``; NASLib ``measures/nwot.py``. Higher is better.
"""

from __future__ import annotations

import math

import torch

from ..context import ProxyContext
from ..spec import Proxy, ProxyUndefined


def nwot(ctx: ProxyContext) -> float:
    kernel = ctx.product("relu_kernel")
    sign, logdet = torch.linalg.slogdet(kernel)
    value = float(logdet)
    if float(sign) == 0.0 or not math.isfinite(value):
        raise ProxyUndefined(
            "the NWOT kernel is singular: two samples have the same binary code at every "
            "hooked activation (duplicate inputs or a network whose activations do not depend "
            "on the input)")
    return value


def _check(opts: dict) -> None:
    acts = opts.get("activations")
    if acts is not None and not (isinstance(acts, (tuple, list)) and acts
                                 and all(isinstance(t, type) for t in acts)):
        raise ValueError("nwot option activations must be a non-empty tuple of nn.Module "
                         f"types, got {acts!r:.80}")


PROXY = Proxy(
    "nwot", nwot, needs=frozenset({"relu_kernel"}), higher_is_better=True, mode="train",
    options=frozenset({"activations"}), check_options=_check,
    reference="Mellor et al. ICML 2021 (v2); BayesWatch/nas-without-training; NASLib nwot.py",
)
