"""Options shared by several ``nasperf`` commands, each declared once.

* ``add_*`` functions add one option to ``parser`` (an ``ArgumentParser`` or an argument
  group) with the command's default, and return the ``argparse.Action``;
* ``positive_int``, ``int_list``, ``test_size``, ``shape``, ``json_object``... are argparse
  ``type=`` functions: a bad value is argparse's one-line error (exit status 2) before any
  data or torch is loaded;
* :func:`resolve_dataset` (the ``--dataset`` default of a space), :func:`check_names`
  and :func:`apply_threads` are called by the commands' ``run`` functions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable, Iterable
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
    that has a help text and a default other than None, False or [] (and is not a ``-v``
    count)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if ("default:" in help_text or action.default is None or action.default is False
                or action.default is argparse.SUPPRESS or action.default == []
                or isinstance(action, argparse._CountAction)):
            return help_text
        return super()._get_help_string(action)


def new_command(sub: argparse._SubParsersAction, name: str, help: str,
                doc: str | None) -> argparse.ArgumentParser:
    """Add command ``name`` to ``sub`` with ``help`` (one line) and the module docstring
    ``doc`` as its plain-text description. Options must be spelled out: an abbreviation
    such as ``--seed`` for ``--seeds`` (a count, not a seed) is an error."""
    p = sub.add_parser(name, help=help, description=plain_text(doc),
                       formatter_class=HelpFormatter, allow_abbrev=False)
    add_verbose(p, subcommand=True)
    return p


class ArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``<prog>: error: <message>`` with a
    pointer to ``--help``, instead of the usage block followed by the message. Sub-command
    parsers made by ``add_subparsers`` are of the same class."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# -- argparse ``type=`` functions --------------------------------------------------------------
class OptionValueError(argparse.ArgumentTypeError, ValueError):
    """A bad option value: argparse shows the message as ``argument --x: <message>``; code
    calling a ``type=`` function directly can catch it as a ``ValueError``."""


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise OptionValueError(f"expected an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (``type=`` of counts and sizes)."""
    value = _int(text)
    if value < 1:
        raise OptionValueError(f"must be a positive integer (>= 1), got {value}")
    return value


def seed_count(text: str) -> int:
    """A number of seeds N >= 1 (seeds 0..N-1 are run), as ``--seeds`` takes it."""
    value = _int(text)
    if value < 1:
        raise OptionValueError(f"is the number of random training draws (seeds 0..N-1 are "
                               f"run), so it must be >= 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise OptionValueError(f"must be an integer >= 0, got {value}")
    return value


def _float_where(text: str, ok: Callable[[float], bool], where: str) -> float:
    """``float(text)`` if ``ok`` of it, else an error naming ``where`` ("> 0", "in (0, 1]")."""
    try:
        value = float(text)
    except ValueError:
        raise OptionValueError(f"expected a number {where}, got {text!r}") from None
    if not ok(value):
        raise OptionValueError(f"must be {where}, got {value:g}")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    return _float_where(text, lambda v: 0 < v <= 1, "in (0, 1]")


def int_list(text: str) -> list[int]:
    """A comma-separated option value of positive integers, e.g. ``"32,128,1024"``."""
    items = csv_list(text)
    if not items:
        raise OptionValueError(f"expected comma-separated positive integers such as "
                                         f"32,128,1024, got {text!r}")
    try:
        values = [int(t) for t in items]
    except ValueError:
        raise OptionValueError(f"expected comma-separated positive integers such as "
                                         f"32,128,1024, got {text!r}") from None
    bad = [v for v in values if v < 1]
    if bad:
        raise OptionValueError(f"every value must be a positive integer, got {bad}")
    return values


def shape(text: str) -> tuple[int, ...]:
    """An input shape without the batch dimension, e.g. ``"3,32,32"`` (``x`` also separates)."""
    try:
        return tuple(int_list(text.replace("x", ",")))
    except OptionValueError:
        raise OptionValueError(f"expected positive integers like 3,32,32 "
                                         f"(channels,height,width), got {text!r}") from None


def test_size(text: str) -> str | int:
    """``'rest'`` or a positive number of test architectures."""
    if text == "rest":
        return text
    try:
        return positive_int(text)
    except OptionValueError:
        raise OptionValueError(f"expected 'rest' or a positive number of test "
                                         f"architectures, got {text!r}") from None


def json_object(text: str) -> dict[str, Any]:
    """A JSON object such as ``'{"num_classes": 100}'``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OptionValueError(
            f"not valid JSON ({exc.msg} at character {exc.pos}): {text!r}; expected an object "
            """such as '{"num_classes": 100}' (keys in double quotes)""") from None
    if not isinstance(value, dict):
        raise OptionValueError(f"expected a JSON object {{...}}, got {text!r}")
    return value


# -- checks done by the commands before any work -----------------------------------------------
def check_names(names: Iterable[str], known: Iterable[str], what: str, option: str) -> None:
    """Raise ``ValueError`` naming ``option`` if some of ``names`` are not in ``known``."""
    known = list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise ValueError(f"{option}: unknown {what} {listed}; known: {', '.join(known)}")


def default_dataset(space: str) -> str | None:
    """The dataset (or task) ``nasperf`` commands use for ``space`` when ``--dataset`` is not
    given: the first of the space's benchmarks (``load_benchmark``'s default); None for a
    space without labelled data."""
    from nasperf.searchspaces import get_space

    datasets = get_space(space).benchmarks
    return datasets[0] if datasets else None


def resolve_dataset(space: str, dataset: str | None) -> str | None:
    """``dataset``, or :func:`default_dataset` of ``space`` when it is None.

    Raises
    ------
    ValueError
        ``space`` is unknown, or ``dataset`` is not one of the space's benchmarks (the
        message lists them).
    """
    from nasperf.searchspaces import get_space, list_benchmarks

    s = get_space(space)
    info = s.benchmark_info
    if info is None:
        raise ValueError(f"--space {space} has no labelled benchmark; spaces with one: "
                         f"{', '.join(list_benchmarks())}")
    if dataset is None:
        return info.datasets[0]
    if dataset not in info.datasets:
        raise ValueError(f"--dataset {dataset!r} is not a {info.noun} of {s.name}; choose "
                         f"one of: {', '.join(info.datasets)}")
    return dataset


def _dataset_defaults() -> str:
    """``"nb201: cifar10, tnb101_micro: class_scene, ..."`` for ``--dataset``'s help."""
    try:
        from nasperf.searchspaces import list_benchmarks

        return ", ".join(f"{space}: {ds[0]}" for space, ds in list_benchmarks().items())
    except Exception:  # noqa: BLE001 - a help text must never stop the parser
        return "see nasperf info"


def add_space(parser: Parser, default: str | None = "nb201",
              help: str | None = None) -> argparse.Action:
    """``--space``: a search-space name (``nasperf.searchspaces.get_space``)."""
    return parser.add_argument(
        "--space", default=default,
        help=help or "search space: nb101, nb201, nb301, tnb101_micro, tnb101_macro")


def add_dataset(parser: Parser, default: str | None = None,
                help: str | None = None) -> argparse.Action:
    """``--dataset``: the benchmark's dataset or task. The default None stands for the
    space's first, which the command resolves with :func:`resolve_dataset`."""
    text = help or "dataset (or task) of the benchmark"
    if default is None:
        text += f" (default: the space's first; {_dataset_defaults()})"
    return parser.add_argument("--dataset", default=default, help=text)


def add_data_dir(parser: Parser) -> argparse.Action:
    """``--data-dir``: the benchmark data directory (default: found as ``nasperf data where``
    shows)."""
    return parser.add_argument(
        "--data-dir", default=None, metavar="DIR",
        help="benchmark data directory (default: $NASPERF_DATA, then the user cache; "
        "'nasperf data where' shows which)")


def add_seed(parser: Parser, default: int = 0, help: str | None = None) -> argparse.Action:
    """``--seed``: an integer random seed."""
    return parser.add_argument("--seed", type=nonnegative_int, default=default,
                               help=help or "random seed")


def add_verbose(parser: Parser, subcommand: bool = False) -> argparse.Action:
    """``-v/--verbose``: repeat for more log output (info, then debug) and the traceback of
    an error. A command's own ``-v`` (``nasperf benchmark -v``) counts in ``verbose_sub``;
    :func:`verbosity` adds both."""
    return parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        dest="verbose_sub" if subcommand else "verbose",
        help="more log output (-v: info, -vv: debug) and the traceback of an error")


def verbosity(args: argparse.Namespace) -> int:
    """The number of ``-v`` given before and after the command name."""
    return getattr(args, "verbose", 0) + getattr(args, "verbose_sub", 0)


#: Default of ``--threads``: one. The networks the zero-cost proxies score are small (an
#: NB201 cell network, a batch of 32 images of 32x32), so each torch op is too short for a
#: thread pool to gain much, and on busy cores the pool's threads spin waiting for each
#: other. Measured on a 2-core machine shared with other jobs (torch's default there: 2
#: threads), ``nasperf proxies --space nb201 --arch "(0, 2, 3, 2, 3, 1)" --threads T``, wall
#: time of alternating runs (including ~3 s of imports): at load average 1.4-4:
#: T=1: 6.6, 4.9, 9.7 s; T=2: 4.0, 47.9, 30.1 s; at load average 3.5-4.7: T=1: 8.5, 9.9,
#: 7.0 s; T=2: 137.4, 57.3, 39.7 s (user CPU time 4 s with T=1, up to 69 s with T=2).
DEFAULT_THREADS = 1


def add_threads(parser: Parser, default: int | None = DEFAULT_THREADS) -> argparse.Action:
    """``--threads N``: torch's intra-op threads (and ``$OMP_NUM_THREADS`` for the libraries
    started after it, when not already set); apply it with :func:`apply_threads`."""
    return parser.add_argument(
        "--threads", type=positive_int, default=default, metavar="N",
        help="CPU threads for torch (and $OMP_NUM_THREADS of libraries loaded later, unless "
        "set). One by default: the networks are small, so more threads gain little, and on "
        "busy cores a thread pool can be several times slower (one NB201 cell on a shared "
        "2-core machine: 5-10 s with 1 thread, 4-137 s with 2). Try more on an idle machine "
        "with many cores")


def apply_threads(args: argparse.Namespace) -> None:
    """Set torch's thread count (and ``$OMP_NUM_THREADS`` when unset) from ``args.threads``.

    Call it at the start of a command's ``run``, before the heavy libraries are imported;
    :func:`nasperf.eval.cli.main` restores torch's count and the environment afterwards.
    """
    n = getattr(args, "threads", None)
    if n is None:
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    import torch

    torch.set_num_threads(n)


def csv_list(text: str) -> list[str]:
    """The non-empty items of a comma-separated option value, stripped."""
    return [t.strip() for t in text.split(",") if t.strip()]


# -- execution: where the shards of a command run ------------------------------------------------
def positive_float(text: str) -> float:
    """A number > 0."""
    return _float_where(text, lambda v: v > 0, "> 0")


def nonnegative_float(text: str) -> float:
    """A number >= 0."""
    return _float_where(text, lambda v: v >= 0, ">= 0")


def shard_part(text: str) -> tuple[int, int]:
    """``I/N``: part I (0-based) of N of a run's shards, e.g. ``$SLURM_ARRAY_TASK_ID/10``."""
    from nasperf import executors

    try:
        return executors.parse_part(text)
    except ValueError as exc:
        raise OptionValueError(str(exc)) from None


def add_executor(parser: Parser, parts: bool = True) -> argparse.Action:
    """``--executor {local,processes,ray}`` with ``--workers``, ``--address``,
    ``--cpus-per-task``, ``--gpus-per-task``, ``--max-retries`` and (with ``parts``, for
    commands whose output directory holds shard files) ``--shard I/N``; build the executor
    with :func:`executor_from_args`. Returns the ``--executor`` action."""
    action = parser.add_argument(
        "--executor", choices=("local", "processes", "ray"), default="local",
        help="where the shards run: this process (local), a pool of --workers processes, "
        "or Ray tasks (a local Ray instance, or the cluster at --address; needs "
        "pip install 'nasperf[ray]'). Results are identical whichever is used")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="parallel worker processes (processes), or CPUs of the local "
                        "Ray instance (ray without --address)")
    parser.add_argument("--address", metavar="ADDR",
                        help="a running Ray cluster: 'auto' (the one 'ray start --head' "
                        "started on this machine), HOST:6379 or ray://HOST:10001")
    parser.add_argument("--cpus-per-task", type=positive_float, default=1, metavar="N",
                        help="CPUs reserved per shard (Ray's num_cpus; the OpenMP/MKL "
                        "threads of each worker process). Torch's own thread count is "
                        "--threads where the command has it, the same in every worker")
    parser.add_argument("--gpus-per-task", type=nonnegative_float, default=0, metavar="F",
                        help="GPUs per shard with --executor ray (0.25: four shards share "
                        "a GPU); use with --device cuda")
    parser.add_argument("--max-retries", type=nonnegative_int, default=3, metavar="N",
                        help="times a shard whose worker died (killed, out of memory) is "
                        "run again")
    if not parts:
        return action
    parser.add_argument("--shard", type=shard_part, default=None, metavar="I/N",
                        help="run only part I (0..N-1) of N of the shards into --out, e.g. "
                        "one Slurm array task: --shard $SLURM_ARRAY_TASK_ID/"
                        "$SLURM_ARRAY_TASK_COUNT; run once more without --shard to merge")
    return action


def executor_from_args(args: argparse.Namespace) -> Any:
    """The :class:`nasperf.executors.Executor` of the options of :func:`add_executor`.

    Raises
    ------
    ValueError
        ``--workers`` > 1 or ``--gpus-per-task`` with the local executor, or ``--address``
        without ``--executor ray``.
    """
    from nasperf import executors

    if args.executor == "local" and args.workers > 1:
        raise ValueError(f"--workers {args.workers} runs in parallel only with --executor "
                         "processes or --executor ray")
    if args.executor != "ray" and args.address:
        raise ValueError("--address is the address of a Ray cluster: use it with "
                         "--executor ray")
    if args.executor != "ray" and args.gpus_per_task:
        raise ValueError("--gpus-per-task is a Ray resource request: use it with "
                         "--executor ray")
    return executors.get_executor(args.executor, args.workers, address=args.address,
                                  cpus_per_task=args.cpus_per_task,
                                  gpus_per_task=args.gpus_per_task,
                                  max_retries=args.max_retries)
