"""The search loop: ask an optimiser, query the objective, tell the values, record everything.

:func:`run_search` runs one trial; :func:`run_trials` runs optimisers x trials into an
output directory. Each query is one record of the history:

``optimizer, trial, seed, query`` (1-based), ``round`` (1-based ask), ``arch`` (official
string), ``value`` (NaN for a failed query), ``error`` (why it failed, else empty),
``time_s`` (the objective's wall time), ``pred_mean``/``pred_std`` (the optimiser's
prediction when it asked, else NaN), ``arch_test`` (the architecture's test value, where the
objective has one) and, computed from those, ``best_value`` (best finite value so far, NaN
before the first) and ``test_value`` (``arch_test`` of that incumbent).

Records are appended, checksummed and fsynced, to a :class:`~nasperf._io.RecordLog` as each
query finishes. A rerun with the same history file replays the recorded queries (the
optimiser is re-run from its seed and must ask the same architectures; the objective is
not called again) and continues from there: a search killed mid-way loses at most the
query in flight.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import nasperf
from nasperf._io import RecordLog, atomic_open, content_hash, output_lock
from nasperf.searchspaces import Benchmark, get_space

from .domain import Domain
from .optimizers import Optimizer, PredictorGuided, get_optimizer

log = logging.getLogger(__name__)

#: Columns of a history table, in order (``arch_test``/``test_value`` only with test values).
HISTORY_COLUMNS = ("optimizer", "trial", "seed", "query", "round", "arch", "value",
                   "best_value", "test_value", "arch_test", "time_s", "pred_mean", "pred_std",
                   "error")


class BenchmarkObjective:
    """A labelled benchmark as an objective: a query is a table lookup of the target.

    Architectures with a NaN target are left out of the pool (with a warning).

    Parameters
    ----------
    bench : Benchmark
    test_column : str or None, default "test_accuracy"
        Column reported as the incumbent's test value (ignored when absent or when it is
        the target itself).
    """

    def __init__(self, bench: Benchmark, test_column: str | None = "test_accuracy"):
        y = np.asarray(bench.y, dtype=float)
        keep = np.isfinite(y)
        if not keep.any():
            raise ValueError(f"{bench.space.name} {bench.dataset}: the target "
                             f"{bench.target!r} is NaN for every architecture; a search "
                             "needs a labelled pool")
        if not keep.all():
            log.warning("%s %s: %d architecture(s) without a %s left out of the pool",
                        bench.space.name, bench.dataset, int((~keep).sum()), bench.target)
            rows = np.flatnonzero(keep)
            bench = Benchmark(bench.space, bench.dataset, bench.source, bench.target,
                              [bench.archs[i] for i in rows], y[rows],
                              bench.proxies.iloc[rows].reset_index(drop=True),
                              bench.frame.iloc[rows], dict(bench.meta))
        self.bench = bench
        self.domain = Domain(bench.space, bench)
        self.y = np.asarray(bench.y, dtype=float)
        self.test_column = (test_column if test_column and test_column in bench.frame
                            and test_column != bench.target else None)
        self.test = (bench.frame[self.test_column].to_numpy(float) if self.test_column
                     else None)

    def __call__(self, arch: Any) -> float:
        return float(self.y[self.domain.row(arch)])

    def test_value(self, arch: Any) -> float:
        return math.nan if self.test is None else float(self.test[self.domain.row(arch)])

    @property
    def optimum(self) -> float:
        """The best target value of the pool."""
        return float(self.y.max())

    def fingerprint(self) -> str:
        from nasperf.eval.features import benchmark_fingerprint

        return benchmark_fingerprint(self.bench)

    def __repr__(self) -> str:
        return (f"BenchmarkObjective({self.bench.space.name} {self.bench.dataset}, "
                f"{self.bench.target}, pool={len(self.y):,})")


class CallableObjective:
    """A user function ``arch -> float`` (higher is better) over an open space."""

    def __init__(self, fn: Callable[[Any], float], space: Any):
        if not callable(fn):
            raise TypeError(f"objective must be a Benchmark or a callable, got {fn!r}")
        self.fn = fn
        self.domain = Domain(get_space(space))
        self.optimum = math.nan

    def __call__(self, arch: Any) -> float:
        return self.fn(arch)

    def test_value(self, arch: Any) -> float:
        return math.nan

    def fingerprint(self) -> str:
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return content_hash("callable", self.domain.space.name, name)


def as_objective(objective: Any, space: Any = None) -> BenchmarkObjective | CallableObjective:
    """Wrap a Benchmark or a callable (``space`` required for a callable)."""
    if isinstance(objective, (BenchmarkObjective, CallableObjective)):
        return objective
    if isinstance(objective, Benchmark):
        if space is not None and get_space(space).name != objective.space.name:
            raise ValueError(f"space {get_space(space).name!r} but the benchmark is of "
                             f"{objective.space.name!r}")
        return BenchmarkObjective(objective)
    if space is None:
        raise ValueError("a callable objective needs space= (the space to search)")
    return CallableObjective(objective, space)


def _optimizer(optimizer: str | Optimizer, domain: Domain, seed: int, batch_size: int | None,
               name: str | None = None) -> tuple[Optimizer, str]:
    """A fresh optimiser bound to ``domain`` with ``seed``, and its name for the history
    (``name``, else the registry name or the class name)."""
    extra = {} if batch_size is None else {"batch_size": batch_size}
    if isinstance(optimizer, str):
        opt = get_optimizer(optimizer, space=domain, random_state=seed, **extra)
        return opt, name or optimizer
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a name or an Optimizer, got {optimizer!r}")
    params = {**optimizer.get_params(deep=False), "space": domain, "random_state": seed,
              **extra}
    return type(optimizer)(**params), name or type(optimizer).__name__


def _named(optimizers: Any) -> list[tuple[str | None, str | Optimizer]]:
    """``[(name or None, optimizer)]`` from a list of names/optimisers or a dict name ->
    optimiser."""
    if isinstance(optimizers, Mapping):
        return [(str(k), v) for k, v in optimizers.items()]
    if isinstance(optimizers, (str, Optimizer)):
        optimizers = [optimizers]
    return [(None, o) for o in optimizers]


def _run_key(name: str, opt: Optimizer, objective, seed: int) -> str:
    """The hash of what decides a trial's queries: the optimiser's parameters (for a
    predictor-guided one also every setting of the predictor its name stands for, so that a
    changed registry default means new trials), the seed, the objective and the version."""
    params = {k: repr(v) for k, v in sorted(opt.get_params(deep=False).items())
              if k not in ("space", "random_state")}
    if isinstance(opt, PredictorGuided):
        from nasperf.predictors import get_predictor
        from nasperf.predictors.base import estimator_spec

        params["predictor_spec"] = estimator_spec(
            get_predictor(opt.predictor, **(opt.predictor_params or {})))
    return content_hash("search", name, params, seed, objective.fingerprint(),
                        nasperf.__version__)


def _evaluate(objective, arch: Any) -> tuple[float, str, float]:
    """``(value, error, seconds)``; a raised exception or a non-finite result is a failed
    query (NaN value, with the reason)."""
    start = time.perf_counter()
    try:
        raw = objective(arch)
    except Exception as exc:  # noqa: BLE001 - recorded in the history, never lost
        return math.nan, f"{type(exc).__name__}: {exc}", time.perf_counter() - start
    seconds = time.perf_counter() - start
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return math.nan, f"objective returned {raw!r:.60}, not a number", seconds
    if not math.isfinite(value):
        return math.nan, f"objective returned {value}", seconds
    return value, "", seconds


def _by_run(records: Sequence[dict]) -> dict[str, list[dict]]:
    """History records grouped by run key, each group in query order."""
    out: dict[str, list[dict]] = {}
    for rec in records:
        out.setdefault(rec.get("run"), []).append(rec)
    for group in out.values():
        group.sort(key=lambda r: r["query"])
    return out


def _search(objective, optimizer: str | Optimizer, budget: int, seed: int, trial: int,
            batch_size: int | None, recorded: Mapping[str, list[dict]],
            records: RecordLog | None, bar: tqdm | None, name: str | None = None
            ) -> list[dict]:
    """One trial: queries of its run in ``recorded`` (:func:`_by_run`) are replayed, new ones
    appended to ``records`` (None: not stored)."""
    domain = objective.domain
    opt, name = _optimizer(optimizer, domain, seed, batch_size, name)
    key = _run_key(name, opt, objective, seed)
    done = recorded.get(key, [])
    rows: list[dict] = []
    rnd = 0
    while len(rows) < budget:
        rnd += 1
        archs = opt.ask(min(opt.batch_size, budget - len(rows)))
        if not archs:
            log.warning("%s trial %d: the domain has no architecture left after %d queries",
                        name, trial, len(rows))
            break
        values = []
        for arch in archs:
            q = len(rows) + 1
            text = domain.to_string(arch)
            if q <= len(done):
                rec = done[q - 1]
                if rec["arch"] != text:
                    raise ValueError(
                        f"history: query {q} of {name} trial {trial} was {rec['arch']} but "
                        f"the optimiser now asks {text}; the history was written by another "
                        "version or configuration (use another history file)")
            else:
                value, error, seconds = _evaluate(objective, arch)
                mean, std = opt.predictions_.get(domain.key(arch), (math.nan, math.nan))
                rec = dict(run=key, optimizer=name, trial=trial, seed=seed, query=q,
                           round=rnd, arch=text, value=None if math.isnan(value) else value,
                           error=error, time_s=seconds, arch_test=_none(
                               objective.test_value(arch)),
                           pred_mean=_none(mean), pred_std=_none(std))
                if error:
                    log.warning("%s trial %d query %d (%s): %s", name, trial, q, text, error)
                if records is not None:
                    records.append(rec)
            rows.append(rec)
            values.append(math.nan if rec["value"] is None else rec["value"])
            if bar is not None:
                bar.update(1)
        opt.tell(archs, values)
        if bar is not None:
            best = opt.best()
            bar.set_postfix(opt=name, trial=trial, best=f"{best[1]:.2f}" if best else "-",
                            refresh=False)
    return rows


def _none(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def history_table(records: Sequence[dict]) -> pd.DataFrame:
    """The tidy history (:data:`HISTORY_COLUMNS`) of query records, one row per query, with
    ``best_value`` and the incumbent's ``test_value`` per (optimizer, trial)."""
    df = pd.DataFrame(list(records))
    if df.empty:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    for col in ("value", "arch_test", "pred_mean", "pred_std", "time_s"):
        df[col] = pd.to_numeric(df.get(col), errors="coerce").astype(float)
    order = {name: i for i, name in enumerate(dict.fromkeys(df["optimizer"]))}
    df = df.sort_values(["optimizer", "trial", "query"], kind="stable",
                        key=lambda c: c.map(order) if c.name == "optimizer" else c
                        ).reset_index(drop=True)
    # per (optimizer, trial): the running best finite value, and the row that set it
    trials = [df["optimizer"], df["trial"]]
    value = df["value"].where(np.isfinite(df["value"]), -np.inf)
    best = value.groupby(trials, sort=False).cummax()
    new_best = value > best.groupby(trials, sort=False).shift(fill_value=-np.inf)
    setter = pd.Series(np.where(new_best, np.arange(len(df)), np.nan)).groupby(
        trials, sort=False).ffill()
    test = np.full(len(df), np.nan)
    found = setter.notna().to_numpy()
    test[found] = df["arch_test"].to_numpy()[setter[found].astype(int)]
    df["best_value"], df["test_value"] = best.where(np.isfinite(best)), test
    df["error"] = df["error"].fillna("")
    cols = [c for c in HISTORY_COLUMNS if c in df]
    if df["arch_test"].isna().all():
        cols = [c for c in cols if c not in ("arch_test", "test_value")]
    return df[cols]


def load_history(path: str | Path) -> pd.DataFrame:
    """The history table (:func:`history_table`) of a history log (``OUT/history.log``):
    for every (optimizer, trial), the queries of the run written last (an earlier run with
    other options or another version is left out)."""
    records = RecordLog(path).read()
    last: dict[tuple, str] = {}
    for r in records:
        last[(r["optimizer"], r["trial"])] = r["run"]
    keep, seen = [], set()
    for r in records:
        k = (r["run"], r["query"])
        if last[(r["optimizer"], r["trial"])] == r["run"] and k not in seen:
            seen.add(k)
            keep.append(r)
    return history_table(keep)


def run_search(space: Any, objective: Any, optimizer: str | Optimizer = "random",
               budget: int = 100, seed: int = 0, *, batch_size: int | None = None,
               history: str | Path | None = None, trial: int = 0,
               progress: bool = False) -> pd.DataFrame:
    """Run one search trial; returns its history table (:func:`history_table`).

    Parameters
    ----------
    space : str, SearchSpace or None
        The space (None: the benchmark's, when ``objective`` is one).
    objective : Benchmark or callable
        A labelled benchmark (each lookup is one query; the search is restricted to its
        architectures) or a function ``arch -> float`` to maximise (e.g. a short training
        run). An exception or a non-finite return is recorded as a failed query.
    optimizer : str or Optimizer
        A :func:`~nasperf.search.optimizers.get_optimizer` name or an optimiser, re-created
        for this trial with ``random_state=seed``.
    budget : int
        Queries (failed ones count: they cost an evaluation).
    seed : int
        Seed of the optimiser; the same seed gives the same history.
    batch_size : int, optional
        Architectures per ask (default: the optimiser's).
    history : path, optional
        A :class:`~nasperf._io.RecordLog` file: queries already recorded there for the same
        optimiser, options, seed and objective are replayed instead of evaluated again, new
        ones are appended.
    """
    objective = as_objective(objective, space)
    budget = _check_budget(budget, objective)
    records = RecordLog(history) if history is not None else None
    recorded = _by_run(records.repair()) if records is not None else {}
    bar = tqdm(total=budget, desc="search", unit="query", disable=not progress)
    with bar:
        rows = _search(objective, optimizer, budget, seed, trial, batch_size, recorded,
                       records, bar)
    return history_table(rows)


def _check_budget(budget: Any, objective) -> int:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be a positive number of queries, got {budget!r}")
    size = objective.domain.size
    if size is not None and budget > size:
        raise ValueError(f"budget {budget} is larger than the pool ({size:,} "
                         "architectures): every architecture would be queried")
    return int(budget)


def run_trials(objective: Any, optimizers: Sequence[str | Optimizer] | Mapping[str, Any],
               trials: int = 10,
               budget: int = 100, *, space: Any = None, out: str | Path | None = None,
               batch_size: int | None = None, first_seed: int = 0, progress: bool = True,
               plot: bool = True, executor: Any = None) -> pd.DataFrame:
    """Run every optimiser for ``trials`` trials (seeds ``first_seed ...``); the history of
    all of them (:func:`history_table`).

    ``optimizers`` are registry names or :class:`Optimizer` objects (named by class in the
    history), or a dict history name -> name or optimiser.

    With ``out``, the queries go to ``out/history.log`` as they finish (a rerun resumes),
    ``out/history.csv`` is rewritten atomically after each trial, and ``out/best_so_far.png``
    (needs matplotlib) is drawn at the end; the directory is locked for the run.

    ``executor`` (None or ``"local"``: the trials one after the other in this process) may
    be ``"processes"``, ``"ray"`` or a :func:`nasperf.executors.get_executor` object: then
    each (optimiser, trial) is one shard run there (objective and optimisers must pickle),
    the queries of a finished trial are appended to ``out/history.log`` and
    ``out/history.csv`` is rewritten; the history is the same as the local one (``time_s``
    aside) whatever the executor or the order in which trials finish.
    """
    objective = as_objective(objective, space)
    budget = _check_budget(budget, objective)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    optimizers = _named(optimizers)
    if not optimizers:
        raise ValueError("give at least one optimiser")
    for name, o in optimizers:  # unknown names and bad options fail before any query
        _optimizer(o, objective.domain, first_seed, batch_size, name)[0]._start()
    run = _trials if executor in (None, "local") else functools.partial(_trials_on, executor)
    if out is None:
        return run(objective, optimizers, trials, budget, batch_size, first_seed,
                   progress, {}, None, None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        records = RecordLog(out / "history.log")
        recorded = _by_run(records.repair())  # the log is read once per run
        df = run(objective, optimizers, trials, budget, batch_size, first_seed, progress,
                 recorded, records, out)
        if plot:
            save_plot(df, out / "best_so_far.png", objective)
    return df


def _trials(objective, optimizers, trials, budget, batch_size, first_seed, progress,
            recorded: Mapping[str, list[dict]], records: RecordLog | None, out: Path | None
            ) -> pd.DataFrame:
    rows: list[dict] = []
    total = len(optimizers) * trials * budget
    with tqdm(total=total, desc="search", unit="query", disable=not progress) as bar:
        for name, opt in optimizers:
            for t in range(trials):
                rows += _search(objective, opt, budget, first_seed + t, t, batch_size,
                                recorded, records, bar, name)
                if out is not None:
                    write_history(history_table(rows), out / "history.csv")
    return history_table(rows)


def _trial_shard(payload: tuple) -> list[dict]:
    """One (optimiser, trial) on a worker: its query records (the recorded ones replayed;
    the driver, the only writer of the history, appends the new ones)."""
    objective, optimizer, budget, seed, trial, batch_size, name, recorded = payload
    return _search(objective, optimizer, budget, seed, trial, batch_size, recorded, None,
                   None, name)


def _trials_on(executor: Any, objective, optimizers, trials, budget, batch_size, first_seed,
               progress, recorded: Mapping[str, list[dict]], records: RecordLog | None,
               out: Path | None) -> pd.DataFrame:
    """:func:`_trials` with each (optimiser, trial) a shard of ``executor``."""
    from nasperf import executors

    shards = []
    for k, (name, opt) in enumerate(optimizers):
        for t in range(trials):
            seed = first_seed + t
            bound, label = _optimizer(opt, objective.domain, seed, batch_size, name)
            key = _run_key(label, bound, objective, seed)
            shards.append(executors.Shard(f"{k:03d}-{t:05d}", (
                objective, opt, budget, seed, t, batch_size, name,
                {key: recorded.get(key, [])}), size=budget))
    finished: dict[str, list[dict]] = {}

    def on_result(shard: executors.Shard, rows: list[dict]) -> None:
        if records is not None:
            n_done = len(next(iter(shard.payload[-1].values())))
            records.append([r for r in rows if r["query"] > n_done])
        finished[shard.id] = rows
        if out is not None:
            write_history(history_table([r for s in shards for r in finished.get(s.id, [])]),
                          out / "history.csv")

    with executors.session(executor, preload=(__name__,)) as ex:
        results = ex.map_shards(_trial_shard, shards, progress=progress, desc="search",
                                unit="query", on_result=on_result)
    return history_table([r for rows in results for r in rows])


def write_history(df: pd.DataFrame, path: str | Path) -> None:
    """Write a history table as CSV, atomically."""
    with atomic_open(path, newline="") as fh:
        df.to_csv(fh, index=False)


def save_plot(df: pd.DataFrame, path: Path, objective) -> None:
    """Draw :func:`~nasperf.search.plots.best_so_far_figure` of ``df`` into a PNG at
    ``path``, atomically (nothing, with an INFO line, without matplotlib)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log.info("matplotlib is not installed: no %s", path.name)
        return
    from .plots import best_so_far_figure

    fig = best_so_far_figure(df, optimum=objective.optimum)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
