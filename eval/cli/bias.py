"""``nasperf bias``: correlation of a precomputed proxy with architectural quantities
(NAS-Bench-Suite-Zero Table 3) and the correction f/(b+C) with C tuned by each strategy
(Table 4); see :mod:`nasperf.eval.bias`."""

from __future__ import annotations

import argparse
from typing import Any

from ..bias import ARCH_QUANTITIES, CORRELATIONS
from . import COMMANDS
from ._options import (
    add_data_dir,
    add_dataset,
    add_seed,
    add_space,
    check_names,
    csv_list,
    fraction,
    new_command,
    resolve_dataset,
)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``bias`` command to ``sub``."""
    p = new_command(sub, "bias", COMMANDS["bias"][1], __doc__)
    add_space(p, "nb201")
    add_dataset(p)
    p.add_argument("--source", default=None,
                   help="benchmark table with the proxy columns, e.g. zc (default: the "
                   "space's first)")
    p.add_argument("--target", default=None,
                   help="ground-truth column (default: the source's, validation accuracy)")
    p.add_argument("--proxy", required=True,
                   help="proxy column(s) of the benchmark, comma-separated, e.g. synflow,nwot")
    p.add_argument("--quantity", default="cell_size",
                   help=f"quantity(ies), comma-separated: {', '.join(ARCH_QUANTITIES)}")
    p.add_argument("--strategy", default="all",
                   help="how C is chosen, comma-separated of minimize, equalize, performance; "
                   "'all' or 'both': all three")
    p.add_argument("--method", default="pearson", choices=list(CORRELATIONS),
                   help="correlation coefficient")
    p.add_argument("--fit-fraction", type=fraction, default=1.0, metavar="F",
                   help="choose C on this random fraction of the architectures and report on "
                   "the rest (1: in-sample, like the paper)")
    add_seed(p, 0, help="random seed of the --fit-fraction split")
    p.add_argument("--allow-sign-change", action="store_true",
                   help="also try C with b(a)+C < 0 for some architectures (the paper's search)")
    add_data_dir(p)
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.set_defaults(func=run)
    return p


def _print_table(df, markdown: bool) -> None:
    from ..tables import markdown_table

    if not markdown:
        print(df.to_string(float_format=lambda v: f"{v:.3f}"))
        return
    print(markdown_table(df))


def run(args: argparse.Namespace, bench: Any = None) -> int:
    """Run ``nasperf bias``: print the bias table and the before/after correction table.

    ``bench`` (an object with ``archs``, ``y``, ``proxies``, ``space``) replaces
    ``nasperf.searchspaces.load_benchmark(args.space, args.dataset, ...)``, e.g. in tests. The
    ``params`` quantity is taken from the benchmark's ``params`` proxy column when present.
    Architectures with a NaN proxy, target or quantity are dropped and counted.
    """
    import numpy as np
    import pandas as pd

    from ..bias import STRATEGIES, bias_metrics, compute_quantities, correction_table

    strategies = (list(STRATEGIES) if args.strategy in ("all", "both")
                  else csv_list(args.strategy))
    check_names(csv_list(args.quantity), ARCH_QUANTITIES, "quantity", "--quantity")
    check_names(strategies, STRATEGIES, "strategy", "--strategy")
    if not csv_list(args.proxy):
        raise ValueError("--proxy: give at least one proxy column")
    if bench is None:
        from nasperf.searchspaces import load_benchmark

        args.dataset = resolve_dataset(args.space, args.dataset)
        kwargs = {k: v for k, v in (("source", args.source), ("target", args.target),
                                    ("data_dir", args.data_dir)) if v is not None}
        bench = load_benchmark(args.space, args.dataset, **kwargs)
    space = getattr(bench, "space", None) or args.space
    proxies = csv_list(args.proxy)
    quantities = csv_list(args.quantity)
    if bench.proxies.empty:
        raise ValueError(f"the {args.space} {args.dataset or ''} benchmark "
                         f"(source {getattr(bench, 'source', args.source)}) has no proxy "
                         "columns; choose a source with proxies, e.g. --source zc")
    check_names(proxies, bench.proxies.columns, "proxy column", "--proxy")

    need = [q for q in quantities if not (q == "params" and "params" in bench.proxies)]
    qframe = compute_quantities(bench.archs, space, need)
    if "params" in quantities and "params" in bench.proxies:
        qframe["params"] = bench.proxies["params"].to_numpy(float)
    qframe = qframe[quantities]
    y = np.asarray(bench.y, dtype=float)
    scores = bench.proxies[proxies].reset_index(drop=True).astype(float)
    keep = ~(scores.isna().any(axis=1) | qframe.isna().any(axis=1) | np.isnan(y)).to_numpy()
    n_drop = int((~keep).sum())
    scores, qframe, y = scores[keep].reset_index(drop=True), qframe[keep].reset_index(
        drop=True), y[keep]
    dataset = args.dataset or getattr(bench, "dataset", "")
    print(f"# {args.space} {dataset}: {keep.sum()} architectures"
          + (f" ({n_drop} dropped for NaN)" if n_drop else "") + f"; {args.method} correlation")
    print("\n## Bias (correlation with each quantity)")
    _print_table(bias_metrics(scores, quantities=qframe, method=args.method, y=y)
                 .reset_index(), args.markdown)

    fit_index = None
    if args.fit_fraction < 1:
        rng = np.random.default_rng(args.seed)
        fit_index = rng.permutation(len(y))[: max(3, int(round(args.fit_fraction * len(y))))]
    rows = []
    for proxy in proxies:
        for q in quantities:
            t = correction_table(scores[proxy], qframe[q], y, strategies, method=args.method,
                                 fit_index=fit_index,
                                 allow_sign_change=args.allow_sign_change)
            t.insert(0, "quantity", q)
            t.insert(0, "proxy", proxy)
            rows.append(t)
    title = "in-sample" if fit_index is None else f"C fit on {len(fit_index)}, reported on rest"
    print(f"\n## Correction f/(b+C) ({title})")
    _print_table(pd.concat(rows, ignore_index=True), args.markdown)
    return 0
