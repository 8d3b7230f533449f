"""The ``nasperf proxies`` command (nasperf.eval.cli.proxies) and nasperf.zerocost.tools."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from nasperf.eval.cli import main
from nasperf.eval.cli import proxies as cli

SMALL = '{"channels": 4, "cells_per_stage": 1}'


def parse(argv):
    parser = argparse.ArgumentParser(prog="nasperf")
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    return parser.parse_args(["proxies", *argv])


def test_one_arch_table(capsys):
    args = parse(["--space", "nb201", "--arch", "(0, 2, 3, 2, 3, 1)", "--model-kwargs", SMALL,
                  "--proxies", "synflow,params,nwot", "--batch-size", "4"])
    assert args.func is cli.run
    assert cli.run(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["proxy", "score", "seconds"]
    assert [ln.split()[0] for ln in out[1:]] == ["synflow", "params", "nwot"]


def test_model_factory_json(capsys):
    args = parse(["--model", "torch.nn:Linear", "--factory-kwargs",
                  '{"in_features": 6, "out_features": 3}', "--proxies", "params,flops,synflow",
                  "--json", "--batch-size", "4"])
    assert cli.run(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["params"]["score"] == pytest.approx(21 / 1e6)
    assert res["flops"]["score"] == pytest.approx(18 / 1e6)
    assert res["synflow"]["mode"] == "eval"


def test_archs_file_resumes(tmp_path, capsys):
    archs = tmp_path / "archs.txt"
    archs.write_text("# two cells\n(0, 2, 3, 2, 3, 1)\n\n(4, 0, 4, 1, 2, 0)\n")
    out = tmp_path / "scores.jsonl"
    argv = ["--space", "nb201", "--archs-file", str(archs), "--out", str(out), "--model-kwargs",
            SMALL, "--proxies", "params,jacov", "--batch-size", "4", "--no-progress"]
    assert cli.run(parse(argv)) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 and set(lines[0]["scores"]) == {"params", "jacov"}
    archs.write_text(archs.read_text() + "(1, 0, 2, 2, 2, 1)\n")
    assert cli.run(parse(argv)) == 0
    assert "resuming: 2 of 3" in capsys.readouterr().err
    lines2 = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines2) == 3 and lines2[:2] == lines


def test_errors_exit_2_with_one_line(capsys):
    for argv, message in (
            (["--space", "nb201"], "exactly one of"),
            (["--arch", "(0, 2, 3, 2, 3, 1)"], "need --space"),
            (["--model", "no_such_module_xyz:f"], "cannot import"),
            (["--space", "nb201", "--arch", "(9, 9, 9, 9, 9, 9)"], "unknown op id")):
        assert main(["proxies", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("nasperf proxies: error: ") and message in err
        assert len(err.splitlines()) == 1


def test_threads_are_set_for_the_run_and_restored(monkeypatch, capsys):
    import torch

    seen = []
    monkeypatch.setattr(cli, "_run", lambda args: seen.append(torch.get_num_threads()) or 0)
    before = torch.get_num_threads()
    want = 2 if before != 2 else 3
    argv = ["proxies", "--model", "torch.nn:Linear", "--threads", str(want)]
    assert main(argv) == 0
    assert seen == [want] and torch.get_num_threads() == before
    assert main(argv[:-2]) == 0 and seen[-1] == 1  # the default


def test_one_arch_progress_follows_no_progress(monkeypatch, capsys):
    import nasperf.zerocost as zc

    calls = []

    def fake(model, batch=None, *, progress=False, **kw):
        calls.append(progress)
        return {}

    monkeypatch.setattr(zc, "compute_proxies", fake)
    argv = ["--model", "torch.nn:Linear", "--factory-kwargs", '{"in_features": 2, '
            '"out_features": 2}', "--proxies", "params", "--input-shape", "2"]
    assert cli.run(parse(argv)) == 0 and cli.run(parse([*argv, "--no-progress"])) == 0
    assert calls == [True, False]


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "nasperf.eval.cli", "proxies", "--space", "nb201", "--arch",
         "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
         "--proxies", "params,flops", "--json"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) == {"params", "flops"}


# -- nasperf.zerocost.tools ------------------------------------------------------------------------
def test_seeded_model_is_the_manual_seed_stream_and_keeps_the_callers_rng():
    import torch

    from nasperf.searchspaces import get_space
    from nasperf.zerocost.tools import seeded_model

    space = get_space("nb201")
    arch = space.parse("(0, 2, 3, 2, 3, 1)")
    kw = {"channels": 4, "cells_per_stage": 1}
    torch.manual_seed(123)
    state = torch.get_rng_state()
    model = seeded_model(space, arch, 7, kw)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's stream is untouched
    torch.manual_seed(7)
    reference = space.to_model(arch, **kw)
    for a, b in zip(model.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)


def test_load_factory_batch_and_table(tmp_path):
    import numpy as np
    import torch

    from nasperf.zerocost import compute_proxies
    from nasperf.zerocost.tools import format_table, load_batch, load_factory

    model = load_factory("torch.nn:Linear", {"in_features": 6, "out_features": 3})
    assert isinstance(model, torch.nn.Linear) and model.out_features == 3
    with pytest.raises(ValueError, match="package.module:factory"):
        load_factory("torch.nn.Linear")
    with pytest.raises(ValueError, match="has no attribute 'NoSuchLayer'.*callables there: "):
        load_factory("torch.nn:NoSuchLayer")
    with pytest.raises(ValueError, match="not a torch.nn.Module"):
        load_factory("math:pi")
    assert load_batch(None) is None
    np.savez(tmp_path / "b.npz", x=np.ones((4, 6), np.float32), y=np.arange(4) % 3)
    x, y = load_batch(tmp_path / "b.npz")
    assert x.shape == (4, 6) and y.tolist() == [0, 1, 2, 0]
    np.savez(tmp_path / "noxy.npz", z=np.ones(3))
    with pytest.raises(ValueError, match="needs an array 'x'"):
        load_batch(tmp_path / "noxy.npz")
    with pytest.raises(ValueError, match="does not exist"):
        load_batch(tmp_path / "missing.npz")
    res = compute_proxies(model, (x, y), ["params"], return_details=True)
    lines = format_table(res).splitlines()
    assert lines[0].split() == ["proxy", "score", "seconds", "better", "mode", "note"]
    assert lines[1].split()[:2] == ["params", f"{21 / 1e6:.6g}"]


MODELS = """
import torch.nn as nn
from helper_layers import width   # a sibling module of the file


def cnn(width=width):
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Flatten())


def not_a_model():
    return 3


def broken(**kw):
    raise RuntimeError("boom")
"""


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    (tmp_path / "mymodels.py").write_text(MODELS)
    (tmp_path / "helper_layers.py").write_text("width = 5\n")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in ("mymodels", "helper_layers"):
        sys.modules.pop(name, None)


def test_load_factory_finds_modules_and_files_of_the_working_directory(models_dir):
    import torch

    from nasperf.zerocost.tools import load_factory

    path_before = list(sys.path)
    model = load_factory("./mymodels.py:cnn")
    assert isinstance(model, torch.nn.Sequential) and model[0].out_channels == 5
    assert load_factory(f"{models_dir / 'mymodels.py'}:cnn", {"width": 3})[0].out_channels == 3
    sys.modules.pop("helper_layers", None)
    assert load_factory("mymodels:cnn", {"width": 2})[0].out_channels == 2  # like python -m
    assert sys.path == path_before


def test_load_factory_errors_name_the_problem(models_dir, monkeypatch):
    from nasperf.zerocost.tools import load_factory

    monkeypatch.delenv("PYTHONPATH", raising=False)
    with pytest.raises(ValueError, match=r"no module 'nomodels' in the working directory .*"
                       r"PYTHONPATH is unset.*path/to/nomodels.py:factory"):
        load_factory("nomodels:cnn")
    with pytest.raises(FileNotFoundError, match="model file ./missing.py .* does not exist"):
        load_factory("./missing.py:cnn")
    with pytest.raises(ValueError, match="has no attribute 'cnnn'.*callables there: broken, cnn, "
                       "not_a_model"):
        load_factory("./mymodels.py:cnnn")
    with pytest.raises(ValueError, match="returned an object of type int, not a torch.nn.Module"):
        load_factory("mymodels:not_a_model")
    with pytest.raises(ValueError, match="raised RuntimeError: boom"):
        load_factory("mymodels:broken")
    with pytest.raises(ValueError, match="raised TypeError"):
        load_factory("mymodels:cnn", {"depth": 3})
    (models_dir / "needs.py").write_text("import no_such_dependency_xyz\n")
    with pytest.raises(ValueError, match="needs module 'no_such_dependency_xyz', which is not "
                       "installed"):
        load_factory("needs:f")
    with pytest.raises(ValueError, match="raised ModuleNotFoundError"):
        load_factory("./needs.py:f")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="python -P is new in 3.11")
def test_cli_model_from_the_working_directory(models_dir):
    # -P: the working directory is not on sys.path, as for the installed `nasperf` script
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "nasperf.eval.cli", "proxies", "--model", "mymodels:cnn",
         "--input-shape", "3,8,8", "--proxies", "params", "--json", "--no-progress"],
        capture_output=True, text=True, timeout=120, check=False, cwd=models_dir)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["params"]["score"] == pytest.approx((3 * 9 * 5 + 5) / 1e6)
