"""The predictor benchmark: a grid of feature sets x predictors x train sizes x seeds.

Protocol (the literature's, e.g. White et al. 2021, GRAF): for every seed draw a random
training set of ``n`` architectures from the benchmark, fit on it, and score the prediction
on **all** other architectures (``test="rest"``), or on a random subset of them of a given
size. Every predictor and feature set sees the same splits. One row per
(features, predictor, train size, seed) with every metric of :mod:`nasperf.eval.metrics` and the
fit / predict wall times.

Output directory (``out``), safe against kills and concurrent runs:

- ``results.log``: the record of truth. Every finished row is appended as one checksummed
  line (:class:`nasperf._io.RecordLog`) before the next task starts; a line torn by a kill is
  dropped with a warning on the next run, so a killed run loses at most the row in progress.
- ``results.csv`` (every row of the log, the union of their columns) and ``results.json``
  (the rows of the last run's configuration) are tables derived from the log and replaced
  atomically, so they are never empty or half-written.
- ``.nasperf.lock``: held for the whole run; a second run into the same directory raises
  :class:`~nasperf._io.OutputLockedError` (or waits, ``wait=``).
- ``run.json``: the configuration and grid of the last run (read by :func:`load_results`).

Each row carries ``run_key``, a hash of every option that changes a result besides the grid
axes (space, dataset, source, target, ``dedup``, ``test``, the benchmark content actually
used -- architectures, targets and proxies, see
:func:`~nasperf.eval.features.benchmark_fingerprint` -- and the package version), and
``predictor_key``, a hash of what the predictor's name stands for: its class and every
parameter, nested and candidate predictors included
(:func:`~nasperf.predictors.base.estimator_spec`), so that a changed default makes the rows
of that predictor run again. A task is skipped only when a row with the same run key,
predictor key, features, predictor, train size and seed is in the log; rows of other
configurations stay in the log and in ``results.csv`` but are never reused or returned. A
``results.csv`` written by an older nasperf (no ``results.log``) is imported into the log
with ``run_key="legacy"``: its rows are kept in ``results.csv`` but never count as done (a
warning says so).
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

import nasperf
from nasperf._io import RecordLog, atomic_write, content_hash, output_lock
from nasperf.searchspaces import Benchmark, load_benchmark

from .features import (
    FEATURE_FAMILIES,
    GRAPH_FAMILIES,
    benchmark_fingerprint,
    build_features,
    split_families,
)
from .summary import CONFIG_COLUMNS

log = logging.getLogger(__name__)

#: Columns that identify a configuration (with ``run_key``) and a task of its grid.
KEY = ["space", "dataset", "source", "target", "features", "predictor", "train_size", "seed"]
#: The grid axes of a task inside one configuration.
TASK = ["features", "predictor", "train_size", "seed"]
RESULTS_LOG = "results.log"
RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"
RUN_FILE = "run.json"
#: ``run_key`` of rows imported from a results.csv written before the log existed.
LEGACY_KEY = "legacy"


def split(n_total: int, train_size: int, seed: int, test: str | int = "rest"
          ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a random training set and of its test set (the rest, or a subset of it)."""
    if not 0 < train_size < n_total:
        raise ValueError(f"train size {train_size} must be in 1..{n_total - 1}")
    perm = np.random.default_rng(seed).permutation(n_total)
    train, rest = perm[:train_size], perm[train_size:]
    if test != "rest":
        rest = rest[: int(test)]
    return np.sort(train), np.sort(rest)


def _make_predictor(name: str, seed: int):
    from nasperf.predictors import get_predictor

    return get_predictor(name, random_state=seed)


def predictor_key(name: str) -> str:
    """The hash of what predictor ``name`` stands for in the registry: its class and every
    parameter, nested and candidate predictors included, the seed left out
    (:func:`~nasperf.predictors.base.estimator_spec`)."""
    from nasperf.predictors.base import estimator_spec

    return content_hash(estimator_spec(_make_predictor(name, 0)))


# -- argument checks -----------------------------------------------------------------------------
def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_grid(features, predictors, seeds, test) -> tuple[list[str], list[str], list[int]]:
    """Feature sets, predictor names and seeds as lists, checked before any work."""
    if isinstance(features, str) or isinstance(predictors, str):
        raise ValueError("features and predictors must be lists of names, e.g. ['graf+zc']")
    features = list(dict.fromkeys(features))
    predictors = list(dict.fromkeys(predictors))
    if not features:
        raise ValueError("no feature set given; choose among the families "
                         f"{', '.join(FEATURE_FAMILIES)} (join several with '+')")
    for feat in features:
        fams = split_families(feat)
        unknown = [f for f in fams if f not in FEATURE_FAMILIES]
        if not fams or unknown:
            raise ValueError(f"unknown feature family {unknown[0] if unknown else feat!r} in "
                             f"feature set {feat!r}; known: {', '.join(FEATURE_FAMILIES)}")
        if len(set(fams)) != len(fams):
            raise ValueError(f"feature set {feat!r} lists a family more than once")
    if not predictors:
        from nasperf.predictors import list_predictors

        raise ValueError(f"no predictor given; known: {', '.join(list_predictors())}")
    takes_graphs = {}
    for name in predictors:  # an unknown name raises a ValueError naming the known ones
        takes_graphs[name] = bool(getattr(_make_predictor(name, 0), "accepts_graphs", False))
    for feat in features:
        has_graph = any(f in GRAPH_FAMILIES for f in split_families(feat))
        for name, takes in takes_graphs.items():
            if has_graph and not takes:
                raise ValueError(
                    f"predictor {name!r} takes numeric features, but feature set {feat!r} "
                    f"holds graphs (graph families: {', '.join(sorted(GRAPH_FAMILIES))}); "
                    "use a graph predictor (gnn, gnn_pretrained, auto_gnn) with it, or "
                    "array features with this predictor")
            if takes and not has_graph:
                raise ValueError(
                    f"predictor {name!r} takes graphs: its feature set must include a "
                    f"graph family (e.g. 'graph' or 'graph+zc'), got {feat!r}")
    if _is_int(seeds):
        if seeds < 1:
            raise ValueError(f"seeds must be a number of seeds >= 1 or a non-empty list of "
                             f"seeds, got {seeds}")
        seeds = list(range(int(seeds)))
    else:
        seeds = list(seeds)
        if not seeds or not all(_is_int(s) and s >= 0 for s in seeds):
            raise ValueError(f"seeds must be a number >= 1 or a non-empty list of integers "
                             f">= 0, got {seeds}")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds {seeds} repeat a seed")
        seeds = [int(s) for s in seeds]
    if not (test == "rest" or (_is_int(test) and test >= 1)):
        raise ValueError(f"test must be 'rest' or a positive number of architectures, "
                         f"got {test!r}")
    return features, predictors, seeds


def _check_train_sizes(train_sizes, n: int, test) -> list[int]:
    sizes = list(dict.fromkeys(train_sizes))
    if not sizes or not all(_is_int(t) for t in sizes):
        raise ValueError(f"train sizes must be a non-empty list of integers, got {train_sizes}")
    bad = [t for t in sizes if not 0 < t < n]
    if bad:
        raise ValueError(f"train sizes {bad} out of range: the benchmark has {n} architectures "
                         f"with a target, so a train size must be in 1..{n - 1}")
    if test != "rest" and test > n - max(sizes):
        raise ValueError(f"test={test} architectures do not fit beside a training set of "
                         f"{max(sizes)} among {n}; use at most {n - max(sizes)} or 'rest'")
    return [int(t) for t in sizes]


# -- the results of an output directory ----------------------------------------------------------
def _plain(v):
    """A JSON-able Python scalar for a row value (numpy scalars converted)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    return v


def _identity(r: dict) -> tuple:
    return (*(r.get(k) for k in CONFIG_COLUMNS), *(r.get(k) for k in KEY))


def _columns(records: Sequence[dict]) -> list[str]:
    """The union of the records' columns in the table's order: the key, ``n_test``, the
    metrics, the extras (coverage, chosen candidate...), the timings, the configuration
    keys."""
    from .metrics import METRICS

    have = set().union(*records) if records else set()
    head = [c for c in (*KEY, "n_test", *METRICS) if c in have]
    tail = [c for c in ("fit_seconds", "predict_seconds", *CONFIG_COLUMNS) if c in have]
    return head + sorted(have - set(head) - set(tail)) + tail


def _frame(records: list[dict]) -> pd.DataFrame:
    """Records as a table with the union of their columns, one row per identity (the last)."""
    rows = list({_identity(r): r for r in records}.values())
    return pd.DataFrame(rows, columns=_columns(rows))


def _write_if_changed(path: Path, text: str) -> bool:
    """Replace ``path`` atomically by ``text`` unless it already holds exactly that."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write(path, text)
    return True


class _OutputDir:
    """The log and derived tables of one output directory (the caller holds its lock)."""

    def __init__(self, out: Path):
        self.out = out
        self.log = RecordLog(out / RESULTS_LOG)
        self.csv = out / RESULTS_CSV

    def open(self) -> list[dict]:
        """Every record of the log (torn lines dropped), after removing temporary files left
        by a killed run and, when the log is empty, importing an existing results.csv."""
        for pattern in (".results.*.tmp", ".tau_*.tmp.png", ".run.json.*.tmp"):
            for tmp in self.out.glob(pattern):
                tmp.unlink(missing_ok=True)
        records = self.log.repair()
        if not records and self.csv.is_file():
            records = self._import_csv()
        return records

    def _import_csv(self) -> list[dict]:
        """The rows of a results.csv without a log (written by an older nasperf, or the log
        was removed), moved into a new log in one atomic step. Rows without ``run_key`` get
        :data:`LEGACY_KEY`: kept, never reused."""
        try:
            old = pd.read_csv(self.csv)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            aside = self.csv.with_name(RESULTS_CSV + ".unreadable")
            self.csv.replace(aside)
            log.warning("%s is unreadable (%s); moved to %s", self.csv, exc, aside)
            return []
        if not set(KEY) <= set(old.columns):
            aside = self.csv.with_name(RESULTS_CSV + ".foreign")
            self.csv.replace(aside)
            log.warning("%s is not a nasperf results table (columns %s); moved to %s",
                        self.csv, list(old.columns), aside)
            return []
        complete = old.dropna(subset=[*KEY, "kendall_tau"] if "kendall_tau" in old else KEY)
        rows = [{k: _plain(v) for k, v in r.items()
                 if not (isinstance(v, float) and math.isnan(v))}
                for r in complete.to_dict("records")]
        legacy = 0
        for r in rows:
            if not isinstance(r.get("run_key"), str):
                r["run_key"] = LEGACY_KEY
                legacy += 1
        tmp = RecordLog(self.out / ".results.log.import.tmp")
        tmp.path.unlink(missing_ok=True)
        tmp.append(rows)
        tmp.path.replace(self.log.path)
        if legacy:
            log.warning("%s has %d rows without a run key (written by an older nasperf): they "
                        "are kept (run_key=%r) but not reused; rerunning computes them again",
                        self.csv, legacy, LEGACY_KEY)
        if len(complete) < len(old):
            log.warning("%s: %d incomplete rows dropped", self.csv, len(old) - len(complete))
        return rows

    def append(self, row: dict) -> None:
        self.log.append(row)

    def write_tables(self, records: list[dict], run_rows: pd.DataFrame | None = None) -> None:
        """``results.csv`` from every record and, given, ``results.json`` from ``run_rows``."""
        if records:
            _write_if_changed(self.csv, _frame(records).to_csv(index=False))
        if run_rows is not None:
            _write_if_changed(self.out / RESULTS_JSON,
                              json.dumps(run_rows.to_dict("records"), indent=1))


def _run_rows(records: list[dict], key: str, tasks: Sequence[tuple],
              predictor_keys: dict[str, str] | None = None) -> pd.DataFrame:
    """The rows of configuration ``key`` for ``tasks``, in the order of ``tasks``; with
    ``predictor_keys`` (predictor name -> :func:`predictor_key`), only rows of those."""
    order = {tuple(t): i for i, t in enumerate(tasks)}
    mine = {}
    for r in records:
        if r.get("run_key") == key and (predictor_keys is None or r.get("predictor_key")
                                        == predictor_keys.get(r.get("predictor"))):
            t = tuple(r.get(k) for k in TASK)
            if t in order:
                mine[t] = r
    rows = [mine[t] for t in sorted(mine, key=order.__getitem__)]
    return pd.DataFrame(rows, columns=_columns(rows))


def load_results(out: str | Path, run: str = "last") -> pd.DataFrame:
    """The result rows of an output directory of :func:`run_benchmark`.

    Parameters
    ----------
    out : path
        The directory (``results.log``; an older directory's ``results.csv`` is read as is).
    run : {"last", "all"} or str
        ``"last"``: the rows of the grid of the last run into ``out`` (also when it was
        interrupted), as :func:`run_benchmark` returned or would have returned them;
        ``"all"``: every row of every configuration; otherwise a ``run_key``: the rows of
        that configuration.

    Raises
    ------
    FileNotFoundError
        ``out`` holds no results.
    """
    out = Path(out)
    records = RecordLog(out / RESULTS_LOG).read()
    if not records:
        csv = out / RESULTS_CSV
        if not csv.is_file():
            raise FileNotFoundError(f"no results in {out} (no {RESULTS_LOG} or {RESULTS_CSV})")
        return pd.read_csv(csv)
    if run == "all":
        return _frame(records)
    if run != "last":
        return _frame([r for r in records if r.get("run_key") == run])
    try:
        spec = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("%s has no readable %s; returning every row", out, RUN_FILE)
        return _frame(records)
    return _run_rows(records, spec["run_key"], [tuple(t) for t in spec["tasks"]],
                     spec.get("predictor_keys"))


def run_key(bench: Benchmark, dedup: bool, test: str | int) -> str:
    """The hash of every option besides the grid axes that changes a result row: the
    benchmark's identity and content (:func:`~nasperf.eval.features.benchmark_fingerprint`,
    targets included), ``dedup``, ``test`` and the package version."""
    return content_hash({
        "space": bench.space.name, "dataset": bench.dataset, "source": bench.source,
        "target": bench.target, "dedup": bool(dedup), "test": test,
        "data": benchmark_fingerprint(bench, targets=True), "version": nasperf.__version__,
    })


def run_benchmark(
    space: str,
    dataset: str | None = None,
    features: Sequence[str] = ("graf+zc",),
    predictors: Sequence[str] = ("lightgbm",),
    train_sizes: Sequence[int] = (32, 128, 1024),
    seeds: int | Sequence[int] = 5,
    test: str | int = "rest",
    out: str | Path | None = None,
    source: str | None = None,
    target: str = "val_accuracy",
    data_dir: str | Path | None = None,
    dedup: bool = False,
    bench: Benchmark | None = None,
    progress: bool = True,
    *,
    wait: float = 0.0,
    executor: Any = None,
) -> pd.DataFrame:
    """Run the grid and return the tidy results table of this configuration.

    Parameters
    ----------
    features : list of str
        Feature sets; each is one family or several joined by ``+`` (see
        :data:`nasperf.eval.features.FEATURE_FAMILIES`).
    predictors : list of str
        Names for :func:`nasperf.predictors.get_predictor`. Every predictor gets ``X`` as a
        DataFrame with the ``"<family>:<feature>"`` column names; one with a
        ``feature_groups`` parameter (``omni``, ``auto``) also gets the feature set's
        families as column groups (family name -> column indices, from
        :func:`~nasperf.eval.features.build_features`). A feature set with the ``graph``
        family gives a column of ``torch_geometric`` graphs (the other families' columns
        beside it) and goes only to predictors whose ``accepts_graphs`` attribute is true
        (``gnn``); those get only such feature sets.
    train_sizes : list of int
        Each in ``1..n-1`` for the ``n`` architectures with a target.
    seeds : int or list of int
        Number of random training draws (seeds ``0..seeds-1``, at least 1) or explicit seeds.
    test : "rest" or int
        Score on every architecture outside the training set, or on that many of them.
    out : path, optional
        Directory for ``results.log``, ``results.csv``, ``results.json``, plots and the
        feature cache (see the module docstring). Rows of this configuration already in the
        log are not run again. Without matplotlib (the ``plots`` extra) the plot is skipped
        with a logged warning.
    dedup : bool
        Merge architectures that build the same network before splitting
        (:meth:`searchspaces.Benchmark.deduplicate`; also applied to a given ``bench``).
    bench : Benchmark, optional
        Use this benchmark instead of loading ``space``/``dataset``.
    wait : float, keyword-only
        Seconds to wait for another run holding ``out`` (``0``: refuse at once; negative:
        wait forever).
    executor : None, "local", "processes", "ray" or an executor, keyword-only
        Where the tasks run (:func:`nasperf.executors.get_executor`; default: one after the
        other in this process). Each (features, predictor, train size, seed) task is one
        shard; rows are the same whatever the executor (timings aside) and are logged by
        this process as they finish.

    Returns
    -------
    pandas.DataFrame
        One row per task of the grid (features, predictor, train size, seed), in grid order,
        with column ``run_key``; rows of other configurations in ``out`` are left out.

    Raises
    ------
    ValueError
        A bad argument (checked before any work): unknown feature family or predictor,
        ``seeds < 1``, a train size outside ``1..n-1``, a bad ``test``.
    nasperf._io.OutputLockedError
        Another run is writing to ``out``.
    KeyboardInterrupt
        Re-raised after an interrupt, once the finished rows, tables and plot are written;
        rerunning the same call resumes.
    """
    features, predictors, seeds = _check_grid(features, predictors, seeds, test)
    with ExitStack() as stack:
        if executor not in (None, "local"):
            from nasperf import executors

            # the workers start (and import the predictors) while the benchmark loads and
            # the features are built
            executor = stack.enter_context(executors.session(executor, preload=(__name__,)))
        if bench is None:
            bench = load_benchmark(space, dataset, data_dir=data_dir, source=source,
                                   target=target, dedup=dedup)
        elif dedup:
            bench = bench.deduplicate()
        valid = np.isfinite(bench.y)
        train_sizes = _check_train_sizes(train_sizes, int(valid.sum()), test)
        if not valid.all():
            log.warning("%d architectures without a target value are left out", (~valid).sum())
        out = Path(out) if out is not None else None
        if out is None:
            return _run(bench, features, predictors, train_sizes, seeds, test, dedup, None,
                        progress, executor)
        with output_lock(out, wait=wait):
            return _run(bench, features, predictors, train_sizes, seeds, test, dedup, out,
                        progress, executor)


def _run(bench: Benchmark, features: list[str], predictors: list[str], train_sizes: list[int],
         seeds: list[int], test: str | int, dedup: bool, out: Path | None,
         progress: bool, executor: Any = None) -> pd.DataFrame:
    from tqdm.auto import tqdm

    ident = dict(space=bench.space.name, dataset=bench.dataset, source=bench.source,
                 target=bench.target)
    key = run_key(bench, dedup, test)
    pkeys = {p: predictor_key(p) for p in predictors}
    tasks = [(f, p, n, s) for f in features for s in seeds for n in train_sizes for p in predictors]
    store = _OutputDir(out) if out is not None else None
    records = store.open() if store is not None else []
    done = {(r.get("run_key"), r.get("predictor_key"), *(r.get(k) for k in TASK))
            for r in records}
    todo = [t for t in tasks if (key, pkeys[t[1]], *t) not in done]
    if store is not None:
        if len(todo) < len(tasks):
            log.info("resuming: %d of %d rows already in %s", len(tasks) - len(todo),
                     len(tasks), store.log.path)
        stale = {tuple(r.get(k) for k in TASK) for r in records
                 if r.get("run_key") == key
                 and r.get("predictor_key") != pkeys.get(r.get("predictor"))} & set(todo)
        if stale:
            log.warning("%d rows in %s were computed with other settings of their predictor "
                        "(a changed default, or written by an older nasperf without a "
                        "predictor key): they are kept but not reused; computing them again",
                        len(stale), store.log.path)
        _write_if_changed(out / RUN_FILE, json.dumps(
            {"run_key": key, "predictor_keys": pkeys, **ident, "dedup": bool(dedup),
             "test": test, "version": nasperf.__version__,
             "tasks": [list(t) for t in tasks]}, indent=1))
    idx_valid = np.flatnonzero(np.isfinite(bench.y))
    y = bench.y[idx_valid]
    bar = tqdm(total=len(todo), desc=f"{bench.space.name}/{bench.dataset}", disable=not progress)
    cache: dict = {}
    n_new = 0
    interrupted = False

    def data_of(feat: str) -> tuple[pd.DataFrame, dict]:
        if feat not in cache:
            X, names, groups = build_features(bench, feat,
                                              cache_dir=out / "cache" if out else None,
                                              progress=progress, graphs=True)
            # rows without a target are dropped, columns never: the groups index these
            # columns. Named columns also let predictors pick families by prefix ("zc:").
            frame = pd.DataFrame(X[idx_valid], columns=names)
            if X.dtype == object:  # graphs: the numeric columns beside them stay numeric
                frame = frame.infer_objects()
            cache[feat] = (frame, {f: groups[f] for f in split_families(feat)})
        return cache[feat]

    def record(task: tuple, result: dict) -> None:
        nonlocal n_new
        feat, pred_name, n, seed = task
        row = {k: _plain(v) for k, v in {**ident, "features": feat, "predictor": pred_name,
                                         "train_size": n, "seed": seed, **result,
                                         "predictor_key": pkeys[pred_name],
                                         "run_key": key}.items()}
        if store is not None:
            store.append(row)  # durable before the next task starts
            records.append(row)
            store.write_tables(records)
        else:
            records.append(row)
        n_new += 1
        bar.set_postfix(tau=f"{row['kendall_tau']:.3f}", feat=feat, pred=pred_name, n=n)
        bar.update()

    try:
        if executor in (None, "local"):
            for task in todo:
                record(task, _run_task(data_of(task[0]), y, *task[1:], test))
        else:
            _run_tasks_on(executor, todo, data_of, y, test, record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    df = _run_rows(records, key, tasks, pkeys)
    if store is not None:
        store.write_tables(records, df)
        if len(df) and (n_new or not list(out.glob(f"tau_{ident['space']}_*.png"))):
            _plot(df, out / f"tau_{ident['space']}_{ident['dataset']}.png")
    if interrupted:
        log.warning("interrupted after %d of %d rows; rerun the same command to resume",
                    len(df), len(tasks))
        raise KeyboardInterrupt
    return df


def _task_shard(payload: tuple) -> list[dict]:
    """The rows of one shard's tasks (on a worker)."""
    data, y, tasks, test, threads = payload
    return [_run_task(data, y, *task[1:], test, threads=threads) for task in tasks]


def _run_tasks_on(executor: Any, todo: list[tuple], data_of, y: np.ndarray, test,
                  record) -> None:
    """Run each task of ``todo`` as one shard of ``executor``; ``record(task, row)`` as each
    finishes (the driver is the only writer of the log)."""
    from nasperf import executors

    # each task fits with the threads its worker has (the predictors' own defaults, such as
    # auto's two threads per candidate, would oversubscribe the workers' cores; the
    # predictions do not depend on the thread count). Cost ~ training-set size (the fits)
    # plus the predictions on the test cells.
    threads = max(1, int(executor.cpus_per_task))
    shards = [executors.Shard(f"{i:06d}", (data_of(task[0]), y, [task], test, threads),
                              cost=task[2] + 256)
              for i, task in enumerate(todo)]

    def on_result(shard, rows: list[dict]) -> None:
        for task, row in zip(shard.payload[2], rows):
            record(task, row)

    executor.map_shards(_task_shard, shards, progress=False, on_result=on_result)


def _run_task(data: tuple[pd.DataFrame, dict], y: np.ndarray, pred_name: str, n: int,
              seed: int, test: str | int, threads: int | None = None) -> dict:
    """Fit one predictor on one split; the metrics, extras and timings of the row.
    ``threads``: the predictor's ``n_jobs`` where it has one (None: its default)."""
    from .metrics import all_metrics

    X, family_groups = data
    tr, te = split(len(y), n, seed, test)
    model = clone(_make_predictor(pred_name, seed))
    if threads is not None and "n_jobs" in model.get_params(deep=False):
        model.set_params(n_jobs=threads)
    if "feature_groups" in model.get_params(deep=False):  # e.g. omni, auto
        model.set_params(feature_groups={f: list(c) for f, c in family_groups.items()})
    t0 = time.perf_counter()
    model.fit(X.iloc[tr], y[tr])
    t1 = time.perf_counter()
    extra = {}
    if hasattr(model, "predict_std"):  # uncertainty: coverage of the 68 % / 95 % intervals
        y_hat, std = (np.asarray(v, dtype=float)
                      for v in model.predict(X.iloc[te], return_std=True))
        z = np.abs(y[te] - y_hat) / np.maximum(std, 1e-12)
        extra = {"coverage_68": float(np.mean(z <= 1.0)),
                 "coverage_95": float(np.mean(z <= 1.96))}
    else:
        y_hat = np.asarray(model.predict(X.iloc[te]), dtype=float)
    t2 = time.perf_counter()
    if hasattr(model, "best_name_"):  # a CV selector: which candidate it chose
        extra["chosen"] = model.best_name_
    return {"n_test": len(te), **all_metrics(y[te], y_hat), **extra,
            "fit_seconds": t1 - t0, "predict_seconds": t2 - t1}


def _plot(df: pd.DataFrame, path: Path) -> None:
    """The Kendall-tau plot, written to a temporary file first and then moved in place."""
    from .plots import plot_metric_vs_train_size

    tmp = path.with_name(f".{path.stem}.tmp.png")
    try:
        plot_metric_vs_train_size(df, tmp)
        tmp.replace(path)
    except ImportError as exc:  # matplotlib is optional: the tables are written anyway
        log.warning("no plot: %s", exc)
    finally:
        tmp.unlink(missing_ok=True)

def summarise(df: pd.DataFrame, metric: str = "kendall_tau") -> pd.DataFrame:
    """``mean ± std`` of ``metric`` over seeds: rows features/predictor, columns train size."""
    from .summary import summary_table

    return summary_table(df, metric).set_index(["features", "predictor"]).drop(columns="seeds")
