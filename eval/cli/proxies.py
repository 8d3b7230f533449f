"""``nasperf proxies``: zero-cost proxies of a search-space architecture or of any model.

Examples::

    nasperf proxies --space nb201 --arch "(0, 2, 3, 2, 3, 1)"
    nasperf proxies --model torchvision.models:resnet18 --input-shape 3,64,64 --device cuda --json
    nasperf proxies --model ./mymodels.py:cnn --factory-kwargs '{"width": 16}' --threads 2
    nasperf proxies --space nb201 --archs-file archs.txt --out scores.jsonl   # resumable
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
from pathlib import Path
from typing import Any

from . import COMMANDS
from ._options import (
    add_seed,
    add_space,
    add_threads,
    apply_threads,
    json_object,
    new_command,
    positive_int,
    shape,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``proxies`` command's arguments."""
    from nasperf.zerocost import list_proxies

    what = p.add_argument_group("network (one of)")
    add_space(what, None, help="search space name, e.g. nb201 (with --arch/--archs-file)")
    what.add_argument("--arch", help="one architecture of --space: its official string or "
                      "NASLib tuple, e.g. \"(0, 2, 3, 2, 3, 1)\" for nb201")
    what.add_argument("--archs-file", type=Path, metavar="FILE",
                      help="file with one architecture per line (blank and # lines skipped)")
    what.add_argument("--model", metavar="MODULE:FACTORY",
                      help="a model from your code: 'package.module:factory' (importable from "
                      "the working directory or $PYTHONPATH) or 'path/to/file.py:factory'; "
                      "the factory (a function or nn.Module class) is called with "
                      "--factory-kwargs and must return a torch.nn.Module")
    p.add_argument("--factory-kwargs", default="{}", type=json_object, metavar="JSON",
                   help="JSON keyword arguments for --model's factory, e.g. "
                   "'{\"num_classes\": 10}'")
    p.add_argument("--model-kwargs", default="{}", type=json_object, metavar="JSON",
                   help='JSON keyword arguments for space.to_model, e.g. \'{"num_classes": 100}\'')
    p.add_argument("--proxies", default="all",
                   help=f"comma-separated names or 'all' (= {', '.join(list_proxies())})")
    p.add_argument("--input-shape", type=shape, metavar="C,H,W",
                   help="input shape without the batch dimension, e.g. 3,32,32 (default: "
                   "inferred from the model's first layer)")
    p.add_argument("--data", type=Path, metavar="FILE",
                   help="a .npz (arrays x, y) or .pt ((x, y) tuple or dict) batch "
                   "(default: the embedded digits batch, resized to the input shape)")
    p.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                   help="number of images of the default batch (ignored with --data)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda, cuda:1, mps")
    add_seed(p, 0, help="seed of the network's initial weights and of the default batch")
    add_threads(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="with --archs-file: JSON-lines output; archs already in it are skipped "
                   "(resume)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``proxies`` command to ``sub``."""
    p = new_command(sub, "proxies", COMMANDS["proxies"][1], __doc__)
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def _jsonable(v: float) -> float | None:
    return None if isinstance(v, float) and math.isnan(v) else v


def _read_done(out: Path | None) -> set[str]:
    """Architectures already in ``--out`` (a line torn by an interrupted run is dropped with a
    warning and removed from the file before new lines are appended)."""
    from nasperf.zerocost.encoder import read_score_records

    if out is None or not out.is_file():
        return set()
    return set(read_score_records(out, checksum=False, repair=True))


def run(args: argparse.Namespace) -> int:
    """Execute ``nasperf proxies``. Bad arguments raise ``ValueError`` (or ``OSError``),
    which :func:`nasperf.eval.cli.main` prints as one line with exit status 2."""
    chosen = [n for n in ("arch", "archs_file", "model") if getattr(args, n)]
    if len(chosen) != 1:
        raise ValueError("give exactly one of --arch, --archs-file or --model")
    if chosen[0] != "model" and not args.space:
        raise ValueError("--arch and --archs-file need --space")
    if args.archs_file is not None and not args.archs_file.is_file():
        raise FileNotFoundError(f"--archs-file {args.archs_file} does not exist")
    if args.data is not None and not args.data.is_file():
        raise FileNotFoundError(f"--data {args.data} does not exist")
    if args.space:
        from nasperf.searchspaces import get_space

        get_space(args.space)  # an unknown name fails here, before torch is loaded
    apply_threads(args)
    try:
        return _run(args)
    except KeyboardInterrupt:
        if args.archs_file is not None and args.out is not None:
            raise KeyboardInterrupt(f"the architectures finished are in {args.out}; rerun the "
                                    "same command to resume") from None
        raise


def _supports_progress() -> bool:
    """Whether ``compute_proxies`` has a ``progress`` parameter (a bar per proxy/pass)."""
    from nasperf.zerocost import compute_proxies

    return "progress" in inspect.signature(compute_proxies).parameters


def _run(args: argparse.Namespace) -> int:
    from nasperf.zerocost import compute_proxies
    from nasperf.zerocost.registry import resolve_proxies
    from nasperf.zerocost.tools import format_table, load_batch, load_factory, seeded_model

    chosen = "archs_file" if args.archs_file else "model" if args.model else "arch"
    names = resolve_proxies(args.proxies)
    data = load_batch(args.data)
    common = dict(proxies=names, device=args.device, seed=args.seed,
                  input_shape=args.input_shape, batch_size=args.batch_size)
    if chosen == "archs_file":
        return _run_many(args, data, common)
    if args.model:
        model = load_factory(args.model, args.factory_kwargs)
    else:
        from nasperf.searchspaces import get_space

        space = get_space(args.space)
        model = seeded_model(space, space.parse(args.arch), args.seed, args.model_kwargs)
    if _supports_progress():
        common["progress"] = not args.no_progress
    results = compute_proxies(model, data, return_details=True, **common)
    if args.json:
        print(json.dumps({n: {**r.as_dict(), "score": _jsonable(r.score)}
                          for n, r in results.items()}, indent=2))
    else:
        print(format_table(results))
    return 0


def _run_many(args: argparse.Namespace, data: Any, common: dict) -> int:
    """Every architecture of ``--archs-file`` not yet in ``--out``: one JSON line each."""
    from tqdm.auto import tqdm

    from nasperf.searchspaces import get_space
    from nasperf.zerocost import compute_proxies
    from nasperf.zerocost.tools import seeded_model

    space = get_space(args.space)
    if not args.archs_file.is_file():
        raise ValueError(f"--archs-file {args.archs_file} does not exist")
    lines = [ln.strip() for ln in args.archs_file.read_text().splitlines()]
    archs = [space.parse(ln) for ln in lines if ln and not ln.startswith("#")]
    done = _read_done(args.out)
    todo = [a for a in archs if space.to_string(a) not in done]
    if done:
        print(f"resuming: {len(archs) - len(todo)} of {len(archs)} architectures already in "
              f"{args.out}", file=sys.stderr)
    from nasperf.zerocost.encoder import JsonLinesLog

    sink = JsonLinesLog(args.out) if args.out else None
    for arch in tqdm(todo, disable=args.no_progress, desc="architectures", file=sys.stderr):
        model = seeded_model(space, arch, args.seed, args.model_kwargs)
        res = compute_proxies(model, data, return_details=True, **common)
        rec = {"arch": space.to_string(arch),
               "scores": {n: _jsonable(r.score) for n, r in res.items()},
               "seconds": {n: r.seconds for n, r in res.items()},
               "reasons": {n: r.reason for n, r in res.items() if r.reason}}
        if sink is not None:
            sink.append(rec)  # one whole line, fsynced: a kill loses at most this arch
        else:
            print(json.dumps(rec), flush=True)
    return 0
