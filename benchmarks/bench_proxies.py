"""Benchmark of ``zerocost`` on NAS-Bench-201 (CIFAR-10) against NAS-Bench-Suite-Zero.

Three parts, each written to ``--out`` (default ``docs/``) as it goes, so an interrupted
run resumes where it stopped:

1. deterministic proxies (params, flops, synflow) on every NB201 cell of the benchmark file
   (724), compared with the stored values -> ``proxies_nb201_deterministic.csv``; params and
   flops also on all 9,445 cells of the GRAF CSV -> ``proxies_nb201_graf_params_flops.json``;
2. every proxy on ``--n-archs`` cells (a seeded sample) with the default digits batch,
   Spearman correlation with the stored scores and with validation accuracy
   -> ``proxies_nb201_scores.csv``;
3. wall time on ``--n-timing`` of those cells: all proxies in one call vs one call per
   proxy -> ``proxies_nb201_timing.csv``.

The tables go to ``proxies_benchmark.md``. Run from the repository root::

    python benchmarks/bench_proxies.py --n-archs 200 --n-timing 10 --threads 1 --out docs

Needs the benchmark data directory (see ``nasperf.searchspaces.find_data_dir``).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from nasperf.searchspaces import get_space, load_benchmark
from nasperf.zerocost import compute_proxies, get_proxy, list_proxies
from nasperf.zerocost.tools import seeded_model

log = logging.getLogger("bench_proxies")
DETERMINISTIC = ["params", "flops", "synflow"]


def _done(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame()
    return pd.read_csv(path, on_bad_lines="skip").drop_duplicates("arch", keep="last")


def _append(path: Path, row: dict) -> None:
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def _model(space, arch_str: str, seed: int) -> torch.nn.Module:
    return seeded_model(space, space.parse(arch_str), seed)


def _rho(a, b) -> tuple[float, int]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan, int(ok.sum())
    return float(spearmanr(a[ok], b[ok]).statistic), int(ok.sum())


def run_deterministic(space, bench, out: Path, seed: int, limit: int | None) -> pd.DataFrame:
    path = out / "proxies_nb201_deterministic.csv"
    done = set(_done(path).get("arch", []))
    archs = list(bench.frame.index)[:limit]
    x = torch.zeros(1, 3, 32, 32)
    for i, a in enumerate(archs):
        if a in done:
            continue
        s = compute_proxies(_model(space, a, seed), x, DETERMINISTIC, seed=seed)
        _append(path, {"arch": a, **{f"ours_{k}": v for k, v in s.items()}})
        if i % 100 == 0:
            log.info("deterministic: %d / %d", i, len(archs))
    df = _done(path).set_index("arch").loc[archs]
    for k in DETERMINISTIC:
        df[f"bench_{k}"] = bench.frame.loc[archs, k].to_numpy(float)
    return df


def deterministic_table(df: pd.DataFrame) -> str:
    rel = (df.ours_params - df.bench_params).abs() / df.bench_params
    fl_rho, n_fl = _rho(df.ours_flops, df.bench_flops)
    sf_rho, n_sf = _rho(df.ours_synflow, df.bench_synflow)
    d = (df.ours_synflow - df.bench_synflow).abs()
    d = d[np.isfinite(d)]
    lines = [
        "| check | cells | result |", "|---|---|---|",
        f"| params within 1% of the benchmark | {len(df)} | {float((rel <= 0.01).mean()):.1%} "
        f"(max relative error {float(rel.max()):.2g}) |",
        f"| flops Spearman | {n_fl} | {fl_rho:.4f} (max abs difference "
        f"{float((df.ours_flops - df.bench_flops).abs().max()):.2g} MFLOPs: equal) |",
        f"| synflow Spearman | {n_sf} | {sf_rho:.4f} |",
        f"| synflow abs log difference, median / 95% / max | {len(d)} | "
        f"{float(d.median()):.3f} / {float(d.quantile(0.95)):.3f} / {float(d.max()):.3f} |",
    ]
    return "\n".join(lines)


def run_graf_params_flops(space, graf_frame, out: Path, seed: int) -> dict:
    """params and flops of every GRAF cell vs the CSV; only a summary JSON is kept (the
    per-cell rows live in a hidden partial file while running, for resuming)."""
    summary = out / "proxies_nb201_graf_params_flops.json"
    if summary.is_file():
        return json.loads(summary.read_text())
    path = out / ".proxies_nb201_graf_params_flops.partial.csv"
    done = set(_done(path).get("arch", []))
    archs = list(graf_frame.index)
    x = torch.zeros(1, 3, 32, 32)
    for i, a in enumerate(archs):
        if a in done:
            continue
        s = compute_proxies(_model(space, a, seed), x, ["params", "flops"], seed=seed)
        _append(path, {"arch": a, "ours_params": s["params"], "ours_flops": s["flops"]})
        if i % 1000 == 0:
            log.info("GRAF params/flops: %d / %d", i, len(archs))
    df = _done(path).set_index("arch").loc[archs]
    bp = graf_frame.loc[archs, "params"].to_numpy(float)
    bf = graf_frame.loc[archs, "flops"].to_numpy(float)
    rel = np.abs(df.ours_params.to_numpy() - bp) / bp
    rho, n = _rho(df.ours_flops, bf)
    res = {"n": len(df), "params_within_1pct": float((rel <= 0.01).mean()),
           "params_max_rel_err": float(rel.max()), "flops_spearman": rho, "flops_n": n,
           "flops_max_abs_diff": float(np.abs(df.ours_flops.to_numpy() - bf).max())}
    summary.write_text(json.dumps(res, indent=1) + "\n")
    path.unlink()
    return res


def graf_table(r: dict) -> str:
    return "\n".join([
        f"| params within 1% of the GRAF CSV | {r['n']} | {r['params_within_1pct']:.1%} "
        f"(max relative error {r['params_max_rel_err']:.2g}) |",
        f"| flops Spearman vs the GRAF CSV | {r['flops_n']} | {r['flops_spearman']:.4f} "
        f"(max abs difference {r['flops_max_abs_diff']:.2g} MFLOPs) |",
    ])


def run_scores(space, bench, archs: list[str], out: Path, seed: int) -> pd.DataFrame:
    path = out / "proxies_nb201_scores.csv"
    done = set(_done(path).get("arch", []))
    names = list_proxies()
    for i, a in enumerate(archs):
        if a in done:
            continue
        t0 = time.perf_counter()
        res = compute_proxies(_model(space, a, seed), None, names, seed=seed,
                              return_details=True)
        row = {"arch": a, **{k: r.score for k, r in res.items()},
               **{f"sec_{k}": r.seconds for k, r in res.items()},
               "seconds_total": time.perf_counter() - t0}
        _append(path, row)
        log.info("scores: %d / %d (%.1f s)", i + 1, len(archs), row["seconds_total"])
    return _done(path).set_index("arch").loc[archs]


def scores_table(df: pd.DataFrame, bench, graf) -> str:
    acc = bench.frame.loc[df.index, "val_accuracy"].to_numpy(float)
    # ρ columns use the cells where both our value and the benchmark's are finite
    lines = ["| proxy | higher is better | NaN (ours) | ρ(ours, benchmark) | "
             "ρ(ours, val acc) | ρ(benchmark, val acc) | ρ(ours, GRAF csv) [n] |",
             "|---|---|---|---|---|---|---|"]
    for k in list_proxies():
        ours = df[k].to_numpy(float)
        nan = int(np.isnan(ours).sum())
        if k in bench.proxies.columns:
            theirs = bench.frame.loc[df.index, k].to_numpy(float)
            both = np.isfinite(ours) & np.isfinite(theirs)  # same cells for both columns
            r_b, n_b = _rho(ours[both], theirs[both])
            r_acc, _ = _rho(ours[both], acc[both])
            r_ba, _ = _rho(theirs[both], acc[both])
            cb, cba = f"{r_b:.3f} [{n_b}]", f"{r_ba:.3f}"
        else:
            r_acc, _ = _rho(ours, acc)
            cb = cba = "—"
        cg = "—"
        if graf is not None and k in graf.columns:
            common = df.index.intersection(graf.index)
            r_g, n_g = _rho(df.loc[common, k], graf.loc[common, k])
            cg = f"{r_g:.3f} [{n_g}]"
        hib = "yes" if get_proxy(k).higher_is_better else "no"
        lines.append(f"| {k} | {hib} | {nan} | {cb} | {r_acc:.3f} | {cba} | {cg} |")
    return "\n".join(lines)


def run_timing(space, archs: list[str], out: Path, seed: int) -> pd.DataFrame:
    path = out / "proxies_nb201_timing.csv"
    done = set(_done(path).get("arch", []))
    names = list_proxies()
    for a in archs:
        if a in done:
            continue
        model = _model(space, a, seed)
        compute_proxies(model, None, ["params"], seed=seed)  # warm caches (digits, allocator)
        t0 = time.perf_counter()
        res = compute_proxies(model, None, names, seed=seed, return_details=True)
        together = time.perf_counter() - t0
        alone = {}
        for k in names:
            t0 = time.perf_counter()
            compute_proxies(model, None, [k], seed=seed)
            alone[k] = time.perf_counter() - t0
        _append(path, {"arch": a, "together": together, "separately": sum(alone.values()),
                       **{f"shared_{k}": res[k].seconds for k in names},
                       **{f"alone_{k}": alone[k] for k in names}})
        log.info("timing: together %.1f s, separately %.1f s", together, sum(alone.values()))
    return _done(path).set_index("arch").loc[archs]


def timing_table(df: pd.DataFrame, threads: int) -> str:
    # ntk runs its own forward on 16 of the 32 samples by default, so it is not counted here
    shared = [k for k in list_proxies() if get_proxy(k).needs - {"sample_grad_gram"}]
    lines = [
        f"All proxies on one NB201 cell (full size, batch 32 digits), CPU "
        f"({platform.processor() or platform.machine()}), torch threads = {threads}, "
        f"mean over {len(df)} cells:", "",
        "| | seconds per architecture |", "|---|---|",
        f"| all proxies in one call (shared passes) | {df.together.mean():.2f} |",
        f"| one call per proxy (sum) | {df.separately.mean():.2f} |",
        f"| speed-up | {df.separately.mean() / df.together.mean():.2f}x |",
        f"| the {len(shared)} proxies of the shared train pass ({', '.join(shared)}), "
        f"together / separately | {df[[f'shared_{k}' for k in shared]].sum(axis=1).mean():.2f} / "
        f"{df[[f'alone_{k}' for k in shared]].sum(axis=1).mean():.2f} |", "",
        "| proxy | seconds in the shared call (own + share of passes) | seconds alone |",
        "|---|---|---|",
    ]
    for k in list_proxies():
        lines.append(f"| {k} | {df[f'shared_{k}'].mean():.3f} | {df[f'alone_{k}'].mean():.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-archs", type=int, default=200)
    p.add_argument("--n-timing", type=int, default=10)
    p.add_argument("--n-deterministic", type=int, default=None, help="default: all cells")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", type=Path, default=Path("docs"))
    p.add_argument("--skip", default="", help="comma-separated parts to skip: "
                   "deterministic,graf,scores,timing")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("nasperf.zerocost").setLevel(logging.ERROR)  # NaN reasons are in the table
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))

    space = get_space("nb201")
    bench = load_benchmark("nb201", "cifar10", source="zc", data_dir=args.data_dir)
    try:
        graf_bench = load_benchmark("nb201", "cifar10", source="graf", data_dir=args.data_dir)
        graf = graf_bench.proxies
    except (OSError, ValueError):
        graf_bench = graf = None
    rng = np.random.default_rng(args.seed)
    order = [bench.frame.index[i] for i in rng.permutation(len(bench.frame))]

    sections = [
        "# zerocost on NAS-Bench-201 (CIFAR-10) vs NAS-Bench-Suite-Zero\n",
        f"Generated by `python benchmarks/bench_proxies.py --n-archs {args.n_archs} --n-timing "
        f"{args.n_timing} --threads {args.threads} --out {args.out}` (seed {args.seed}). "
        "Benchmark values: `zc_nasbench201.json`, `cifar10` (computed by the benchmark "
        "authors with NASLib on GPU with one CIFAR-10 batch of 32). Ours: standard NB201 "
        "network, `torch.manual_seed(seed)` init, the default batch of 32 scikit-learn digits "
        "resized to 3x32x32 (not CIFAR-10). ρ = Spearman.\n",
    ]
    if "deterministic" not in skip:
        det = run_deterministic(space, bench, args.out, args.seed, args.n_deterministic)
        sections += ["## Deterministic proxies\n", deterministic_table(det)]
        if graf_bench is not None and "graf" not in skip:
            sections.append(graf_table(run_graf_params_flops(space, graf_bench.frame, args.out,
                                                             args.seed)))
        sections.append("")
    if "scores" not in skip:
        sc = run_scores(space, bench, order[:args.n_archs], args.out, args.seed)
        sections += [f"## All proxies on {len(sc)} cells\n", scores_table(sc, bench, graf), ""]
    if "timing" not in skip:
        tm = run_timing(space, order[:args.n_timing], args.out, args.seed)
        sections += ["## Wall time\n", timing_table(tm, args.threads), ""]
    (args.out / "proxies_benchmark.md").write_text("\n".join(sections) + "\n")
    log.info("wrote %s", args.out / "proxies_benchmark.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
