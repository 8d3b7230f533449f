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
from ._options import (
    add_data_dir,
    add_dataset,
    add_seed,
    add_space,
    add_threads,
    apply_threads,
    check_names,
    new_command,
    positive_int,
    resolve_dataset,
)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``shap`` command to ``sub``."""
    from ..shap_attr import (
        DEFAULT_BACKGROUND,
        DEFAULT_EXPLAIN_ROWS,
        DEFAULT_PERMUTATIONS,
        EXPLAINERS,
    )

    p = new_command(sub, "shap", COMMANDS["shap"][1], __doc__)
    add_space(p, "nb201")
    add_dataset(p)
    p.add_argument("--source", default=None,
                   help="benchmark source of load_benchmark: graf, zc or full (default: the "
                   "space's own)")
    p.add_argument("--target", default=None,
                   help="benchmark column to predict, e.g. val_accuracy or test_accuracy "
                   "(default: val_accuracy)")
    p.add_argument("--features", default="zc",
                   help="feature families joined by '+' or ',' (eval.features), e.g. graf+zc")
    p.add_argument("--predictor", default="lightgbm",
                   help="predictor name of nasperf.predictors (gp, mlp_ensemble, lightgbm, "
                   "extra_trees, auto, ...)")
    p.add_argument("--train-size", type=positive_int, metavar="N", default=1024,
                   help="random architectures the predictor is trained on; the others are "
                   "test architectures")
    rows = DEFAULT_EXPLAIN_ROWS
    p.add_argument("--explain-size", type=positive_int, metavar="N", default=None,
                   help="test architectures explained, a random subset (default: "
                   f"{rows['tree']} with the exact tree explainer, {rows['permutation']} "
                   "with a model-agnostic one)")
    p.add_argument("--explainer", default="auto", choices=EXPLAINERS,
                   help="auto: the exact tree explainer for tree ensembles, else the "
                   "permutation explainer; kernel: shap's KernelExplainer")
    p.add_argument("--background", type=positive_int, metavar="N", default=DEFAULT_BACKGROUND,
                   help="background rows (feature unknown) of a model-agnostic explainer; "
                   "its cost grows linearly with them")
    p.add_argument("--max-evals", type=positive_int, metavar="N", default=None,
                   help="model evaluations per explained row of a model-agnostic explainer "
                   f"(default: {DEFAULT_PERMUTATIONS} permutations, 5 (2 d + 1) for d "
                   "features; kernel: 2 d + 2048); its cost grows linearly with them")
    p.add_argument("--max-display", type=positive_int, metavar="N", default=20,
                   help="features shown in the plots and the top-features table")
    add_seed(p, 0)
    add_data_dir(p)
    add_threads(p)
    p.add_argument("--cache-dir", default=None,
                   help="feature cache directory (default: no cache)")
    p.add_argument("--out", default=".", help="directory for the PNG files")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar for a model-agnostic explainer (default: a bar on "
                   "stderr)")
    p.set_defaults(func=run)
    return p


def check_args(args: argparse.Namespace) -> list[str]:
    """Validate the arguments of ``nasperf shap`` before any data is loaded.

    Returns the feature families. Raises ``ValueError`` naming the bad option: a size below
    1, an unknown predictor, explainer or feature family. (The command line's own parser
    already rejects sizes below 1; this also covers a ``Namespace`` built in code.)
    """
    from nasperf.predictors import list_predictors

    from ..features import FEATURE_FAMILIES
    from ..shap_attr import EXPLAINERS

    for option in ("train_size", "explain_size", "background", "max_evals", "max_display"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise ValueError(f"--{option.replace('_', '-')} must be >= 1, got {value}")
    check_names([args.predictor.lower()], list_predictors(), "predictor", "--predictor")
    check_names([args.explainer], EXPLAINERS, "explainer", "--explainer")
    families = [f for f in re.split(r"[+,]", args.features) if f]
    if not families:
        raise ValueError(f"--features {args.features!r} names no feature family; known: "
                         f"{', '.join(FEATURE_FAMILIES)}")
    check_names(families, FEATURE_FAMILIES, "feature family", "--features")
    return families


def run(args: argparse.Namespace, bench: Any = None) -> int:
    """Run ``nasperf shap``. ``bench`` replaces ``load_benchmark(...)`` (tests)."""
    import numpy as np
    import pandas as pd

    from nasperf.predictors import get_predictor

    from ..features import build_features
    from ..metrics import kendall_tau
    from ..shap_attr import (
        DEFAULT_EXPLAIN_ROWS,
        choose_explainer,
        plot_bar,
        plot_summary,
        shap_attributions,
    )

    families = check_args(args)
    if bench is None:
        from nasperf.searchspaces import load_benchmark

        args.dataset = resolve_dataset(args.space, args.dataset)
        kwargs = {k: v for k, v in (("source", args.source), ("target", args.target),
                                    ("data_dir", args.data_dir)) if v is not None}
        bench = load_benchmark(args.space, args.dataset, **kwargs)
    apply_threads(args)
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
    explainer = args.explainer
    if explainer == "auto":
        explainer = choose_explainer(model, X[test])
    rows = args.explain_size or DEFAULT_EXPLAIN_ROWS.get(explainer, DEFAULT_EXPLAIN_ROWS["tree"])
    result = shap_attributions(model, X[test], names, groups=groups,
                               background=args.background, max_rows=rows,
                               random_state=args.seed, explainer=explainer,
                               max_evals=args.max_evals, progress=args.progress)
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
