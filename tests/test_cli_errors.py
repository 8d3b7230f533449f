"""Mistaken ``nasperf`` invocations: each ends with exit status 2 and exactly one line on
stderr that names the problem (and the fix where it helps), without a traceback unless
``-v`` is given. Every case fails before any real work (no benchmark is run); cases that
need a benchmark get a small synthetic one in place of ``load_benchmark``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import nasperf.searchspaces
from nasperf.eval.cli import main

MODELS = """
import torch.nn as nn


def cnn(width=4):
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Flatten())


def not_a_model():
    return "a string"


def recurrent():
    return nn.Sequential(nn.LSTM(4, 4))
"""

# A missing --data-dir everywhere: a case that is not rejected fails fast instead of running
NO_DATA = ["--data-dir", "{tmp}/nodata"]
B = ["benchmark", "--out", "{tmp}/out", *NO_DATA]
P = ["proxies"]
NB201 = ["proxies", "--space", "nb201"]

#: (id, argv ({tmp}: a scratch directory with mymodels.py, bad.csv), words the error line
#: must contain, setup). setup: "missing_env" sets $NASPERF_DATA to a missing directory,
#: "toy" replaces load_benchmark with a small synthetic benchmark.
CASES = [
    # -- benchmark
    ("unknown space", [*B, "--space", "nb999"], ["unknown search space 'nb999'", "nb201"], None),
    ("dataset of nb301", [*B, "--space", "nb301", "--dataset", "cifar100"],
     ["'cifar100' is not a dataset of nb301", "cifar10"], None),
    ("dataset of another space", [*B, "--space", "tnb101_micro", "--dataset", "cifar10"],
     ["'cifar10' is not a task of tnb101_micro", "class_scene"], None),
    ("unknown dataset", [*B, "--dataset", "cifar1000"],
     ["not a dataset of nb201", "cifar10, cifar100, ImageNet16-120"], None),
    ("unknown predictor", [*B, "--predictors", "lightgbm,lgbm"],
     ["--predictors", "unknown predictor 'lgbm'", "lightgbm"], None),
    ("unknown feature family", [*B, "--features", "zc,graf+grof"],
     ["--features", "unknown feature family 'grof'", "graf_all"], None),
    ("seeds 0", [*B, "--seeds", "0"], ["--seeds", "number of random training draws", ">= 1"],
     None),
    ("seeds -1", [*B, "--seeds", "-1"], ["--seeds", "must be >= 1, got -1"], None),
    ("seeds not a number", [*B, "--seeds", "three"], ["--seeds", "expected an integer"], None),
    ("train size 0", [*B, "--train-sizes", "32,0"], ["--train-sizes", "positive", "[0]"], None),
    ("train sizes abc", [*B, "--train-sizes", "abc"], ["--train-sizes", "32,128,1024"], None),
    ("train sizes empty", [*B, "--train-sizes", ","], ["--train-sizes", "integers"], None),
    ("test 0", [*B, "--test", "0"], ["--test", "'rest' or a positive number"], None),
    ("test foo", [*B, "--test", "foo"], ["--test", "got 'foo'"], None),
    ("threads 0", [*B, "--threads", "0"], ["--threads", ">= 1"], None),
    ("unknown source", [*B, "--source", "nope"], ["unknown nb201 source 'nope'", "graf"], None),
    ("data dir missing", B, ["nodata", "(from --data-dir) does not exist",
                             "nasperf data download"], None),
    ("NASPERF_DATA missing", ["benchmark", "--out", "{tmp}/out"],
     ["(from $NASPERF_DATA) does not exist", "--data-dir DIR"], "missing_env"),
    ("--seed is not --seeds", [*B, "--seed", "3"], ["unrecognized arguments: --seed"], None),
    # -- info
    ("info unknown space", ["info", "--space", "nb2O1"], ["unknown search space 'nb2O1'"], None),
    ("info unknown dataset", ["info", "--dataset", "imagenet", "--data-dir", "{tmp}/nodata"],
     ["'imagenet' is not a dataset of nb201", "ImageNet16-120"], None),
    ("info NASPERF_DATA missing", ["info"], ["$NASPERF_DATA", "does not exist"], "missing_env"),
    # -- proxies
    ("no network", [*P], ["exactly one of --arch, --archs-file or --model"], None),
    ("arch without space", [*P, "--arch", "(0, 2, 3, 2, 3, 1)"], ["need --space"], None),
    ("proxies unknown space", [*P, "--space", "nb2001", "--arch", "x"],
     ["unknown search space 'nb2001'"], None),
    ("model module not found", [*P, "--model", "nomodels_xyz:cnn"],
     ["no module 'nomodels_xyz' in the working directory", "PYTHONPATH"], None),
    ("model file not found", [*P, "--model", "./missing.py:f"],
     ["model file ./missing.py", "does not exist"], None),
    ("model without colon", [*P, "--model", "{tmp}/mymodels.py"],
     ["must look like 'package.module:factory'"], None),
    ("model factory not found", [*P, "--model", "{tmp}/mymodels.py:cnnn"],
     ["has no attribute 'cnnn'", "callables there: cnn, not_a_model"], None),
    ("model factory returns no module", [*P, "--model", "{tmp}/mymodels.py:not_a_model"],
     ["returned an object of type str, not a torch.nn.Module"], None),
    ("factory kwargs bad JSON", [*P, "--model", "{tmp}/mymodels.py:cnn", "--factory-kwargs",
                                 "{width: 3}"],
     ["--factory-kwargs", "not valid JSON", "double quotes"], None),
    ("factory kwargs not accepted", [*P, "--model", "{tmp}/mymodels.py:cnn", "--factory-kwargs",
                                     '{"depth": 3}'],
     ["cnn(**{'depth': 3})", "raised TypeError", "depth"], None),
    ("model kwargs not an object", [*NB201, "--arch", "(0, 2, 3, 2, 3, 1)", "--model-kwargs",
                                    "[4]"], ["--model-kwargs", "JSON object"], None),
    ("arch malformed", [*NB201, "--arch", "(0, 2, 3"], ["nb201"], None),
    ("arch unknown op", [*NB201, "--arch", "(9, 9, 9, 9, 9, 9)"], ["unknown op id"], None),
    ("arch unknown op name", [*NB201, "--arch", "|conv_9x9~0|+|none~0|none~1|+|skip_connect~0|"
                                                "none~1|nor_conv_3x3~2|"], ["conv_9x9"], None),
    ("archs file missing", [*NB201, "--archs-file", "{tmp}/archs.txt"],
     ["--archs-file", "archs.txt does not exist"], None),
    ("batch file missing", [*NB201, "--arch", "(0, 2, 3, 2, 3, 1)", "--data", "{tmp}/b.npz"],
     ["--data", "b.npz does not exist"], None),
    ("input shape bad", [*P, "--model", "{tmp}/mymodels.py:cnn", "--input-shape", "3,0,32"],
     ["--input-shape", "3,32,32"], None),
    ("input shape not numbers", [*P, "--model", "x:y", "--input-shape", "big"],
     ["--input-shape", "got 'big'"], None),
    ("batch size 0", [*P, "--model", "x:y", "--batch-size", "0"], ["--batch-size", ">= 1"],
     None),
    ("input shape not inferable", [*P, "--model", "{tmp}/mymodels.py:recurrent"],
     ["cannot infer the input shape", "--input-shape C,H,W or --data FILE"], None),
    ("batch without targets", [*P, "--model", "{tmp}/mymodels.py:cnn", "--data", "{tmp}/x.npz",
                               "--proxies", "snip"],
     ["need targets", "--data FILE with arrays x and y", "--proxies"], None),
    ("proxies unknown", [*P, "--model", "{tmp}/mymodels.py:cnn", "--proxies", "synflow,zenn"],
     ["unknown proxy 'zenn'", "synflow"], None),
    # -- summary
    ("summary missing file", ["summary", "{tmp}/nothere.csv"], ["no results file"], None),
    ("summary without kendall_tau", ["summary", "{tmp}/bad.csv"],
     ["no column 'kendall_tau'"], None),
    ("summary seeds 0", ["summary", "{tmp}/bad.csv", "--seeds", "0"], ["--seeds", ">= 1"], None),
    ("summary bad --only", ["summary", "{tmp}/bad.csv", "--only", "features"],
     ["--only", "COLUMN=VALUE"], None),
    # -- bias (a synthetic benchmark replaces load_benchmark)
    ("bias unknown proxy", ["bias", "--proxy", "synflw"],
     ["--proxy", "unknown proxy column 'synflw'", "synflow"], "toy"),
    ("bias unknown quantity", ["bias", "--proxy", "synflow", "--quantity", "depth"],
     ["--quantity", "unknown quantity 'depth'", "cell_size"], "toy"),
    ("bias unknown strategy", ["bias", "--proxy", "synflow", "--strategy", "minimise"],
     ["unknown strategy 'minimise'", "minimize"], "toy"),
    ("bias fit fraction 0", ["bias", "--proxy", "synflow", "--fit-fraction", "0"],
     ["--fit-fraction", "(0, 1]"], "toy"),
    ("bias dataset of another space", ["bias", "--proxy", "synflow", "--space", "tnb101_micro",
                                       "--dataset", "cifar10"], ["class_scene"], "toy"),
    ("bias without --proxy", ["bias"], ["the following arguments are required: --proxy"], None),
    # -- data
    ("data download unknown file", ["data", "download", "--dest", "{tmp}/d", "--files",
                                    "nb201.json"], ["unknown data file", "nb201.json"], None),
    ("data where missing dir", ["data", "where", "--data-dir", "{tmp}/nodata"],
     ["(from --data-dir) does not exist"], None),
    # -- helper "pred"'s shap command (its own validation)
    ("shap explain size 0", ["shap", "--explain-size", "0", *NO_DATA], ["--explain-size"],
     "shap"),
    ("shap train size 0", ["shap", "--train-size", "0", *NO_DATA], ["--train-size"], "shap"),
    ("shap unknown dataset", ["shap", "--space", "tnb101_micro", "--dataset", "cifar10",
                              *NO_DATA], ["class_scene"], "shap"),
]


def run_cli(argv) -> int:
    """``main(argv)``'s exit status, whether returned or raised by argparse."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    (tmp_path / "mymodels.py").write_text(MODELS)
    pd.DataFrame({"features": ["zc"], "predictor": ["rf"], "train_size": [32], "seed": [0],
                  "spearman": [0.5]}).to_csv(tmp_path / "bad.csv", index=False)
    np.savez(tmp_path / "x.npz", x=np.ones((4, 3, 8, 8), np.float32))  # no targets
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return tmp_path


@pytest.mark.parametrize("case, argv, words, setup", CASES, ids=[c[0] for c in CASES])
def test_mistake_gives_one_line_and_exit_2(case, argv, words, setup, scratch, monkeypatch,
                                           capsys, toy_bench):
    if setup == "missing_env":
        monkeypatch.setenv("NASPERF_DATA", str(scratch / "not-a-dir"))
    elif setup == "toy":
        monkeypatch.setattr(nasperf.searchspaces, "load_benchmark", lambda *a, **k: toy_bench)
    argv = [a.replace("{tmp}", str(scratch)) for a in argv]
    code = run_cli(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1, captured.err
    command = argv[0] if argv[0] != "data" else "data"
    assert lines[0].startswith(f"nasperf {command}"), lines[0]
    assert ": error: " in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in captured.err and "data_dir=" not in captured.err


def test_verbose_after_the_command_adds_the_traceback(scratch, capsys):
    argv = ["info", "--data-dir", str(scratch / "nodata")]
    assert run_cli([*argv, "-v"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "DataNotFoundError" in err
    assert err.splitlines()[-1].startswith("nasperf info: error: the benchmark data directory")
    assert run_cli(["-v", *argv]) == 2 and "Traceback" in capsys.readouterr().err


def test_unexpected_exception_is_an_internal_error_exit_1(monkeypatch, capsys):
    from nasperf.eval.cli import summary

    def boom(args):
        raise KeyError("results")

    monkeypatch.setattr(summary, "run", boom)
    monkeypatch.setattr(summary, "add_parser", _with_func(summary.add_parser, boom))
    assert run_cli(["summary", "x.csv"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nasperf summary: internal error: KeyError")
    assert "-v" in lines[0] and "report" in lines[0]


def _with_func(add_parser, func):
    def add(sub):
        p = add_parser(sub)
        p.set_defaults(func=func)
        return p
    return add


def test_ctrl_c_in_benchmark_prints_the_rows_done_and_exits_130(tmp_path, monkeypatch, capsys):
    import nasperf.eval.runner as runner

    def interrupted(space, dataset, **kw):
        rows = [dict(space="nb201", dataset=dataset, features="zc", predictor="lightgbm",
                     train_size=32, seed=s, kendall_tau=0.5 + 0.1 * s) for s in range(2)]
        rows.append({**rows[0], "features": "graf"})  # another grid's row: left out
        pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_benchmark", interrupted)
    code = run_cli(["benchmark", "--features", "zc", "--predictors", "lightgbm",
                    "--train-sizes", "32,128", "--seeds", "3", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 130
    assert "Kendall tau of the 2 of 6 rows finished" in captured.out
    assert "0.550 ± 0.071" in captured.out or "0.55" in captured.out
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nasperf benchmark: interrupted")
    assert "rerun the same command to resume" in lines[0]


def test_first_seed_runs_and_reports_only_its_seeds(tmp_path, monkeypatch, capsys):
    import nasperf.eval.runner as runner

    seen = {}

    def interrupted(space, dataset, **kw):
        seen.update(kw)
        rows = [dict(space="nb201", dataset=dataset, features="zc", predictor="lightgbm",
                     train_size=32, seed=s, kendall_tau=0.5) for s in (5, 6)]  # 5: not asked
        pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_benchmark", interrupted)
    code = run_cli(["benchmark", "--features", "zc", "--predictors", "lightgbm",
                    "--train-sizes", "32", "--seeds", "2", "--first-seed", "6",
                    "--out", str(tmp_path)])
    assert code == 130 and seen["seeds"] == [6, 7]
    assert "Kendall tau of the 1 of 2 rows finished" in capsys.readouterr().out
    assert run_cli(["benchmark", "--first-seed", "-1"]) == 2
    assert "--first-seed: must be an integer >= 0, got -1" in capsys.readouterr().err


def test_ctrl_c_before_any_row(tmp_path, monkeypatch, capsys):
    import nasperf.eval.runner as runner

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_benchmark", interrupted)
    assert run_cli(["benchmark", "--out", str(tmp_path / "none")]) == 130
    captured = capsys.readouterr()
    assert "interrupted before the first of" in captured.out
    assert len(captured.err.splitlines()) == 1


def test_one_line_error_from_a_separate_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nasperf.eval.cli", "benchmark", "--seeds",
                           "0"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "nasperf benchmark: error: argument --seeds: is the number of random training draws "
        "(seeds 0..N-1 are run), so it must be >= 1, got 0 (see 'nasperf benchmark --help')"]
    proc = subprocess.run([sys.executable, "-m", "nasperf.eval.cli", "info", "--data-dir",
                           str(tmp_path / "nodata")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "--data-dir" in proc.stderr


def test_a_locked_output_directory_is_a_user_error(tmp_path, monkeypatch, capsys):
    import nasperf.eval.runner as runner
    from nasperf._io import OutputLockedError

    def locked(*a, **kw):
        raise OutputLockedError(f"{tmp_path} is in use by another run (pid 1)")

    monkeypatch.setattr(runner, "run_benchmark", locked)
    assert run_cli(["benchmark", "--out", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"nasperf benchmark: error: {tmp_path} is in use by another run (pid 1)"]


def test_ctrl_c_in_proxies_with_out_says_how_to_resume(tmp_path, monkeypatch, capsys):
    from nasperf.eval.cli import proxies

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(proxies, "_run", interrupted)
    (tmp_path / "archs.txt").write_text("(0, 2, 3, 2, 3, 1)\n")
    argv = ["proxies", "--space", "nb201", "--archs-file", str(tmp_path / "archs.txt")]
    assert run_cli([*argv, "--out", str(tmp_path / "s.jsonl")]) == 130
    assert capsys.readouterr().err.splitlines() == [
        f"nasperf proxies: interrupted; the architectures finished are in {tmp_path}/s.jsonl; "
        "rerun the same command to resume"]
    assert run_cli(argv) == 130
    assert capsys.readouterr().err.splitlines() == ["nasperf proxies: interrupted"]
