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
