"""Best-so-far curves of search histories (matplotlib object API, no pyplot state)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nasperf.eval.plots import line_styles, new_figure

PANELS = {"best_value": "best value so far (validation)",
          "test_value": "test value of the incumbent"}


def best_so_far_curves(df: pd.DataFrame, column: str = "best_value") -> pd.DataFrame:
    """Mean, std and number of trials of ``column`` per (optimizer, query)."""
    if column not in df:
        raise ValueError(f"the history has no {column!r} column")
    g = df.groupby(["optimizer", "query"], sort=False)[column]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "n": g.count()}).reset_index()


def best_so_far_figure(df: pd.DataFrame, optimum: float | None = None, title: str | None = None):
    """One panel per available column of :data:`PANELS`: the mean over trials against the
    number of queries, one line per optimiser, with a band of ± one standard deviation;
    ``optimum`` (the pool's best value) as a dotted line on the first panel. Returns the
    ``Figure``."""
    cols = [c for c in PANELS if c in df and df[c].notna().any()]
    if not cols:
        raise ValueError("the history has no finite best_value to plot")
    fig = new_figure(5.2 * len(cols), 3.8, layout="constrained")
    axes = fig.subplots(1, len(cols), squeeze=False)[0]
    names = list(dict.fromkeys(df["optimizer"]))
    styles = line_styles(len(names))
    n_trials = df.groupby("optimizer")["trial"].nunique()
    for ax, col in zip(axes, cols):
        curves = best_so_far_curves(df, col)
        for name, style in zip(names, styles):
            c = curves[curves["optimizer"] == name]
            x, m, s = c["query"].to_numpy(), c["mean"].to_numpy(), c["std"].to_numpy()
            ax.plot(x, m, color=style["color"], linestyle=style["linestyle"],
                    label=f"{name} ({n_trials[name]} trials)")
            ax.fill_between(x, m - s, m + s, color=style["color"], alpha=0.15, linewidth=0)
        if col == "best_value" and optimum is not None and math.isfinite(optimum):
            ax.axhline(optimum, color="0.3", linestyle=":", linewidth=1, label="pool optimum")
        finite = df[col].to_numpy(float)
        finite = finite[np.isfinite(finite)]
        lo = np.quantile(finite, 0.05) if len(finite) else None
        if lo is not None:
            top = max(finite.max(), optimum if optimum is not None and math.isfinite(optimum)
                      else -np.inf)
            ax.set_ylim(lo, top + 0.05 * (top - lo) + 1e-9)
        ax.set_xlabel("queries")
        ax.set_ylabel(PANELS[col])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small", loc="lower right")
    if title:
        fig.suptitle(title)
    return fig
