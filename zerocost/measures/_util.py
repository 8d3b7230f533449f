"""Small helpers shared by the per-layer measures."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from ..spec import ProxyUndefined


def total(values: Iterable[torch.Tensor]) -> float:
    """Sum of per-layer tensors, accumulated in float64 (NASLib's ``sum_arr``)."""
    s = 0.0
    for v in values:
        s += float(v.detach().to(torch.float64).sum())
    return s


def finite(value: float, what: str) -> float:
    """``value`` if finite, else :class:`ProxyUndefined` naming ``what``."""
    if not math.isfinite(value):
        raise ProxyUndefined(f"{what} is {value}")
    return value
