"""Tests of eval.shap_attr: explainers, group aggregation, plots, CLI (tiny synthetic data)."""

from __future__ import annotations

import argparse
import logging
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor

from nasperf.eval.cli.shap import add_parser, run
from nasperf.eval.shap_attr import (
    ShapResult,
    choose_explainer,
    default_feature_group,
    find_tree_model,
    plot_bar,
    plot_summary,
    shap_attributions,
)

NAMES = ["zc:synflow", "zc:snip", "graf:min_path_len[a]", "graf:op_count[a]"]


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 5 * X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.1, n)
    return X, y


@pytest.fixture(scope="module")
def forest():
    X, y = data()
    return RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y), X


def test_tree_explainer_finds_the_strong_feature(forest):
    model, X = forest
    res = shap_attributions(model, X, NAMES)
    assert res.explainer == "tree" and res.values.shape == X.shape
    assert res.mean_abs().index[0] == "zc:synflow"
    np.testing.assert_allclose(res.base_value + res.values.sum(axis=1), model.predict(X),
                               atol=1e-6)


@pytest.mark.parametrize("lib", ["lightgbm", "xgboost"])
def test_boosting_libraries(lib):
    X, y = data()
    if lib == "lightgbm":
        from lightgbm import LGBMRegressor
        model = LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y)
    else:
        from xgboost import XGBRegressor
        model = XGBRegressor(n_estimators=20).fit(X, y)
    res = shap_attributions(model, X[:30], NAMES)
    assert res.explainer == "tree" and res.mean_abs().index[0] == "zc:synflow"


def test_callable_model_uses_the_permutation_explainer(caplog):
    X, _ = data(20)
    with caplog.at_level(logging.INFO, logger="nasperf.eval.shap_attr"):
        res = shap_attributions(lambda Z: 5 * Z[:, 0] + 0.5 * Z[:, 1], X, NAMES, background=8,
                                progress=False)
    assert res.explainer == "permutation"
    assert re.search(r"about \d+ s for 20 rows \(45 evaluations of 8 background rows",
                     caplog.text)
    assert res.mean_abs().index[0] == "zc:synflow"
    assert res.mean_abs()["graf:op_count[a]"] == 0.0
    pred = 5 * X[:, 0] + 0.5 * X[:, 1]
    np.testing.assert_allclose(res.base_value + res.values.sum(axis=1), pred, atol=1e-6)
    again = shap_attributions(lambda Z: 5 * Z[:, 0] + 0.5 * Z[:, 1], X, NAMES, background=8,
                              progress=False)
    np.testing.assert_array_equal(again.values, res.values)


def test_kernel_explainer_and_bounded_evaluations():
    X, _ = data(12)
    calls = []

    def f(Z):
        calls.append(len(Z))
        return 5 * Z[:, 0] + 0.5 * Z[:, 1]

    res = shap_attributions(f, X, NAMES, background=4, explainer="kernel", max_evals=30,
                            progress=False)
    assert res.explainer == "kernel" and res.mean_abs().index[0] == "zc:synflow"
    np.testing.assert_allclose(res.base_value + res.values.sum(axis=1), f(X), atol=1e-6)
    calls.clear()
    shap_attributions(f, X[:3], NAMES, background=4, max_evals=18, progress=False)
    # the cost probe (twice one permutation of the first row: 9 evaluations of 4 rows)
    # plus at most 18 evaluations of 4 rows per explained row (and the row itself)
    assert sum(calls) <= 2 * (9 * 4 + 4 + 1) + 3 * (18 * 4 + 4 + 1)


def test_progress_bar_over_rows(capsys):
    X, _ = data(6)
    shap_attributions(lambda Z: Z[:, 0], X, NAMES, background=3)
    assert "SHAP (permutation)" in capsys.readouterr().err


def test_explainer_arguments_are_checked(forest):
    model, X = forest
    f = lambda Z: Z[:, 0]  # noqa: E731
    with pytest.raises(ValueError, match="tree explainer does not apply"):
        shap_attributions(f, X[:5], NAMES, explainer="tree")
    with pytest.raises(ValueError, match="unknown explainer"):
        shap_attributions(f, X[:5], NAMES, explainer="exact")
    with pytest.raises(ValueError, match="below one permutation"):
        shap_attributions(f, X[:5], NAMES, max_evals=8)
    with pytest.raises(ValueError, match="max_rows must be >= 1"):
        shap_attributions(f, X[:5], NAMES, max_rows=0)
    with pytest.raises(ValueError, match="background must be >= 1"):
        shap_attributions(f, X[:5], NAMES, background=0)
    assert shap_attributions(model, X[:5], NAMES, explainer="permutation", background=3,
                             progress=False).explainer == "permutation"
    assert choose_explainer(model, X) == "tree" and choose_explainer(f, X) == "permutation"


class Wrapper:
    """A predictor that keeps its fitted model in ``estimator_`` (duck-typed unwrapping)."""

    def __init__(self, model, scale=1.0):
        self.estimator_, self.scale = model, scale

    def predict(self, X):
        return self.scale * self.estimator_.predict(X)


def test_wrapped_tree_is_unwrapped_unless_it_transforms(forest, caplog):
    model, X = forest
    assert find_tree_model(Wrapper(model)) is model and find_tree_model(object()) is None
    assert shap_attributions(Wrapper(model), X[:10], NAMES).explainer == "tree"
    with caplog.at_level(logging.WARNING, logger="nasperf.eval.shap_attr"):
        res = shap_attributions(Wrapper(model, scale=2.0), X[:6], NAMES, background=5)
    assert res.explainer == "permutation" and "differs from its inner" in caplog.text


def test_tree_predictor_with_imputed_nan():
    from nasperf.predictors import get_predictor

    X, y = data(80)
    X[3, 2] = np.nan
    p = get_predictor("lightgbm", params={"n_estimators": 20}, random_state=0).fit(X, y)
    res = shap_attributions(p, X, NAMES)
    assert res.explainer == "tree"
    np.testing.assert_allclose(res.base_value + res.values.sum(axis=1), p.predict(X),
                               atol=1e-6)


def test_groups():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 4))
    res = ShapResult(values, 0.0, values, NAMES,
                     groups={n: default_feature_group(n) for n in NAMES})
    table = res.group_importance()
    assert set(table.index) == {"zc", "graf.min_path_len", "graf.op_count"}
    assert table.loc["zc", "n_features"] == 2
    per_feature = np.abs(values).mean(axis=0)
    assert table.loc["zc", "sum_mean_abs_shap"] == pytest.approx(per_feature[:2].sum())
    assert table.loc["zc", "mean_abs_shap"] == pytest.approx(
        np.abs(values[:, :2].sum(axis=1)).mean())
    assert table["sum_mean_abs_shap"].sum() == pytest.approx(per_feature.sum())
    custom = res.group_importance({"proxies": NAMES[:2], "graf": NAMES[2:3]})
    assert custom.loc["other", "n_features"] == 1 and custom.loc["graf", "n_features"] == 1
    by_fn = res.group_importance(lambda n: n.split(":")[0])
    assert set(by_fn.index) == {"zc", "graf"}
    with pytest.raises(ValueError, match="unknown feature"):
        res.group_importance({"g": ["nope"]})
    with pytest.raises(ValueError, match="is in groups"):
        res.group_importance({"a": NAMES[:1], "b": NAMES[:1]})
    with pytest.raises(ValueError, match="not in"):
        res.group_importance({"a": [4]})


def test_groups_by_column_index_the_smallest_group_wins():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(30, 4))
    res = ShapResult(values, 0.0, values, NAMES)
    nested = {"zc": [0, 1], "graf": [2, 3], "graf.min_path_len": [2], "graf.op_count": [3]}
    table = res.group_importance(nested)
    assert list(table.sort_index().index) == ["graf.min_path_len", "graf.op_count", "zc"]
    assert table.loc["zc", "mean_abs_shap"] == pytest.approx(
        np.abs(values[:, :2].sum(axis=1)).mean())
    families = res.group_importance({"zc": [0, 1], "graf": [2, 3]})
    assert families.loc["graf", "mean_abs_shap"] == pytest.approx(
        np.abs(values[:, 2:].sum(axis=1)).mean())
    assert res.group_importance({"zc": np.array([0, 1])}).loc["other", "n_features"] == 2


def test_default_feature_group():
    cases = {"zc:synflow": "zc", "synflow": "zc", "ntk": "zc",
             "graf:op_count[skip_connect]": "graf.op_count",
             "graf:normal:min_path_len[a]": "graf.min_path_len",
             "graf:normal_op_count[a]": "graf.op_count",
             "graf_all:reduce_max_path_len_input1[a]": "graf_all.max_path_len",
             "max_path_len_input0[a]": "graf.max_path_len",
             "graf:avg_in_degree[a]": "graf.node_degree", "onehot:edge_0": "onehot",
             "path:min_path_len": "path", "flops_params:flops": "flops_params",
             "mystery": "mystery"}
    for name, group in cases.items():
        assert default_feature_group(name) == group, name
    assert default_feature_group("mine", proxies=frozenset({"mine"})) == "zc"


@pytest.mark.parametrize("space,families", [("nb201", "graf_all+zc+onehot"),
                                            ("nb301", "graf+flops_params")])
def test_groups_of_build_features_and_the_name_fallback_agree(space, families):
    from nasperf.eval.features import build_features
    from nasperf.eval.shap_attr import _group_map
    from nasperf.searchspaces import Benchmark, get_space

    sp = get_space(space)
    archs = list(dict.fromkeys(sp.sample(12, seed=0)))
    index = pd.Index([sp.to_string(a) for a in archs])
    proxies = pd.DataFrame({"synflow": np.arange(len(archs), dtype=float),
                            "flops": np.ones(len(archs))}, index=index)
    bench = Benchmark(sp, "toy", "test", "y", archs, np.zeros(len(archs)), proxies, proxies)
    _, names, groups = build_features(bench, families)
    by_groups = _group_map(names, groups)
    assert by_groups == _group_map(names, None)
    fam = families.split("+")[0]
    assert {by_groups[names[i]] for i in groups[fam]} == {
        g for g in groups if g.startswith(f"{fam}.")}


def test_plots_are_written(forest, tmp_path):
    model, X = forest
    res = shap_attributions(model, X, NAMES)
    before = plt.get_fignums()
    for fn, name in ((plot_summary, "s.png"), (plot_bar, "b.png")):
        path = fn(res, tmp_path / "sub" / name, title="t")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert plt.get_fignums() == before  # no pyplot figure left open


def test_input_checks(forest):
    model, X = forest
    with pytest.raises(ValueError, match="3 feature names for 4 columns"):
        shap_attributions(model, X, NAMES[:3])
    with pytest.raises(ValueError, match="unique"):
        shap_attributions(model, X, ["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="2-D"):
        shap_attributions(model, X[:, 0])
    with pytest.raises(ValueError, match="not callable"):
        shap_attributions(object(), X[:3], background=2, progress=False)
    res = shap_attributions(model, pd.DataFrame(X, columns=list("abcd")), max_rows=7)
    assert res.feature_names == list("abcd") and res.values.shape == (7, 4)


def test_cli_run_with_an_injected_benchmark(tmp_path, capsys):
    from nasperf.searchspaces import Benchmark, get_space

    space = get_space("nb201")
    X, y = data(150)
    archs = space.sample(150, seed=0)
    proxies = pd.DataFrame(X, columns=["synflow", "snip", "nwot", "zen"])
    frame = proxies.set_axis([f"{i}:{space.to_string(a)}" for i, a in enumerate(archs)])
    bench = Benchmark(space, "cifar10", "test", "y", archs, y, proxies, frame)
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["shap", "--features", "zc", "--predictor", "random_forest",
                              "--train-size", "100", "--explain-size", "30",
                              "--out", str(tmp_path)])
    assert args.func is run
    assert run(args, bench=bench) == 0
    out = capsys.readouterr().out
    assert "SHAP (tree) on 30 test architectures" in out and "zc:synflow" in out
    assert re.search(r"^zc\s", out, re.M)  # the group of build_features
    assert len(list(tmp_path.glob("shap_*.png"))) == 2
    args.features = "graf+zc"
    assert run(args, bench=bench) == 0
    out = capsys.readouterr().out
    tables = out.split("## Top")[0].split("## Feature families")
    row = r"^(\S+)\s+\d\.\d{4}\s"
    assert set(re.findall(row, tables[0], re.M)) == {
        "zc", "graf.op_count", "graf.min_path_len", "graf.max_path_len", "graf.node_degree"}
    assert set(re.findall(row, tables[1], re.M)) == {"zc", "graf"}
    args.train_size = 150
    with pytest.raises(ValueError, match="leaves no test"):
        run(args, bench=bench)


def _cli_bench(n=150):
    from nasperf.searchspaces import Benchmark, get_space

    space = get_space("nb201")
    X, y = data(n)
    archs = space.sample(n, seed=0)
    proxies = pd.DataFrame(X, columns=["synflow", "snip", "nwot", "zen"])
    frame = proxies.set_axis([f"{i}:{space.to_string(a)}" for i, a in enumerate(archs)])
    return Benchmark(space, "cifar10", "test", "y", archs, y, proxies, frame)


def _parse(*argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    return parser.parse_args(["shap", *argv]), sub.choices["shap"]


def test_cli_model_agnostic_predictor(tmp_path, capsys):
    args, _ = _parse("--predictor", "gp", "--train-size", "100", "--out", str(tmp_path),
                     "--no-progress")
    assert args.explain_size is None and args.background == 20
    assert run(args, bench=_cli_bench()) == 0
    out = capsys.readouterr().out
    assert "SHAP (permutation) on 50 test architectures" in out and "zc:synflow" in out


@pytest.mark.parametrize("argv,message", [
    (("--predictor", "nope"), "--predictor: unknown predictor 'nope'; known: gp"),
    (("--features", "zc+nope"), "--features: unknown feature family 'nope'"),
    (("--features", "+"), "names no feature family"),
    (("--space", "tnb101_micro", "--dataset", "cifar10"), "choose one of: class_scene"),
])
def test_cli_validates_arguments_before_loading_data(argv, message, monkeypatch):
    import nasperf.searchspaces as searchspaces

    def no_loading(*a, **k):
        raise AssertionError("data loaded before the arguments were checked")

    monkeypatch.setattr(searchspaces, "load_benchmark", no_loading)
    args, _ = _parse(*argv)
    with pytest.raises(ValueError, match=re.escape(message)):
        run(args)


@pytest.mark.parametrize("option", ["--explain-size", "--background", "--max-evals",
                                    "--train-size", "--max-display"])
def test_cli_sizes_below_one_are_rejected(option, capsys):
    with pytest.raises(SystemExit):
        _parse(option, "0")
    assert f"{option}: must be a positive integer (>= 1), got 0" in capsys.readouterr().err
    args, _ = _parse()
    setattr(args, option[2:].replace("-", "_"), 0)  # a Namespace built in code
    with pytest.raises(ValueError, match=f"{option} must be >= 1, got 0"):
        run(args)


def test_cli_every_option_has_a_help_text():
    _, parser = _parse()
    for action in parser._actions:
        assert action.help and action.help.strip(), action.option_strings
    text = " ".join(parser.format_help().split())
    assert "(default: True)" not in text
    assert "1000 with the exact tree explainer, 100 with a model-agnostic one" in text
    assert "``" not in text and ":func:" not in text


def test_bench_shap_script_runs(data_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_shap.py"
    proc = subprocess.run([sys.executable, str(script), "--predictors", "lightgbm,nope",
                           "--data-dir", str(data_dir), "--extra", "--train-size", "50",
                           "--explain-size", "10"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1, proc.stderr[-2000:]  # the unknown predictor fails
    assert re.match(r"lightgbm: \d+\.\d s, exit 0, within 120 s \| # lightgbm on zc", lines[0])
    assert "SHAP (tree) on 10 test architectures" in lines[0]
    assert lines[1].startswith("nope: ") and "exit 2, NOT within" in lines[1]
    assert "unknown predictor 'nope'" in lines[1]
