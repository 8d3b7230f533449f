"""GRAFEncoder: neural graph features of architectures as a scikit-learn transformer."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasperf.encoders.base import ArchEncoder, unique_index
from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, SearchSpace
from nasperf.searchspaces.graph import data_ops, graphs_of, parse_graph_or_arch

from .batch import build_batch
from .groups import FEATURE_GROUPS, compute_groups
from .spaces import DEFAULT_GROUPS


class GRAFEncoder(ArchEncoder):
    """GRAF: graph-property features of architectures (Kadlecová et al., ICML 2024).

    Operation counts, shortest and longest input -> output paths and number of paths
    restricted to subsets of the ops, and in/out degrees per op subset, computed on each
    cell's :class:`~nasperf.searchspaces.ArchGraph` (see :mod:`nasperf.graphfeatures.groups`
    for the exact definitions). The same code serves every space and user DAGs. Spaces with
    several cells (NB301) get one block of features per cell, prefixed ``normal_`` / ``reduce_``.

    Because ``to_graphs`` drops ``none`` edges and ops that no input -> output path uses,
    cells that build the same network (NB201 cells with unreachable ops and their
    ``canonicalize`` form) get identical features.

    Parameters
    ----------
    space : str, SearchSpace or None
        The search space. ``None`` accepts only ArchGraph inputs (or dicts cell -> graph).
    feature_groups : None, "all" or sequence of str
        Groups of :data:`nasperf.graphfeatures.FEATURE_GROUPS`. ``None``: the space's groups
        (``space.graf_config()``: the paper's for the benchmark spaces, else ``op_count``,
        ``min_path_len``, ``max_path_len``, ``node_degree``).
    op_subsets : None or sequence of sequences of str
        Op subsets for the per-subset groups. ``None``: every non-empty subset of the ops
        (of at most ``max_subset_size`` ops).
    max_subset_size : int, optional
        Largest subset size when ``op_subsets`` is ``None``.
    ops : sequence of str, optional
        Op vocabulary of the inner nodes. Default: the space's ops without input/output and
        ``none``; without a space, the ops seen in ``fit`` (sorted).
    no_path_value : int, optional
        ``min_path_len`` of a graph without an allowed path. Default: the space's value
        (``space.graf_config()``: one more than the longest possible path), else (no space,
        or a space that does not know it) one more than the largest number of op nodes seen
        in ``fit``.
    progress : bool or None
        Progress bar (``None``: for long inputs only).

    Attributes
    ----------
    ops_ : tuple of str
    feature_groups_ : tuple of str
    op_subsets_ : list of tuple of str
    no_path_value_ : int
    op_attributes_ : dict, n_positions_ : int
        Settings of the ``pos_state`` group (TNB101-macro).
    cells_ : tuple of str
        Cell names of the space's graphs (``("cell",)``, ``("normal", "reduce")``, ...).
    feature_names_out_ : list of str
    feature_group_columns_ : dict str -> list of int
        Columns of each feature group (see :meth:`get_feature_groups_out`).

    Examples
    --------
    >>> enc = GRAFEncoder("nb201")
    >>> X = enc.fit_transform(["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
    ...                        "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"])
    >>> float(dict(zip(enc.get_feature_names_out(), X[0]))["max_path_len[nor_conv_3x3]"])
    3.0
    """

    def __init__(self, space: str | SearchSpace | None = None, *,
                 feature_groups: str | Sequence[str] | None = None,
                 op_subsets: Sequence[Sequence[str]] | None = None,
                 max_subset_size: int | None = None, ops: Sequence[str] | None = None,
                 no_path_value: int | None = None, progress: bool | None = None):
        self.space = space
        self.feature_groups = feature_groups
        self.op_subsets = op_subsets
        self.max_subset_size = max_subset_size
        self.ops = ops
        self.no_path_value = no_path_value
        self.progress = progress

    # -- fitting -------------------------------------------------------------------------------
    def _parse_one(self, x: Any) -> Any:
        return parse_graph_or_arch(self.space_, x)

    def _fit(self, items: list) -> None:
        space = self.space_
        config = space.graf_config() if space is not None else None
        uniques, _ = unique_index(items)
        learn_ops = self.ops is None and space is None
        learn_no_path = self.no_path_value is None and (
            config is None or config.no_path_value is None)
        if learn_ops or learn_no_path:  # they come from the data: look at every graph
            graph_sets = [graphs_of(space, it) for it in uniques]
        else:  # one architecture tells the cells
            graph_sets = [graphs_of(space, uniques[0])]
        self.cells_ = tuple(graph_sets[0])
        self.ops_ = self._resolve_ops(graph_sets)
        self.op_attributes_ = dict(config.op_attributes) if config is not None else {}
        self.n_positions_ = config.n_positions if config is not None else 0
        self.feature_groups_ = self._resolve_groups(config)
        self.op_subsets_ = self._resolve_subsets()
        if self.no_path_value is not None:
            self.no_path_value_ = int(self.no_path_value)
        elif not learn_no_path:
            self.no_path_value_ = int(config.no_path_value)
        else:
            inner = max(_n_inner(g) for gs in graph_sets for g in gs.values())
            self.no_path_value_ = inner + 1
        names, _ = self._encode_graph_sets(graph_sets[:1])
        self.feature_names_out_ = names
        self.feature_group_columns_ = self._group_columns(graph_sets[0])

    def _resolve_ops(self, graph_sets: list[dict[str, ArchGraph]]) -> tuple[str, ...]:
        if self.ops is not None:
            ops = tuple(self.ops)
        elif self.space_ is not None:
            ops = data_ops(self.space_.ops)
        else:
            seen = {op for gs in graph_sets for g in gs.values() for op in _inner_ops(g)}
            ops = tuple(sorted(seen))
        if not ops:
            raise ValueError("GRAFEncoder needs at least one op (got an empty op vocabulary)")
        if len(set(ops)) != len(ops):
            raise ValueError(f"duplicate ops in {ops}")
        return ops

    def _resolve_groups(self, config: Any) -> tuple[str, ...]:
        groups = self.feature_groups
        if groups is None:
            return config.groups if config is not None else DEFAULT_GROUPS
        if isinstance(groups, str):
            if groups == "all":  # every group that applies to this space
                return tuple(g for g in FEATURE_GROUPS
                             if g != "pos_state" or self.op_attributes_)
            groups = (groups,)
        unknown = [g for g in groups if g not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group(s) {unknown}; known: "
                             f"{', '.join(FEATURE_GROUPS)} (or 'all')")
        return tuple(groups)

    def _resolve_subsets(self) -> list[tuple[str, ...]]:
        ops = self.ops_
        if self.op_subsets is None:
            top = len(ops) if self.max_subset_size is None else int(self.max_subset_size)
            if top < 1:
                raise ValueError(f"max_subset_size must be >= 1, got {self.max_subset_size}")
            return [c for r in range(1, min(top, len(ops)) + 1)
                    for c in itertools.combinations(ops, r)]
        subsets = []
        for subset in self.op_subsets:
            if isinstance(subset, str):
                raise ValueError(f"op_subsets must hold sequences of op names, got {subset!r}")
            bad = [op for op in subset if op not in ops]
            if bad or not subset:
                raise ValueError(f"op subset {list(subset)} is empty or has unknown op(s) "
                                 f"{bad}; known ops: {', '.join(ops)}")
            subsets.append(tuple(sorted(set(subset), key=ops.index)))
        return subsets

    # -- encoding ------------------------------------------------------------------------------
    def _transform(self, items: list) -> np.ndarray:
        uniques, inverse = unique_index(items)
        graph_sets = [graphs_of(self.space_, it) for it in
                      self._progress(uniques, len(uniques), "GRAF: graphs")]
        _, values = self._encode_graph_sets(graph_sets)
        return values[inverse]

    def _encode_graph_sets(self, graph_sets: list[dict[str, ArchGraph]]
                           ) -> tuple[list[str], np.ndarray]:
        """Names and values (shape (len(graph_sets), n_features)) of all cells."""
        for k, gs in enumerate(graph_sets):
            if tuple(gs) != self.cells_:
                raise InvalidArchitectureError(
                    f"architecture {k} has cells {tuple(gs)}, the encoder was fitted on "
                    f"cells {self.cells_}"
                )
        op_index = {op: k for k, op in enumerate(self.ops_)}
        subsets = [tuple(op_index[op] for op in s) for s in self.op_subsets_]
        prefix = len(self.cells_) > 1
        names: list[str] = []
        blocks: list[np.ndarray] = []
        for cell in self.cells_:
            graphs, inverse = unique_index([gs[cell] for gs in graph_sets])
            try:
                batch = build_batch(graphs, self.ops_)
            except InvalidArchitectureError as exc:
                raise InvalidArchitectureError(f"cell {cell!r}: {exc}") from None
            cell_names, values = compute_groups(batch, self.feature_groups_, subsets,
                                                self.no_path_value_, self.op_attributes_,
                                                self.n_positions_)
            names += [f"{cell}_{n}" if prefix else n for n in cell_names]
            blocks.append(values[inverse])
        return names, np.concatenate(blocks, axis=1)

    # -- feature groups ------------------------------------------------------------------------
    def get_feature_groups_out(self) -> dict[str, list[int]]:
        """Column indices of each feature group, in :attr:`feature_groups_` order.

        Keys are the groups of :data:`nasperf.graphfeatures.FEATURE_GROUPS` the encoder
        computes (``op_count``, ``min_path_len``, ``max_path_len``, ``node_degree``, ...);
        values index :meth:`get_feature_names_out`. Every column is in exactly one group.
        With several cells (NB301) a group spans every cell: ``op_count`` holds the
        ``normal_op_count[...]`` and the ``reduce_op_count[...]`` columns, so the groups
        are the same in every space.
        """
        self.get_feature_names_out()  # raises NotFittedError before fit
        return {g: list(cols) for g, cols in self.feature_group_columns_.items()}

    def _group_columns(self, graph_set: dict[str, ArchGraph]) -> dict[str, list[int]]:
        """Group -> columns, from computing each group alone on one architecture's cells
        (the cells' blocks follow each other, groups in :attr:`feature_groups_` order)."""
        op_index = {op: k for k, op in enumerate(self.ops_)}
        subsets = [tuple(op_index[op] for op in s) for s in self.op_subsets_]
        columns: dict[str, list[int]] = {g: [] for g in self.feature_groups_}
        start = 0
        for cell in self.cells_:
            batch = build_batch([graph_set[cell]], self.ops_)
            for group in self.feature_groups_:
                names, _ = compute_groups(batch, (group,), subsets, self.no_path_value_,
                                          self.op_attributes_, self.n_positions_)
                columns[group].extend(range(start, start + len(names)))
                start += len(names)
        if start != len(self.feature_names_out_):
            raise RuntimeError(f"feature groups cover {start} of "
                               f"{len(self.feature_names_out_)} GRAF columns")
        return columns


def graph_features(graph: ArchGraph, ops: Sequence[str],
                   feature_groups: Sequence[str] = DEFAULT_GROUPS,
                   op_subsets: Sequence[Sequence[str]] | None = None,
                   no_path_value: int | None = None) -> dict[str, float]:
    """GRAF features of one graph as ``{name: value}`` (see :class:`GRAFEncoder`).

    ``no_path_value`` defaults to one more than the graph's number of op nodes.
    """
    enc = GRAFEncoder(None, feature_groups=list(feature_groups), op_subsets=op_subsets,
                      ops=ops, no_path_value=no_path_value)
    row = enc.fit_transform([graph])[0]
    return dict(zip(enc.feature_names_out_, row.tolist()))


def _inner_ops(g: ArchGraph) -> list[str]:
    return [op for op in g.ops[1:-1] if not op.startswith("input")]


def _n_inner(g: ArchGraph) -> int:
    return len(_inner_ops(g))
