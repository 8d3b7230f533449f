"""A graph-dataset view of architectures: one ``torch_geometric.data.Data`` per architecture.

:class:`GraphDataEncoder` turns architectures (or :class:`~nasperf.searchspaces.ArchGraph`
objects) into the input of graph neural predictors such as
:class:`nasperf.predictors.gnn.GNNPredictor`. It needs torch-geometric
(``pip install 'nasperf[gnn]'``).

Layout of one ``Data`` object
-----------------------------
``x`` : float32 tensor ``[n_nodes, n_node_features]``
    Node features: a one-hot of the node's op over :attr:`GraphDataEncoder.vocab_` (the
    input/output labels, then the space's data ops in the order of ``space.ops``, ``none``
    excluded since ``to_graphs`` drops it), followed, for spaces with more than one cell, by
    a one-hot *cell indicator* over the cells in the order of ``space.to_graphs`` (NB301:
    columns ``cell=normal``, ``cell=reduce``). Column names:
    :meth:`GraphDataEncoder.get_feature_names_out` (``"op=<name>"``, ``"cell=<name>"``).
``edge_index`` : int64 tensor ``[2, n_edges]``
    The directed edges ``i -> j`` of the adjacency (``adjacency[i, j] == 1``), source row
    first, in row-major order; nodes keep the order of the ArchGraph (topological).
``num_nodes`` : int
``u`` : float64 tensor ``[1, n_global_features]``, optional
    Per-graph global features (e.g. zero-cost proxies), set by ``transform(X, u=U)`` or
    :func:`attach_global_features`. Float64, since raw proxies such as ``synflow`` (up to
    1e61) overflow float32; NaN and inf are kept for the predictor's ``nan_policy``. The
    leading dimension of 1 makes PyG batching stack them into ``[n_graphs, n_global_features]``.

Multi-cell spaces (NB301: ``normal`` and ``reduce``) give one disjoint union per
architecture: the nodes of the first cell, then those of the second (edge indices offset
accordingly), with no edge between cells; the cell indicator columns tell the cells apart.
One-cell spaces have no cell indicator column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from nasperf._utils import import_optional
from nasperf.searchspaces import ArchGraph, InvalidArchitectureError
from nasperf.searchspaces.graph import data_ops, is_io_op, parse_graph_or_arch

from ._graph_tensors import cell_graphs
from .base import ArchEncoder, unique_index


def _pyg_data() -> Any:
    """The ``torch_geometric.data`` module, or an ImportError naming the ``gnn`` extra."""
    return import_optional("torch_geometric.data", "gnn", "GraphDataEncoder")


def attach_global_features(graphs: Sequence, u: Any) -> np.ndarray:
    """Copies of ``graphs`` with per-graph global features ``u`` stored as ``data.u``.

    Parameters
    ----------
    graphs : sequence of torch_geometric.data.Data, length n
    u : array-like of shape (n, d)
        Numeric; NaN and inf are kept (the predictor's ``nan_policy`` handles them).

    Returns
    -------
    np.ndarray of object, shape (n,)
        New ``Data`` objects (the inputs are not modified) with ``u`` a float64 tensor
        ``[1, d]``.
    """
    import torch

    try:
        arr = np.asarray(u, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"global features must be numeric: {exc}") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != len(graphs):
        raise ValueError(f"global features must have shape ({len(graphs)}, d), got "
                         f"{np.shape(u)}")
    out = np.empty(len(graphs), dtype=object)
    for i, g in enumerate(graphs):
        d = g.clone()
        d.u = torch.as_tensor(arr[i : i + 1], dtype=torch.float64)
        out[i] = d
    return out


class GraphDataEncoder(ArchEncoder):
    """Architectures -> ``torch_geometric.data.Data`` graphs (layout: module docstring).

    Parameters
    ----------
    space : str, SearchSpace or None
        The search space; ``None`` accepts :class:`ArchGraph` inputs (and dicts cell name ->
        ArchGraph) only, with the op vocabulary learned from the graphs given to ``fit``.
    progress : bool or None
        Progress bar (see :class:`~nasperf.encoders.base.ArchEncoder`).

    Attributes
    ----------
    vocab_ : tuple of str
        Op names of the one-hot columns: the input/output labels of the fitted graphs
        (sorted), then the space's data ops (order of ``space.ops``), then any other op seen
        in ``fit`` (sorted).
    cells_ : tuple of str
        Cell names in the order of ``space.to_graphs``.
    feature_names_out_ : list of str
        Names of the node-feature columns ``x``.

    Notes
    -----
    ``transform`` returns an object array of ``Data``, not a numeric matrix, so this encoder
    ends a pipeline only in front of a graph predictor.
    """

    def __init__(self, space=None, *, progress: bool | None = None):
        super().__init__(space, progress=progress)

    # -- ArchEncoder hooks ---------------------------------------------------------------------
    def _parse_one(self, x: Any) -> Any:
        return parse_graph_or_arch(self.space_, x)

    def _fit(self, archs: list) -> None:
        _pyg_data()  # fail early, with the extra's name, when torch-geometric is missing
        cells, per_cell = cell_graphs(self.space_, archs)
        seen = {op for graphs in per_cell.values() for g in graphs for op in g.ops}
        io = sorted(op for op in seen if is_io_op(op))
        space_ops = list(data_ops(self.space_.ops)) if self.space_ is not None else []
        other = sorted(seen - set(io) - set(space_ops))
        self.vocab_ = tuple(io + space_ops + other)
        self.cells_ = tuple(cells)
        self.feature_names_out_ = [f"op={op}" for op in self.vocab_] + (
            [f"cell={c}" for c in self.cells_] if len(self.cells_) > 1 else [])

    def transform(self, X: Sequence, u: Any = None) -> np.ndarray:
        """Graphs of architectures ``X`` (length n), optionally with global features ``u``.

        Parameters
        ----------
        X : sequence of architectures (or ArchGraph objects), length n
        u : array-like of shape (n, d), optional
            Per-graph global features, stored as ``data.u`` (float64 ``[1, d]``).

        Returns
        -------
        np.ndarray of object, shape (n,)
            One ``torch_geometric.data.Data`` per architecture.
        """
        check_is_fitted(self, "feature_names_out_")
        out = self._transform(self._parse_all(X))
        return out if u is None else attach_global_features(out, u)

    def fit_transform(self, X: Sequence, y: Any = None, **fit_params: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` (``u`` may be passed as a keyword)."""
        self.space_ = self._resolve_space()
        archs = self._parse_all(X)
        self._fit(archs)
        out = self._transform(archs)
        u = fit_params.get("u")
        return out if u is None else attach_global_features(out, u)

    def _transform(self, archs: list) -> np.ndarray:
        cells, per_cell = cell_graphs(self.space_, archs)
        if cells != self.cells_:
            raise ValueError(f"architectures have cells {cells}, the encoder {self.cells_}")
        keys = [tuple(per_cell[c][i] for c in cells) for i in range(len(archs))]
        uniques, inverse = unique_index(keys)
        made = [self._one(k) for k in self._progress(uniques, len(uniques), "graph data",
                                                     len(archs))]
        out = np.empty(len(archs), dtype=object)
        used = np.zeros(len(made), bool)
        for i, j in enumerate(inverse):  # duplicates get copies: no two rows share an object
            out[i] = made[j].clone() if used[j] else made[j]
            used[j] = True
        return out

    def _one(self, cell_list: tuple[ArchGraph, ...]) -> Any:
        """One ``Data``: the disjoint union of the cells' graphs."""
        import torch

        pyg = _pyg_data()
        index = {op: k for k, op in enumerate(self.vocab_)}
        n_ops, multi = len(self.vocab_), len(self.cells_) > 1
        n_total = sum(g.n_nodes for g in cell_list)
        x = np.zeros((n_total, n_ops + (len(self.cells_) if multi else 0)), np.float32)
        edges, offset = [], 0
        for c, g in enumerate(cell_list):
            for v, op in enumerate(g.ops):
                if op not in index:
                    raise InvalidArchitectureError(
                        f"op {op!r} was not seen in fit; known ops: {', '.join(self.vocab_)}")
                x[offset + v, index[op]] = 1.0
            if multi:
                x[offset : offset + g.n_nodes, n_ops + c] = 1.0
            src, dst = np.nonzero(g.adjacency)
            edges.append(np.stack([src, dst]) + offset)
            offset += g.n_nodes
        edge_index = np.concatenate(edges, axis=1).astype(np.int64)
        return pyg.Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(edge_index),
                        num_nodes=n_total)

