"""Shared fixtures: the benchmark data directory (tests needing it skip without it) and a
small synthetic NB201 benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nasperf.searchspaces import Benchmark, get_space
from nasperf.searchspaces.data import find_data_dir
from nasperf.searchspaces.errors import DataNotFoundError


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data directory, or skip the test with the places looked at."""
    try:
        return find_data_dir(need="nas-bench-suite-zero/zc_nasbench201.json")
    except DataNotFoundError as exc:
        pytest.skip(f"benchmark data not available: {exc}")


@pytest.fixture(scope="session")
def toy_bench() -> Benchmark:
    """300 NB201 cells; y grows with the number of 3x3 convs; one informative proxy."""
    space = get_space("nb201")
    archs = list(dict.fromkeys(space.sample(400, seed=1)))[:300]
    rng = np.random.default_rng(0)
    n_conv = np.array([a.ops.count("nor_conv_3x3") for a in archs], float)
    y = 80 + 2 * n_conv + rng.normal(0, 0.5, len(archs))
    index = pd.Index([space.to_string(a) for a in archs], name="arch")
    proxies = pd.DataFrame({"synflow": n_conv + rng.normal(0, 1, len(archs)),
                            "params": rng.random(len(archs))}, index=index)
    proxies.iloc[3, 0] = np.nan  # a failed proxy must not break anything
    frame = pd.concat([pd.DataFrame({"val_accuracy": y}, index=index), proxies], axis=1)
    return Benchmark(space, "toy", "synthetic", "val_accuracy", archs, y, proxies, frame)
