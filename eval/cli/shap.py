"""``nasperf shap``: train a predictor on a random subset of a benchmark, explain its
predictions on the other architectures with SHAP
(:func:`nasperf.eval.shap_attr.shap_attributions`), write summary and bar plots and print
per-feature and per-group importance. Needs ``pip install 'nasperf[shap]'``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from . import COMMANDS
from ._options import add_data_dir, add_dataset, add_seed, add_space, new_command


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``shap`` command to ``sub``."""
    p = new_command(sub, "shap", COMMANDS["shap"][1], __doc__)
    add_space(p, "nb201")
    add_dataset(p, "cifar10")
    p.add_argument("--source", default=None, help="benchmark source (load_benchmark)")
    p.add_argument("--target", default=None)
    p.add_argument("--features", default="zc",
                   help="feature families joined by '+' or ',' (eval.features), e.g. graf+zc")
    p.add_argument("--predictor", default="lightgbm", help="nasperf.predictors.get_predictor name")
    p.add_argument("--train-size", type=int, default=1024)
    p.add_argument("--explain-size", type=int, default=1000,
                   help="test architectures explained (random subset)")
    p.add_argument("--background", type=int, default=100)
    p.add_argument("--max-display", type=int, default=20)
    add_seed(p, 0)
    add_data_dir(p)
    p.add_argument("--cache-dir", default=None, help="feature cache directory")
    p.add_argument("--out", default=".", help="directory for the PNG files")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, bench: Any = None) -> int:
    """Run ``nasperf shap``. ``bench`` replaces ``load_benchmark(...)`` (tests)."""
    import numpy as np
    import pandas as pd

    from nasperf.predictors import get_predictor

    from ..features import build_features
    from ..metrics import kendall_tau
    from ..shap_attr import plot_bar, plot_summary, shap_attributions

    if bench is None:
        from nasperf.searchspaces import load_benchmark

        kwargs = {k: v for k, v in (("source", args.source), ("target", args.target),
                                    ("data_dir", args.data_dir)) if v is not None}
        bench = load_benchmark(args.space, args.dataset, **kwargs)
    families = [f for f in re.split(r"[+,]", args.features) if f]
    X, names, groups = build_features(bench, families, cache_dir=args.cache_dir)
    y = np.asarray(bench.y, dtype=float)
    labelled = np.flatnonzero(~np.isnan(y))
    if args.train_size >= labelled.size:
        raise ValueError(f"--train-size {args.train_size} leaves no test architecture of "
                         f"{labelled.size} labelled")
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(labelled)
    train, test = perm[: args.train_size], perm[args.train_size:]
    model = get_predictor(args.predictor, random_state=args.seed).fit(X[train], y[train])
    tau = kendall_tau(y[test], model.predict(X[test]))
    result = shap_attributions(model, X[test], names, groups=groups,
                               background=args.background, max_rows=args.explain_size,
                               random_state=args.seed)
    tag = f"{args.space}_{args.dataset}_{'+'.join(families)}_{args.predictor}"
    title = (f"{args.predictor} on {'+'.join(families)}, {args.space} {args.dataset}, "
             f"train {args.train_size}")
    out = Path(args.out)
    summary = plot_summary(result, out / f"shap_summary_{tag}.png", args.max_display, title)
    bar = plot_bar(result, out / f"shap_bar_{tag}.png", args.max_display, title)
    print(f"# {title}: test Kendall tau {tau:.3f} on {test.size}; SHAP ({result.explainer}) "
          f"on {len(result.values)} test architectures")
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        def fmt(v: float) -> str:
            return f"{v:.4f}"

        print("\n## Feature groups\n" + result.group_importance().to_string(float_format=fmt))
        if len(groups) > len(families):  # some family has groups inside: also per family
            per_family = result.group_importance({f: groups[f] for f in families})
            print("\n## Feature families\n" + per_family.to_string(float_format=fmt))
        print(f"\n## Top {args.max_display} features\n" + result.mean_abs()
              .iloc[: args.max_display].to_string(float_format=fmt))
    print(f"\nwrote {summary}\nwrote {bar}")
    return 0
