"""The ``nasperf`` command line: one module per command, imported only when requested."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from nasperf.eval.cli import COMMANDS, build_parser, main
from nasperf.eval.cli._options import default_dataset, resolve_dataset, verbosity

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
            args.seeds, args.test, args.out, args.target, args.threads) == (
        "nb201", None, "graf_all+zc", "auto", [32, 128, 1024], 3, "rest", "results",
        "val_accuracy", 1)
    args = parser.parse_args(["info"])
    assert (args.space, args.dataset, args.source, args.data_dir) == ("nb201", None, None, None)
    args = parser.parse_args(["shap"])
    assert (args.space, args.features, args.predictor, args.train_size,
            args.explain_size, args.background, args.explainer, args.seed, args.out) == (
        "nb201", "zc", "lightgbm", 1024, None, 20, "auto", 0, ".")
    assert (args.dataset or default_dataset(args.space)) == "cifar10"
    args = parser.parse_args(["bias", "--proxy", "synflow"])
    assert (args.space, args.dataset, args.quantity, args.strategy, args.method,
            args.fit_fraction, args.seed) == (
        "nb201", None, "cell_size", "all", "pearson", 1.0, 0)
    args = parser.parse_args(["proxies", "--model", "m:f"])
    assert (args.space, args.proxies, args.batch_size, args.device, args.seed, args.threads,
            args.factory_kwargs, args.input_shape) == (None, "all", 32, "cpu", 0, 1, {}, None)
    args = parser.parse_args(["-vv", "data", "where"])
    assert args.verbose == 2 and args.data_cmd == "where" and args.data_dir is None
    args = parser.parse_args(["summary", "a.csv"])
    assert (args.metric, args.rows, args.only, args.counts) == (
        "kendall_tau", "features,predictor", [], None)


def test_verbose_counts_before_and_after_the_command():
    parser = build_parser(["benchmark"])
    assert verbosity(parser.parse_args(["benchmark", "-v"])) == 1
    assert verbosity(parser.parse_args(["-v", "benchmark", "-vv"])) == 3
    assert verbosity(parser.parse_args(["benchmark"])) == 0


@pytest.mark.parametrize("space, dataset", [("nb201", "cifar10"), ("tnb101_micro", "class_scene"),
                                            ("nb101", "cifar10"), ("nb301", "cifar10"),
                                            ("tnb101_macro", "class_scene")])
def test_default_dataset_is_the_spaces_first(space, dataset):
    assert default_dataset(space) == dataset
    if dataset is not None:
        assert resolve_dataset(space, None) == dataset
        assert resolve_dataset(space, dataset) == dataset


def test_resolve_dataset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="not a task of tnb101_micro; choose one of: class_scene"):
        resolve_dataset("tnb101_micro", "cifar10")
    with pytest.raises(ValueError, match="not a dataset of nb301; choose one of: cifar10"):
        resolve_dataset("nb301", "cifar100")
    with pytest.raises(ValueError, match="unknown search space"):
        resolve_dataset("nope", None)


MY_COMMANDS = ("benchmark", "info", "bias", "summary", "proxies")


@pytest.mark.parametrize("name", MY_COMMANDS)
def test_every_option_has_a_help_text_and_shows_its_default_once(name):
    parser = build_parser([name])
    sub = next(a for a in parser._actions if a.dest == "command").choices[name]
    for action in sub._actions:
        assert action.help, f"{name} {action.option_strings or action.dest} has no help"
    text = sub.format_help()
    for block in re.split(r"\n  (?=-)", text):
        assert block.count("default:") <= 1, block


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_is_plain_text(name):
    parser = build_parser([name])
    sub = next(a for a in parser._actions if a.dest == "command").choices[name]
    text = sub.format_help()
    for raw in ("``", ":func:", ":mod:", ":class:", ":data:", "::\n"):
        assert raw not in text, (name, raw)
    assert "(default: None)" not in text and "data_dir=" not in text


def test_option_types_reject_bad_values_with_one_message():
    from nasperf.eval.cli import _options as o

    assert o.int_list(" 32, 128 ") == [32, 128] and o.shape("3x32x32") == (3, 32, 32)
    assert o.test_size("rest") == "rest" and o.test_size("7") == 7
    assert o.json_object('{"a": 1}') == {"a": 1} and o.fraction("0.5") == 0.5
    for fn, text, match in ((o.int_list, "32,0", "positive"), (o.int_list, "a,b", "integers"),
                            (o.int_list, ",", "integers"), (o.shape, "3,-1", "3,32,32"),
                            (o.test_size, "0", "rest"), (o.json_object, "[1]", "object"),
                            (o.json_object, "{x", "not valid JSON"), (o.positive_int, "0", ">= 1"),
                            (o.seed_count, "0", "number of random training draws"),
                            (o.fraction, "1.5", r"\(0, 1\]"), (o.nonnegative_int, "-1", ">= 0")):
        with pytest.raises(ValueError, match=match):  # also an argparse.ArgumentTypeError
            fn(text)


def test_unknown_or_missing_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "invalid choice" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nasperf.eval.cli", "summary", "--help"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "--counts" in proc.stdout
