"""Run independent shards of work in this process, in a process pool or on a Ray cluster.

Private infrastructure shared by the commands that fan out over many independent tasks
(proxies of many architectures, search trials). One call,
:meth:`Executor.map_shards`, runs ``fn(shard.payload)`` for every :class:`Shard` and returns
the results **in shard order**, whatever the executor, the number of workers or the order in
which the shards finish; so a merge of the results is deterministic as long as each payload
carries its own seeds.

Executors (:func:`get_executor`, registry :data:`EXECUTORS`):

- ``"local"``: in this process, one shard after the other (the default everywhere);
- ``"processes"``: a ``concurrent.futures.ProcessPoolExecutor`` of ``workers`` processes
  started by ``spawn`` (no state inherited from the parent); a shard whose worker died
  (killed, out of memory, ``os._exit``) is resubmitted to a fresh pool, at most
  ``max_retries`` times;
- ``"ray"``: Ray tasks (``ray.init(address=...)``, or a local instance of ``workers`` CPUs),
  each reserving ``cpus_per_task`` CPUs and ``gpus_per_task`` GPUs (fractions share a GPU);
  Ray retries a task whose worker died up to ``max_retries`` times.

An exception raised by ``fn`` itself is not retried: it is raised in the caller, after the
shards finished before it were kept.

With ``out_dir`` the results are also stored, one JSON-lines file per shard
(``out_dir/shards/<id>.jsonl``, written atomically by the driver) plus a checksummed manifest
of the finished shard ids (``out_dir/manifest.log``, :class:`~nasperf._io.RecordLog`); a
rerun loads the finished shards instead of computing them again. ``part=(i, n)`` runs only
the shards whose position ``k`` has ``k % n == i``, so ``n`` independent jobs (a Slurm job
array) can share one output directory: each keeps its manifest (and its lock) in
``out_dir/parts/<i>-of-<n>/``, and a later run without ``part`` finds every shard finished
and only merges.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import multiprocessing
import os
import pickle
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ._io import RecordLog, atomic_write, output_lock
from ._utils import import_optional

log = logging.getLogger("nasperf.executors")

_SHARD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


@dataclass(frozen=True)
class Shard:
    """One independent task.

    Attributes
    ----------
    id : str
        Deterministic and unique among the shards of a call (letters, digits, ``.``, ``_``,
        ``-``): the name of its output file and its key in the manifest. Derive it from the
        payload (e.g. its position and a :func:`~nasperf._io.content_hash` of its inputs and
        settings), never from time or a random draw, so a rerun recognises finished shards.
    payload : Any
        The argument of ``fn``; picklable (plain ``pickle`` for ``"processes"``,
        cloudpickle for ``"ray"``), carrying its own seeds.
    size : int
        Items in the shard (architectures, queries): the unit of the progress bar.
    cost : float, optional
        Relative cost estimate (default: ``size``). The parallel executors start the
        costliest shards first (ties in shard order), which shortens the tail of a run whose
        shards differ in length; results are in shard order either way.
    """

    id: str
    payload: Any
    size: int = 1
    cost: float | None = None

    @property
    def expected_cost(self) -> float:
        """``cost``, or ``size`` when no estimate was given."""
        return float(self.size if self.cost is None else self.cost)


class ShardFailedError(RuntimeError):
    """A shard's worker died more often than the executor's ``max_retries`` allows."""


def _call(fn: Callable[[Any], Any], payload: Any) -> Any:
    """The task every worker runs (module level: importable by spawned and Ray workers)."""
    return fn(payload)


def _call_pickled(fn: Callable[[Any], Any], payload: bytes) -> bytes:
    """:func:`_call` on a payload pickled by :func:`pickle.dumps`, its result pickled the
    same way. A process pool's own pickler (``multiprocessing``'s, which torch extends)
    sends each CPU tensor as a shared-memory file descriptor, so a payload of many tensors
    (a table of thousands of graphs) exhausts the open-file limit; plain pickle copies them
    into the bytes."""
    return pickle.dumps(fn(pickle.loads(payload)), protocol=pickle.HIGHEST_PROTOCOL)


def _init_worker(threads: int) -> None:
    """Pool-worker initialiser: ``threads`` intra-op threads for OpenMP/MKL (and torch), and
    a thread lock for tqdm's bars. tqdm would otherwise create a multiprocessing lock (a
    named semaphore) in the worker, which leaks, with a warning at exit, when the pool is
    stopped by terminating its workers (after an interrupt)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return
    tqdm.set_lock(threading.RLock())


def _preload(modules: tuple[str, ...]) -> int:
    """Import ``modules`` in a worker (the warm-up task of :meth:`Executor.start`)."""
    for name in modules:
        importlib.import_module(name)
    return os.getpid()


# -- storage of finished shards --------------------------------------------------------------
class _ShardStore:
    """Shard files, manifests and the run configuration under ``out_dir`` (see the module
    docstring). Only the driver writes here, while holding the lock of its manifest's
    directory."""

    def __init__(self, out_dir: str | os.PathLike, part: tuple[int, int] | None,
                 config: dict | None):
        self.root = Path(out_dir)
        self.home = self.root if part is None else self.root / "parts" / f"{part[0]}-of-{part[1]}"
        self.manifest = RecordLog(self.home / "manifest.log")
        self.config = config

    def shard_path(self, shard_id: str) -> Path:
        return self.root / "shards" / f"{shard_id}.jsonl"

    def check_config(self) -> None:
        """Write ``run.json`` on the first run; refuse a directory of another configuration."""
        if self.config is None:
            return
        path = self.root / "run.json"
        wanted = json.loads(json.dumps(self.config, sort_keys=True, default=repr))
        if path.is_file():
            try:
                have = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                have = None
            if have != wanted:
                keys = sorted(k for k in set(wanted) | set(have or {})
                              if (have or {}).get(k) != wanted.get(k))
                raise ValueError(
                    f"{self.root} holds a run with other settings (differing: "
                    f"{', '.join(keys) or 'unreadable run.json'}); choose another output "
                    "directory, or delete that one to start again")
            return
        atomic_write(path, json.dumps(wanted, sort_keys=True, indent=1) + "\n")

    def finished(self, wanted: set[str]) -> dict[str, list[dict]]:
        """Shard id -> its records, for the shards of ``wanted`` that every check passes:
        listed in a manifest, file present and of the recorded digest."""
        self.manifest.repair()
        manifests = [self.root / "manifest.log", *sorted(self.root.glob("parts/*/manifest.log"))]
        digests: dict[str, str] = {}
        for path in manifests:
            for rec in RecordLog(path).read():
                if rec.get("shard") in wanted and isinstance(rec.get("sha256"), str):
                    digests[rec["shard"]] = rec["sha256"]
        out: dict[str, list[dict]] = {}
        for shard_id, digest in digests.items():
            path = self.shard_path(shard_id)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                log.warning("%s is listed as finished but missing; computing it again", path)
                continue
            if _digest(text) != digest:
                log.warning("%s does not match its manifest digest; computing it again", path)
                continue
            out[shard_id] = _parse_lines(text)
        return out

    def write(self, shard: Shard, result: Any) -> list[dict]:
        """Store ``result`` (a list of JSON-serialisable dicts) and list the shard as
        finished; returns the records as read back from the file."""
        if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
            raise ValueError(f"shard {shard.id}: with an output directory, a shard's result "
                             f"must be a list of dicts (records), got {type(result).__name__}")
        text = "".join(json.dumps(r, sort_keys=False) + "\n" for r in result)
        atomic_write(self.shard_path(shard.id), text)
        self.manifest.append({"shard": shard.id, "rows": len(result), "sha256": _digest(text)})
        return _parse_lines(text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _parse_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line]


# -- executors ------------------------------------------------------------------------------
class Executor:
    """Runs shards; see the module docstring. Use as a context manager (or call
    :meth:`close`) so that what it started (a pool, a local Ray instance) is stopped.

    Parameters
    ----------
    workers : int
        Parallel tasks (processes; CPUs of a local Ray instance). Ignored by ``"local"``.
    cpus_per_task : float
        CPUs reserved per task: Ray's ``num_cpus``; for ``"processes"`` the OpenMP/MKL
        threads of each worker (rounded down, at least 1).
    gpus_per_task : float
        Ray's ``num_gpus`` per task (``0.25``: four tasks share a GPU). Only ``"ray"``.
    max_retries : int
        Times a shard whose worker died is run again before :class:`ShardFailedError`.
    """

    name: ClassVar[str] = ""
    #: Whether shards run concurrently (then the costliest start first).
    parallel: ClassVar[bool] = True

    def __init__(self, workers: int = 1, *, cpus_per_task: float = 1, gpus_per_task: float = 0,
                 max_retries: int = 3) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if not cpus_per_task > 0:
            raise ValueError(f"cpus_per_task must be > 0, got {cpus_per_task!r}")
        if not gpus_per_task >= 0:
            raise ValueError(f"gpus_per_task must be >= 0, got {gpus_per_task!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.workers = workers
        self.cpus_per_task = cpus_per_task
        self.gpus_per_task = gpus_per_task
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"

    def _label(self) -> str:
        """Where the shards run, for the progress bar."""
        return f"{self.name} x{self.workers}"

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self, preload: Sequence[str] = ()) -> Executor:
        """Start the workers now, without waiting for them, and import the modules named in
        ``preload`` in each, so that their start-up overlaps the caller's own preparation
        (loading data, building features) instead of following it. Optional: the first
        :meth:`map_shards` starts whatever is not started. Returns ``self``."""
        return self

    def close(self) -> None:
        """Stop what this executor started (a process pool, a local Ray instance); a later
        :meth:`map_shards` starts them again."""

    def map_shards(self, fn: Callable[[Any], Any], shards: Iterable[Shard], *,
                   out_dir: str | os.PathLike | None = None, config: dict | None = None,
                   part: tuple[int, int] | None = None, progress: bool = True,
                   desc: str = "shards", unit: str = "shard",
                   on_result: Callable[[Shard, Any], None] | None = None) -> list[Any]:
        """``[fn(s.payload) for s in shards]``, computed by this executor, in shard order.

        Parameters
        ----------
        fn : callable
            ``payload -> result``; a module-level function (or another picklable callable)
            for the executors that run it elsewhere.
        shards : iterable of Shard
        out_dir : path, optional
            Store each result (then a list of JSON-serialisable dicts) and skip the shards
            finished by an earlier run into the same directory; the returned results are then
            the records as read back from JSON. The directory (or the part's directory) is
            locked for the call (:func:`~nasperf._io.output_lock`).
        config : dict, optional
            The settings of the run, kept in ``out_dir/run.json``: a later run with other
            settings into the same directory raises ``ValueError`` instead of mixing them.
        part : (i, n), optional
            Run only the shards at positions ``k`` with ``k % n == i``; the results returned
            are those of these shards, in shard order.
        progress : bool
            One ``tqdm`` bar over all shards (counted in ``size`` units, with throughput and
            ETA); shards found finished count from the start.
        on_result : callable, optional
            ``on_result(shard, result)`` in the caller's process as each shard finishes (in
            completion order), after its result is stored.

        Raises
        ------
        ShardFailedError
            A shard's worker died more than ``max_retries`` times.
        ValueError
            Duplicate or malformed shard ids, a bad ``part``, a configuration that differs
            from the one in ``out_dir``, or a result that cannot be stored.
        """
        from tqdm.auto import tqdm

        shards = list(shards)
        _check_shards(shards)
        if part is not None:
            part = _check_part(part)
            shards = [s for k, s in enumerate(shards) if k % part[1] == part[0]]
        results: list[Any] = [None] * len(shards)
        if out_dir is None:
            return self._map(fn, shards, results, None, progress, desc, unit, on_result, tqdm)
        store = _ShardStore(out_dir, part, config)
        with output_lock(store.home):
            store.check_config()
            return self._map(fn, shards, results, store, progress, desc, unit, on_result, tqdm)

    def _map(self, fn, shards, results, store, progress, desc, unit, on_result, tqdm):
        done = store.finished({s.id for s in shards}) if store is not None else {}
        todo = []
        for i, s in enumerate(shards):
            if s.id in done:
                results[i] = done[s.id]
            else:
                todo.append((i, s))
        if done:
            log.info("%d of %d shards already finished in %s", len(done), len(shards),
                     store.root)
        if self.parallel:  # longest first: the tail of the run is its shortest shards
            todo.sort(key=lambda item: -item[1].expected_cost)
        total = sum(s.size for s in shards)
        initial = total - sum(s.size for _, s in todo)
        with tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not progress,
                  dynamic_ncols=True, smoothing=0.1) as bar:
            bar.set_postfix_str(self._label(), refresh=False)

            def accept(i: int, result: Any) -> None:
                shard = shards[i]
                if store is not None:
                    result = store.write(shard, result)
                results[i] = result
                if on_result is not None:
                    on_result(shard, result)
                bar.update(shard.size)

            if todo:
                self._run(fn, todo, accept)
        return results

    def _run(self, fn: Callable[[Any], Any], todo: list[tuple[int, Shard]],
             accept: Callable[[int, Any], None]) -> None:
        """Compute every ``(position, shard)`` of ``todo`` and call ``accept(position,
        result)`` in this process as each finishes."""
        raise NotImplementedError


class LocalExecutor(Executor):
    """Every shard in this process, in order: no pickling, no retries."""

    name = "local"
    parallel = False

    def _run(self, fn, todo, accept):
        for i, shard in todo:
            accept(i, fn(shard.payload))


class ProcessExecutor(Executor):
    """Shards in a ``ProcessPoolExecutor`` of ``workers`` processes (see the module docstring).

    At most ``workers`` shards are in flight, so when a worker dies the pool's in-flight
    shards (the ones that may have caused it) are the ones charged a retry; the others wait
    for a fresh pool untouched. The pool lives until :meth:`close`, so consecutive
    :meth:`map_shards` calls reuse its warm workers (and what they cache per process).

    Parameters
    ----------
    start_method : {"spawn", "forkserver"}
        How the worker processes start (never ``fork``: torch and threads do not survive it).
    """

    name = "processes"

    def __init__(self, workers: int = 1, *, cpus_per_task: float = 1, gpus_per_task: float = 0,
                 max_retries: int = 3, start_method: str = "spawn") -> None:
        super().__init__(workers, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                         max_retries=max_retries)
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', got "
                             f"{start_method!r}")
        if gpus_per_task:
            log.info("gpus_per_task is a Ray setting; the processes share the machine's "
                     "devices")
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context(self.start_method)
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                   initializer=_init_worker,
                                   initargs=(max(1, int(self.cpus_per_task)),))

    def start(self, preload: Sequence[str] = ()) -> ProcessExecutor:
        if self._pool is None:
            self._pool = self._new_pool()
            # the pool spawns a worker per submitted task while none is idle: one warm-up
            # task per worker starts them all
            for _ in range(self.workers):
                self._pool.submit(_preload, tuple(preload))
        return self

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _abandon_pool(self) -> None:
        """Stop the pool at once, its workers included (after a break or an interrupt)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:  # do not leave workers computing for nobody
            proc.terminate()

    def _run(self, fn, todo, accept):
        _pickled(fn, "the task function")  # before any worker starts

        def accept_pickled(i: int, result: bytes) -> None:
            accept(i, pickle.loads(result))

        queue = deque(todo)
        deaths: dict[str, int] = {}
        while queue:
            pool = self.start()._pool
            inflight: dict[Any, tuple[int, Shard]] = {}
            try:
                broken = self._drain(pool, fn, queue, inflight, accept_pickled, deaths)
                if broken:  # collect what finished before the pool broke; charge the rest
                    for future, (i, shard) in list(inflight.items()):
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            self._died(shard, deaths)
                            queue.appendleft((i, shard))
                        else:
                            accept_pickled(i, result)
                    inflight.clear()
                    self._abandon_pool()  # the next round gets a fresh pool
            except BaseException:
                self._abandon_pool()
                raise

    def _drain(self, pool, fn, queue, inflight, accept, deaths) -> bool:
        """Feed ``pool`` from ``queue`` until both are empty; True when the pool broke."""
        while queue or inflight:
            while queue and len(inflight) < self.workers:
                i, shard = queue.popleft()
                try:
                    blob = _pickled(shard.payload, "a shard's payload")
                    inflight[pool.submit(_call_pickled, fn, blob)] = (i, shard)
                except BrokenProcessPool:
                    queue.appendleft((i, shard))
                    return True
            finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            for future in finished:
                i, shard = inflight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    self._died(shard, deaths)
                    queue.appendleft((i, shard))
                    return True
                accept(i, result)
        return False

    def _died(self, shard: Shard, deaths: dict[str, int]) -> None:
        deaths[shard.id] = deaths.get(shard.id, 0) + 1
        if deaths[shard.id] > self.max_retries:
            raise ShardFailedError(
                f"shard {shard.id}: a worker process died while running it "
                f"{deaths[shard.id]} times (killed, out of memory, or exited); giving up "
                f"after max_retries={self.max_retries}")
        log.warning("shard %s: a worker process died (killed, out of memory, or exited); "
                    "running it again on a fresh pool (retry %d of %d)", shard.id,
                    deaths[shard.id], self.max_retries)


class RayExecutor(Executor):
    """Shards as Ray tasks (see the module docstring).

    Parameters
    ----------
    address : str, optional
        A running cluster (``"auto"``, ``"ray://head:10001"``, ``"head:6379"``). None: a local
        instance with ``workers`` CPUs, started on first use and stopped by :meth:`close`.
        When Ray is already initialised in this process, that instance is used as it is.
    init_kwargs : dict, optional
        More keyword arguments of ``ray.init`` (e.g. ``runtime_env``,
        ``object_store_memory``).
    """

    name = "ray"

    def __init__(self, workers: int = 1, *, address: str | None = None,
                 cpus_per_task: float = 1, gpus_per_task: float = 0, max_retries: int = 3,
                 init_kwargs: dict | None = None) -> None:
        super().__init__(workers, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                         max_retries=max_retries)
        self.address = address
        self.init_kwargs = dict(init_kwargs or {})
        self._started = False

    def _ray(self):
        ray = import_optional("ray", "ray", "executor 'ray'")
        if not ray.is_initialized():
            if self.address:  # the cluster's own settings apply
                ray.init(address=self.address, **self.init_kwargs)
            else:
                ray.init(address="local", num_cpus=self.workers,  # never another cluster
                         **{"include_dashboard": False, **self.init_kwargs})
            self._started = True
        elif not self._started and not self.address:
            cpus = ray.cluster_resources().get("CPU", 0)
            if cpus < self.workers * self.cpus_per_task:
                log.warning("Ray is already running in this process with %g CPUs; it is used as "
                            "it is, so at most %d tasks run at once (workers=%d asked for "
                            "more)", cpus, int(cpus // self.cpus_per_task), self.workers)
        return ray

    def _label(self) -> str:
        return f"ray {self.address}" if self.address else super()._label()

    def start(self, preload: Sequence[str] = ()) -> RayExecutor:
        ray = self._ray()
        if preload:  # fire and forget: a worker that cannot import fails its real task too
            warm = ray.remote(num_cpus=self.cpus_per_task)(_preload)
            for _ in range(self.workers):
                warm.remote(tuple(preload))
        return self

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def _run(self, fn, todo, accept):
        ray = self._ray()
        available = ray.cluster_resources()
        for key, need in (("CPU", self.cpus_per_task), ("GPU", self.gpus_per_task)):
            if need and available.get(key, 0) < need:
                option = f"{key.lower()}s_per_task"
                raise ValueError(f"each task asks for {need:g} {key}(s) but the Ray cluster "
                                 f"has {available.get(key, 0):g}; lower {option} (--"
                                 f"{option.replace('_', '-')}) or add nodes")
        task = ray.remote(num_cpus=self.cpus_per_task, num_gpus=self.gpus_per_task,
                          max_retries=self.max_retries)(_call)
        died = tuple(getattr(ray.exceptions, name) for name in (
            "WorkerCrashedError", "NodeDiedError", "OutOfMemoryError")
            if hasattr(ray.exceptions, name))
        fn_ref = ray.put(fn)
        refs = {task.remote(fn_ref, shard.payload): (i, shard) for i, shard in todo}
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    i, shard = refs[ref]
                    try:
                        result = ray.get(ref)
                    except died as exc:
                        raise ShardFailedError(
                            f"shard {shard.id}: its Ray worker died {self.max_retries + 1} "
                            f"times (killed, out of memory, or exited): {exc}") from None
                    accept(i, result)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise


#: Executor name -> class (:func:`get_executor`).
EXECUTORS: dict[str, type[Executor]] = {
    "local": LocalExecutor, "processes": ProcessExecutor, "ray": RayExecutor}


def get_executor(name: str | Executor | None = "local", workers: int = 1, *,
                 address: str | None = None, cpus_per_task: float = 1,
                 gpus_per_task: float = 0, max_retries: int = 3, **kwargs: Any) -> Executor:
    """An executor by name (``"local"``, ``"processes"``, ``"ray"``); an :class:`Executor`
    is returned as it is and None means ``"local"``.

    ``address`` is Ray's; ``kwargs`` go to the class (``start_method`` of
    :class:`ProcessExecutor`, ``init_kwargs`` of :class:`RayExecutor`).

    Raises
    ------
    ValueError
        Unknown name, bad values, or ``address`` for an executor other than ``"ray"``.
    ImportError
        ``"ray"`` without Ray installed (``pip install 'nasperf[ray]'``), on first use.
    """
    if isinstance(name, Executor):
        return name
    name = name or "local"
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    if address is not None:
        if name != "ray":
            raise ValueError(f"an address is for the 'ray' executor, not {name!r}")
        kwargs["address"] = address
    return EXECUTORS[name](workers, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                           max_retries=max_retries, **kwargs)


@contextmanager
def session(executor: str | Executor | None, preload: Sequence[str] = ()) -> Iterator[Executor]:
    """The executor ``executor`` names (:func:`get_executor`), started at once
    (:meth:`Executor.start` with ``preload``), for a block. One this call created is closed
    at the end; an :class:`Executor` passed in stays open for its owner to reuse."""
    ex = get_executor(executor)
    try:
        yield ex.start(preload)
    finally:
        if ex is not executor:
            ex.close()


# -- checks ---------------------------------------------------------------------------------
def _check_shards(shards: Sequence[Shard]) -> None:
    seen: set[str] = set()
    for s in shards:
        if not isinstance(s, Shard):
            raise ValueError(f"map_shards takes Shard objects, got {type(s).__name__}")
        if not isinstance(s.id, str) or not _SHARD_ID.fullmatch(s.id):
            raise ValueError(f"shard id {s.id!r} must be 1-200 letters, digits, '.', '_' or "
                             "'-' (it names a file)")
        if s.id in seen:
            raise ValueError(f"shard id {s.id!r} is not unique")
        seen.add(s.id)


def parse_part(text: str) -> tuple[int, int]:
    """``"i/n"`` (0 <= i < n) as ``(i, n)``: part ``i`` of ``n`` of a run's shards."""
    try:
        i, n = (int(t) for t in text.split("/"))
    except ValueError:
        raise ValueError(f"a part must look like I/N (e.g. 0/4, from 0 to N-1), got "
                         f"{text!r}") from None
    return _check_part((i, n))


def _check_part(part: tuple[int, int]) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in part)
    except (TypeError, ValueError):
        raise ValueError(f"part must be (i, n) integers, got {part!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"part {i}/{n}: need n >= 1 and 0 <= i < n")
    return i, n


def _pickled(obj: Any, what: str) -> bytes:
    """``obj`` pickled for another process; a clear error names ``what`` cannot be."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"the 'processes' executor sends work to other processes with pickle, and "
            f"{what} cannot be pickled ({type(exc).__name__}: {exc}); use module-level "
            "functions and objects (no lambdas or local functions), or the 'ray' "
            "executor (cloudpickle)") from None
