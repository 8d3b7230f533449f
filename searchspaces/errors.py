"""Error types raised for bad architectures and bad benchmark files."""


class InvalidArchitectureError(ValueError):
    """An architecture (string, tuple, matrix, graph) is malformed or not in the space.

    The message names what was wrong and where (which edge, which op, which position).
    """


class BenchmarkDataError(ValueError):
    """A benchmark file is missing, truncated, corrupt or has an unexpected layout."""


class DataNotFoundError(FileNotFoundError):
    """No data directory with the requested benchmark files was found."""
