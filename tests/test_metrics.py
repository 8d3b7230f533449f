"""Tests of eval.metrics against SciPy / scikit-learn and hand-computed cases."""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import mean_absolute_error, ndcg_score, root_mean_squared_error

from nasperf.eval.metrics import (
    HIGHER_IS_BETTER,
    METRICS,
    all_metrics,
    kendall_tau,
    mae,
    ndcg,
    pearson,
    precision_at_k,
    resolve_k,
    rmse,
    spearman,
    top_k_membership,
    top_k_overlap,
)


def tied_data(seed: int, n: int = 60):
    """Random data with many ties in both arguments."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 6, n).astype(float)
    p = np.round(y + rng.normal(0, 2, n))  # correlated, integer-valued: many ties
    return y, p


# -- correlations ----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_correlations_match_scipy_with_ties(seed):
    y, p = tied_data(seed)
    assert kendall_tau(y, p) == pytest.approx(scipy.stats.kendalltau(y, p).statistic, abs=1e-12)
    assert spearman(y, p) == pytest.approx(scipy.stats.spearmanr(y, p).statistic, abs=1e-12)
    assert pearson(y, p) == pytest.approx(scipy.stats.pearsonr(y, p).statistic, abs=1e-12)


def brute_tau_b(x, y):
    p = q = tx = ty = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            tx += 1
        elif dy == 0:
            ty += 1
        elif dx == dy:
            p += 1
        else:
            q += 1
    return (p - q) / math.sqrt((p + q + tx) * (p + q + ty))


def test_kendall_is_tau_b_by_its_definition():
    x = [1, 2, 2, 3, 3, 3, 4, 5]
    y = [2, 1, 2, 3, 3, 4, 4, 4]
    assert kendall_tau(x, y) == pytest.approx(brute_tau_b(x, y), abs=1e-12)


def test_signed_and_perfect():
    y = np.arange(10.0)
    assert kendall_tau(y, y) == pytest.approx(1.0)
    assert spearman(y, -y) == pytest.approx(-1.0)
    assert pearson(y, 2 * y + 1) == pytest.approx(1.0)


@pytest.mark.parametrize("metric", [kendall_tau, spearman, pearson])
def test_constant_input_gives_nan_with_warning(metric, caplog):
    with caplog.at_level(logging.WARNING, logger="nasperf.eval.metrics"):
        assert math.isnan(metric([1, 2, 3], [5, 5, 5]))
    assert "constant" in caplog.text


# -- input checks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(METRICS))
def test_length_mismatch(name):
    with pytest.raises(ValueError, match="4 values but y_pred has 3"):
        METRICS[name]([1, 2, 3, 4], [1, 2, 3])


@pytest.mark.parametrize("name", list(METRICS))
def test_nan_raises_with_counts(name):
    with pytest.raises(ValueError, match=r"y_true has 1 NaN\(s\) and y_pred has 2 NaN\(s\)"):
        METRICS[name]([1, np.nan, 3, 4, 5], [np.nan, 2, np.nan, 4, 3])


def test_nan_omit_drops_pairs_and_logs(caplog):
    y = [1.0, np.nan, 3.0, 4.0, 5.0, 2.0]
    p = [1.0, 2.0, np.nan, 4.0, 6.0, 3.0]
    with caplog.at_level(logging.WARNING, logger="nasperf.eval.metrics"):
        got = kendall_tau(y, p, nan_policy="omit")
    assert got == pytest.approx(scipy.stats.kendalltau([1, 4, 5, 2], [1, 4, 6, 3]).statistic)
    assert "dropped 2 of 6" in caplog.text


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="infinite"):
        spearman([1, 2, np.inf], [1, 2, 3])
    with pytest.raises(ValueError, match="nan_policy"):
        spearman([1, 2, 3], [1, 2, 3], nan_policy="drop")
    with pytest.raises(ValueError, match="1-D"):
        spearman(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        kendall_tau([1.0], [2.0])
    with pytest.raises(ValueError, match="numeric"):
        mae(["a", "b"], [1, 2])
    # an (n, 1) column and a pandas Series are fine
    pd = pytest.importorskip("pandas")
    assert pearson(pd.Series([1, 2, 3]), np.array([[1], [2], [4]])) > 0.9


# -- errors ----------------------------------------------------------------------------------------
def test_mae_rmse_match_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=50), rng.normal(size=50)
    assert mae(y, p) == pytest.approx(mean_absolute_error(y, p))
    assert rmse(y, p) == pytest.approx(root_mean_squared_error(y, p))


# -- top-k -----------------------------------------------------------------------------------------
def test_precision_at_k_without_ties():
    y = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], float)
    p = np.array([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], float)  # predicted top-3: items 0, 2, 4
    assert top_k_overlap(y, p, k=3) == 2.0  # true top-3: items 0, 1, 2
    assert precision_at_k(y, p, k=3) == pytest.approx(2 / 3)
    assert precision_at_k(y, y, k=4) == 1.0
    assert precision_at_k(y, -y, k=3) == 0.0


def test_precision_at_k_ties_at_the_boundary_by_hand():
    y = [5, 4, 3, 2, 1]
    p = [1, 1, 1, 0, 0]  # three items tied for 2 places: each in with probability 2/3
    assert top_k_overlap(y, p, k=2) == pytest.approx(4 / 3)
    assert precision_at_k(y, p, k=2) == pytest.approx(2 / 3)


def test_constant_prediction_is_chance():
    y = np.arange(20.0)
    assert precision_at_k(y, np.zeros(20), k=5) == pytest.approx(5 / 20)


def brute_membership(scores, k):
    """Frequency of being in the top-k over every random tie-breaking order."""
    n = len(scores)
    counts = np.zeros(n)
    perms = list(itertools.permutations(range(n)))
    for perm in perms:  # perm is a random secondary key
        order = sorted(range(n), key=lambda i: (-scores[i], perm[i]))
        counts[order[:k]] += 1
    return counts / len(perms)


@pytest.mark.parametrize("seed", range(5))
def test_tie_rule_is_the_exact_expectation(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 6).astype(float)
    p = rng.integers(0, 3, 6).astype(float)
    for k in (1, 2, 3, 5):
        np.testing.assert_allclose(top_k_membership(p, k), brute_membership(p, k))
        expected = brute_membership(y, k) @ brute_membership(p, k) / k
        assert precision_at_k(y, p, k=k) == pytest.approx(expected)


def test_resolve_k():
    assert resolve_k(0.05, 1000) == 50
    assert resolve_k(0.001, 100) == 1
    assert resolve_k(3, 10) == 3
    for bad in (0, 11, 1.5, 0.0, True, "3"):
        with pytest.raises(ValueError):
            resolve_k(bad, 10)


# -- NDCG ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [None, 1, 5, 20])
def test_ndcg_matches_sklearn_with_ties(seed, k):
    y, p = tied_data(seed, n=40)
    shift = y - y.min()
    assert ndcg(y, p, k=k, relevance="shift") == pytest.approx(
        ndcg_score(shift[None], p[None], k=k), abs=1e-12)
    rank_gain = (scipy.stats.rankdata(y) - 1) / (len(y) - 1)
    assert ndcg(y, p, k=k) == pytest.approx(ndcg_score(rank_gain[None], p[None], k=k), abs=1e-12)


def test_ndcg_by_hand():
    y = [3.0, 2.0, 1.0]
    # shift gains: 2, 1, 0. Predicted order: item 2, item 1, item 0.
    dcg = 0 / math.log2(2) + 1 / math.log2(3) + 2 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg(y, [1, 2, 3], relevance="shift") == pytest.approx(dcg / ideal)
    assert ndcg(y, y) == 1.0
    # ties: items 0 and 1 share positions 1-2 with mean gain 1.5
    tied = (1.5 / math.log2(2) + 1.5 / math.log2(3)) / ideal
    assert ndcg(y, [1, 1, 0], relevance="shift") == pytest.approx(tied)


def test_ndcg_undefined_and_bad_args(caplog):
    with caplog.at_level(logging.WARNING, logger="nasperf.eval.metrics"):
        assert math.isnan(ndcg([1, 1, 1], [1, 2, 3], relevance="shift"))
    assert ndcg([1, 1, 1], [1, 2, 3]) == 1.0  # rank gains all equal: every order is ideal
    with pytest.raises(ValueError, match="relevance"):
        ndcg([1, 2], [1, 2], relevance="exp")


# -- all_metrics / registry ------------------------------------------------------------------------
def test_all_metrics():
    y, p = tied_data(0, n=100)
    out = all_metrics(y, p, k=10)
    assert list(out) == list(METRICS) and set(HIGHER_IS_BETTER) == set(METRICS)
    assert out["kendall_tau"] == kendall_tau(y, p)
    assert out["precision_at_k"] == precision_at_k(y, p, k=10)
    assert out["ndcg"] == ndcg(y, p)
    assert list(all_metrics(y, p, metrics=("mae",))) == ["mae"]
    with pytest.raises(ValueError, match="unknown metric"):
        all_metrics(y, p, metrics=("r2",))
