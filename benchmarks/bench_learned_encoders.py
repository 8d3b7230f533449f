"""Benchmark of the learned encoders (arch2vec, CATE) against one-hot on NB201 CIFAR-10.

Pretrains both encoders on the 15,625 NB201 cells (no labels), encodes the 9,445 GRAF cells
(CIFAR-10 validation accuracy) and reports, as Markdown tables on stdout:

1. pretraining budget and quality (epochs, wall time, final losses, held-out reconstruction,
   validity of decoded prior samples, held-out masked-op accuracy);
2. Kendall tau of scikit-learn regressors (random forest, Gaussian process) trained on
   ``--train-sizes`` random cells and tested on all remaining cells, mean +- std over
   ``--seeds`` seeds;
3. embedding smoothness: mean |delta accuracy| between each cell and its nearest neighbour
   in encoding space (Euclidean) vs random pairs.

Usage (from the repository root)::

    python benchmarks/bench_learned_encoders.py --out /tmp/bench/learned_encoders.json

``--n-cells`` and ``--n-pretrain`` restrict the run to the first cells of the benchmark and
of the space (a quick check); by default everything runs. ``--encoders arch2vec`` skips CATE;
``--arch2vec-graph pruned|fixed`` (default ``auto``, i.e. fixed on NB201) and
``--arch2vec-op-loss sigmoid`` select arch2vec's variants (the pruned graph or the reference's
unpruned 8-node cell; the reference's sigmoid + BCE of the ops)::

    python benchmarks/bench_learned_encoders.py --encoders arch2vec --regressors rf \
        --train-sizes 128,1024 --arch2vec-graph fixed --out /tmp/bench/a2v_fixed.json

``--summarize FILE ...`` prints one table row per such JSON file (arch2vec variant,
pretraining seed, Kendall tau, reconstruction and validity) and the mean over the files of
each variant, without running anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from collections.abc import Callable

import numpy as np
from _common import first_cells, int_list, str_list
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nasperf.eval.metrics import kendall_tau

log = logging.getLogger("bench_learned_encoders")

REGRESSORS: dict[str, Callable[[int], object]] = {
    "rf": lambda seed: RandomForestRegressor(n_estimators=200, n_jobs=1, random_state=seed),
    "gp": lambda seed: make_pipeline(
        StandardScaler(),
        GaussianProcessRegressor(ConstantKernel() * RBF(1.0) + WhiteKernel(1e-2),
                                 normalize_y=True, random_state=seed)),
}


def one_hot(archs, space) -> np.ndarray:
    """The project's OneHotEncoder if available, else the 6 edges x 5 ops one-hot."""
    try:
        from nasperf.encoders import OneHotEncoder

        return OneHotEncoder(space).fit_transform(archs)
    except ImportError:
        ops = list(space.ops)
        out = np.zeros((len(archs), 6 * len(ops)))
        for i, a in enumerate(archs):
            for e, op in enumerate(a.ops):
                out[i, e * len(ops) + ops.index(op)] = 1.0
        return out


def kendall_table(features: dict[str, np.ndarray], y: np.ndarray, sizes: list[int],
                  seeds: int, regressors: list[str]) -> dict:
    """Kendall tau on the held-out cells: results[reg][enc][size] = list over seeds."""
    results: dict = {}
    for reg in regressors:
        for name, X in features.items():
            for n in sizes:
                taus = []
                for seed in range(seeds):
                    idx = np.random.default_rng(seed).permutation(len(y))
                    train, test = idx[:n], idx[n:]
                    model = REGRESSORS[reg](seed).fit(X[train], y[train])
                    taus.append(kendall_tau(y[test], model.predict(X[test])))
                results.setdefault(reg, {}).setdefault(name, {})[n] = taus
                log.info("%s %s n=%d: tau %.3f +- %.3f", reg, name, n, np.mean(taus),
                         np.std(taus))
    return results


def smoothness(X: np.ndarray, y: np.ndarray, k: int = 5, n_random: int = 200_000,
               seed: int = 0) -> dict:
    """Mean |delta y| to the nearest neighbour / the k nearest neighbours vs random pairs."""
    nn = NearestNeighbors(n_neighbors=k + 1).fit(X)
    dist, ind = nn.kneighbors(X)
    # drop each point itself (it is not always in column 0 when there are exact duplicates)
    rows = []
    for i in range(len(X)):
        rows.append([j for j in ind[i] if j != i][:k])
    ind = np.array(rows)
    diff = np.abs(y[ind] - y[:, None])
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(y), n_random), rng.integers(0, len(y), n_random)
    keep = a != b
    return {"nn1": float(diff[:, 0].mean()), f"nn{k}": float(diff.mean()),
            "random": float(np.abs(y[a[keep]] - y[b[keep]]).mean()),
            "zero_distance_nn": float((dist[:, 1] == 0).mean())}


def main(argv: list[str] | None = None) -> dict:
    from nasperf.encoders.arch2vec import Arch2VecEncoder
    from nasperf.encoders.cate import CATEEncoder
    from nasperf.searchspaces import load_benchmark

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--train-sizes", default="32,128,1024")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--regressors", default="rf,gp")
    p.add_argument("--encoders", default="arch2vec,cate", help="learned encoders to run")
    p.add_argument("--arch2vec-epochs", type=int, default=10)
    p.add_argument("--arch2vec-graph", default="auto", choices=("auto", "pruned", "fixed"))
    p.add_argument("--arch2vec-op-loss", default="softmax", choices=("softmax", "sigmoid"))
    p.add_argument("--cate-epochs", type=int, default=10)
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads (1 is fastest on a shared CPU; 0 = torch default)")
    p.add_argument("--cache-dir", default=None, help="encoder checkpoint cache")
    p.add_argument("--n-cells", type=int, default=None,
                   help="only the first N benchmark cells (default: all)")
    p.add_argument("--n-pretrain", type=int, default=None,
                   help="pretrain on the first N cells of the space (default: all)")
    p.add_argument("--out", default=None, help="write all numbers to this JSON file")
    p.add_argument("--summarize", nargs="+", default=None, metavar="FILE",
                   help="only tabulate the arch2vec results of these --out files")
    args = p.parse_args(argv)
    if args.summarize:
        text = summarize(args.summarize)
        print(text)
        return {"summary": text}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # GP noise at its bound
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    bench = first_cells(load_benchmark("nb201", "cifar10", source="graf",
                                       data_dir=args.data_dir), args.n_cells)
    archs, y = bench.archs, np.asarray(bench.y, float)
    space = bench.space
    unlabeled = None if args.n_pretrain is None else space.enumerate()[:args.n_pretrain]
    log.info("%d cells, target %s", len(archs), bench.target)

    builders = {
        "arch2vec": lambda: Arch2VecEncoder(
            "nb201", epochs=args.arch2vec_epochs, graph=args.arch2vec_graph,
            op_loss=args.arch2vec_op_loss, random_state=args.random_state,
            cache_dir=args.cache_dir, data_dir=args.data_dir),
        "cate": lambda: CATEEncoder("nb201", epochs=args.cate_epochs,
                                    random_state=args.random_state, cache_dir=args.cache_dir,
                                    data_dir=args.data_dir),
    }
    unknown = set(str_list(args.encoders)) - set(builders)
    if unknown:
        p.error(f"unknown encoders {sorted(unknown)}; choose from {sorted(builders)}")
    encoders = {name: builders[name]() for name in str_list(args.encoders)}
    features = {"onehot": one_hot(archs, space)}
    reports = {}
    for name, enc in encoders.items():
        t0 = time.perf_counter()
        enc.fit(unlabeled=unlabeled)
        fit_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        features[name] = enc.transform(archs)
        reports[name] = {**enc.pretrain_report_, "fit_seconds_incl_loading": fit_seconds,
                         "transform_seconds": time.perf_counter() - t0,
                         "checkpoint": str(enc.checkpoint_path_)}

    sizes = int_list(args.train_sizes)
    taus = kendall_table(features, y, sizes, args.seeds, str_list(args.regressors))
    smooth = {name: smoothness(X, y) for name, X in features.items()}
    result = {"reports": reports, "kendall_tau": taus, "smoothness": smooth,
              "n_cells": len(archs), "args": vars(args)}
    print(markdown(result, sizes))
    if args.out:
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, default=str))
    return result


def summarize(paths: list[str]) -> str:
    """Markdown table of the arch2vec runs in ``paths`` (``--out`` files): one row per run,
    then per variant (graph, op loss, epochs) the mean over its runs."""
    from pathlib import Path

    keys = ("op_accuracy", "adj_accuracy", "graph_accuracy", "validity_ops", "validity",
            "in_space", "uniqueness")
    rows, sizes = [], None
    for path in paths:
        result = json.loads(Path(path).read_text())
        a = result["reports"]["arch2vec"]
        taus = result["kendall_tau"]["rf"]["arch2vec"]
        sizes = sizes or list(taus)
        variant = (a.get("graph", "pruned"), a.get("op_loss", "softmax"), a["epochs"])
        rows.append((variant, result["args"]["random_state"],
                     [float(np.mean(taus[n])) for n in sizes],
                     [float(np.std(taus[n])) for n in sizes], [a[k] for k in keys]))
    head = ("| graph | op loss | epochs | pretraining seed | "
            + " | ".join(f"RF tau n={n}" for n in sizes)
            + " | op acc | adj acc | graph exact | validity (ops) | validity (graph) | in space"
              " | unique |")
    lines = [head, "|" + "---|" * (4 + len(sizes) + len(keys))]
    for (g, o, e), seed, mean, std, q in sorted(rows, key=lambda r: (r[0], r[1])):
        lines.append(f"| {g} | {o} | {e} | {seed} | "
                     + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, std))
                     + " | " + " | ".join(f"{v:.4f}" if k.endswith("accuracy") else f"{v:.3f}"
                                          for k, v in zip(keys, q)) + " |")
    lines.append("")
    lines += ["| graph | op loss | epochs | runs | "
              + " | ".join(f"RF tau n={n}, mean ± std over runs" for n in sizes)
              + " | op acc | graph exact | validity (graph) | in space |",
              "|" + "---|" * (8 + len(sizes))]
    variants = sorted({r[0] for r in rows})
    for v in variants:
        sel = [r for r in rows if r[0] == v]
        means = np.array([r[2] for r in sel])
        q = np.array([r[4] for r in sel]).mean(0)
        lines.append(f"| {v[0]} | {v[1]} | {v[2]} | {len(sel)} | "
                     + " | ".join(f"{means[:, k].mean():.3f} ± {means[:, k].std():.3f}"
                                  for k in range(len(sizes)))
                     + f" | {q[0]:.4f} | {q[2]:.4f} | {q[4]:.3f} | {q[5]:.3f} |")
    return "\n".join(lines)


def markdown(result: dict, sizes: list[int]) -> str:
    """The tables of docs/learned_encoders.md."""
    lines = []
    a, c = result["reports"].get("arch2vec"), result["reports"].get("cate")
    lines += ["| model | epochs | pretraining wall time (s) | final loss | held-out quality |",
              "|---|---|---|---|---|"]
    if a is not None:
        fl = a["final_loss"]
        lines.append(
            f"| arch2vec ({a.get('graph', 'pruned')}, {a.get('op_loss', 'softmax')}) | "
            f"{a['epochs']} | {a['seconds']:.0f} | {fl['loss']:.3f} (ops {fl['ops']:.3f}, "
            f"adj {fl['adj']:.3f}, KL {fl['kl']:.1f}) | ops {a['op_accuracy']:.4f}, adjacency "
            f"{a['adj_accuracy']:.4f}, whole graph {a['graph_accuracy']:.4f} "
            f"({a['n_heldout']} graphs) |")
    if c is not None:
        lines.append(
            f"| CATE | {c['epochs']} | {c['seconds']:.0f} | {c['final_loss']:.3f} | masked-op "
            f"accuracy {c['heldout_mlm_accuracy']:.3f}, loss {c['heldout_mlm_loss']:.3f} "
            f"({c['n_heldout']} graphs) |")
    if a is not None:
        lines += ["", "| arch2vec prior samples | validity (ops only, as the reference) | "
                  "validity (graph) | in space | unique |", "|---|---|---|---|---|",
                  f"| {a['n_prior_samples']} | {a['validity_ops']:.3f} | {a['validity']:.3f} | "
                  f"{a['in_space']:.3f} | {a['uniqueness']:.3f} |"]
    lines.append("")
    for reg, by_enc in result["kendall_tau"].items():
        lines += [f"Kendall tau, {reg}, mean ± std over seeds", "",
                  "| encoding | " + " | ".join(f"n={n}" for n in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for name, by_n in by_enc.items():
            cells = [f"{np.mean(by_n[n]):.3f} ± {np.std(by_n[n]):.3f}" for n in sizes]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["| encoding | mean abs Δacc, nearest neighbour | 5 nearest | random pairs | "
              "NN at distance 0 |", "|---|---|---|---|---|"]
    for name, s in result["smoothness"].items():
        lines.append(f"| {name} | {s['nn1']:.3f} | {s['nn5']:.3f} | {s['random']:.3f} | "
                     f"{s['zero_distance_nn']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
