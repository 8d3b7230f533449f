"""The recipes of CONTRIBUTING.md and the snippets of README.md run as written, each alone in
a fresh interpreter (so that the names they register do not leak into other tests, and a
snippet that leans on an earlier one fails), and print what they compute."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "CONTRIBUTING.md").read_text(), re.S)
#: text each recipe prints, in the order of the file: a proxy, a space, a predictor.
EXPECTED = ["{'weight_count': 8.0}", "GRAFEncoder (8, ", "["]
README_SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
#: text each README snippet prints, in the order of the file: the space and the benchmark,
#: encoders / predictors / proxies, the benchmark grid, search.
README_EXPECTED = [r"\|skip_connect~0\|\+\|nor_conv_3x3~0\|.*Benchmark\(space='nb201'",
                   r"Kendall tau 0\.\d+.*'synflow'.*auto chose .*auto: Kendall tau 0\.\d+",
                   r"n=32 +n=128.*graf_all\+zc +extra_trees +0\.\d+ ± .*written to ",
                   r"test_value.*predictor_guided +1 .*NB201Arch\(ops="]


def test_three_recipes():
    assert len(SNIPPETS) == len(EXPECTED)


@pytest.mark.parametrize("i", range(len(EXPECTED)))
def test_recipe_runs(i, tmp_path):
    res = subprocess.run([sys.executable, "-c", SNIPPETS[i]], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert EXPECTED[i] in res.stdout


def test_readme_snippets_listed():
    assert len(README_SNIPPETS) == len(README_EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(README_EXPECTED)))
def test_readme_snippet_runs_alone(i, data_dir, tmp_path):
    scratch = tmp_path / "tmp"  # where a snippet's tempfile directories go
    scratch.mkdir()
    env = {**os.environ, "NASPERF_DATA": str(data_dir), "TMPDIR": str(scratch)}
    res = subprocess.run([sys.executable, "-c", README_SNIPPETS[i]], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert re.search(README_EXPECTED[i], res.stdout, re.S), res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"], "wrote into the cwd"
