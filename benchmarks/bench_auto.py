"""Does ``auto`` hold on spaces it was not tuned on? The default selector against the previous
one and plain LightGBM, on every labelled benchmark and on a many-features stand-in.

Three configurations, on the same splits (:func:`nasperf.eval.runner.run_benchmark`, seeds
``0..k-1``, tested on all non-training cells):

- ``auto`` on ``graf_all+zc`` (today's default candidates, repeated CV on small sets);
- ``auto_previous`` on ``graf_all+zc`` (the candidates picked on NB201 CIFAR-10 before);
- ``lightgbm`` on ``graf+zc`` (GRAF's default groups and the proxies).

Tasks: NB201 CIFAR-10 / CIFAR-100 / ImageNet16-120 (GRAF tables, 9,445 cells), NB101
(NAS-Bench-Suite-Zero, 500 cells), TNB101-micro (7 tasks, 711 cells), and ``many_features``:
NB201 CIFAR-10 with ``--noise`` extra columns, each a row-shuffled copy of a GRAF column
(the marginal distribution of a real feature, no signal), as a stand-in for two DARTS cells
of GRAF features (thousands of columns, a few of them informative). Train sizes are those of
``--train-sizes`` that leave at least half of a task's cells for testing (and at most 128 on
the many-features task, where features outnumber the training cells, which also runs at
most 5 seeds: there one ``auto`` fit on 32 cells and 1,000+ columns takes about a minute on
2 cores).

Usage (from the repository root)::

    python benchmarks/bench_auto.py --seeds 10 --out results/bench_auto

writes ``<out>/<task>/results.csv`` for every task (resumable: a rerun skips finished rows),
``<out>/auto_generalisation.csv`` with the rows of every task run into ``<out>`` (a task
run again replaces its rows), and prints a markdown table of Kendall tau
(mean ± std over seeds): one row per task and train size, one column per configuration.
``--tasks`` picks tasks by name; ``--table FILE`` only prints the table of a CSV written
before (``docs/results_auto_generalisation.csv``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from _common import int_list, str_list

from nasperf.eval.features import FEATURE_FAMILIES, graf_all
from nasperf.eval.runner import run_benchmark
from nasperf.eval.tables import markdown_table
from nasperf.searchspaces import load_benchmark

log = logging.getLogger("bench_auto")

#: task name -> (space, dataset)
TASKS: dict[str, tuple[str, str]] = {
    "nb201/cifar10": ("nb201", "cifar10"),
    "nb101/cifar10": ("nb101", "cifar10"),
    **{f"tnb101_micro/{t}": ("tnb101_micro", t) for t in (
        "class_scene", "class_object", "autoencoder", "normal", "jigsaw", "room_layout",
        "segmentsemantic")},
    "nb201/cifar100": ("nb201", "cifar100"),
    "nb201/ImageNet16-120": ("nb201", "ImageNet16-120"),
    "many_features": ("nb201", "cifar10"),
}

#: Largest train size per task (default: half the task's cells).
MAX_TRAIN_SIZE: dict[str, int] = {"many_features": 128}
#: Most seeds per task (default: ``--seeds``).
MAX_SEEDS: dict[str, int] = {"many_features": 5}

#: (features, predictor) pairs; ``+noise`` is appended on the many-features task.
CONFIGS: tuple[tuple[str, str], ...] = (
    ("graf_all+zc", "auto"),
    ("graf_all+zc", "auto_previous"),
    ("graf+zc", "lightgbm"),
)


def noise_family(n_columns: int, seed: int = 0):
    """A feature family of ``n_columns`` row-shuffled copies of GRAF columns (cycled)."""
    def noise(bench, **kw):
        X, names, _ = graf_all(bench, **kw)
        rng = np.random.default_rng(seed)
        pick = np.arange(n_columns) % X.shape[1]
        out = np.stack([rng.permutation(X[:, j]) for j in pick], axis=1)
        return out, [f"shuffled_{j}_{names[c]}" for j, c in enumerate(pick)], \
            {"noise": list(range(n_columns))}
    return noise


def run(tasks: list[str], seeds: int, train_sizes: list[int], out: Path, n_noise: int,
        data_dir: str | None) -> pd.DataFrame:
    noise = f"noise{n_noise}"  # the family's name carries its option (cache and resume keys)
    FEATURE_FAMILIES[noise] = noise_family(n_noise)
    frames = []
    for task in tasks:
        space, dataset = TASKS[task]
        bench = load_benchmark(space, dataset, data_dir=data_dir)
        cap = MAX_TRAIN_SIZE.get(task, len(bench) // 2)
        sizes = [n for n in train_sizes if n <= min(cap, len(bench) // 2)]
        for features, predictor in CONFIGS:
            feats = f"{features}+{noise}" if task == "many_features" else features
            log.info("%s: %s on %s, sizes %s", task, predictor, feats, sizes)
            df = run_benchmark(space, dataset, features=[feats], predictors=[predictor],
                               train_sizes=sizes, seeds=min(seeds, MAX_SEEDS.get(task, seeds)),
                               bench=bench,
                               out=out / task.replace("/", "_"))
            frames.append(df.assign(task=task, features=features))
    table = pd.concat(frames, ignore_index=True)
    path = out / "auto_generalisation.csv"
    if path.exists():  # keep the rows of the tasks not run this time
        old = pd.read_csv(path)
        table = pd.concat([old[~old["task"].isin(table["task"])], table], ignore_index=True)
    order = {t: i for i, t in enumerate(TASKS)}
    table = table.sort_values("task", key=lambda c: c.map(order), kind="stable")
    table.to_csv(path, index=False)
    return table[table["task"].isin({f["task"].iloc[0] for f in frames})]


def combined_table(table: pd.DataFrame) -> pd.DataFrame:
    """Task x train size rows, one ``mean ± std (seeds)`` column per configuration."""
    cells = []
    for (task, n, pred), rows in table.groupby(["task", "train_size", "predictor"], sort=False):
        tau = rows["kendall_tau"]
        cells.append({"task": task, "n": int(n), "predictor": pred,
                      "tau": f"{tau.mean():.3f} ± {tau.std(ddof=1):.3f}",
                      "seeds": rows["seed"].nunique()})
    cells = pd.DataFrame(cells)
    wide = cells.pivot_table(index=["task", "n"], columns="predictor", values="tau",
                             aggfunc="first", sort=False)
    names = {"auto": "auto (graf_all+zc)", "auto_previous": "auto_previous (graf_all+zc)",
             "lightgbm": "lightgbm (graf+zc)"}
    wide = wide[[p for p in names if p in wide.columns]].rename(columns=names)
    seeds = cells.groupby(["task", "n"], sort=False)["seeds"].min()
    return wide.assign(seeds=seeds).reset_index()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=str_list, default=list(TASKS),
                   help=f"comma-separated tasks (default: all of {', '.join(TASKS)})")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds (default: 10)")
    p.add_argument("--train-sizes", type=int_list, default=[32, 128, 1024],
                   help="train sizes (default: 32,128,1024)")
    p.add_argument("--noise", type=int, default=1000,
                   help="extra shuffled columns of the many-features task (default: 1000)")
    p.add_argument("--data-dir", default=None, help="benchmark data directory")
    p.add_argument("--out", type=Path, default=Path("results/bench_auto"),
                   help="output directory (default: results/bench_auto)")
    p.add_argument("--table", type=Path, default=None,
                   help="only print the table of this auto_generalisation.csv")
    args = p.parse_args()
    if args.table is not None:
        print(markdown_table(combined_table(pd.read_csv(args.table))))
        return
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        p.error(f"unknown tasks {unknown}; known: {', '.join(TASKS)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    table = run(args.tasks, args.seeds, args.train_sizes, args.out, args.noise, args.data_dir)
    print(markdown_table(combined_table(table)))


if __name__ == "__main__":
    main()
