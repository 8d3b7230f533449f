"""SHAP attributions of performance predictors, per feature and per feature group.

``shap_attributions(predictor, X, feature_names)`` explains ``predictor.predict`` on the
rows of ``X``:

* **Tree models** (LightGBM, XGBoost, scikit-learn forests and boosting, also when wrapped,
  e.g. :class:`nasperf.predictors.TreePredictor` whose fitted model is ``estimator_``) get
  ``shap.TreeExplainer`` with the exact, data-free ``tree_path_dependent`` algorithm.
* **Anything else** (GP, MLP ensemble, a plain callable ``f(X) -> y``) gets a
  model-agnostic explainer, by default ``shap.PermutationExplainer`` with a bounded number
  of model evaluations per row (:data:`DEFAULT_PERMUTATIONS` forward-and-backward
  permutations) and a small background sample of ``X`` (:data:`DEFAULT_BACKGROUND` rows)
  standing in for "feature unknown"; ``explainer="kernel"`` selects
  ``shap.KernelExplainer``. Its cost is about ``rows * max_evals * background`` model
  evaluations: it is estimated from one timed batch and logged before starting, and a
  ``tqdm`` bar shows the progress over the rows.

Groups: each feature gets one group, from ``groups``: the groups of
:func:`nasperf.eval.features.build_features` (group name -> column indices; a family and its
sub-groups overlap, and a feature goes to the smallest group holding it, so GRAF features
land in ``"graf_all.op_count"``, ``"graf_all.min_path_len"``..., proxies in ``"zc"``), a dict
group -> feature names, or a callable name -> group. Without ``groups`` (a matrix with plain
feature names), :func:`default_feature_group` guesses the same groups from the
``"<family>:<feature>"`` names of ``build_features`` and from GRAF and proxy names.
The importance of a group is the mean over rows of ``|sum of its features' SHAP values|``
(SHAP values are additive, so this is the attribution of the group as one feature).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasperf._utils import import_optional

from .plots import new_figure

log = logging.getLogger(__name__)

#: (regex on the feature's base name, GRAF feature group of
#: :data:`nasperf.graphfeatures.FEATURE_GROUPS`) for GRAF features without groups, first match
#: wins: names of :class:`nasperf.graphfeatures.GRAFEncoder` (``op_count[...]``,
#: ``min_path_len[...]``, ``max_path_len[...]``, ``num_paths[...]``, ``*_degree*``, ...) and
#: of the GRAF reference code (``count_ops``, ``max_op_on_path``, ``node_degree``).
FEATURE_GROUP_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(op_count|count_ops)", "op_count"),
    (r"^min_path_len", "min_path_len"),
    (r"^(max_path_len|max_op_on_path)", "max_path_len"),
    (r"^num_paths", "num_paths"),
    (r"degree", "node_degree"),
    (r"^(n_op_nodes|n_edges)$", "graph_size"),
    (r"^pos_state", "pos_state"),
)

#: Families of :data:`nasperf.eval.features.FEATURE_FAMILIES` that hold GRAF features.
GRAF_FAMILIES = frozenset({"graf", "graf_all"})

#: Family prefixes that name a cell (NB301) rather than a feature family; GRAF names of
#: several cells start with the cell and ``_`` (``normal_op_count[...]``).
CELL_PREFIXES = frozenset({"cell", "normal", "reduce", "macro"})

_ZC_FAMILIES = frozenset({"zc", "zerocost", "proxy", "proxies"})


def proxy_names() -> frozenset[str]:
    """Names of the registered zero-cost proxies (:func:`nasperf.zerocost.list_proxies`)."""
    from nasperf.zerocost import list_proxies

    return frozenset(list_proxies())


def default_feature_group(name: str, proxies: frozenset[str] | None = None) -> str:
    """Group of a feature known by its name only (no groups from ``build_features``).

    Rules, in order: a zero-cost proxy (prefix ``zc:``, or without prefix a name in
    ``proxies``, default :func:`proxy_names`) -> ``"zc"``; a GRAF feature (prefix ``graf:`` or
    ``graf_all:``, or none) whose name, without a leading cell ``normal_`` / ``reduce_``,
    matches :data:`FEATURE_GROUP_PATTERNS` -> ``"<family>.<group>"``, e.g.
    ``"graf.min_path_len"`` (``"graf"`` when there is no prefix); else the first ``family:``
    prefix (``"onehot:edge_0"`` -> ``"onehot"``; cell prefixes such as ``normal:`` are
    skipped); else the name itself. For the names of ``build_features`` these are the
    groups it returns.
    """
    parts = [p for p in re.split(r":|__", name) if p]
    base = parts[-1] if parts else name
    prefixes = [p for p in parts[:-1] if p.lower() not in CELL_PREFIXES]
    family = prefixes[0].lower() if prefixes else ""
    if family in _ZC_FAMILIES or (
            not family and base.lower() in (proxy_names() if proxies is None else proxies)):
        return "zc"
    if family in GRAF_FAMILIES or not family:
        cell, sep, rest = base.partition("_")
        stem = rest if sep and cell.lower() in CELL_PREFIXES else base
        for pattern, group in FEATURE_GROUP_PATTERNS:
            if re.search(pattern, stem):
                return f"{prefixes[0] if prefixes else 'graf'}.{group}"
    return prefixes[0] if prefixes else name


def _group_map(names: Sequence[str], groups: Any) -> dict[str, str]:
    """Feature name -> its group (see the module docstring for the forms of ``groups``)."""
    if groups is None:
        proxies = proxy_names()
        return {n: default_feature_group(n, proxies) for n in names}
    if callable(groups):
        return {n: str(groups(n)) for n in names}
    if not isinstance(groups, Mapping):
        raise ValueError("groups must be None, a dict group -> feature names or column "
                         "indices, or a callable name -> group")
    known = set(names)
    members: dict[str, list[str]] = {}
    for g, cols in groups.items():
        feats = []
        for m in cols:
            if isinstance(m, (int, np.integer)) and not isinstance(m, bool):
                if not 0 <= m < len(names):
                    raise ValueError(f"group {g!r} lists column {m}, not in [0, {len(names)})")
                feats.append(names[m])
            elif m in known:
                feats.append(str(m))
            else:
                raise ValueError(f"group {g!r} lists unknown feature {m!r}")
        members[str(g)] = list(dict.fromkeys(feats))
    holders: dict[str, list[str]] = {}
    for g, feats in members.items():
        for m in feats:
            holders.setdefault(m, []).append(g)
    out: dict[str, str] = {}
    for m, gs in holders.items():  # the smallest group holding a feature wins
        size = min(len(members[g]) for g in gs)
        smallest = [g for g in gs if len(members[g]) == size]
        if len(smallest) > 1:
            raise ValueError(f"feature {m!r} is in groups {smallest[0]!r} and {smallest[1]!r}")
        out[m] = smallest[0]
    return {n: out.get(n, "other") for n in names}


@dataclass
class ShapResult:
    """SHAP values of one predictor on ``n`` rows and ``d`` features.

    Attributes
    ----------
    values : np.ndarray of shape (n, d)
        ``prediction(x_i) = base_value + values[i].sum()``.
    base_value : float
        Expected prediction over the explainer's background.
    data : np.ndarray of shape (n, d)
        The explained rows.
    feature_names : list of str, length d
    groups : dict feature name -> group name
    explainer : str
        ``"tree"``, ``"permutation"`` or ``"kernel"``.
    """

    values: np.ndarray
    base_value: float
    data: np.ndarray
    feature_names: list[str]
    groups: dict[str, str] = field(default_factory=dict)
    explainer: str = ""

    def mean_abs(self) -> pd.Series:
        """Mean ``|SHAP|`` per feature, largest first."""
        s = pd.Series(np.abs(self.values).mean(axis=0), index=self.feature_names,
                      name="mean_abs_shap")
        return s.sort_values(ascending=False)

    def group_importance(self, groups: Any = None) -> pd.DataFrame:
        """Importance per feature group, largest first.

        Parameters
        ----------
        groups : dict group -> column indices or feature names, callable name -> group,
            or None
            None: the groups stored in the result (from :func:`shap_attributions`). Pass
            e.g. the family entries of ``build_features``' groups for one row per family.

        Returns
        -------
        pandas.DataFrame indexed by group, with columns
            ``mean_abs_shap``: mean over rows of ``|sum_{j in group} SHAP_ij|``, the group's
            attribution as a single feature; ``sum_mean_abs_shap``: ``sum_j mean_i
            |SHAP_ij|``, an upper bound (equal when the group's values never cancel);
            ``n_features``.
        """
        gmap = self.groups if groups is None else _group_map(self.feature_names, groups)
        labels = np.array([gmap.get(n, n) for n in self.feature_names])
        per_feature = np.abs(self.values).mean(axis=0)
        rows = {}
        for g in dict.fromkeys(labels):
            cols = labels == g
            rows[g] = {"mean_abs_shap": float(np.abs(self.values[:, cols].sum(axis=1)).mean()),
                       "sum_mean_abs_shap": float(per_feature[cols].sum()),
                       "n_features": int(cols.sum())}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "group"
        return out.sort_values("mean_abs_shap", ascending=False)

    def to_explanation(self):
        """The values as a ``shap.Explanation`` (for shap's own plots)."""
        import shap

        return shap.Explanation(values=self.values, base_values=np.full(len(self.values),
                                self.base_value), data=self.data,
                                feature_names=list(self.feature_names))


# -- explainers ------------------------------------------------------------------------------------
_TREE_LIBS = ("lightgbm", "xgboost", "catboost")
_TREE_SKLEARN = ("sklearn.ensemble", "sklearn.tree")


def _looks_like_tree(obj: Any) -> bool:
    module = type(obj).__module__
    return module.split(".")[0] in _TREE_LIBS or module.startswith(_TREE_SKLEARN)


def find_tree_model(predictor: Any) -> Any | None:
    """The tree model inside ``predictor``: itself, or a fitted attribute ending in ``_``
    (``estimator_``, ``model_``, ``booster_``...) that is a LightGBM / XGBoost / CatBoost /
    scikit-learn tree model. None if there is none."""
    if _looks_like_tree(predictor):
        return predictor
    for name in sorted(vars(predictor)) if hasattr(predictor, "__dict__") else ():
        if name.endswith("_") and not name.startswith("_"):
            value = getattr(predictor, name)
            if _looks_like_tree(value) and hasattr(value, "predict"):
                return value
    return None


def _predict_fn(predictor: Any) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(predictor, "predict"):
        return lambda X: np.asarray(predictor.predict(X), dtype=float).ravel()
    if callable(predictor):
        return lambda X: np.asarray(predictor(X), dtype=float).ravel()
    raise ValueError(f"{type(predictor).__name__} has no predict() and is not callable")


def _tree_model_and_input(predictor: Any, X: np.ndarray) -> tuple[Any, np.ndarray] | None:
    """The tree model to explain and the input it sees for ``X``, or None if none applies."""
    model = find_tree_model(predictor)
    if model is None:
        return None
    X_model = X
    if model is not predictor and hasattr(predictor, "clean_input"):
        # a toolkit predictor: the inner model sees X after the NaN/inf policy and the
        # signed log of huge columns (nasperf.predictors.base)
        X_model = predictor.clean_input(X)
    else:
        impute = getattr(predictor, "impute_values_", None)  # a wrapper that imputes NaN
        if model is not predictor and impute is not None and np.isnan(X).any():
            X_model = np.where(np.isnan(X), np.broadcast_to(impute, X.shape), X)
    if model is not predictor:
        outer = _predict_fn(predictor)(X)
        inner = _predict_fn(model)(X_model)
        if not np.allclose(outer, inner, rtol=1e-6, atol=1e-8):
            log.warning("%s.predict differs from its inner %s (transformed target?); using the "
                        "model-agnostic explainer", type(predictor).__name__,
                        type(model).__name__)
            return None
    return model, X_model


def _tree_explainer(model: Any):
    """``shap.TreeExplainer`` (exact, ``tree_path_dependent``) of ``model``, or None."""
    import shap
    from shap.utils._exceptions import InvalidModelError

    try:
        return shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    except InvalidModelError as exc:
        log.info("TreeExplainer does not support %s (%s); using the model-agnostic explainer",
                 type(model).__name__, exc)
        return None


def choose_explainer(predictor: Any, X: Any) -> str:
    """``"tree"`` when the exact tree explainer applies to ``predictor`` (checked on rows of
    ``X``), else ``"permutation"`` (the default model-agnostic explainer)."""
    X = np.asarray(X.to_numpy() if isinstance(X, pd.DataFrame) else X, dtype=float)
    found = _tree_model_and_input(predictor, X[:64])
    return "tree" if found is not None and _tree_explainer(found[0]) is not None \
        else "permutation"


def _tree_shap(predictor: Any, X: np.ndarray) -> tuple[np.ndarray, float] | None:
    """TreeExplainer on the (unwrapped) tree model, or None if it does not apply."""
    found = _tree_model_and_input(predictor, X)
    if found is None:
        return None
    model, X_model = found
    explainer = _tree_explainer(model)
    if explainer is None:
        return None
    values = np.asarray(explainer.shap_values(X_model), dtype=float)
    base = np.asarray(explainer.expected_value, dtype=float).ravel()
    if values.ndim != 2 or base.size != 1:
        raise ValueError(f"expected a single-output regressor, got SHAP values of shape "
                         f"{values.shape}")
    return values, float(base[0])


# -- model-agnostic explainers ---------------------------------------------------------------------
#: Rows of the background ("feature unknown") of the model-agnostic explainers.
DEFAULT_BACKGROUND = 20
#: Forward-and-backward permutations per explained row of the permutation explainer.
DEFAULT_PERMUTATIONS = 5
#: Rows the ``nasperf shap`` command explains by default, per explainer.
DEFAULT_EXPLAIN_ROWS = {"tree": 1000, "permutation": 100, "kernel": 100}


def default_max_evals(explainer: str, n_features: int) -> int:
    """Model evaluations per explained row: :data:`DEFAULT_PERMUTATIONS` forward-and-backward
    permutations (``2 d + 1`` evaluations each) for ``"permutation"``; shap's own default
    ``2 d + 2048`` for ``"kernel"``."""
    if explainer == "kernel":
        return 2 * n_features + 2048
    return DEFAULT_PERMUTATIONS * (2 * n_features + 1)


def _permutation_row(f, bg: np.ndarray, seed: int):
    """One-row explainer of shap's PermutationExplainer: ``(row, max_evals) -> (values (d,),
    base value)``."""
    import shap

    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)),
                                          seed=seed)

    def explain(row: np.ndarray, max_evals: int) -> tuple[np.ndarray, float]:
        out = explainer(row[None, :], max_evals=max_evals, batch_size=max_evals, silent=True)
        return np.asarray(out.values[0], dtype=float), float(np.ravel(out.base_values)[0])

    return explain


def _kernel_row(f, bg: np.ndarray, seed: int):
    """One-row explainer of shap's KernelExplainer: ``(row, max_evals) -> (values (d,),
    base value)`` with ``max_evals`` coalitions."""
    import shap

    explainer = shap.KernelExplainer(f, bg, seed=seed)
    base = float(np.ravel(explainer.expected_value)[0])

    def explain(row: np.ndarray, max_evals: int) -> tuple[np.ndarray, float]:
        values = explainer.shap_values(row[None, :], nsamples=max_evals, silent=True)
        return np.asarray(values, dtype=float).reshape(-1), base

    return explain


#: Model-agnostic explainer name -> factory ``(f, background, seed)`` of a one-row
#: explainer ``(row, max_evals) -> (SHAP values (d,), base value)``.
AGNOSTIC_EXPLAINERS: dict[str, Callable[..., Callable[..., tuple[np.ndarray, float]]]] = {
    "permutation": _permutation_row,
    "kernel": _kernel_row,
}
EXPLAINERS = ("auto", "tree", *AGNOSTIC_EXPLAINERS)


def _agnostic_shap(predictor: Any, X: np.ndarray, kind: str, background: int,
                   max_evals: int, rng: np.random.Generator, seed: int,
                   progress: bool) -> tuple[np.ndarray, float]:
    """Model-agnostic SHAP values ``(n, d)`` and base value, one row at a time with a bar.

    Before starting, the first row is explained once with one permutation's worth of
    evaluations (``2 d + 1``; this warm-up pays shap's one-off compilation) and timed on a
    second such run; that time scaled to ``max_evals`` evaluations per row and to the
    ``n`` rows is logged ("about N s for M rows"), at WARNING level above a minute. The
    explainer is then rebuilt (the same seed: the values do not depend on the probe); the
    time taken is logged at INFO level at the end.
    """
    import time

    from tqdm.auto import tqdm

    f = _predict_fn(predictor)
    bg = X[rng.choice(X.shape[0], min(background, X.shape[0]), replace=False)]
    n, d = X.shape
    factory = AGNOSTIC_EXPLAINERS[kind]
    probe_evals = min(max_evals, 2 * d + 1)
    log.info("model-agnostic SHAP (%s explainer): timing one row (the first call of shap "
             "may take seconds)", kind)
    probe = factory(f, bg, seed)
    probe(X[0], probe_evals)  # warm-up
    start = time.perf_counter()
    probe(X[0], probe_evals)
    per_row = (time.perf_counter() - start) * max_evals / probe_evals
    estimate = per_row * n
    level = logging.WARNING if estimate > 60 else logging.INFO
    log.log(level, "model-agnostic SHAP (%s explainer): about %.0f s for %d rows "
            "(%d evaluations of %d background rows per row, %.2f s per row; fewer rows, "
            "background rows or evaluations cost proportionally less)",
            kind, estimate, n, max_evals, len(bg), per_row)
    explain = factory(f, bg, seed)
    values = np.empty((n, d))
    base = 0.0
    start = time.perf_counter()
    for i in tqdm(range(n), desc=f"SHAP ({kind})", unit="row", disable=not progress):
        values[i], base = explain(X[i], max_evals)
    log.info("model-agnostic SHAP (%s explainer) took %.1f s for %d rows", kind,
             time.perf_counter() - start, n)
    return values, base


def shap_attributions(
    predictor: Any,
    X: Any,
    feature_names: Sequence[str] | None = None,
    groups: Any = None,
    background: int = DEFAULT_BACKGROUND,
    max_rows: int | None = None,
    random_state: int = 0,
    explainer: str = "auto",
    max_evals: int | None = None,
    progress: bool = True,
) -> ShapResult:
    """SHAP values of ``predictor.predict`` (or of a callable) on the rows of ``X``.

    Parameters
    ----------
    predictor : fitted regressor with ``predict(X) -> (n,)``, or a callable ``f(X) -> (n,)``
    X : array-like of shape (n, d)
        The rows to explain, encoded as the predictor was trained.
    feature_names : sequence of d str, optional
        Default: ``X``'s columns for a DataFrame, else ``x0, x1, ...``.
    groups : dict, callable or None
        The groups of :func:`nasperf.eval.features.build_features` (group -> column indices
        of ``X``; nested groups allowed, a feature goes to the smallest one), a dict group ->
        feature names, a callable name -> group, or None (:func:`default_feature_group`).
        Features in no group go to ``"other"``.
    background : int
        Rows of ``X`` (sampled with ``random_state``) forming the background ("feature
        unknown") of the model-agnostic explainers; unused by the tree explainer.
    max_rows : int, optional
        Explain only this many randomly chosen rows (default: all). A model-agnostic
        explainer costs about ``max_rows * max_evals * background`` model evaluations.
    random_state : int
    explainer : {"auto", "tree", "permutation", "kernel"}
        ``"auto"``: the exact tree explainer when it applies, else ``"permutation"``
        (shap's PermutationExplainer: SHAP values from forward-and-backward feature
        permutations; they add up exactly to ``prediction - base_value``). ``"kernel"`` is
        shap's KernelExplainer. ``"tree"`` raises if the tree explainer does not apply.
    max_evals : int, optional
        Model evaluations (each on the ``background`` rows) per explained row of a
        model-agnostic explainer; default :func:`default_max_evals`. The permutation
        explainer needs at least ``2 d + 1`` (one permutation).
    progress : bool
        Show a ``tqdm`` progress bar over the rows of a model-agnostic explainer.

    Returns
    -------
    ShapResult
    """
    if explainer not in EXPLAINERS:
        raise ValueError(f"unknown explainer {explainer!r}; known: {', '.join(EXPLAINERS)}")
    if isinstance(X, pd.DataFrame):
        feature_names = list(X.columns) if feature_names is None else feature_names
        X = X.to_numpy()
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    names = [f"x{j}" for j in range(X.shape[1])] if feature_names is None else \
        [str(n) for n in feature_names]
    if len(names) != X.shape[1]:
        raise ValueError(f"{len(names)} feature names for {X.shape[1]} columns")
    if len(set(names)) != len(names):
        raise ValueError("feature names must be unique")
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    gmap = _group_map(names, groups)
    rng = np.random.default_rng(random_state)
    if max_rows is not None and max_rows < X.shape[0]:
        X = X[np.sort(rng.choice(X.shape[0], max_rows, replace=False))]

    tree = _tree_shap(predictor, X) if explainer in ("auto", "tree") else None
    if tree is not None:
        values, base = tree
        kind = "tree"
    elif explainer == "tree":
        raise ValueError(f"the tree explainer does not apply to {type(predictor).__name__}; "
                         "use explainer='permutation' or 'kernel'")
    else:
        kind = "permutation" if explainer == "auto" else explainer
        if background < 1:
            raise ValueError(f"background must be >= 1, got {background}")
        d = X.shape[1]
        evals = default_max_evals(kind, d) if max_evals is None else int(max_evals)
        if kind == "permutation" and evals < 2 * d + 1:
            raise ValueError(f"max_evals {evals} is below one permutation of {d} features "
                             f"(2 d + 1 = {2 * d + 1})")
        if evals < 1:
            raise ValueError(f"max_evals must be >= 1, got {evals}")
        values, base = _agnostic_shap(predictor, X, kind, background, evals, rng,
                                      random_state, progress)
    return ShapResult(values=values, base_value=base, data=X, feature_names=names,
                      groups=gmap, explainer=kind)


# -- plots -----------------------------------------------------------------------------------------
def plot_summary(result: ShapResult, path: str | Path, max_display: int = 20,
                 title: str | None = None) -> Path:
    """Beeswarm of the ``max_display`` most important features, written as a PNG.

    Drawn on a stand-alone figure (no pyplot state is touched). Returns the path. Needs
    matplotlib and shap (``pip install 'nasperf[shap]'``).
    """
    shown = min(max_display, len(result.feature_names))
    fig = new_figure(8, 0.4 * shown + 1.5)
    shap = import_optional("shap", "shap", "plot_summary")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ax = fig.add_subplot(1, 1, 1)
    shap.plots.beeswarm(result.to_explanation(), max_display=max_display, ax=ax, show=False,
                        plot_size=None)
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def plot_bar(result: ShapResult, path: str | Path, max_display: int = 20,
             title: str | None = None) -> Path:
    """Bar charts of mean ``|SHAP|``: per feature (top ``max_display``) and per group. PNG.

    Returns the path. Needs matplotlib (``pip install 'nasperf[plots]'``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    feats = result.mean_abs().iloc[:max_display][::-1]
    grp = result.group_importance()["mean_abs_shap"][::-1]
    fig = new_figure(12, 0.3 * max(len(feats), len(grp)) + 1.5)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax1.barh(feats.index, feats.to_numpy(), color="#1f77b4")
    ax1.set_xlabel("mean |SHAP value|")
    ax1.set_title("features")
    ax2.barh(grp.index, grp.to_numpy(), color="#ff7f0e")
    ax2.set_xlabel("mean |sum of the group's SHAP values|")
    ax2.set_title("feature groups")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path
