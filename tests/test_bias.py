"""Tests of eval.bias: architectural quantities, bias metrics, the f/(b+C) correction, CLI."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from nasperf.eval.bias import (
    ARCH_QUANTITIES,
    PAPER_TABLE4,
    QUANTITY_DOCS,
    BiasCorrector,
    bias_metrics,
    compute_quantities,
    corr_rows,
    correction_table,
    default_c_grid,
    op_kind,
)
from nasperf.eval.cli.bias import add_parser, run
from nasperf.eval.metrics import kendall_tau, pearson, spearman
from nasperf.searchspaces import get_space

SPACE = get_space("nb201")
ARCH = SPACE.parse("(0, 2, 3, 2, 3, 1)")  # skip, conv3, conv3 | conv1, conv1, none; node 2 dead
DEAD = SPACE.parse("|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|")


# -- quantities ------------------------------------------------------------------------------------
def test_op_kind():
    kinds = {"none": "none", "input": "io", "output": "io", "input1": "io",
             "nor_conv_3x3": "conv", "conv3x3-bn-relu": "conv", "sep_conv_5x5": "conv",
             "avg_pool_3x3": "pool", "maxpool3x3": "pool", "skip_connect": "skip",
             "identity": "skip", "mystery": "other"}
    for op, kind in kinds.items():
        assert op_kind(op) == kind, op


def test_quantities_of_known_cells():
    q = {name: f(ARCH, SPACE) for name, f in ARCH_QUANTITIES.items() if name != "params"}
    assert q == {"cell_size": 5, "conv_pool": 4, "n_conv": 4, "n_pool": 0, "n_skip": 1,
                 "cell_size_live": 3, "conv_pool_live": 2, "n_skip_live": 1}
    # the conv on edge 0->1 is dead: written cell counts it, the live view does not
    assert ARCH_QUANTITIES["cell_size"](DEAD, SPACE) == 2
    assert ARCH_QUANTITIES["cell_size_live"](DEAD, SPACE) == 1
    assert ARCH_QUANTITIES["conv_pool"](DEAD, SPACE) == 0
    assert ARCH_QUANTITIES["conv_pool_live"](DEAD, SPACE) == -1
    assert set(QUANTITY_DOCS) == set(ARCH_QUANTITIES)


def test_params_match_the_benchmark_value():
    # zc_nasbench201.json, cifar10, "(0, 2, 3, 2, 3, 1)": params score 0.615386 (millions)
    assert ARCH_QUANTITIES["params"](ARCH, SPACE) == pytest.approx(0.615386, abs=1e-6)


def test_compute_quantities():
    df = compute_quantities([ARCH, "(0, 2, 3, 2, 3, 1)", DEAD], "nb201", ("cell_size", "n_skip"))
    assert df.shape == (3, 2) and df["cell_size"].tolist() == [5, 5, 2]
    with pytest.raises(ValueError, match="unknown quantity"):
        compute_quantities([ARCH], SPACE, ("depth",))


# -- bias metrics ----------------------------------------------------------------------------------
def test_bias_metrics_layout_and_values():
    archs = SPACE.sample(80, seed=1)
    q = compute_quantities(archs, SPACE, ("cell_size", "conv_pool"))
    rng = np.random.default_rng(0)
    scores = {"big": q["cell_size"].to_numpy() + rng.normal(0, 0.1, 80),
              "noise": rng.normal(size=80)}
    y = rng.normal(size=80)
    table = bias_metrics(scores, archs, SPACE, quantities=("cell_size", "conv_pool"), y=y)
    assert list(table.index) == ["big", "noise", "target"]
    assert list(table.columns) == ["cell_size", "conv_pool"]
    assert table.loc["big", "cell_size"] > 0.99
    noise_bias = pearson(q["conv_pool"], scores["noise"])
    assert table.loc["noise", "conv_pool"] == pytest.approx(noise_bias)
    assert table.loc["target", "cell_size"] == pytest.approx(pearson(q["cell_size"], y))
    # precomputed quantities and other methods
    for method, f in (("spearman", spearman), ("kendall", kendall_tau)):
        t = bias_metrics(pd.DataFrame(scores), quantities=q, method=method)
        assert t.loc["noise", "cell_size"] == pytest.approx(f(q["cell_size"], scores["noise"]))
    one = bias_metrics(scores["big"], quantities=q)
    assert list(one.index) == ["score"]


def test_bias_metrics_errors():
    with pytest.raises(ValueError, match="archs and space"):
        bias_metrics(np.ones(3))
    with pytest.raises(ValueError, match="3 scores but 2 rows"):
        bias_metrics(np.arange(3.0), quantities=pd.DataFrame({"cell_size": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="unknown method"):
        bias_metrics(np.arange(3.0), quantities=pd.DataFrame({"x": [1.0, 2, 3]}), method="r2")
    with pytest.raises(ValueError, match="NaN"):
        bias_metrics([1.0, np.nan, 3.0, 2.0], quantities=pd.DataFrame({"x": [1.0, 2, 3, 4]}))


# -- correction ------------------------------------------------------------------------------------
def synthetic(n=400, seed=0, c_true=3.0):
    """f = acc * (b + c_true): dividing by b + c_true recovers the accuracy exactly."""
    rng = np.random.default_rng(seed)
    b = rng.integers(1, 7, n).astype(float)
    acc = 70 + 5 * b + rng.normal(0, 6, n)  # accuracy itself has a cell-size bias
    return acc * (b + c_true), b, acc


def test_corr_rows_matches_the_metric_functions():
    f, b, acc = synthetic(60)
    grid = np.array([0.5, 3.0, 40.0])
    for method, fn in (("pearson", pearson), ("spearman", spearman), ("kendall", kendall_tau)):
        expected = [fn(acc, f / (b + c)) for c in grid]
        np.testing.assert_allclose(corr_rows(f, b, grid, acc, method), expected, atol=1e-12)


def test_strategies_on_synthetic_data():
    f, b, acc = synthetic()
    perf = BiasCorrector(strategy="performance").fit(f, acc, bias=b)
    assert perf.C_ == pytest.approx(3.0, abs=0.02)
    assert perf.perf_after_ == pytest.approx(1.0, abs=1e-6)
    assert perf.perf_after_ > perf.perf_before_
    np.testing.assert_allclose(perf.transform(f, bias=b), acc, rtol=1e-3)

    eq = BiasCorrector(strategy="equalize").fit(f, acc, bias=b)
    assert eq.target_bias_ == pytest.approx(pearson(b, acc))
    assert eq.bias_after_ == pytest.approx(eq.target_bias_, abs=0.01)

    mini = BiasCorrector(strategy="minimize").fit(f, bias=b)
    assert abs(mini.bias_after_) < 0.01 < abs(mini.bias_before_)
    assert np.isnan(mini.perf_before_) and np.isnan(mini.target_bias_)
    # every candidate keeps all denominators positive by default
    assert (mini.c_grid_ > -b.min()).all() and mini.c_grid_.size > 100


def test_fixed_C_and_fit_transform():
    f, b, acc = synthetic(50)
    bc = BiasCorrector(C=3.0)
    np.testing.assert_allclose(bc.fit_transform(f, acc, bias=b), acc)
    assert bc.C_ == 3.0 and bc.perf_after_ == pytest.approx(1.0)
    assert clone(bc).get_params()["C"] == 3.0


def test_architectures_as_bias():
    archs = SPACE.sample(40, seed=3)
    b = compute_quantities(archs, SPACE, ("cell_size",))["cell_size"].to_numpy()
    f = (b + 2) * np.linspace(1, 2, 40)
    bc = BiasCorrector(quantity="cell_size", space="nb201", C=2.0).fit(f, bias=archs)
    np.testing.assert_allclose(bc.transform(f, bias=archs), np.linspace(1, 2, 40))
    with pytest.raises(ValueError, match="set quantity and space"):
        BiasCorrector(C=2.0).fit(f, bias=archs)


def test_correction_guards():
    f, b, acc = synthetic(30)
    with pytest.raises(ValueError, match=r"b\(a\) \+ C <= 0 for"):
        BiasCorrector(C=-1.0).fit(f, bias=b)
    bc = BiasCorrector(C=0.5).fit(f, bias=b)
    with pytest.raises(ValueError, match="<= 0 for 1 architecture"):
        bc.transform([1.0, 2.0], bias=[3.0, -1.0])
    with pytest.raises(ValueError, match="needs the ground truth"):
        BiasCorrector(strategy="performance").fit(f, bias=b)
    with pytest.raises(ValueError, match="unknown strategy"):
        BiasCorrector(strategy="best").fit(f, acc, bias=b)
    with pytest.raises(ValueError, match="NaN"):
        BiasCorrector().fit(np.r_[np.nan, f[1:]], bias=b)
    with pytest.raises(ValueError, match="no candidate C"):
        BiasCorrector(c_grid=[-5.0, -2.0]).fit(f, bias=b)
    with pytest.raises(Exception, match="not fitted"):
        BiasCorrector().transform(f, bias=b)


def test_allow_sign_change_excludes_only_zero_denominators():
    f, b, acc = synthetic(100)
    bc = BiasCorrector(strategy="minimize", allow_sign_change=True).fit(f, bias=b)
    grid = bc.c_grid_
    assert grid.min() == pytest.approx(-10.0)
    assert not np.isin(np.round(grid, 9), -np.unique(b)).any()
    assert grid.size == default_c_grid().size - np.unique(b).size
    with pytest.raises(ValueError, match="== 0 for"):
        BiasCorrector(C=-2.0, allow_sign_change=True).fit(f, bias=b)


def _log_score(X):
    """Pipeline step: log of the score column, the bias column unchanged."""
    X = np.asarray(X, dtype=float)
    return np.column_stack([np.log(X[:, 0]), X[:, 1]])


def test_bias_corrector_as_a_pipeline_step():
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    f, b, acc = synthetic(200)
    X = np.column_stack([f, b])
    # the 2-D form gives exactly the numbers of the (scores, bias=) form
    two_d = BiasCorrector(strategy="performance").fit(X, acc)
    one_d = BiasCorrector(strategy="performance").fit(f, acc, bias=b)
    assert two_d.C_ == one_d.C_ == pytest.approx(3.0, abs=0.02)
    np.testing.assert_array_equal(two_d.predict(X), one_d.transform(f, bias=b))
    assert two_d.score(X, acc) == pytest.approx(pearson(acc, two_d.predict(X)))
    # columns by name, other columns ignored, and the score column need not come first
    frame = pd.DataFrame({"other": np.ones(200), "b": b, "synflow": f})
    named = BiasCorrector(strategy="performance", score_column="synflow", bias_column="b")
    np.testing.assert_array_equal(named.fit(frame, acc).predict(frame), two_d.predict(X))
    # inside a pipeline, cross-validated, cloned
    pipe = make_pipeline(FunctionTransformer(_log_score), BiasCorrector(strategy="performance"))
    pipe.fit(np.column_stack([np.exp(f / 100), b]), acc)
    assert pipe[-1].C_ > 0 and pipe.predict(np.column_stack([np.exp(f / 100), b])).shape == (200,)
    cv = KFold(4, shuffle=True, random_state=0)
    scores = cross_val_score(clone(pipe), np.column_stack([np.exp(f / 100), b]), acc, cv=cv)
    assert scores.shape == (4,) and np.all(scores > 0.9)
    raw = cross_val_score(BiasCorrector(strategy="performance"), X, acc, cv=cv)
    uncorrected = [pearson(acc[te], f[te]) for _, te in cv.split(X)]
    assert np.all(raw > np.array(uncorrected))
    copy = clone(named)
    assert copy.get_params() == named.get_params() and not hasattr(copy, "C_")


def test_bias_corrector_input_errors():
    f, b, acc = synthetic(30)
    with pytest.raises(ValueError, match="pass X of shape"):
        BiasCorrector().fit(f, acc)          # scores alone, without bias=
    with pytest.raises(ValueError, match="is a column name but X has none"):
        BiasCorrector(score_column="synflow").fit(np.column_stack([f, b]))
    with pytest.raises(ValueError, match="is not a column of X"):
        BiasCorrector(bias_column="b").fit(pd.DataFrame({"f": f, "c": b}))
    with pytest.raises(ValueError, match="out of range"):
        BiasCorrector(bias_column=5).fit(np.column_stack([f, b]))
    with pytest.raises(TypeError):
        BiasCorrector("cell_size")


def test_correction_table():
    f, b, acc = synthetic(200)
    t = correction_table(f, b, acc)
    assert list(t["strategy"]) == ["minimize", "equalize", "performance"]
    assert (t["n"] == 200).all() and (t["original_bias"] == t["original_bias"][0]).all()
    held = correction_table(f, b, acc, ["performance"], fit_index=np.arange(100))
    assert held["n"].tolist() == [100] and held["new_perf"][0] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="nothing left"):
        correction_table(f, b, acc, fit_index=np.arange(200))


# -- command line ----------------------------------------------------------------------------------
def parse(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bias", *argv])


def small_bench(n=60):
    archs = SPACE.sample(n, seed=0)
    q = compute_quantities(archs, SPACE, ("cell_size", "n_conv"))
    rng = np.random.default_rng(0)
    y = 80 + 2 * q["n_conv"].to_numpy() + rng.normal(0, 1, n)
    synflow = 10 + 3 * q["cell_size"].to_numpy() + rng.normal(0, 1, n)
    synflow[0] = np.nan  # one failed proxy value
    proxies = pd.DataFrame({"synflow": synflow, "params": 0.1 * q["n_conv"].to_numpy() + 0.07})
    return SimpleNamespace(space=SPACE, archs=archs, y=y, proxies=proxies)


def test_cli_run_with_an_injected_benchmark(capsys):
    args = parse(["--proxy", "synflow", "--quantity", "cell_size,params", "--strategy", "both"])
    assert args.func is run
    assert run(args, bench=small_bench()) == 0
    out = capsys.readouterr().out
    assert "59 architectures (1 dropped for NaN)" in out
    for word in ("minimize", "equalize", "performance", "target", "params"):
        assert word in out
    run(parse(["--proxy", "synflow", "--strategy", "minimize", "--markdown",
               "--fit-fraction", "0.5", "--allow-sign-change"]), bench=small_bench())
    out = capsys.readouterr().out
    assert "| proxy | quantity | strategy |" in out and "reported on rest" in out


def test_cli_errors():
    with pytest.raises(ValueError, match="unknown proxy"):
        run(parse(["--proxy", "zen"]), bench=small_bench())
    with pytest.raises(ValueError, match="unknown quantity"):
        run(parse(["--proxy", "synflow", "--quantity", "depth"]), bench=small_bench())
    with pytest.raises(SystemExit):  # argparse rejects it before run
        parse(["--proxy", "synflow", "--fit-fraction", "0"])


# -- real data -------------------------------------------------------------------------------------
@pytest.mark.data
def test_l2_norm_conv_pool_bias_on_nb201(data_dir):
    from nasperf.searchspaces import load_benchmark

    bench = load_benchmark("nb201", "cifar10", source="zc", data_dir=data_dir)
    q = compute_quantities(bench.archs, bench.space, ("conv_pool",))
    table = bias_metrics(bench.proxies[["l2_norm"]], quantities=q, nan_policy="omit")
    paper = PAPER_TABLE4[("l2_norm", "cifar10", "conv_pool")]["original"][0]
    assert table.loc["l2_norm", "conv_pool"] == pytest.approx(paper, abs=0.03)
