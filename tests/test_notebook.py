"""The quickstart notebook is executed end to end, so it cannot rot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs(data_dir, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env_before = os.environ.get("NASPERF_DATA")
    os.environ["NASPERF_DATA"] = str(data_dir)  # the kernel inherits the environment
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("NASPERF_DATA")
        else:
            os.environ["NASPERF_DATA"] = env_before
    outputs = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "Kendall tau on" in outputs
    assert (tmp_path / "quickstart_shap_bar.png").stat().st_size > 1000
