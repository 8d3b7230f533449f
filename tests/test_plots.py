"""Plots use matplotlib's object API (no pyplot, no backend choice) and matplotlib is an
optional extra: explicit plots name it, the benchmark runner writes its tables without it."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ["nasperf", "searchspaces", "encoders", "graphfeatures", "zerocost", "predictors",
           "eval"]


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Make every ``import matplotlib...`` fail, as if it were not installed."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)


def results(n_lines: int = 2) -> pd.DataFrame:
    rows = [dict(space="nb201", dataset="cifar10", features=f"f{i}", predictor="p",
                 train_size=n, seed=s, kendall_tau=0.1 * i + 0.001 * n + 0.01 * s)
            for i in range(n_lines) for n in (32, 128) for s in range(2)]
    return pd.DataFrame(rows)


def test_library_never_chooses_a_backend():
    for package in LIBRARY:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for call in ("matplotlib.use(", "switch_backend(", "import matplotlib.pyplot"):
                assert call not in text, f"{path.relative_to(ROOT)} has {call}"


def test_plot_needs_no_pyplot(tmp_path):
    code = (
        "import sys, pandas as pd\n"
        "from nasperf.eval.plots import plot_metric_vs_train_size\n"
        f"df = pd.read_csv({str(tmp_path / 'r.csv')!r})\n"
        f"p = plot_metric_vs_train_size(df, {str(tmp_path / 'tau.png')!r})\n"
        "print(p.stat().st_size, 'matplotlib.pyplot' in sys.modules)\n")
    results(12).to_csv(tmp_path / "r.csv", index=False)  # > 10 lines: the tab20 cycle
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    size, pyplot = proc.stdout.split()
    assert int(size) > 1000 and pyplot == "False"
    assert (tmp_path / "tau.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explicit_plots_name_the_extra(no_matplotlib, tmp_path):
    from nasperf.eval.plots import plot_metric_vs_train_size
    from nasperf.eval.shap_attr import ShapResult, plot_bar, plot_summary

    with pytest.raises(ImportError, match=r"pip install 'nasperf\[plots\]'"):
        plot_metric_vs_train_size(results(), tmp_path / "tau.png")
    res = ShapResult(values=np.ones((3, 2)), base_value=0.0, data=np.ones((3, 2)),
                     feature_names=["a", "b"], groups={"a": "g", "b": "g"})
    for plot in (plot_bar, plot_summary):
        with pytest.raises(ImportError, match=r"nasperf\[plots\]"):
            plot(res, tmp_path / "shap.png")
    assert not list(tmp_path.glob("*.png"))


def test_runner_writes_tables_without_matplotlib(no_matplotlib, toy_bench, tmp_path, caplog):
    from nasperf.eval.runner import run_benchmark

    with caplog.at_level(logging.WARNING, logger="nasperf.eval.runner"):
        df = run_benchmark("nb201", features=["zc"], predictors=["random_forest"],
                           train_sizes=[20, 40], seeds=2, out=tmp_path, bench=toy_bench,
                           progress=False)
    assert len(df) == 4 and (tmp_path / "results.csv").is_file()
    assert (tmp_path / "results.json").is_file() and not list(tmp_path.glob("*.png"))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "nasperf[plots]" in warnings[0].getMessage()


@pytest.mark.data
def test_cli_benchmark_without_matplotlib(no_matplotlib, data_dir, tmp_path, capsys, caplog):
    from nasperf.eval.cli import main

    with caplog.at_level(logging.WARNING):
        rc = main(["benchmark", "--features", "zc", "--predictors", "random_forest",
                   "--train-sizes", "32", "--seeds", "1", "--test", "300", "--out",
                   str(tmp_path), "--data-dir", str(data_dir)])
    assert rc == 0 and "Kendall tau" in capsys.readouterr().out
    assert (tmp_path / "results.csv").is_file() and not list(tmp_path.glob("*.png"))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING
                and "matplotlib" in r.getMessage()]
    assert len(warnings) == 1 and "nasperf[plots]" in warnings[0].getMessage()


# -- readability ---------------------------------------------------------------------------------
SIZES = (32, 128, 1024)


def grid(n_features: int, n_predictors: int, seeds: int = 2) -> pd.DataFrame:
    """Benchmark rows: ``n_features x n_predictors`` lines at the train sizes 32/128/1024."""
    rows = [dict(space="nb201", dataset="cifar10", features=f"f{i}", predictor=f"p{j}",
                 train_size=n, seed=s, kendall_tau=0.4 + 0.01 * i + 0.002 * j
                 + 0.05 * np.log2(n / 32) / 5 + 0.01 * s)
            for i in range(n_features) for j in range(n_predictors) for n in SIZES
            for s in range(seeds)]
    return pd.DataFrame(rows)


def _figure(df, **kw):
    pytest.importorskip("matplotlib")
    from nasperf.eval.plots import metric_vs_train_size_figure

    fig = metric_vs_train_size_figure(df, **kw)
    fig.draw_without_rendering()
    return fig


def _data_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (12, 1), (40, 1), (4, 10), (8, 5)])
def test_x_ticks_are_the_train_sizes(shape):
    fig = _figure(grid(*shape))
    for ax in _data_axes(fig):
        assert ax.get_xscale() == "log"
        assert list(ax.get_xticks()) == list(SIZES)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["32", "128", "1024"]
        assert not len(ax.xaxis.get_minorticklocs())


@pytest.mark.parametrize("shape", [(3, 1), (12, 1), (40, 1), (4, 10), (8, 5)])
def test_legend_fits_inside_the_figure(shape):
    fig = _figure(grid(*shape))
    (legend,) = fig.legends
    box, page = legend.get_window_extent(), fig.bbox
    assert box.x0 >= page.x0 and box.y0 >= page.y0
    assert box.x1 <= page.x1 + 1 and box.y1 <= page.y1 + 1
    n_lines = shape[1] if shape[0] > 1 and shape[1] > 1 else shape[0] * shape[1]
    assert len(legend.get_texts()) == n_lines
    for ax in _data_axes(fig):  # the legend is beside the axes, not over them
        assert not box.overlaps(ax.get_window_extent())


@pytest.mark.parametrize("shape", [(40, 1), (4, 10), (8, 5)])
def test_axes_do_not_shrink_with_many_lines(shape):
    fig = _figure(grid(*shape))
    axes = _data_axes(fig)
    rows = len({ax.get_subplotspec().rowspan.start for ax in axes})
    cols = len({ax.get_subplotspec().colspan.start for ax in axes})
    width, height = fig.bbox.width, fig.bbox.height
    for ax in axes:
        box = ax.get_window_extent()
        assert box.height >= 0.5 * height / rows, "axes squeezed into a strip"
        assert box.width >= 0.35 * width / cols
        assert box.height >= 150 and box.width >= 200  # pixels at the figure's dpi


def test_many_lines_of_two_columns_become_facets_with_one_legend():
    fig = _figure(grid(4, 10))
    axes = _data_axes(fig)
    assert [ax.get_title() for ax in axes] == [f"features = f{i}" for i in range(4)]
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[-1])
    (legend,) = fig.legends
    assert legend.get_title().get_text() == "predictor"
    colours = {}  # one predictor keeps its colour in every facet
    for ax in axes:
        for line in ax.get_lines():
            colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert len(colours) == 10 and all(len(c) == 1 for c in colours.values())


@pytest.mark.parametrize("n", [2, 10, 11, 20, 40])
def test_lines_are_told_apart(n):
    fig = _figure(grid(n, 1))
    (ax,) = _data_axes(fig)
    lines = ax.get_lines()
    assert len(lines) == n
    styles = {(line.get_color(), line.get_linestyle()) for line in lines}
    assert len(styles) == n
    if n <= 20:  # distinct colours, not only distinct dashes
        assert len({line.get_color() for line in lines}) == n
    if n >= 2:  # equal values would hide each other without markers and a small x shift
        assert len({line.get_marker() for line in lines}) >= min(n, 10)
        assert len({round(float(line.get_xdata()[0]), 6) for line in lines}) == n


def test_bands_are_light_and_edgeless():
    fig = _figure(grid(3, 1))
    (ax,) = _data_axes(fig)
    assert len(ax.collections) == 3
    for band in ax.collections:
        assert band.get_alpha() <= 0.15
        assert all(w == 0 for w in band.get_linewidths())


def test_labels_say_what_is_plotted():
    fig = _figure(grid(3, 1))
    (ax,) = _data_axes(fig)
    assert ax.get_ylabel().startswith("Kendall τ")
    assert "training architectures" in ax.get_xlabel()
    # the constant columns are in the title, the varying one is the legend's title
    assert ax.get_title().startswith("nb201 · cifar10 · p0:")
    assert "2 seeds" in ax.get_title()
    assert fig.legends[0].get_title().get_text() == "features"
    assert fig.legends[0].get_texts()[0].get_text() == "f2"  # best line first


def test_bad_input_names_the_problem():
    pytest.importorskip("matplotlib")
    from nasperf.eval.plots import metric_vs_train_size_figure

    with pytest.raises(ValueError, match="spearman"):
        metric_vs_train_size_figure(grid(2, 1), metric="spearman")
    nan = grid(2, 1).assign(kendall_tau=np.nan)
    with pytest.raises(ValueError, match="no finite value"):
        metric_vs_train_size_figure(nan)
