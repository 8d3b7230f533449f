"""jacov: score of the correlation matrix of the input Jacobians across the batch.

``J[n] = d sum(f(x)) / d x[n]`` (one backward of the summed output, as NASLib does),
``C = corrcoef(J)`` (``N x N``), eigenvalues ``v`` of ``C`` and
``score = -sum_i [log(v_i + k) + 1 / (v_i + k)]`` with ``k = 1e-5``. NASLib's variant
(Robin Ru) of Mellor et al.'s v1 score; it is at most ``-N`` (equality when the Jacobians are
uncorrelated), so on the NAS-Bench-Suite-Zero batch of 32 the values are about -32 .. -90.
Eigenvalues come from ``eigvalsh`` in float64 and are clipped at 0 (NASLib's ``np.linalg.eig``
can return complex or slightly negative values). Train mode. Reference: Mellor et
al., "Neural Architecture Search without Training", ICML 2021 (arXiv v1);
NASLib ``measures/jacov.py``. Higher is better.
"""

from __future__ import annotations

import torch

from ..context import ProxyContext
from ..spec import Proxy, ProxyUndefined
from ._util import finite

K = 1e-5


def corrcoef_rows(j: torch.Tensor, what: str) -> torch.Tensor:
    """Row correlation matrix (float64); :class:`ProxyUndefined` for constant rows."""
    j = j.reshape(j.shape[0], -1).to(torch.float64)
    centred = j - j.mean(1, keepdim=True)
    norms = centred.norm(dim=1)
    if bool((norms <= 1e-300).any()) or not bool(torch.isfinite(norms).all()):
        bad = int((norms <= 1e-300).sum())
        raise ProxyUndefined(f"{what}: {bad} sample(s) have a constant (e.g. all-zero) input "
                             "Jacobian, so their correlation is undefined")
    u = centred / norms[:, None]
    return (u @ u.T).clamp(-1.0, 1.0)


def jacov(ctx: ProxyContext) -> float:
    jac = ctx.product("input_grad")
    if jac.shape[0] < 2:
        raise ProxyUndefined("jacov needs a batch of at least 2 samples")
    corr = corrcoef_rows(jac, "jacov")
    v = torch.linalg.eigvalsh(corr).clamp_min(0.0)
    return finite(float(-(torch.log(v + K) + 1.0 / (v + K)).sum()), "jacov")


PROXY = Proxy(
    "jacov", jacov, needs=frozenset({"input_grad"}), higher_is_better=True, mode="train",
    reference="Mellor et al. ICML 2021 (arXiv v1); NASLib measures/jacov.py",
)
