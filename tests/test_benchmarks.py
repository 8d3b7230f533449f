"""Smoke tests of the benchmark scripts in ``benchmarks/``: each runs by path on tiny
settings (a few seconds) and writes what its full run writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "benchmarks"



def run_script(name: str, *args: str, cwd: Path) -> str:
    """Run ``python benchmarks/<name>.py args`` in ``cwd``; return its stdout."""
    proc = subprocess.run([sys.executable, str(SCRIPTS / f"{name}.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_benchmarks_are_not_installed():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert not [p for p in packages["packages"] if "benchmarks" in p]
    assert "benchmarks" not in " ".join(packages["package-dir"].values())


@pytest.mark.data
def test_verify_spaces(data_dir, tmp_path):
    out = run_script("verify_spaces", "--limit", "3", "--data-dir", str(data_dir),
                     "--out", str(tmp_path / "spaces.md"), cwd=tmp_path)
    assert "| nb201 | zc_nasbench201.json [cifar10] | 3 | 3 | 3 | 3 | 3 |" in out
    assert "archs_nasbench301.json" in (tmp_path / "spaces.md").read_text()


@pytest.mark.data
def test_bench_variants(data_dir, tmp_path):
    out = run_script("bench_variants", "--n-cells", "150", "--variants",
                     "ET (baseline),ET on proxies only", "--train-sizes", "40", "--seeds", "1",
                     "--out", str(tmp_path / "var"), "--data-dir", str(data_dir), cwd=tmp_path)
    assert out.splitlines()[0] == "| variant | n=40 | seeds |"
    df = pd.read_csv(tmp_path / "var" / "variants.csv")
    assert len(df) == 2 and (df["train_size"] == 40).all()


@pytest.mark.data
def test_bench_predictors(data_dir, tmp_path):
    doc = tmp_path / "predictors.md"
    out = run_script("bench_predictors", "--benchmarks", "nb201_cifar10", "--train-sizes", "20",
                     "--seeds", "1", "--predictors", "random_forest", "--out",
                     str(tmp_path / "pred"), "--doc", str(doc), "--data-dir", str(data_dir),
                     cwd=tmp_path)
    assert "## nb201 cifar10 (graf)" in out and "random_forest" in out
    df = pd.read_csv(tmp_path / "pred" / "nb201_cifar10" / "results.csv")
    assert df[["train_size", "seed"]].values.tolist() == [[20, 0]]
    assert doc.read_text().startswith("# Predictors")


@pytest.mark.data
def test_bench_encoders(data_dir, tmp_path):
    out = run_script("bench_encoders", "--features", "one-hot", "GRAF (paper, NB201)",
                     "--n-cells", "150", "--train-sizes", "20", "--seeds", "1", "--n-jobs", "1",
                     "--out", str(tmp_path), "--data-dir", str(data_dir), cwd=tmp_path)
    assert "| GRAF (paper, NB201) | 191 |" in out
    results = pd.read_csv(tmp_path / "encoders_benchmark.csv")
    assert results["features"].tolist() == ["one-hot", "GRAF (paper, NB201)"]
    timing = pd.read_csv(tmp_path / "encoders_timing.csv")  # each in a fresh process
    assert timing[["space", "n_archs"]].values.tolist() == [["nb201", 150], ["nb301", 150]]


@pytest.mark.data
def test_bench_learned_encoders(data_dir, tmp_path):
    out = run_script("bench_learned_encoders", "--n-cells", "150", "--n-pretrain", "150",
                     "--arch2vec-epochs", "1", "--cate-epochs", "1", "--regressors", "rf",
                     "--train-sizes", "20", "--seeds", "1", "--cache-dir", str(tmp_path / "ckpt"),
                     "--out", str(tmp_path / "le.json"), "--data-dir", str(data_dir),
                     cwd=tmp_path)
    assert "Kendall tau, rf" in out
    result = json.loads((tmp_path / "le.json").read_text())
    assert result["n_cells"] == 150
    assert set(result["kendall_tau"]["rf"]) == {"onehot", "arch2vec", "cate"}


@pytest.mark.data
def test_bench_proxies(data_dir, tmp_path):
    run_script("bench_proxies", "--n-archs", "1", "--n-deterministic", "3", "--skip",
               "graf,timing", "--out", str(tmp_path), "--data-dir", str(data_dir), cwd=tmp_path)
    det = pd.read_csv(tmp_path / "proxies_nb201_deterministic.csv")
    assert len(det) == 3 and {"ours_params", "ours_flops", "ours_synflow"} <= set(det.columns)
    assert len(pd.read_csv(tmp_path / "proxies_nb201_scores.csv")) == 1
    md = (tmp_path / "proxies_benchmark.md").read_text()
    assert "python benchmarks/bench_proxies.py" in md and "## All proxies on 1 cells" in md


@pytest.mark.data
@pytest.mark.slow
def test_bench_auto(data_dir, tmp_path):
    out = run_script("bench_auto", "--tasks", "nb101/cifar10,many_features", "--seeds", "1",
                     "--train-sizes", "32", "--noise", "40", "--out", str(tmp_path / "auto"),
                     "--data-dir", str(data_dir), cwd=tmp_path)
    lines = out.splitlines()
    assert lines[0] == ("| task | n | auto (graf_all+zc) | auto_previous (graf_all+zc) | "
                        "lightgbm (graf+zc) | seeds |")
    assert any(line.startswith("| many_features | 32 |") for line in lines)
    df = pd.read_csv(tmp_path / "auto" / "auto_generalisation.csv")
    assert len(df) == 6 and set(df["predictor"]) == {"auto", "auto_previous", "lightgbm"}
    again = run_script("bench_auto", "--table", str(tmp_path / "auto" / "auto_generalisation.csv"),
                       cwd=tmp_path)
    assert again.splitlines() == lines  # the table is reprinted from the CSV alone
