"""nasperf.executors: the same results on every executor, retries of dead workers, resume."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from nasperf.executors import (
    Shard,
    ShardFailedError,
    get_executor,
    parse_part,
)

#: Small NB201 networks and batch: a cell costs ~0.1 s.
SMALL = {"channels": 4, "cells_per_stage": 1}
PROXIES = ["params", "flops", "synflow", "nwot"]
N_CELLS = 20


# -- task functions (module level: worker processes import them) ------------------------------
def _count(calls: str, shard_id: str) -> None:
    """One file per call of a shard, so the test counts calls from any process."""
    Path(calls).mkdir(parents=True, exist_ok=True)
    n = len(list(Path(calls).glob(f"{shard_id}.*")))
    (Path(calls) / f"{shard_id}.{n}.{os.getpid()}").touch()


def dies_once(task: dict) -> list[dict]:
    """Records of ``task["items"]``; the worker exits abruptly the first time it runs the
    shard named by ``task["die"]`` (a marker file remembers the first attempt)."""
    _count(task["calls"], task["id"])
    marker = Path(task["calls"]) / f"died-{task['id']}"
    if task["id"] == task.get("die") and not marker.exists():
        marker.touch()
        os._exit(3)
    if task["id"] == task.get("fail") and not marker.exists():
        marker.touch()
        raise KeyboardInterrupt  # the driver is interrupted while this shard runs
    if task["id"] == task.get("error") and not marker.exists():
        marker.touch()
        raise ArithmeticError(f"shard {task['id']} failed")
    return [{"shard": task["id"], "item": i, "square": i * i} for i in task["items"]]


def always_dies(task: dict) -> list[dict]:
    os._exit(4)


def _shards(calls: Path, n: int = 6, **extra) -> list[Shard]:
    return [Shard(f"s{k:02d}", {"id": f"s{k:02d}", "items": list(range(3 * k, 3 * k + 3)),
                                "calls": str(calls), **extra}, size=3) for k in range(n)]


def _calls(calls: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in calls.glob("s*.*"):
        out[p.name.split(".")[0]] = out.get(p.name.split(".")[0], 0) + 1
    return out


def _flat(results: list[list[dict]]) -> list[dict]:
    return [r for res in results for r in res]


EXPECTED = [{"shard": f"s{k:02d}", "item": i, "square": i * i}
            for k in range(6) for i in range(3 * k, 3 * k + 3)]


# -- proxies of NB201 cells --------------------------------------------------------------------
def _proxy_shards(n: int = N_CELLS, size: int = 4) -> list[Shard]:
    from nasperf.searchspaces import get_space

    space = get_space("nb201")
    cells = [space.to_string(a) for a in space.sample(n, seed=3)]
    return [Shard(f"p{k:03d}", {"space": "nb201", "archs": cells[k:k + size],
                                "proxies": PROXIES, "seed": 0, "model_kwargs": SMALL,
                                "input_shape": (3, 16, 16), "batch_size": 8, "threads": 1},
                  size=len(cells[k:k + size])) for k in range(0, n, size)]


def _scores(results) -> list[tuple]:
    return [(r["arch"], tuple(r["scores"][p] for p in PROXIES)) for r in _flat(results)]


@pytest.fixture(scope="module")
def local_scores():
    from nasperf.zerocost.tools import score_archs

    with get_executor("local") as ex:
        return _scores(ex.map_shards(score_archs, _proxy_shards(), progress=False))


def test_proxies_are_bit_identical_local_and_processes(local_scores, tmp_path):
    from nasperf.zerocost.tools import score_archs

    assert len(local_scores) == N_CELLS
    assert all(v is not None for _, vals in local_scores for v in vals)
    with get_executor("processes", workers=2) as ex:
        stored = ex.map_shards(score_archs, _proxy_shards(), out_dir=tmp_path, progress=False)
    assert _scores(stored) == local_scores  # exact float equality, in input order
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [
        f"p{k:03d}.jsonl" for k in range(0, N_CELLS, 4)]


def test_a_worker_builds_the_default_batch_once():
    from nasperf.zerocost.data import _digits_batch, default_batch
    from nasperf.zerocost.tools import score_archs

    _digits_batch.cache_clear()
    score_archs({**_proxy_shards(n=3)[0].payload, "proxies": ["nwot"]})
    info = _digits_batch.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    x, _ = default_batch((3, 16, 16), 8)
    x += 1  # callers get copies: the cached batch is never changed
    assert not default_batch((3, 16, 16), 8)[0].equal(x)


def test_cli_sharded_output_is_the_same_file_for_every_executor(tmp_path, capsys):
    from nasperf.eval.cli import main

    argv = ["proxies", "--space", "nb201", "--first", "6", "--model-kwargs",
            json.dumps(SMALL), "--input-shape", "3,16,16", "--batch-size", "8", "--proxies",
            ",".join(PROXIES), "--shard-size", "2", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "local")]) == 0
    assert main([*argv, "--out", str(tmp_path / "proc"), "--executor", "processes",
                 "--workers", "2"]) == 0
    assert main([*argv, "--out", str(tmp_path / "old.jsonl")]) == 0  # the in-process path
    local = (tmp_path / "local" / "proxies.csv").read_bytes()
    assert local == (tmp_path / "proc" / "proxies.csv").read_bytes()
    old = [json.loads(x) for x in (tmp_path / "old.jsonl").read_text().splitlines()]
    import pandas as pd

    table = pd.read_csv(tmp_path / "local" / "proxies.csv")
    assert list(table.columns) == ["arch", *PROXIES, "reasons"]
    assert table["arch"].tolist() == [r["arch"] for r in old]
    for p in PROXIES:  # the CSV's decimal text reads back as the very same floats
        assert table[p].tolist() == [r["scores"][p] for r in old]
    # a part of a Slurm-style split computes its shards only; the merge run computes nothing
    split = tmp_path / "split"
    assert main([*argv, "--out", str(split), "--shard", "1/2"]) == 0
    assert "part 1/2: 1 shard(s) (2 architectures)" in capsys.readouterr().err
    assert not (split / "proxies.csv").exists()
    assert main([*argv, "--out", str(split), "--shard", "0/2"]) == 0
    assert main([*argv, "--out", str(split)]) == 0
    assert (split / "proxies.csv").read_bytes() == local
    assert not (split / "manifest.log").exists()  # nothing was left to compute
    # another configuration into the same directory is refused
    assert main([*argv[:-1], "--seed", "1", "--out", str(split)]) == 2
    assert "holds a run with other settings (differing: seed)" in capsys.readouterr().err


def test_cli_data_file_is_read_by_the_shards(tmp_path):
    import numpy as np

    from nasperf.eval.cli import main

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "batch.npz", x=rng.normal(size=(6, 3, 12, 12)).astype("float32"),
             y=rng.integers(0, 10, 6))
    argv = ["proxies", "--space", "nb201", "--first", "3", "--model-kwargs",
            json.dumps(SMALL), "--data", str(tmp_path / "batch.npz"), "--proxies",
            "synflow,nwot,snip", "--shard-size", "2", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "dir")]) == 0
    assert main([*argv, "--out", str(tmp_path / "old.jsonl")]) == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "dir" / "proxies.csv")
    old = [json.loads(x) for x in (tmp_path / "old.jsonl").read_text().splitlines()]
    for p in ("synflow", "nwot", "snip"):
        assert table[p].tolist() == [r["scores"][p] for r in old]


# -- dead workers, interrupted drivers ------------------------------------------------------------
def test_a_dead_worker_is_retried_and_every_row_appears_once(tmp_path):
    calls = tmp_path / "calls"
    with get_executor("processes", workers=2) as ex:
        results = ex.map_shards(dies_once, _shards(calls, die="s02"), out_dir=tmp_path / "o",
                                progress=False)
    assert _flat(results) == EXPECTED
    counts = _calls(calls)
    assert counts["s02"] == 2 and (calls / "died-s02").exists()
    assert set(counts) == {f"s{k:02d}" for k in range(6)}
    assert max(counts.values()) == 2  # only shards in flight when the worker died ran twice


def test_a_shard_that_always_kills_its_worker_fails_after_max_retries(tmp_path):
    with get_executor("processes", workers=1, max_retries=1) as ex, \
            pytest.raises(ShardFailedError, match=r"shard s00: .* died .* 2 times"):
        ex.map_shards(always_dies, _shards(tmp_path, n=1), progress=False)


def test_an_interrupted_run_resumes_without_redoing_finished_shards(tmp_path):
    calls, out = tmp_path / "calls", tmp_path / "out"
    shards = _shards(calls, fail="s03")
    with pytest.raises(KeyboardInterrupt):
        get_executor("local").map_shards(dies_once, shards, out_dir=out, progress=False)
    assert _calls(calls) == {"s00": 1, "s01": 1, "s02": 1, "s03": 1}
    seen = []
    results = get_executor("local").map_shards(
        dies_once, shards, out_dir=out, progress=False,
        on_result=lambda shard, rows: seen.append(shard.id))
    assert _flat(results) == EXPECTED
    assert seen == ["s03", "s04", "s05"]
    assert _calls(calls) == {"s00": 1, "s01": 1, "s02": 1, "s03": 2, "s04": 1, "s05": 1}
    # a shard file that no longer matches its manifest is computed again, with a warning
    (out / "shards" / "s01.jsonl").write_text('{"shard": "s01"}\n')
    again = get_executor("local").map_shards(dies_once, shards, out_dir=out, progress=False)
    assert _flat(again) == EXPECTED and _calls(calls)["s01"] == 2


def test_a_driver_killed_mid_run_resumes_from_its_files(tmp_path):
    import subprocess

    calls, out = tmp_path / "calls", tmp_path / "out"
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from pathlib import Path\nimport test_executors as t\n"
            "t.get_executor('local').map_shards(t.dies_once, t._shards(Path(sys.argv[1]), "
            "die='s03'), out_dir=sys.argv[2], progress=False)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(calls), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr  # the driver itself exited inside shard s03
    assert _calls(calls) == {"s00": 1, "s01": 1, "s02": 1, "s03": 1}
    results = get_executor("local").map_shards(dies_once, _shards(calls, die="s03"),
                                               out_dir=out, progress=False)
    assert _flat(results) == EXPECTED
    assert _calls(calls) == {"s00": 1, "s01": 1, "s02": 1, "s03": 2, "s04": 1, "s05": 1}


def test_an_exception_in_a_worker_stops_the_run_and_keeps_finished_shards(tmp_path):
    from nasperf._io import RecordLog

    calls, out = tmp_path / "calls", tmp_path / "out"
    shards = _shards(calls, error="s03")
    with get_executor("processes", workers=2) as ex, \
            pytest.raises(ArithmeticError, match="shard s03 failed"):
        ex.map_shards(dies_once, shards, out_dir=out, progress=False)
    kept = {r["shard"] for r in RecordLog(out / "manifest.log").read()}
    assert kept and "s03" not in kept
    results = get_executor("local").map_shards(dies_once, shards, out_dir=out, progress=False)
    assert _flat(results) == EXPECTED
    counts = _calls(calls)
    assert counts["s03"] == 2 and all(counts[k] == 1 for k in kept)


def test_parts_split_the_shards_by_position(tmp_path):
    calls, out = tmp_path / "calls", tmp_path / "out"
    shards = _shards(calls)
    part = get_executor("local").map_shards(dies_once, shards, out_dir=out, part=(1, 4),
                                            progress=False)
    assert [r[0]["shard"] for r in part] == ["s01", "s05"]
    assert (out / "parts" / "1-of-4" / "manifest.log").is_file()
    for i in (0, 2, 3):
        get_executor("local").map_shards(dies_once, shards, out_dir=out, part=(i, 4),
                                         progress=False)
    merged = get_executor("local").map_shards(dies_once, shards, out_dir=out, progress=False)
    assert _flat(merged) == EXPECTED and set(_calls(calls).values()) == {1}


def worker_state(module: str) -> tuple[int, bool]:
    """The worker's pid and whether ``module`` is imported there."""
    return os.getpid(), module in sys.modules


def test_started_workers_preload_modules_and_are_reused_across_calls():
    module = "nasperf.encoders.graph_data"  # not imported by the executors themselves
    with get_executor("processes", 1).start(preload=[module]) as ex:
        (pid, loaded), = ex.map_shards(worker_state, [Shard("a", module)], progress=False)
        (pid2, _), = ex.map_shards(worker_state, [Shard("b", module)], progress=False)
    assert loaded and pid2 == pid
    with get_executor("processes", 1) as ex:  # started by the first call: nothing preloaded
        ((_, loaded),) = ex.map_shards(worker_state, [Shard("a", module)], progress=False)
    assert not loaded


def test_parallel_executors_start_the_costliest_shards_first(tmp_path):
    shards = [Shard(f"s{k}", {"id": f"s{k}", "items": [k], "calls": str(tmp_path)},
                    cost=c) for k, c in enumerate([1, 5, None, 3])]  # None: size 1
    order: list[str] = []
    with get_executor("processes", 1) as ex:
        res = ex.map_shards(dies_once, shards, progress=False,
                            on_result=lambda shard, _: order.append(shard.id))
    assert order == ["s1", "s3", "s0", "s2"]  # ties keep shard order
    assert [r[0]["item"] for r in res] == [0, 1, 2, 3]  # results in shard order
    local: list[str] = []
    get_executor("local").map_shards(dies_once, shards, progress=False,
                                     on_result=lambda shard, _: local.append(shard.id))
    assert local == ["s0", "s1", "s2", "s3"]


def test_a_session_closes_only_the_executor_it_created():
    from nasperf.executors import session

    mine = get_executor("processes", 1)
    with session(mine) as ex:
        assert ex is mine
        ((pid, _),) = ex.map_shards(worker_state, [Shard("a", "x")], progress=False)
    ((pid2, _),) = mine.map_shards(worker_state, [Shard("b", "x")], progress=False)
    assert pid2 == pid  # still open: the same warm worker
    mine.close()
    with session("processes") as ex:
        ex.map_shards(worker_state, [Shard("a", "x")], progress=False)
        pool = ex._pool
    assert pool is not None and ex._pool is None


INTERRUPTED_SCRIPT = """
import time
from nasperf.executors import Shard, get_executor

def task(x):
    from tqdm.auto import tqdm
    for _ in tqdm(range(2), disable=True):  # as the library's own loops do
        pass
    time.sleep(0.3)
    return x

def stop(shard, result, seen=[]):
    seen.append(shard.id)
    if len(seen) == 3:
        raise KeyboardInterrupt

if __name__ == "__main__":
    try:
        get_executor("processes", 2).map_shards(
            task, [Shard(f"s{i}", i) for i in range(10)], progress=False, on_result=stop)
    except KeyboardInterrupt:
        print("interrupted")
"""


def test_an_interrupted_pool_leaks_no_semaphore(tmp_path):
    import subprocess

    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED_SCRIPT)
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and "interrupted" in res.stdout, res.stderr[-2000:]
    assert "leaked semaphore" not in res.stderr, res.stderr[-2000:]


MANY_TENSORS_SCRIPT = """
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
import torch
from nasperf.executors import Shard, get_executor

def total(tensors):
    return [float(sum(t.sum() for t in tensors)), torch.ones(2)]

if __name__ == "__main__":
    shards = [Shard(f"s{i}", [torch.full((3,), float(i)) for _ in range(1000)]) for i in range(3)]
    with get_executor("processes", 2) as ex:
        print([r[0] for r in ex.map_shards(total, shards, progress=False)])
"""


def test_payloads_of_many_tensors_fit_the_open_file_limit(tmp_path):
    """Each tensor of a payload would otherwise travel as a file descriptor (a table of
    graphs for the GNN holds tens of thousands): 3,000 of them under a limit of 256."""
    import subprocess

    pytest.importorskip("torch")
    script = tmp_path / "many_tensors.py"
    script.write_text(MANY_TENSORS_SCRIPT)
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[0.0, 3000.0, 6000.0]"


def test_bad_arguments_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        get_executor("dask")
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        get_executor("processes", workers=0)
    with pytest.raises(ValueError, match="address is for the 'ray' executor"):
        get_executor("processes", address="auto")
    with pytest.raises(ValueError, match="not unique"):
        get_executor().map_shards(len, [Shard("a", "x"), Shard("a", "y")], progress=False)
    with pytest.raises(ValueError, match="names a file"):
        get_executor().map_shards(len, [Shard("../a", "x")], progress=False)
    with pytest.raises(ValueError, match="must be a list of dicts"):
        get_executor().map_shards(len, [Shard("a", "x")], out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="cannot be pickled"):
        get_executor("processes", workers=2).map_shards(lambda p: p, [Shard("a", 1)],
                                                        progress=False)
    with pytest.raises(ValueError, match="a shard's payload cannot be pickled"):
        get_executor("processes", workers=2).map_shards(len, [Shard("a", lambda: 0)],
                                                        progress=False)
    assert parse_part("3/4") == (3, 4)
    for bad in ("4/4", "x", "1/0"):
        with pytest.raises(ValueError):
            parse_part(bad)


def test_cli_executor_option_errors(capsys):
    from nasperf.eval.cli import main

    base = ["proxies", "--space", "nb201", "--first", "2"]
    for extra, message in (
            (["--workers", "2"], "--workers 2 runs in parallel only with"),
            (["--executor", "processes", "--out", "x.jsonl"], "give --out a directory"),
            (["--executor", "processes", "--address", "auto"], "use it with --executor ray"),
            (["--shard", "0/2"], "--shard needs --out DIR")):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert main(["proxies", "--space", "nb201", "--arch", "(0, 2, 3, 2, 3, 1)", "--executor",
                 "processes"]) == 2
    assert "are for several architectures" in capsys.readouterr().err


def test_add_executor_builds_the_executor_of_the_options():
    import argparse

    from nasperf.eval.cli._options import add_executor, executor_from_args
    from nasperf.executors import ProcessExecutor, RayExecutor

    parser = argparse.ArgumentParser()
    add_executor(parser, parts=False)
    args = parser.parse_args(["--executor", "processes", "--workers", "3", "--max-retries", "1"])
    ex = executor_from_args(args)
    assert isinstance(ex, ProcessExecutor) and (ex.workers, ex.max_retries) == (3, 1)
    assert not hasattr(args, "shard")
    args = parser.parse_args(["--executor", "ray", "--address", "auto", "--gpus-per-task",
                              "0.25", "--cpus-per-task", "2"])
    ex = executor_from_args(args)  # nothing starts before the first map_shards
    assert isinstance(ex, RayExecutor) and ex.address == "auto"
    assert (ex.gpus_per_task, ex.cpus_per_task) == (0.25, 2.0)
    with pytest.raises(SystemExit):
        parser.parse_args(["--gpus-per-task", "-1"])


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'nasperf\[ray\]'"):
        get_executor("ray").map_shards(len, [Shard("a", "x")], progress=False)


# -- search trials -------------------------------------------------------------------------------
def test_search_trials_are_identical_local_and_processes(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from _toy import make_toy_bench

    from nasperf.search import BenchmarkObjective, run_trials

    objective = BenchmarkObjective(make_toy_bench())
    kw = dict(trials=2, budget=12, progress=False, plot=False)
    local = run_trials(objective, ["random", "regularized_evolution"], **kw)
    out = tmp_path / "runs"
    proc = run_trials(objective, ["random", "regularized_evolution"], out=out,
                      executor="processes", **kw)
    assert len(proc) == 2 * 2 * 12
    assert local.drop(columns="time_s").equals(proc.drop(columns="time_s"))
    log_lines = (out / "history.log").read_text().splitlines()
    assert len(log_lines) == 48 and (out / "history.csv").is_file()
    again = run_trials(objective, ["random", "regularized_evolution"], out=out,
                       executor=get_executor("processes", workers=2), **kw)
    assert (out / "history.log").read_text().splitlines() == log_lines  # nothing re-queried
    assert again.equals(proc)
    with pytest.raises(ValueError, match="cannot be pickled"):
        run_trials(lambda arch: 1.0, ["random"], space="nb201", executor="processes", **kw)


def test_benchmark_grid_is_identical_local_and_processes(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from _toy import make_toy_bench

    from nasperf.eval.runner import run_benchmark

    bench = make_toy_bench()
    kw = dict(features=["onehot", "onehot+zc"], predictors=["random_forest", "gp"],
              train_sizes=[16, 32], seeds=2, bench=bench, progress=False)
    metrics = ["features", "predictor", "train_size", "seed", "kendall_tau", "spearman",
               "rmse"]
    local = run_benchmark("nb201", **kw)
    out = tmp_path / "grid"
    first = run_benchmark("nb201", **{**kw, "seeds": [0]}, out=out, executor="processes")
    proc = run_benchmark("nb201", **kw, out=out, executor="processes")
    pd.testing.assert_frame_equal(local[metrics], proc[metrics])
    rows = pd.read_csv(out / "results.csv")
    assert len(rows) == 16 and not rows.duplicated(["features", "predictor", "train_size",
                                                    "seed"]).any()
    assert len(first) == 8  # the seed-0 rows were reused, not run again
    assert (proc[proc["seed"] == 0]["fit_seconds"].to_numpy()
            == first["fit_seconds"].to_numpy()).all()


# -- Ray (a local instance of 2 CPUs for the whole module) ---------------------------------------
@pytest.fixture(scope="module")
def ray_executor():
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'nasperf[ray]')")
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers lack tests/
    ex = get_executor("ray", workers=2, init_kwargs={
        "object_store_memory": 100 * 1024 ** 2, "log_to_driver": False})
    yield ex
    ex.close()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_ray_proxies_are_bit_identical(ray_executor, local_scores, tmp_path):
    from nasperf.zerocost.tools import score_archs

    results = ray_executor.map_shards(score_archs, _proxy_shards(), out_dir=tmp_path,
                                      progress=False)
    assert _scores(results) == local_scores


def test_ray_retries_a_dead_worker(ray_executor, tmp_path):
    calls = tmp_path / "calls"
    results = ray_executor.map_shards(dies_once, _shards(calls, die="s04"), progress=False)
    assert _flat(results) == EXPECTED
    assert _calls(calls)["s04"] == 2 and (calls / "died-s04").exists()


def test_ray_benchmark_grid_is_identical_to_local(ray_executor):
    sys.path.insert(0, str(Path(__file__).parent))
    import ray.cloudpickle
    from _toy import make_toy_bench

    from nasperf.eval.runner import run_benchmark

    ray.cloudpickle.register_pickle_by_value(sys.modules["_toy"])
    try:
        kw = dict(features=["onehot+zc"], predictors=["random_forest", "gp"],
                  train_sizes=[16, 32], seeds=2, bench=make_toy_bench(), progress=False)
        metrics = ["features", "predictor", "train_size", "seed", "kendall_tau", "rmse"]
        local = run_benchmark("nb201", **kw)
        on_ray = run_benchmark("nb201", **kw, executor=ray_executor)
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules["_toy"])
    pd.testing.assert_frame_equal(local[metrics], on_ray[metrics])
    assert ray_executor._started  # the caller's executor is left open for its owner
