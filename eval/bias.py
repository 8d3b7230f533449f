"""Architectural biases of proxies and predictors, and their correction.

Follows NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 Datasets and Benchmarks,
arXiv:2210.03230), Section 4.3 and Tables 3, 4 and 7:

* A **bias metric** ``b(a)`` is an architectural quantity of architecture ``a``: *conv:pool*
  ("the numerical advantage of convolution to pooling operations in the cell"), *cell size*
  ("the number of non-zero operations in the cell"), *number of skip connections* and
  *number of parameters* (see :data:`ARCH_QUANTITIES`).
* The **bias** of a proxy ``f`` is the Pearson correlation between ``f(a)`` and ``b(a)`` over
  a set of architectures (:func:`bias_metrics`; Spearman and Kendall are options here).
* The **correction** is ``f'(a) = f(a) / (b(a) + C)``, with ``C`` tuned by brute force on a
  grid over [-10, 1000] for one of three objectives (:class:`BiasCorrector`):
  ``"minimize"`` the absolute bias of ``f'``; ``"equalize"`` it with the bias of the ground
  truth (``corr(f', b)`` as close as possible to ``corr(y, b)``); ``"performance"``:
  maximise ``corr(f', y)``.

Definitions checked against the paper's numbers on all 15,625 NB201 cells (docs/bias.md):
counts are taken over the operations *as written in the cell* (the six edges of an NB201
cell, including operations that ``none`` edges make unreachable), and conv:pool is the
difference ``#conv - #pool``. With these, the CIFAR-10 accuracy/l2_norm correlations with
conv:pool, cell size and skip count reproduce Table 3 to within 0.03. The ``*_live``
quantities count only operations on an input-to-output path (the pruned
:meth:`SearchSpace.to_graph` view) instead.

What counts as a convolution, pooling or skip connection is the space's
``space.op_taxonomy`` (op name -> :class:`~nasperf.searchspaces.OpInfo`); spaces that do not
spell theirs out get the generic guess from the op names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from nasperf.searchspaces import SearchSpace
from nasperf.searchspaces.taxonomy import guess_op_info, op_info

from .metrics import check_pair, kendall_tau, pearson, spearman

log = logging.getLogger(__name__)

# -- operations ------------------------------------------------------------------------------------
def op_kind(op: str, space: SearchSpace | None = None) -> str:
    """Kind of an operation: ``"none"``, ``"io"``, ``"conv"``, ``"pool"``, ``"skip"`` or
    ``"other"`` (see :data:`nasperf.searchspaces.taxonomy.OP_KINDS`).

    With ``space``, the op's entry in ``space.op_taxonomy`` (graph labels such as ``input0``
    are ``io``); without, the generic guess from the name
    (:func:`nasperf.searchspaces.taxonomy.guess_op_info`).
    """
    if space is None:
        return guess_op_info(op).kind
    return op_info(space.op_taxonomy, op).kind


def cell_ops(arch: Any, space: SearchSpace, live: bool = False) -> list[str]:
    """The operations of ``arch``'s cell(s), without ``none`` and the input/output nodes.

    Parameters
    ----------
    live : bool
        False (the paper's convention): the operations as written in the cell. When the
        architecture object stores its operation list (``arch.ops``, as the NB201 and
        TNB101-micro architectures do: one op per edge) that list is used, dead operations
        included; otherwise the nodes of ``space.to_graphs(arch)``. True: only operations on
        an input -> output path, i.e. the nodes of ``space.to_graphs(arch)`` (all cells).
    """
    return [op for op, _ in _cell_op_infos(arch, space, live)]


def _cell_op_infos(arch: Any, space: SearchSpace, live: bool) -> list[tuple[str, Any]]:
    """``(op, OpInfo)`` of every operation of :func:`cell_ops`."""
    tax = space.op_taxonomy
    ops = getattr(arch, "ops", None) if not live else None
    if not (isinstance(ops, Sequence) and ops and all(isinstance(o, str) for o in ops)):
        ops = [o for g in space.to_graphs(arch).values() for o in g.ops]
    infos = [(o, op_info(tax, o)) for o in ops]
    return [(o, info) for o, info in infos if info.is_operation]


def _kinds(arch: Any, space: SearchSpace, live: bool) -> list[str]:
    return [info.kind for _, info in _cell_op_infos(arch, space, live)]


def _counter(kinds: tuple[str, ...] | None, live: bool) -> Callable[[Any, Any], float]:
    """Number of operations of the given kinds (None: of every kind)."""
    def count(arch: Any, space: SearchSpace) -> float:
        return float(sum(kinds is None or k in kinds for k in _kinds(arch, space, live)))
    return count


def _conv_pool(live: bool) -> Callable[[Any, Any], float]:
    def conv_pool(arch: Any, space: SearchSpace) -> float:
        kinds = _kinds(arch, space, live)
        return float(kinds.count("conv") - kinds.count("pool"))
    return conv_pool


def n_params(arch: Any, space: Any, num_classes: int = 10) -> float:
    """Parameters of ``space.to_model(arch, num_classes)``, in millions (builds the network)."""
    model = space.to_model(arch, num_classes=num_classes)
    return sum(p.numel() for p in model.parameters()) / 1e6


#: Architectural quantity name -> ``f(arch, space) -> float``.
ARCH_QUANTITIES: dict[str, Callable[[Any, Any], float]] = {
    "cell_size": _counter(None, live=False),
    "conv_pool": _conv_pool(live=False),
    "n_conv": _counter(("conv",), live=False),
    "n_pool": _counter(("pool",), live=False),
    "n_skip": _counter(("skip",), live=False),
    "cell_size_live": _counter(None, live=True),
    "conv_pool_live": _conv_pool(live=True),
    "n_skip_live": _counter(("skip",), live=True),
    "params": n_params,
}

#: One-line meaning of each quantity (for tables and ``--help``).
QUANTITY_DOCS: dict[str, str] = {
    "cell_size": "number of non-none operations written in the cell (paper: 'cell size')",
    "conv_pool": "#conv - #pool operations in the cell (paper: 'conv:pool')",
    "n_conv": "number of convolutions in the cell",
    "n_pool": "number of pooling operations in the cell",
    "n_skip": "number of skip connections in the cell (paper: 'num. skip connections')",
    "cell_size_live": "cell_size counting only operations on an input->output path",
    "conv_pool_live": "conv_pool counting only operations on an input->output path",
    "n_skip_live": "n_skip counting only skips on an input->output path",
    "params": "parameters of the network in millions (paper: 'num. parameters')",
}


def compute_quantities(
    archs: Sequence[Any], space: Any, names: Sequence[str] = ("cell_size", "conv_pool", "n_skip"),
) -> pd.DataFrame:
    """Architectural quantities of ``archs``.

    Parameters
    ----------
    archs : sequence of architecture objects of ``space`` (or anything ``space.parse`` takes)
    space : str or SearchSpace
    names : names of :data:`ARCH_QUANTITIES` (``"params"`` builds every network: slow)

    Returns
    -------
    pandas.DataFrame of shape (len(archs), len(names))
    """
    from nasperf.searchspaces import get_space

    space = get_space(space)
    unknown = [q for q in names if q not in ARCH_QUANTITIES]
    if unknown:
        raise ValueError(f"unknown quantity {unknown}; known: {', '.join(ARCH_QUANTITIES)}")
    parsed = [space.parse(a) for a in archs]
    return pd.DataFrame({q: [ARCH_QUANTITIES[q](a, space) for a in parsed] for q in names},
                        dtype=float)


# -- bias metrics ----------------------------------------------------------------------------------
#: Correlation name -> ``f(x, y, nan_policy=...) -> float``.
CORRELATIONS: dict[str, Callable[..., float]] = {
    "pearson": pearson, "spearman": spearman, "kendall": kendall_tau,
}


def _correlation(method: str) -> Callable[..., float]:
    if method not in CORRELATIONS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(CORRELATIONS)}")
    return CORRELATIONS[method]


def _score_frame(scores: Any) -> pd.DataFrame:
    if isinstance(scores, pd.DataFrame):
        return scores.reset_index(drop=True)
    if isinstance(scores, Mapping):
        return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in scores.items()})
    if isinstance(scores, pd.Series):
        return scores.reset_index(drop=True).to_frame(scores.name or "score")
    arr = np.asarray(scores, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"scores must be 1-D, a dict or a DataFrame, got shape {arr.shape}")
    return pd.DataFrame({"score": arr})


def bias_metrics(
    scores: Any,
    archs: Sequence[Any] | None = None,
    space: Any = None,
    quantities: Sequence[str] | pd.DataFrame = ("cell_size", "conv_pool", "n_skip", "params"),
    method: str = "pearson",
    y: Any = None,
    nan_policy: str = "raise",
) -> pd.DataFrame:
    """Correlation of scores (proxies, predictions) with architectural quantities.

    Parameters
    ----------
    scores : array of shape (n,), dict name -> array, or DataFrame (one column per scorer)
    archs, space : the n architectures and their space; needed unless ``quantities`` is a
        DataFrame of precomputed values.
    quantities : names of :data:`ARCH_QUANTITIES`, or a DataFrame of shape (n, q) whose
        columns are the quantity values (e.g. the benchmark's ``params`` column).
    method : {"pearson", "spearman", "kendall"}
        Pearson is the paper's choice.
    y : array of shape (n,), optional
        Ground truth; adds a row ``"target"`` with ``corr(y, b)`` (the paper's "val-acc" row).
    nan_policy : {"raise", "omit"}
        "omit" drops, per cell of the table, the architectures with a NaN (logged).

    Returns
    -------
    pandas.DataFrame
        One row per scorer (plus ``"target"``), one column per quantity: signed correlations.
    """
    corr = _correlation(method)
    frame = _score_frame(scores)
    if isinstance(quantities, pd.DataFrame):
        qframe = quantities.reset_index(drop=True).astype(float)
    else:
        if archs is None or space is None:
            raise ValueError("pass archs and space, or precomputed quantities as a DataFrame")
        qframe = compute_quantities(archs, space, tuple(quantities))
    if y is not None:
        frame = frame.assign(target=np.asarray(y, dtype=float))
    if len(qframe) != len(frame):
        raise ValueError(f"{len(frame)} scores but {len(qframe)} rows of quantities")
    table = pd.DataFrame(index=frame.columns, columns=qframe.columns, dtype=float)
    for s in frame.columns:
        for q in qframe.columns:
            table.loc[s, q] = corr(qframe[q].to_numpy(), frame[s].to_numpy(),
                                   nan_policy=nan_policy)
    table.index.name = "scorer"
    table.columns.name = f"{method} correlation with"
    return table


def corr_rows(f: np.ndarray, b: np.ndarray, grid: np.ndarray, v: np.ndarray, method: str,
              chunk: int = 128) -> np.ndarray:
    """``corr(f / (b + c), v)`` for every ``c`` in ``grid``, vectorised for Pearson and
    Spearman (same values as :data:`CORRELATIONS`, without their per-call checks).

    Returns an array of shape ``grid.shape``; NaN where ``f / (b + c)`` is constant.
    """
    if method == "kendall":
        return np.array([kendall_tau(v, f / (b + c)) for c in grid])
    _correlation(method)
    if method == "spearman":
        v = scipy.stats.rankdata(v)
    vc = v - v.mean()
    out = np.empty(grid.shape[0])
    for start in range(0, grid.shape[0], chunk):
        m = f[None, :] / (b[None, :] + grid[start:start + chunk, None])
        if method == "spearman":
            m = scipy.stats.rankdata(m, axis=1)
        mc = m - m.mean(axis=1, keepdims=True)
        den = np.sqrt((mc ** 2).sum(axis=1) * (vc ** 2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (mc @ vc) / den
        out[start:start + chunk] = np.where(den > 0, np.clip(r, -1.0, 1.0), np.nan)
    return out


# -- correction ------------------------------------------------------------------------------------
def default_c_grid() -> np.ndarray:
    """Candidate values of ``C``: the paper's range [-10, 1000], step 0.02 up to 10, then 300
    log-spaced values to 1000."""
    grid = np.concatenate([np.arange(-500, 500) * 0.02, np.geomspace(10, 1000, 300)])
    return np.unique(np.round(grid, 9))


def _pick_minimize(bias: np.ndarray, perf: np.ndarray | None, target: float | None) -> int:
    return int(np.nanargmin(np.abs(bias)))


def _pick_equalize(bias: np.ndarray, perf: np.ndarray | None, target: float | None) -> int:
    return int(np.nanargmin(np.abs(bias - target)))


def _pick_performance(bias: np.ndarray, perf: np.ndarray | None, target: float | None) -> int:
    return int(np.nanargmax(perf))


#: Strategy name -> (needs ground truth, picker(bias_curve, perf_curve, target_bias) -> index).
STRATEGIES: dict[str, tuple[bool, Callable[..., int]]] = {
    "minimize": (False, _pick_minimize),
    "equalize": (True, _pick_equalize),
    "performance": (True, _pick_performance),
}


class BiasCorrector(RegressorMixin, BaseEstimator):
    """Divide a proxy by its bias: ``f'(a) = f(a) / (b(a) + C)`` (NAS-Bench-Suite-Zero, Eq. 2).

    A scikit-learn regressor whose input holds the score and the bias quantity: ``fit(X, y)``
    chooses ``C`` and ``predict(X)`` returns the corrected scores, so it can be the last
    step of a :class:`~sklearn.pipeline.Pipeline` and be cross-validated.

    Parameters
    ----------
    quantity : str, optional
        Name in :data:`ARCH_QUANTITIES`; used when ``bias=`` holds architectures instead of
        bias values (then ``space`` is needed too).
    strategy : {"minimize", "equalize", "performance"}
        How ``fit`` chooses ``C`` on the grid (ignored when ``C`` is given):
        ``"minimize"``: smallest ``|corr(f', b)|``; ``"equalize"``: ``corr(f', b)`` closest
        to ``corr(y, b)``, the bias of the ground truth; ``"performance"``: largest
        ``corr(f', y)``. The last two need ``y``. Ties go to the smallest ``C``.
    C : float, optional
        A fixed constant instead of a search.
    c_grid : array-like, optional
        Candidate constants (default :func:`default_c_grid`, the paper's [-10, 1000]). Only
        candidates with ``b(a) + C > 0`` for every training architecture are tried: a
        denominator that is zero is undefined and one that changes sign reverses the order of
        part of the architectures (see ``allow_sign_change``).
    allow_sign_change : bool
        Also try candidates with ``b(a) + C < 0`` for some architectures, excluding only
        ``b(a) + C == 0``: the paper's unrestricted search, needed to reproduce its
        "minimize" and "equalize" rows exactly (docs/bias.md). Architectures with a negative
        denominator get a score of the opposite sign.
    method : {"pearson", "spearman", "kendall"}
        Correlation used for bias and performance (the paper: Pearson); also ``score``'s.
    space : str or SearchSpace, optional
    score_column, bias_column : int or str, default 0 and 1
        Columns of a 2-D ``X`` holding the score ``f(a)`` and the bias quantity ``b(a)``:
        positions, or column names of a DataFrame. Other columns are ignored.

    Attributes
    ----------
    C_ : float
    bias_before_, bias_after_ : float
        ``corr(f, b)`` and ``corr(f', b)`` on the training data.
    perf_before_, perf_after_ : float
        ``corr(f, y)`` and ``corr(f', y)`` (NaN without ``y``).
    target_bias_ : float
        ``corr(y, b)`` (NaN without ``y``).
    c_grid_, bias_curve_, perf_curve_ : np.ndarray
        The valid candidates and the bias / performance of ``f'`` at each.

    Notes
    -----
    Two ways to pass the data to ``fit``, ``predict``, ``transform`` and ``fit_transform``:

    * ``X`` of shape ``(n, k)`` (array or DataFrame) with the score in ``score_column`` and
      ``b(a)`` in ``bias_column`` -- the scikit-learn way, e.g.
      ``cross_val_score(make_pipeline(..., BiasCorrector(strategy="performance")), X, y)``;
    * ``X`` = the scores, shape ``(n,)``, and ``bias=`` the values ``b(a)`` or the
      architectures (with ``quantity`` and ``space``): ``fit(scores, y, bias=b)``.

    ``predict`` and ``transform`` both return the corrected scores, shape ``(n,)``; they are
    ranking scores, not values on the scale of ``y``, so ``score(X, y)`` is ``corr(y, f')``
    with ``method`` (not R^2). The correction is meant for positive scores (e.g. log synflow,
    l2_norm): for a negative score, dividing by a larger ``b + C`` raises it. As
    ``C -> inf``, ``f'`` tends to a rescaled ``f``, so the original ranking is the limit of
    the search.
    """

    def __init__(self, *, quantity: str | None = None, strategy: str = "minimize",
                 C: float | None = None, c_grid: Any = None, method: str = "pearson",
                 allow_sign_change: bool = False, space: Any = None,
                 score_column: int | str = 0, bias_column: int | str = 1):
        self.quantity = quantity
        self.strategy = strategy
        self.C = C
        self.c_grid = c_grid
        self.method = method
        self.allow_sign_change = allow_sign_change
        self.space = space
        self.score_column = score_column
        self.bias_column = bias_column

    # -- helpers -----------------------------------------------------------------------------
    def _bias_values(self, bias: Any) -> np.ndarray:
        items = list(bias) if not isinstance(bias, np.ndarray) else bias
        if len(items) and not isinstance(items[0], (int, float, np.integer, np.floating)):
            if self.quantity is None or self.space is None:
                raise ValueError("architectures given as bias: set quantity and space, or "
                                 "pass the bias values b(a) directly")
            return compute_quantities(items, self.space, (self.quantity,))[self.quantity] \
                .to_numpy()
        return np.asarray(items, dtype=float)

    def _column(self, X: Any, column: int | str, what: str) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            if isinstance(column, str):
                if column not in X.columns:
                    raise ValueError(f"{what} {column!r} is not a column of X; columns: "
                                     f"{list(X.columns)}")
                return X[column].to_numpy(dtype=float)
            return X.iloc[:, column].to_numpy(dtype=float)
        if isinstance(column, str):
            raise ValueError(f"{what} {column!r} is a column name but X has none (not a "
                             "DataFrame); use a column position")
        return np.asarray(X, dtype=float)[:, column]

    def _split(self, X: Any, bias: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(scores f, bias b)``, each of shape (n,), from ``X`` and the ``bias`` argument."""
        if bias is not None:
            f = np.asarray(X, dtype=float)
            if f.ndim == 2 and f.shape[1] == 1:
                f = f[:, 0]
            return f, self._bias_values(bias)
        ndim = np.ndim(X)
        if ndim != 2:
            raise ValueError(
                f"X has {ndim} dimension(s): pass X of shape (n, k) with the score in "
                f"score_column={self.score_column!r} and b(a) in "
                f"bias_column={self.bias_column!r}, or the scores with bias=b(a)"
            )
        try:
            return (self._column(X, self.score_column, "score_column"),
                    self._column(X, self.bias_column, "bias_column"))
        except IndexError as exc:
            raise ValueError(f"score_column / bias_column out of range for X of shape "
                             f"{np.shape(X)}: {exc}") from None

    def _check_denominator(self, denom: np.ndarray, C: float) -> None:
        bad = denom == 0 if self.allow_sign_change else denom <= 0
        if bad.any():
            raise ValueError(
                f"b(a) + C {'==' if self.allow_sign_change else '<='} 0 for {int(bad.sum())} "
                f"architecture(s) (C={C:g}, min b(a)={float(np.min(denom - C)):g}): f/(b+C) is "
                "undefined or reverses their order; choose C > -min b(a)"
            )

    # -- API -----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, bias: Any = None) -> BiasCorrector:
        """Choose ``C`` on training data.

        Parameters
        ----------
        X : array or DataFrame of shape (n, k), or the scores of shape (n,) with ``bias``
            The score ``f(a)`` (no NaN) and the bias quantity ``b(a)`` in ``score_column``
            and ``bias_column`` (see the class notes).
        y : array of shape (n,), optional
            Ground truth (needed for "equalize" and "performance").
        bias : array of shape (n,) of ``b(a)``, or a sequence of n architectures, optional
            Only with ``X`` holding the scores alone.
        """
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; known: {', '.join(STRATEGIES)}")
        corr = _correlation(self.method)
        scores, b = self._split(X, bias)
        b, f = check_pair(b, scores, "raise", 3, "BiasCorrector.fit")
        if y is not None:
            yy, _ = check_pair(y, f, "raise", 3, "BiasCorrector.fit (y)")
        elif STRATEGIES[self.strategy][0] and self.C is None:
            raise ValueError(f"strategy {self.strategy!r} needs the ground truth y")
        if (f < 0).any():
            log.warning("BiasCorrector: %d negative score(s); f/(b+C) shrinks positive scores "
                        "but raises negative ones", int((f < 0).sum()))
        if self.C is not None:
            grid = np.array([float(self.C)])
            self._check_denominator(b + grid[0], grid[0])
        else:
            grid = default_c_grid() if self.c_grid is None else np.asarray(self.c_grid, float)
            if self.allow_sign_change:
                nearest = np.abs(grid[:, None] + np.unique(b)[None, :]).min(axis=1)
                grid = np.sort(grid[nearest > 1e-12])
            else:
                grid = np.sort(grid[grid > -b.min()])
            if grid.size == 0:
                raise ValueError(f"no candidate C with b(a) + C > 0 for all a (min b(a) = "
                                 f"{b.min():g}); extend c_grid above {-b.min():g}")
        bias_curve = corr_rows(f, b, grid, b, self.method)
        perf_curve = (corr_rows(f, b, grid, yy, self.method) if y is not None
                      else np.full(grid.shape, np.nan))
        self.target_bias_ = corr(b, yy) if y is not None else float("nan")
        if self.C is not None:
            i = 0
        else:
            curve = perf_curve if self.strategy == "performance" else bias_curve
            if np.isnan(curve).all():
                raise ValueError("the correlation is undefined (NaN) for every candidate C")
            i = STRATEGIES[self.strategy][1](bias_curve, perf_curve, self.target_bias_)
        self.C_ = float(grid[i])
        self.bias_before_ = corr(b, f)
        self.perf_before_ = corr(yy, f) if y is not None else float("nan")
        self.bias_after_ = float(bias_curve[i])
        self.perf_after_ = float(perf_curve[i])
        self.c_grid_, self.bias_curve_, self.perf_curve_ = grid, bias_curve, perf_curve
        return self

    def predict(self, X: Any, *, bias: Any = None) -> np.ndarray:
        """Corrected scores ``f(a) / (b(a) + C_)``, shape (n,). NaN scores stay NaN.

        ``X`` and ``bias`` as for :meth:`fit`.
        """
        check_is_fitted(self, "C_")
        f, b = self._split(X, bias)
        if f.shape != b.shape or f.ndim != 1:
            raise ValueError(f"scores {f.shape} and bias {b.shape} must be 1-D of equal length")
        if np.isnan(b).any():
            raise ValueError(f"bias has {int(np.isnan(b).sum())} NaN value(s)")
        self._check_denominator(b + self.C_, self.C_)
        return f / (b + self.C_)

    def transform(self, X: Any, *, bias: Any = None) -> np.ndarray:
        """The corrected scores, shape (n,): the same as :meth:`predict`."""
        return self.predict(X, bias=bias)

    def fit_transform(self, X: Any, y: Any = None, *, bias: Any = None) -> np.ndarray:
        """``fit(X, y, bias=bias)`` then the corrected training scores, shape (n,)."""
        return self.fit(X, y, bias=bias).predict(X, bias=bias)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """``corr(y, predict(X))`` with ``method`` (the "performance" of the corrected score).

        ``sample_weight`` is not supported. Undefined (NaN) for constant inputs.
        """
        if sample_weight is not None:
            raise ValueError("BiasCorrector.score does not support sample_weight")
        return _correlation(self.method)(y, self.predict(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # corrected scores are not on the scale of y
        return tags


def correction_table(
    scores: Any, bias: Any, y: Any, strategies: Sequence[str] = tuple(STRATEGIES),
    method: str = "pearson", c_grid: Any = None, fit_index: Any = None,
    allow_sign_change: bool = False,
) -> pd.DataFrame:
    """Before/after bias and performance of :class:`BiasCorrector` for several strategies.

    Parameters
    ----------
    scores, bias, y : arrays of shape (n,)
    fit_index : array of indices or boolean mask, optional
        Architectures on which ``C`` is chosen; the table reports the *other* ones. Default:
        choose and report on all (in-sample, as in the paper's Table 4).
    allow_sign_change : bool
        See :class:`BiasCorrector`.

    Returns
    -------
    pandas.DataFrame
        One row per strategy: ``C``, ``original_bias``, ``original_perf``, ``new_bias``,
        ``new_perf`` (correlations computed with ``method``) and ``n`` (architectures reported).
    """
    corr = _correlation(method)
    f, b, yy = (np.asarray(v, dtype=float) for v in (scores, bias, y))
    fit_mask = np.ones(f.shape, bool)
    if fit_index is not None:
        fit_mask = np.zeros(f.shape, bool)
        fit_mask[np.asarray(fit_index)] = True
        if fit_mask.all():
            raise ValueError("fit_index covers every architecture: nothing left to report on")
    report = ~fit_mask if fit_index is not None else fit_mask
    rows = []
    for strategy in strategies:
        bc = BiasCorrector(strategy=strategy, method=method, c_grid=c_grid,
                           allow_sign_change=allow_sign_change)
        bc.fit(f[fit_mask], yy[fit_mask], bias=b[fit_mask])
        g = bc.predict(f[report], bias=b[report])
        rows.append({
            "strategy": strategy, "C": bc.C_,
            "original_bias": corr(b[report], f[report]),
            "original_perf": corr(yy[report], f[report]),
            "new_bias": corr(b[report], g), "new_perf": corr(yy[report], g),
            "n": int(report.sum()),
        })
    return pd.DataFrame(rows)


# -- paper reference values ------------------------------------------------------------------------
#: NAS-Bench-Suite-Zero Table 4 (Pearson; all 15,625 NB201 cells): (proxy, dataset, quantity)
#: -> {strategy: (new bias, new perf)} plus "original": (bias, perf).
PAPER_TABLE4: dict[tuple[str, str, str], dict[str, tuple[float, float]]] = {
    ("l2_norm", "cifar10", "conv_pool"): {
        "original": (0.87, 0.42), "minimize": (0.00, 0.10), "equalize": (0.37, 0.11),
        "performance": (0.70, 0.44)},
    ("synflow", "cifar100", "cell_size"): {
        "original": (0.57, 0.68), "minimize": (0.01, 0.64), "equalize": (0.35, 0.71),
        "performance": (0.35, 0.71)},
    ("synflow", "ImageNet16-120", "cell_size"): {
        "original": (0.58, 0.76), "minimize": (0.01, 0.62), "equalize": (0.43, 0.76),
        "performance": (0.46, 0.76)},
}
