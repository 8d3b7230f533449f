"""``nasperf summary``: markdown tables of mean ± std from benchmark ``results.csv`` files.

Every table of ``docs/results.md`` is printed by this command from the rows that
``nasperf benchmark`` wrote, so the numbers can be re-derived from the per-seed CSVs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns a results table can be grouped by (rows of the printed table).
GROUP_COLUMNS = ("space", "dataset", "source", "target", "features", "predictor")
#: Columns that, with the configuration keys, identify one result row.
IDENTITY_COLUMNS = (*GROUP_COLUMNS, "train_size", "seed")
#: Configuration keys of the rows of :func:`nasperf.eval.runner.run_benchmark`: the
#: benchmark's options (``run_key``) and the predictor's settings (``predictor_key``).
CONFIG_COLUMNS = ("run_key", "predictor_key")


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

    Raises ``ValueError`` naming the column when ``metric`` or a grouping column is missing,
    and when a cell would mix rows of several configurations (see :func:`check_one_config`).
    """
    _require_columns(frame, (metric, "train_size", *rows))
    if frame.empty:
        raise ValueError("no result rows to summarise")
    check_one_config(frame, rows)
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


def check_one_config(frame: pd.DataFrame, rows: Sequence[str]) -> None:
    """Raise ``ValueError`` when rows of one table cell and seed come from several
    configurations (different ``run_key``: e.g. an output directory that holds runs with and
    without ``dedup``; or different ``predictor_key``: rows of a predictor before and after a
    change of its settings), or when one result row (same keys and identity columns) occurs
    twice: the mean and std would silently mix them. Checked only for results with such
    key columns (written by :func:`nasperf.eval.runner.run_benchmark`)."""
    if "seed" not in frame.columns:
        return
    cell = [*rows, "train_size", "seed"]
    keys = [c for c in CONFIG_COLUMNS if c in frame.columns]
    if not keys:
        return
    sub = frame[cell + keys].fillna("")
    for col in keys:
        n_values = sub.groupby(cell)[col].transform("nunique")
        if (n_values > 1).any():
            values = sorted(sub.loc[n_values > 1, col].astype(str).unique())
            raise ValueError(
                f"the results mix {len(values)} configurations ({col} "
                f"{', '.join(v or '(none)' for v in values)}) in the same table cells; "
                f"select one, e.g. --only {col}={values[-1]}, or group by the columns that "
                "differ (--rows)")
    ident = [c for c in (*IDENTITY_COLUMNS, *keys) if c in frame.columns]
    dup = frame[ident].fillna("").duplicated()
    if dup.any():
        raise ValueError(f"the results hold {int(dup.sum())} duplicate rows (same "
                         f"{', '.join(ident)}); the mean and std would count them twice")


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
