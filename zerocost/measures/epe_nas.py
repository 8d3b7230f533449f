"""epe_nas: per-class correlation of input Jacobians (EPE-NAS).

Input Jacobians ``J[n] = d sum(f(x)) / d x[n]`` are grouped by class label. For each class
``c``: ``s_c = sum log(|corrcoef(J_c)| + k)`` with ``k = 1e-5`` (a class with one sample gives
``log(1 + k)``). With at most 100 classes (the output size) the score is ``sum_c |s_c|``;
with more, ``s_c`` is divided by the class size and the score is
``sum_{c, c'} |s_c - s_c'| / n_classes_seen`` (classes with one sample are skipped), as in
NASLib. One-hot / probability targets (rows summing to 1) are turned into labels by ``argmax``;
regression targets give NaN. Train mode.
Reference: Lopes et al., "EPE-NAS: Efficient Performance Estimation Without Training for
Neural Architecture Search", ICANN 2021; NASLib ``measures/epe_nas.py``. Higher is better.
"""

from __future__ import annotations

import math

import torch

from ..context import ProxyContext
from ..spec import Proxy, ProxyUndefined
from ._util import finite
from .jacov import corrcoef_rows

K = 1e-5


def _labels(y: torch.Tensor | None) -> torch.Tensor:
    if y is None:
        raise ProxyUndefined("epe_nas needs class labels")
    if y.ndim == 2 and y.is_floating_point() and y.shape[1] > 1 and bool((y >= 0).all()) \
            and torch.allclose(y.sum(1), torch.ones_like(y[:, 0]), atol=1e-4):
        return y.argmax(1)  # one-hot or probability targets
    if y.ndim != 1 or y.is_floating_point():
        raise ProxyUndefined(
            f"epe_nas needs integer class labels (or one-hot targets); got targets of shape "
            f"{tuple(y.shape)} and dtype {y.dtype}")
    return y


def epe_nas(ctx: ProxyContext) -> float:
    jac = ctx.product("input_grad")
    n_classes = ctx.product("output").shape[-1]
    labels = _labels(ctx.y).to(jac.device)
    big = n_classes > 100
    per_class: dict[int, float] = {}
    for c in dict.fromkeys(labels.tolist()):
        rows = jac[labels == c]
        if rows.shape[0] == 1:
            if not big:
                per_class[c] = math.log(1.0 + K)
            continue
        corr = corrcoef_rows(rows, f"epe_nas (class {c})")
        s = float(torch.log(corr.abs() + K).sum())
        per_class[c] = s / rows.shape[0] if big else s
    if not per_class:
        raise ProxyUndefined("epe_nas: no class has two samples in the batch")
    vals = list(per_class.values())
    if not big:
        score = sum(abs(s) for s in vals)
    else:
        score = sum(abs(a - b) for a in vals for b in vals) / len(vals)
    return finite(score, "epe_nas")


PROXY = Proxy(
    "epe_nas", epe_nas, needs=frozenset({"input_grad", "output"}), higher_is_better=True,
    mode="train", needs_targets=True,
    reference="Lopes et al. ICANN 2021; NASLib measures/epe_nas.py",
)
