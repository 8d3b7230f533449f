"""``nasperf info``: summarise a benchmark table (:func:`nasperf.searchspaces.load_benchmark`)."""

from __future__ import annotations

import argparse

from . import COMMANDS
from ._options import add_data_dir, add_dataset, add_space, new_command, resolve_dataset


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``info`` command to ``sub``."""
    p = new_command(sub, "info", COMMANDS["info"][1], __doc__)
    add_space(p, "nb201")
    add_dataset(p)
    p.add_argument("--source", default=None,
                   help="benchmark table: graf, zc or full for nb201, zc for the others "
                   "(default: the space's first)")
    add_data_dir(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the benchmark, its metadata and its column summary."""
    import pandas as pd

    from nasperf.searchspaces import load_benchmark

    dataset = resolve_dataset(args.space, args.dataset)
    b = load_benchmark(args.space, dataset, data_dir=args.data_dir, source=args.source)
    print(b)
    for k, v in b.meta.items():
        print(f"  {k}: {v}")
    with pd.option_context("display.width", 140, "display.max_rows", 80,
                           "display.float_format", "{:.4g}".format):
        print(b.summary())
    return 0
