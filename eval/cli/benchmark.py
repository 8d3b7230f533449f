"""``nasperf benchmark``: the predictor benchmark grid (feature sets x predictors x train
sizes x seeds), run by :func:`nasperf.eval.runner.run_benchmark`.

For every seed a random training set of ``n`` architectures is drawn, each predictor is
fitted on it and scored on all other architectures (``--test rest``) or on a random subset
of them. One row per (features, predictor, train size, seed) with every metric and the fit /
predict wall times goes to ``<out>/results.csv`` as it finishes, so an interrupted run
resumes where it stopped; ``results.json`` and a plot of Kendall tau against the train size
are written at the end.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import COMMANDS
from ._options import add_data_dir, add_dataset, add_space, csv_list, int_list, new_command

#: The README's main job: the toolkit's best configuration, a small grid.
DEFAULTS = dict(space="nb201", dataset="cifar10", features="graf_all+zc",
                predictors="auto", train_sizes="32,128,1024", seeds=3)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``benchmark`` command to ``sub``."""
    p = new_command(sub, "benchmark", COMMANDS["benchmark"][1], __doc__)
    add_space(p, DEFAULTS["space"])
    add_dataset(p, DEFAULTS["dataset"])
    p.add_argument("--source", default=None, help="benchmark source (graf, zc, full)")
    p.add_argument("--target", default="val_accuracy")
    p.add_argument("--features", default=DEFAULTS["features"],
                   help="comma-separated feature sets; join families with + (graf+zc)")
    p.add_argument("--predictors", default=DEFAULTS["predictors"])
    p.add_argument("--train-sizes", default=DEFAULTS["train_sizes"])
    p.add_argument("--seeds", type=int, default=DEFAULTS["seeds"])
    p.add_argument("--test", default="rest", help="'rest' or a number of test architectures")
    p.add_argument("--out", default="results")
    p.add_argument("--dedup", action="store_true",
                   help="merge architectures that build the same network before splitting")
    add_data_dir(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``nasperf benchmark``: the grid, then the Kendall tau table on stdout."""
    import pandas as pd

    from ..runner import run_benchmark, summarise

    df = run_benchmark(
        args.space, args.dataset, features=csv_list(args.features),
        predictors=csv_list(args.predictors),
        train_sizes=int_list(args.train_sizes), seeds=args.seeds,
        test=args.test if args.test == "rest" else int(args.test), out=args.out,
        source=args.source, target=args.target, data_dir=args.data_dir, dedup=args.dedup)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(f"Kendall tau (mean ± std over {args.seeds} seeds), {args.space} {args.dataset}:")
        print(summarise(df).to_string())
    print(f"\nresults: {Path(args.out) / 'results.csv'}, plots: {args.out}/*.png")
    return 0
