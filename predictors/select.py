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

from .base import (
    BasePredictor,
    flatten_params,
    groups_from_names,
    kendall_tau_score,
    merge_param,
    resolve_groups,
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
    """

    name: str
    predictor: str
    params: dict = field(default_factory=dict)
    columns: tuple[str, ...] | None = None


_EXTRA_TREES = Candidate("extra_trees", "extra_trees", {"n_jobs": 2})
_RANDOM_FOREST = Candidate("random_forest", "random_forest", {"n_jobs": 2})

#: The model choice alone: three tree ensembles on every column.
MODEL_CANDIDATES: tuple[Candidate, ...] = (
    _EXTRA_TREES,
    _RANDOM_FOREST,
    Candidate("lightgbm", "lightgbm", {"n_jobs": 2}),
)

#: The default: ExtraTrees and random forest on every column, ExtraTrees on the zero-cost
#: proxies only (group ``"zc"``: the columns ``zc:*`` of
#: :func:`nasperf.eval.features.build_features`) ...
#: LightGBM is not among them: on 32 cells it is the weakest tree ensemble (NB201 CIFAR-10
#: ablation in docs/results.md: tau 0.58 vs 0.70-0.72) and a noisy 5-fold score on 32
#: cells picks it now and then.
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    _EXTRA_TREES,
    _RANDOM_FOREST,
    Candidate("extra_trees[zc]", "extra_trees", {"n_jobs": 2}, columns=("zc",)),
)
#: ... and the mean of ExtraTrees on every column and on the proxies only.
DEFAULT_BLENDS: tuple[tuple[str, ...], ...] = (("extra_trees", "extra_trees[zc]"),)

#: Named candidate sets for the ``candidates`` parameter.
CANDIDATE_SETS: dict[str, tuple[Candidate, ...]] = {
    "default": DEFAULT_CANDIDATES,
    "models": MODEL_CANDIDATES,
}


def cv_folds(n_samples: int, cv: int = 5,
             random_state=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, validation) index pairs over ``n_samples``: ``cv`` folds,
    but at most ``n_samples // 4`` (validation folds of about 4 or more) and at least 2."""
    n_splits = max(2, min(cv, n_samples // 4))
    kfold = KFold(n_splits, shuffle=True, random_state=random_state)
    return list(kfold.split(np.arange(n_samples)))


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

    def __init__(self, *, candidates=None, blends=None, cv: int = 5,
                 feature_groups: dict | None = None, n_jobs: int | None = None,
                 nan_policy: str = "impute", random_state=None):
        self.candidates = candidates
        self.blends = blends
        self.cv = cv
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
        """Feature groups of ``X``: explicit, from the DataFrame column names, or None."""
        if self.feature_groups is not None:
            return resolve_groups(self.feature_groups, n_features)
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else groups_from_names(names)

    def _resolve(self, specs: list[Candidate],
                 n_features: int) -> dict[str, tuple[BasePredictor, np.ndarray]]:
        """Candidate name -> (unfitted predictor, column indices), usable ones only."""
        from .registry import get_predictor

        if not specs:
            raise ValueError("candidates must name at least one predictor")
        names = [c.name for c in specs]
        if len(set(names)) < len(names):
            raise ValueError(f"candidate names must be unique, got {names}")
        groups = self._groups(n_features)
        out = {}
        for c in specs:
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
                if missing or len(cols) in (0, n_features):
                    logger.info("candidate %s left out: groups %s select %d of %d features "
                                "(groups: %s)", c.name, wanted, len(cols), n_features,
                                list(groups))
                    continue
            est = get_predictor(c.predictor, **c.params)
            own = est.get_params(deep=False)
            if "random_state" in own and "random_state" not in c.params:
                est.set_params(random_state=self.random_state)
            if self.n_jobs is not None and "n_jobs" in own:
                est.set_params(n_jobs=self.n_jobs)
            out[c.name] = (est, cols)
        if not out:
            raise ValueError("no usable candidate (candidates restricted to feature groups "
                             "need feature_groups or a DataFrame with 'group:name' columns)")
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

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        specs = self._specs()
        usable = self._resolve(specs, X.shape[1])
        blends = self._blends(specs, usable)
        folds = cv_folds(len(y), self.cv, self.random_state)
        fold_preds = {name: [clone(est).fit(X[tr][:, cols], y[tr]).predict(X[te][:, cols])
                             for tr, te in folds]
                      for name, (est, cols) in usable.items()}
        members = {name: (name,) for name in usable}
        members.update({" + ".join(b): b for b in blends})
        self.cv_scores_ = {}
        for label, parts in members.items():
            taus = [kendall_tau_score(y[te], np.mean([fold_preds[p][k] for p in parts], axis=0))
                    for k, (_, te) in enumerate(folds)]
            finite = [t for t in taus if np.isfinite(t)]
            self.cv_scores_[label] = float(np.mean(finite)) if finite else -np.inf
        self.best_name_ = max(self.cv_scores_, key=self.cv_scores_.get)
        self.best_estimators_ = [(clone(usable[p][0]).fit(X[:, usable[p][1]], y), usable[p][1])
                                 for p in members[self.best_name_]]
        logger.info("CV selection on %d samples: %s -> %s", len(y), self.cv_scores_,
                    self.best_name_)

    def _predict(self, X: np.ndarray, return_std: bool):
        return np.mean([est.predict(X[:, cols]) for est, cols in self.best_estimators_], axis=0)
