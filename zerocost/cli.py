"""``nasperf proxies``: zero-cost proxies from the command line.

Examples::

    nasperf proxies --space nb201 --arch "(0, 2, 3, 2, 3, 1)"
    nasperf proxies --model torchvision.models:resnet18 --input-shape 3,64,64 --device cuda --json
    nasperf proxies --space nb201 --archs-file archs.txt --out scores.jsonl   # resumable

The lead's ``eval/cli.py`` calls :func:`add_parser` and dispatches to :func:`run`;
``python -m zerocost.cli ...`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

from .core import ProxyResult, compute_proxies
from .registry import list_proxies


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``proxies`` command's arguments."""
    what = p.add_argument_group("network (one of)")
    what.add_argument("--space", help="search space name, e.g. nb201 (with --arch/--archs-file)")
    what.add_argument("--arch", help="one architecture of --space (official string or tuple)")
    what.add_argument("--archs-file", type=Path,
                      help="file with one architecture per line (blank and # lines skipped)")
    what.add_argument("--model", help="'package.module:factory' returning an nn.Module")
    p.add_argument("--factory-kwargs", default="{}", type=json.loads,
                   help="JSON keyword arguments for --model's factory")
    p.add_argument("--model-kwargs", default="{}", type=json.loads,
                   help='JSON keyword arguments for space.to_model, e.g. \'{"num_classes": 100}\'')
    p.add_argument("--proxies", default="all",
                   help=f"comma-separated names or 'all' (= {','.join(list_proxies())})")
    p.add_argument("--input-shape", help="input shape without batch, e.g. 3,32,32 "
                   "(default: from the model's first layer)")
    p.add_argument("--data", type=Path,
                   help="a .npz (arrays x, y) or .pt ((x, y) tuple or dict) batch; "
                   "default: the embedded digits batch")
    p.add_argument("--batch-size", type=int, default=32, help="size of the default batch")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", type=Path, help="with --archs-file: JSON-lines output; archs "
                   "already in it are skipped (resume)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``proxies`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "proxies", help="compute zero-cost proxies of architectures or of a model",
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def load_factory(spec: str, kwargs: dict) -> torch.nn.Module:
    """Call ``package.module:attr.path`` with ``kwargs``; it must return an ``nn.Module``."""
    if ":" not in spec:
        raise ValueError(f"--model must look like 'package.module:factory', got {spec!r}")
    mod_name, attr = spec.split(":", 1)
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {mod_name!r} for --model: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    model = obj(**kwargs) if callable(obj) and not isinstance(obj, torch.nn.Module) else obj
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{spec} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def load_data(path: Path | None) -> Any:
    """A batch from a .npz (``x``, ``y``) or .pt file, or ``None``."""
    if path is None:
        return None
    if not path.is_file():
        raise ValueError(f"--data file {path} does not exist")
    if path.suffix == ".npz":
        import numpy as np

        with np.load(path) as z:
            if "x" not in z:
                raise ValueError(f"{path}: a .npz batch needs an array 'x' (and 'y')")
            return (z["x"], z["y"]) if "y" in z else z["x"]
    return torch.load(path, map_location="cpu", weights_only=True)


def _model_for(space: Any, arch: Any, model_kwargs: dict, seed: int) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.to_model(arch, **model_kwargs)


def format_table(results: dict[str, ProxyResult]) -> str:
    """A plain-text table: proxy, score, seconds, direction, mode, note."""
    rows = [("proxy", "score", "seconds", "better", "mode", "note")]
    for r in results.values():
        note = r.reason or "; ".join(r.notes)
        rows.append((r.name, f"{r.score:.6g}", f"{r.seconds:.3f}",
                     "higher" if r.higher_is_better else "lower", r.mode, note))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + "  " + row[5]
                     for row in rows).rstrip()


def _jsonable(v: float) -> float | None:
    return None if isinstance(v, float) and math.isnan(v) else v


def _read_done(out: Path | None) -> set[str]:
    done: set[str] = set()
    if out is not None and out.is_file():
        for line in out.read_text().splitlines():
            try:
                done.add(json.loads(line)["arch"])
            except (json.JSONDecodeError, KeyError):
                continue  # a truncated last line from an interrupted run
    return done


def run(args: argparse.Namespace) -> int:
    """Execute ``nasperf proxies``; returns the exit status."""
    try:
        return _run(args)
    except ValueError as exc:
        print(f"nasperf proxies: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    chosen = [n for n in ("arch", "archs_file", "model") if getattr(args, n)]
    if len(chosen) != 1:
        raise ValueError("give exactly one of --arch, --archs-file or --model")
    if chosen[0] != "model" and not args.space:
        raise ValueError("--arch and --archs-file need --space")
    data = load_data(args.data)
    common = dict(proxies=args.proxies, device=args.device, seed=args.seed,
                  input_shape=args.input_shape, batch_size=args.batch_size)
    if chosen[0] != "archs_file":
        if args.model:
            model = load_factory(args.model, args.factory_kwargs)
        else:
            from nasperf.searchspaces import get_space

            space = get_space(args.space)
            model = _model_for(space, space.parse(args.arch), args.model_kwargs, args.seed)
        results = compute_proxies(model, data, return_details=True, **common)
        if args.json:
            print(json.dumps({n: {**r.as_dict(), "score": _jsonable(r.score)}
                              for n, r in results.items()}, indent=2))
        else:
            print(format_table(results))
        return 0
    return _run_many(args, data, common)


def _run_many(args: argparse.Namespace, data: Any, common: dict) -> int:
    from nasperf.searchspaces import get_space
    from tqdm.auto import tqdm

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
    sink = open(args.out, "a") if args.out else sys.stdout  # noqa: SIM115 - closed below
    try:
        for arch in tqdm(todo, disable=args.no_progress, desc="architectures", file=sys.stderr):
            model = _model_for(space, arch, args.model_kwargs, args.seed)
            res = compute_proxies(model, data, return_details=True, **common)
            rec = {"arch": space.to_string(arch),
                   "scores": {n: _jsonable(r.score) for n, r in res.items()},
                   "seconds": {n: r.seconds for n, r in res.items()},
                   "reasons": {n: r.reason for n, r in res.items() if r.reason}}
            sink.write(json.dumps(rec) + "\n")
            sink.flush()
    finally:
        if sink is not sys.stdout:
            sink.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m zerocost.cli [arguments of nasperf proxies]``."""
    p = argparse.ArgumentParser(prog="python -m zerocost.cli", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
