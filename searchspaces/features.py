"""Per-space settings of the feature encoders: one-hot layouts and GRAF defaults.

A :class:`~nasperf.searchspaces.SearchSpace` returns these from ``space.onehot_layout()``
and ``space.graf_config()``; the encoders in :mod:`nasperf.encoders` and
:mod:`nasperf.graphfeatures` read them from the space. This module holds the layout
machinery (:class:`OneHotLayout`, the padded-graph layout any DAG space can use) and the
fixed layouts of the built-in spaces, which their space classes return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidArchitectureError
from .graph import ArchGraph, data_ops

if TYPE_CHECKING:  # pragma: no cover
    from .base import SearchSpace


# -- GRAF ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GRAFSpaceConfig:
    """Defaults of :class:`~nasperf.graphfeatures.GRAFEncoder` for one space.

    Attributes
    ----------
    groups : tuple of str
        Feature groups of the default configuration (for the benchmark spaces the paper's,
        ``zc_combine/configs``).
    no_path_value : int or None
        ``min_path_len`` when no path exists: one more than the most ops any input -> output
        path of the space can have. None: learned in ``fit`` (one more than the largest
        number of op nodes seen).
    op_attributes : dict op -> dict attribute -> float
        Per-op quantities summed along the chain by the ``pos_state`` group.
    n_positions : int
        Number of chain positions of ``pos_state``.
    """

    groups: tuple[str, ...]
    no_path_value: int | None = None
    op_attributes: dict[str, dict[str, float]] = field(default_factory=dict)
    n_positions: int = 0


#: GRAF groups of cell spaces (the default of spaces that do not choose their own).
DEFAULT_GRAF_GROUPS: tuple[str, ...] = ("op_count", "min_path_len", "max_path_len",
                                        "node_degree")


# -- one-hot layouts -------------------------------------------------------------------------------
@dataclass(frozen=True)
class OneHotLayout:
    """Column names and encoders of one layout.

    Attributes
    ----------
    names, categorical_names : tuple of str
        Column names of the one-hot and of the categorical form.
    onehot : callable
        ``list of items -> float array (n, len(names))``.
    categorical : callable
        ``list of items -> int array (n, len(categorical_names))``.
    """

    names: tuple[str, ...]
    categorical_names: tuple[str, ...]
    onehot: Callable[[list], np.ndarray]
    categorical: Callable[[list], np.ndarray]


def one_hot(ids: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, p) integer ids in ``0..n_classes`` -> (n, p * n_classes) one-hot; the id
    ``n_classes`` means "absent" and gives an all-zero block."""
    n, p = ids.shape
    out = np.zeros((n, p, n_classes + 1))
    out[np.arange(n)[:, None], np.arange(p)[None, :], ids] = 1.0
    return out[:, :, :n_classes].reshape(n, p * n_classes)


# -- NB201 / TNB101-micro ------------------------------------------------------------------------
def cell6_layout(space: SearchSpace) -> OneHotLayout:
    """Edge-op one-hot of a 6-edge cell space in NASLib tuple order."""
    edges = space.tuple_edges
    ops = space.ops

    def categorical(archs: list) -> np.ndarray:
        return np.array([space.to_tuple(a) for a in archs], dtype=np.int64).reshape(-1, 6)

    return OneHotLayout(
        names=tuple(f"edge({i},{j})={op}" for i, j in edges for op in ops),
        categorical_names=tuple(f"edge({i},{j})" for i, j in edges),
        onehot=lambda archs: one_hot(categorical(archs), len(ops)),
        categorical=categorical,
    )


# -- padded graphs (NB101 and the generic layout) ------------------------------------------------
def graph_layout(cells: dict[str, tuple[int, int]], ops: Sequence[str],
                 to_graphs: Callable[[Any], dict[str, ArchGraph]]) -> OneHotLayout:
    """Padded adjacency + inner-node op one-hot of every cell.

    Parameters
    ----------
    cells : dict cell name -> (n_nodes, n_inputs)
        Graphs of a cell are padded to ``n_nodes`` nodes; the first ``n_inputs`` are inputs.
    ops : sequence of str
        Op vocabulary of the inner nodes.
    to_graphs : callable
        Item -> ``{cell: ArchGraph}``.
    """
    ops = tuple(ops)
    op_index = {op: k for k, op in enumerate(ops)}
    prefix = len(cells) > 1
    names: list[str] = []
    cat_names: list[str] = []
    for cell, (n, k_in) in cells.items():
        p = f"{cell}_" if prefix else ""
        adj_names = [f"{p}adj({i},{j})" for i in range(n) for j in range(i + 1, n)]
        names += adj_names + [f"{p}node{v}={op}" for v in range(k_in, n - 1) for op in ops]
        cat_names += adj_names + [f"{p}node{v}" for v in range(k_in, n - 1)]

    def categorical(items: list) -> np.ndarray:
        rows = []
        for item in items:
            graphs = to_graphs(item)
            if set(graphs) != set(cells):
                raise InvalidArchitectureError(
                    f"architecture has cells {tuple(graphs)}, the layout has {tuple(cells)}")
            row: list[int] = []
            for cell, (n, k_in) in cells.items():
                adj, ids = pad_graph(graphs[cell], n, k_in, op_index, cell)
                row += adj[np.triu_indices(n, 1)].tolist() + ids.tolist()
            rows.append(row)
        return np.array(rows, dtype=np.int64)

    def onehot(items: list) -> np.ndarray:
        cat = categorical(items)
        blocks, col = [], 0
        for n, k_in in cells.values():
            n_adj, n_inner = n * (n - 1) // 2, n - 1 - k_in
            blocks.append(cat[:, col:col + n_adj].astype(float))
            blocks.append(one_hot(cat[:, col + n_adj:col + n_adj + n_inner], len(ops)))
            col += n_adj + n_inner
        return np.concatenate(blocks, axis=1)

    return OneHotLayout(tuple(names), tuple(cat_names), onehot, categorical)


def pad_graph(g: ArchGraph, n: int, k_in: int, op_index: dict[str, int],
               cell: str) -> tuple[np.ndarray, np.ndarray]:
    """(n, n) adjacency with padding nodes before the output and the inner-node op ids
    (``len(op_index)`` for padding)."""
    m = g.n_nodes
    if m > n:
        raise InvalidArchitectureError(
            f"cell {cell!r} has {m} nodes, more than the {n} of the encoding layout (fitted on "
            "smaller graphs?)"
        )
    pos = np.r_[np.arange(m - 1), n - 1]
    adj = np.zeros((n, n), dtype=np.int64)
    adj[np.ix_(pos, pos)] = g.adjacency
    ids = np.full(n - 1 - k_in, len(op_index), dtype=np.int64)
    for v in range(k_in, m - 1):
        try:
            ids[v - k_in] = op_index[g.ops[v]]
        except KeyError:
            raise InvalidArchitectureError(
                f"cell {cell!r}: unknown op {g.ops[v]!r} at node {v}; known ops: "
                f"{', '.join(op_index)}"
            ) from None
    return adj, ids


def nb101_layout(space: SearchSpace) -> OneHotLayout:
    """NASLib's NB101 adjacency one-hot of the pruned cell padded to 7 nodes."""
    return graph_layout({"cell": (7, 1)}, data_ops(space.ops), space.to_graphs)


# -- NB301 -------------------------------------------------------------------------------------
_DARTS_NODES = range(2, 6)
_DARTS_EDGES = tuple((j, i) for i in _DARTS_NODES for j in range(i))


def nb301_layout(space: SearchSpace) -> OneHotLayout:
    """Per cell: 14 possible edges into nodes 2..5 and a one-hot of the 8 ops."""
    ops = space.ops
    cells = ("normal", "reduce")
    names, cat_names = [], []
    for c in cells:
        names += [f"{c}_adj({j},{i})" for j, i in _DARTS_EDGES]
        names += [f"{c}_node{i}_op{a}={op}" for i in _DARTS_NODES for a in (0, 1) for op in ops]
        cat_names += [f"{c}_node{i}_{kind}{a}" for i in _DARTS_NODES for a in (0, 1)
                      for kind in ("in", "op")]
    edge_col = {e: k for k, e in enumerate(_DARTS_EDGES)}

    def parts(archs: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Adjacency (n, 2, 14), inputs (n, 2, 8), op ids (n, 2, 8)."""
        adj = np.zeros((len(archs), 2, len(_DARTS_EDGES)), dtype=np.int64)
        src = np.zeros((len(archs), 2, 8), dtype=np.int64)
        op_ids = np.zeros((len(archs), 2, 8), dtype=np.int64)
        for r, arch in enumerate(archs):
            arch = space.canonicalize(arch)
            for ci, c in enumerate(cells):
                for k, (s, op) in enumerate(arch.cell(c)):
                    adj[r, ci, edge_col[(s, 2 + k // 2)]] = 1
                    src[r, ci, k] = s
                    op_ids[r, ci, k] = ops.index(op)
        return adj, src, op_ids

    def onehot(archs: list) -> np.ndarray:
        adj, _, op_ids = parts(archs)
        return np.concatenate([np.concatenate([adj[:, ci], one_hot(op_ids[:, ci], len(ops))],
                                              axis=1) for ci in range(2)], axis=1)

    def categorical(archs: list) -> np.ndarray:
        _, src, op_ids = parts(archs)
        return np.stack([src, op_ids], axis=3).reshape(len(archs), -1)

    return OneHotLayout(tuple(names), tuple(cat_names), onehot, categorical)


# -- TNB101-macro -------------------------------------------------------------------------------
def tnb101_macro_layout(space: SearchSpace) -> OneHotLayout:
    """One-hot of the block code (1..4, or ``missing``) at each of 6 positions."""
    codes = (1, 2, 3, 4)
    n_pos = 6

    def categorical(archs: list) -> np.ndarray:
        out = np.zeros((len(archs), n_pos), dtype=np.int64)
        for r, arch in enumerate(archs):
            t = [int(c) for c in space.to_tuple(arch) if int(c) != 0]
            if len(t) > n_pos or any(c not in codes for c in t):
                raise InvalidArchitectureError(f"tnb101_macro: unexpected block codes {t}")
            out[r, :len(t)] = t
        return out

    def onehot(archs: list) -> np.ndarray:
        cat = categorical(archs)
        ids = np.where(cat == 0, len(codes), cat - 1)  # last class: no block
        return one_hot(ids, len(codes) + 1)

    return OneHotLayout(
        names=tuple(f"block{p}={c}" for p in range(n_pos) for c in (*codes, "missing")),
        categorical_names=tuple(f"block{p}" for p in range(n_pos)),
        onehot=onehot, categorical=categorical,
    )
