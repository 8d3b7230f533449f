"""Benchmark runner and CLI on a small synthetic benchmark (and once on the real files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from nasperf.eval.cli import main
from nasperf.eval.features import build_features
from nasperf.eval.metrics import kendall_tau
from nasperf.eval.runner import run_benchmark, split, summarise


def test_split_is_disjoint_and_deterministic():
    tr, te = split(100, 10, seed=3)
    assert len(tr) == 10 and len(te) == 90 and not set(tr) & set(te)
    assert np.array_equal(tr, split(100, 10, seed=3)[0])
    assert len(split(100, 10, seed=3, test=20)[1]) == 20
    with pytest.raises(ValueError, match="train size"):
        split(100, 100, seed=0)


def test_build_features_names_and_cache(toy_bench, tmp_path):
    X, names, groups = build_features(toy_bench, "onehot+zc", cache_dir=tmp_path)
    assert X.shape == (300, len(names)) and names[-2:] == ["zc:synflow", "zc:params"]
    n_onehot = len(names) - 2
    assert groups == {"onehot": list(range(n_onehot)), "zc": [n_onehot, n_onehot + 1]}
    assert len(list(tmp_path.glob("*.npz"))) == 2
    X2, names2, groups2 = build_features(toy_bench, "onehot+zc", cache_dir=tmp_path)
    assert np.array_equal(X, X2, equal_nan=True) and names == names2 and groups == groups2
    with pytest.raises(ValueError, match="unknown feature family"):
        build_features(toy_bench, "nope")
    with pytest.raises(ValueError, match="more than once"):
        build_features(toy_bench, "zc+onehot+zc")


def test_build_features_groups_of_graf_and_old_cache(toy_bench, tmp_path):
    from nasperf.graphfeatures import GRAFEncoder

    X, names, groups = build_features(toy_bench, ["flops_params", "graf_all", "zc"],
                                      cache_dir=tmp_path)
    enc = GRAFEncoder("nb201", feature_groups="all").fit(toy_bench.archs)
    n_graf = len(enc.get_feature_names_out())
    assert list(groups)[:2] == ["flops_params", "graf_all"] and list(groups)[-1] == "zc"
    assert groups["flops_params"] == [0] and groups["zc"] == [1 + n_graf, 2 + n_graf]
    assert groups["graf_all"] == list(range(1, 1 + n_graf))
    subs = {k: v for k, v in groups.items() if k.startswith("graf_all.")}
    assert list(subs) == [f"graf_all.{g}" for g in enc.feature_groups_]
    for g, cols in enc.get_feature_groups_out().items():
        assert subs[f"graf_all.{g}"] == [1 + i for i in cols]
        assert all(names[1 + i] == f"graf_all:{enc.get_feature_names_out()[i]}" for i in cols)
    # a cache file written without groups is rebuilt, not misread
    path = next(tmp_path.glob("features_graf_all_*.npz"))
    with np.load(path) as z:
        np.savez_compressed(path, X=z["X"], names=z["names"])
    X2, names2, groups2 = build_features(toy_bench, ["flops_params", "graf_all", "zc"],
                                         cache_dir=tmp_path)
    assert np.array_equal(X, X2, equal_nan=True) and names2 == names and groups2 == groups
    with np.load(path) as z:
        assert "groups" in z


def test_build_features_checks_a_family_s_groups(toy_bench, monkeypatch):
    from nasperf.eval import features

    def bad(bench):
        return np.zeros((len(bench), 3)), ["a", "b", "c"], {"x": [0, 1], "y": [1]}

    monkeypatch.setitem(features.FEATURE_FAMILIES, "bad", bad)
    with pytest.raises(ValueError, match="exactly one group"):
        build_features(toy_bench, "bad")


class GroupsRecorder(BaseEstimator, RegressorMixin):
    """Predicts the training mean and records what ``fit`` saw."""

    seen: list = []

    def __init__(self, feature_groups=None, random_state=None):
        self.feature_groups = feature_groups
        self.random_state = random_state

    def fit(self, X, y):
        GroupsRecorder.seen.append((list(X.columns), self.feature_groups))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_) + np.arange(len(X)) * 1e-9


def test_runner_hands_family_groups_to_predictors(toy_bench, monkeypatch):
    from nasperf.eval import runner

    monkeypatch.setattr(runner, "_make_predictor", lambda name, seed: GroupsRecorder())
    monkeypatch.setattr(GroupsRecorder, "seen", [])
    run_benchmark("nb201", features=["graf+zc"], predictors=["rec"], train_sizes=[20],
                  seeds=1, bench=toy_bench, progress=False)
    (columns, groups), = GroupsRecorder.seen
    assert list(groups) == ["graf", "zc"]
    assert sorted(groups["graf"] + groups["zc"]) == list(range(len(columns)))
    assert all(columns[i].startswith("graf:") for i in groups["graf"])
    assert [columns[i] for i in groups["zc"]] == ["zc:synflow", "zc:params"]


def test_runner_results_of_omni_are_unchanged_by_the_groups(toy_bench):
    from nasperf.predictors import get_predictor

    df = run_benchmark("nb201", features=["zc+onehot"], predictors=["omni"], train_sizes=[60],
                       seeds=1, bench=toy_bench, progress=False)
    X, names, _ = build_features(toy_bench, "zc+onehot")
    tr, te = split(len(toy_bench.y), 60, 0)
    model = get_predictor("omni", random_state=0)
    assert model.get_params()["feature_groups"] is None
    model.fit(pd.DataFrame(X[tr], columns=names), toy_bench.y[tr])
    y_hat = model.predict(pd.DataFrame(X[te], columns=names))
    assert df["kendall_tau"].iloc[0] == pytest.approx(kendall_tau(toy_bench.y[te], y_hat),
                                                      abs=1e-12)


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


# -- argument checks, the resume key, old output directories -------------------------------
@pytest.mark.parametrize("kw,match", [
    (dict(seeds=0), "seeds must be"),
    (dict(seeds=[]), "seeds must be"),
    (dict(seeds=[0, 0]), "repeat a seed"),
    (dict(train_sizes=[0]), r"must be in 1\.\.299"),
    (dict(train_sizes=[300]), r"must be in 1\.\.299"),
    (dict(train_sizes=[]), "non-empty"),
    (dict(test=0), "test must be 'rest' or a positive"),
    (dict(test="all"), "test must be 'rest' or a positive"),
    (dict(test=290), "do not fit"),
    (dict(features=["graf+nope"]), "unknown feature family 'nope'.*known: onehot, path"),
    (dict(features=["zc+zc"]), "more than once"),
    (dict(predictors=["nope"]), "unknown predictor 'nope'; known: .*lightgbm"),
    (dict(predictors="lightgbm"), "lists of names"),
])
def test_run_benchmark_checks_arguments_before_any_work(toy_bench, tmp_path, monkeypatch, kw,
                                                        match):
    from nasperf.eval import runner

    monkeypatch.setattr(runner, "build_features",
                        lambda *a, **k: pytest.fail("worked before checking the arguments"))
    args = dict(features=["zc"], predictors=["random_forest"], train_sizes=[20], seeds=1,
                out=tmp_path / "out", bench=toy_bench, progress=False)
    with pytest.raises(ValueError, match=match):
        run_benchmark("nb201", **{**args, **kw})
    assert not (tmp_path / "out").exists()


def _count_fits(monkeypatch):
    from nasperf.eval import runner

    calls = []
    real = runner._run_task
    monkeypatch.setattr(runner, "_run_task",
                        lambda *a, **k: (calls.append(a[1:]), real(*a, **k))[1])
    return calls


def test_changed_options_or_data_mean_new_rows(toy_bench, tmp_path, monkeypatch):
    import dataclasses

    from nasperf.eval.runner import load_results
    from nasperf.eval.summary import summary_table

    calls = _count_fits(monkeypatch)
    kw = dict(features=["zc"], predictors=["random_forest"], train_sizes=[60], seeds=2,
              out=tmp_path, bench=toy_bench, progress=False)
    base = run_benchmark("nb201", **kw)
    assert len(calls) == 2 and base["run_key"].nunique() == 1
    run_benchmark("nb201", **kw)
    assert len(calls) == 2  # same configuration: resumed, nothing run
    for change in (dict(dedup=True), dict(test=100)):
        df = run_benchmark("nb201", **{**kw, **change})
        assert len(df) == 2 and set(df["run_key"]).isdisjoint(base["run_key"])
    assert len(calls) == 6
    assert (df["n_test"] == 100).all()
    # same archs and targets, shuffled proxies: other data, so new rows with a low tau
    noise = toy_bench.proxies.copy()
    noise.iloc[:, :] = toy_bench.proxies.to_numpy()[np.random.default_rng(0).permutation(300)]
    shuffled = dataclasses.replace(toy_bench, proxies=noise)
    bad = run_benchmark("nb201", **{**kw, "bench": shuffled})
    assert len(calls) == 8 and bad["kendall_tau"].mean() < 0.3
    good = run_benchmark("nb201", **kw)  # the real data again: its own rows, not the noise
    assert len(calls) == 8
    pd.testing.assert_frame_equal(good, base)
    assert good["kendall_tau"].mean() > 0.4
    everything = pd.read_csv(tmp_path / "results.csv")
    assert len(everything) == 8 and everything["run_key"].nunique() == 4
    pd.testing.assert_frame_equal(load_results(tmp_path), base)
    assert len(load_results(tmp_path, run="all")) == 8
    with pytest.raises(ValueError, match="mix 4 configurations"):
        summary_table(everything)


def test_a_changed_predictor_default_means_new_rows(toy_bench, tmp_path, monkeypatch,
                                                     caplog):
    import logging

    from nasperf.eval.runner import load_results, predictor_key
    from nasperf.eval.summary import summary_table
    from nasperf.predictors import registry

    calls = _count_fits(monkeypatch)
    kw = dict(features=["zc"], predictors=["random_forest", "extra_trees"], train_sizes=[60],
              seeds=2, out=tmp_path, bench=toy_bench, progress=False)
    base = run_benchmark("nb201", **kw)
    assert len(calls) == 4 and base["predictor_key"].nunique() == 2
    assert predictor_key("random_forest") == predictor_key("random_forest")
    auto_before = predictor_key("auto")
    # a new default of one registry name: its rows run again, the other's are reused
    factory, defaults = registry.PREDICTORS["random_forest"]
    monkeypatch.setitem(registry.PREDICTORS, "random_forest",
                        (factory, {**defaults, "params": {"n_estimators": 20}}))
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        df = run_benchmark("nb201", **kw)
    assert "other settings of their predictor" in caplog.text and "2 rows" in caplog.text
    assert len(calls) == 6 and [c[1] for c in calls[4:]] == ["random_forest"] * 2
    assert predictor_key("auto") != auto_before  # auto's random_forest candidate changed
    new, old = (f[f["predictor"] == "random_forest"] for f in (df, base))
    assert set(new["predictor_key"]).isdisjoint(old["predictor_key"])
    pd.testing.assert_frame_equal(df[df["predictor"] == "extra_trees"],
                                  base[base["predictor"] == "extra_trees"])
    pd.testing.assert_frame_equal(load_results(tmp_path), df)
    everything = pd.read_csv(tmp_path / "results.csv")
    assert len(everything) == 6  # the former rows are kept, never returned or reused
    with pytest.raises(ValueError, match="mix 2 configurations \\(predictor_key"):
        summary_table(everything)
    run_benchmark("nb201", **kw)
    assert len(calls) == 6
    monkeypatch.setitem(registry.PREDICTORS, "random_forest", (factory, defaults))
    pd.testing.assert_frame_equal(run_benchmark("nb201", **kw), base)  # the first rows again
    assert len(calls) == 6


def test_an_old_results_csv_is_kept_but_not_reused(toy_bench, tmp_path, monkeypatch, caplog):
    import logging

    calls = _count_fits(monkeypatch)
    kw = dict(features=["zc"], predictors=["random_forest"], train_sizes=[60], seeds=1,
              out=tmp_path, bench=toy_bench, progress=False)
    old = pd.DataFrame([dict(space="nb201", dataset="toy", source="synthetic",
                             target="val_accuracy", features="zc", predictor="random_forest",
                             train_size=60, seed=0, n_test=240, kendall_tau=0.123)])
    old.to_csv(tmp_path / "results.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        df = run_benchmark("nb201", **kw)
    assert "older nasperf" in caplog.text and "not reused" in caplog.text
    assert len(calls) == 1 and len(df) == 1 and df["kendall_tau"].iloc[0] != 0.123
    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table["run_key"]) == sorted([df["run_key"].iloc[0], "legacy"])
    # an empty results.csv left by an older nasperf's crash is moved aside, not fatal
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.csv").write_text("")
    assert len(run_benchmark("nb201", **{**kw, "out": other})) == 1
    assert (other / "results.csv.unreadable").is_file()
