"""Every predictor on three benchmarks, features one-hot + the benchmark's zero-cost proxies.

Kendall tau on all non-training architectures, 5 random training draws per train size,
coverage of the 68 % / 95 % intervals for predictors with uncertainty, fit + predict time.
Resumable (rows are appended to ``<out>/<benchmark>/results.csv``)::

    python benchmarks/bench_predictors.py --out results/predictors --doc docs/predictors.md

``--benchmarks`` and ``--train-sizes`` restrict the run (a quick check); by default every
benchmark of :data:`BENCHMARKS` runs with its own train sizes.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import torch
from _common import int_list, str_list

from nasperf.eval.runner import run_benchmark
from nasperf.eval.tables import markdown_table
from nasperf.predictors import list_predictors
from nasperf.searchspaces import load_benchmark

#: (space, dataset, source, dedup, train sizes)
BENCHMARKS = [
    ("nb201", "cifar10", "graf", False, (10, 32, 128, 1024)),
    ("nb101", "cifar10", "zc", True, (10, 32, 128)),
    ("tnb101_micro", "class_scene", "zc", True, (10, 32, 128)),
]
FEATURES = "onehot+zc"


def benchmark_name(space: str, dataset: str) -> str:
    """The name of a benchmark of :data:`BENCHMARKS` (``--benchmarks``, output folder)."""
    return f"{space}_{dataset}"


def tables(df: pd.DataFrame) -> str:
    """Markdown: tau mean ± std per predictor and train size; coverage; timings."""
    out = []
    g = df.groupby(["predictor", "train_size"])
    tau = g["kendall_tau"].agg(["mean", "std"])
    cell = (tau["mean"].map("{:.3f}".format) + " ± " + tau["std"].map("{:.3f}".format))
    out += [markdown_table(cell.unstack("train_size").rename(columns=lambda c: f"n={c}"),
                           index=True), ""]
    if "coverage_68" in df:
        cov = g[["coverage_68", "coverage_95"]].mean().dropna()
        if len(cov):
            out += ["Coverage of the 68 % / 95 % predictive intervals on the test cells "
                    "(mean over seeds):", "", markdown_table(cov, index=True), ""]
    big = df[df["train_size"] == df["train_size"].max()]
    t = big.groupby("predictor")[["fit_seconds", "predict_seconds"]].mean()
    out += [f"Seconds at train size {big['train_size'].max()} (fit; predict on "
            f"{int(big['n_test'].iloc[0])} cells), mean over seeds, 2 CPU cores:", "",
            markdown_table(t, float_format="{:.2f}", index=True), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="results/predictors")
    p.add_argument("--doc", default=None)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--predictors", default=",".join(list_predictors()))
    p.add_argument("--data-dir", default=None)
    names = [benchmark_name(b[0], b[1]) for b in BENCHMARKS]
    p.add_argument("--benchmarks", default=",".join(names),
                   help="comma-separated, among (default: all) " + ", ".join(names))
    p.add_argument("--train-sizes", default=None,
                   help="comma-separated train sizes for every benchmark (default: each "
                   "benchmark's own)")
    args = p.parse_args(argv)
    chosen = str_list(args.benchmarks)
    unknown = [b for b in chosen if b not in names]
    if unknown:
        p.error(f"unknown benchmarks {unknown}; known: {', '.join(names)}")
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    sections = []
    for space, ds, source, dedup, sizes in BENCHMARKS:
        if benchmark_name(space, ds) not in chosen:
            continue
        sizes = int_list(args.train_sizes) if args.train_sizes else sizes
        bench = load_benchmark(space, ds, data_dir=args.data_dir, source=source, dedup=dedup)
        df = run_benchmark(space, features=[FEATURES], predictors=str_list(args.predictors),
                           train_sizes=sizes, seeds=args.seeds,
                           out=Path(args.out) / benchmark_name(space, ds), bench=bench)
        note = f", deduplicated to {len(bench)} distinct networks" if dedup else ""
        sections.append(f"## {space} {ds} ({source}{note})\n\n{tables(df)}")
        print(sections[-1], flush=True)
    if args.doc:
        Path(args.doc).write_text(
            "# Predictors\n\nProduced by `python benchmarks/bench_predictors.py --out "
            "results/predictors --doc docs/predictors.md`. Features: one-hot encoding + the "
            "benchmark's precomputed zero-cost proxies; test set: every non-training "
            "architecture; 5 random training draws.\n\n" + "\n\n".join(sections) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
