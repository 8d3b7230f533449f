"""The synthetic benchmark of the test suite (importable from tests and their subprocesses)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nasperf.searchspaces import Benchmark, get_space


def make_toy_bench(with_params: bool = True) -> Benchmark:
    """300 NB201 cells; y grows with the number of 3x3 convs; one informative proxy
    (``synflow``, one value NaN with ``with_params``) and, with ``with_params``, a random one."""
    space = get_space("nb201")
    archs = list(dict.fromkeys(space.sample(400, seed=1)))[:300]
    rng = np.random.default_rng(0)
    n_conv = np.array([a.ops.count("nor_conv_3x3") for a in archs], float)
    y = 80 + 2 * n_conv + rng.normal(0, 0.5, len(archs))
    index = pd.Index([space.to_string(a) for a in archs], name="arch")
    columns = {"synflow": n_conv + rng.normal(0, 1, len(archs))}
    if with_params:
        columns["params"] = rng.random(len(archs))
    proxies = pd.DataFrame(columns, index=index)
    if with_params:
        proxies.iloc[3, 0] = np.nan  # a failed proxy must not break anything
    frame = pd.concat([pd.DataFrame({"val_accuracy": y}, index=index), proxies], axis=1)
    return Benchmark(space, "toy", "synthetic", "val_accuracy", archs, y, proxies, frame)

#: Registry names of the predictors that take graphs (tests/test_gnn.py covers them).
GRAPH_PREDICTORS = frozenset({"gnn", "gnn_pretrained", "auto_gnn", "auto_gnn_pretrained"})
