"""Plots of benchmark results: a metric against the train size, one line per group.

Drawn with matplotlib's object API on stand-alone ``Figure`` objects: no pyplot state and no
backend choice is touched, so plotting works the same in scripts, notebooks and servers.
matplotlib is optional (``pip install 'nasperf[plots]'``).

Layout rules, so that the axes never shrink however many lines there are:

- the x axis is logarithmic with one tick per train size used, labelled ``32``, ``128``,
  ``1024`` (no minor ticks);
- the legend sits outside the axes, right of them, and the figure grows by its width (and,
  for a long legend, its height) instead of the axes shrinking;
- with more than :data:`FACET_ABOVE` lines and a grouping column of 2 to
  :data:`MAX_FACETS` values, one facet per value of that column (the first such column of
  ``lines``, e.g. one per feature set), sharing the y axis; lines keep the same colour in
  every facet and the legend lists the remaining columns once;
- up to 10 lines take tab10's colours, up to 20 tab20's (dark shades first); beyond that
  tab20 is reused with another line style, so no two lines share colour and style;
  markers differ too and each line is shifted by a small fraction of a tick spacing along
  x, so lines with equal values stay visible;
- the ± one standard deviation bands are light (alpha 0.15, fainter with many lines) and
  have no edge, so overlapping bands do not add up to a dark smear.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nasperf._utils import import_optional

#: More lines than this on one axes: split into facets when a grouping column allows it.
FACET_ABOVE = 12
#: Most facets one figure holds (wrapped into rows of :data:`FACETS_PER_ROW`).
MAX_FACETS = 8
FACETS_PER_ROW = 3
#: Most legend entries in one column; more entries take more columns.
LEGEND_ROWS = 20
#: Size of one axes in inches (width, height): fixed, the figure grows around it.
AXES_SIZE = (5.0, 3.4)
FACET_SIZE = (3.4, 2.8)
#: Characters of a 10-point title per inch of axes width (titles wrap beyond).
CHARS_PER_INCH = 14
#: Shift between neighbouring lines along x, in decades of the log axis (about half a
#: marker), and the largest shift of any line (0.02 decades is 4.7 %).
JITTER_STEP = 0.01
JITTER_DECADES = 0.02
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
LINESTYLES = ("-", "--", ":", "-.")

#: Columns named in the default title when they hold one value (and draw no lines).
TITLE_COLUMNS = ("space", "dataset", "features", "predictor")
#: Axis label of each metric of :data:`nasperf.eval.metrics.METRICS`.
METRIC_LABELS = {
    "kendall_tau": "Kendall τ (test architectures)",
    "spearman": "Spearman ρ (test architectures)",
    "pearson": "Pearson r (test architectures)",
    "mae": "MAE (target units)",
    "rmse": "RMSE (target units)",
    "precision_at_k": "precision at top k",
    "top_k_overlap": "top-k overlap (architectures)",
    "ndcg": "NDCG",
}


def new_figure(width: float, height: float, dpi: float | None = None,
               layout: str | None = None):
    """A stand-alone matplotlib ``Figure`` of ``width`` x ``height`` inches (object API: no
    pyplot state, no backend choice). ``layout`` is matplotlib's (``"constrained"``, ...).

    Raises ``ImportError`` naming ``pip install 'nasperf[plots]'`` without matplotlib."""
    figure = import_optional("matplotlib.figure", "plots", "plotting")
    return figure.Figure(figsize=(width, height), dpi=dpi, layout=layout)


def line_styles(n: int) -> list[dict]:
    """``n`` distinct line styles: dicts of ``color``, ``linestyle`` and ``marker``.

    Colours are tab10's for up to 10 lines, tab20's (dark shades first) for up to 20;
    beyond, tab20's colours come again with the next line style, so no two lines share
    colour and line style."""
    colormaps = import_optional("matplotlib", "plots", "plotting").colormaps
    colors = colormaps["tab10" if n <= 10 else "tab20"].colors
    if n > 10:  # tab20's dark shades first: ten distinct hues before any light twin
        colors = colors[0::2] + colors[1::2]
    return [dict(color=colors[i % len(colors)],
                 linestyle=LINESTYLES[(i // len(colors)) % len(LINESTYLES)],
                 marker=MARKERS[i % len(MARKERS)]) for i in range(n)]


def _label(key: tuple) -> str:
    return " · ".join(str(k) for k in key)


def _facet_column(stats: pd.DataFrame, varying: list[str]) -> str | None:
    """The grouping column to split into facets, or ``None`` for a single axes."""
    n_lines = len(stats.drop_duplicates(varying)) if varying else 1
    if n_lines <= FACET_ABOVE or len(varying) < 2:
        return None
    for col in varying:
        if 2 <= stats[col].nunique() <= MAX_FACETS:
            return col
    return None


def _line_order(stats: pd.DataFrame, cols: list[str], metric: str) -> list[tuple]:
    """The value combinations of ``cols``, best first at the right end of the plot: by the
    largest train size each has, then by its mean ``metric`` there (over facets), so that
    the legend reads in the order of the lines' ends."""
    last = stats.loc[stats.groupby(cols)["train_size"].transform("max") == stats["train_size"]]
    end = last.groupby(cols).agg(n=("train_size", "max"), value=(metric, "mean"))
    end = end.sort_values(["n", "value"], ascending=False)
    return [k if isinstance(k, tuple) else (k,) for k in end.index]


def metric_vs_train_size_figure(df: pd.DataFrame, metric: str = "kendall_tau",
                                lines: Sequence[str] = ("features", "predictor"),
                                title: str | None = None):
    """The figure of :func:`plot_metric_vs_train_size`, returned instead of written.

    Parameters
    ----------
    df : DataFrame
        Tidy benchmark rows (``results.csv``): the ``lines`` columns, ``train_size``,
        ``seed`` and ``metric``.
    metric : str
        Column to plot: its mean over seeds, with a band of ± one standard deviation.
    lines : list of str
        Columns whose value combinations are the lines. Columns with one value across
        ``df`` are named in the title instead of in every legend entry.
    title : str, optional
        Replaces the default title (constant columns, metric, seeds).

    Returns
    -------
    matplotlib.figure.Figure
        Stand-alone figure (display it in a notebook, or ``savefig``).

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install 'nasperf[plots]'``).
    ValueError
        A column is missing or no row has a finite value of ``metric``.
    """
    lines = list(lines)
    missing = [c for c in [*lines, "train_size", metric] if c not in df.columns]
    if missing:
        raise ValueError(f"cannot plot {metric!r} against the train size: no column "
                         f"{missing} among {list(df.columns)}")
    df = df[np.isfinite(pd.to_numeric(df[metric], errors="coerce"))]
    if not len(df):
        raise ValueError(f"no finite value of {metric!r} to plot")
    ticker = import_optional("matplotlib.ticker", "plots", "plotting")

    stats = (df.groupby([*lines, "train_size"])[metric].agg(["mean", "std", "count"])
             .reset_index())
    varying = [c for c in lines if stats[c].nunique() > 1]
    constant = [c for c in lines if c not in varying]
    facet = _facet_column(stats, varying)
    colour_cols = [c for c in varying if c != facet]
    keys = _line_order(stats, colour_cols, metric="mean") if colour_cols else [()]
    styles = dict(zip(keys, line_styles(len(keys))))
    facets = list(pd.unique(stats[facet])) if facet else [None]

    # fixed axes size; the figure grows with the facets and, below, with the legend
    nrows = math.ceil(len(facets) / FACETS_PER_ROW)
    ncols = math.ceil(len(facets) / nrows)
    aw, ah = AXES_SIZE if facet is None else FACET_SIZE
    fig = new_figure(aw * ncols + 1.0, ah * nrows + 1.0, dpi=120, layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    for ax in axes[len(facets):]:
        ax.set_visible(False)

    sizes = np.sort(stats["train_size"].unique())
    step = min(JITTER_STEP, 2 * JITTER_DECADES / max(len(keys) - 1, 1))
    offsets = (np.arange(len(keys)) - (len(keys) - 1) / 2) * step
    band_alpha = 0.15 if len(keys) <= 6 else 0.08
    for ax, value in zip(axes, facets):
        here = stats if facet is None else stats[stats[facet] == value]
        for i, key in enumerate(keys):
            sub = here
            for col, k in zip(colour_cols, key):
                sub = sub[sub[col] == k]
            if not len(sub):
                continue
            sub = sub.sort_values("train_size")
            x = sub["train_size"].to_numpy(float) * 10 ** offsets[i]
            m, s = sub["mean"].to_numpy(), sub["std"].fillna(0).to_numpy()
            style = styles[key]
            ax.plot(x, m, label=_label(key) if key else None, markersize=5, linewidth=1.5,
                    **style)
            ax.fill_between(x, m - s, m + s, color=style["color"], alpha=band_alpha,
                            linewidth=0)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.FixedLocator(sizes))
        ax.xaxis.set_major_formatter(ticker.FixedFormatter([str(int(n)) for n in sizes]))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        span = np.log10(sizes[-1] / sizes[0]) if len(sizes) > 1 else 1.0
        pad = 10 ** (0.08 * span + JITTER_DECADES)
        ax.set_xlim(sizes[0] / pad, sizes[-1] * pad)
        ax.grid(alpha=0.3)
        if facet is not None:
            ax.set_title(f"{facet} = {value}", fontsize=9)
    for i, ax in enumerate(axes[:len(facets)]):
        if i % ncols == 0:
            ax.set_ylabel(METRIC_LABELS.get(metric, metric.replace("_", " ")))
        if i + ncols >= len(facets):  # no facet below this one
            ax.set_xlabel("training architectures (log scale)")
    title = title if title is not None else _default_title(df, stats, constant, metric)
    title = _wrap(title, int(CHARS_PER_INCH * aw * ncols))
    if facet is None:
        axes[0].set_title(title, fontsize=10)
    else:
        fig.suptitle(title, fontsize=10)

    if colour_cols:
        handles, labels = axes[0].get_legend_handles_labels()
        for ax in axes[1:len(facets)]:  # entries missing from the first facet
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        order = {_label(k): i for i, k in enumerate(keys)}
        handles, labels = zip(*sorted(zip(handles, labels), key=lambda hl: order[hl[1]]))
        legend = fig.legend(handles, labels, loc="outside right upper", fontsize=8,
                            title=" · ".join(colour_cols), title_fontsize=8, frameon=False,
                            ncols=math.ceil(len(labels) / LEGEND_ROWS))
        _grow_for(fig, legend)
    return fig


def _default_title(df: pd.DataFrame, stats: pd.DataFrame, constant: list[str],
                   metric: str) -> str:
    """``"<columns of one value>: <metric> vs train size (mean ± 1 std over N seeds)"``."""
    fixed = [str(df[c].iloc[0]) for c in TITLE_COLUMNS
             if c in df and c not in constant and df[c].nunique() == 1]
    fixed += [str(stats[c].iloc[0]) for c in constant]
    counts = stats["count"].unique()
    seeds = (f"{counts[0]} seed{'s' if counts[0] > 1 else ''}" if len(counts) == 1 else
             f"{counts.min()}-{counts.max()} seeds")
    what = METRIC_LABELS.get(metric, metric.replace("_", " ")).split(" (")[0]
    head = f"{' · '.join(fixed)}: " if fixed else ""
    return f"{head}{what} vs train size (mean ± 1 std over {seeds})"


def _wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` characters, broken after ``": "`` first."""
    if len(text) <= width:
        return text
    head, sep, tail = text.partition(": ")
    parts = [head + sep.rstrip(), tail] if sep else [text]
    return "\n".join(textwrap.fill(p, width) for p in parts)


def _grow_for(fig, legend) -> None:
    """Widen (and if needed heighten) ``fig`` by the legend's size, so that the constrained
    layout makes room for the legend without shrinking the axes."""
    fig.draw_without_rendering()
    box = legend.get_window_extent()
    w, h = fig.get_size_inches()
    fig.set_size_inches(w + box.width / fig.dpi + 0.2, max(h, box.height / fig.dpi + 0.8))


def plot_metric_vs_train_size(df: pd.DataFrame, path: str | Path,
                              metric: str = "kendall_tau",
                              lines: Sequence[str] = ("features", "predictor"),
                              title: str | None = None) -> Path:
    """One line per ``lines`` group (default features, predictor): mean of ``metric`` over
    seeds against the train size (log scale, ticks at the train sizes), with a band of ± one
    standard deviation (:func:`metric_vs_train_size_figure`). Writes a PNG and returns its
    path.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install 'nasperf[plots]'``).
    ValueError
        A column is missing or no row has a finite value of ``metric``.
    """
    fig = metric_vs_train_size_figure(df, metric, lines, title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
