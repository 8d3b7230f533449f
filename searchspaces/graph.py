"""ArchGraph: the one labelled-DAG form every graph encoder works on.

Conventions
-----------
* Operations live on **nodes**. An edge-labelled cell (NB201, TNB101-micro, DARTS) becomes a
  node-labelled DAG by turning every operation edge into a node.
* Node 0 is the input, the last node is the output. Their ops are ``"input"`` and ``"output"``
  unless a space documents otherwise. Cells with several inputs (DARTS: the two previous
  cells) have ``n_inputs`` input nodes ``0 .. n_inputs-1``; they are always kept.
* ``adjacency[i, j] == 1`` means an edge from node ``i`` to node ``j``. Nodes are stored in a
  topological order, so the matrix is strictly upper triangular.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidArchitectureError

if TYPE_CHECKING:  # pragma: no cover
    from .base import SearchSpace

INPUT = "input"
OUTPUT = "output"
#: Op names that mark the input and output nodes of an :class:`ArchGraph`.
IO_PREFIXES = (INPUT, OUTPUT)
#: Ops that never lie on a data path (dropped from edge-labelled cells by ``to_graphs``).
NO_DATA_OPS = ("none",)


@dataclass(frozen=True, eq=False)
class ArchGraph:
    """A node-labelled directed acyclic graph.

    Parameters
    ----------
    adjacency : array-like of shape (n, n)
        0/1 matrix; ``adjacency[i, j] = 1`` for an edge ``i -> j``. Must be strictly upper
        triangular (nodes in topological order).
    ops : sequence of str, length n
        Operation of every node; ``ops[0]`` is the input, ``ops[-1]`` the output.
    n_inputs : int
        Number of input nodes (the first ``n_inputs`` nodes; default 1).
    """

    adjacency: np.ndarray
    ops: tuple[str, ...] = field()
    n_inputs: int = 1

    def __post_init__(self) -> None:
        adj = np.asarray(self.adjacency)
        if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
            raise InvalidArchitectureError(
                f"adjacency must be a square matrix, got shape {adj.shape}"
            )
        if not ((adj == 0) | (adj == 1)).all():
            raise InvalidArchitectureError("adjacency entries must be 0 or 1")
        n = adj.shape[0]
        if n < 2:
            raise InvalidArchitectureError(
                f"a graph needs at least input and output, got {n} node(s)"
            )
        ops = tuple(self.ops)
        if len(ops) != n:
            raise InvalidArchitectureError(
                f"{len(ops)} ops given for a {n}x{n} adjacency matrix"
            )
        if not all(isinstance(o, str) and o for o in ops):
            raise InvalidArchitectureError(f"ops must be non-empty strings, got {ops!r}")
        if not 1 <= self.n_inputs < n:
            raise InvalidArchitectureError(
                f"n_inputs must be in 1..{n - 1} for a {n}-node graph, got {self.n_inputs}"
            )
        if np.tril(adj).any():
            bad = tuple(int(v) for v in np.argwhere(np.tril(adj))[0])
            raise InvalidArchitectureError(
                f"adjacency is not strictly upper triangular (edge {bad[0]}->{bad[1]}): "
                "nodes must be in topological order and the graph acyclic"
            )
        adj = adj.astype(np.uint8)
        adj.setflags(write=False)
        object.__setattr__(self, "adjacency", adj)
        object.__setattr__(self, "ops", ops)

    # -- basic views -------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.ops)

    @property
    def edges(self) -> list[tuple[int, int]]:
        """All edges ``(i, j)`` in row-major order."""
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(self.adjacency))]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArchGraph):
            return NotImplemented
        return (self.ops == other.ops and self.n_inputs == other.n_inputs
                and np.array_equal(self.adjacency, other.adjacency))

    def __hash__(self) -> int:
        return hash((self.ops, self.n_inputs, self.adjacency.tobytes()))

    def __repr__(self) -> str:
        return f"ArchGraph(n_nodes={self.n_nodes}, edges={self.edges}, ops={list(self.ops)})"

    # -- reachability --------------------------------------------------------------------------
    def live_nodes(self) -> np.ndarray:
        """Boolean mask of nodes on some input -> output path (input nodes always count as
        reached from an input)."""
        adj = self.adjacency.astype(bool)
        n, k = self.n_nodes, self.n_inputs
        from_in = np.zeros(n, bool)
        from_in[:k] = True
        for j in range(k, n):
            from_in[j] = bool((adj[:, j] & from_in).any())
        to_out = np.zeros(n, bool)
        to_out[-1] = True
        for i in range(n - 2, -1, -1):
            to_out[i] = bool((adj[i, :] & to_out).any())
        return from_in & to_out

    def is_connected(self) -> bool:
        """True if the output can be reached from the input."""
        return bool(self.live_nodes()[-1])

    def prune(self) -> ArchGraph:
        """Drop every node that is not on an input -> output path (NAS-Bench-101's rule).

        Input nodes are always kept, so that all graphs of a space share their inputs. If the
        output is unreachable the result is the inputs and the output with no edge, which
        encoders treat as an empty (zero) network.
        """
        keep = self.live_nodes()
        connected = bool(keep[-1])
        if not connected:
            keep[:] = False
            keep[-1] = True
        keep[: self.n_inputs] = True
        idx = np.flatnonzero(keep)
        sub = self.adjacency[np.ix_(idx, idx)] if connected else np.zeros((len(idx),) * 2, np.uint8)
        return ArchGraph(sub, tuple(self.ops[i] for i in idx), self.n_inputs)

    # -- structural helpers used by encoders ---------------------------------------------------
    def canonical_hash(self) -> str:
        """A hash equal for isomorphic graphs (NAS-Bench-101's Weisfeiler-Lehman hash).

        Labels are iteratively refined with the sorted labels of in- and out-neighbours;
        input and output keep distinct labels, so the hash is invariant to the order of the
        intermediate nodes.
        """
        adj = self.adjacency
        n = self.n_nodes
        preds = [np.flatnonzero(adj[:, v]).tolist() for v in range(n)]
        succs = [np.flatnonzero(adj[v, :]).tolist() for v in range(n)]
        labels = [_md5(op) for op in self.ops]
        for _ in range(n):
            labels = [
                _md5("|".join(sorted(labels[u] for u in preds[v])) + "#"
                     + "|".join(sorted(labels[w] for w in succs[v])) + "#" + labels[v])
                for v in range(n)
            ]
        return _md5("".join(sorted(labels)))

    @classmethod
    def from_edges(
        cls, n_nodes: int, edges: Sequence[tuple[int, int]], ops: Sequence[str],
        n_inputs: int = 1,
    ) -> ArchGraph:
        """Build from an edge list ``[(src, dst), ...]``."""
        adj = np.zeros((n_nodes, n_nodes), np.uint8)
        for i, j in edges:
            if not (0 <= i < n_nodes and 0 <= j < n_nodes):
                raise InvalidArchitectureError(f"edge ({i}, {j}) out of range for {n_nodes} nodes")
            adj[i, j] = 1
        return cls(adj, tuple(ops), n_inputs)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def edge_cell_to_graph(
    edge_ops: Sequence[tuple[int, int, str]],
    n_cell_nodes: int,
    drop_ops: Sequence[str] = ("none",),
    n_inputs: int = 1,
    input_names: Sequence[str] | None = None,
) -> ArchGraph:
    """Turn an edge-labelled cell into a node-labelled ArchGraph.

    Parameters
    ----------
    edge_ops : sequence of (src, dst, op)
        Cell edges between the cell's own nodes ``0 .. n_cell_nodes-1``. Nodes
        ``0 .. n_inputs-1`` are inputs; the last cell node is the output. Every edge whose op
        is in ``drop_ops`` is removed (``none`` carries nothing).
    n_cell_nodes : int
        Number of nodes of the edge-labelled cell (NB201: 4).
    n_inputs : int
        Number of input nodes (DARTS: 2). The graph's node 0 is a single ``input`` node when
        ``n_inputs == 1``; with several inputs they become nodes named ``input_names``
        and all of them are children of no one (node 0 is the first input).
    Returns
    -------
    ArchGraph
        Nodes: the inputs, then one node per kept edge in the order given, then ``output``.
        Edges: input/op node -> op node when the op's source cell node is the other's
        destination; op nodes ending at the cell output -> ``output``. Nodes not on an
        input -> output path are pruned.
    """
    kept = [(s, d, op) for s, d, op in edge_ops if op not in drop_ops]
    names = list(input_names) if input_names is not None else (
        [INPUT] if n_inputs == 1 else [f"{INPUT}{k}" for k in range(n_inputs)]
    )
    n = n_inputs + len(kept) + 1
    adj = np.zeros((n, n), np.uint8)
    out_node = n_cell_nodes - 1
    for a, (s, _, _) in enumerate(kept):
        dst_a = n_inputs + a
        if s < n_inputs:
            adj[s, dst_a] = 1
        for b, (_, d2, _) in enumerate(kept):
            if d2 == s:
                adj[n_inputs + b, dst_a] = 1
    for a, (_, d, _) in enumerate(kept):
        if d == out_node:
            adj[n_inputs + a, n - 1] = 1
    ops = [*names, *(op for _, _, op in kept), OUTPUT]
    if np.tril(adj).any():
        raise InvalidArchitectureError(
            "edge list must be ordered by destination node so that op nodes are topological"
        )
    return ArchGraph(adj, tuple(ops), n_inputs).prune()


# -- op labels ----------------------------------------------------------------------------------
def is_io_op(op: str) -> bool:
    """True for the input/output node labels (``input``, ``input0``, ``output``, ...)."""
    return op.startswith(IO_PREFIXES)


def data_ops(ops: Iterable[str]) -> tuple[str, ...]:
    """The ops that can label an inner node of an ArchGraph: ``ops`` without input/output
    labels and without ``none`` (which carries no data and is dropped by ``to_graphs``)."""
    return tuple(o for o in ops if not is_io_op(o) and o not in NO_DATA_OPS)


def input_names_of(graph: ArchGraph) -> tuple[str, ...]:
    """Labels of a graph's input nodes: node 0 and the following nodes labelled ``input*``."""
    names = [graph.ops[0]]
    for op in graph.ops[1:-1]:
        if not op.startswith(INPUT):
            break
        names.append(op)
    return tuple(names)


# -- graphs of architectures ----------------------------------------------------------------------
class GraphSet:
    """A hashable, immutable ``{cell name: ArchGraph}`` (a user's multi-cell architecture)."""

    __slots__ = ("graphs", "_hash")

    def __init__(self, graphs: Mapping[str, ArchGraph]):
        if not graphs:
            raise InvalidArchitectureError("an architecture needs at least one graph")
        for name, g in graphs.items():
            if not isinstance(name, str) or not isinstance(g, ArchGraph):
                raise InvalidArchitectureError(
                    f"a graph dict maps cell names (str) to ArchGraph, got {name!r}: "
                    f"{type(g).__name__}"
                )
        self.graphs = tuple(graphs.items())
        self._hash = hash(self.graphs)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphSet) and self.graphs == other.graphs


def graphs_of(space: SearchSpace | None, item: Any) -> dict[str, ArchGraph]:
    """The named graphs of a parsed item: ``space.to_graphs(arch)``, or the item itself
    when it already is an :class:`ArchGraph` (named ``"cell"``) or a :class:`GraphSet`."""
    if isinstance(item, ArchGraph):
        return {"cell": item}
    if isinstance(item, GraphSet):
        return dict(item.graphs)
    if space is None:
        raise ValueError("without a search space, inputs must be ArchGraph objects")
    return space.to_graphs(item)


def parse_graph_or_arch(space: SearchSpace | None, x: Any) -> Any:
    """An :class:`ArchGraph` or :class:`GraphSet` for graph inputs, else ``space.parse(x)``."""
    if isinstance(x, ArchGraph):
        return x
    if isinstance(x, Mapping) and x and all(isinstance(g, ArchGraph) for g in x.values()):
        return GraphSet(x)
    if space is None:
        raise InvalidArchitectureError(
            f"without a search space, inputs must be ArchGraph objects or dicts of them, got "
            f"{type(x).__name__}"
        )
    return space.parse(x)
