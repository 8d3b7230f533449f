"""Speed-up of the executors on zero-cost proxies of NB201 cells, per-task overhead of Ray
vs a process pool, and the peak memory of a worker as it scores more architectures.

For every executor (``local``, ``processes``, ``ray``) and number of workers, the proxies of
the first ``--n`` cells of NB201 (enumeration order, shards of ``--shard-size``) are
computed with :func:`nasperf.zerocost.tools.score_archs`, as ``nasperf proxies --first N
--out DIR --executor E --workers W`` does (without the files). Reported per run:

- ``wall_s``: wall time of ``map_shards``, starting the pool / the local Ray instance
  included; ``archs_per_s``; ``speedup``: ``wall_s`` of local divided by this one;
- ``identical``: whether every score equals the local run's, bit for bit;
- ``rss_mb_at_50`` / ``rss_mb_at_200``: the largest peak RSS (``VmHWM``) over the
  worker processes after the 50th / 200th architecture each scored (empty when no worker
  scored that many; the local executor's worker is this process); ``rss_now_mb_at_50`` /
  ``rss_now_mb_at_200``: the same for the resident memory after that architecture
  (``VmRSS``): the peak grows whenever a larger network comes, the resident memory only
  when something is kept;
- ``task_overhead_ms`` (processes and ray): ``(T(k) - T(1)) / (k - 1)`` for ``k`` =
  ``--overhead-tasks`` no-op shards, T the wall time of one ``map_shards`` call: the cost of
  shipping one task and its result, without the start-up.

With ``--grid``, the benchmark grid of ``nasperf benchmark`` with its defaults instead (NB201
CIFAR-10, ``auto`` on ``graf_all+zc``, n = 32/128/1024, 3 seeds; ``--grid-features``,
``--grid-predictors`` and ``--seeds`` change it): the wall time of ``run_benchmark`` (loading
the benchmark and building the features included), the speed-up over local, and whether
every row's Kendall tau equals the local run's.

Usage (from the repository root; Ray needs ``pip install 'nasperf[ray]'``)::

    python benchmarks/bench_executors.py --n 256 --workers 1,2 --out results/bench_executors.csv
    python benchmarks/bench_executors.py --grid --workers 1,2 --out results/bench_grid.csv

Run it on an otherwise idle machine: on shared cores the speed-up measures the neighbours.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd
from _common import int_list, str_list

from nasperf.executors import Shard, get_executor

#: Environment variable counting the architectures this process has scored (a worker's
#: count, for the RSS columns; the environment outlives the tasks, whatever the executor).
_SCORED = "NASPERF_BENCH_SCORED"


def score_with_rss(task: dict) -> list[dict]:
    """:func:`score_archs` of the task, each record with the worker's pid, how many
    architectures it has scored and its peak RSS in MB after this one."""
    from nasperf.zerocost.tools import score_archs

    out = []
    for arch in task["archs"]:
        (rec,) = score_archs({**task, "archs": [arch]})
        nth = int(os.environ.get(_SCORED, "0")) + 1
        os.environ[_SCORED] = str(nth)
        rec.update(pid=os.getpid(), nth=nth, rss_mb=_status_mb("VmHWM"),
                   rss_now_mb=_status_mb("VmRSS"))
        out.append(rec)
    return out


def _status_mb(field: str) -> float:
    """``field`` of ``/proc/self/status`` in MB (``VmHWM``: peak RSS, ``VmRSS``: RSS now);
    elsewhere the peak RSS (``ru_maxrss``; on Linux it would include the parent's memory
    at the fork that started a worker)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def noop(payload: int) -> int:
    return payload


def _shards(n: int, size: int, args: argparse.Namespace) -> list[Shard]:
    from nasperf.searchspaces import get_space

    space = get_space("nb201")
    cells = [space.to_string(a) for a in space.enumerate()[:n]]
    task = {"space": "nb201", "proxies": str_list(args.proxies), "seed": 0,
            "batch_size": args.batch_size, "threads": args.threads,
            "model_kwargs": ({"channels": 4, "cells_per_stage": 1} if args.small else None)}
    return [Shard(f"{k // size:05d}", {**task, "archs": cells[k:k + size]},
                  size=len(cells[k:k + size])) for k in range(0, n, size)]


def _executor(name: str, workers: int):
    kwargs = {"init_kwargs": {"log_to_driver": False}} if name == "ray" else {}
    return get_executor(name, workers, **kwargs)


def _overhead_ms(name: str, workers: int, k: int) -> float:
    def wall(n: int) -> float:
        with _executor(name, workers) as ex:
            start = time.perf_counter()
            ex.map_shards(noop, [Shard(f"t{i}", i) for i in range(n)], progress=False)
            return time.perf_counter() - start
    return (wall(k) - wall(1)) / (k - 1) * 1000


def _rss_at(records: list[dict], nth: int, key: str = "rss_mb") -> float | None:
    values = [r[key] for r in records if r["nth"] == nth]
    return round(max(values), 1) if values else None


def _grid(args: argparse.Namespace) -> list[dict]:
    """Rows of the benchmark-grid comparison (see the module docstring)."""
    from nasperf.eval.runner import run_benchmark

    grid = dict(space="nb201", dataset="cifar10", features=str_list(args.grid_features),
                predictors=str_list(args.grid_predictors), train_sizes=[32, 128, 1024],
                seeds=args.seeds, progress=False)
    rows, reference, local_wall = [], None, None
    for name in args.executors:
        for workers in ([1] if name == "local" else args.workers):
            # closed after each run: a Ray instance left running would be reused as it is
            # (with its CPU count) by the next executor
            with _executor(name, workers) as ex:
                start = time.perf_counter()
                df = run_benchmark(**grid, executor=ex)
                wall = time.perf_counter() - start
            taus = df["kendall_tau"].tolist()
            reference = taus if reference is None else reference
            local_wall = wall if name == "local" else local_wall
            rows.append({"executor": name, "workers": workers, "tasks": len(df),
                         "wall_s": round(wall, 1),
                         "speedup": round(local_wall / wall, 2) if local_wall else None,
                         "identical": taus == reference})
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=256, help="NB201 cells (first N)")
    p.add_argument("--workers", type=int_list, default=[1, 2])
    p.add_argument("--executors", type=str_list, default=["local", "processes", "ray"])
    p.add_argument("--shard-size", type=int, default=16)
    p.add_argument("--proxies", default="params,flops,synflow,nwot,snip,grad_norm,jacov")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--small", action="store_true",
                   help="tiny networks (4 channels, 1 cell per stage): a smoke test")
    p.add_argument("--overhead-tasks", type=int, default=200)
    p.add_argument("--grid", action="store_true",
                   help="time the default benchmark grid instead of the proxies")
    p.add_argument("--grid-features", default="graf_all+zc")
    p.add_argument("--grid-predictors", default="auto")
    p.add_argument("--seeds", type=int, default=3, help="seeds of the grid")
    p.add_argument("--out", type=Path, help="CSV of the rows")
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.grid:
        return _write(pd.DataFrame(_grid(args)), args.out)

    from nasperf.zerocost.tools import score_archs

    shards = _shards(args.n, args.shard_size, args)
    rows, reference, local_wall = [], None, None
    for name in args.executors:
        for workers in ([1] if name == "local" else args.workers):
            os.environ[_SCORED] = "0"
            with _executor(name, workers) as ex:
                start = time.perf_counter()
                res = ex.map_shards(score_with_rss, shards, progress=False)
                wall = time.perf_counter() - start
            records = [r for shard in res for r in shard]
            scores = [(r["arch"], r["scores"]) for r in records]
            if reference is None:
                reference = scores
                with get_executor("local") as ex:  # the plain library call, for the check
                    plain = ex.map_shards(score_archs, shards[:2], progress=False)
                plain = [(r["arch"], r["scores"]) for s in plain for r in s]
                assert plain == reference[:len(plain)]
            if name == "local":
                local_wall = wall
            rows.append({
                "executor": name, "workers": workers, "n_archs": len(records),
                "wall_s": round(wall, 2), "archs_per_s": round(len(records) / wall, 2),
                "speedup": round(local_wall / wall, 2) if local_wall else None,
                "identical": scores == reference,
                "rss_mb_at_50": _rss_at(records, 50), "rss_mb_at_200": _rss_at(records, 200),
                "rss_now_mb_at_50": _rss_at(records, 50, "rss_now_mb"),
                "rss_now_mb_at_200": _rss_at(records, 200, "rss_now_mb"),
                "task_overhead_ms": (round(_overhead_ms(name, workers, args.overhead_tasks), 2)
                                     if name != "local" else None)})
            print(rows[-1], file=sys.stderr, flush=True)
    return _write(pd.DataFrame(rows), args.out)


def _write(df: pd.DataFrame, out: Path | None) -> int:
    print(df.to_markdown(index=False) if _has_tabulate() else df.to_string(index=False))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(out, index=False)
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
