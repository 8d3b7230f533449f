"""``nasperf summary``: markdown tables of mean ± std from benchmark ``results.csv`` files
(:func:`nasperf.eval.summary.summary_table`, :func:`~nasperf.eval.summary.count_table`)."""

from __future__ import annotations

import argparse

from ..summary import GROUP_COLUMNS
from . import COMMANDS
from ._options import csv_list, new_command, positive_int


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``summary`` command to ``sub``."""
    p = new_command(sub, "summary", COMMANDS["summary"][1], __doc__)
    p.add_argument("results", nargs="+", help="results.csv files or the directories holding them")
    p.add_argument("--metric", default="kendall_tau",
                   help="metric column of results.csv: kendall_tau, spearman, pearson, mae, "
                   "rmse, precision_at_k, top_k_overlap, ndcg")
    p.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                   help="only the first N seeds, 0..N-1 (rows of other seeds are left out; "
                   "default: all)")
    p.add_argument("--only", action="append", default=[], metavar="COLUMN=VALUE",
                   help="keep rows whose COLUMN equals VALUE (repeatable), e.g. "
                   "--only features=graf_all+zc")
    p.add_argument("--rows", default="features,predictor",
                   help=f"comma-separated grouping columns among {', '.join(GROUP_COLUMNS)}")
    p.add_argument("--counts", default=None, metavar="COLUMN",
                   help="print how often each value of COLUMN occurs per train size instead "
                   "of the metric (e.g. --counts chosen: the candidate 'auto' picked)")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="also write a PNG of the metric vs train size, one line per row of the "
                   "table (needs matplotlib: nasperf[plots])")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the table (or the counts) of the selected rows; write the plot if asked."""
    from ..summary import count_table, read_results, summary_table
    from ..tables import markdown_table

    rows = csv_list(args.rows)
    frame = read_results(args.results)
    if args.seeds is not None:
        frame = frame[frame["seed"] < args.seeds]
    for cond in args.only:
        col, sep, value = cond.partition("=")
        if not sep or col not in frame.columns:
            raise ValueError(f"--only {cond!r}: expected COLUMN=VALUE with a column among "
                             f"{list(frame.columns)}")
        frame = frame[frame[col].astype(str) == value]
    if args.counts:
        print(markdown_table(count_table(frame, args.counts, rows)))
        return 0
    table = summary_table(frame, args.metric, rows)
    print(markdown_table(table))
    if args.plot:
        from ..plots import plot_metric_vs_train_size

        plot_metric_vs_train_size(frame, args.plot, args.metric, lines=rows)
    return 0
