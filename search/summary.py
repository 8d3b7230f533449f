"""Tables of search histories: the incumbent at given budgets and queries to the optimum."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def search_table(df: pd.DataFrame, at: Sequence[int] = (50, 100, 150),
                 optimum: float | None = None) -> pd.DataFrame:
    """One row per optimiser: mean and std over trials of ``best_value`` (and of the
    incumbent's ``test_value`` where the history has it) after each number of queries in
    ``at``; with ``optimum`` (the pool's best value), the median number of queries until it
    was first found (over the trials that found it) and the share of trials that found it.

    Columns: ``trials``, ``best@N``, ``best@N_std``, ``test@N``, ``test@N_std`` ...,
    ``found``, ``queries_to_optimum``.
    """
    out = []
    for name, g in df.groupby("optimizer", sort=False):
        row: dict = {"optimizer": name, "trials": g["trial"].nunique()}
        for n in at:
            last = g[g["query"] <= n].groupby("trial").tail(1)
            last = last[last["query"] == n]  # trials that reached n queries
            for col, label in (("best_value", "best"), ("test_value", "test")):
                if col in g:
                    row[f"{label}@{n}"] = last[col].mean() if len(last) else math.nan
                    row[f"{label}@{n}_std"] = last[col].std(ddof=0) if len(last) else math.nan
        if optimum is not None and math.isfinite(optimum):
            hits = g[np.isclose(g["value"].to_numpy(float), optimum)]
            first = hits.groupby("trial")["query"].min()
            row["found"] = len(first) / row["trials"]
            row["queries_to_optimum"] = float(first.median()) if len(first) else math.nan
        out.append(row)
    return pd.DataFrame(out).set_index("optimizer")


def format_table(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """``mean ± std`` strings for every ``X`` / ``X_std`` pair of :func:`search_table`."""
    shown = pd.DataFrame(index=table.index)
    for col in table.columns:
        if col.endswith("_std"):
            continue
        if f"{col}_std" in table:
            shown[col] = [f"{m:.{digits}f} ± {s:.{digits}f}" if np.isfinite(m) else "–"
                          for m, s in zip(table[col], table[f"{col}_std"])]
        elif col == "found":
            shown[col] = [f"{v:.0%}" for v in table[col]]
        elif col == "queries_to_optimum":
            shown[col] = [f"{v:.0f}" if np.isfinite(v) else "–" for v in table[col]]
        else:
            shown[col] = table[col]
    return shown
