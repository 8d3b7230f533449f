"""Ask/tell optimisers over a :class:`~nasperf.search.domain.Domain`.

Every optimiser is a scikit-learn style object (parameters in ``__init__``, reachable with
``get_params``/``set_params`` and ``__`` for the predictor's; state with a trailing
underscore, created on the first :meth:`Optimizer.ask`):

>>> opt = get_optimizer("bananas", space=load_benchmark("nb201"), random_state=0)
>>> archs = opt.ask(10)            # 10 architectures never asked before
>>> opt.tell(archs, values)        # their measured values (NaN: a failed evaluation)

The same ``random_state`` and the same told values give the same asks, which is what makes
a search resumable by replaying its history. A NaN value marks an architecture as seen
(never asked again) but is never the best one nor a training point.

Optimisers: random search; regularized evolution (Real et al., 2019: tournament selection,
mutation of the winner, the oldest member dies); local search (White et al., 2021: from the
best architecture, query its neighbours in random order and move to the first that is
better; restart at a random architecture when none is); and :class:`PredictorGuided`, the
loop behind BANANAS (White et al., 2021: MLP ensemble on path encoding, independent Thompson
sampling over mutations of the best architectures), GP Bayesian optimisation with expected
improvement, and iterative predictor-based selection with any toolkit predictor, each with an
optional zero-cost warm start (the first batch is the top of the pool by a proxy or by a
zero-shot ensemble of proxies; proxies cost no query).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import BaseEstimator

from nasperf.predictors.trees import TreePredictor
from nasperf.searchspaces.base import check_seed

from .acquisition import get_acquisition
from .domain import Domain, as_domain

log = logging.getLogger(__name__)

#: Proxies of the default zero-shot ensemble of the warm start: the "vote" of Abdelfattah
#: et al. (2021), here as the mean of their ranks.
ZERO_SHOT_PROXIES = ("synflow", "jacov", "snip")


class Optimizer(BaseEstimator):
    """Base class: bookkeeping of asked and told architectures.

    Parameters
    ----------
    space : str, SearchSpace, Benchmark or Domain
        Where to search (a Benchmark restricts the search to its architectures).
    batch_size : int
        Architectures per :meth:`ask` when ``n`` is not given.
    random_state : int, Generator or None

    Attributes (after the first ``ask``)
    ------------------------------------
    domain_ : Domain
    archs_, values_ : list
        Every told architecture and its value, in the order told.
    predictions_ : dict
        key -> (predicted mean, std) of asked architectures, for optimisers with a model.
    """

    def __init__(self, space: Any = None, *, batch_size: int = 1, random_state: Any = None):
        self.space = space
        self.batch_size = batch_size
        self.random_state = random_state

    # -- state -------------------------------------------------------------------------------
    def _start(self) -> None:
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        self.domain_: Domain = as_domain(self.space)
        self.rng_ = check_seed(self.random_state, "random_state")
        self.archs_: list = []
        self.values_: list[float] = []
        self.asked_: set[Hashable] = set()
        self.pending_: dict[Hashable, Any] = {}
        self.predictions_: dict[Hashable, tuple[float, float]] = {}
        self._check()

    def _check(self) -> None:
        """Validate the parameters (called once, on the first ask)."""

    @property
    def started(self) -> bool:
        return hasattr(self, "domain_")

    def observed(self) -> tuple[list, np.ndarray]:
        """Told architectures with a finite value, and those values ``(n,)``."""
        keep = [i for i, v in enumerate(self.values_) if np.isfinite(v)]
        return [self.archs_[i] for i in keep], np.array([self.values_[i] for i in keep], float)

    def best(self) -> tuple[Any, float] | None:
        """The best told architecture and its value (None before a finite value)."""
        archs, y = self.observed()
        if not len(y):
            return None
        i = int(np.argmax(y))
        return archs[i], float(y[i])

    # -- ask / tell --------------------------------------------------------------------------
    def ask(self, n: int | None = None) -> list:
        """Up to ``n`` (default ``batch_size``) architectures never asked before; fewer only
        when the domain has no more."""
        if not self.started:
            self._start()
        n = self.batch_size if n is None else n
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"ask(n): n must be a positive integer, got {n!r}")
        out: list = []
        keys: set[Hashable] = set()
        for arch in self._propose(int(n)):
            k = self.domain_.key(arch)
            if k not in self.asked_ and k not in keys and len(out) < n:
                keys.add(k)
                out.append(arch)
        if len(out) < n:  # the strategy ran dry: top up with random architectures
            out += self.domain_.sample(n - len(out), self.rng_, self.asked_ | keys)
        for arch in out:
            k = self.domain_.key(arch)
            self.asked_.add(k)
            self.pending_[k] = arch
        return out

    def tell(self, archs: Sequence, values: Sequence[float]) -> None:
        """Record measured ``values`` (NaN for a failed evaluation) of asked ``archs``."""
        if not self.started:
            raise ValueError("tell() before ask(): tell the values of architectures that "
                             "ask() returned")
        archs, values = list(archs), np.asarray(values, dtype=float).reshape(-1)
        if len(archs) != len(values):
            raise ValueError(f"tell(): {len(archs)} architectures but {len(values)} values")
        for arch in archs:
            if self.domain_.key(arch) not in self.pending_:
                raise ValueError(f"tell(): {self.domain_.to_string(arch)} was not asked (or "
                                 "was told already)")
        for arch, v in zip(archs, values):
            self.pending_.pop(self.domain_.key(arch))
            self.archs_.append(arch)
            self.values_.append(float(v))
        self._observe(archs, values)

    def _propose(self, n: int) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def _observe(self, archs: list, values: np.ndarray) -> None:
        """React to told values (default: nothing)."""

    def _excluded(self) -> set[Hashable]:
        return self.asked_


class RandomSearch(Optimizer):
    """Uniform random architectures, never one twice."""

    def _propose(self, n: int) -> list:
        return self.domain_.sample(n, self.rng_, self.asked_)


class RegularizedEvolution(Optimizer):
    """Regularized (aging) evolution of Real et al. (2019).

    The first ``population_size`` architectures are random. Afterwards each child is a
    mutation of the best of ``tournament_size`` members drawn from the population, which is
    the last ``population_size`` architectures told with a finite value (the oldest dies).
    """

    def __init__(self, space: Any = None, *, population_size: int = 20,
                 tournament_size: int = 5, batch_size: int = 1, random_state: Any = None):
        super().__init__(space, batch_size=batch_size, random_state=random_state)
        self.population_size = population_size
        self.tournament_size = tournament_size

    def _check(self) -> None:
        if not 1 <= self.tournament_size <= self.population_size:
            raise ValueError(f"need 1 <= tournament_size <= population_size, got "
                             f"{self.tournament_size} and {self.population_size}")

    def _propose(self, n: int) -> list:
        archs, y = self.observed()
        if len(self.asked_) < self.population_size or len(y) < self.tournament_size:
            return self.domain_.sample(n, self.rng_, self.asked_)
        pop = np.arange(len(y))[-self.population_size:]
        out, taken = [], set(self.asked_)
        for _ in range(n):
            members = self.rng_.choice(pop, self.tournament_size, replace=False)
            parent = archs[int(members[np.argmax(y[members])])]
            child = self.domain_.mutate(parent, self.rng_, taken)
            if child is not None:
                taken.add(self.domain_.key(child))
                out.append(child)
        return out


class LocalSearch(Optimizer):
    """Local search of White et al. (2021).

    After ``num_init`` random architectures, the best one is the current architecture; its
    neighbours are queried in random order, and the first that is better becomes the current
    one. When every neighbour of the current architecture is known and none is better (a
    local optimum), the search restarts from a random architecture.
    """

    def __init__(self, space: Any = None, *, num_init: int = 10, batch_size: int = 1,
                 random_state: Any = None):
        super().__init__(space, batch_size=batch_size, random_state=random_state)
        self.num_init = num_init

    def _start(self) -> None:
        super()._start()
        self.current_: tuple[Any, float] | None = None
        self.queue_: list = []

    def _propose(self, n: int) -> list:
        if len(self.asked_) < self.num_init:
            return self.domain_.sample(min(n, self.num_init - len(self.asked_)), self.rng_,
                                       self.asked_)
        if self.current_ is None:
            self.current_ = self.best()
            self.queue_ = []
        out: list = []
        while len(out) < n:
            self.queue_ = [a for a in self.queue_ if self.domain_.key(a) not in self.asked_]
            if not self.queue_ and self.current_ is not None:
                self.queue_ = [a for a in self.domain_.neighbours(self.current_[0], self.rng_)
                               if self.domain_.key(a) not in self.asked_]
            if not self.queue_ or self.current_ is None:  # local optimum: restart
                restart = self.domain_.sample(1, self.rng_, self.asked_)
                if not restart:
                    break
                self.current_ = (restart[0], -np.inf)
                out += restart
                self.queue_ = [a for a in self.domain_.neighbours(restart[0], self.rng_)
                               if self.domain_.key(a) not in self.asked_]
                continue
            take = self.queue_[: n - len(out)]
            self.queue_ = self.queue_[len(take):]
            out += take
        return out

    def _observe(self, archs: list, values: np.ndarray) -> None:
        if self.current_ is None:
            return
        cur_key = self.domain_.key(self.current_[0])
        for arch, v in zip(archs, values):
            if self.domain_.key(arch) == cur_key and np.isfinite(v):
                self.current_ = (arch, float(v))  # the value of a restart point
        finite = [(a, v) for a, v in zip(archs, values) if np.isfinite(v)]
        if finite:
            arch, v = max(finite, key=lambda t: t[1])
            if v > self.current_[1]:
                self.current_, self.queue_ = (arch, float(v)), []


class PredictorGuided(Optimizer):
    """Fit a performance predictor on the queried architectures; ask the candidates with the
    best acquisition score.

    Parameters
    ----------
    predictor : str or estimator
        A :func:`nasperf.predictors.get_predictor` name or an estimator (cloned per fit with
        a fresh ``random_state``).
    predictor_params : dict, optional
        Keyword arguments of ``get_predictor`` (``{"n_estimators": 200}``);
        :func:`get_optimizer` also takes them as ``predictor__n_estimators=200``.
    features : str
        Feature families, e.g. ``"path"``, ``"graf_all+zc"`` (see :meth:`Domain.features`).
    acquisition : str
        ``greedy``, ``ucb``, ``ei`` or ``its`` (:mod:`nasperf.search.acquisition`); all but
        ``greedy`` need a predictor with ``predict(X, return_std=True)``.
    acquisition_options : dict, optional
        Keyword options of the acquisition (``kappa`` of ucb, ``xi`` of ei).
    candidates : str
        What is scored each round, one or several of :data:`CANDIDATES` joined with ``+``
        (``"mutation+sample"``): ``mutation``: the unseen one-edit neighbours
        (:meth:`Domain.neighbours`) of the best told architectures, best first, of at
        least ``num_arches_to_mutate`` of them and until there are ``num_candidates``;
        ``sample``: ``num_candidates`` random unseen ones; ``pool``: every pool
        architecture not asked yet.
    num_init : int
        Architectures asked before the first fit (random, or the warm start's).
    warm_start : None, str or callable
        The first ``num_init`` architectures: None: random; a proxy column of the pool
        (highest first); ``"zero_shot"``: the best mean rank over ``warm_start_proxies``;
        a callable ``archs -> scores`` (higher is better) applied to ``warm_start_pool``
        random architectures (for open spaces, e.g. wrapping
        :func:`nasperf.zerocost.compute_proxies`).
    warm_start_proxies : sequence of str
        Proxies of the ``"zero_shot"`` ensemble (default :data:`ZERO_SHOT_PROXIES`).
    warm_start_pool : int
        Random architectures scored by a callable ``warm_start``.
    num_warm : int, optional
        How many of the ``num_init`` first architectures come from the warm start (the
        others are random, for diversity); default all.
    """

    def __init__(self, space: Any = None, *, predictor: Any = "extra_trees",
                 predictor_params: dict | None = None, features: str = "graf_all+zc",
                 acquisition: str = "greedy",
                 acquisition_options: dict | None = None, candidates: str = "mutation+sample",
                 num_candidates: int = 100, num_arches_to_mutate: int = 2, num_init: int = 10,
                 warm_start: str | Callable | None = None,
                 warm_start_proxies: Sequence[str] = ZERO_SHOT_PROXIES,
                 warm_start_pool: int = 1000, num_warm: int | None = None,
                 batch_size: int = 10, random_state: Any = None):
        super().__init__(space, batch_size=batch_size, random_state=random_state)
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.features = features
        self.acquisition = acquisition
        self.acquisition_options = acquisition_options
        self.candidates = candidates
        self.num_candidates = num_candidates
        self.num_arches_to_mutate = num_arches_to_mutate
        self.num_init = num_init
        self.warm_start = warm_start
        self.warm_start_proxies = warm_start_proxies
        self.warm_start_pool = warm_start_pool
        self.num_warm = num_warm

    def _check(self) -> None:
        from nasperf.predictors import get_predictor

        self.acq_, needs_std = get_acquisition(self.acquisition)
        try:
            probe = get_predictor(self.predictor, **(self.predictor_params or {}))
        except TypeError as exc:
            raise ValueError(f"predictor {self.predictor!r}: {exc}") from None
        if needs_std and not getattr(probe, "_supports_std", False):
            raise ValueError(
                f"acquisition {self.acquisition!r} needs a predictor with an uncertainty "
                f"estimate (gp, mlp_ensemble, extra_trees, random_forest); "
                f"{self.predictor!r} has none: use "
                "acquisition='greedy'")
        self.needs_std_ = needs_std
        unknown = [m for m in str(self.candidates).split("+") if m not in CANDIDATES]
        if unknown:
            raise ValueError(f"unknown candidates {unknown}; known: {', '.join(CANDIDATES)} "
                             "(join several with +)")
        if "pool" in self.candidates.split("+") and self.domain_.pool is None:
            self.domain_.unseen(())  # raises the explanation
        if self.num_init < 2:
            raise ValueError(f"num_init must be at least 2 (a predictor needs training "
                             f"points), got {self.num_init}")
        if self.warm_start is not None:
            self.warm_order_ = self._warm_order()

    # -- warm start --------------------------------------------------------------------------
    def _warm_order(self) -> list:
        """Candidate architectures of the warm start, best first."""
        ws = self.warm_start
        if callable(ws):
            pool = (self.domain_.pool.archs if self.domain_.pool is not None
                    else self.domain_.sample(self.warm_start_pool, self.rng_))
            scores = np.asarray(ws(list(pool)), dtype=float).reshape(-1)
            if len(scores) != len(pool):
                raise ValueError(f"warm_start returned {len(scores)} scores for "
                                 f"{len(pool)} architectures")
        else:
            pool = list(self.domain_.pool.archs) if self.domain_.pool is not None else []
            table = self.domain_.proxy_table(pool)
            names = list(self.warm_start_proxies) if ws == "zero_shot" else [ws]
            missing = [p for p in names if p not in table.columns]
            if missing:
                raise ValueError(f"warm start: proxies {missing} are not in the pool's "
                                 f"table; it has {', '.join(table.columns)}")
            scores = zero_shot_score(table[names])
        scores = np.where(np.isfinite(scores), scores, -np.inf)
        order = np.argsort(-scores, kind="stable")
        return [pool[int(i)] for i in order]

    def _initial(self, n: int) -> list:
        warm = 0 if self.warm_start is None else (
            self.num_init if self.num_warm is None else self.num_warm)
        n_warm = min(n, max(0, warm - len(self.asked_)))
        out = []
        for arch in self.warm_order_[:len(self.asked_) + n] if n_warm else []:
            if len(out) >= n_warm:
                break
            if self.domain_.key(arch) not in self.asked_:
                out.append(arch)
        keys = self.asked_ | {self.domain_.key(a) for a in out}
        return out + self.domain_.sample(n - len(out), self.rng_, keys)

    # -- rounds ------------------------------------------------------------------------------
    def _candidates(self) -> list:
        """The union, in order, of the candidate sets named in ``candidates``."""
        out, taken = [], set(self.asked_)
        for mode in self.candidates.split("+"):
            for arch in CANDIDATES[mode](self, taken):
                k = self.domain_.key(arch)
                if k not in taken:
                    taken.add(k)
                    out.append(arch)
        return out or self.domain_.sample(self.num_candidates, self.rng_, self.asked_)

    def _mutation_candidates(self, taken: set) -> list:
        archs, y = self.observed()
        out, seen = [], set(taken)
        for rank, i in enumerate(np.argsort(-y, kind="stable")):
            if len(out) >= self.num_candidates and rank >= self.num_arches_to_mutate:
                break
            for child in self.domain_.neighbours(archs[int(i)], self.rng_):
                k = self.domain_.key(child)
                if k not in seen:
                    seen.add(k)
                    out.append(child)
        return out

    def _sample_candidates(self, taken: set) -> list:
        return self.domain_.sample(self.num_candidates, self.rng_, taken)

    def _pool_candidates(self, taken: set) -> list:
        return self.domain_.unseen(taken)

    def _fit(self, archs: list, y: np.ndarray):
        from nasperf.predictors import get_predictor

        seed = int(self.rng_.integers(2**31 - 1))
        model = get_predictor(self.predictor, random_state=seed,
                              **(self.predictor_params or {}))
        return model.fit(self.domain_.features(self.features, archs), y)

    def _propose(self, n: int) -> list:
        archs, y = self.observed()
        if len(self.asked_) < self.num_init or len(y) < 2:
            return self._initial(n)
        model = self._fit(archs, y)
        cands = self._candidates()
        if not cands:
            return []
        X = self.domain_.features(self.features, cands)
        if self.needs_std_:
            mean, std = model.predict(X, return_std=True)
        else:
            mean, std = model.predict(X), np.full(len(cands), np.nan)
        score = self.acq_(mean, std, float(y.max()), self.rng_,
                          **(self.acquisition_options or {}))
        # highest score first; ties (e.g. equal tree predictions) in random order
        order = np.lexsort((self.rng_.random(len(cands)), -np.asarray(score, float)))[:n]
        for i in order:
            self.predictions_[self.domain_.key(cands[i])] = (float(mean[i]), float(std[i]))
        return [cands[int(i)] for i in order]


#: ``candidates`` mode -> the method of :class:`PredictorGuided` that lists them.
CANDIDATES: dict[str, Callable[[PredictorGuided, set], list]] = {
    "mutation": PredictorGuided._mutation_candidates,
    "sample": PredictorGuided._sample_candidates,
    "pool": PredictorGuided._pool_candidates,
}


def zero_shot_score(table: pd.DataFrame) -> np.ndarray:
    """Mean of the per-column ranks (higher value, higher rank) of a proxy table; NaN ranks
    lowest. Shape ``(n_rows,)``."""
    ranks = []
    for col in table.columns:
        v = table[col].to_numpy(float)
        r = rankdata(np.where(np.isfinite(v), v, -np.inf))
        ranks.append(r)
    return np.mean(ranks, axis=0)


# -- registry -----------------------------------------------------------------------------------
#: The predictor of ``predictor_guided``: ExtraTrees whose trees each see every feature at
#: every split (``max_features=1.0``), so their spread, the ``ucb`` bonus, is wide where the
#: queried cells say little; cloned for every fit.
SEARCH_FOREST = TreePredictor(kind="extra_trees", params={"max_features": 1.0})
_GUIDED = {"predictor": SEARCH_FOREST, "acquisition": "ucb"}

#: name -> (class, default keyword arguments).
OPTIMIZERS: dict[str, tuple[Callable[..., Optimizer], dict[str, Any]]] = {
    "random": (RandomSearch, {}),
    "regularized_evolution": (RegularizedEvolution, {}),
    "local_search": (LocalSearch, {}),
    "bananas": (PredictorGuided, {"predictor": "mlp_ensemble", "features": "path",
                                  "acquisition": "its", "candidates": "mutation"}),
    "gp_bo": (PredictorGuided, {"predictor": "gp", "features": "onehot",
                                "acquisition": "ei", "candidates": "mutation"}),
    "predictor_guided": (PredictorGuided, _GUIDED),
    # half of the first batch from the warm start: the proxies' top cells crowd one basin
    "predictor_guided_zc": (PredictorGuided, {**_GUIDED, "warm_start": "zero_shot",
                                              "num_warm": 5}),
}


def list_optimizers() -> list[str]:
    """Names accepted by :func:`get_optimizer`."""
    return list(OPTIMIZERS)


def register_optimizer(name: str, factory: Callable[..., Optimizer], *,
                       overwrite: bool = False, **defaults: Any) -> None:
    """Make ``get_optimizer(name, **kw)`` return ``factory(**{**defaults, **kw})``."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"an optimiser name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for {name!r} must be callable, got {factory!r}")
    if name in OPTIMIZERS and not overwrite:
        raise ValueError(f"optimiser {name!r} is already registered; pass overwrite=True")
    OPTIMIZERS[name] = (factory, dict(defaults))


def get_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """An optimiser by name with ``kwargs`` (e.g. ``space=``, ``random_state=``) applied;
    ``predictor__<name>=value`` sets an option of the predictor (``predictor_params``)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimiser {name!r}; known: {', '.join(OPTIMIZERS)}")
    factory, defaults = OPTIMIZERS[name]
    params = {**defaults, **{k: v for k, v in kwargs.items() if "__" not in k}}
    nested = {k.split("__", 1)[1]: v for k, v in kwargs.items() if k.startswith("predictor__")}
    bad = [k for k in kwargs if "__" in k and not k.startswith("predictor__")]
    if bad:
        raise ValueError(f"optimiser {name!r}: unknown nested options {bad}; only "
                         "predictor__<option> is nested")
    if nested:
        params["predictor_params"] = {**(params.get("predictor_params") or {}), **nested}
    try:
        return factory(**params)
    except TypeError as exc:
        raise ValueError(f"optimiser {name!r}: {exc}") from None
