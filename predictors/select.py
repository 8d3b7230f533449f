"""Choose a predictor -- and the feature columns it sees -- by cross-validation on the
training data alone.

:class:`CVSelectPredictor` is the honest way to pick "the best predictor" for a training
set: each candidate is scored by K-fold Kendall tau **inside the training set**, the best
one (ties: the first listed) is refitted on the whole training set. No test architecture is
ever seen, so one configuration serves every benchmark and every train size.

A candidate is a registry predictor, optionally restricted to some feature groups (e.g.
only the zero-cost proxies, group ``"zc"``), or a *blend*: the mean prediction of other
candidates. Blends are scored from their members' fold predictions, so they cost no extra
fit.

Feature groups come from the ``feature_groups`` parameter (group name -> slice or list of
column indices, as for :class:`~nasperf.predictors.omni.OmniPredictor`) or, when it is
``None`` and ``X`` is a DataFrame, from the column names ``"<group>:<feature>"`` written by
the toolkit's feature builder (:func:`nasperf.eval.features.build_features`; see
:func:`~nasperf.predictors.base.groups_from_names`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold

from nasperf._utils import kendall_tau

from .base import (
    BasePredictor,
    flatten_params,
    graph_column,
    groups_from_names,
    merge_param,
    resolve_groups,
    timed,
)

logger = logging.getLogger("nasperf.predictors")


@dataclass(frozen=True)
class Candidate:
    """One model the selector may choose.

    Parameters
    ----------
    name : label in ``cv_scores_`` (unique among the candidates).
    predictor : registry name for :func:`nasperf.predictors.get_predictor`.
    params : its keyword arguments (nested names such as ``"params__n_estimators"`` are
        set with ``set_params``).
    columns : names of the feature groups it sees (``None``: every column), e.g.
        ``("zc",)``. The groups come from the selector's ``feature_groups`` or from the
        DataFrame column names; the candidate is left out (logged) when there are no
        groups, when a named group does not exist, or when the groups cover every column.
    top_k : keep only the ``top_k`` columns (of those ``columns`` selects) with the largest
        absolute Spearman correlation with the target, chosen on the training data of each
        CV fold and of the final fit (``None``: no selection). For many features and few
        samples (two DARTS cells of GRAF features: thousands of columns). The candidate is
        left out when it would keep every column.
    """

    name: str
    predictor: str
    params: dict = field(default_factory=dict)
    columns: tuple[str, ...] | None = None
    top_k: int | None = None


_EXTRA_TREES = Candidate("extra_trees", "extra_trees", {"n_jobs": 2})
_RANDOM_FOREST = Candidate("random_forest", "random_forest", {"n_jobs": 2})

#: The model choice alone: three tree ensembles on every column.
MODEL_CANDIDATES: tuple[Candidate, ...] = (
    _EXTRA_TREES,
    _RANDOM_FOREST,
    Candidate("lightgbm", "lightgbm", {"n_jobs": 2}),
)

#: The previous default (chosen on NB201 CIFAR-10, about 120 features): ExtraTrees and random
#: forest on every column, ExtraTrees on the zero-cost proxies only (group ``"zc"``: the
#: columns ``zc:*`` of :func:`nasperf.eval.features.build_features`), and the mean of
#: ExtraTrees on every column and on the proxies only.
PREVIOUS_CANDIDATES: tuple[Candidate, ...] = (
    _EXTRA_TREES,
    _RANDOM_FOREST,
    Candidate("extra_trees[zc]", "extra_trees", {"n_jobs": 2}, columns=("zc",)),
)

#: The default: the previous candidates, plus two that hold when features far outnumber
#: the training samples: LightGBM on every column (boosting picks its split features
#: greedily, so noise columns cost it little) and ExtraTrees on the 32 columns most
#: correlated with the target in the training data. Scored by repeated K-fold CV on small
#: training sets (see ``cv_repeats``), so that a noisy 5-fold score on 32 cells rarely
#: picks a weak candidate.
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    *PREVIOUS_CANDIDATES,
    Candidate("lightgbm", "lightgbm", {"n_jobs": 2}),
    Candidate("extra_trees[top32]", "extra_trees", {"n_jobs": 2}, top_k=32),
)
#: The mean of ExtraTrees on every column and on the proxies only; with a ``gnn``
#: candidate also its means with ExtraTrees (blends whose members are not all candidates
#: are left out).
DEFAULT_BLENDS: tuple[tuple[str, ...], ...] = (
    ("extra_trees", "extra_trees[zc]"),
    ("extra_trees", "gnn"),
    ("extra_trees", "extra_trees[zc]", "gnn"),
    ("extra_trees", "gnn_pretrained"),
    ("extra_trees", "extra_trees[zc]", "gnn_pretrained"),
)

#: The default candidates and the graph neural predictor on the graphs with every numeric
#: column beside them as global features, for feature sets with a graph family (e.g.
#: ``graph+graf+zc``; registry name ``auto_gnn``). Each CV fold fits a GNN too, so it costs
#: minutes per fit on a CPU where ``auto`` costs seconds.
GNN_CANDIDATES: tuple[Candidate, ...] = (*DEFAULT_CANDIDATES, Candidate("gnn", "gnn"))

#: The default candidates and the GNN fine-tuning the backbone its graphs carry (feature
#: family ``pretrained_graph``: a GIN pretrained on the pool's GRAF features and proxies),
#: with the proxies only as global features (GRAF features beside the pretrained graph lost
#: in cross-validation inside NB201 training sets); registry name ``auto_gnn_pretrained``,
#: e.g. on ``pretrained_graph+graf_all+zc``.
GNN_PRETRAINED_CANDIDATES: tuple[Candidate, ...] = (
    *DEFAULT_CANDIDATES, Candidate("gnn_pretrained", "gnn_pretrained", columns=("zc",)))

#: Named candidate sets for the ``candidates`` parameter.
CANDIDATE_SETS: dict[str, tuple[Candidate, ...]] = {
    "default": DEFAULT_CANDIDATES,
    "previous": PREVIOUS_CANDIDATES,
    "models": MODEL_CANDIDATES,
    "gnn": GNN_CANDIDATES,
    "gnn_pretrained": GNN_PRETRAINED_CANDIDATES,
}

#: Training sets smaller than this are scored by repeated CV when ``cv_repeats=None``.
SMALL_TRAINING_SET = 256


def top_k_columns(X: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Indices (ascending) of the ``k`` columns of ``X`` (n, d) with the largest absolute
    Spearman correlation with ``y`` (n,); constant columns count as uncorrelated, ties keep
    the leftmost column."""
    from scipy.stats import rankdata

    ranks = rankdata(X, axis=0)
    ranks -= ranks.mean(axis=0)
    ry = rankdata(y) - (len(y) + 1) / 2
    norm = np.sqrt((ranks ** 2).sum(axis=0) * (ry ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(norm > 0, np.abs(ry @ ranks) / np.where(norm > 0, norm, 1.0), 0.0)
    order = np.argsort(-corr, kind="stable")
    return np.sort(order[:k])


def cv_folds(n_samples: int, cv: int = 5, random_state=None,
             repeats: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, validation) index pairs over ``n_samples``: ``cv`` folds,
    but at most ``n_samples // 4`` (validation folds of about 4 or more) and at least 2;
    ``repeats`` independent shufflings, one after the other (the first is the one of
    ``repeats=1``)."""
    n_splits = max(2, min(cv, n_samples // 4))
    seeds = [random_state]
    if repeats > 1:
        base = random_state if isinstance(random_state, (int, np.integer)) else None
        seeds += [None if base is None else int(base) + 7919 * r for r in range(1, repeats)]
    return [fold for seed in seeds
            for fold in KFold(n_splits, shuffle=True, random_state=seed).split(
                np.arange(n_samples))]


def _rows(graphs: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if graphs is None else graphs[idx]


def _takes_graphs(est: Any) -> bool:
    return bool(getattr(est, "accepts_graphs", False))


def _candidate_input(est: Any, X: np.ndarray, cols: np.ndarray, graphs: np.ndarray | None):
    """What a candidate sees: ``X[:, cols]``, or for a graph predictor the graphs with
    those numeric columns beside them (an object table, graphs first)."""
    if not _takes_graphs(est):
        return X[:, cols]
    if not len(cols):
        return list(graphs)
    table = np.empty((len(graphs), 1 + len(cols)), dtype=object)
    table[:, 0] = graphs
    table[:, 1:] = X[:, cols]
    return table


@dataclass(frozen=True)
class _FittedCandidate:
    estimator: BasePredictor
    cols: np.ndarray

    def predict(self, X: np.ndarray, graphs: np.ndarray | None = None) -> np.ndarray:
        return self.estimator.predict(_candidate_input(self.estimator, X, self.cols, graphs))

    def as_pair(self) -> tuple[BasePredictor, np.ndarray]:
        return self.estimator, self.cols


def _as_candidate(spec) -> Candidate:
    if isinstance(spec, Candidate):
        return spec
    if isinstance(spec, str):
        return Candidate(spec, spec)
    if isinstance(spec, Sequence) and len(spec) == 2:  # (registry name, kwargs)
        return Candidate(spec[0], spec[0], dict(spec[1]))
    raise ValueError(f"a candidate is a Candidate, a registry name or (name, kwargs); got {spec!r}")


class CVSelectPredictor(BasePredictor):
    """The candidate with the best cross-validated Kendall tau on the training data.

    Parameters
    ----------
    candidates : str or sequence of Candidate, registry names or (name, kwargs), optional
        A name in :data:`CANDIDATE_SETS` or the candidates themselves. Default
        :data:`DEFAULT_CANDIDATES` (ExtraTrees and random forest on every column,
        ExtraTrees on the ``"zc"`` proxy group).
    blends : sequence of tuples of candidate names, optional
        Each tuple is one more candidate: the mean prediction of those candidates
        (default: those of :data:`DEFAULT_BLENDS` whose members are candidates; ``()`` for
        none). Blends of a left-out candidate are left out too.
    cv : int
        Number of folds (at most ``n_samples // 4`` folds are used, at least 2).
    cv_repeats : int or None, default None
        Independent K-fold shufflings whose scores are averaged; ``None``: 3 for training
        sets smaller than :data:`SMALL_TRAINING_SET` (where one 5-fold score is noisy), else
        1.
    feature_groups : dict[str, slice | list[int]] or None
        Column groups of ``X`` by name, as for
        :class:`~nasperf.predictors.omni.OmniPredictor`; ``Candidate.columns`` names them.
        ``None``: derived from the column names of a DataFrame ``X`` (``"zc:synflow"`` is in
        group ``"zc"``; see the module docstring); with neither, the candidates restricted
        to groups are left out (logged at INFO level). Groups that no candidate names are
        ignored.
    n_jobs : int or None, default None
        Threads of every candidate that has an ``n_jobs`` parameter; ``None`` keeps each
        candidate's own setting (the built-in candidate sets use 2).
    nan_policy, random_state
        As for every predictor; ``random_state`` seeds the folds and the candidates.

    Attributes
    ----------
    cv_scores_ : dict name -> mean fold Kendall tau (blends named ``"a + b"``)
    best_name_ : str
    best_estimators_ : list of (fitted predictor, column indices) whose mean is predicted

    Notes
    -----
    Nested parameters (for ``GridSearchCV``; see :mod:`nasperf.predictors.base`):
    ``candidates__<candidate name>__<parameter>`` is a keyword argument of that candidate's
    predictor, e.g. ``candidates__extra_trees__params__n_estimators``.
    ``get_params(deep=True)`` lists the keyword arguments each candidate is given;
    ``set_params`` replaces ``candidates`` by an updated tuple of :class:`Candidate`
    (a named set or the default is expanded first; the caller's objects are not modified).
    """

    _min_samples = 4

    @property
    def accepts_graphs(self) -> bool:
        """True when a candidate is a graph predictor (the benchmark runner then gives the
        selector its graph feature families)."""
        from .registry import get_predictor

        try:
            return any(_takes_graphs(get_predictor(c.predictor, **c.params))
                       for c in self._specs())
        except (TypeError, ValueError):  # invalid candidates are reported by fit
            return False

    def __init__(self, *, candidates=None, blends=None, cv: int = 5,
                 cv_repeats: int | None = None, feature_groups: dict | None = None,
                 n_jobs: int | None = None, nan_policy: str = "impute", random_state=None):
        self.candidates = candidates
        self.blends = blends
        self.cv = cv
        self.cv_repeats = cv_repeats
        self.feature_groups = feature_groups
        self.n_jobs = n_jobs
        self.nan_policy = nan_policy
        self.random_state = random_state

    # -- parameters ---------------------------------------------------------------------------
    def _routes(self) -> set[str]:
        return {"candidates"}

    def _nested_params(self) -> dict[str, Any]:
        try:
            specs = self._specs()
        except (TypeError, ValueError):  # invalid candidates are reported by fit
            return {}
        out: dict[str, Any] = {}
        for c in specs:
            out.update(flatten_params(f"candidates__{c.name}", c.params))
        return out

    def _spec_params(self) -> dict[str, Any]:
        """The parameters with the candidates and blends resolved: the predictor behind
        each candidate name, as the registry builds it (see
        :func:`~nasperf.predictors.base.estimator_spec`)."""
        from .registry import get_predictor

        out = self.get_params(deep=False)
        try:
            specs = self._specs()
        except (TypeError, ValueError):  # invalid candidates are reported by fit
            return out
        out["candidates"] = [
            {"name": c.name, "predictor": get_predictor(c.predictor, **c.params),
             "columns": c.columns, "top_k": c.top_k} for c in specs]
        out["blends"] = DEFAULT_BLENDS if self.blends is None else self.blends
        return out

    def _set_routed(self, name: str, key: str, value: Any) -> None:
        specs = self._specs()
        matches = [i for i, c in enumerate(specs) if key.startswith(f"{c.name}__")]
        if not matches:
            raise ValueError(
                f"candidates__{key}: no candidate named by its start; candidates are "
                f"{[c.name for c in specs]} (use candidates__<name>__<parameter>)"
            )
        i = max(matches, key=lambda k: len(specs[k].name))  # the longest matching name
        param = key[len(specs[i].name) + 2:]
        specs[i] = replace(specs[i], params=merge_param(specs[i].params, param, value))
        self.candidates = tuple(specs)

    # -- fitting ------------------------------------------------------------------------------
    def _specs(self) -> list[Candidate]:
        cands = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        if isinstance(cands, str):
            if cands not in CANDIDATE_SETS:
                raise ValueError(f"unknown candidate set {cands!r}; known: {list(CANDIDATE_SETS)}")
            cands = CANDIDATE_SETS[cands]
        return [_as_candidate(c) for c in cands]

    def _groups(self, n_features: int) -> dict[str, np.ndarray] | None:
        """Feature groups of ``X``: explicit, from the DataFrame column names, or None.
        Indices are into the numeric columns; a group of the graph column maps to none."""
        gcol = getattr(self, "graph_column_", None)
        if self.feature_groups is not None:
            if gcol is None:
                return resolve_groups(self.feature_groups, n_features)
            full = resolve_groups(self.feature_groups, n_features + 1)
            return {g: idx[idx != gcol] - (idx[idx != gcol] > gcol) for g, idx in full.items()}
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return None
        groups = groups_from_names(names)
        if gcol is not None and ":" in self.graph_name_:
            groups.setdefault(self.graph_name_.split(":", 1)[0], np.zeros(0, np.intp))
        return groups

    def _resolve(self, specs: list[Candidate], n_features: int, has_graphs: bool = False
                 ) -> dict[str, tuple[BasePredictor, np.ndarray, int | None]]:
        """Candidate name -> (unfitted predictor, column indices, top_k), usable ones only.
        Graph predictors (``accepts_graphs``) are usable only with ``has_graphs``; the
        column indices are those of the numeric features they see beside the graphs."""
        from .registry import get_predictor

        if not specs:
            raise ValueError("candidates must name at least one predictor")
        names = [c.name for c in specs]
        if len(set(names)) < len(names):
            raise ValueError(f"candidate names must be unique, got {names}")
        groups = self._groups(n_features)
        out = {}
        for c in specs:
            est = get_predictor(c.predictor, **c.params)
            takes = _takes_graphs(est)
            if takes and not has_graphs:
                logger.info("candidate %s left out: it takes graphs and X has no column of "
                            "graphs", c.name)
                continue
            if c.columns is None:
                cols = np.arange(n_features)
            elif groups is None:
                logger.info("candidate %s left out: no feature_groups given and X has no "
                            "feature names", c.name)
                continue
            else:
                wanted = (c.columns,) if isinstance(c.columns, str) else tuple(c.columns)
                prefixes = [g for g in wanted if str(g).endswith(":")]
                if prefixes:
                    raise ValueError(
                        f"candidate {c.name}: columns name feature groups (e.g. 'zc'), not "
                        f"column-name prefixes; got {prefixes}"
                    )
                missing = [g for g in wanted if g not in groups]
                cols = (np.unique(np.concatenate([groups[g] for g in wanted]))
                        if wanted and not missing else np.arange(0))
                if missing or (not takes and len(cols) in (0, n_features)):
                    logger.info("candidate %s left out: groups %s select %d of %d features "
                                "(groups: %s)", c.name, wanted, len(cols), n_features,
                                list(groups))
                    continue
            if c.top_k is not None:
                if isinstance(c.top_k, bool) or not isinstance(c.top_k, (int, np.integer)) \
                        or c.top_k < 1:
                    raise ValueError(f"candidate {c.name}: top_k must be a positive integer, "
                                     f"got {c.top_k!r}")
                if c.top_k >= len(cols):
                    logger.info("candidate %s left out: top_k=%d keeps all %d features",
                                c.name, c.top_k, len(cols))
                    continue
            own = est.get_params(deep=False)
            if "random_state" in own and "random_state" not in c.params:
                est.set_params(random_state=self.random_state)
            if self.n_jobs is not None and "n_jobs" in own:
                est.set_params(n_jobs=self.n_jobs)
            out[c.name] = (est, cols, c.top_k)
        if not out:
            raise ValueError("no usable candidate (candidates restricted to feature groups "
                             "need feature_groups or a DataFrame with 'group:name' columns; "
                             "graph predictors need a column of graphs)")
        return out

    def _blends(self, specs: list[Candidate], usable: dict) -> list[tuple[str, ...]]:
        known = {c.name for c in specs}
        if self.blends is None:  # the default blends whose members are candidates
            return [b for b in DEFAULT_BLENDS if set(b) <= set(usable)]
        blends = [tuple(b) for b in self.blends]
        for b in blends:
            if len(b) < 2 or not set(b) <= known:
                raise ValueError(f"a blend names two or more candidates of {sorted(known)}; "
                                 f"got {b}")
        return [b for b in blends if set(b) <= set(usable)]

    # -- graphs beside the features ----------------------------------------------------------
    def fit(self, X, y) -> CVSelectPredictor:
        """Fit on ``X`` ``(n_samples, n_features)`` and ``y`` ``(n_samples,)``.

        ``X`` may hold one column of ``torch_geometric`` graphs (the benchmark runner's
        graph families, e.g. the feature set ``graph+graf+zc``): graph candidates (``gnn``)
        get the graphs with their numeric columns beside them, the others the numeric
        columns only.
        """
        X, graphs = self._take_graphs(X, reset=True)
        X, y = self._validate_fit(X, y)
        with timed(f"{type(self).__name__}.fit", X.shape) as t:
            self._fit(X, y, graphs)
        self.fit_time_ = t["seconds"]
        return self

    def predict(self, X, return_std: bool = False):
        """Predicted targets ``(n_samples,)`` (the selected candidate or blend)."""
        if return_std:
            raise ValueError(f"{type(self).__name__} has no uncertainty estimate (return_std)")
        X, graphs = self._take_graphs(X, reset=False)
        X = self._validate_predict(X)
        with timed(f"{type(self).__name__}.predict", X.shape, logging.DEBUG):
            return self._predict(X, False, graphs)

    def _take_graphs(self, X, reset: bool):
        """``(X without its graph column, the graphs as an object array or None)``."""
        col = graph_column(X)
        if reset:
            self.graph_column_ = col
        elif col != getattr(self, "graph_column_", None):
            raise ValueError(f"X has its graphs in column {col}, but the selector was fitted "
                             f"with them in column {getattr(self, 'graph_column_', None)}")
        if col is None:
            return X, None
        if hasattr(X, "iloc"):
            graphs, rest = X.iloc[:, col].to_numpy(), X.drop(columns=X.columns[col])
            name = str(X.columns[col])
        else:
            graphs, rest, name = X[:, col], np.delete(X, col, axis=1), ""
        if reset:
            self.graph_name_ = name
        if rest.shape[1] == 0:
            raise ValueError("the selector needs numeric feature columns beside the graphs "
                             "(e.g. the feature set 'graph+graf+zc'), got only graphs")
        return rest, graphs

    def _fit(self, X: np.ndarray, y: np.ndarray, graphs: np.ndarray | None = None) -> None:
        specs = self._specs()
        usable = self._resolve(specs, X.shape[1], graphs is not None)
        blends = self._blends(specs, usable)
        repeats = self.cv_repeats
        if repeats is None:
            repeats = 3 if len(y) < SMALL_TRAINING_SET else 1
        if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) \
                or repeats < 1:
            raise ValueError(f"cv_repeats must be a positive integer or None, got {repeats!r}")
        folds = cv_folds(len(y), self.cv, self.random_state, repeats=int(repeats))
        fold_preds = {}
        for name, (est, cols, k) in list(usable.items()):
            try:
                fold_preds[name] = [
                    self._fit_one(est, cols, k, X[tr], y[tr], _rows(graphs, tr)).predict(
                        X[te], _rows(graphs, te))
                    for tr, te in folds]
            except ImportError as exc:  # an optional library (e.g. lightgbm) is missing
                logger.warning("candidate %s left out: %s", name, exc)
                del usable[name]
        if not usable:
            raise ImportError("no candidate of the selector can be fitted: "
                              "install the optional libraries named in the warnings above")
        blends = [b for b in blends if set(b) <= set(usable)]
        members = {name: (name,) for name in usable}
        members.update({" + ".join(b): b for b in blends})
        self.cv_scores_ = {}
        undefined = 0  # folds where a candidate predicts one value: tau is 0/0 there
        for label, parts in members.items():
            taus = [kendall_tau(y[te], np.mean([fold_preds[p][i] for p in parts], axis=0),
                                warn=False) for i, (_, te) in enumerate(folds)]
            finite = [t for t in taus if np.isfinite(t)]
            undefined += len(taus) - len(finite)
            self.cv_scores_[label] = float(np.mean(finite)) if finite else -np.inf
        if undefined:
            logger.info("CV selection: Kendall tau undefined (constant predictions or "
                        "targets) in %d candidate-fold pairs, left out of the means",
                        undefined)
        self.best_name_ = max(self.cv_scores_, key=self.cv_scores_.get)
        self.best_estimators_ = [self._fit_one(*usable[p], X, y, graphs).as_pair()
                                 for p in members[self.best_name_]]
        logger.info("CV selection on %d samples (%d folds): %s -> %s", len(y), len(folds),
                    self.cv_scores_, self.best_name_)

    @staticmethod
    def _fit_one(est: BasePredictor, cols: np.ndarray, top_k: int | None, X: np.ndarray,
                 y: np.ndarray, graphs: np.ndarray | None = None) -> _FittedCandidate:
        """A clone of ``est`` fitted on ``X[:, cols]`` (narrowed to its ``top_k`` columns
        most correlated with ``y`` on these rows), with the graphs for a graph predictor."""
        if top_k is not None:
            cols = cols[top_k_columns(X[:, cols], y, top_k)]
        return _FittedCandidate(clone(est).fit(_candidate_input(est, X, cols, graphs), y), cols)

    def _predict(self, X: np.ndarray, return_std: bool, graphs: np.ndarray | None = None):
        return np.mean([_FittedCandidate(est, cols).predict(X, graphs)
                        for est, cols in self.best_estimators_], axis=0)
