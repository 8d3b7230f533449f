"""Benchmark of the hand-built encodings: one-hot, path and GRAF features with a random forest.

NAS-Bench-201 CIFAR-10 (the 9,445 cells of the GRAF CSV, target: validation accuracy).
For every train size and seed, a plain ``RandomForestRegressor`` (default parameters,
``random_state=seed``) is fitted on a random training set and scored by Kendall's tau on
all other cells. Also times the encoding of all 15,625 NB201 cells and of the 11,221 NB301
architectures of ``archs_nasbench301.json``.

``GRAF (paper, NB201)`` is a reference: the 191 features exactly as the GRAF authors'
configuration ``nb201_full.json`` defines them on the edge-labelled cell (with ``none``
treated as an op), written here independently of :mod:`nasperf.graphfeatures`, to show how much the
ArchGraph-based definitions of :class:`nasperf.graphfeatures.GRAFEncoder` change the result.

Run from the repository root::

    python benchmarks/bench_encoders.py --out docs

Writes ``encoders_benchmark.csv`` (one row per feature set, train size and seed),
``encoders_timing.csv`` and ``encoders_benchmark.md`` (tables) into ``--out``. Each timing
runs in a fresh Python process (``--time-one``), so memoised graphs do not flatter it.
``--features`` and ``--n-cells`` restrict the run to some feature sets and to the first cells
(a quick check); by default everything runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from _common import first_cells, int_list
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor

from nasperf.encoders import OneHotEncoder, PathEncoder
from nasperf.eval.metrics import kendall_tau
from nasperf.eval.runner import split
from nasperf.eval.tables import markdown_table
from nasperf.graphfeatures import GRAFEncoder
from nasperf.searchspaces import get_space, load_archs, load_benchmark

log = logging.getLogger(__name__)

# -- the GRAF authors' NB201 features, for reference -----------------------------------------------
_CELL_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # NB201 string order


def _longest_or_shortest(edges: list[tuple[int, int]], longest: bool) -> int | None:
    """Edge count of the longest / shortest path 0 -> 3 over ``edges`` (None if none)."""
    best: dict[int, int] = {0: 0}
    for s, d in sorted(edges, key=lambda e: (e[1], e[0])):  # destinations in order
        if s in best:
            cand = best[s] + 1
            if d not in best:
                best[d] = cand
            else:
                best[d] = max(best[d], cand) if longest else min(best[d], cand)
    return best.get(3)


def paper_nb201_features(ops: Sequence[str], op_names: Sequence[str]) -> dict[str, float]:
    """The 191 NB201 features of the GRAF paper's configuration for one cell.

    ``ops``: the six edge ops in string order. Groups (``zc_combine/configs/nb201_full.json``):
    op counts (5, ``none`` included); shortest path length 0 -> 3 in edges avoiding each
    subset of 0..4 banned ops (31; 5 without a path); longest path using only each non-empty
    allowed subset (31; -1 without a path); out-degree of the input, in-degree of the output
    and mean in/out degree (= allowed edges / 4 nodes) per allowed subset (31 x 4).
    """
    f: dict[str, float] = {f"op_count[{o}]": float(sum(op == o for op in ops)) for o in op_names}
    edge_ops = list(zip(_CELL_EDGES, ops))
    subsets = [c for r in range(0, len(op_names) + 1) for c in
               itertools.combinations(op_names, r)]
    for banned in (s for s in subsets if len(s) < len(op_names)):
        length = _longest_or_shortest([e for e, op in edge_ops if op not in banned], False)
        f[f"min_path_len[banned={','.join(banned)}]"] = 5.0 if length is None else length
    for allowed in (s for s in subsets if s):
        length = _longest_or_shortest([e for e, op in edge_ops if op in allowed], True)
        f[f"max_op_on_path[{','.join(allowed)}]"] = -1.0 if length is None else length
    for allowed in (s for s in subsets if s):
        kept = [e for e, op in edge_ops if op in allowed]
        name = ",".join(allowed)
        f[f"in_degree[{name}]"] = float(sum(s == 0 for s, _ in kept))
        f[f"out_degree[{name}]"] = float(sum(d == 3 for _, d in kept))
        f[f"avg_in[{name}]"] = f[f"avg_out[{name}]"] = len(kept) / 4
    return f


def paper_nb201_matrix(archs: Sequence) -> np.ndarray:
    op_names = get_space("nb201").ops
    rows = [paper_nb201_features(a.ops, op_names) for a in archs]
    return pd.DataFrame(rows).to_numpy(dtype=float)


# -- benchmark ------------------------------------------------------------------------------------
#: The reference feature set computed by :func:`paper_nb201_matrix` (NB201 only).
PAPER = "GRAF (paper, NB201)"


def encoders() -> dict[str, Callable[[str], object]]:
    """Feature-set name -> factory(space) of the encoder."""
    return {
        "one-hot": lambda s: OneHotEncoder(s, progress=False),
        "path": lambda s: PathEncoder(s, progress=False),
        "GRAF": lambda s: GRAFEncoder(s, progress=False),
        "GRAF (all groups)": lambda s: GRAFEncoder(s, feature_groups="all", progress=False),
    }


def _check_features(names: Sequence[str] | None, allowed: Sequence[str]) -> list[str]:
    names = list(allowed) if names is None else list(names)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f"unknown feature sets {unknown}; known: {list(allowed)}")
    return names


def evaluate(train_sizes: Sequence[int], seeds: Sequence[int], n_jobs: int,
             data_dir: str | None, features: Sequence[str] | None = None,
             n_cells: int | None = None) -> pd.DataFrame:
    """Kendall tau rows of every feature set (default: all of :func:`encoders` and
    :data:`PAPER`) on the GRAF cells (default: all; else the first ``n_cells``)."""
    names = _check_features(features, [*encoders(), PAPER])
    bench = first_cells(load_benchmark("nb201", "cifar10", source="graf", data_dir=data_dir),
                        n_cells)
    archs, y = bench.archs, bench.y
    makers = encoders()
    features = {name: (paper_nb201_matrix(archs) if name == PAPER
                       else makers[name]("nb201").fit_transform(archs)) for name in names}
    rows = []
    for name, x in features.items():
        for n_train, seed in itertools.product(train_sizes, seeds):
            train, test = split(len(y), n_train, seed)
            model = RandomForestRegressor(random_state=seed, n_jobs=n_jobs)
            model.fit(x[train], y[train])
            tau = kendall_tau(y[test], model.predict(x[test]))
            rows.append({"features": name, "n_features": x.shape[1], "train_size": n_train,
                         "seed": seed, "n_test": len(test), "kendall_tau": tau})
            log.info("%s n=%d seed=%d tau=%.3f", name, n_train, seed, tau)
    return pd.DataFrame(rows)


def time_one(space: str, name: str, data_dir: str | None, n_cells: int | None = None) -> dict:
    """Seconds of ``fit_transform`` of one encoder on all archs of ``space`` (or the first
    ``n_cells``): the first call (cold: nothing memoised in this process) and a second call
    on a fresh clone (warm)."""
    items = get_space("nb201").enumerate() if space == "nb201" else load_archs(space, data_dir)
    items = list(items)[:n_cells]
    enc = encoders()[name](space)
    row = {"space": space, "n_archs": len(items), "features": name}
    for run in ("cold", "warm"):
        wall, cpu = time.perf_counter(), time.process_time()
        x = clone(enc).fit_transform(items)
        row[f"{run}_wall_s"] = time.perf_counter() - wall
        row[f"{run}_cpu_s"] = time.process_time() - cpu
    row["n_features"] = x.shape[1]
    return row


def time_encoders(data_dir: str | None, features: Sequence[str] | None = None,
                  n_cells: int | None = None) -> pd.DataFrame:
    """:func:`time_one` for every encoder (or those in ``features``) on NB201 (15,625) and
    NB301 (11,221), each in a fresh Python process so that no graph is memoised from an
    earlier run."""
    names = [n for n in _check_features(features, [*encoders(), PAPER]) if n != PAPER]
    rows = []
    for space, name in itertools.product(("nb201", "nb301"), names):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--time-one", space, name]
        if data_dir is not None:
            cmd += ["--data-dir", data_dir]
        if n_cells is not None:
            cmd += ["--n-cells", str(n_cells)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        log.info("%s %s: %.1f s cold", space, name, rows[-1]["cold_wall_s"])
    cols = ["space", "n_archs", "features", "n_features", "cold_wall_s", "cold_cpu_s",
            "warm_wall_s", "warm_cpu_s"]
    return pd.DataFrame(rows)[cols]


def markdown(results: pd.DataFrame, timing: pd.DataFrame) -> str:
    """Tables: tau mean ± std per feature set and train size; encoding times."""
    stats = results.groupby(["features", "train_size"], sort=False)["kendall_tau"]
    cell = stats.mean().map("{:.3f}".format) + " ± " + stats.std().map("{:.3f}".format)
    table = cell.unstack("train_size")
    table.columns = [f"n={c}" for c in table.columns]
    table.insert(0, "n_features", results.groupby("features", sort=False)["n_features"].first())
    table = table.reset_index()
    n_cells = int(results["n_test"].iloc[0] + results["train_size"].iloc[0])
    lines = [f"Kendall tau of a default RandomForestRegressor on NB201 CIFAR-10 validation "
             f"accuracy ({n_cells:,} cells of the GRAF CSV; test set: all non-train cells); "
             f"mean ± std over {results['seed'].nunique()} seeds.", "",
             markdown_table(table, float_format="{:.1f}"), ""]
    if not timing.empty:
        lines += ["Encoding time of `fit_transform` in seconds, wall clock (shared 2-core "
                  "machine) and process CPU time; cold = first call in a fresh process, warm = "
                  "a second call (NB201 cell graphs are memoised by `searchspaces`):", "",
                  markdown_table(timing), ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs", help="output directory")
    parser.add_argument("--train-sizes", default="32,128,1024")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--n-jobs", type=int, default=2, help="random forest n_jobs")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-timing", action="store_true", help="skip the encoding timing")
    parser.add_argument("--no-eval", action="store_true",
                        help="reuse encoders_benchmark.csv in --out instead of re-running")
    parser.add_argument("--features", nargs="+", default=None, metavar="NAME",
                        help="feature sets, each one argument (default: all of "
                        + "; ".join([*encoders(), PAPER]) + ")")
    parser.add_argument("--n-cells", type=int, default=None,
                        help="only the first N cells (evaluation and timing; default: all)")
    parser.add_argument("--time-one", nargs=2, metavar=("SPACE", "FEATURES"),
                        help=argparse.SUPPRESS)  # internal: one timing, JSON on stdout
    args = parser.parse_args(argv)
    if args.time_one:
        print(json.dumps(time_one(*args.time_one, args.data_dir, args.n_cells)))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.no_eval:
        results = pd.read_csv(out / "encoders_benchmark.csv")
    else:
        results = evaluate(int_list(args.train_sizes), list(range(args.seeds)), args.n_jobs,
                           args.data_dir, args.features, args.n_cells)
        results.to_csv(out / "encoders_benchmark.csv", index=False)
    timing = pd.DataFrame() if args.no_timing else time_encoders(args.data_dir, args.features,
                                                                 args.n_cells)
    if not timing.empty:
        timing.to_csv(out / "encoders_timing.csv", index=False)
    (out / "encoders_benchmark.md").write_text(markdown(results, timing))
    print(markdown(results, timing))


if __name__ == "__main__":
    main()
