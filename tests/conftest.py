"""Shared fixtures: the benchmark data directory (tests needing it skip without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchspaces.data import find_data_dir
from searchspaces.errors import DataNotFoundError


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data directory, or skip the test with the places looked at."""
    try:
        return find_data_dir(need="nas-bench-suite-zero/zc_nasbench201.json")
    except DataNotFoundError as exc:
        pytest.skip(f"benchmark data not available: {exc}")
