"""The quickstart notebook is executed end to end, so it cannot rot, and its outputs stay
worth reading: no warnings or progress-bar lines on stderr, figures shown inline, nothing
written into the checkout or the working directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def _git_status() -> str | None:
    """``git status --porcelain`` of the checkout (ignored files excluded), or ``None``
    outside a git checkout."""
    try:
        res = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    return res.stdout if res.returncode == 0 else None


@pytest.mark.slow
def test_quickstart_notebook_runs(data_dir, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "the notebook is stored without outputs"
    status_before = _git_status()
    cwd, scratch = tmp_path / "cwd", tmp_path / "tmp"  # where it runs, its temporary files
    cwd.mkdir()
    scratch.mkdir()
    env = {"NASPERF_DATA": str(data_dir), "TMPDIR": str(scratch)}
    env_before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                   for o in outputs)
    assert "Kendall tau on" in text
    stderr = "".join(o.get("text", "") for o in outputs
                     if o.get("output_type") == "stream" and o.get("name") == "stderr")
    assert "Warning" not in stderr and "TqdmWarning" not in text
    assert not stderr, f"a cell wrote to stderr (a log, warning or text progress bar):\n{stderr}"
    for cell in nb.cells:  # every code cell says something: a sentence, a table or a figure
        if cell.cell_type == "code":
            assert cell.outputs, f"cell without output:\n{cell.source}"
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 2, "the benchmark and SHAP figures are shown inline"
    assert not any(str(o.get("data", {}).get("text/plain", "")).startswith(("PosixPath(", "'/"))
                   for o in outputs), "a cell shows a path instead of what it wrote"
    # nothing written where the notebook runs, nor into the checkout
    assert not list(cwd.iterdir())
    assert list(scratch.rglob("*.png")), "the SHAP plot goes to a temporary directory"
    if status_before is not None:
        assert _git_status() == status_before
