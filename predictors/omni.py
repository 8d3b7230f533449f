"""OMNI: one tree model over features from several predictor families (White et al., 2021).

White, Zela, Ru, Liu, Hutter, "How powerful are performance predictors in neural
architecture search?", NeurIPS 2021, show that families of predictors are complementary
and combine them in one model, OMNI.

What the paper's released code does (NASLib ``predictors/omni_ngb.py``)
    An NGBoost regressor (decision-tree base learners, 35 random hyper-parameter draws
    scored by 3-fold CV) on the concatenation of: an architecture encoding (adjacency
    one-hot), zero-cost proxy scores (Jacobian covariance), and a learning-curve value
    (SoTL-E: the last training loss, used only once at least 3 epochs are known); the
    non-encoding features are z-scored with training statistics and the targets are
    standardised. Two data-size switches exist in that code: below ``min_train_size`` no
    model is trained and the zero-cost score itself is returned as the prediction, and
    above ``max_zerocost`` the zero-cost features are dropped. A second variant
    (``omni_seminas``) feeds the same information to the model-based SemiNAS predictor.

What this class implements
    * Feature families are column groups of one ``X`` (``feature_groups``: name -> slice
      or list of column indices; e.g. ``{"encoding": slice(0, 30), "zc": [30, 31],
      "lc": [32]}``); ``use_groups`` selects the families used (all by default). Any
      family works: encodings, GRAF features, zero-cost proxies, learning-curve values,
      or outputs of other predictors computed by the caller.
    * The tree model is :class:`~nasperf.predictors.trees.TreePredictor` (LightGBM by default, or
      XGBoost / random forest; NGBoost is not a dependency of this project), optionally
      tuned by Kendall-tau CV (``hpo="cv"``). No z-scoring is needed for trees.
    * Data-size switch (stacking): when ``n_samples >= switch_train_size`` and
      ``stack_predictor`` is set, the predictions of a model-based predictor (GP by
      default) trained on ``stack_groups`` become one more feature. On the training set
      they are out-of-fold predictions (``cross_val_predict`` with ``KFold(stack_cv)`` on
      the training data only, so the tree never sees a prediction made with the point's
      own label); for new data the stack predictor refit on all training data is used.
      Below the switch a model-based predictor trained on few points is too noisy to help,
      and the tree uses the raw families only. The default ``switch_train_size=128`` is
      our choice: we could not check a number in the paper's text, so treat it as a
      tunable, not as the paper's value.
    * Low-data switch of the released code: with ``min_train_size > 0`` and
      ``fallback_column`` set, fits on fewer than ``min_train_size`` points train nothing
      and ``predict`` returns ``X[:, fallback_column]`` (e.g. a zero-cost proxy whose
      higher values mean better) -- a ranking score, not in the units of ``y``.
    * Not implemented: learning-curve extraction and z-scoring (the caller passes the
      values as a family), NGBoost's probabilistic output, the SemiNAS variant.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import KFold, cross_val_predict

from .base import BasePredictor, resolve_groups, seeds_from
from .trees import TreePredictor

__all__ = ["OmniPredictor", "resolve_groups"]

logger = logging.getLogger("nasperf.predictors")


class OmniPredictor(BasePredictor):
    """A tree model over several feature families plus, with enough data, stacked predictions.

    Parameters
    ----------
    feature_groups : dict[str, slice | list[int]] or None
        Column groups of ``X`` by family name; ``None`` means one group ``"all"``.
    use_groups : list of str or None
        Families fed to the tree (``None``: all, in ``feature_groups`` order).
    base : {"lightgbm", "xgboost", "random_forest", "extra_trees"}, default "lightgbm"
        Tree model (see :mod:`nasperf.predictors.trees`).
    base_params : dict or None
        ``params`` of the :class:`~nasperf.predictors.trees.TreePredictor` (keyword
        arguments of the underlying tree library).
    hpo : False or "cv", default False
        Hyper-parameter search of the tree model (see :class:`TreePredictor`).
    stack_predictor : str, estimator or None, default "gp"
        Model-based predictor whose out-of-fold predictions are added as a feature above
        the switch: a :func:`~nasperf.predictors.get_predictor` name or an unfitted estimator.
    stack_params : dict or None
        Keyword arguments for :func:`get_predictor` when ``stack_predictor`` is a name
        (nested names such as ``"params__n_estimators"`` are allowed).
    stack_groups : list of str or None
        Families the stack predictor sees (``None``: the same as the tree).
    switch_train_size : int, default 128
        Smallest training set for which the stacked feature is used.
    stack_cv : int, default 5
        Folds of the out-of-fold predictions.
    min_train_size : int, default 0
        Below this training-set size nothing is trained (needs ``fallback_column``).
    fallback_column : int or None
        Column returned by ``predict`` below ``min_train_size``.
    n_jobs : int, default 1
        Threads of the tree library.
    nan_policy : {"impute", "raise"}, default "impute"
    random_state : int, RandomState or None

    Attributes
    ----------
    columns_ : ndarray of int, the columns of ``X`` fed to the tree, in order.
    stack_columns_ : ndarray of int or None, the columns the stack predictor saw.
    stacked_ : bool, whether the stacked feature was used.
    stack_estimator_ : the stack predictor refit on all training data (if ``stacked_``).
    estimator_ : the fitted :class:`TreePredictor` (``None`` below ``min_train_size``).
    fallback_ : bool, whether ``predict`` returns ``X[:, fallback_column]``.
    fit_time_ : float, seconds.

    Notes
    -----
    Nested parameters (for ``GridSearchCV``; see :mod:`nasperf.predictors.base`):

    * ``base_params__<name>``: an entry of ``base_params``, i.e. a parameter of the tree
      library (``base_params__n_estimators``).
    * ``stack_params__<name>``: an entry of ``stack_params``.
    * ``stack_predictor__<name>``: a parameter of the stack predictor. When
      ``stack_predictor`` is an estimator this is scikit-learn's usual routing; when it is a
      registry name the value is stored in ``stack_params`` (``stack_predictor__max_iter``
      is ``stack_params__max_iter``).

    ``set_params`` replaces the dicts by updated copies (the caller's are never modified).
    """

    _dict_params = ("base_params", "stack_params")

    def __init__(
        self,
        *,
        feature_groups: dict | None = None,
        use_groups: list[str] | None = None,
        base: str = "lightgbm",
        base_params: dict | None = None,
        hpo: bool | str = False,
        stack_predictor: str | BaseEstimator | None = "gp",
        stack_params: dict | None = None,
        stack_groups: list[str] | None = None,
        switch_train_size: int = 128,
        stack_cv: int = 5,
        min_train_size: int = 0,
        fallback_column: int | None = None,
        n_jobs: int = 1,
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.feature_groups = feature_groups
        self.use_groups = use_groups
        self.base = base
        self.base_params = base_params
        self.hpo = hpo
        self.stack_predictor = stack_predictor
        self.stack_params = stack_params
        self.stack_groups = stack_groups
        self.switch_train_size = switch_train_size
        self.stack_cv = stack_cv
        self.min_train_size = min_train_size
        self.fallback_column = fallback_column
        self.n_jobs = n_jobs
        self.nan_policy = nan_policy
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        n, d = X.shape
        groups = resolve_groups(self.feature_groups, d)
        self.columns_ = _columns(groups, self.use_groups, "use_groups")
        self.stack_columns_ = None
        self.stacked_ = False
        self.stack_estimator_ = None
        self.estimator_ = None
        self.fallback_ = n < self.min_train_size
        if self.fallback_:
            if self.fallback_column is None or not -d <= self.fallback_column < d:
                raise ValueError(
                    f"min_train_size={self.min_train_size} > n_samples={n} needs a "
                    f"fallback_column in [0, {d}), got {self.fallback_column!r}"
                )
            logger.info(
                "OMNI: %d < min_train_size samples; predicting column %d", n, self.fallback_column
            )
            return

        tree_seed, stack_seed, cv_seed = seeds_from(self.random_state, 3)
        features = X[:, self.columns_]
        if self.stack_predictor is not None and n >= self.switch_train_size:
            self.stack_columns_ = _columns(groups, self.stack_groups, "stack_groups")
            Xs = X[:, self.stack_columns_]
            est = self._make_stack(stack_seed)
            cv = KFold(min(self.stack_cv, n), shuffle=True, random_state=cv_seed)
            oof = cross_val_predict(est, Xs, y, cv=cv)
            self.stack_estimator_ = clone(est).fit(Xs, y)
            self.stacked_ = True
            features = np.column_stack([features, oof])
        self.estimator_ = TreePredictor(
            kind=self.base,
            params=self.base_params,
            hpo=self.hpo,
            n_jobs=self.n_jobs,
            nan_policy=self.nan_policy,
            random_state=tree_seed,
        ).fit(features, y)

    # -- parameters ---------------------------------------------------------------------------
    def _routes(self) -> set[str]:
        routes = super()._routes()
        if isinstance(self.stack_predictor, str):
            routes.add("stack_predictor")
        return routes

    def _set_routed(self, name: str, key: str, value) -> None:
        super()._set_routed("stack_params" if name == "stack_predictor" else name, key, value)

    def _make_stack(self, seed: int) -> BaseEstimator:
        if isinstance(self.stack_predictor, str):
            from .registry import get_predictor

            est = get_predictor(self.stack_predictor, **(self.stack_params or {}))
        else:
            if self.stack_params:
                raise ValueError("stack_params is only used when stack_predictor is a name")
            est = clone(self.stack_predictor)
        if "random_state" in est.get_params():
            est.set_params(random_state=seed)
        return est

    # -- prediction ---------------------------------------------------------------------------
    def _predict(self, X: np.ndarray, return_std: bool):
        if self.fallback_:
            return X[:, self.fallback_column].astype(np.float64)
        features = X[:, self.columns_]
        if self.stacked_:
            stacked = self.stack_estimator_.predict(X[:, self.stack_columns_])
            features = np.column_stack([features, stacked])
        return self.estimator_.predict(features)


def _columns(groups: dict[str, np.ndarray], names: list[str] | None, what: str) -> np.ndarray:
    """Concatenated column indices of the named groups (all when ``names`` is None)."""
    names = list(groups) if names is None else list(names)
    unknown = [n for n in names if n not in groups]
    if unknown or not names:
        raise ValueError(f"{what} {names!r}: unknown or empty; groups are {list(groups)}")
    cols = np.concatenate([groups[n] for n in names])
    _, first = np.unique(cols, return_index=True)
    return cols[np.sort(first)]
