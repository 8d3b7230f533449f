"""Options shared by several ``nasperf`` commands, each declared once.

Every function adds one option to ``parser`` (an ``ArgumentParser`` or an argument group)
with the command's default, and returns the ``argparse.Action``.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

Parser = Any  # argparse.ArgumentParser or an argument group

_ROLE = re.compile(r":(?:mod|func|class|meth|data|attr|obj):`~?([^`]+)`")


def plain_text(doc: str | None) -> str:
    """A docstring as plain text for ``--help``: reST roles and literals unwrapped.

    ``:func:`~a.b.c``` becomes ``c``, ``:mod:`a.b``` becomes ``a.b`` and a double-backquoted
    literal loses its backquotes; ``Examples::`` becomes ``Examples:``.
    """
    if not doc:
        return ""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if m.group(0).count("~")
                     else m.group(1), doc)
    return text.replace("``", "").replace("::\n", ":\n").strip()


class HelpFormatter(argparse.RawDescriptionHelpFormatter,
                    argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions kept as written (paragraphs, examples), defaults shown for every option
    that has a help text and a default other than None/False."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if "default:" in help_text or action.default in (None, False, argparse.SUPPRESS):
            return help_text
        return super()._get_help_string(action)


def new_command(sub: argparse._SubParsersAction, name: str, help: str,
                doc: str | None) -> argparse.ArgumentParser:
    """Add command ``name`` to ``sub`` with ``help`` (one line) and the module docstring
    ``doc`` as its plain-text description."""
    return sub.add_parser(name, help=help, description=plain_text(doc),
                          formatter_class=HelpFormatter)


def add_space(parser: Parser, default: str | None = "nb201",
              help: str | None = None) -> argparse.Action:
    """``--space``: a search-space name (``nasperf.searchspaces.get_space``)."""
    return parser.add_argument(
        "--space", default=default,
        help=help or f"search space: nb101, nb201, nb301, tnb101_micro... (default: {default})")


def add_dataset(parser: Parser, default: str | None = "cifar10",
                help: str | None = None) -> argparse.Action:
    """``--dataset``: the benchmark's dataset or task."""
    return parser.add_argument(
        "--dataset", default=default,
        help=help or "dataset or task of the benchmark (default: "
        + (default if default is not None else "the space's first") + ")")


def add_data_dir(parser: Parser) -> argparse.Action:
    """``--data-dir``: the benchmark data directory (default: found as ``nasperf data where``
    shows)."""
    return parser.add_argument(
        "--data-dir", default=None,
        help="benchmark data directory (default: $NASPERF_DATA, then the user cache)")


def add_seed(parser: Parser, default: int = 0, help: str | None = None) -> argparse.Action:
    """``--seed``: an integer random seed."""
    return parser.add_argument("--seed", type=int, default=default,
                               help=help or f"random seed (default: {default})")


def add_verbose(parser: Parser) -> argparse.Action:
    """``-v/--verbose``: repeat for more log output (warnings, then info, then debug)."""
    return parser.add_argument("-v", "--verbose", action="count", default=0,
                               help="more log output (-v: info, -vv: debug)")


def csv_list(text: str) -> list[str]:
    """The non-empty items of a comma-separated option value, stripped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def int_list(text: str) -> list[int]:
    """A comma-separated option value of integers, e.g. ``"32,128,1024"``."""
    try:
        return [int(t) for t in csv_list(text)]
    except ValueError:
        raise ValueError(f"expected comma-separated integers, got {text!r}") from None
