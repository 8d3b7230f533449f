"""Architecture search: ask/tell, the loop, history resume, determinism, errors, CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nasperf._io import RecordLog
from nasperf.search import (
    BenchmarkObjective,
    LocalSearch,
    PredictorGuided,
    RandomSearch,
    RegularizedEvolution,
    get_optimizer,
    list_optimizers,
    run_search,
    run_trials,
    search_table,
    zero_shot_score,
)
from nasperf.searchspaces import Benchmark, get_space

#: Tiny torch models (MLP ensemble, GP) run far faster on one thread.
pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONV3, CONV1 = "nor_conv_3x3", "nor_conv_1x1"
#: Fast settings of the model-based optimisers for tests.
FAST = {"bananas": {"predictor__n_estimators": 2, "predictor__max_epochs": 20},
        "predictor_guided": {"predictor__params__n_estimators": 20},
        "predictor_guided_zc": {"predictor__params__n_estimators": 20}}


def _score(arch) -> float:
    """A smooth synthetic accuracy: 3x3 convs best, then 1x1, plus a small edge term that
    makes the optimum unique (all six edges 3x3)."""
    ops = arch.ops
    return (80 + 2 * ops.count(CONV3) + ops.count(CONV1)
            + 0.01 * sum(i for i, o in enumerate(ops) if o == CONV3))


@pytest.fixture(scope="module")
def pool() -> Benchmark:
    """A pool of 2,000 canonical NB201 cells with a synthetic target, a test column and three
    proxies (``synflow`` informative)."""
    space = get_space("nb201")
    archs = [a for a in space.enumerate() if space.is_canonical(a)]
    rng = np.random.default_rng(0)
    archs = [archs[i] for i in sorted(rng.choice(len(archs), 2000, replace=False))]
    opt = space.arch_type((CONV3,) * 6)
    if opt not in archs:
        archs[0] = opt
    y = np.array([_score(a) for a in archs])
    index = pd.Index([space.to_string(a) for a in archs], name="arch")
    n3 = np.array([a.ops.count(CONV3) for a in archs], float)
    proxies = pd.DataFrame({"synflow": n3 + rng.normal(0, 0.3, len(archs)),
                            "jacov": rng.random(len(archs)), "snip": n3}, index=index)
    frame = pd.concat([pd.DataFrame({"val_accuracy": y, "test_accuracy": y + 3}, index=index),
                       proxies], axis=1)
    return Benchmark(space, "toy", "synthetic", "val_accuracy", archs, y, proxies, frame)


@pytest.fixture(scope="module")
def objective(pool) -> BenchmarkObjective:
    return BenchmarkObjective(pool)


def _fast(name: str):
    return get_optimizer(name, **FAST.get(name, {}))


# -- domain --------------------------------------------------------------------------------------
def test_domain_maps_isomorphic_cells_onto_the_pool(objective):
    dom, space = objective.domain, objective.domain.space
    a = dom.pool.archs[5]
    assert dom.locate(a) is a and dom.key(a) == 5
    # a dead edge (nothing reaches node 1) changes the string but not the network
    dead = space.arch_type(("none",) + ("avg_pool_3x3",) * 2 + (CONV3,) * 3)
    canon = space.canonicalize(dead)
    if canon in dom.pool.archs:
        assert dom.locate(dead) == canon
    rng = np.random.default_rng(0)
    nb = dom.neighbours(a, rng)
    assert nb and all(dom.locate(n) is n for n in nb)
    assert len({dom.key(n) for n in nb}) == len(nb) and dom.key(a) not in {dom.key(n) for n in nb}


def test_domain_sample_excludes_and_runs_out(objective):
    dom, rng = objective.domain, np.random.default_rng(0)
    got = dom.sample(10, rng, exclude=range(1995))
    assert len(got) == 5 and {dom.key(a) for a in got} == set(range(1995, 2000))


def test_cell6_neighbours_are_all_one_edit_changes():
    space = get_space("nb201")
    a = space.sample(1, seed=3)[0]
    nb = space.neighbours(a)
    assert len(nb) == 24 == len(set(nb))
    assert all(sum(x != y for x, y in zip(a.ops, n.ops)) == 1 for n in nb)


# -- ask / tell ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["random", "regularized_evolution", "local_search",
                                  "predictor_guided"])
def test_ask_tell_never_repeats(name, pool):
    opt = get_optimizer(name, space=pool, random_state=0, **FAST.get(name, {}))
    seen = set()
    for _ in range(6):
        archs = opt.ask(5)
        keys = {opt.domain_.key(a) for a in archs}
        assert len(archs) == 5 == len(keys) and not keys & seen
        seen |= keys
        opt.tell(archs, [_score(a) for a in archs])
    assert opt.best()[1] == max(opt.values_)


def test_tell_checks_its_input(pool):
    opt = RandomSearch(pool, random_state=0)
    with pytest.raises(ValueError, match="before ask"):
        opt.tell([pool.archs[0]], [1.0])
    archs = opt.ask(2)
    with pytest.raises(ValueError, match="2 architectures but 1 values"):
        opt.tell(archs, [1.0])
    other = next(a for a in pool.archs if a not in archs)
    with pytest.raises(ValueError, match="was not asked"):
        opt.tell([other], [1.0])
    opt.tell(archs, [1.0, 2.0])
    with pytest.raises(ValueError, match="told already"):
        opt.tell(archs[:1], [1.0])
    with pytest.raises(ValueError, match="positive integer"):
        opt.ask(0)


def test_optimizer_parameters_are_sklearn_style(pool):
    opt = get_optimizer("bananas", space=pool)
    params = opt.get_params()
    assert params["acquisition"] == "its" and params["features"] == "path"
    opt.set_params(num_candidates=7)
    assert opt.num_candidates == 7 and not hasattr(opt, "archs_")
    with pytest.raises(ValueError, match="tournament_size"):
        RegularizedEvolution(pool, population_size=3, tournament_size=5).ask()
    # the default loop: a forest's spread as the UCB bonus; nested options reach the forest
    pg = get_optimizer("predictor_guided", predictor__n_jobs=2)
    assert pg.acquisition == "ucb" and pg.get_params()["predictor__kind"] == "extra_trees"
    assert pg.predictor_params == {"n_jobs": 2}
    with pytest.raises(ValueError, match="uncertainty.*greedy"):
        get_optimizer("predictor_guided", space=pool, predictor="lightgbm").ask()


def test_local_search_moves_to_better_neighbours_and_restarts():
    # open space, first-improvement hill climbing on a monotone objective reaches the top
    hist = run_search("nb201", _score, LocalSearch(num_init=5), budget=150, seed=0)
    assert hist["best_value"].max() == pytest.approx(_score(get_space("nb201").arch_type(
        (CONV3,) * 6)))


def test_regularized_evolution_beats_random_on_the_pool(objective):
    re = run_trials(objective, ["regularized_evolution"], trials=3, budget=120, progress=False)
    rs = run_trials(objective, ["random"], trials=3, budget=120, progress=False)
    last = lambda df: df.groupby("trial")["best_value"].last().mean()  # noqa: E731
    assert last(re) > last(rs)


# -- model-based optimisers ----------------------------------------------------------------------
def test_zero_shot_warm_start_asks_the_top_of_the_pool(pool):
    opt = get_optimizer("predictor_guided_zc", space=pool, random_state=0, num_init=8,
                        num_warm=None)
    first = opt.ask(8)
    score = zero_shot_score(pool.proxies[["synflow", "jacov", "snip"]])
    order = np.argsort(-score, kind="stable")
    assert {opt.domain_.key(a) for a in first} == set(order[:8])
    mixed = get_optimizer("predictor_guided_zc", space=pool, random_state=0)
    keys = [mixed.domain_.key(a) for a in mixed.ask(10)]
    assert set(keys[:5]) == set(order[:5]) and not set(keys[5:]) & set(order[:5])
    assert len(set(keys)) == 10
    single = get_optimizer("predictor_guided", space=pool, random_state=0, warm_start="snip")
    assert all(a.ops.count(CONV3) == 6 or a.ops.count(CONV3) >= 5 for a in single.ask(3))


def test_zero_shot_score_ranks_nan_lowest():
    t = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [3.0, 2.0, 1.0]})
    assert np.argmin(zero_shot_score(t[["a"]])) == 1
    np.testing.assert_allclose(zero_shot_score(t), [2.5, 1.5, 2.0])


@pytest.mark.parametrize("name", ["bananas", "gp_bo", "predictor_guided"])
def test_model_based_optimisers_find_good_cells(name, objective):
    hist = run_search(None, objective, _fast(name), budget=60, seed=0)
    rand = run_search(None, objective, "random", budget=60, seed=0)
    assert hist["best_value"].iloc[-1] >= rand["best_value"].iloc[-1]
    asked = hist[hist["query"] > 10]
    assert asked["pred_mean"].notna().all()  # predictions are recorded after the first fit
    if name != "predictor_guided":
        assert asked["pred_std"].notna().all()


def test_predictor_guided_takes_any_predictor_and_acquisition(objective):
    opt = PredictorGuided(predictor="gp", features="onehot", acquisition="ucb",
                          acquisition_options={"kappa": 0.5}, candidates="pool",
                          num_init=5, batch_size=5)
    hist = run_search(None, objective, opt, budget=20, seed=1)
    assert len(hist) == 20 and hist["arch"].is_unique


def test_acquisition_needing_std_refuses_a_predictor_without_one(pool):
    opt = PredictorGuided(pool, predictor="lightgbm", acquisition="ei")
    with pytest.raises(ValueError, match="uncertainty.*greedy"):
        opt.ask()
    with pytest.raises(ValueError, match="unknown acquisition"):
        PredictorGuided(pool, acquisition="pi").ask()
    with pytest.raises(ValueError, match="unknown candidates"):
        PredictorGuided(pool, candidates="all").ask()


def test_open_space_refuses_pool_candidates_and_zc_features():
    with pytest.raises(ValueError, match="needs a pool"):
        PredictorGuided("nb201", candidates="pool").ask()
    opt = PredictorGuided("nb201", features="graf+zc", num_init=3, batch_size=3,
                          random_state=0)
    archs = opt.ask()
    opt.tell(archs, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="'zc' needs a labelled pool"):
        opt.ask()


def test_callable_warm_start_in_an_open_space():
    calls = []

    def scores(archs):
        calls.append(len(archs))
        return [a.ops.count(CONV3) for a in archs]

    opt = PredictorGuided("nb201", features="onehot", warm_start=scores, warm_start_pool=200,
                          num_init=4, batch_size=4, random_state=0)
    first = opt.ask()
    assert calls == [200] and min(a.ops.count(CONV3) for a in first) >= 3


# -- the loop: objective errors, determinism, resume -----------------------------------------
def test_failed_queries_are_recorded_and_never_best():
    def flaky(arch):
        n = arch.ops.count(CONV3)
        if n >= 5:
            raise RuntimeError("out of memory")
        if n == 4:
            return float("nan")
        return _score(arch)

    hist = run_search("nb201", flaky, "regularized_evolution", budget=80, seed=0)
    failed = hist[hist["error"] != ""]
    assert len(failed) and failed["value"].isna().all()
    assert failed["error"].str.contains("out of memory|returned nan").all()
    # no NaN or failed cell became the best
    assert hist["best_value"].iloc[-1] == hist["value"].max()
    best = hist.loc[hist["value"].idxmax(), "arch"]
    assert get_space("nb201").parse(best).ops.count(CONV3) <= 3
    assert hist["arch"].is_unique


def test_same_seed_same_history(objective):
    for name in ("random", "regularized_evolution", "local_search", "predictor_guided"):
        a = run_search(None, objective, _fast(name), budget=30, seed=3)
        b = run_search(None, objective, _fast(name), budget=30, seed=3)
        pd.testing.assert_frame_equal(a.drop(columns="time_s"), b.drop(columns="time_s"))
    c = run_search(None, objective, "random", budget=30, seed=4)
    assert list(c["arch"]) != list(a["arch"])


class _Counting:
    def __init__(self):
        self.calls = 0

    def __call__(self, arch):
        self.calls += 1
        return _score(arch)


def test_resume_replays_the_history_and_continues(tmp_path):
    path = tmp_path / "history.log"
    first, again = _Counting(), _Counting()
    run_search("nb201", first, "regularized_evolution", budget=25, seed=0, history=path)
    full = run_search("nb201", again, "regularized_evolution", budget=40, seed=0,
                      history=path)
    assert first.calls == 25 and again.calls == 15
    fresh = run_search("nb201", _score, "regularized_evolution", budget=40, seed=0)
    cols = ["query", "arch", "value", "best_value"]
    pd.testing.assert_frame_equal(full[cols], fresh[cols])


def test_resume_after_a_torn_record(tmp_path):
    path = tmp_path / "history.log"
    run_search("nb201", _Counting(), "random", budget=10, seed=0, history=path)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) - 25])  # killed while writing the 10th record
    counting = _Counting()
    hist = run_search("nb201", counting, "random", budget=10, seed=0, history=path)
    assert counting.calls == 1 and len(hist) == 10


def test_resume_refuses_a_history_of_another_run(tmp_path):
    path = tmp_path / "history.log"
    run_search("nb201", _score, "random", budget=5, seed=0, history=path)
    # valid checksums, so the records are read, but the first names another cell
    records = RecordLog(path).read()
    records[0]["arch"] = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    path.unlink()
    RecordLog(path).append(records)
    with pytest.raises(ValueError, match="another version or configuration"):
        run_search("nb201", _score, "random", budget=5, seed=0, history=path)


def test_a_changed_predictor_default_means_new_trials(tmp_path, objective, monkeypatch):
    from nasperf.predictors import registry

    path = tmp_path / "history.log"
    opt = PredictorGuided(predictor="lightgbm", features="onehot", num_init=5, batch_size=5,
                          predictor_params={"params": {"n_estimators": 5}})
    first = run_search(None, objective, opt, budget=10, seed=0, history=path)
    again = run_search(None, objective, opt, budget=10, seed=0, history=path)
    pd.testing.assert_frame_equal(first, again)  # replayed
    n_records = len(RecordLog(path).read())
    factory, defaults = registry.PREDICTORS["lightgbm"]
    monkeypatch.setitem(registry.PREDICTORS, "lightgbm",
                        (factory, {**defaults, "hpo_iter": 5}))
    run_search(None, objective, opt, budget=10, seed=0, history=path)
    assert len(RecordLog(path).read()) == 2 * n_records  # a new trial, not the old replayed


def test_budget_and_pool_errors(objective, pool):
    with pytest.raises(ValueError, match="larger than the pool"):
        run_search(None, objective, "random", budget=2001)
    with pytest.raises(ValueError, match="positive number"):
        run_search(None, objective, "random", budget=0)
    with pytest.raises(ValueError, match="unknown optimiser 'annealing'"):
        run_search(None, objective, "annealing", budget=5)
    unlabelled = Benchmark(pool.space, "toy", "synthetic", "val_accuracy", pool.archs,
                           np.full(len(pool.archs), np.nan), pool.proxies, pool.frame)
    with pytest.raises(ValueError, match="NaN for every architecture"):
        run_search(None, unlabelled, "random", budget=5)
    with pytest.raises(ValueError, match="needs space="):
        run_search(None, _score, "random", budget=5)


def test_partly_labelled_pool_leaves_unlabelled_cells_out(pool, caplog):
    y = pool.y.copy()
    y[:1500] = np.nan
    part = Benchmark(pool.space, "toy", "synthetic", "val_accuracy", pool.archs, y,
                     pool.proxies, pool.frame)
    obj = BenchmarkObjective(part)
    assert obj.domain.size == 500 and "left out" in caplog.text
    hist = run_search(None, obj, "random", budget=500, seed=0)
    assert hist["value"].notna().all()


# -- trials, tables, CLI -------------------------------------------------------------------------
def test_run_trials_writes_history_and_plot_and_resumes(tmp_path, objective):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    opts = {"re": "regularized_evolution", "ls": LocalSearch(num_init=5)}
    df = run_trials(objective, opts, trials=2, budget=20, out=out, progress=False)
    assert set(df["optimizer"]) == {"re", "ls"} and len(df) == 80
    saved = pd.read_csv(out / "history.csv")
    for col in ("optimizer", "trial", "query", "arch", "value", "best_value", "test_value"):
        assert col in saved
    assert (saved["test_value"] == saved["best_value"] + 3).all()
    assert (out / "best_so_far.png").stat().st_size > 0
    again = run_trials(objective, opts, trials=2, budget=20, out=out, progress=False)
    pd.testing.assert_frame_equal(df.drop(columns="time_s"), again.drop(columns="time_s"))


def test_search_table_counts_the_optimum():
    rows = []
    for trial, values in enumerate([[1, 3, 2, 5], [1, 2, 2, 2]]):
        best = np.maximum.accumulate(values)
        for q, (v, b) in enumerate(zip(values, best), 1):
            rows.append(dict(optimizer="x", trial=trial, query=q, value=v, best_value=b))
    t = search_table(pd.DataFrame(rows), at=(2, 4), optimum=5)
    assert t.loc["x", "best@2"] == 2.5 and t.loc["x", "best@4"] == 3.5
    assert t.loc["x", "found"] == 0.5 and t.loc["x", "queries_to_optimum"] == 4


def test_every_registered_optimiser_runs(objective):
    for name in list_optimizers():
        hist = run_search(None, objective, _fast(name), budget=15, seed=0)
        assert len(hist) == 15 and np.isfinite(hist["best_value"]).all()


def test_cli_search(tmp_path, capsys, data_dir):
    from nasperf.eval.cli import main

    out = tmp_path / "s"
    rc = main(["search", "--optimizer", "random,local_search", "--budget", "12", "--trials",
               "2", "--at", "6,12", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "local_search" in text and "pool optimum 91.57" in text
    hist = pd.read_csv(out / "history.csv")
    assert len(hist) == 48 and hist["test_value"].notna().all()


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "annealing"], "unknown optimiser 'annealing'"),
    (["--params", '{"bananas": {}}', "--optimizer", "random"], "--params: unknown optimiser"),
    (["--params", '{"random": {"population": 3}}', "--optimizer", "random"], "population"),
    (["--budget", "0"], "--budget"),
])
def test_cli_search_errors(argv, message, capsys, tmp_path):
    from nasperf.eval.cli import main

    if argv[0] == "--budget":  # argparse's own error
        with pytest.raises(SystemExit) as exc:
            main(["search", "--out", str(tmp_path), *argv])
        assert exc.value.code == 2
    else:
        assert main(["search", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_history_value_is_nan_not_none(objective):
    hist = run_search(None, objective, "random", budget=3, seed=0)
    assert hist["value"].dtype == float and not math.isnan(hist["value"].iloc[0])


def test_load_history_keeps_the_latest_run_of_each_trial(tmp_path, objective):
    from nasperf.search import load_history

    out = tmp_path / "run"
    run_trials(objective, {"re": RegularizedEvolution(population_size=10)}, trials=2,
               budget=12, out=out, progress=False, plot=False)
    newer = run_trials(objective, {"re": RegularizedEvolution(population_size=5,
                                                              tournament_size=2)},
                       trials=1, budget=12, out=out, progress=False, plot=False)
    hist = load_history(out / "history.log")
    assert len(hist) == 24  # trial 0 of the newer run, trial 1 of the older one
    pd.testing.assert_frame_equal(
        hist[hist["trial"] == 0].reset_index(drop=True).drop(columns="time_s"),
        newer.drop(columns="time_s"))
