"""Ideas for the best configuration, measured one by one on common splits.

Each variant is a function ``(ctx, tr, te, seed) -> predictions for the test cells`` in
:data:`VARIANTS`; all see the same splits (:func:`nasperf.eval.runner.split`, seeds ``0..k-1``) of
the same benchmark and are scored by Kendall tau on all non-training cells. Nothing here
looks at test labels: rank transforms and neighbour averages use the architectures and
proxies only (label-free), so they are legitimate for a predictor.

Usage (from the repository root)::

    python benchmarks/bench_variants.py --space nb201 --dataset cifar10 --seeds 3 \\
        --out results/variants_nb201_cifar10

writes ``variants.csv`` (one row per variant, train size and seed) and prints a markdown
table of mean ± std. ``--n-cells N`` keeps only the first N cells of the benchmark (a quick
check).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _common import first_cells, int_list, str_list
from scipy.stats import rankdata
from tqdm.auto import tqdm

from nasperf.eval.features import build_features
from nasperf.eval.metrics import kendall_tau
from nasperf.eval.runner import split
from nasperf.eval.summary import summary_table
from nasperf.eval.tables import markdown_table
from nasperf.predictors import get_predictor
from nasperf.searchspaces import Benchmark, load_benchmark

log = logging.getLogger(__name__)


@dataclass
class Context:
    """Feature matrices of one benchmark (rows = architectures, NaN allowed)."""

    y: np.ndarray
    X_all: np.ndarray  # graf_all + zc
    X_zc: np.ndarray   # the benchmark's proxies only
    X_nbr: np.ndarray  # proxies averaged over each cell and its Hamming-1 neighbours


def hamming1_neighbours(codes: np.ndarray, chunk: int = 512) -> list[np.ndarray]:
    """Indices of the rows of ``codes`` ``(n, d)`` (integer op ids) that differ in exactly
    one position from each row."""
    out = []
    for start in range(0, len(codes), chunk):
        diff = (codes[start:start + chunk, None, :] != codes[None, :, :]).sum(-1)
        out.extend(np.flatnonzero(row == 1) for row in diff)
    return out


def neighbour_mean(X: np.ndarray, neighbours: list[np.ndarray]) -> np.ndarray:
    """Mean of each column over a row and its neighbours, ignoring NaN (label-free)."""
    out = np.empty_like(X)
    for i, nb in enumerate(neighbours):
        with np.errstate(all="ignore"):
            out[i] = np.nanmean(X[np.append(nb, i)], axis=0)
    return out


def build_context(bench: Benchmark, cache_dir: Path | None = None) -> Context:
    from nasperf.encoders import OneHotEncoder

    X_all, _, groups = build_features(bench, "graf_all+zc", cache_dir=cache_dir)
    X_zc = X_all[:, groups["zc"]]
    codes = np.asarray(OneHotEncoder(bench.space, categorical=True).fit_transform(bench.archs))
    nbr = hamming1_neighbours(codes)
    log.info("Hamming-1 neighbours inside the benchmark: mean %.1f per cell",
             np.mean([len(n) for n in nbr]))
    log_zc = np.sign(X_zc) * np.log1p(np.abs(X_zc))  # proxies span decades: average in log
    return Context(bench.y, X_all, X_zc, neighbour_mean(log_zc, nbr))


def _fit_predict(name: str, X: np.ndarray, y: np.ndarray, tr, te, seed: int, **kw) -> np.ndarray:
    return get_predictor(name, random_state=seed, **kw).fit(X[tr], y[tr]).predict(X[te])


def _rank_mean(*preds: np.ndarray) -> np.ndarray:
    return np.mean([rankdata(p) for p in preds], axis=0)


Variant = Callable[[Context, np.ndarray, np.ndarray, int], np.ndarray]

def _et_all(c: Context, tr, te, s: int) -> np.ndarray:
    return _fit_predict("extra_trees", c.X_all, c.y, tr, te, s)


def _et_zc(c: Context, tr, te, s: int) -> np.ndarray:
    return _fit_predict("extra_trees", c.X_zc, c.y, tr, te, s)


#: Variant name (no commas: ``--variants`` is comma-separated) -> predictions of the test
#: cells. ET = ExtraTrees, RF = random forest; trees use their registry defaults.
VARIANTS: dict[str, Variant] = {
    "ET (baseline)": _et_all,
    "ET on proxies only": _et_zc,
    "ET on rank-transformed targets":
        lambda c, tr, te, s: get_predictor("extra_trees", random_state=s)
        .fit(c.X_all[tr], rankdata(c.y[tr])).predict(c.X_all[te]),
    "rank-average of ET + RF + LightGBM":
        lambda c, tr, te, s: _rank_mean(*(_fit_predict(p, c.X_all, c.y, tr, te, s)
                                          for p in ("extra_trees", "random_forest", "lightgbm"))),
    "rank-average of ET (all features) + ET (proxies)":
        lambda c, tr, te, s: _rank_mean(_et_all(c, tr, te, s), _et_zc(c, tr, te, s)),
    "ET + Hamming-1 neighbour-averaged proxies":
        lambda c, tr, te, s: _fit_predict("extra_trees", np.hstack([c.X_all, c.X_nbr]), c.y,
                                          tr, te, s),
    "LightGBM 800 trees / learning rate 0.03 / 15 leaves":
        lambda c, tr, te, s: _fit_predict("lightgbm", c.X_all, c.y, tr, te, s,
                                          params=dict(n_estimators=800, learning_rate=0.03,
                                                      num_leaves=15)),
}


def run_variants(bench: Benchmark, variants: list[str], train_sizes: list[int], seeds: int,
                 out: Path | None = None) -> pd.DataFrame:
    """One row per (variant, train size, seed) with the Kendall tau on all other cells."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    ctx = build_context(bench, cache_dir=out / "cache" if out else None)
    rows = []
    tasks = [(v, n, s) for n in train_sizes for s in range(seeds) for v in variants]
    for v, n, s in tqdm(tasks, desc="variants"):
        tr, te = split(len(ctx.y), n, s, "rest")
        tau = kendall_tau(ctx.y[te], VARIANTS[v](ctx, tr, te, s))
        rows.append(dict(space=bench.space.name, dataset=bench.dataset, features=v,
                         predictor="", train_size=n, seed=s, kendall_tau=tau))
    df = pd.DataFrame(rows)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        df.to_csv(out / "variants.csv", index=False)
    return df


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="nb201")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names")
    p.add_argument("--train-sizes", default="32,128,1024")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--n-cells", type=int, default=None,
                   help="only the first N cells of the benchmark (default: all)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bench = first_cells(load_benchmark(args.space, args.dataset, data_dir=args.data_dir),
                        args.n_cells)
    df = run_variants(bench, str_list(args.variants), int_list(args.train_sizes), args.seeds,
                      args.out)
    table = summary_table(df, rows=("features",)).rename(columns={"features": "variant"})
    print(markdown_table(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
