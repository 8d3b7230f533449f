"""The ``nasperf`` command line.

Each command is one module of this package (registered in :data:`COMMANDS`) with
``add_parser(subparsers)``, which adds the command's parser and sets ``func`` to the
module's ``run(args) -> int``. A command module only parses arguments and calls library
functions. :func:`main` imports only the requested command's module (the others may pull in
heavy dependencies such as torch), so ``nasperf --help`` and ``nasperf data`` stay fast.

Errors: :func:`main` turns a user error (:data:`USER_ERRORS`: a bad value, a missing file,
a missing optional extra) into one line ``nasperf <command>: error: <message>`` on stderr
and exit status 2, like argparse's own errors; any other exception is an internal error
(one line, exit status 1). ``-v`` (before or after the command) adds the traceback. Ctrl-C
ends with one line and exit status 130.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module

from ._options import ArgumentParser, add_verbose, verbosity

#: Exceptions that are the user's to fix: bad values (``ValueError``, with
#: ``InvalidArchitectureError``, ``BenchmarkDataError`` and JSON errors), files
#: (``OSError``: ``FileNotFoundError``, ``DataNotFoundError``, ``OutputLockedError``) and
#: missing optional extras (``ImportError``).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, ImportError)

#: Library wording (keyword arguments of Python functions) -> the command-line option.
_CLI_WORDING: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bthe data_dir argument\b"), "--data-dir"),
    (re.compile(r"\bdata_dir=(?:\.\.\.)?"), "--data-dir DIR"),
    (re.compile(r"\bcache_dir=(?:\.\.\.)?"), "--cache-dir DIR"),
    (re.compile(r"\bpass input_shape=\(C, H, W\) or a batch"),
     "give --input-shape C,H,W or --data FILE"),
    (re.compile(r"\bpass batch=\(x, y\) or leave them out of `proxies`"),
     "give --data FILE with arrays x and y, or leave them out of --proxies"),
)

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
    "search": ("search", "architecture search on a labelled benchmark (optimisers x trials)"),
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
    parser = ArgumentParser(
        prog="nasperf", description="Predict the performance of neural architectures.")
    add_verbose(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        if name in full:
            command_module(name).add_parser(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def cli_message(exc: BaseException) -> str:
    """The one-line message of ``exc`` as a command-line user reads it: the library's
    keyword-argument wording (``data_dir=...``) becomes the option (``--data-dir DIR``) and
    line breaks become spaces."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"  # "[Errno 2] ..." without the errno
    for pattern, option in _CLI_WORDING:
        text = pattern.sub(option, text)
    return re.sub(r"\s*\n\s*", " ", text).strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nasperf`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status:
    0, 1 for an internal error, 2 for a user error (argparse's errors exit with 2 through
    ``SystemExit``), 130 for Ctrl-C."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser([wanted] if wanted in COMMANDS else [])
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the command's parser, whose --help lists the options
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    verbose = verbosity(args)
    logging.basicConfig(level=logging.WARNING - 10 * verbose,
                        format="%(levelname)s %(name)s: %(message)s")
    prog = f"nasperf {args.command}"
    with _restored_threads():
        try:
            return int(args.func(args) or 0)
        except KeyboardInterrupt as exc:
            hint = cli_message(exc) if str(exc) else ""
            _print_error(f"{prog}: interrupted" + (f"; {hint}" if hint else ""), verbose)
            return 130
        except USER_ERRORS as exc:
            _print_error(f"{prog}: error: {cli_message(exc)}", verbose)
            return 2
        except Exception as exc:  # noqa: BLE001 - every other exception is a bug of ours
            _print_error(f"{prog}: internal error: {type(exc).__name__}: {cli_message(exc)} "
                         f"(a bug in nasperf: rerun with -v for the traceback and report it)",
                         verbose)
            return 1


def _print_error(line: str, verbose: int) -> None:
    """The traceback of the exception being handled (with ``-v``), then ``line``."""
    if verbose:
        traceback.print_exc(file=sys.stderr)
    print(line, file=sys.stderr)


class _restored_threads:
    """Restore torch's thread count and ``$OMP_NUM_THREADS`` after a command that set them
    (``--threads``), so that calling :func:`main` in a process leaves it as it was."""

    def __enter__(self) -> None:
        self.env = os.environ.get("OMP_NUM_THREADS")
        torch = sys.modules.get("torch")
        self.threads = torch.get_num_threads() if torch is not None else None

    def __exit__(self, *exc: object) -> None:
        if self.env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = self.env
        torch = sys.modules.get("torch")
        if torch is not None and self.threads is not None:
            torch.set_num_threads(self.threads)
