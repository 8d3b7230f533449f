"""``nasperf summary``: markdown tables of mean ± std from benchmark ``results.csv`` files.

Every table of ``docs/results.md`` is printed by this command from the rows that
``nasperf benchmark`` wrote, so the numbers can be re-derived from the per-seed CSVs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .tables import markdown_table

#: Columns a results table can be grouped by (rows of the printed table).
GROUP_COLUMNS = ("space", "dataset", "source", "target", "features", "predictor")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    for col in columns:
        if col not in frame.columns:
            raise ValueError(f"results have no column {col!r}; have {list(frame.columns)}")


def summary_table(frame: pd.DataFrame, metric: str = "kendall_tau",
                  rows: Sequence[str] = ("features", "predictor"),
                  digits: int = 3) -> pd.DataFrame:
    """``mean ± std`` of ``metric`` over seeds: one row per ``rows`` group, one column per
    train size (``n=32``...; empty where a size was not run) and ``seeds``, the number(s)
    of seeds behind the cells.

    Raises ``ValueError`` naming the column when ``metric`` or a grouping column is missing.
    """
    _require_columns(frame, (metric, "train_size", *rows))
    if frame.empty:
        raise ValueError("no result rows to summarise")
    frame = frame.fillna({r: "" for r in rows})  # an empty label is still a row
    g = frame.groupby([*rows, "train_size"])[metric].agg(["mean", "std", "count"])

    def cell(r: pd.Series) -> str:
        std = 0.0 if np.isnan(r["std"]) else r["std"]
        return f"{r['mean']:.{digits}f} ± {std:.{digits}f}"

    table = g.apply(cell, axis=1).unstack("train_size").fillna("")  # "" = size not run
    table.columns = [f"n={c}" for c in table.columns]
    counts = g["count"].unstack("train_size")
    table["seeds"] = [", ".join(str(int(c)) for c in sorted(set(r.dropna())))
                      for _, r in counts.iterrows()]
    return table.reset_index()


def count_table(frame: pd.DataFrame, column: str,
                rows: Sequence[str] = ("features", "predictor")) -> pd.DataFrame:
    """How often each value of ``column`` occurs (e.g. which candidate a CV selector chose,
    ``column="chosen"``): one row per ``rows`` group and value, one column per train size.

    Raises ``ValueError`` naming the column when ``column`` or a grouping column is missing.
    """
    _require_columns(frame, (column, "train_size", *rows))
    frame = frame.dropna(subset=[column]).fillna({r: "" for r in rows})
    if frame.empty:
        raise ValueError(f"no result rows with a value in {column!r}")
    table = frame.groupby([*rows, column, "train_size"]).size().unstack("train_size")
    table = table.fillna(0).astype(int)
    table.columns = [f"n={c}" for c in table.columns]
    return table.reset_index()


def read_results(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate ``results.csv`` files (a directory stands for its ``results.csv``)."""
    frames = []
    for p in paths:
        p = Path(p)
        p = p / "results.csv" if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"no results file {p}")
        frames.append(pd.read_csv(p))
    return pd.concat(frames, ignore_index=True)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="markdown table of mean ± std from results.csv files")
    p.add_argument("results", nargs="+", help="results.csv files or the directories holding them")
    p.add_argument("--metric", default="kendall_tau")
    p.add_argument("--seeds", type=int, default=None,
                   help="only seeds 0..N-1 (rows of other seeds are left out)")
    p.add_argument("--only", action="append", default=[], metavar="COLUMN=VALUE",
                   help="keep rows whose COLUMN equals VALUE (repeatable), e.g. "
                   "--only features=graf_all+zc")
    p.add_argument("--rows", default="features,predictor",
                   help=f"comma-separated grouping columns among {', '.join(GROUP_COLUMNS)}")
    p.add_argument("--counts", default=None, metavar="COLUMN",
                   help="print how often each value of COLUMN occurs per train size instead "
                   "of the metric (e.g. --counts chosen: the candidate `auto` picked)")
    p.add_argument("--plot", default=None, help="also write a PNG of the metric vs train size, "
                   "one line per row of the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
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
        from .plots import plot_metric_vs_train_size

        plot_metric_vs_train_size(frame, args.plot, args.metric, lines=rows)
    return 0
