"""Search spaces: parse, print, graph and model views of benchmark architectures.

>>> from searchspaces import get_space
>>> space = get_space("nb201")
>>> arch = space.parse("(0, 2, 3, 2, 3, 1)")
>>> space.to_string(arch)
'|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|'
"""

from .base import SearchSpace
from .errors import BenchmarkDataError, DataNotFoundError, InvalidArchitectureError
from .graph import ArchGraph
from .registry import get_space, list_spaces

__all__ = [
    "ArchGraph",
    "BenchmarkDataError",
    "DataNotFoundError",
    "InvalidArchitectureError",
    "SearchSpace",
    "get_space",
    "list_spaces",
]
