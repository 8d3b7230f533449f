"""The ``nasperf`` command line.

Each command is one module of this package (registered in :data:`COMMANDS`) with
``add_parser(subparsers)``, which adds the command's parser and sets ``func`` to the
module's ``run(args) -> int``. A command module only parses arguments and calls library
functions. :func:`main` imports only the requested command's module (the others may pull in
heavy dependencies such as torch), so ``nasperf --help`` and ``nasperf data`` stay fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from ._options import add_verbose

#: command name -> (module under ``nasperf.eval.cli``, one-line help for ``nasperf --help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "benchmark": ("benchmark", "run the predictor benchmark grid"),
    "info": ("info", "summarise a benchmark table"),
    "data": ("data", "find or download the benchmark files"),
    "proxies": ("proxies", "compute zero-cost proxies of architectures or of a model"),
    "shap": ("shap", "SHAP attributions of a predictor trained on a benchmark"),
    "bias": ("bias", "bias of a proxy towards architectural quantities, before/after "
                     "correction"),
    "summary": ("summary", "markdown table of mean ± std from results.csv files"),
}


def command_module(name: str):
    """The module of command ``name`` (imported now)."""
    if name not in COMMANDS:
        raise ValueError(f"unknown command {name!r}; commands: {', '.join(COMMANDS)}")
    return import_module(f"{__name__}.{COMMANDS[name][0]}")


def build_parser(commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``nasperf`` parser with the full parsers of ``commands`` (default: all).

    Commands not in ``commands`` are listed with their help only; their modules are not
    imported.
    """
    full = set(COMMANDS if commands is None else commands)
    parser = argparse.ArgumentParser(
        prog="nasperf", description="Predict the performance of neural architectures.")
    add_verbose(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        if name in full:
            command_module(name).add_parser(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nasperf`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser([wanted] if wanted in COMMANDS else [])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose,
                        format="%(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)
