"""The ``nasperf`` command line: one module per command, imported only when requested."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nasperf.eval.cli import COMMANDS, build_parser, main

PROBE = """
import contextlib, io, json, sys
from nasperf.eval.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "help": out.getvalue(), "torch": "torch" in sys.modules,
                  "commands": sorted(m for m in sys.modules if m.startswith("nasperf.eval.cli."))}))
"""


def probe(*argv: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["benchmark", "--help"]])
def test_help_leaves_torch_unimported(argv):
    res = probe(*argv)
    assert res["code"] == 0 and not res["torch"]
    if argv == ["--help"]:
        for name in COMMANDS:
            assert name in res["help"]
        assert res["commands"] == ["nasperf.eval.cli._options"]  # no command module
    else:
        for option in ("--space", "--dataset", "--features", "--predictors", "--train-sizes",
                       "--seeds", "--test", "--out", "--dedup", "--data-dir", "--source",
                       "--target"):
            assert option in res["help"]
        assert res["commands"] == ["nasperf.eval.cli._options", "nasperf.eval.cli.benchmark"]


def test_every_command_keeps_its_options_and_defaults():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    args = parser.parse_args(["benchmark"])
    assert (args.space, args.dataset, args.features, args.predictors, args.train_sizes,
            args.seeds, args.test, args.out, args.target) == (
        "nb201", "cifar10", "graf_all+zc", "auto", "32,128,1024", 3, "rest", "results",
        "val_accuracy")
    args = parser.parse_args(["info"])
    assert (args.space, args.dataset, args.source, args.data_dir) == ("nb201", None, None, None)
    args = parser.parse_args(["shap"])
    assert (args.space, args.dataset, args.features, args.predictor, args.train_size,
            args.explain_size, args.seed, args.out) == (
        "nb201", "cifar10", "zc", "lightgbm", 1024, 1000, 0, ".")
    args = parser.parse_args(["bias", "--proxy", "synflow"])
    assert (args.space, args.dataset, args.quantity, args.strategy, args.method,
            args.fit_fraction, args.seed) == (
        "nb201", "cifar10", "cell_size", "all", "pearson", 1.0, 0)
    args = parser.parse_args(["proxies", "--model", "m:f"])
    assert (args.space, args.proxies, args.batch_size, args.device, args.seed) == (
        None, "all", 32, "cpu", 0)
    args = parser.parse_args(["-vv", "data", "where"])
    assert args.verbose == 2 and args.data_cmd == "where" and args.data_dir is None
    args = parser.parse_args(["summary", "a.csv"])
    assert (args.metric, args.rows, args.only, args.counts) == (
        "kendall_tau", "features,predictor", [], None)


def test_unknown_or_missing_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nasperf.eval.cli", "summary", "--help"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "--counts" in proc.stdout
