"""One-hot (adjacency + operation) encodings, one fixed layout per space.

Each space gives its layout with ``space.onehot_layout()`` (a
:class:`~nasperf.searchspaces.OneHotLayout`, defined in :mod:`nasperf.searchspaces.features`),
each also as integer categories (``categorical=True``, one column per position, for tree
models). The built-in spaces' layouts:

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

A space whose ``onehot_layout()`` is None (the default of user spaces), or
``layout="graph"``, uses the generic graph layout learned in ``fit``:
per cell, the upper-triangular adjacency padded to the largest graph seen (padding nodes
are inserted before the output) and a one-hot of every inner node's op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasperf.searchspaces import SearchSpace
from nasperf.searchspaces.features import OneHotLayout, graph_layout
from nasperf.searchspaces.graph import data_ops, graphs_of, input_names_of, parse_graph_or_arch

from .base import ArchEncoder, unique_index


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
        ``"auto"``: the space's layout (``space.onehot_layout()``) when it has one, else the
        generic graph layout; ``"graph"``: always the generic graph layout.
    progress : bool or None
        Progress bar (``None``: for long inputs only).

    Attributes
    ----------
    layout_ : OneHotLayout
    feature_names_out_ : list of str
    """

    def __init__(self, space: str | SearchSpace | None = None, *, categorical: bool = False,
                 layout: str = "auto", progress: bool | None = None):
        self.space = space
        self.categorical = categorical
        self.layout = layout
        self.progress = progress

    def _resolve_space(self) -> SearchSpace | None:
        """The space, and its fixed layout (None: learn the graph layout) for ``_fit``."""
        if self.layout not in ("auto", "graph"):
            raise ValueError(f"layout must be 'auto' or 'graph', got {self.layout!r}")
        space = super()._resolve_space()
        self._space_layout = (space.onehot_layout() if self.layout == "auto"
                              and space is not None else None)
        return space

    def _parse_one(self, x: Any) -> Any:
        if self._space_layout is not None:  # a fixed layout reads architectures only
            return self.space_.parse(x)
        return parse_graph_or_arch(self.space_, x)

    def _fit(self, items: list) -> None:
        if self._space_layout is not None:
            self.layout_ = self._space_layout
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
