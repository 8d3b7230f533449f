"""``nasperf proxies``: zero-cost proxies of a search-space architecture or of any model.

Examples::

    nasperf proxies --space nb201 --arch "(0, 2, 3, 2, 3, 1)"
    nasperf proxies --model torchvision.models:resnet18 --input-shape 3,64,64 --device cuda --json
    nasperf proxies --model ./mymodels.py:cnn --factory-kwargs '{"width": 16}' --threads 2
    nasperf proxies --space nb201 --archs-file archs.txt --out scores.jsonl   # resumable
    nasperf proxies --space nb201 --all --out zc_nb201/ --executor processes --workers 8
    nasperf proxies --space nb201 --first 1000 --out zc/ --executor ray --address auto

With several architectures (--archs-file, --first N, --all) and --out DIR, the
architectures are cut into shards of --shard-size; each finished shard is a file of
DIR/shards/ listed in DIR/manifest.log, a rerun skips the finished shards, and the merged
table is DIR/proxies.csv (one row per architecture, in input order). The values do not
depend on the executor or the number of workers.
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
    add_executor,
    add_seed,
    add_space,
    add_threads,
    apply_threads,
    executor_from_args,
    json_object,
    new_command,
    positive_int,
    shape,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``proxies`` command's arguments."""
    from nasperf.zerocost import list_proxies

    what = p.add_argument_group("network (one of)")
    add_space(what, None, help="search space name, e.g. nb201 (with --arch, --archs-file, "
              "--first or --all)")
    what.add_argument("--arch", help="one architecture of --space: its official string or "
                      "NASLib tuple, e.g. \"(0, 2, 3, 2, 3, 1)\" for nb201")
    what.add_argument("--archs-file", type=Path, metavar="FILE",
                      help="file with one architecture per line (blank and # lines skipped)")
    what.add_argument("--first", type=positive_int, metavar="N",
                      help="the first N architectures of the space's enumeration order "
                      "(spaces small enough to list: nb201, tnb101_micro, tnb101_macro)")
    what.add_argument("--all", dest="all_archs", action="store_true",
                      help="every architecture of the space (nb201: 15,625)")
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
    p.add_argument("--out", type=Path, metavar="DIR|FILE.jsonl",
                   help="with several architectures: a directory (DIR/proxies.csv, per-shard "
                   "files, resumable by shard) or a .jsonl file (JSON lines, resumable by "
                   "architecture; local executor only)")
    p.add_argument("--shard-size", type=positive_int, default=16, metavar="N",
                   help="architectures per shard (the unit of work sent to a worker, stored "
                   "and resumed); keep it when resuming")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    add_executor(p.add_argument_group("execution (several architectures)"))


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
    chosen = [n for n in MODES if getattr(args, n, None)]
    if len(chosen) != 1:
        raise ValueError("give exactly one of --arch, --archs-file or --model (or --first N / "
                         "--all: the first N or every architecture of --space)")
    if chosen[0] != "model" and not args.space:
        raise ValueError("--arch, --archs-file, --first and --all need --space")
    if chosen[0] in ("arch", "model") and (args.executor != "local" or args.shard):
        raise ValueError("--executor and --shard are for several architectures (--archs-file, "
                         "--first, --all)")
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
        if chosen[0] not in ("arch", "model") and args.out is not None:
            raise KeyboardInterrupt(f"the architectures finished are in {args.out}; rerun the "
                                    "same command to resume") from None
        raise


#: The ways of naming the network(s): one architecture, several, or a model factory.
MODES = ("arch", "archs_file", "first", "all_archs", "model")


def _supports_progress() -> bool:
    """Whether ``compute_proxies`` has a ``progress`` parameter (a bar per proxy/pass)."""
    from nasperf.zerocost import compute_proxies

    return "progress" in inspect.signature(compute_proxies).parameters


def _run(args: argparse.Namespace) -> int:
    from nasperf.zerocost import compute_proxies
    from nasperf.zerocost.registry import resolve_proxies
    from nasperf.zerocost.tools import format_table, load_batch, load_factory, seeded_model

    names = resolve_proxies(args.proxies)
    if args.archs_file or args.first or args.all_archs:
        return _run_many(args, names)
    data = load_batch(args.data)
    common = dict(proxies=names, device=args.device, seed=args.seed,
                  input_shape=args.input_shape, batch_size=args.batch_size)
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


def _archs(args: argparse.Namespace, space: Any) -> list:
    """The architectures of ``--archs-file``, ``--first N`` or ``--all``, in order."""
    if args.archs_file is not None:
        lines = [ln.strip() for ln in args.archs_file.read_text().splitlines()]
        return [space.parse(ln) for ln in lines if ln and not ln.startswith("#")]
    try:
        archs = space.enumerate()
    except (NotImplementedError, ValueError) as exc:
        raise ValueError(f"--first/--all need a space small enough to list; {space.name} is "
                         f"not ({exc}); give its architectures with --archs-file") from None
    return archs[:args.first] if args.first else archs


def _out_kind(args: argparse.Namespace) -> str:
    """``"stdout"``, ``"jsonl"`` (one JSON-lines file) or ``"dir"`` (sharded directory)."""
    out = args.out
    if out is None:
        return "stdout"
    if out.suffix in (".jsonl", ".ndjson", ".json") or out.is_file():
        return "jsonl"
    if out.suffix in (".csv", ".txt"):
        raise ValueError(f"--out {out}: give a directory (it gets proxies.csv and the shard "
                         "files) or a .jsonl file")
    return "dir"


def _run_many(args: argparse.Namespace, names: list[str]) -> int:
    """Several architectures: in this process into a JSON-lines file or stdout (as before
    executors existed), or as shards on an executor."""
    from nasperf.searchspaces import get_space

    executor = executor_from_args(args)  # bad combinations of options fail here
    space = get_space(args.space)
    archs = _archs(args, space)
    kind = _out_kind(args)
    if args.executor == "local" and not args.shard and kind != "dir":
        from nasperf.zerocost.tools import load_batch

        return _run_streamed(args, space, archs, load_batch(args.data), names)
    if kind == "jsonl":
        raise ValueError(f"--executor {args.executor} and --shard store one file per shard: "
                         f"give --out a directory instead of the file {args.out}")
    if args.shard and kind != "dir":
        raise ValueError("--shard needs --out DIR (the directory the parts share)")
    return _run_sharded(args, executor, space, archs, names)


def _run_sharded(args: argparse.Namespace, executor: Any, space: Any, archs: list,
                 names: list[str]) -> int:
    """Shards of ``--shard-size`` architectures on the executor; DIR/proxies.csv (or JSON
    lines on stdout without --out)."""
    import hashlib

    import nasperf
    from nasperf import executors
    from nasperf._io import content_hash, source_fingerprint
    from nasperf.zerocost.tools import score_archs

    data = str(args.data.resolve()) if args.data is not None else None
    config = {"space": space.name, "proxies": names, "seed": args.seed,
              "model_kwargs": args.model_kwargs, "batch_size": args.batch_size,
              "input_shape": list(args.input_shape) if args.input_shape else None,
              "data": (hashlib.sha256(args.data.read_bytes()).hexdigest()[:16]
                       if data else None),
              "device": args.device, "shard_size": args.shard_size,
              "version": nasperf.__version__,
              "code": source_fingerprint("searchspaces", "zerocost")}
    strings = [space.to_string(a) for a in archs]
    shards = []
    for start in range(0, len(strings), args.shard_size):
        chunk = strings[start:start + args.shard_size]
        task = {"space": space.name, "archs": chunk, "proxies": names, "seed": args.seed,
                "model_kwargs": args.model_kwargs, "data": data, "device": args.device,
                "input_shape": args.input_shape, "batch_size": args.batch_size,
                "threads": args.threads}
        shard_id = f"{start // args.shard_size:05d}-{content_hash(config, chunk, length=12)}"
        shards.append(executors.Shard(shard_id, task, size=len(chunk)))
    with executor as ex:
        results = ex.map_shards(score_archs, shards, out_dir=args.out, config=config,
                                part=args.shard, progress=not args.no_progress,
                                desc="architectures", unit="arch")
    records = [r for res in results for r in res]
    if args.out is None:
        for rec in records:
            print(json.dumps(rec), flush=True)
    elif args.shard:
        i, n = args.shard
        print(f"part {i}/{n}: {len(results)} shard(s) ({len(records)} architectures) finished "
              f"in {args.out}; when every part is done, run the same command without --shard "
              "to merge them into proxies.csv", file=sys.stderr)
    else:
        path = write_table(records, names, args.out / "proxies.csv")
        print(f"{len(records)} architectures: {path}", file=sys.stderr)
    return 0


def write_table(records: list[dict], names: list[str], path: Path) -> Path:
    """The merged table of score records, atomically: ``arch``, one column per proxy (empty
    for NaN), ``reasons`` (``proxy: why NaN; ...``). Only deterministic columns (no times),
    so the file is the same for every executor."""
    import pandas as pd

    from nasperf._io import atomic_open

    rows = [{"arch": r["arch"],
             **{n: (math.nan if r["scores"].get(n) is None else r["scores"][n]) for n in names},
             "reasons": "; ".join(f"{k}: {v}" for k, v in sorted(r.get("reasons", {}).items()))}
            for r in records]
    df = pd.DataFrame(rows, columns=["arch", *names, "reasons"])
    with atomic_open(path, newline="") as fh:
        df.to_csv(fh, index=False)
    return path


def _run_streamed(args: argparse.Namespace, space: Any, archs: list, data: Any,
                  names: list[str]) -> int:
    """Every architecture not yet in ``--out`` (a JSON-lines file): one JSON line each, in
    this process."""
    from tqdm.auto import tqdm

    from nasperf.zerocost.tools import score_record

    done = _read_done(args.out)
    todo = [a for a in archs if space.to_string(a) not in done]
    if done:
        print(f"resuming: {len(archs) - len(todo)} of {len(archs)} architectures already in "
              f"{args.out}", file=sys.stderr)
    from nasperf.zerocost.encoder import JsonLinesLog

    sink = JsonLinesLog(args.out) if args.out else None
    for arch in tqdm(todo, disable=args.no_progress, desc="architectures", file=sys.stderr):
        rec = score_record(space, arch, data, names, seed=args.seed,
                           model_kwargs=args.model_kwargs, device=args.device,
                           input_shape=args.input_shape, batch_size=args.batch_size)
        if sink is not None:
            sink.append(rec)  # one whole line, fsynced: a kill loses at most this arch
        else:
            print(json.dumps(rec), flush=True)
    return 0
