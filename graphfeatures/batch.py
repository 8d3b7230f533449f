"""Padded array form of many ArchGraphs, so that graph features are computed in NumPy.

Every graph of a batch is padded to the same number of nodes ``n`` by inserting isolated
padding nodes **before** the output node, so that the output is always node ``n - 1`` and
node order stays topological. Input nodes are the leading nodes whose op starts with
``"input"`` (node 0 is an input in any case); every graph of a batch must have the same
input labels (NB301: ``input0``, ``input1``; other spaces: ``input``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nasperf.searchspaces import ArchGraph, InvalidArchitectureError
from nasperf.searchspaces.graph import input_names_of

#: Op id of input, output and padding nodes in :attr:`GraphBatch.op_ids`.
NOT_AN_OP = -1


@dataclass(frozen=True)
class GraphBatch:
    """``G`` graphs as padded arrays.

    Attributes
    ----------
    adjacency : np.ndarray of bool, shape (G, n, n)
        ``adjacency[g, i, j]`` for an edge ``i -> j``; strictly upper triangular.
    op_ids : np.ndarray of int, shape (G, n)
        Index of each node's op in :attr:`ops`; :data:`NOT_AN_OP` for inputs, the output
        and padding.
    n_nodes : np.ndarray of int, shape (G,)
        Real number of nodes of each graph (without padding).
    input_names : tuple of str
        Labels of the ``k`` input nodes, which are nodes ``0 .. k-1`` of every graph.
    ops : tuple of str
        The op vocabulary.
    """

    adjacency: np.ndarray
    op_ids: np.ndarray
    n_nodes: np.ndarray
    input_names: tuple[str, ...]
    ops: tuple[str, ...]

    def __len__(self) -> int:
        return self.adjacency.shape[0]

    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    @property
    def is_op(self) -> np.ndarray:
        """Bool (G, n): the node carries an operation (not input/output/padding)."""
        return self.op_ids != NOT_AN_OP


def build_batch(graphs: Sequence[ArchGraph], ops: Sequence[str],
                n_nodes: int | None = None) -> GraphBatch:
    """Stack ``graphs`` into a :class:`GraphBatch` over the op vocabulary ``ops``.

    Parameters
    ----------
    graphs : sequence of ArchGraph, length G >= 1
    ops : sequence of str
        Allowed ops of the inner nodes.
    n_nodes : int, optional
        Pad to this many nodes (default: the largest graph).

    Raises
    ------
    InvalidArchitectureError
        If a graph has an op outside ``ops`` or input labels that differ from the first
        graph's; the message names the graph and the op.
    """
    if not graphs:
        raise ValueError("build_batch needs at least one graph")
    ops = tuple(ops)
    op_index = {op: k for k, op in enumerate(ops)}
    inputs = input_names_of(graphs[0])
    k_in = len(inputs)
    sizes = np.array([g.n_nodes for g in graphs], dtype=np.intp)
    n = int(sizes.max()) if n_nodes is None else int(n_nodes)
    if sizes.max() > n:
        raise ValueError(f"a graph has {int(sizes.max())} nodes, more than n_nodes={n}")
    adj = np.zeros((len(graphs), n, n), dtype=bool)
    op_ids = np.full((len(graphs), n), NOT_AN_OP, dtype=np.intp)
    for g_idx, g in enumerate(graphs):
        if input_names_of(g) != inputs:
            raise InvalidArchitectureError(
                f"graph {g_idx} has input nodes {input_names_of(g)}, expected {inputs} like "
                "the other graphs of the same cell"
            )
        m = g.n_nodes
        # nodes 0..m-2 keep their index, the output moves to n-1
        pos = np.r_[np.arange(m - 1), n - 1]
        adj[g_idx][np.ix_(pos, pos)] = g.adjacency.astype(bool)
        for v in range(k_in, m - 1):
            op = g.ops[v]
            try:
                op_ids[g_idx, v] = op_index[op]
            except KeyError:
                raise InvalidArchitectureError(
                    f"unknown op {op!r} at node {v} of graph {g_idx}; known ops: "
                    f"{', '.join(ops)}"
                ) from None
    return GraphBatch(adj, op_ids, sizes, inputs, ops)
