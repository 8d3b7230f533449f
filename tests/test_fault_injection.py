"""Kills and concurrent runs against the benchmark runner's output directory.

A simulated kill (:class:`SimulatedKill`, a ``BaseException`` that nothing in the library
catches) is raised inside the low-level writes of :mod:`nasperf._io` -- the line appends of
the results log, the temporary-file writes and the ``os.replace`` of the atomic tables --
after a random prefix of the bytes reached the file, and temporary files are left behind as
a real SIGKILL leaves them. After every kill the output directory must hold no empty or
corrupt table and every row whose append had returned, and a rerun must complete the grid
without duplicates. One test also SIGKILLs real runner processes (``slow``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

import nasperf._io as io_module
from nasperf._io import OutputLockedError, RecordLog
from nasperf.eval import runner
from nasperf.eval.runner import KEY, load_results, run_benchmark

FEATURES = ["zc"]
PREDICTORS = ["ridge_like", "gp_like", "select_like"]
SIZES = [20, 60]
SEEDS = 2
N_TASKS = len(FEATURES) * len(PREDICTORS) * len(SIZES) * SEEDS


class Linear(BaseEstimator, RegressorMixin):
    """Least squares on the non-NaN columns: cheap, and its tau depends on the features."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        A = np.nan_to_num(np.asarray(X, float))
        self.coef_ = np.linalg.lstsq(np.c_[A, np.ones(len(A))], y, rcond=None)[0]
        return self

    def predict(self, X):
        A = np.nan_to_num(np.asarray(X, float))
        return np.c_[A, np.ones(len(A))] @ self.coef_


class WithStd(Linear):
    """Brings the ``coverage_*`` columns (a new column in the middle of a run)."""

    def predict_std(self, X):
        return np.ones(len(X))

    def predict(self, X, return_std=False):
        mean = super().predict(X)
        return (mean, self.predict_std(X)) if return_std else mean


class Selector(Linear):
    """Brings the ``chosen`` column."""

    def fit(self, X, y):
        self.best_name_ = "linear"
        return super().fit(X, y)


FACTORIES = {"ridge_like": Linear, "gp_like": WithStd, "select_like": Selector}


@pytest.fixture
def cheap(monkeypatch):
    monkeypatch.setattr(runner, "_make_predictor", lambda name, seed: FACTORIES[name](seed))
    monkeypatch.setattr(runner, "_plot", lambda df, path: None)


def grid(bench, out, **kw):
    return run_benchmark("nb201", features=FEATURES, predictors=PREDICTORS, train_sizes=SIZES,
                         seeds=SEEDS, out=out, bench=bench, progress=False, **kw)


# -- simulated kills in the write path ------------------------------------------------------
class SimulatedKill(BaseException):
    """The process dies here: nothing catches it, no more bytes are written."""


class Killer:
    """Counts the low-level writes of nasperf._io and kills at write number ``at``."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.at = -1
        self.count = 0
        self.dead = False

    def arm(self, at: int) -> None:
        self.at, self.count, self.dead = at, 0, False

    def tick(self) -> bool:
        self.count += 1
        if self.count == self.at:
            self.dead = True
            return True
        return False

    def cut(self, data):
        return data[: int(self.rng.integers(0, len(data)))] if len(data) else data


class KillableFile:
    def __init__(self, f, killer: Killer):
        self._f, self._killer = f, killer

    def write(self, data):
        if self._killer.tick():
            self._f.write(self._killer.cut(data))
            self._f.flush()
            raise SimulatedKill
        return self._f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)

    def __iter__(self):
        return iter(self._f)

    def __getattr__(self, name):
        return getattr(self._f, name)


@pytest.fixture
def killer(monkeypatch):
    k = Killer(np.random.default_rng(12345))
    real_open, real_os = open, os

    def replace(src, dst):
        if k.tick():
            raise SimulatedKill
        return real_os.replace(src, dst)

    def unlink(path, *a, **kw):
        if k.dead:  # a killed process cleans nothing up
            return None
        return real_os.unlink(path, *a, **kw)

    fake_os = types.SimpleNamespace(**{n: getattr(real_os, n) for n in dir(real_os)
                                       if not n.startswith("__")})
    fake_os.fdopen = lambda *a, **kw: KillableFile(real_os.fdopen(*a, **kw), k)
    fake_os.replace = replace
    fake_os.unlink = unlink
    monkeypatch.setattr(io_module, "os", fake_os)
    monkeypatch.setattr(io_module, "open",
                        lambda *a, **kw: KillableFile(real_open(*a, **kw), k), raising=False)
    return k


def check_tables(out) -> None:
    """results.csv / results.json, when present, are complete tables (never empty, never
    half-written)."""
    csv = out / "results.csv"
    if csv.exists():
        df = pd.read_csv(csv)  # raises on an empty or torn file
        assert len(df) and set(KEY) <= set(df.columns) and df["kendall_tau"].notna().all()
    js = out / "results.json"
    if js.exists():
        pd.read_json(js)


def test_killed_at_random_writes_loses_nothing_and_resumes(toy_bench, tmp_path, cheap, killer,
                                                          monkeypatch, caplog):
    appended: list[tuple] = []  # identities of the rows whose append returned
    real_append = RecordLog.append

    def tracking_append(self, records):
        real_append(self, records)
        for r in [records] if isinstance(records, dict) else records:
            appended.append((self.path.parent, r["run_key"], *(r[k] for k in KEY)))

    monkeypatch.setattr(RecordLog, "append", tracking_append)
    stats = dict(kills=0, corrupt_tables=0, lost_rows=0, duplicates=0, completed_grids=0)
    rng = np.random.default_rng(7)
    n_dirs, kills_per_dir = 0, 0
    out = tmp_path / "run0"
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        for _ in range(2000):
            if stats["kills"] >= 220:
                break
            killer.arm(int(rng.integers(1, 45)))
            try:
                grid(toy_bench, out)
                finished = True
            except SimulatedKill:
                finished = False
                stats["kills"] += 1
                kills_per_dir += 1
            killer.arm(-1)
            try:
                check_tables(out)
            except Exception:  # noqa: BLE001 - counted, asserted below
                stats["corrupt_tables"] += 1
            logged = {(out, r["run_key"], *(r[k] for k in KEY))
                      for r in RecordLog(out / "results.log").read()}
            stats["lost_rows"] += len({a for a in appended if a[0] == out} - logged)
            if finished or kills_per_dir >= 30:
                df = grid(toy_bench, out)  # a clean rerun completes the grid
                stats["completed_grids"] += 1
                log_rows = RecordLog(out / "results.log").read()
                ids = [(r["run_key"], *(r[k] for k in KEY)) for r in log_rows]
                stats["duplicates"] += len(ids) - len(set(ids))
                csv = pd.read_csv(out / "results.csv")
                stats["duplicates"] += int(csv.duplicated(["run_key", *KEY]).sum())
                assert len(df) == N_TASKS == len(csv)
                assert {"coverage_68", "coverage_95", "chosen"} <= set(csv.columns)
                n_dirs += 1
                kills_per_dir = 0
                out = tmp_path / f"run{n_dirs}"
    print(f"\nfault injection: {stats}")
    assert stats["kills"] >= 200 and stats["completed_grids"] >= 5
    assert stats["corrupt_tables"] == 0 and stats["lost_rows"] == 0
    assert stats["duplicates"] == 0


def test_torn_last_line_is_dropped_with_a_warning(toy_bench, tmp_path, cheap, caplog):
    df = grid(toy_bench, tmp_path)
    log_path = tmp_path / "results.log"
    lines = log_path.read_text().splitlines(keepends=True)
    log_path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        again = grid(toy_bench, tmp_path)
    assert "torn or corrupt" in caplog.text
    pd.testing.assert_frame_equal(again.drop(columns=["fit_seconds", "predict_seconds"]),
                                  df.drop(columns=["fit_seconds", "predict_seconds"]))
    assert len(RecordLog(log_path).read()) == N_TASKS


def test_keyboard_interrupt_keeps_finished_rows_and_resumes(toy_bench, tmp_path, cheap,
                                                            monkeypatch, caplog):
    calls = []
    real = runner._run_task

    def interrupted(*a, **kw):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(runner, "_run_task", interrupted)
    with caplog.at_level(logging.WARNING, logger="nasperf"), pytest.raises(KeyboardInterrupt):
        grid(toy_bench, tmp_path)
    assert f"interrupted after 4 of {N_TASKS} rows; rerun the same command" in caplog.text
    assert len(pd.read_csv(tmp_path / "results.csv")) == 4
    assert len(pd.read_json(tmp_path / "results.json")) == 4
    assert len(load_results(tmp_path)) == 4
    calls.clear()
    monkeypatch.setattr(runner, "_run_task", lambda *a, **kw: (calls.append(1), real(*a, **kw))[1])
    df = grid(toy_bench, tmp_path)
    assert len(calls) == N_TASKS - 4 and len(df) == N_TASKS
    pd.testing.assert_frame_equal(load_results(tmp_path), df)


# -- concurrent runs -------------------------------------------------------------------------------
def test_a_second_concurrent_run_refuses_or_waits(toy_bench, tmp_path, monkeypatch):
    started, go = threading.Event(), threading.Event()

    class Slow(Linear):
        def fit(self, X, y):
            started.set()
            assert go.wait(20)
            return super().fit(X, y)

    monkeypatch.setattr(runner, "_make_predictor", lambda name, seed: Slow(seed))
    monkeypatch.setattr(runner, "_plot", lambda df, path: None)
    kw = dict(features=["zc"], predictors=["ridge_like"], train_sizes=[20, 60], seeds=2,
              out=tmp_path, bench=toy_bench, progress=False)
    results: dict = {}

    def first():
        results["first"] = run_benchmark("nb201", **kw)

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(20)
    with pytest.raises(OutputLockedError, match="another nasperf run is writing"):
        run_benchmark("nb201", **kw)
    waiter = threading.Thread(target=lambda: results.setdefault(
        "second", run_benchmark("nb201", **kw, wait=30)))
    waiter.start()
    time.sleep(0.2)
    go.set()
    t.join(30)
    waiter.join(30)
    assert len(results["first"]) == len(results["second"]) == 4
    csv = pd.read_csv(tmp_path / "results.csv")
    assert len(csv) == 4 and not csv.duplicated(KEY).any()
    pd.testing.assert_frame_equal(results["first"], results["second"])


# -- real SIGKILLs --------------------------------------------------------------------------------
CHILD = textwrap.dedent('''
    import sys
    from nasperf.eval import runner
    sys.path.insert(0, sys.argv[2])
    from _toy import make_toy_bench
    from test_fault_injection import FACTORIES, FEATURES, PREDICTORS, SIZES
    bench = make_toy_bench(with_params=False)
    runner._make_predictor = lambda name, seed: FACTORIES[name](seed)
    runner._plot = lambda df, path: None
    df = runner.run_benchmark("nb201", features=FEATURES, predictors=PREDICTORS,
                              train_sizes=SIZES, seeds=int(sys.argv[3]), out=sys.argv[1],
                              bench=bench, progress=False, wait=-1)
    print("DONE", len(df))
''')


@pytest.mark.slow
def test_real_sigkills(tmp_path):
    n_kills = int(os.environ.get("NASPERF_SIGKILLS", "15"))
    seeds = 8
    n_tasks = len(PREDICTORS) * len(SIZES) * seeds
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = tmp_path / "out"
    here = os.path.dirname(__file__)
    rng = np.random.default_rng(3)
    stats = dict(kills=0, corrupt_tables=0, lost_rows=0, duplicates=0)
    seen: set = set()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for _ in range(n_kills):
        p = subprocess.Popen([sys.executable, str(script), str(out), here, str(seeds)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # let it import, then kill it somewhere in its writes
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None:
            if (out / "results.log").exists() and rng.random() < 0.05:
                break
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0, 0.05)))
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            stats["kills"] += 1
        p.wait()
        try:
            check_tables(out)
        except Exception:  # noqa: BLE001 - counted, asserted below
            stats["corrupt_tables"] += 1
        ids = {(r["run_key"], *(r[k] for k in KEY)) for r in RecordLog(out / "results.log").read()}
        stats["lost_rows"] += len(seen - ids)
        seen |= ids
    res = subprocess.run([sys.executable, str(script), str(out), here, str(seeds)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert f"DONE {n_tasks}" in res.stdout, res.stderr
    csv = pd.read_csv(out / "results.csv")
    stats["duplicates"] = int(csv.duplicated(KEY).sum())
    print(f"\nreal SIGKILLs: {stats}")
    assert len(csv) == n_tasks
    assert stats["corrupt_tables"] == stats["lost_rows"] == stats["duplicates"] == 0
    assert stats["kills"] >= 1
