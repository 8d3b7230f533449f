"""Acquisition functions: a predicted mean and std per candidate -> a score to maximise.

Every function is ``fn(mean, std, best, rng, **options) -> scores`` with ``mean``/``std`` of
shape ``(n_candidates,)`` (std may be None for ``greedy``), ``best`` the best value observed
so far and ``rng`` a ``numpy.random.Generator``. Higher scores are picked first.
:data:`ACQUISITIONS` maps a name to ``(fn, needs_std)``; :func:`register_acquisition` adds
one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

Acquisition = Callable[..., np.ndarray]


def greedy(mean, std, best, rng) -> np.ndarray:
    """The predicted mean (pure exploitation; any predictor)."""
    return np.asarray(mean, float)


def ucb(mean, std, best, rng, kappa: float = 1.0) -> np.ndarray:
    """Upper confidence bound ``mean + kappa * std``."""
    return np.asarray(mean, float) + kappa * np.asarray(std, float)


def ei(mean, std, best, rng, xi: float = 0.0) -> np.ndarray:
    """Expected improvement over ``best + xi`` under a Gaussian ``N(mean, std**2)``."""
    mean, std = np.asarray(mean, float), np.maximum(np.asarray(std, float), 1e-12)
    z = (mean - best - xi) / std
    return (mean - best - xi) * norm.cdf(z) + std * norm.pdf(z)


def its(mean, std, best, rng) -> np.ndarray:
    """Independent Thompson sampling: one draw from ``N(mean, std**2)`` per candidate
    (BANANAS' default)."""
    return rng.normal(np.asarray(mean, float), np.asarray(std, float))


#: name -> (function, whether it needs the predictor's std).
ACQUISITIONS: dict[str, tuple[Acquisition, bool]] = {
    "greedy": (greedy, False),
    "ucb": (ucb, True),
    "ei": (ei, True),
    "its": (its, True),
}


def register_acquisition(name: str, fn: Acquisition, needs_std: bool = True, *,
                         overwrite: bool = False) -> None:
    """Make ``acquisition=name`` use ``fn(mean, std, best, rng, **options)``."""
    if not callable(fn):
        raise TypeError(f"acquisition {name!r} must be callable, got {fn!r}")
    if name in ACQUISITIONS and not overwrite:
        raise ValueError(f"acquisition {name!r} is already registered; pass overwrite=True")
    ACQUISITIONS[name] = (fn, needs_std)


def get_acquisition(name: str) -> tuple[Acquisition, bool]:
    """``(fn, needs_std)`` of a registered acquisition."""
    if name not in ACQUISITIONS:
        raise ValueError(f"unknown acquisition {name!r}; known: {', '.join(ACQUISITIONS)}")
    return ACQUISITIONS[name]
