"""Evaluation: metrics, the benchmark runner and CLI, SHAP attributions, bias metrics.

Names are imported lazily so that ``import eval`` stays cheap and a missing optional piece
does not break the others.
"""

from importlib import import_module

_EXPORTS = {
    "kendall_tau": "metrics", "spearman": "metrics", "pearson": "metrics", "mae": "metrics",
    "rmse": "metrics", "precision_at_k": "metrics", "top_k_overlap": "metrics",
    "ndcg": "metrics", "all_metrics": "metrics", "METRICS": "metrics",
    "run_benchmark": "runner", "summarise": "runner", "split": "runner",
    "summary_table": "summary",
    "build_features": "features", "FEATURE_FAMILIES": "features",
    "shap_attributions": "shap_attr",
    "bias_metrics": "bias", "BiasCorrector": "bias",
    "plot_metric_vs_train_size": "plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
