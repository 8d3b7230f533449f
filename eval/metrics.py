"""Metrics of how well a predictor (or a zero-cost proxy) ranks and predicts architectures.

Every metric takes ``(y_true, y_pred)``: two 1-D arrays of the same length ``n`` (lists,
NumPy arrays or pandas Series; an ``(n, 1)`` column is accepted too). ``y_true`` is the
ground truth (e.g. validation accuracy), ``y_pred`` a prediction or a proxy score where
larger means "predicted better". Metrics are signed: a proxy that ranks in reverse gets a
negative correlation (no ``abs()``).

Conventions shared by all metrics
---------------------------------
* **NaN.** With ``nan_policy="raise"`` (default) an input containing NaN raises a
  ``ValueError`` that says how many NaNs each argument holds. With ``nan_policy="omit"`` the
  pairs in which either value is NaN are dropped and the number dropped is logged (warning).
  Infinite values always raise: transform the scores first (e.g. ``log``).
* **Undefined results.** The correlations return NaN (with a logged warning) only where
  SciPy does too: when one of the inputs is constant, so that the coefficient is 0/0.
  Nothing else returns NaN.
* **Ties.** Rank correlations use tie-corrected definitions (Kendall tau-b, Spearman on
  average ranks). Top-k metrics and NDCG break ties *in expectation*: the value returned is
  the exact average over all ways of breaking the ties uniformly at random (see
  :func:`top_k_overlap` and :func:`ndcg`), so equal scores are neither rewarded nor punished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import scipy.stats

from nasperf._utils import check_pair, is_constant, kendall_tau

log = logging.getLogger(__name__)



# -- correlations ---------------------------------------------------------------------------------
def spearman(y_true, y_pred, nan_policy: str = "raise") -> float:
    """Spearman's rho: the Pearson correlation of the average ranks (ties share the mean rank).

    Equal to ``scipy.stats.spearmanr``. In [-1, 1]; NaN if either input is constant.
    """
    a, b = check_pair(y_true, y_pred, nan_policy, 2, "spearman")
    if is_constant(a, b, "spearman"):
        return float("nan")
    return float(scipy.stats.spearmanr(a, b).statistic)


def pearson(y_true, y_pred, nan_policy: str = "raise") -> float:
    """Pearson's linear correlation ``cov(y, p) / (std(y) std(p))`` (``scipy.stats.pearsonr``).

    Sensitive to outliers and to monotone transforms of the scores (e.g. ``log``), unlike
    the rank correlations. In [-1, 1]; NaN if either input is constant.
    """
    a, b = check_pair(y_true, y_pred, nan_policy, 2, "pearson")
    if is_constant(a, b, "pearson"):
        return float("nan")
    return float(scipy.stats.pearsonr(a, b).statistic)


# -- errors ----------------------------------------------------------------------------------------
def mae(y_true, y_pred, nan_policy: str = "raise") -> float:
    """Mean absolute error ``mean(|y_true - y_pred|)``, in the target's units.

    Only meaningful for predictions on the target's scale (not for raw proxy scores).
    """
    a, b = check_pair(y_true, y_pred, nan_policy, 1, "mae")
    return float(np.mean(np.abs(a - b)))


def rmse(y_true, y_pred, nan_policy: str = "raise") -> float:
    """Root mean squared error ``sqrt(mean((y_true - y_pred)**2))``, in the target's units."""
    a, b = check_pair(y_true, y_pred, nan_policy, 1, "rmse")
    return float(np.sqrt(np.mean((a - b) ** 2)))


# -- top-k ----------------------------------------------------------------------------------------
def resolve_k(k: int | float, n: int) -> int:
    """``k`` as a count: an int in ``[1, n]``, or a float in (0, 1) taken as a fraction of ``n``
    (``max(1, round(k * n))``)."""
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f"k must be an int or a fraction in (0, 1), got {k!r}")
    if isinstance(k, (int, np.integer)):
        if not 1 <= k <= n:
            raise ValueError(f"k={int(k)} is outside [1, n={n}]")
        return int(k)
    if isinstance(k, (float, np.floating)) and 0.0 < k < 1.0:
        return max(1, int(round(float(k) * n)))
    raise ValueError(f"k must be an int in [1, n] or a float fraction in (0, 1), got {k!r}")


def top_k_membership(scores: np.ndarray, k: int) -> np.ndarray:
    """Probability that each item is among the ``k`` highest scores.

    Items strictly above the k-th highest score are in (1), items below are out (0); the
    ``m`` items tied *at* the k-th score share the ``r`` remaining places, each with
    probability ``r / m`` (ties broken uniformly at random). The probabilities sum to ``k``.
    """
    scores = np.asarray(scores, dtype=float)
    threshold = np.sort(scores)[::-1][k - 1]
    above = scores > threshold
    tied = scores == threshold
    p = above.astype(float)
    p[tied] = (k - int(above.sum())) / int(tied.sum())
    return p


def top_k_overlap(y_true, y_pred, k: int | float = 0.05, nan_policy: str = "raise") -> float:
    """Expected number of architectures in both the true and the predicted top-k.

    ``E|T_k ∩ P_k| = sum_i P(i in T_k) * P(i in P_k)``, where ``T_k`` / ``P_k`` are the
    ``k`` items with the largest ``y_true`` / ``y_pred``, and ties at the k-th place are
    broken uniformly at random and independently in the two rankings (see
    :func:`top_k_membership`). Without ties at the boundary this is the plain integer
    ``|T_k ∩ P_k|``.

    Parameters
    ----------
    k : int or float
        Size of the top set: an int in ``[1, n]`` or a fraction of ``n`` in (0, 1).
    """
    a, b = check_pair(y_true, y_pred, nan_policy, 1, "top_k_overlap")
    kk = resolve_k(k, a.shape[0])
    return float(np.dot(top_k_membership(a, kk), top_k_membership(b, kk)))


def precision_at_k(y_true, y_pred, k: int | float = 0.05, nan_policy: str = "raise") -> float:
    """Fraction of the predicted top-k that is in the true top-k: ``top_k_overlap / k``.

    Ties at the k-th place (in either ranking) are broken uniformly at random and the
    expectation is returned, so a constant predictor scores exactly ``k / n`` (chance) and
    the result needs no random seed. In [0, 1].

    Parameters
    ----------
    k : int or float
        An int in ``[1, n]`` or a fraction of ``n`` in (0, 1) (``0.05``: the top 5 %).
    """
    a, b = check_pair(y_true, y_pred, nan_policy, 1, "precision_at_k")
    kk = resolve_k(k, a.shape[0])
    return float(np.dot(top_k_membership(a, kk), top_k_membership(b, kk)) / kk)


# -- NDCG -----------------------------------------------------------------------------------------
def _relevance(y_true: np.ndarray, relevance: str) -> np.ndarray:
    if relevance == "rank":
        return (scipy.stats.rankdata(y_true, method="average") - 1.0) / (y_true.shape[0] - 1)
    if relevance == "shift":
        return y_true - y_true.min()
    raise ValueError(f"relevance must be 'rank' or 'shift', got {relevance!r}")


def _tie_averaged_dcg(gain: np.ndarray, scores: np.ndarray, k: int) -> float:
    """DCG of the order by decreasing ``scores``, averaged over random orders within ties."""
    n = gain.shape[0]
    discount = 1.0 / np.log2(np.arange(n) + 2.0)
    discount[k:] = 0.0
    cum = np.concatenate([[0.0], np.cumsum(discount)])
    _, inverse, counts = np.unique(-scores, return_inverse=True, return_counts=True)
    group_gain = np.bincount(inverse, weights=gain, minlength=counts.shape[0]) / counts
    ends = np.cumsum(counts)
    return float(np.sum(group_gain * (cum[ends] - cum[ends - counts])))


def ndcg(
    y_true, y_pred, k: int | float | None = None, relevance: str = "rank",
    nan_policy: str = "raise",
) -> float:
    """Normalised discounted cumulative gain of the order given by ``y_pred``.

    ``DCG@k = sum_{r=1..k} g(item at position r) / log2(r + 1)`` over the items sorted by
    decreasing ``y_pred``, and ``NDCG@k = DCG@k / ideal DCG@k`` (items sorted by their gain).
    Gains are linear (no ``2**g - 1``), as in :func:`sklearn.metrics.ndcg_score`.
    Items tied in ``y_pred`` all receive the mean gain of their group at the group's
    positions, i.e. the expected DCG over random tie-breaking (sklearn's default too).

    Parameters
    ----------
    k : int, float or None
        Cut-off: an int, a fraction of ``n``, or None for the whole list.
    relevance : {"rank", "shift"}
        The gain ``g`` of an item. ``"rank"`` (default): its average rank by ``y_true``
        scaled to [0, 1] (worst 0, best 1), invariant to monotone transforms of the target
        and not dominated by a few failed networks at 10 % accuracy. ``"shift"``:
        ``y_true - min(y_true)``, the classic accuracy-valued gain.

    Returns
    -------
    float
        In [0, 1]; NaN (with a warning) when every gain is 0 (``relevance="shift"`` with a
        constant ``y_true``), where no order is better than another.
    """
    a, b = check_pair(y_true, y_pred, nan_policy, 2, "ndcg")
    n = a.shape[0]
    kk = n if k is None else resolve_k(k, n)
    gain = _relevance(a, relevance)
    ideal = _tie_averaged_dcg(gain, gain, kk)
    if ideal == 0.0:
        log.warning("ndcg: every gain is 0 (constant y_true), NDCG is undefined; returning NaN")
        return float("nan")
    return _tie_averaged_dcg(gain, b, kk) / ideal


# -- registry -------------------------------------------------------------------------------------
#: Metric name -> function ``f(y_true, y_pred, nan_policy=...) -> float``.
METRICS: dict[str, Callable[..., float]] = {
    "kendall_tau": kendall_tau,
    "spearman": spearman,
    "pearson": pearson,
    "mae": mae,
    "rmse": rmse,
    "precision_at_k": precision_at_k,
    "top_k_overlap": top_k_overlap,
    "ndcg": ndcg,
}

#: Whether a larger value of the metric is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "kendall_tau": True, "spearman": True, "pearson": True, "mae": False, "rmse": False,
    "precision_at_k": True, "top_k_overlap": True, "ndcg": True,
}

#: Metrics that take a top-k size ``k``.
_TAKES_K = ("precision_at_k", "top_k_overlap", "ndcg")


def all_metrics(
    y_true, y_pred, k: int | float = 0.05, ndcg_k: int | float | None = None,
    metrics: tuple[str, ...] | None = None, nan_policy: str = "raise",
) -> dict[str, float]:
    """Every metric of :data:`METRICS` (or the ones named in ``metrics``) on one prediction.

    Parameters
    ----------
    k : int or float
        Top-k size for ``precision_at_k`` and ``top_k_overlap`` (default: top 5 %).
    ndcg_k : int, float or None
        Cut-off of ``ndcg`` (default: the whole list).
    nan_policy : {"raise", "omit"}
        Applied once, to all metrics alike.

    Returns
    -------
    dict
        Metric name -> value, in :data:`METRICS` order.
    """
    names = tuple(METRICS) if metrics is None else tuple(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
    a, b = check_pair(y_true, y_pred, nan_policy, 2, "all_metrics")
    out = {}
    for name in names:
        if name == "ndcg":
            out[name] = ndcg(a, b, k=ndcg_k)
        elif name in _TAKES_K:
            out[name] = METRICS[name](a, b, k=k)
        else:
            out[name] = METRICS[name](a, b)
    return out
