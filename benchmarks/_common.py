"""Helpers shared by the benchmark scripts (not part of the installed package).

The scripts run by path (``python benchmarks/bench_proxies.py ...``), which puts this folder
on ``sys.path``, so they import this module as ``_common``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from nasperf.eval.cli._options import csv_list as str_list
from nasperf.eval.cli._options import int_list

if TYPE_CHECKING:  # pragma: no cover
    from nasperf.searchspaces import Benchmark

__all__ = ["first_cells", "int_list", "str_list"]  # option parsing shared with the CLI


def first_cells(bench: Benchmark, n: int | None) -> Benchmark:
    """The benchmark restricted to its first ``n`` rows (all of them when ``n`` is None)."""
    if n is None:
        return bench
    if n < 1:
        raise ValueError(f"the number of cells must be >= 1, got {n}")
    return dataclasses.replace(bench, archs=bench.archs[:n], y=bench.y[:n],
                               proxies=bench.proxies.iloc[:n], frame=bench.frame.iloc[:n])
