"""Choose a predictor by cross-validation on the training data alone.

:class:`CVSelectPredictor` is the honest way to pick "the best predictor" for a training
set: each candidate is scored by K-fold Kendall tau **inside the training set**, the best
one (ties: the first listed) is refitted on the whole training set. No test architecture is
ever seen, so one configuration serves every benchmark and every train size.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold

from .base import BasePredictor, kendall_tau_score

logger = logging.getLogger("predictors")

#: Default candidates: (registry name, keyword arguments).
DEFAULT_CANDIDATES: tuple[tuple[str, dict], ...] = (
    ("extra_trees", {"n_jobs": 2}),
    ("random_forest", {"n_jobs": 2}),
    ("lightgbm", {"n_jobs": 2}),
)


def cv_folds(n_samples: int, cv: int = 5,
             random_state=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, validation) index pairs over ``n_samples``: ``cv`` folds,
    but at most ``n_samples // 4`` (validation folds of about 4 or more) and at least 2."""
    n_splits = max(2, min(cv, n_samples // 4))
    kfold = KFold(n_splits, shuffle=True, random_state=random_state)
    return list(kfold.split(np.arange(n_samples)))


class CVSelectPredictor(BasePredictor):
    """The candidate with the best cross-validated Kendall tau on the training data.

    Parameters
    ----------
    candidates : sequence of (name, kwargs), optional
        Registry names for :func:`predictors.get_predictor` with their arguments
        (default :data:`DEFAULT_CANDIDATES`).
    cv : int
        Number of folds (at most ``n_samples // 4`` folds are used, at least 2).
    nan_policy, random_state
        As for every predictor; ``random_state`` seeds the folds and the candidates.

    Attributes
    ----------
    cv_scores_ : dict name -> mean fold Kendall tau
    best_name_ : str
    best_estimator_ : the refitted winner
    """

    _min_samples = 4

    def __init__(self, candidates=None, cv: int = 5, nan_policy: str = "impute",
                 random_state=None):
        self.candidates = candidates
        self.cv = cv
        self.nan_policy = nan_policy
        self.random_state = random_state

    def _candidates(self) -> list[tuple[str, BasePredictor]]:
        from .registry import get_predictor

        specs = self.candidates if self.candidates is not None else DEFAULT_CANDIDATES
        if not specs:
            raise ValueError("candidates must name at least one predictor")
        return [(name, get_predictor(name, random_state=self.random_state, **dict(kw)))
                for name, kw in specs]

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        cands = self._candidates()
        folds = cv_folds(len(y), self.cv, self.random_state)
        self.cv_scores_ = {}
        for name, est in cands:
            taus = [kendall_tau_score(y[te], clone(est).fit(X[tr], y[tr]).predict(X[te]))
                    for tr, te in folds]
            finite = [t for t in taus if np.isfinite(t)]
            self.cv_scores_[name] = float(np.mean(finite)) if finite else -np.inf
        best = max(range(len(cands)), key=lambda i: self.cv_scores_[cands[i][0]])
        self.best_name_ = cands[best][0]
        self.best_estimator_ = clone(cands[best][1]).fit(X, y)
        logger.info("CV selection on %d samples: %s -> %s", len(y), self.cv_scores_,
                    self.best_name_)

    def _predict(self, X: np.ndarray, return_std: bool):
        return self.best_estimator_.predict(X)
