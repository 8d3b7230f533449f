"""The graph neural predictor (``gnn``) on NB201 CIFAR-10: Kendall tau and fit / predict time.

Four configurations on the same splits (:func:`nasperf.eval.runner.run_benchmark`, seeds
``0..k-1``, training sets of ``--train-sizes`` cells, tested on all other cells of the 9,445
of the GRAF table):

- ``gnn`` on ``graph`` (the cell's graph only);
- ``gnn`` on ``graph+zc`` (the precomputed zero-cost proxies as global features);
- ``gnn_pretrained`` on ``arch2vec_graph+zc`` (arch2vec's encoder fine-tuned, the proxies);
- ``extra_trees`` on ``graf+zc`` (the reference: GRAF features and the proxies).

Usage (from the repository root)::

    python benchmarks/bench_gnn.py --seeds 3 --train-sizes 32,128 --out results/bench_gnn

writes ``<out>/results.csv`` (resumable: a rerun skips finished rows) and prints a markdown
table: per configuration and train size, Kendall tau (mean ± std over seeds) and the mean fit
and predict seconds.

``--tune`` instead compares a few settings of ``gnn`` by ``--folds``-fold cross-validation
*inside* the training sets of the same splits (the test cells are never looked at) and prints
the mean inner-CV Kendall tau of each; the defaults of
:class:`nasperf.predictors.gnn.GNNPredictor` were chosen this way.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import int_list, str_list
from sklearn.model_selection import KFold

from nasperf._utils import kendall_tau
from nasperf.eval.features import build_features
from nasperf.eval.runner import run_benchmark, split
from nasperf.eval.tables import markdown_table
from nasperf.predictors import get_predictor
from nasperf.predictors.gnn import normal_scores
from nasperf.searchspaces import load_benchmark

log = logging.getLogger("bench_gnn")

#: (features, predictor) pairs of the benchmark.
CONFIGS: tuple[tuple[str, str], ...] = (
    ("graph", "gnn"),
    ("graph+zc", "gnn"),
    ("arch2vec_graph+zc", "gnn_pretrained"),
    ("graf+zc", "extra_trees"),
)

#: The settings before tuning (early stopping, no weight decay), the base of most of
#: :data:`TUNE_GRID`.
BEFORE = {"early_stopping": True, "weight_decay": 0.0}
#: No early stopping, no weight decay.
ALL_DATA = {"early_stopping": False, "weight_decay": 0.0}

#: Settings compared by ``--tune``: name -> GNNPredictor keyword arguments (``default``: the
#: predictor's defaults, chosen with this grid).
TUNE_GRID: dict[str, dict] = {
    "default": {},
    "early_stopping": BEFORE,
    "pairwise": {**BEFORE, "loss": "pairwise"},
    "forward_edges": {**BEFORE, "edge_direction": "forward"},
    "mean_pool": {**BEFORE, "pool": "mean"},
    "4_layers": {**BEFORE, "n_layers": 4},
    "hidden_128": {**BEFORE, "hidden_dim": 128},
    "lr_3e-3": {**BEFORE, "lr": 3e-3},
    "patience_50": {**BEFORE, "patience": 50},
    "5_members": {**BEFORE, "n_ensemble": 5},
    "pairwise_patience_50": {**BEFORE, "loss": "pairwise", "patience": 50},
    "pairwise_4_layers_patience_50": {**BEFORE, "loss": "pairwise", "n_layers": 4,
                                      "patience": 50},
    "patience_50_validation_0.1_300": {**BEFORE, "patience": 50, "validation_fraction": 0.1,
                                       "max_epochs": 300},
    "no_early_stopping_50": {**ALL_DATA, "max_epochs": 50},
    "no_early_stopping_100": {**ALL_DATA, "max_epochs": 100},
    "no_early_stopping_200": {**ALL_DATA, "max_epochs": 200},
    "pairwise_no_early_stopping_100": {**ALL_DATA, "loss": "pairwise", "max_epochs": 100},
    "no_early_stopping_100_4_layers": {**ALL_DATA, "max_epochs": 100, "n_layers": 4},
    "no_early_stopping_100_wd_1e-4": {**ALL_DATA, "max_epochs": 100, "weight_decay": 1e-4},
    "no_early_stopping_200_wd_1e-4": {**ALL_DATA, "max_epochs": 200, "weight_decay": 1e-4},
    "batch_128": {"batch_size": 128},
    "batch_128_400": {"batch_size": 128, "max_epochs": 400},
    # fine-tune the backbone the graphs carry (features arch2vec_graph or pretrained_graph)
    "pretrained": {"backbone": "pretrained"},
    "pretrained_backbone_lr_1e-4": {"backbone": "pretrained", "backbone_lr": 1e-4},
    "pretrained_backbone_lr_1e-5": {"backbone": "pretrained", "backbone_lr": 1e-5},
    "pretrained_dropout_0.1": {"backbone": "pretrained", "dropout": 0.1},
    "pretrained_5_members": {"backbone": "pretrained", "n_ensemble": 5},
    "pretrained_5_members_dropout_0.1": {"backbone": "pretrained", "n_ensemble": 5,
                                         "dropout": 0.1},
    "pretrained_backbone_lr_1e-5_5_members_dropout_0.1": {
        "backbone": "pretrained", "backbone_lr": 1e-5, "n_ensemble": 5, "dropout": 0.1},
    "pretrained_backbone_lr_1e-5_dropout_0.2": {"backbone": "pretrained", "backbone_lr": 1e-5,
                                                "dropout": 0.2},
    # attention layers instead of GIN layers, and members alternating GIN and GAT (FLAN-style)
    "gat": {"backbone": "gat"},
    "gin+gat": {"backbone": "gin+gat"},
    "gin+gat_6_members": {"backbone": "gin+gat", "n_ensemble": 6},
    # the same, trained on the normal scores of the targets' ranks (see RANK_TARGET_SETTINGS)
    "rank_targets": {},
    "pretrained_rank_targets": {"backbone": "pretrained"},
}

#: Settings of :data:`TUNE_GRID` trained on the normal scores of the training targets' ranks
#: instead of the targets (NB201's accuracies have a long tail of broken networks, which
#: dominates a squared error); Kendall tau needs no map back to accuracies.
RANK_TARGET_SETTINGS = frozenset({"rank_targets", "pretrained_rank_targets"})


def run(seeds: int, train_sizes: list[int], out: Path, data_dir: str | None) -> pd.DataFrame:
    bench = load_benchmark("nb201", "cifar10", data_dir=data_dir)
    frames = []
    for features, predictor in CONFIGS:
        log.info("%s on %s, sizes %s, %d seeds", predictor, features, train_sizes, seeds)
        frames.append(run_benchmark("nb201", "cifar10", features=[features],
                                    predictors=[predictor], train_sizes=train_sizes,
                                    seeds=seeds, bench=bench, out=out))
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(out / "bench_gnn.csv", index=False)
    return table


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration and train size: tau (mean ± std), seeds, mean timings."""
    rows = []
    for (feat, pred, n), g in table.groupby(["features", "predictor", "train_size"], sort=False):
        tau = g["kendall_tau"]
        rows.append({"predictor": pred, "features": feat, "n": int(n),
                     "kendall_tau": f"{tau.mean():.3f} ± {tau.std(ddof=1):.3f}"
                     if len(g) > 1 else f"{tau.mean():.3f}",
                     "seeds": len(g), "fit_s": f"{g['fit_seconds'].mean():.2f}",
                     "predict_s": f"{g['predict_seconds'].mean():.2f}"})
    return pd.DataFrame(rows)


def tune(seeds: int, train_sizes: list[int], folds: int, names: list[str], features: str,
         data_dir: str | None) -> pd.DataFrame:
    """Mean inner-CV Kendall tau of each setting of :data:`TUNE_GRID` (training cells only)."""
    bench = load_benchmark("nb201", "cifar10", data_dir=data_dir)
    X, cols, _ = build_features(bench, features, progress=False, graphs=True)
    X = pd.DataFrame(X, columns=cols).infer_objects()
    y = np.asarray(bench.y, dtype=float)
    rows = []
    for n in train_sizes:
        for seed in range(seeds):
            train, _ = split(len(y), n, seed)  # the runner's training set; its test set unused
            for fold, (a, b) in enumerate(KFold(folds, shuffle=True,
                                                random_state=seed).split(train)):
                tr, va = train[a], train[b]
                for name in names:
                    model = get_predictor("gnn", random_state=seed, **TUNE_GRID[name])
                    t0 = time.perf_counter()
                    y_fit = (normal_scores(y[tr])[:, 0] if name in RANK_TARGET_SETTINGS
                             else y[tr])
                    pred = model.fit(X.iloc[tr], y_fit).predict(X.iloc[va])
                    rows.append({"setting": name, "n": n, "seed": seed, "fold": fold,
                                 "inner_tau": kendall_tau(y[va], pred),
                                 "seconds": time.perf_counter() - t0})
    df = pd.DataFrame(rows)
    return (df.groupby(["n", "setting"], sort=False)
              .agg(inner_tau=("inner_tau", "mean"), seconds=("seconds", "mean"))
              .round(3).reset_index())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (default: 3)")
    p.add_argument("--train-sizes", type=int_list, default=[32, 128, 1024],
                   help="train sizes (default: 32,128,1024)")
    p.add_argument("--data-dir", default=None, help="benchmark data directory")
    p.add_argument("--out", type=Path, default=Path("results/bench_gnn"),
                   help="output directory (default: results/bench_gnn)")
    p.add_argument("--tune", action="store_true",
                   help="compare gnn settings by cross-validation inside the training sets")
    p.add_argument("--folds", type=int, default=4, help="inner CV folds of --tune (default: 4)")
    p.add_argument("--settings", type=str_list, default=["default", "early_stopping"],
                   help=f"settings of --tune (default: default,early_stopping; known: "
                        f"{', '.join(TUNE_GRID)})")
    p.add_argument("--features", default="graph",
                   help="feature set of --tune (default: graph)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = p.parse_args()
    unknown = [s for s in args.settings if s not in TUNE_GRID]
    if unknown:
        p.error(f"unknown settings {unknown}; known: {', '.join(TUNE_GRID)}")
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    if args.tune:
        print(markdown_table(tune(args.seeds, args.train_sizes, args.folds, args.settings,
                                  args.features, args.data_dir)))
        return
    print(markdown_table(summary(run(args.seeds, args.train_sizes, args.out, args.data_dir))))


if __name__ == "__main__":
    main()
