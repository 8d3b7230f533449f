"""Per-architecture cost of ``compute_proxies``: time, peak memory and memory over many calls.

Four parts, on NB201 cells sampled with ``space.sample(n, seed=0)`` (full-size networks,
the default digits batch of ``--batch-size`` images, ``--threads`` torch threads):

1. time: on ``--n`` cells, each proxy alone (one ``compute_proxies`` call per proxy) and all
   proxies in one call; wall seconds per call, plus the ``ProxyResult.seconds`` of grasp
   inside the all-proxies call (its share);
2. peak memory: for each configuration (each proxy alone, all but ntk, all) a fresh
   subprocess per cell on the first ``--peak-cells`` cells measures the peak RSS
   (``VmHWM``, else ``ru_maxrss``) of one call; reported as the absolute peak and as the
   delta over the RSS just before the call (after importing torch, building the model and
   the batch);
3. RSS over ``--calls`` consecutive calls (all proxies but ntk, a different cell each call,
   one fresh subprocess): the RSS after calls 1, 50, 100, ..., ``--calls``;
4. one NB301 cell (``space.sample(1, seed=0)``, default network size): peak RSS of all but
   ntk, grasp alone and all but ntk and grasp (a subprocess each);
5. ``stages`` (not run by default): the train pass of snip and of grasp on ``--n`` cells,
   seconds per stage (forward, loss gradient, Hessian-gradient product);
6. ``trim`` (not run by default): all proxies but ntk, and snip, on ``--n`` cells with
   ``trim_memory=False`` and ``True``, in alternating blocks of calls (the cost of
   returning the memory after each call, paid by the next call).

Every row goes to ``--out`` (CSV, long format: part, config, cell, metric, value); the
summary tables are printed as markdown. Run from the repository root::

    python benchmarks/bench_proxy_cost.py --n 40 --batch-size 64 --threads 1 --calls 200 \
        --out docs/proxy_cost.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nasperf.eval.tables import markdown_table
from nasperf.searchspaces import get_space
from nasperf.zerocost import compute_proxies, default_batch, list_proxies
from nasperf.zerocost.tools import seeded_model

ALL_BUT_NTK = "all-but-ntk"
CONFIGS_EXTRA = ("all-but-ntk", "all")


def _proxies(config: str) -> list[str]:
    names = list_proxies()
    if config == "all":
        return names
    if config == ALL_BUT_NTK:
        return [n for n in names if n != "ntk"]
    if config == "all-but-ntk-grasp":
        return [n for n in names if n not in ("ntk", "grasp")]
    return config.split("+")


def _rss_mb() -> float:
    """Current resident set size in MiB (Linux ``/proc/self/statm``; else the peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _maxrss_mb()


def _maxrss_mb() -> float:
    """Peak RSS of this process image in MiB: ``VmHWM`` on Linux (``ru_maxrss`` survives
    ``execve``, so a child forked from a large parent would start at the parent's size),
    ``ru_maxrss`` elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _cells(space_name: str, n: int, seed: int = 0) -> tuple:
    space = get_space(space_name)
    return space, space.sample(n, seed=seed)


def _batch(batch_size: int):
    return default_batch((3, 32, 32), batch_size=batch_size, seed=0)


# -- child processes -----------------------------------------------------------------------
def child_peak(space_name: str, cell: int, config: str, batch_size: int) -> dict:
    space, archs = _cells(space_name, cell + 1)
    batch = _batch(batch_size)
    model = seeded_model(space, archs[cell], 0)
    before = _rss_mb()
    t0 = time.perf_counter()
    compute_proxies(model, batch, _proxies(config), seed=0)
    return {"seconds": time.perf_counter() - t0, "rss_before_mb": before,
            "peak_mb": _maxrss_mb(), "delta_mb": _maxrss_mb() - before}


def child_calls(calls: int, batch_size: int) -> dict:
    space, archs = _cells("nb201", calls, seed=1)
    batch = _batch(batch_size)
    names = _proxies(ALL_BUT_NTK)
    rss = []
    for arch in archs:
        compute_proxies(seeded_model(space, arch, 0), batch, names, seed=0)
        rss.append(_rss_mb())
    return {"rss_mb": rss}


def _run_child(args: list[str], threads: int) -> dict:
    cmd = [sys.executable, __file__, "--threads", str(threads), "--child", *args]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- parts ---------------------------------------------------------------------------------
def part_time(n: int, batch_size: int, rows: list) -> dict:
    space, archs = _cells("nb201", n)
    batch = _batch(batch_size)
    names = list_proxies()
    alone = {p: [] for p in names}
    together, grasp_share = [], []
    for i, arch in enumerate(archs):
        model = seeded_model(space, arch, 0)
        t0 = time.perf_counter()
        res = compute_proxies(model, batch, "all", seed=0, return_details=True)
        together.append(time.perf_counter() - t0)
        grasp_share.append(res["grasp"].seconds)
        rows.append(("time", "all", i, "seconds", together[-1]))
        rows.append(("time", "all", i, "grasp_seconds_in_all", res["grasp"].seconds))
        for p in names:
            rows.append(("score", "all", i, p, res[p].score))
        for p in names:
            t0 = time.perf_counter()
            s = compute_proxies(model, batch, [p], seed=0)[p]
            alone[p].append(time.perf_counter() - t0)
            rows.append(("time", p, i, "seconds", alone[p][-1]))
            rows.append(("score", p, i, p, s))
    return {"alone": {p: float(np.mean(v)) for p, v in alone.items()},
            "all": float(np.mean(together)), "grasp_in_all": float(np.mean(grasp_share))}


def part_peak(cells: int, batch_size: int, threads: int, rows: list) -> dict:
    out = {}
    for config in [*list_proxies(), *CONFIGS_EXTRA]:
        peaks, deltas = [], []
        for i in range(cells):
            r = _run_child(["peak", "nb201", str(i), config, str(batch_size)], threads)
            peaks.append(r["peak_mb"])
            deltas.append(r["delta_mb"])
            rows.append(("peak", config, i, "peak_mb", r["peak_mb"]))
            rows.append(("peak", config, i, "delta_mb", r["delta_mb"]))
        out[config] = (max(peaks), float(np.mean(peaks)), max(deltas), float(np.mean(deltas)))
    return out


def part_calls(calls: int, batch_size: int, threads: int, rows: list) -> list[float]:
    rss = _run_child(["calls", str(calls), str(batch_size)], threads)["rss_mb"]
    for i, v in enumerate(rss, 1):
        rows.append(("calls", ALL_BUT_NTK, i, "rss_mb", v))
    return rss


def part_nb301(batch_size: int, threads: int, rows: list) -> dict:
    out = {}
    for config in (ALL_BUT_NTK, "grasp", "all-but-ntk-grasp"):
        r = _run_child(["peak", "nb301", "0", config, str(batch_size)], threads)
        out[config] = r
        for k in ("peak_mb", "delta_mb", "seconds"):
            rows.append(("nb301", config, 0, k, r[k]))
    return out


def part_stages(n: int, batch_size: int, rows: list) -> dict:
    import torch.nn.functional as F

    from nasperf.zerocost.context import ProxyContext
    from nasperf.zerocost.passes import run_train_pass

    space, archs = _cells("nb201", n)
    x, y = _batch(batch_size)
    acc: dict[str, dict[str, float]] = {"snip": {}, "grasp": {}}
    needs = {"snip": {"loss_grad"}, "grasp": {"loss_grad", "hessian_grad"}}
    for i, arch in enumerate(archs):
        ctx = ProxyContext(model=seeded_model(space, arch, 0), x=x, y=y,
                           device=torch.device("cpu"), loss_fn=F.cross_entropy)
        for name, need in needs.items():
            torch.manual_seed(0)
            t0 = time.perf_counter()
            tp = run_train_pass(ctx, need)
            total = time.perf_counter() - t0
            for stage, sec in {**tp.stage_seconds, "total": total}.items():
                acc[name][stage] = acc[name].get(stage, 0.0) + sec / n
                rows.append(("stages", name, i, stage, sec))
            del tp
    return acc


def part_trim(n: int, batch_size: int, rows: list) -> dict:
    space, archs = _cells("nb201", n)
    batch = _batch(batch_size)
    models = [seeded_model(space, arch, 0) for arch in archs]
    acc = {(c, t): 0.0 for c in (ALL_BUT_NTK, "snip") for t in (False, True)}
    # a trim costs the *next* call (it faults the memory in again), so each setting runs
    # as a block of calls after one untimed call with the same setting; blocks alternate
    for config in (ALL_BUT_NTK, "snip"):
        names = _proxies(config)
        for rep in range(2):
            for trim in (False, True):
                compute_proxies(models[0], batch, names, seed=0, trim_memory=trim)
                for i, model in enumerate(models):
                    t0 = time.perf_counter()
                    compute_proxies(model, batch, names, seed=0, trim_memory=trim)
                    sec = time.perf_counter() - t0
                    acc[config, trim] += sec / (2 * n)
                    rows.append(("trim", f"{config} trim_memory={trim}", i,
                                 f"seconds_rep{rep}", sec))
    return acc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=40, help="NB201 cells timed")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--peak-cells", type=int, default=5)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--parts", default="time,peak,calls,nb301")
    p.add_argument("--out", type=Path, default=Path("proxy_cost.csv"))
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.child:
        kind, *rest = a.child
        if kind == "peak":
            res = child_peak(rest[0], int(rest[1]), rest[2], int(rest[3]))
        else:
            res = child_calls(int(rest[0]), int(rest[1]))
        print(json.dumps(res))
        return 0

    parts = set(a.parts.split(","))
    rows: list[tuple] = []
    print(f"torch {torch.__version__}, {platform.machine()}, threads {a.threads}, "
          f"batch {a.batch_size}")
    if "time" in parts:
        t = part_time(a.n, a.batch_size, rows)
        print(f"\n### Time, mean over {a.n} NB201 cells (seconds per call)\n")
        print(_table(["proxy", "alone"],
                     [(name, f"{s:.3f}") for name, s in t["alone"].items()]
                     + [("all in one call", f"{t['all']:.3f}")]))
        print(f"\ngrasp / snip alone: {t['alone']['grasp'] / t['alone']['snip']:.2f}x; "
              f"grasp in the all-proxies call: {t['grasp_in_all']:.3f} s of {t['all']:.3f} s "
              f"({t['grasp_in_all'] / t['all']:.0%})")
    if "peak" in parts:
        pk = part_peak(a.peak_cells, a.batch_size, a.threads, rows)
        print(f"\n### Peak RSS of one call, first {a.peak_cells} cells, MiB "
              "(max / mean; absolute and over the RSS before the call)\n")
        print(_table(["configuration", "peak max", "peak mean", "delta max", "delta mean"],
                     [(config, *(f"{v:.0f}" for v in values)) for config, values in pk.items()]))
    if "calls" in parts:
        rss = part_calls(a.calls, a.batch_size, a.threads, rows)
        marks = sorted({1, *range(50, a.calls + 1, 50), a.calls} & set(range(1, a.calls + 1)))
        print(f"\n### RSS over {a.calls} consecutive calls ({ALL_BUT_NTK}), MiB\n")
        print(_table(["after call", *map(str, marks)],
                     [("RSS", *(f"{rss[m - 1]:.0f}" for m in marks))]))
        if a.calls >= 50:
            tail, ref = rss[49:], rss[49]
            print(f"\ncalls 50..{a.calls}: min {min(tail):.0f}, max {max(tail):.0f} "
                  f"({(max(tail) - ref) / ref:+.1%} / {(min(tail) - ref) / ref:+.1%} of call 50)")
    if "stages" in parts:
        st = part_stages(a.n, a.batch_size, rows)
        print(f"\n### Train-pass stages of snip and grasp, mean over {a.n} NB201 cells (s)\n")
        print(_table(["pass", "forward", "loss gradient", "Hessian-gradient product", "total"],
                     [(name, *(f"{v:.3f}" for v in (d["forward"], d["loss_grad"],
                                                    d.get("hessian_grad", 0.0), d["total"])))
                      for name, d in st.items()]))
    if "trim" in parts:
        tr = part_trim(a.n, a.batch_size, rows)
        print(f"\n### trim_memory, mean over {a.n} NB201 cells (s per call)\n")
        print(_table(["proxies", "trim_memory=False", "trim_memory=True"],
                     [(config, f"{tr[config, False]:.3f}", f"{tr[config, True]:.3f}")
                      for config in (ALL_BUT_NTK, "snip")]))
    if "nb301" in parts:
        nb = part_nb301(a.batch_size, a.threads, rows)
        print("\n### One NB301 cell (default size), one call\n")
        print(_table(["configuration", "peak MiB", "delta MiB", "seconds"],
                     [(config, f"{r['peak_mb']:.0f}", f"{r['delta_mb']:.0f}",
                       f"{r['seconds']:.2f}") for config, r in nb.items()]))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["part", "config", "cell", "metric", "value"])
        w.writerows(rows)
    return 0



def _table(header: list[str], rows: list[tuple]) -> str:
    """A markdown table of already formatted cells."""
    return markdown_table(pd.DataFrame(rows, columns=header))


if __name__ == "__main__":
    raise SystemExit(main())
