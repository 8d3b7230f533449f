"""Search spaces: parse, print, graph and model views of benchmark architectures.

>>> from nasperf.searchspaces import get_space
>>> space = get_space("nb201")
>>> arch = space.parse("(0, 2, 3, 2, 3, 1)")
>>> space.to_string(arch)
'|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|'
"""

from .base import SearchSpace
from .benchmarks import Benchmark, BenchmarkInfo, list_benchmarks, load_archs, load_benchmark
from .data import download, find_data_dir
from .errors import BenchmarkDataError, DataNotFoundError, InvalidArchitectureError
from .features import GRAFSpaceConfig, OneHotLayout
from .graph import ArchGraph, GraphSet
from .registry import get_space, list_spaces, register_space
from .taxonomy import OpInfo

__all__ = [
    "ArchGraph",
    "Benchmark",
    "BenchmarkDataError",
    "BenchmarkInfo",
    "DataNotFoundError",
    "GRAFSpaceConfig",
    "GraphSet",
    "InvalidArchitectureError",
    "OneHotLayout",
    "OpInfo",
    "SearchSpace",
    "download",
    "find_data_dir",
    "get_space",
    "list_benchmarks",
    "list_spaces",
    "load_archs",
    "load_benchmark",
    "register_space",
]
