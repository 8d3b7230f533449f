"""The ``nasperf`` command line.

Subcommands are registered in :data:`COMMANDS` (name -> ``module:add_parser``); each
module's ``add_parser(subparsers)`` adds its parser and sets ``func`` to its ``run(args)``.
Modules are imported only when their command is used, so ``nasperf data`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

#: command name -> "module:function" adding that command's parser.
COMMANDS: dict[str, str] = {
    "benchmark": "nasperf.eval.runner:add_parser",
    "info": "nasperf.eval.cli:add_info_parser",
    "data": "nasperf.eval.cli:add_data_parser",
    "proxies": "nasperf.zerocost.cli:add_parser",
    "shap": "nasperf.eval.shap_attr:add_parser",
    "bias": "nasperf.eval.bias:add_parser",
    "summary": "nasperf.eval.summary:add_parser",
}


# -- nasperf info ------------------------------------------------------------------------------
def add_info_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarise a benchmark table")
    p.add_argument("--space", default="nb201")
    p.add_argument("--dataset", default=None)
    p.add_argument("--source", default=None)
    p.add_argument("--data-dir", default=None)
    p.set_defaults(func=run_info)


def run_info(args: argparse.Namespace) -> int:
    import pandas as pd
    from nasperf.searchspaces import load_benchmark

    b = load_benchmark(args.space, args.dataset, data_dir=args.data_dir, source=args.source)
    print(b)
    for k, v in b.meta.items():
        print(f"  {k}: {v}")
    with pd.option_context("display.width", 140, "display.max_rows", 80,
                           "display.float_format", "{:.4g}".format):
        print(b.summary())
    return 0


# -- nasperf data ------------------------------------------------------------------------------
def add_data_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="find or download the benchmark files")
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    d = dsub.add_parser("download", help="download from the original public sources")
    d.add_argument("--dest", default=None, help="target directory (default: user cache)")
    d.add_argument("--files", nargs="*", default=None, help="relative paths (default: all)")
    d.add_argument("--force", action="store_true")
    w = dsub.add_parser("where", help="print the data directory in use and the files found")
    w.add_argument("--data-dir", default=None)
    p.set_defaults(func=run_data)


def run_data(args: argparse.Namespace) -> int:
    from nasperf.searchspaces.data import MANIFEST, download, find_data_dir

    if args.data_cmd == "download":
        for path in download(args.dest, files=args.files, force=args.force):
            print(path)
        return 0
    root = find_data_dir(args.data_dir)
    print(root)
    for entry in MANIFEST:
        print(f"  [{'x' if (root / entry.path).is_file() else ' '}] {entry.path}")
    return 0


# -- main ---------------------------------------------------------------------------------------
def build_parser(commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nasperf", description="Predict the performance of neural architectures.")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in commands or COMMANDS:
        module, fn = COMMANDS[name].split(":")
        getattr(import_module(module), fn)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import only the requested command's module (others may pull in heavy dependencies).
    wanted = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser([wanted] if wanted else None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose,
                        format="%(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
