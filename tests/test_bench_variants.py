"""The variants benchmark: label-free neighbour features and a run on a toy benchmark."""

import numpy as np
import pytest
from nasperf.eval.bench_variants import VARIANTS, hamming1_neighbours, neighbour_mean, run_variants


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
