"""``nasperf search``: architecture search on a labelled benchmark, run by
:func:`nasperf.search.run_trials`.

Every lookup of the benchmark's table is one query, and the search is restricted to its
architectures (NB201 GRAF: the 9,445 canonical cells). Each optimiser runs ``--trials``
trials (seeds ``--first-seed`` ...) of ``--budget`` queries. Every query goes to the
checksummed log ``OUT/history.log`` as it finishes, so a killed run resumes when the same
command is run again (finished queries are replayed, not queried again);
``OUT/history.csv`` has one row per query (``optimizer, trial, seed, query, round, arch,
value, best_value``, and ``test_value``, the incumbent's test accuracy, where the benchmark
has one) and ``OUT/best_so_far.png`` the best-so-far curves. The table printed at the end
gives the incumbent after 50/100/150 queries (``--at``) and the queries until the pool's best
architecture was found.

Optimisers: random, regularized_evolution, local_search, bananas (MLP ensemble on path
encoding, Thompson sampling over mutations), gp_bo (GP, expected improvement),
predictor_guided (extra trees on graf_all+zc, upper confidence bound from the spread of the
trees, over mutations of the best) and predictor_guided_zc (the same with a zero-cost warm
start). ``--params`` sets options of one optimiser, e.g.
``'{"predictor_guided": {"predictor": "auto", "acquisition": "greedy"}}'`` (a predictor
without an uncertainty estimate needs the greedy acquisition). ``--executor
processes --workers N`` (or ``ray``) runs the trials in parallel, with the same history.

Examples::

    nasperf search --space nb201 --dataset cifar10 --optimizer random,bananas --budget 150 \\
        --trials 20 --out runs/
"""

from __future__ import annotations

import argparse
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
    json_object,
    new_command,
    nonnegative_int,
    positive_int,
    resolve_dataset,
)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``search`` command to ``sub``."""
    p = new_command(sub, "search", COMMANDS["search"][1], __doc__)
    add_space(p, "nb201")
    add_dataset(p)
    p.add_argument("--source", default=None,
                   help="benchmark table (default: the space's first; tnb101_micro: graf "
                   "has 2,128 cells)")
    p.add_argument("--target", default="val_accuracy", help="column maximised")
    p.add_argument("--optimizer", default="random,regularized_evolution,bananas",
                   help="comma-separated optimisers (nasperf.search.list_optimizers)")
    p.add_argument("--budget", type=positive_int, default=150, metavar="N",
                   help="queries per trial")
    p.add_argument("--trials", type=positive_int, default=10, metavar="N",
                   help="trials per optimiser")
    p.add_argument("--first-seed", type=nonnegative_int, default=0, metavar="S",
                   help="seed of the first trial (trial t has seed S + t)")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="K",
                   help="architectures per ask (default: the optimiser's)")
    p.add_argument("--params", type=json_object, default={}, metavar="JSON",
                   help="options per optimiser, e.g. '{\"bananas\": {\"num_candidates\": 200}}'")
    p.add_argument("--at", type=int_list, default="50,100,150", metavar="N,N,...",
                   help="query counts of the printed table (those up to --budget, and "
                   "--budget)")
    p.add_argument("--out", default="search_results", metavar="DIR",
                   help="directory for history.log/history.csv (resumed) and the plot")
    add_data_dir(p)
    add_threads(p)
    add_executor(p, parts=False)
    p.set_defaults(func=run)
    return p


def _optimizers(names: list[str], params: dict) -> dict:
    """History name -> optimiser name, or an optimiser built with its ``--params``."""
    from nasperf.search import get_optimizer, list_optimizers

    if not names:
        raise ValueError("--optimizer: give at least one optimiser")
    check_names(names, list_optimizers(), "optimiser", "--optimizer")
    check_names(list(params), names, "optimiser", "--params")
    out: dict = {}
    for name in names:
        options = params.get(name, {})
        if not isinstance(options, dict):
            raise ValueError(f"--params: the options of {name!r} must be a JSON object")
        out[name] = get_optimizer(name, **options) if options else name
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``nasperf search``: the trials, then the summary table on stdout."""
    import pandas as pd

    from nasperf.search import format_table, run_trials, search_table
    from nasperf.search.loop import BenchmarkObjective
    from nasperf.searchspaces import load_benchmark

    dataset = resolve_dataset(args.space, args.dataset)
    optimizers = _optimizers(csv_list(args.optimizer), args.params)
    executor = executor_from_args(args)
    apply_threads(args)
    bench = load_benchmark(args.space, dataset, data_dir=args.data_dir, source=args.source,
                           target=args.target)
    objective = BenchmarkObjective(bench)
    out = Path(args.out)
    try:
        history = run_trials(objective, optimizers, trials=args.trials, budget=args.budget,
                             out=out, batch_size=args.batch_size, first_seed=args.first_seed,
                             executor=executor)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"rerun the same command to resume from "
                                f"{out / 'history.log'}") from None
    at = sorted({n for n in args.at if n <= args.budget} | {args.budget})
    table = format_table(search_table(history, at=at, optimum=objective.optimum))
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(f"{args.space} {dataset}: best {bench.target} so far (mean ± std over "
              f"{args.trials} trials); pool optimum {objective.optimum:.2f}")
        print(table.to_string())
    print(f"\nhistory: {out / 'history.csv'}, plot: {out / 'best_so_far.png'}")
    return 0
