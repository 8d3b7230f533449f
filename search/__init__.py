"""Predictor-guided architecture search: ask/tell optimisers and the loop that runs them.

>>> from nasperf.search import run_search, run_trials, get_optimizer
>>> bench = load_benchmark("nb201", "cifar10")
>>> history = run_search(None, bench, optimizer="bananas", budget=150, seed=0)
>>> opt = get_optimizer("regularized_evolution", space="nb201", random_state=0)
>>> archs = opt.ask(1); opt.tell(archs, [my_training_run(archs[0])])

The objective is a labelled benchmark (each lookup one query, the search restricted to its
architectures) or any callable ``arch -> float`` over a space.
"""

from .acquisition import ACQUISITIONS, get_acquisition, register_acquisition
from .domain import Domain, as_domain
from .loop import (
    HISTORY_COLUMNS,
    BenchmarkObjective,
    CallableObjective,
    history_table,
    load_history,
    run_search,
    run_trials,
    write_history,
)
from .optimizers import (
    OPTIMIZERS,
    ZERO_SHOT_PROXIES,
    LocalSearch,
    Optimizer,
    PredictorGuided,
    RandomSearch,
    RegularizedEvolution,
    get_optimizer,
    list_optimizers,
    register_optimizer,
    zero_shot_score,
)
from .summary import format_table, search_table

__all__ = [
    "ACQUISITIONS", "HISTORY_COLUMNS", "OPTIMIZERS", "ZERO_SHOT_PROXIES", "BenchmarkObjective",
    "CallableObjective", "Domain", "LocalSearch", "Optimizer", "PredictorGuided",
    "RandomSearch", "RegularizedEvolution", "as_domain", "format_table", "get_acquisition",
    "get_optimizer", "history_table", "list_optimizers", "load_history", "register_acquisition",
    "register_optimizer", "run_search", "run_trials", "search_table", "write_history",
    "zero_shot_score",
]
