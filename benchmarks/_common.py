"""Helpers shared by the benchmark scripts (not part of the installed package).

The scripts run by path (``python benchmarks/bench_proxies.py ...``), which puts this folder
on ``sys.path``, so they import this module as ``_common``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from nasperf.searchspaces import Benchmark


def str_list(text: str) -> list[str]:
    """The non-empty items of a comma-separated option value, stripped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def int_list(text: str) -> list[int]:
    """A comma-separated option value of integers, e.g. ``"32,128,1024"``."""
    try:
        return [int(t) for t in str_list(text)]
    except ValueError:
        raise ValueError(f"expected comma-separated integers, got {text!r}") from None


def first_cells(bench: Benchmark, n: int | None) -> Benchmark:
    """The benchmark restricted to its first ``n`` rows (all of them when ``n`` is None)."""
    if n is None:
        return bench
    if n < 1:
        raise ValueError(f"the number of cells must be >= 1, got {n}")
    return dataclasses.replace(bench, archs=bench.archs[:n], y=bench.y[:n],
                               proxies=bench.proxies.iloc[:n], frame=bench.frame.iloc[:n])
