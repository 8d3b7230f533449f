"""How many queries does each optimiser need? Best-so-far validation accuracy and the
incumbent's test accuracy after 50 / 100 / 150 queries, and the queries until the pool's best
cell is found, for every optimiser of :mod:`nasperf.search` on the labelled pools.

Tasks (each lookup of the table is one query, the search restricted to the pool):

- ``nb201/cifar10``: NB201 GRAF table, 9,445 canonical cells, validation accuracy as in
  the GRAF files, test = NATS-Bench 200-epoch test accuracy;
- ``nb201/ImageNet16-120``: the same for ImageNet16-120;
- ``nb201/cifar100``: the GRAF files have no CIFAR-100 validation accuracy, so the search
  maximises the CIFAR-100 test accuracy itself (no separate test column);
- ``tnb101_micro/class_scene``: TNB101-micro GRAF pool (2,128 cells), validation accuracy,
  no test column.

Trial ``t`` of every optimiser runs with seed ``t``. The optimisers' default settings were
chosen before these runs, on NB201 CIFAR-10 with seeds 100-102 (disjoint from the reported
trials); the other tasks were not looked at.

Usage (from the repository root)::

    python benchmarks/bench_search.py --trials 30 --out results/bench_search

writes ``<out>/<task>/history.csv`` (resumable through ``history.log``; the latest run of
every optimiser run into that directory), a plot ``<out>/<task>/best_so_far.png``,
``<out>/search_summary.csv`` and prints a markdown table per task. ``--table FILE`` only
prints the tables of a summary CSV written before; ``--timing`` only times a few trials of
each optimiser on the first task.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import int_list, str_list

from nasperf.eval.tables import markdown_table
from nasperf.search import (
    format_table,
    list_optimizers,
    load_history,
    run_trials,
    search_table,
    write_history,
)
from nasperf.search.loop import BenchmarkObjective, save_plot
from nasperf.searchspaces import load_benchmark

log = logging.getLogger("bench_search")

#: task -> (space, dataset, source)
TASKS = {
    "nb201/cifar10": ("nb201", "cifar10", "graf"),
    "nb201/cifar100": ("nb201", "cifar100", "graf"),
    "nb201/ImageNet16-120": ("nb201", "ImageNet16-120", "graf"),
    "tnb101_micro/class_scene": ("tnb101_micro", "class_scene", "graf"),
}


def run_task(task: str, optimizers: list[str], trials: int, budget: int, at: list[int],
             out: Path, data_dir) -> pd.DataFrame:
    space, dataset, source = TASKS[task]
    objective = BenchmarkObjective(load_benchmark(space, dataset, data_dir=data_dir,
                                                  source=source))
    task_dir = out / task.replace("/", "_")
    df = run_trials(objective, optimizers, trials=trials, budget=budget, out=task_dir)
    table = search_table(df, at=at, optimum=objective.optimum)
    # history.csv and the plot of every optimiser run into this directory (latest runs)
    everything = load_history(task_dir / "history.log")
    write_history(everything, task_dir / "history.csv")
    save_plot(everything, task_dir / "best_so_far.png", objective)
    table.insert(0, "task", task)
    table.insert(1, "optimum", objective.optimum)
    return table.reset_index()


def print_timing(task: str, optimizers: list[str], trials: int, budget: int, data_dir) -> None:
    """Wall seconds per trial of each optimiser (the optimiser's own cost: a benchmark
    lookup costs nothing)."""
    space, dataset, source = TASKS[task]
    objective = BenchmarkObjective(load_benchmark(space, dataset, data_dir=data_dir,
                                                  source=source))
    rows = []
    for name in optimizers:
        start = time.perf_counter()
        run_trials(objective, [name], trials=trials, budget=budget, progress=False)
        rows.append({"optimizer": name,
                     "seconds_per_trial": f"{(time.perf_counter() - start) / trials:.1f}"})
    print(f"\n{task}, {budget} queries, mean over {trials} trials\n")
    print(markdown_table(pd.DataFrame(rows)))


def print_tables(summary: pd.DataFrame) -> None:
    for task, t in summary.groupby("task", sort=False):
        t = t.dropna(axis=1, how="all").astype({"trials": int})
        order = {name: i for i, name in enumerate(list_optimizers())}
        t = t.sort_values("optimizer", key=lambda c: c.map(order), kind="stable")
        shown = format_table(t.drop(columns=["task", "optimum"]).set_index("optimizer"))
        print(f"\n{task} (pool optimum {t['optimum'].iloc[0]:.2f}; mean ± std over trials)\n")
        print(markdown_table(shown.reset_index()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=str_list, default=list(TASKS),
                    help=f"comma-separated tasks (default: {', '.join(TASKS)})")
    ap.add_argument("--optimizers", type=str_list, default=list_optimizers(),
                    help="comma-separated optimisers (default: all)")
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--at", type=int_list, default=[50, 100, 150],
                    help="query counts of the table")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=Path("results/bench_search"))
    ap.add_argument("--table", type=Path, default=None,
                    help="only print the tables of this search_summary.csv")
    ap.add_argument("--timing", action="store_true",
                    help="only time --trials trials of each optimiser on the first task "
                    "(nothing written) and print seconds per trial")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.table is not None:
        print_tables(pd.read_csv(args.table))
        return
    unknown = sorted(set(args.tasks) - set(TASKS))
    if unknown:
        ap.error(f"unknown tasks {unknown}; known: {', '.join(TASKS)}")
    if args.timing:
        print_timing(args.tasks[0], args.optimizers, args.trials, args.budget, args.data_dir)
        return
    path = args.out / "search_summary.csv"
    old = (pd.read_csv(path) if path.exists()
           else pd.DataFrame(columns=["task", "optimizer"]))
    for task in args.tasks:
        table = run_task(task, args.optimizers, args.trials, args.budget, args.at, args.out,
                         args.data_dir)
        done = old["task"].eq(task) & old["optimizer"].isin(table["optimizer"])
        old = pd.concat([old[~done], table], ignore_index=True)
        args.out.mkdir(parents=True, exist_ok=True)
        old.to_csv(path, index=False, float_format=lambda v: f"{v:.4f}" if np.isfinite(v)
                   else "")
    print_tables(old[old["task"].isin(args.tasks)])


if __name__ == "__main__":
    main()
