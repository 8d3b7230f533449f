"""Plots of benchmark results, written as files.

Drawn with matplotlib's object API on stand-alone ``Figure`` objects: no pyplot state and no
backend choice is touched, so plotting works the same in scripts, notebooks and servers.
matplotlib is optional (``pip install 'nasperf[plots]'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from nasperf._utils import import_optional


def new_figure(width: float, height: float, dpi: float | None = None):
    """A stand-alone matplotlib ``Figure`` of ``width`` x ``height`` inches (object API: no
    pyplot state, no backend choice).

    Raises ``ImportError`` naming ``pip install 'nasperf[plots]'`` without matplotlib."""
    figure = import_optional("matplotlib.figure", "plots", "plotting")
    return figure.Figure(figsize=(width, height), dpi=dpi)


def plot_metric_vs_train_size(df: pd.DataFrame, path: str | Path,
                              metric: str = "kendall_tau",
                              lines: Sequence[str] = ("features", "predictor")) -> Path:
    """One line per ``lines`` group (default features, predictor): mean of ``metric`` over
    seeds against the train size (log scale), with a band of ± one standard deviation.
    Writes a PNG and returns its path.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install 'nasperf[plots]'``).
    """
    fig = new_figure(6.5, 4.2, dpi=120)
    colormaps = import_optional("matplotlib", "plots", "plotting").colormaps

    lines = list(lines)
    g = df.groupby([*lines, "train_size"])[metric].agg(["mean", "std"])
    ax = fig.subplots()
    levels = list(range(len(lines)))
    groups = list(g.groupby(level=levels))
    if len(groups) > 10:  # the default cycle repeats after 10 colours
        ax.set_prop_cycle(color=colormaps["tab20"].colors[:len(groups)])
    for key, sub in groups:
        sub = sub.droplevel(levels).sort_index()
        x, m, s = sub.index.to_numpy(), sub["mean"].to_numpy(), sub["std"].fillna(0).to_numpy()
        key = key if isinstance(key, tuple) else (key,)
        ax.plot(x, m, marker="o", label=" · ".join(str(k) for k in key))
        ax.fill_between(x, m - s, m + s, alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("training architectures")
    ax.set_ylabel(metric.replace("_", " "))
    title = " / ".join(str(df[c].iloc[0]) for c in ("space", "dataset")
                       if c in df and c not in lines and df[c].nunique() == 1)
    ax.set_title(f"{title + ': ' if title else ''}{metric.replace('_', ' ')} vs train size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
