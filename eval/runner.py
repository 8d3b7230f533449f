"""The predictor benchmark: a grid of feature sets x predictors x train sizes x seeds.

Protocol (the literature's, e.g. White et al. 2021, GRAF): for every seed draw a random
training set of ``n`` architectures from the benchmark, fit on it, and score the prediction
on **all** other architectures (``test="rest"``), or on a random subset of them of a given
size. Every predictor and feature set sees the same splits. One row per
(features, predictor, train size, seed) with every metric of :mod:`nasperf.eval.metrics` and the
fit / predict wall times; rows are appended to ``results.csv`` as they finish, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from nasperf.searchspaces import Benchmark, load_benchmark

from .features import build_features, split_families

log = logging.getLogger(__name__)

KEY = ["space", "dataset", "source", "target", "features", "predictor", "train_size", "seed"]


def split(n_total: int, train_size: int, seed: int, test: str | int = "rest"
          ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a random training set and of its test set (the rest, or a subset of it)."""
    if not 0 < train_size < n_total:
        raise ValueError(f"train size {train_size} must be in 1..{n_total - 1}")
    perm = np.random.default_rng(seed).permutation(n_total)
    train, rest = perm[:train_size], perm[train_size:]
    if test != "rest":
        rest = rest[: int(test)]
    return np.sort(train), np.sort(rest)


def _make_predictor(name: str, seed: int):
    from nasperf.predictors import get_predictor

    return get_predictor(name, random_state=seed)


def run_benchmark(
    space: str,
    dataset: str | None = None,
    features: Sequence[str] = ("graf+zc",),
    predictors: Sequence[str] = ("lightgbm",),
    train_sizes: Sequence[int] = (32, 128, 1024),
    seeds: int | Sequence[int] = 5,
    test: str | int = "rest",
    out: str | Path | None = None,
    source: str | None = None,
    target: str = "val_accuracy",
    data_dir: str | Path | None = None,
    dedup: bool = False,
    bench: Benchmark | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the grid and return the tidy results table.

    Parameters
    ----------
    features : list of str
        Feature sets; each is one family or several joined by ``+`` (see
        :data:`nasperf.eval.features.FEATURE_FAMILIES`).
    predictors : list of str
        Names for :func:`nasperf.predictors.get_predictor`. Every predictor gets ``X`` as a
        DataFrame with the ``"<family>:<feature>"`` column names; one with a
        ``feature_groups`` parameter (``omni``, ``auto``) also gets the feature set's
        families as column groups (family name -> column indices, from
        :func:`~nasperf.eval.features.build_features`).
    seeds : int or list of int
        Number of random training draws (seeds ``0..seeds-1``) or explicit seeds.
    out : path, optional
        Directory for ``results.csv``, ``results.json``, plots and the feature cache.
        Rows already in ``results.csv`` are not run again. Without matplotlib (the
        ``plots`` extra) the plot is skipped with a logged warning.
    dedup : bool
        Merge architectures that build the same network before splitting
        (:meth:`searchspaces.Benchmark.deduplicate`).
    bench : Benchmark, optional
        Use this benchmark instead of loading ``space``/``dataset``.
    """
    from tqdm.auto import tqdm

    from .metrics import all_metrics

    bench = bench or load_benchmark(space, dataset, data_dir=data_dir, source=source,
                                    target=target, dedup=dedup)
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    out = Path(out) if out is not None else None
    csv = out / "results.csv" if out else None
    done: set[tuple] = set()
    rows: list[dict] = []
    if csv is not None and csv.is_file():
        prev = pd.read_csv(csv)
        rows = prev.to_dict("records")
        done = {tuple(r[k] for k in KEY) for r in rows}
        log.info("resuming: %d rows already in %s", len(done), csv)
    ident = dict(space=bench.space.name, dataset=bench.dataset, source=bench.source,
                 target=bench.target)
    valid = np.isfinite(bench.y)
    if not valid.all():
        log.warning("%d architectures without a target value are left out", (~valid).sum())
    idx_valid = np.flatnonzero(valid)
    tasks = [(f, p, n, s) for f in features for s in seeds for n in train_sizes for p in predictors]
    todo = [t for t in tasks if tuple([*ident.values(), t[0], t[1], t[2], t[3]]) not in done]
    bar = tqdm(total=len(todo), desc=f"{bench.space.name}/{bench.dataset}", disable=not progress)
    cache = {}
    for feat, pred_name, n, seed in todo:
        if feat not in cache:
            X, names, groups = build_features(bench, feat,
                                              cache_dir=out / "cache" if out else None)
            # rows without a target are dropped, columns never: the groups index these
            # columns. Named columns also let predictors pick families by prefix ("zc:").
            cache[feat] = (pd.DataFrame(X[idx_valid], columns=names),
                           {f: groups[f] for f in split_families(feat)})
        X, family_groups = cache[feat]
        y = bench.y[idx_valid]
        tr, te = split(len(y), n, seed, test)
        model = clone(_make_predictor(pred_name, seed))
        if "feature_groups" in model.get_params(deep=False):  # e.g. omni, auto
            model.set_params(feature_groups={f: list(c) for f, c in family_groups.items()})
        t0 = time.perf_counter()
        model.fit(X.iloc[tr], y[tr])
        t1 = time.perf_counter()
        extra = {}
        if hasattr(model, "predict_std"):  # uncertainty: coverage of the 68 % / 95 % intervals
            y_hat, std = (np.asarray(v, dtype=float)
                          for v in model.predict(X.iloc[te], return_std=True))
            z = np.abs(y[te] - y_hat) / np.maximum(std, 1e-12)
            extra = {"coverage_68": float(np.mean(z <= 1.0)),
                     "coverage_95": float(np.mean(z <= 1.96))}
        else:
            y_hat = np.asarray(model.predict(X.iloc[te]), dtype=float)
        t2 = time.perf_counter()
        if hasattr(model, "best_name_"):  # a CV selector: which candidate it chose
            extra["chosen"] = model.best_name_
        row = {**ident, "features": feat, "predictor": pred_name, "train_size": n,
               "seed": seed, "n_test": len(te), **all_metrics(y[te], y_hat), **extra,
               "fit_seconds": t1 - t0, "predict_seconds": t2 - t1}
        rows.append(row)
        if csv is not None:
            csv.parent.mkdir(parents=True, exist_ok=True)
            _append_row(csv, row)
        bar.set_postfix(tau=f"{row['kendall_tau']:.3f}", feat=feat, pred=pred_name, n=n)
        bar.update()
    bar.close()
    df = pd.DataFrame(rows)
    keep = (df["space"] == ident["space"]) & (df["dataset"] == ident["dataset"]) & \
        (df["features"].isin(features)) & (df["predictor"].isin(predictors)) & \
        (df["train_size"].isin(train_sizes)) & (df["seed"].isin(seeds)) if len(df) else []
    df = df[keep].reset_index(drop=True) if len(df) else df
    if out is not None and len(df):
        (out / "results.json").write_text(json.dumps(df.to_dict("records"), indent=1))
        from .plots import plot_metric_vs_train_size

        try:
            plot_metric_vs_train_size(df, out / f"tau_{ident['space']}_{ident['dataset']}.png")
        except ImportError as exc:  # matplotlib is optional: the tables are written anyway
            log.warning("no plot: %s", exc)
    return df


def _append_row(csv: Path, row: dict) -> None:
    """Append one row; rewrite the file when the row brings new columns (e.g. coverage)."""
    if csv.is_file():
        old = pd.read_csv(csv)
        if set(row) - set(old.columns):
            pd.concat([old, pd.DataFrame([row])]).to_csv(csv, index=False)
            return
        pd.DataFrame([row]).reindex(columns=old.columns).to_csv(csv, mode="a", header=False,
                                                                 index=False)
        return
    pd.DataFrame([row]).to_csv(csv, index=False)


def summarise(df: pd.DataFrame, metric: str = "kendall_tau") -> pd.DataFrame:
    """``mean ± std`` of ``metric`` over seeds: rows features/predictor, columns train size."""
    from .summary import summary_table

    return summary_table(df, metric).set_index(["features", "predictor"]).drop(columns="seeds")
