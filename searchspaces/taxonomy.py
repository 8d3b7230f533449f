"""Op taxonomy: what kind of operation each op name of a space is.

Every :class:`~nasperf.searchspaces.SearchSpace` exposes ``space.op_taxonomy``, a read-only
mapping ``op name -> OpInfo``. The built-in spaces spell theirs out; other spaces get
:func:`guess_op_info` of each of their ops, which reads the usual naming conventions
(``conv`` / ``pool`` in the name, ``skip_connect``, ``none``, ``3x3`` kernels).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .graph import is_io_op

#: The kinds an op can have. ``io`` marks graph end points (input/output nodes), ``none`` an
#: op that carries no data, ``other`` anything else (e.g. TNB101-macro's residual blocks).
OP_KINDS = ("conv", "pool", "skip", "none", "io", "other")

_NONE_NAMES = ("none", "zero", "zeroize")
_SKIP_NAMES = ("skip_connect", "identity", "skip")
_KERNEL = re.compile(r"(\d+)x\1")


@dataclass(frozen=True)
class OpInfo:
    """The kind of one operation.

    Attributes
    ----------
    kind : str
        One of :data:`OP_KINDS`.
    kernel_size : int or None
        Spatial kernel size of convolutions and poolings (``3`` for ``3x3``), else None.
    """

    kind: str
    kernel_size: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise ValueError(f"unknown op kind {self.kind!r}; known: {', '.join(OP_KINDS)}")
        if self.kernel_size is not None and (
                not isinstance(self.kernel_size, int) or self.kernel_size < 1):
            raise ValueError(f"kernel_size must be a positive int or None, got "
                             f"{self.kernel_size!r}")

    @property
    def is_operation(self) -> bool:
        """True for ops that count as an operation of a cell (not ``none``, not ``io``)."""
        return self.kind not in ("none", "io")


def guess_op_info(op: str) -> OpInfo:
    """The generic guess of an op's kind from its name (case-insensitive).

    ``none`` / ``zero`` -> ``none``; names starting with ``input`` / ``output`` -> ``io``;
    containing ``conv`` -> ``conv``; containing ``pool`` -> ``pool``; ``skip_connect`` /
    ``identity`` / ``skip`` -> ``skip``; anything else -> ``other``. A ``KxK`` in the name of
    a conv or pool gives its kernel size.
    """
    name = op.lower()
    if name in _NONE_NAMES:
        return OpInfo("none")
    if is_io_op(name):
        return OpInfo("io")
    for kind in ("conv", "pool"):
        if kind in name:
            m = _KERNEL.search(name)
            return OpInfo(kind, int(m.group(1)) if m else None)
    if name in _SKIP_NAMES:
        return OpInfo("skip")
    return OpInfo("other")


def taxonomy(entries: Mapping[str, OpInfo | str | tuple] | Iterable[str]) -> Mapping[str, OpInfo]:
    """A read-only ``op -> OpInfo`` mapping.

    Parameters
    ----------
    entries : mapping or iterable of op names
        ``{op: OpInfo}``, ``{op: kind}`` or ``{op: (kind, kernel_size)}``; a plain iterable
        of op names is classified with :func:`guess_op_info`.
    """
    if not isinstance(entries, Mapping):
        return MappingProxyType({op: guess_op_info(op) for op in entries})
    out = {}
    for op, info in entries.items():
        if isinstance(info, str):
            info = OpInfo(info)
        elif isinstance(info, tuple):
            info = OpInfo(*info)
        elif not isinstance(info, OpInfo):
            raise TypeError(f"op {op!r}: expected an OpInfo, a kind or (kind, kernel_size), "
                            f"got {type(info).__name__}")
        out[op] = info
    return MappingProxyType(out)


def op_info(taxonomy_: Mapping[str, OpInfo], op: str) -> OpInfo:
    """``taxonomy_[op]``; graph labels missing from it (``input0``, ``output``, ...) are
    ``io`` and unknown ops :func:`guess_op_info`."""
    info = taxonomy_.get(op)
    if info is not None:
        return info
    return guess_op_info(op)
