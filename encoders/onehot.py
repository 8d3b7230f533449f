"""One-hot (adjacency + operation) encodings, one fixed layout per space.

Layouts (``ONEHOT_LAYOUTS``, keyed by space name), each also as integer categories
(``categorical=True``, one column per position, for tree models):

``nb201``, ``tnb101_micro``
    The edge-op one-hot of the fixed 6-edge cell (NASLib's NB201 "adjacency one-hot"):
    for each edge in NASLib tuple order, one column per op of the space (``none``
    included). 30 (NB201) / 24 (TNB101-micro) columns; categorical: the 6 op ids.
``nb101``
    NASLib's ``encode_adj``: the 21 upper-triangular entries of the pruned cell's adjacency
    matrix padded to 7 nodes (output moved to node 6, as NASLib pads), then a one-hot of the
    op of each of the 5 inner nodes over ``maxpool3x3, conv1x1-bn-relu, conv3x3-bn-relu``
    (all zeros for a padding node). 36 columns; categorical: 21 adjacency entries, then 5 op
    ids with 3 = no node.
``nb301``
    Per cell (prefix ``normal_`` / ``reduce_``), NASLib's DARTS adjacency encoding made
    one-hot: the 14 possible edges ``j -> i`` into intermediate nodes ``i = 2..5``, then a
    one-hot over the 7 ops of both operations of each node (``node{i}_op0`` reads the
    lower-numbered input, ``op1`` the higher one). 70 columns per cell; categorical: per
    operation its input node and op id (NASLib's compact form), 16 per cell.
``tnb101_macro``
    One-hot of the block code at each of the 6 positions, with a ``missing`` category for
    shorter networks. 30 columns; categorical: the 6 codes, 0 = no block.

Any other space (or ``layout="graph"``) uses the generic graph layout learned in ``fit``:
per cell, the upper-triangular adjacency padded to the largest graph seen (padding nodes
are inserted before the output) and a one-hot of every inner node's op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, SearchSpace

from .base import (
    ArchEncoder,
    data_ops,
    graphs_of,
    input_names_of,
    parse_graph_or_arch,
    unique_index,
)


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


def _one_hot(ids: np.ndarray, n_classes: int) -> np.ndarray:
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
        onehot=lambda archs: _one_hot(categorical(archs), len(ops)),
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
                adj, ids = _pad_graph(graphs[cell], n, k_in, op_index, cell)
                row += adj[np.triu_indices(n, 1)].tolist() + ids.tolist()
            rows.append(row)
        return np.array(rows, dtype=np.int64)

    def onehot(items: list) -> np.ndarray:
        cat = categorical(items)
        blocks, col = [], 0
        for n, k_in in cells.values():
            n_adj, n_inner = n * (n - 1) // 2, n - 1 - k_in
            blocks.append(cat[:, col:col + n_adj].astype(float))
            blocks.append(_one_hot(cat[:, col + n_adj:col + n_adj + n_inner], len(ops)))
            col += n_adj + n_inner
        return np.concatenate(blocks, axis=1)

    return OneHotLayout(tuple(names), tuple(cat_names), onehot, categorical)


def _pad_graph(g: ArchGraph, n: int, k_in: int, op_index: dict[str, int],
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
        return np.concatenate([np.concatenate([adj[:, ci], _one_hot(op_ids[:, ci], len(ops))],
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
        return _one_hot(ids, len(codes) + 1)

    return OneHotLayout(
        names=tuple(f"block{p}={c}" for p in range(n_pos) for c in (*codes, "missing")),
        categorical_names=tuple(f"block{p}" for p in range(n_pos)),
        onehot=onehot, categorical=categorical,
    )


#: Space name -> layout factory.
ONEHOT_LAYOUTS: dict[str, Callable[[SearchSpace], OneHotLayout]] = {
    "nb201": cell6_layout,
    "tnb101_micro": cell6_layout,
    "nb101": nb101_layout,
    "nb301": nb301_layout,
    "tnb101_macro": tnb101_macro_layout,
}


class OneHotEncoder(ArchEncoder):
    """One-hot (adjacency + operations) encoding with a fixed length per space.

    Parameters
    ----------
    space : str, SearchSpace or None
        The search space; ``None`` accepts ArchGraph inputs (generic graph layout).
    categorical : bool
        Integer op ids (and input ids / adjacency bits) per position instead of one-hot
        columns: a compact encoding for tree models.
    layout : {"auto", "graph"}
        ``"auto"``: the space's layout in :data:`ONEHOT_LAYOUTS` when there is one, else the
        generic graph layout; ``"graph"``: always the generic graph layout.
    progress : bool or None
        Progress bar (``None``: for long inputs only).

    Attributes
    ----------
    layout_ : OneHotLayout
    feature_names_out_ : list of str
    """

    def __init__(self, space: str | SearchSpace | None = None, categorical: bool = False,
                 layout: str = "auto", progress: bool | None = None):
        self.space = space
        self.categorical = categorical
        self.layout = layout
        self.progress = progress

    def _use_registry(self) -> bool:
        if self.layout not in ("auto", "graph"):
            raise ValueError(f"layout must be 'auto' or 'graph', got {self.layout!r}")
        return (self.layout == "auto" and self.space_ is not None
                and self.space_.name in ONEHOT_LAYOUTS)

    def _parse_one(self, x: Any) -> Any:
        if self._use_registry():
            return self.space_.parse(x)
        return parse_graph_or_arch(self.space_, x)

    def _fit(self, items: list) -> None:
        if self._use_registry():
            self.layout_ = ONEHOT_LAYOUTS[self.space_.name](self.space_)
        else:
            self.layout_ = self._fit_graph_layout(items)
        names = self.layout_.categorical_names if self.categorical else self.layout_.names
        self.feature_names_out_ = list(names)

    def _fit_graph_layout(self, items: list) -> OneHotLayout:
        space = self.space_
        uniques, _ = unique_index(items)
        graph_sets = [graphs_of(space, it) for it in uniques]
        cells: dict[str, tuple[int, int]] = {}
        for name in graph_sets[0]:
            graphs = [gs[name] for gs in graph_sets]
            cells[name] = (max(g.n_nodes for g in graphs), len(input_names_of(graphs[0])))
        if space is not None:
            ops = data_ops(space.ops)
        else:
            ops = tuple(sorted({op for gs in graph_sets for g in gs.values()
                                for op in g.ops[1:-1] if not op.startswith("input")}))
        return graph_layout(cells, ops, lambda it: graphs_of(space, it))

    def _transform(self, items: list) -> np.ndarray:
        uniques, inverse = unique_index(items)
        encode = self.layout_.categorical if self.categorical else self.layout_.onehot
        chunk = 2048
        parts = [encode(uniques[i:i + chunk]) for i in
                 self._progress(range(0, len(uniques), chunk), -(-len(uniques) // chunk),
                                "one-hot", n_archs=len(uniques))]
        return np.concatenate(parts, axis=0)[inverse]
