"""The recipes of CONTRIBUTING.md run as written (each in a fresh interpreter, so that the
names they register do not leak into other tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "CONTRIBUTING.md").read_text(), re.S)
#: text each recipe prints, in the order of the file: a proxy, a space, a predictor.
EXPECTED = ["{'weight_count': 8.0}", "GRAFEncoder (8, ", "["]


def test_three_recipes():
    assert len(SNIPPETS) == len(EXPECTED)


@pytest.mark.parametrize("i", range(len(EXPECTED)))
def test_recipe_runs(i, tmp_path):
    res = subprocess.run([sys.executable, "-c", SNIPPETS[i]], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert EXPECTED[i] in res.stdout
