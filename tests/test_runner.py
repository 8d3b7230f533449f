"""Benchmark runner and CLI on a small synthetic benchmark (and once on the real files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from nasperf.eval.cli import main
from nasperf.eval.features import build_features
from nasperf.eval.runner import run_benchmark, split, summarise


def test_split_is_disjoint_and_deterministic():
    tr, te = split(100, 10, seed=3)
    assert len(tr) == 10 and len(te) == 90 and not set(tr) & set(te)
    assert np.array_equal(tr, split(100, 10, seed=3)[0])
    assert len(split(100, 10, seed=3, test=20)[1]) == 20
    with pytest.raises(ValueError, match="train size"):
        split(100, 100, seed=0)


def test_build_features_names_and_cache(toy_bench, tmp_path):
    X, names = build_features(toy_bench, "onehot+zc", cache_dir=tmp_path)
    assert X.shape == (300, len(names)) and names[-2:] == ["zc:synflow", "zc:params"]
    assert len(list(tmp_path.glob("*.npz"))) == 2
    X2, names2 = build_features(toy_bench, "onehot+zc", cache_dir=tmp_path)
    assert np.array_equal(X, X2, equal_nan=True) and names == names2
    with pytest.raises(ValueError, match="unknown feature family"):
        build_features(toy_bench, "nope")


def test_run_benchmark_grid_resume_and_plot(toy_bench, tmp_path):
    kw = dict(features=["zc", "onehot"], predictors=["random_forest"], train_sizes=[20, 60],
              seeds=2, out=tmp_path, bench=toy_bench, progress=False)
    df = run_benchmark("nb201", **kw)
    assert len(df) == 2 * 2 * 2
    assert {"kendall_tau", "spearman", "fit_seconds", "n_test"} <= set(df.columns)
    assert (df["n_test"] == 300 - df["train_size"]).all()
    # the informative proxy beats the one-hot at n=60
    tau = df.groupby(["features", "train_size"])["kendall_tau"].mean()
    assert tau[("zc", 60)] > 0.4
    assert (tmp_path / "tau_nb201_toy.png").stat().st_size > 1000
    mtime = (tmp_path / "results.csv").stat().st_mtime_ns
    again = run_benchmark("nb201", **kw)  # everything done: nothing re-run
    assert (tmp_path / "results.csv").stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(again[df.columns], df, check_dtype=False)
    table = summarise(df)
    assert table.shape == (2, 2) and "±" in table.iloc[0, 0]


def test_cli_benchmark_on_real_data(data_dir, tmp_path, capsys):
    rc = main(["benchmark", "--features", "zc", "--predictors", "lightgbm",
               "--train-sizes", "32", "--seeds", "1", "--test", "500", "--out", str(tmp_path),
               "--data-dir", str(data_dir)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Kendall tau" in out and "lightgbm" in out
    assert (tmp_path / "results.csv").is_file() and list(tmp_path.glob("*.png"))


def test_cli_info_and_data_where(data_dir, capsys):
    assert main(["info", "--space", "nb201", "--data-dir", str(data_dir)]) == 0
    assert "9445" in capsys.readouterr().out.replace(",", "")
    assert main(["data", "where", "--data-dir", str(data_dir)]) == 0
    assert "[x] nb201-graf/nb201_valid_nets.csv" in capsys.readouterr().out
