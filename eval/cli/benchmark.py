"""``nasperf benchmark``: the predictor benchmark grid (feature sets x predictors x train
sizes x seeds), run by :func:`nasperf.eval.runner.run_benchmark`.

For every seed a random training set of ``n`` architectures is drawn, each predictor is
fitted on it and scored on all other architectures (``--test rest``) or on a random subset
of them. One row per (features, predictor, train size, seed) with every metric and the fit /
predict wall times goes to the checksummed append-only log ``<out>/results.log`` as it
finishes, and ``<out>/results.csv`` is rebuilt from it atomically, so a killed or interrupted
run (Ctrl-C prints the table of the rows done) resumes where it stopped when the same
command is run again. Rows are reused only for the same configuration (data, dedup, test
set, version, and the predictor's settings: a changed default runs its rows again); a
second run into the same --out refuses while the first holds its lock. results.json and a
plot of Kendall tau against the train size are written at the end.

Examples::

    nasperf benchmark --space nb201 --features graf,zc --predictors lightgbm,gp --seeds 5
    nasperf benchmark --space tnb101_micro --dataset class_object --train-sizes 32,128
    nasperf benchmark --seeds 10 --executor processes --workers 2   # the same rows, in parallel
    nasperf benchmark --seeds 4 --first-seed 6   # seeds 6..9 only, e.g. on a second machine
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import COMMANDS
from ._options import (
    add_data_dir,
    add_dataset,
    add_executor,
    add_space,
    add_threads,
    apply_threads,
    check_names,
    csv_list,
    executor_from_args,
    int_list,
    new_command,
    nonnegative_int,
    resolve_dataset,
    seed_count,
    test_size,
)

#: The README's main job: the toolkit's best configuration, a small grid.
DEFAULTS = dict(space="nb201", features="graf_all+zc", predictors="auto",
                train_sizes="32,128,1024", seeds=3)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``benchmark`` command to ``sub``."""
    p = new_command(sub, "benchmark", COMMANDS["benchmark"][1], __doc__)
    add_space(p, DEFAULTS["space"])
    add_dataset(p)
    p.add_argument("--source", default=None,
                   help="benchmark table: graf, zc or full for nb201, zc for the others "
                   "(default: the space's first)")
    p.add_argument("--target", default="val_accuracy",
                   help="column predicted (nb201 also test_accuracy, hw_*, rob_*)")
    from nasperf.eval.features import FEATURE_FAMILIES, GRAPH_FAMILIES
    from nasperf.predictors import list_predictors

    numeric = [f for f in FEATURE_FAMILIES if f not in GRAPH_FAMILIES]
    p.add_argument("--features", default=DEFAULTS["features"],
                   help="comma-separated feature sets; join families with + (graf+zc); "
                   f"families: {', '.join(numeric)}; graph families (for gnn, "
                   f"gnn_pretrained, auto_gnn): {', '.join(sorted(GRAPH_FAMILIES))}")
    p.add_argument("--predictors", default=DEFAULTS["predictors"],
                   help="comma-separated predictor names (nasperf.predictors): "
                   f"{', '.join(list_predictors())}; auto is a cross-validated choice")
    p.add_argument("--train-sizes", type=int_list, default=DEFAULTS["train_sizes"],
                   metavar="N,N,...", help="comma-separated numbers of training architectures")
    p.add_argument("--seeds", type=seed_count, default=DEFAULTS["seeds"], metavar="N",
                   help="number of random training draws (seeds S..S+N-1 for --first-seed "
                   "S), not a seed value")
    p.add_argument("--first-seed", type=nonnegative_int, default=0, metavar="S",
                   help="seed of the first training draw (default 0)")
    p.add_argument("--test", type=test_size, default="rest",
                   help="test architectures: 'rest' (all not trained on) or a number drawn at "
                   "random from them")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="directory for results.csv (resumed), results.json, plots, cache")
    p.add_argument("--dedup", action="store_true",
                   help="merge architectures that build the same network before splitting")
    add_data_dir(p)
    add_threads(p)
    add_executor(p, parts=False)
    p.set_defaults(func=run)
    return p


def check_grid(features: list[str], predictors: list[str]) -> None:
    """Raise ``ValueError`` for an unknown feature family or predictor name (before any data
    is loaded)."""
    from nasperf.predictors import list_predictors

    from ..features import FEATURE_FAMILIES, split_families

    if not features:
        raise ValueError("--features: give at least one feature set")
    if not predictors:
        raise ValueError("--predictors: give at least one predictor")
    check_names([f for fs in features for f in split_families(fs)], FEATURE_FAMILIES,
                "feature family", "--features")
    check_names([p.lower() for p in predictors], list_predictors(), "predictor", "--predictors")


def run(args: argparse.Namespace) -> int:
    """Run ``nasperf benchmark``: the grid, then the Kendall tau table on stdout."""
    features, predictors = csv_list(args.features), csv_list(args.predictors)
    train_sizes = args.train_sizes  # argparse passes the string default through int_list
    dataset = resolve_dataset(args.space, args.dataset)
    check_grid(features, predictors)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    executor = executor_from_args(args)
    apply_threads(args)

    from ..runner import run_benchmark

    try:
        df = run_benchmark(
            args.space, dataset, features=features, predictors=predictors,
            train_sizes=train_sizes, seeds=seeds, test=args.test, out=args.out,
            source=args.source, target=args.target, data_dir=args.data_dir, dedup=args.dedup,
            executor=executor)
    except KeyboardInterrupt:
        grid = dict(space=args.space, dataset=dataset, features=features,
                    predictors=predictors, train_sizes=train_sizes, seeds=seeds)
        _print_partial(Path(args.out), grid)
        raise KeyboardInterrupt(f"rerun the same command to resume from "
                                f"{Path(args.out) / 'results.csv'}") from None
    _print_table(df, f"Kendall tau (mean ± std over seeds {_seed_range(seeds)}), {args.space} "
                 f"{dataset}:")
    print(f"\nresults: {Path(args.out) / 'results.csv'}, plots: {args.out}/*.png")
    return 0


def _seed_range(seeds: list[int]) -> str:
    """``"0..9"`` for seeds 0 to 9 (consecutive, as ``--seeds``/``--first-seed`` give them)."""
    return f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def _print_table(df, title: str) -> None:
    import pandas as pd

    from ..runner import summarise

    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(title)
        print(summarise(df).to_string())


def _print_partial(out: Path, grid: dict) -> None:
    """After Ctrl-C: the Kendall tau table of this grid's rows already finished in ``out``
    (a note when there are none or they cannot be read)."""
    df = _finished_rows(out, grid)
    total = (len(grid["features"]) * len(grid["predictors"]) * len(grid["train_sizes"])
             * len(grid["seeds"]))
    if df is None or df.empty:
        print(f"interrupted before the first of {total} rows was finished")
        return
    _print_table(df, f"Kendall tau of the {len(df)} of {total} rows finished "
                 f"(mean ± std over the seeds done), {grid['space']} {grid['dataset']}:")
    sys.stdout.flush()


def _finished_rows(out: Path, grid: dict):
    """The rows of ``grid`` in ``out``: those of the last run (``runner.load_results``, where
    the runner has it), else of ``out/results.csv``; None when there are none."""
    import pandas as pd

    from .. import runner

    try:
        load_results = getattr(runner, "load_results", None)
        df = load_results(out) if load_results else pd.read_csv(out / "results.csv")
        keep = ((df["space"] == grid["space"]) & (df["dataset"] == grid["dataset"])
                & df["features"].isin(grid["features"]) & df["predictor"].isin(grid["predictors"])
                & df["train_size"].isin(grid["train_sizes"])
                & df["seed"].isin(grid["seeds"]))
        return df[keep & df["kendall_tau"].notna()]
    except (OSError, ValueError, KeyError):
        return None
