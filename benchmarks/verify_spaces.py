"""Check every architecture of every benchmark file against the search spaces.

For each file: how many keys parse, round-trip (``parse(to_string(a)) == a``,
``parse(to_tuple(a)) == a`` and ``str(to_tuple(a))`` equal to the file's key), and how
many built networks (``to_model``) have the parameter count the file records, within 1 %.
Networks are built on PyTorch's ``meta`` device (shapes only), so the full check takes
minutes, not hours. Writes a markdown table::

    python benchmarks/verify_spaces.py --out docs/spaces.md

``--limit N`` checks only the first N keys of each file (a quick check).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from nasperf.eval.tables import markdown_table
from nasperf.searchspaces import get_space
from nasperf.searchspaces.data import find_data_dir

log = logging.getLogger(__name__)


def n_params_millions(model: torch.nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def check(space_name: str, label: str, items: Iterable[tuple[str, float | None]],
          build: Callable | None, limit: int | None = None) -> dict:
    """Round trips of every ``(key, params)`` item (or of the first ``limit``); params within
    1 % where given."""
    space = get_space(space_name)
    row = dict(space=space_name, file=label, keys=0, round_trip=0, key_reproduced=0,
               params_checked=0, params_within_1pct=0, params_max_rel_err=0.0)
    for key, params in tqdm(list(items)[:limit], desc=label, leave=False):
        row["keys"] += 1
        a = space.parse(key)
        ok = space.parse(space.to_string(a)) == a and space.parse(space.to_tuple(a)) == a
        row["round_trip"] += ok
        row["key_reproduced"] += str(space.to_tuple(a)) == key
        if params is not None and build is not None:
            with torch.device("meta"):
                got = n_params_millions(build(space, a))
            err = abs(got - params) / params
            row["params_checked"] += 1
            row["params_within_1pct"] += err <= 0.01
            row["params_max_rel_err"] = max(row["params_max_rel_err"], err)
    return row


def _zc(blob: dict, *path: str) -> list[tuple[str, float]]:
    node = blob
    for p in path:
        node = node[p]
    out = []
    for key, rec in node.items():
        v = rec["params"]
        out.append((key, v["score"] if isinstance(v, dict) else v))
    return out


def run_all(data_dir: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """One row of :func:`check` per benchmark file (``limit``: keys per file, default all)."""
    root = find_data_dir(data_dir)
    rows = []
    nb201 = lambda nc: lambda s, a: s.to_model(a, num_classes=nc)  # noqa: E731
    zc201 = json.loads((root / "nas-bench-suite-zero/zc_nasbench201.json").read_text())
    for ds, nc in (("cifar10", 10), ("cifar100", 100), ("ImageNet16-120", 120)):
        rows.append(check("nb201", f"zc_nasbench201.json [{ds}]", _zc(zc201, ds), nb201(nc),
                          limit=limit))
    for stem, nc in (("nb201", 10), ("nb201_ImageNet16-120", 120)):
        df = pd.read_csv(root / f"nb201-graf/{stem}_zc_proxies.csv")
        rows.append(check("nb201", f"{stem}_zc_proxies.csv", zip(df["net"], df["params"]),
                          nb201(nc), limit=limit))
    df = pd.read_csv(root / "nb201-full/nats_bench_test_acc.csv")
    space = get_space("nb201")
    rows.append(check("nb201", "nats_bench_test_acc.csv (as tuples)",
                      ((str(space.to_tuple(space.parse(s))), None)
                       for s in df["ArchitectureString"]), None, limit=limit))
    zc101 = json.loads((root / "nas-bench-suite-zero/zc_nasbench101.json").read_text())
    rows.append(check("nb101", "zc_nasbench101.json", _zc(zc101, "nasbench101", "cifar10"),
                      lambda s, a: s.to_model(a), limit=limit))
    zctnb = json.loads((root / "nas-bench-suite-zero/zc_transbench101_micro.json").read_text())
    for task in zctnb:
        rows.append(check("tnb101_micro", f"zc_transbench101_micro.json [{task}]",
                          _zc(zctnb, task), lambda s, a, t=task: s.to_model(a, task=t),
                          limit=limit))
    df = pd.read_csv(root / "tnb101-micro-graf/tnb101_micro_valid_nets.csv")
    rows.append(check("tnb101_micro", "tnb101_micro_valid_nets.csv [class_scene]",
                      zip(df["net"], df["params"]),
                      lambda s, a: s.to_model(a, task="class_scene"), limit=limit))
    for space_name, rel in (("nb301", "archs/archs_nasbench301.json"),
                            ("tnb101_macro", "archs/archs_transbench101_macro.json")):
        blob = json.loads((root / rel).read_text())
        rows.append(check(space_name, Path(rel).name, ((v, None) for v in blob.values()), None,
                          limit=limit))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=None, help="markdown file to write")
    p.add_argument("--limit", type=int, default=None,
                   help="check only the first N keys of each file (default: all)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    df = run_all(args.data_dir, args.limit)
    table = markdown_table(df, float_format="{:.2e}")
    print(table)
    if args.out:
        Path(args.out).write_text(
            "# Search spaces against every benchmark file\n\n"
            "Produced by `python benchmarks/verify_spaces.py --out docs/spaces.md`.\n\n"
            "`round_trip`: `parse(to_string(a)) == a` and `parse(to_tuple(a)) == a`; "
            "`key_reproduced`: `str(to_tuple(a))` equals the file's key; params: the network "
            "built by `to_model` against the file's `params` (millions).\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
