"""Four-node, six-edge cell spaces: NAS-Bench-201 and TransNAS-Bench-101 micro.

Both spaces share one cell: nodes 0 (input) .. 3 (output), an operation on each of the six
edges ``j -> i`` (j < i), node ``i`` = sum of its incoming edges. Architectures are stored
with their ops in the **official string order**::

    EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))

i.e. grouped by destination node: node1<-0 | node2<-0,1 | node3<-0,1,2. The NASLib NB201
tuple uses a different order, ``(0,1), (0,2), (0,3), (1,2), (1,3), (2,3)``; the conversion
lives in one place, :attr:`Cell6Space.tuple_edges`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .base import (
    SearchSpace,
    check_arch_ops,
    check_count,
    check_num_classes,
    check_op,
    check_seed,
    op_from_id,
    rng_for,
)
from .benchmarks import (
    NB201_DATASETS,
    TNB101_TARGETS,
    TNB101_TASKS,
    BenchmarkInfo,
    load_nb201,
    load_tnb101_micro,
)
from .errors import InvalidArchitectureError
from .features import OneHotLayout, cell6_layout
from .graph import ArchGraph, edge_cell_to_graph
from .taxonomy import taxonomy

EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: NB201 op names in NASLib id order.
NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: TransNAS-Bench-101 micro op names in NASLib id order.
TNB101_MICRO_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")


@dataclass(frozen=True)
class Cell6Arch:
    """Six edge ops in :data:`EDGES` order (official string order).

    Validated on construction: exactly 6 op names of the space's vocabulary
    (:attr:`vocabulary`; any strings for this base class), else
    :class:`InvalidArchitectureError` naming the edge and the value.
    """

    ops: tuple[str, ...]
    #: The op names an instance may hold (None: any string).
    vocabulary: ClassVar[tuple[str, ...] | None] = None

    def __post_init__(self) -> None:
        checked = check_arch_ops(type(self).__name__, self.ops, self.vocabulary, 6,
                                 lambda k: f"edge {EDGES[k]} (ops[{k}])")
        object.__setattr__(self, "ops", checked)

    def edge_ops(self) -> list[tuple[int, int, str]]:
        """``[(src, dst, op), ...]`` in :data:`EDGES` order."""
        return [(s, d, op) for (s, d), op in zip(EDGES, self.ops)]


@dataclass(frozen=True)
class NB201Arch(Cell6Arch):
    """A NAS-Bench-201 cell; ``str(arch)`` is the official string."""

    vocabulary: ClassVar[tuple[str, ...] | None] = NB201_OPS

    def __str__(self) -> str:
        return NB201Space().to_string(self)


@dataclass(frozen=True)
class TNB101MicroArch(Cell6Arch):
    """A TransNAS-Bench-101 micro cell; ``str(arch)`` is the official string."""

    vocabulary: ClassVar[tuple[str, ...] | None] = TNB101_MICRO_OPS

    def __str__(self) -> str:
        return TNB101MicroSpace().to_string(self)


@functools.lru_cache(maxsize=32768)
def _cell_graph(ops: tuple[str, ...]) -> ArchGraph:
    """The (immutable) graph of a cell; memoised, the spaces have at most 15,625 cells."""
    return edge_cell_to_graph([(s, d, op) for (s, d), op in zip(EDGES, ops)], n_cell_nodes=4)


class Cell6Space(SearchSpace):
    """Shared logic of the four-node, six-edge cell spaces."""

    #: Edge order of the NASLib tuple, as (src, dst) pairs.
    tuple_edges: ClassVar[tuple[tuple[int, int], ...]]
    arch_type: ClassVar[type[Cell6Arch]]
    #: ``none`` edges carry no path: paths pass 1 to 3 op nodes.
    path_lengths = (1, 3)

    def onehot_layout(self) -> OneHotLayout:
        """The edge-op one-hot of the six edges in NASLib tuple order (NASLib's NB201
        "adjacency one-hot"): ``6 * len(ops)`` columns, categorical: the 6 op ids."""
        return cell6_layout(self)

    # -- parsing -----------------------------------------------------------------------------
    def _from_ops(self, ops: Sequence[Any], where: str) -> Cell6Arch:
        if len(ops) != 6:
            raise InvalidArchitectureError(f"{where}: a cell has 6 edges, got {len(ops)} ops")
        checked = tuple(check_op(self.ops, op, f"{where}, edge {EDGES[k]}") for k, op in
                        enumerate(ops))
        return self.arch_type(checked)

    def _from_sequence(self, seq: Sequence) -> Cell6Arch:
        where = f"{self.name} tuple {tuple(seq)!r:.80}"
        if len(seq) != 6:
            raise InvalidArchitectureError(f"{where}: expected 6 op ids, got {len(seq)}")
        if all(isinstance(v, str) for v in seq):  # op names in string order
            return self._from_ops(seq, where)
        by_edge = {
            edge: op_from_id(self.ops, v, f"{where}, position {k} (edge {edge})")
            for k, (edge, v) in enumerate(zip(self.tuple_edges, seq))
        }
        return self.arch_type(tuple(by_edge[e] for e in EDGES))

    def to_tuple(self, arch: Cell6Arch) -> tuple[int, ...]:
        arch = self.check(arch)
        by_edge = dict(zip(EDGES, arch.ops))
        return tuple(self.ops.index(by_edge[e]) for e in self.tuple_edges)

    # -- views ---------------------------------------------------------------------------------
    def to_graphs(self, arch: Cell6Arch) -> dict[str, ArchGraph]:
        """``{"cell": g}``: ops as nodes; ``none`` edges and dead ops dropped."""
        return {"cell": _cell_graph(self.check(arch).ops)}

    def canonicalize(self, arch: Cell6Arch) -> Cell6Arch:
        """Replace the op of every edge that is not on an input->output path by ``none``.

        Cells that differ only on such dead edges build the same network function (see
        NATS-Bench issue #19); the GRAF CSVs keep only cells equal to their canonical form.
        """
        arch = self.check(arch)
        live = {(s, d) for s, d, op in arch.edge_ops() if op != "none"}
        reach_in = {0}
        for s, d in EDGES:  # EDGES is ordered by destination: one pass suffices
            if (s, d) in live and s in reach_in:
                reach_in.add(d)
        reach_out = {3}
        for s, d in reversed(EDGES):
            if (s, d) in live and d in reach_out:
                reach_out.add(s)
        ops = tuple(
            op if (s, d) in live and s in reach_in and d in reach_out else "none"
            for (s, d), op in zip(EDGES, arch.ops)
        )
        return self.arch_type(ops)

    def is_canonical(self, arch: Cell6Arch) -> bool:
        return self.canonicalize(arch) == arch

    # -- sampling ------------------------------------------------------------------------------
    def sample(self, n: int, seed: int | np.random.Generator | None = 0) -> list[Cell6Arch]:
        """``n`` cells with uniform ops on every edge (``n >= 0``; see
        :func:`~nasperf.searchspaces.base.check_count`)."""
        n, rng = check_count(n), check_seed(seed)
        ids = rng.integers(0, len(self.ops), size=(n, 6))
        return [self.arch_type(tuple(self.ops[i] for i in row)) for row in ids]

    def mutate(self, arch: Cell6Arch, seed: int | np.random.Generator | None = 0
               ) -> Cell6Arch:
        """Change the op of one random edge to a different op."""
        arch = self.check(arch)
        rng = rng_for(seed)
        edge = int(rng.integers(6))
        choices = [o for o in self.ops if o != arch.ops[edge]]
        ops = list(arch.ops)
        ops[edge] = choices[int(rng.integers(len(choices)))]
        return self.arch_type(tuple(ops))

    def neighbours(self, arch: Cell6Arch) -> list[Cell6Arch]:
        """The ``6 * (len(ops) - 1)`` cells with the op of one edge changed, by edge then op."""
        arch = self.check(arch)
        return [self.arch_type(arch.ops[:e] + (op,) + arch.ops[e + 1:])
                for e in range(6) for op in self.ops if op != arch.ops[e]]

    def enumerate(self) -> list[Cell6Arch]:
        """All ``len(ops) ** 6`` cells, in NASLib tuple order (lexicographic on op ids)."""
        out = []
        for ids in itertools.product(range(len(self.ops)), repeat=6):
            out.append(self._from_sequence(ids))
        return out


_NB201_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$", re.ASCII)


class NB201Space(Cell6Space):
    """NAS-Bench-201 (Dong & Yang, ICLR 2020).

    Accepted inputs: the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``; the NASLib
    tuple of 6 op ids (edge order (0,1),(0,2),(0,3),(1,2),(1,3),(2,3); ids 0 skip_connect,
    1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3), as a tuple, list or its ``str``;
    a list of 6 op names in string order; the nested genotype list
    ``[[("op", 0)], [("op", 0), ("op", 1)], [...]]``.
    """

    name = "nb201"
    ops = NB201_OPS
    arch_type = NB201Arch
    tuple_edges = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    op_taxonomy = taxonomy({"skip_connect": "skip", "none": "none",
                            "nor_conv_3x3": ("conv", 3), "nor_conv_1x1": ("conv", 1),
                            "avg_pool_3x3": ("pool", 3)})
    benchmark_info = BenchmarkInfo(
        NB201_DATASETS, ("graf", "zc", "full"), load_nb201, "dataset",
        files=("nas-bench-suite-zero/zc_nasbench201.json",
               "nb201-graf/nb201_valid_nets.csv", "nb201-graf/nb201_zc_proxies.csv",
               "nb201-graf/nb201_ImageNet16-120_valid_nets.csv",
               "nb201-graf/nb201_ImageNet16-120_zc_proxies.csv",
               "nb201-graf/hw_cifar10.csv", "nb201-graf/hw_cifar100.csv",
               "nb201-graf/hw_ImageNet16-120.csv", "nb201-graf/robustness_targets.csv",
               "nb201-full/nats_bench_test_acc.csv"))

    def _from_string(self, text: str) -> NB201Arch:
        where = f"nb201 string {text[:100]!r}"
        nodes = text.split("+")
        if len(nodes) != 3:
            raise InvalidArchitectureError(
                f"{where}: expected 3 '+'-separated node groups, got {len(nodes)}"
            )
        ops: list[str] = []
        for node, group in enumerate(nodes, start=1):
            if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
                raise InvalidArchitectureError(
                    f"{where}: node {node} group {group!r} must be enclosed in '|'"
                )
            tokens = group[1:-1].split("|")
            if len(tokens) != node:
                raise InvalidArchitectureError(
                    f"{where}: node {node} needs {node} input edge(s), got {len(tokens)}"
                )
            for src, tok in enumerate(tokens):
                m = _NB201_TOKEN.match(tok)
                if m is None:
                    raise InvalidArchitectureError(
                        f"{where}: token {tok!r} of node {node} is not of the form op~input"
                    )
                if int(m.group(2)) != src:
                    raise InvalidArchitectureError(
                        f"{where}: token {tok!r} of node {node} must read from node {src}"
                    )
                ops.append(check_op(self.ops, m.group(1), f"{where}, edge ({src}, {node})"))
        return NB201Arch(tuple(ops))

    def _from_sequence(self, seq: Sequence) -> NB201Arch:
        if len(seq) == 3 and all(isinstance(g, (list, tuple)) and g and
                                 isinstance(g[0], (list, tuple)) for g in seq):
            return self._from_genotype(seq)
        return super()._from_sequence(seq)

    def _from_genotype(self, seq: Sequence) -> NB201Arch:
        where = f"nb201 genotype {seq!r:.100}"
        ops: list[str] = []
        for node, group in enumerate(seq, start=1):
            if len(group) != node:
                raise InvalidArchitectureError(
                    f"{where}: node {node} needs {node} input edge(s), got {len(group)}"
                )
            for src, item in enumerate(group):
                if not (isinstance(item, (list, tuple)) and len(item) == 2 and item[1] == src):
                    raise InvalidArchitectureError(
                        f"{where}: entry {item!r} of node {node} must be (op, {src})"
                    )
                ops.append(check_op(self.ops, item[0], f"{where}, edge ({src}, {node})"))
        return NB201Arch(tuple(ops))

    def to_string(self, arch: NB201Arch) -> str:
        o = self.check(arch).ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def to_model(self, arch: NB201Arch, num_classes: int = 10, **kwargs: Any):
        """The NAS-Bench-201 network; see :func:`nasperf.searchspaces.models.nb201.NB201Network`."""
        from .models.nb201 import NB201Network

        arch, num_classes = self.check(arch), check_num_classes(num_classes)
        return NB201Network(arch.edge_ops(), num_classes=num_classes, **kwargs)


_TNB_MICRO = re.compile(r"^(\d+)-(\d+)-(\d)_(\d\d)_(\d\d\d)$", re.ASCII)


class TNB101MicroSpace(Cell6Space):
    """TransNAS-Bench-101 micro (cell-level) space (Duan et al., CVPR 2021).

    Accepted inputs: the official string ``64-41414-a_bc_def`` (digits are op ids, edge order
    node1<-0 | node2<-0,1 | node3<-0,1,2); the NASLib tuple of 6 op ids in the same order
    (ids 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3), as tuple, list or ``str``;
    a list of 6 op names in string order.
    """

    name = "tnb101_micro"
    ops = TNB101_MICRO_OPS
    arch_type = TNB101MicroArch
    tuple_edges = EDGES
    op_taxonomy = taxonomy({"none": "none", "skip_connect": "skip",
                            "nor_conv_1x1": ("conv", 1), "nor_conv_3x3": ("conv", 3)})
    benchmark_info = BenchmarkInfo(
        TNB101_TASKS, ("zc", "graf"), load_tnb101_micro, "task",
        files=("nas-bench-suite-zero/zc_transbench101_micro.json",
               "tnb101-micro-graf/tnb101_micro_valid_nets.csv"), targets=TNB101_TARGETS)
    #: The fixed macro skeleton of the micro space: stem width 64, modules "41414".
    skeleton = "64-41414"

    def _from_string(self, text: str) -> TNB101MicroArch:
        where = f"tnb101_micro string {text[:80]!r}"
        m = _TNB_MICRO.match(text)
        if m is None:
            raise InvalidArchitectureError(f"{where}: expected the form 64-41414-a_bc_def")
        if f"{m.group(1)}-{m.group(2)}" != self.skeleton:
            raise InvalidArchitectureError(
                f"{where}: the micro space has skeleton {self.skeleton}, got "
                f"{m.group(1)}-{m.group(2)}"
            )
        digits = m.group(3) + m.group(4) + m.group(5)
        return self._from_sequence([int(c) for c in digits])

    def to_string(self, arch: TNB101MicroArch) -> str:
        d = [str(self.ops.index(o)) for o in self.check(arch).ops]
        return f"{self.skeleton}-{d[0]}_{''.join(d[1:3])}_{''.join(d[3:])}"

    def to_model(self, arch: TNB101MicroArch, num_classes: int | None = None,
                 task: str | None = None, **kwargs: Any):
        """The TransNAS-Bench-101 micro network; see :mod:`nasperf.searchspaces.models.tnb101`.

        ``task`` is a TransNAS-Bench-101 task (``None``: ``"class_object"``); ``num_classes``
        defaults to the task's own output count (class_object 100, class_scene 63, ...).
        """
        from .models.tnb101 import build_micro

        arch = self.check(arch)
        return build_micro(arch, num_classes=check_num_classes(num_classes, allow_none=True),
                           task=task, **kwargs)
