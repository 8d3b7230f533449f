"""Shared plumbing of every predictor: input validation, the NaN/inf policy, timing, scoring.

Every predictor in this package is a scikit-learn regressor built on :class:`BasePredictor`.
Subclasses implement two hooks on clean ``float64`` arrays:

* ``_fit(X, y)`` -- ``X`` of shape ``(n_samples, n_features)`` with only finite values,
  ``y`` of shape ``(n_samples,)``; learned state goes into attributes ending in ``_``.
* ``_predict(X, return_std)`` -- returns ``mean`` or ``(mean, std)``, each ``(n_samples,)``.

NaN / inf policy (parameter ``nan_policy`` of every predictor)
---------------------------------------------------------------
Features such as zero-cost proxies are NaN or inf when a proxy failed on a network. A
predictor never sees a non-finite value: ``fit`` and ``predict`` apply one documented policy.

``"impute"`` (default)
    ``fit`` learns, per column, the median of the finite training values (``impute_values_``)
    and replaces every NaN, +inf and -inf in the training and later prediction inputs by it.
    A column with no finite training value is imputed with 0.0 (logged at INFO level).
    Targets ``y`` must always be finite: a NaN/inf target raises ``ValueError``.
``"raise"``
    Any NaN or inf in ``X`` raises ``ValueError`` naming the affected rows and columns.

Huge finite values (both policies)
----------------------------------
Some features are finite but far beyond float32 range (raw ``synflow`` reaches 1e61), which
tree libraries that work in float32 (scikit-learn forests, XGBoost) cannot take. After the
NaN/inf policy, ``fit`` marks every column whose largest finite ``|x|`` exceeds
:data:`HUGE_VALUE` (1e30, a safe margin below float32's 3.4e38) in ``log_columns_`` and
logs them (count and names) at INFO level; in those columns, at fit and at predict alike,
every value ``x`` is replaced by the signed log ``sign(x) * log1p(|x|)``
(:func:`signed_log`). The transform is strictly increasing, so the order of the column --
all a tree sees -- is kept exactly, including between 1e40 and 1e61 and for negative and
mixed-sign columns (clipping at float32's maximum would tie all of them); the results are
at most about 710 in absolute value. A value beyond ``HUGE_VALUE`` at predict in a column
that had none at fit is clipped to ``+-HUGE_VALUE`` (it is beyond every training value of
its column either way), with a WARNING giving the count. :meth:`BasePredictor.clean_input`
returns the array the model sees after these steps.

Timing: ``fit`` stores its wall time in ``fit_time_`` (seconds) and logs it, with the data
shape, at INFO level on the ``predictors`` logger; ``predict`` logs its time at DEBUG level
(it does not store it: ``predict`` never changes the estimator).

Nested parameters (``get_params`` / ``set_params``)
---------------------------------------------------
Some predictors hold the settings of an inner model in a dict parameter (``params`` of
:class:`~nasperf.predictors.trees.TreePredictor`, ``base_params`` / ``stack_params`` of
:class:`~nasperf.predictors.omni.OmniPredictor`, ...). Their entries are reachable with
scikit-learn's ``<parameter>__<key>`` syntax, so ``GridSearchCV`` can tune them:

* ``get_params(deep=True)`` lists every entry of such a dict as ``<parameter>__<key>``
  (recursively: a dict value ``{"params": {"n_estimators": 50}}`` is also listed as
  ``<parameter>__params__n_estimators``).
* ``set_params(<parameter>__<key>=value)`` replaces the dict by an updated *copy* (the
  caller's dict is never modified); ``None`` counts as an empty dict. A key ``a__b`` updates
  the dict stored under ``a`` when there is one, and is stored as ``"a__b"`` otherwise: such
  keys are applied with ``set_params`` when the inner model is built (see
  :func:`make_estimator`). Unknown keys are reported by ``fit``.

Feature groups
--------------
A *feature group* (family) is a named set of columns of ``X``: ``feature_groups`` maps a
group name to a ``slice`` or a list of column indices (:func:`resolve_groups`). When no
groups are given but ``X`` is a DataFrame, predictors that need groups derive them from the
column names (:func:`groups_from_names`): the toolkit's feature builder
(:func:`nasperf.eval.features.build_features`) names its columns ``"<group>:<feature>"``,
e.g. ``"zc:synflow"`` (group ``"zc"``) or ``"graf_all:op_count_..."`` (group ``"graf_all"``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import make_scorer
from sklearn.utils.validation import check_is_fitted, validate_data

from nasperf._utils import kendall_tau

logger = logging.getLogger("nasperf.predictors")

#: Accepted values of the ``nan_policy`` parameter.
NAN_POLICIES = ("impute", "raise")

#: Columns with a finite ``|x|`` above this at fit are signed-log transformed (module
#: docstring); float32's largest value is about 3.4e38.
HUGE_VALUE = 1e30


def signed_log(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``, elementwise: strictly increasing, odd, ``0 -> 0``."""
    return np.sign(x) * np.log1p(np.abs(x))


def kendall_tau_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Kendall rank correlation (tau-b) between targets and predictions.

    The toolkit's one Kendall tau (:func:`nasperf._utils.kendall_tau`): NaN when either
    input is constant (tau is undefined there); NaN or infinite inputs raise. Model selection
    with :data:`kendall_scorer` ranks NaN scores last.
    """
    return kendall_tau(y_true, y_pred)


#: A scikit-learn scorer (greater is better) for cross-validation by Kendall tau.
kendall_scorer = make_scorer(kendall_tau_score)


@contextmanager
def timed(what: str, shape: tuple[int, ...], level: int = logging.INFO) -> Iterator[dict]:
    """Measure the wall time of a block and log ``what``, the data ``shape`` and seconds.

    Yields a dict whose ``"seconds"`` entry is filled when the block ends.
    """
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - start
        logger.log(level, "%s on X of shape %s took %.3f s", what, shape, out["seconds"])


def seeds_from(random_state, n: int) -> list[int]:
    """``n`` integer seeds drawn from a ``random_state`` (int, Generator-like or None)."""
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(0, 2**31 - 1, size=n)]


def is_graph_data(obj: Any) -> bool:
    """True for a ``torch_geometric.data.Data`` (without importing torch-geometric)."""
    return any(c.__name__ == "Data" and c.__module__.startswith("torch_geometric")
               for c in type(obj).__mro__)


def graph_column(X: Any) -> int | None:
    """Position of the column of ``torch_geometric`` graphs of a 2-D table (a DataFrame or
    an object array), or None when it has none (numeric features).

    Raises
    ------
    ValueError
        More than one column holds graphs, or a column mixes graphs and other values.
    """
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        objects = [j for j in range(X.shape[1]) if getattr(X.dtypes.iloc[j], "kind", "") == "O"]
        column = lambda j: X.iloc[:, j].to_numpy()  # noqa: E731
    elif isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == object:
        objects = list(range(X.shape[1]))
        column = lambda j: X[:, j]  # noqa: E731
    else:
        return None
    found = []
    for j in objects:
        flags = [is_graph_data(v) for v in column(j)]
        if any(flags) and not all(flags):
            raise ValueError(f"column {j} mixes graphs and other values")
        if flags and all(flags):
            found.append(j)
    if len(found) > 1:
        raise ValueError(f"columns {found} hold graphs; at most one column of graphs is allowed")
    return found[0] if found else None


def resolve_groups(feature_groups: Mapping | None, n_features: int) -> dict[str, np.ndarray]:
    """Column indices ``{name: int array}`` of each feature group, checked against ``n_features``.

    Parameters
    ----------
    feature_groups : dict[str, slice | list[int]] or None
        Group name -> columns of ``X``; negative indices count from the end. ``None`` means
        one group ``"all"`` with every column.
    n_features : int
        Number of columns of ``X``.

    Raises
    ------
    ValueError
        ``feature_groups`` is not a non-empty dict, a group is neither a slice nor a list of
        ints, has an index outside ``[-n_features, n_features)`` or selects no column.
    """
    if feature_groups is None:
        return {"all": np.arange(n_features)}
    if not isinstance(feature_groups, Mapping) or not feature_groups:
        raise ValueError("feature_groups must be a non-empty dict name -> slice | list[int]")
    out = {}
    for name, cols in feature_groups.items():
        if isinstance(cols, slice):
            idx = np.arange(n_features)[cols]
        else:
            idx = np.asarray(cols)
            if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
                raise ValueError(f"feature group {name!r} must be a slice or a list of ints")
            if idx.size and (idx.min() < -n_features or idx.max() >= n_features):
                raise ValueError(
                    f"feature group {name!r} has column indices outside [0, {n_features})"
                )
            idx = idx.astype(np.intp) % n_features
        if idx.size == 0:
            raise ValueError(f"feature group {name!r} selects no column of {n_features}")
        out[str(name)] = idx
    return out


def groups_from_names(feature_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Feature groups from column names ``"<group>:<feature>"`` (the feature builder's names).

    ``"zc:synflow"`` belongs to group ``"zc"``, ``"graf_all:op_count_conv"`` to
    ``"graf_all"`` (the text before the first ``":"``); names without ``":"`` belong to no
    group. Groups are in the order of their first column; indices ascend.
    """
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(feature_names):
        head, sep, _ = str(name).partition(":")
        if sep:
            groups.setdefault(head, []).append(j)
    return {g: np.asarray(cols, dtype=np.intp) for g, cols in groups.items()}


# -- nested parameters ---------------------------------------------------------------------------
def merge_param(params: Mapping, key: str, value: Any) -> dict:
    """A copy of ``params`` with ``key`` set to ``value``.

    ``key = "a__b"`` updates (a copy of) the dict stored under ``"a"`` when there is one, and
    is stored as the key ``"a__b"`` otherwise.
    """
    out = dict(params)
    head, sep, rest = key.partition("__")
    if sep and isinstance(out.get(head), Mapping):
        out[head] = merge_param(out[head], rest, value)
    else:
        out[key] = value
    return out


def flatten_params(prefix: str, params: Mapping) -> dict[str, Any]:
    """``{"<prefix>__<key>": value}`` for every entry of ``params``, recursing into dicts."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        out[f"{prefix}__{key}"] = value
        if isinstance(value, Mapping):
            out.update(flatten_params(f"{prefix}__{key}", value))
    return out


def make_estimator(factory: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
    """``factory(**plain)`` then ``set_params(**nested)``, where the nested keyword arguments
    are those whose name contains ``"__"`` (e.g. ``params__n_estimators``)."""
    plain = {k: v for k, v in kwargs.items() if "__" not in k}
    nested = {k: v for k, v in kwargs.items() if "__" in k}
    est = factory(**plain)
    if nested:
        est.set_params(**nested)
    return est


def estimator_spec(est: Any) -> dict:
    """A JSON-able description of what decides the fits of an unfitted estimator: its class
    and its parameters (``get_params(deep=False)``), nested estimators described the same
    way, ``random_state`` left out (callers set it per seed).

    An estimator whose parameters only name other estimators (a CV selector's candidate
    set) describes the named ones by a ``_spec_params()`` method returning the parameter
    dict to describe instead. A changed default -- of the class or of a registry name --
    changes the description; stored results keyed by it are then computed again, never
    reused. Values are described by type: numbers, strings and containers as themselves,
    classes and functions by their qualified name, torch modules by a hash of their state,
    arrays by a hash of their bytes, anything else by ``repr`` (an object whose ``repr``
    holds a memory address gives a new description each time: results are recomputed).
    """
    params = est._spec_params() if hasattr(est, "_spec_params") else est.get_params(deep=False)
    return {"class": _qualname(type(est)),
            "params": {k: _spec_value(v) for k, v in sorted(params.items())
                       if k != "random_state"}}


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _spec_value(v: Any) -> Any:
    """A JSON-able stand-in for one parameter value (see :func:`estimator_spec`)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, float, np.integer, np.floating, np.bool_)):
        return v.item() if isinstance(v, np.generic) else v
    if isinstance(v, Mapping):
        return {str(k): _spec_value(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_spec_value(x) for x in v]
    if hasattr(v, "get_params") and not isinstance(v, type):
        return estimator_spec(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {"class": _qualname(type(v)),
                **{f.name: _spec_value(getattr(v, f.name)) for f in dataclasses.fields(v)}}
    if isinstance(v, type) or callable(v) and hasattr(v, "__qualname__"):
        return _qualname(v)
    if isinstance(v, np.ndarray):
        return {"array": hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()[:16],
                "shape": list(v.shape), "dtype": str(v.dtype)}
    if hasattr(v, "state_dict"):  # a torch module: its class and weights
        h = hashlib.sha256()
        for name, t in v.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return {"class": _qualname(type(v)), "state": h.hexdigest()[:16]}
    return repr(v)


def standardize_fit(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of ``a`` along ``axis``; constant columns get scale 1 (no blow-up)."""
    mean = a.mean(axis=axis)
    scale = a.std(axis=axis)
    scale = np.where(scale < 1e-12 * np.maximum(1.0, np.abs(mean)), 1.0, scale)
    return mean, scale


class BasePredictor(RegressorMixin, BaseEstimator):
    """Base class: validation, NaN/inf policy, timing; see the module docstring.

    Subclasses must define ``nan_policy`` and ``random_state`` parameters and implement
    ``_fit`` and ``_predict``. Predictors whose ``_predict`` can return a standard
    deviation also inherit :class:`UncertaintyMixin`.
    """

    _supports_std = False
    #: Fewest training samples a subclass accepts (checked in ``fit``).
    _min_samples = 2
    #: Dict-valued parameters whose entries ``<name>__<key>`` are routed (module docstring).
    _dict_params: tuple[str, ...] = ()

    # -- parameters ---------------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this predictor; with ``deep`` also the nested ``<name>__<key>`` ones."""
        params = super().get_params(deep=deep)
        if deep:
            params.update(self._nested_params())
        return params

    def set_params(self, **params) -> BasePredictor:
        """Set parameters, including nested ``<name>__<key>`` ones (module docstring).

        Plain parameters are set first, then the nested ones in the order given.
        """
        super().set_params(**{k: v for k, v in params.items() if "__" not in k})
        for key, value in params.items():
            if "__" not in key:
                continue
            head, _, sub = key.partition("__")
            if head in self._routes():
                self._set_routed(head, sub, value)
            else:  # an estimator-valued parameter: scikit-learn's own routing
                super().set_params(**{key: value})
        return self

    def _routes(self) -> set[str]:
        """Parameter names whose ``<name>__<key>`` this class routes itself."""
        return set(self._dict_params)

    def _nested_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._dict_params:
            value = getattr(self, name, None)
            if isinstance(value, Mapping):
                out.update(flatten_params(name, value))
        return out

    def _set_routed(self, name: str, key: str, value: Any) -> None:
        current = getattr(self, name)
        if current is not None and not isinstance(current, Mapping):
            raise ValueError(
                f"cannot set {name}__{key} of {type(self).__name__}: {name} is "
                f"{current!r}, not a dict"
            )
        setattr(self, name, merge_param(current or {}, key, value))

    # -- public API -------------------------------------------------------------------------
    def fit(self, X, y) -> BasePredictor:
        """Fit on features ``X`` ``(n_samples, n_features)`` and targets ``y`` ``(n_samples,)``.

        Returns ``self``.
        """
        X, y = self._validate_fit(X, y)
        with timed(f"{type(self).__name__}.fit", X.shape) as t:
            self._fit(X, y)
        self.fit_time_ = t["seconds"]
        return self

    def predict(self, X, return_std: bool = False):
        """Predicted targets ``(n_samples,)``; with ``return_std`` also their std.

        ``return_std=True`` is only available for predictors with an uncertainty estimate
        (GP, MLP ensemble, random forest and ExtraTrees); the others raise ``ValueError``.
        """
        if return_std and not self._supports_std:
            raise ValueError(f"{type(self).__name__} has no uncertainty estimate (return_std)")
        X = self._validate_predict(X)
        with timed(f"{type(self).__name__}.predict", X.shape, logging.DEBUG):
            return self._predict(X, return_std)

    # -- hooks --------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, X: np.ndarray, return_std: bool):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- validation -------------------------------------------------------------------------
    def _validate_fit(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        if self.nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {self.nan_policy!r}")
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            ensure_all_finite=False,
            y_numeric=True,
            ensure_min_samples=self._min_samples,
        )
        if self.nan_policy == "impute":
            self.impute_values_ = _finite_column_medians(X)
        else:
            self.impute_values_ = None
        X = self._handle_nonfinite(X)
        self.log_columns_ = np.flatnonzero(np.abs(X).max(axis=0) > HUGE_VALUE)
        if self.log_columns_.size:
            names = getattr(self, "feature_names_in_", None)
            shown = self.log_columns_ if names is None else names[self.log_columns_]
            logger.info(
                "%s: %d column(s) with finite values beyond +-%g (largest |x| %.3g): %s; "
                "using sign(x) * log1p(|x|) in them at fit and predict",
                type(self).__name__, self.log_columns_.size, HUGE_VALUE,
                float(np.abs(X[:, self.log_columns_]).max()), list(shown[:20]),
            )
        return self._handle_huge(X), np.asarray(y, dtype=np.float64)

    def _validate_predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=False, reset=False)
        return self._handle_huge(self._handle_nonfinite(X))

    def clean_input(self, X) -> np.ndarray:
        """The ``float64`` array ``(n_samples, n_features)`` the fitted model sees for ``X``.

        ``X`` validated, with the NaN/inf policy and the huge-value transform applied (see
        the module docstring); for tools that call the inner model directly (e.g. a SHAP
        tree explainer).
        """
        return self._validate_predict(X)

    def _handle_huge(self, X: np.ndarray) -> np.ndarray:
        """Signed log in ``log_columns_``; other values beyond ``HUGE_VALUE`` clipped."""
        cols = getattr(self, "log_columns_", None)
        if cols is not None and cols.size:
            X = X.copy()
            X[:, cols] = signed_log(X[:, cols])
        big = np.abs(X) > HUGE_VALUE
        if big.any():
            logger.warning(
                "%s: %d value(s) beyond +-%g in column(s) %s that had none at fit; clipped "
                "to +-%g", type(self).__name__, int(big.sum()), HUGE_VALUE,
                np.flatnonzero(big.any(axis=0))[:20].tolist(), HUGE_VALUE,
            )
            X = np.clip(X, -HUGE_VALUE, HUGE_VALUE)
        return X

    def _handle_nonfinite(self, X: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(X)
        if not bad.any():
            return X
        if self.nan_policy == "raise":
            rows = np.flatnonzero(bad.any(axis=1))
            cols = np.flatnonzero(bad.any(axis=0))
            raise ValueError(
                f"X contains NaN or inf in {len(rows)} row(s) (first: {rows[:5].tolist()}) "
                f"and column(s) {cols[:20].tolist()}; nan_policy='raise'. Clean the features "
                "or use nan_policy='impute' (median of the finite training values)."
            )
        X = X.copy()
        X[bad] = np.broadcast_to(self.impute_values_, X.shape)[bad]
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.nan_policy == "impute"
        return tags


class UncertaintyMixin:
    """For predictors whose ``_predict`` can return a standard deviation (GP, MLP ensemble).

    Put it before :class:`BasePredictor` in the bases; it enables ``return_std=True`` and
    adds :meth:`predict_std` (whose presence tells callers that uncertainty exists).
    """

    _supports_std = True

    def predict_std(self, X) -> np.ndarray:
        """Predictive standard deviation ``(n_samples,)`` in the units of ``y``."""
        return self.predict(X, return_std=True)[1]


class RankerMixin:
    """For predictors whose output is a ranking score: only the ordering is meaningful.

    ``score`` is Kendall's tau between ``y`` and the predicted scores (not R^2, which would
    compare the scores' arbitrary scale with ``y``). Put it before :class:`BasePredictor`
    in the bases.
    """

    def score(self, X, y, sample_weight=None) -> float:
        """Kendall tau between ``y`` and ``predict(X)``; ``sample_weight`` is not supported."""
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__}.score does not support sample_weight")
        return kendall_tau_score(y, self.predict(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # scores are not on the scale of y
        return tags


def _finite_column_medians(X: np.ndarray) -> np.ndarray:
    """Per-column median over finite entries; 0.0 for all-non-finite columns (one INFO line
    lists them: such a column is constant, so it carries no information either way)."""
    finite = np.isfinite(X)
    out = np.zeros(X.shape[1])
    empty = []
    for j in range(X.shape[1]):
        col = X[finite[:, j], j]
        if col.size:
            out[j] = np.median(col)
        else:
            empty.append(j)
    if empty:
        logger.info("%d column(s) without a finite training value imputed with 0.0: %s",
                    len(empty), empty[:20])
    return out
