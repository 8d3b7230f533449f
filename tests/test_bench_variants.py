"""The variants benchmark: label-free neighbour features and a run on a toy benchmark."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(name: str):
    """Import ``benchmarks/<name>.py`` as running it by path would (its folder first on
    ``sys.path``, for ``_common``)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


bench_variants = load_script("bench_variants")
VARIANTS, run_variants = bench_variants.VARIANTS, bench_variants.run_variants
hamming1_neighbours = bench_variants.hamming1_neighbours
neighbour_mean = bench_variants.neighbour_mean


def test_hamming1_neighbours_by_hand():
    codes = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 1], [2, 0, 0]])
    nb = hamming1_neighbours(codes, chunk=2)
    assert [n.tolist() for n in nb] == [[1, 3], [0, 2], [1], [0]]


def test_neighbour_mean_ignores_nan():
    X = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 8.0]])
    nb = [np.array([1]), np.array([0, 2]), np.array([1])]
    out = neighbour_mean(X, nb)
    np.testing.assert_allclose(out, [[2.0, 4.0], [3.0, 6.0], [4.0, 6.0]])


def test_run_variants_on_toy_benchmark(toy_bench, tmp_path):
    names = ["ET (baseline)", "ET + Hamming-1 neighbour-averaged proxies",
             "rank-average of ET (all features) + ET (proxies)"]
    df = run_variants(toy_bench, names, [60], seeds=2, out=tmp_path)
    assert len(df) == 6 and (tmp_path / "variants.csv").is_file()
    # y grows with the number of 3x3 convs, which the graph features see exactly
    assert (df["kendall_tau"] > 0.5).all()
    assert set(VARIANTS) >= set(names)
    with pytest.raises(ValueError, match="unknown variants"):
        run_variants(toy_bench, ["nope"], [60], seeds=1)
