"""GRAF feature groups (Kadlecová et al., ICML 2024) as batched functions of ArchGraphs.

Every group is a function ``group(ctx) -> list[(name, values)]`` where ``ctx`` is a
:class:`FeatureContext` (a :class:`~nasperf.graphfeatures.batch.GraphBatch`, the op subsets, and
cached path statistics) and ``values`` has shape ``(G,)``, one value per graph. The
definitions, on a node-labelled DAG with inputs, inner op nodes and one output node:

``op_count[S]``
    Number of inner nodes whose op is in ``S``: one column per op, then one per subset of
    two or more ops (GRAF's NB201/DARTS ``avg_in``/``avg_out`` degrees are these counts
    divided by the number of cell nodes).
``min_path_len[S]`` / ``max_path_len[S]``
    Fewest / most inner nodes on an input -> output path whose inner nodes all have an op
    in the subset ``S``. No such path: ``no_path_value`` (min; larger than any path) and
    ``-1`` (max). GRAF's ``min_path_len`` and ``max_op_on_path``.
``num_paths[S]``
    Number of input -> output paths whose inner nodes all have an op in ``S``.
``node_degree``
    Four columns per subset: ``out_degree_input[S]``, the number of ``S`` nodes fed by the
    input; ``in_degree_output[S]``, the number of ``S`` nodes feeding the output;
    ``avg_in_degree[S]`` and ``avg_out_degree[S]``, the mean over all nodes of the number of
    ``S`` predecessors (= edges leaving ``S`` nodes / nodes) and of ``S`` successors (= edges
    entering ``S`` nodes / nodes). GRAF's ``node_degree``.
``graph_size``
    ``n_op_nodes`` and ``n_edges`` (not in the paper's configurations).
``pos_state``
    For chains (TNB101-macro): ``pos_state_{attr}[i]``, the sum of a per-op attribute over
    the first ``i + 1`` op nodes in node order, 0 past the last op node (the paper's
    cumulative channel / stride state; attributes come from the space's configuration).

Path lengths count operations (inner nodes), which equals the edge count of GRAF's
edge-labelled NB201 cell. With several input nodes (NB301: ``input0`` = c_{k-2},
``input1`` = c_{k-1}) the path groups and ``out_degree_input`` are computed from each input
separately and their names carry the input (``max_path_len_input0[...]``,
``out_degree_input0[...]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .batch import NOT_AN_OP, GraphBatch

#: Value of ``max_path_len`` when no path uses only allowed ops.
NO_PATH_MAX = -1

Column = tuple[str, np.ndarray]


#: Internal marks of "no path" in the integer length tables.
_NO_MIN, _NO_MAX = np.iinfo(np.int16).max, NO_PATH_MAX
#: Work arrays hold at most about this many (subset, graph, node) entries at once.
_CHUNK_ENTRIES = 4_000_000


@dataclass
class FeatureContext:
    """What a feature group sees: the graphs, the op subsets and a path-statistics cache.

    Attributes
    ----------
    batch : GraphBatch
    subsets : list of tuple of int
        Op subsets as indices into ``batch.ops``.
    no_path_value : float
        ``min_path_len`` of a graph without an allowed path.
    op_attributes : dict op -> dict attribute -> float
        Per-op attributes for ``pos_state``.
    n_positions : int
        Chain positions for ``pos_state``.
    """

    batch: GraphBatch
    subsets: list[tuple[int, ...]]
    no_path_value: float
    op_attributes: dict[str, dict[str, float]] = field(default_factory=dict)
    n_positions: int = 0
    _paths: dict = field(default_factory=dict, repr=False)
    _masks: dict = field(default_factory=dict, repr=False)

    def subset_name(self, subset: tuple[int, ...]) -> str:
        return "[" + ",".join(self.batch.ops[k] for k in subset) + "]"

    def input_suffix(self, source: int) -> str:
        """``""`` for one-input graphs, else ``"_" + input label``."""
        return "" if self.batch.n_inputs == 1 else f"_{self.batch.input_names[source]}"

    def in_subset(self, subset: tuple[int, ...]) -> np.ndarray:
        """Bool (G, n): inner nodes whose op is in ``subset``."""
        if subset not in self._masks:
            self._masks[subset] = np.isin(self.batch.op_ids, subset)
        return self._masks[subset]

    def path_stat(self, stat: str, source: int) -> np.ndarray:
        """``"count"``, ``"min"`` or ``"max"`` of the paths from input ``source`` to the output
        through nodes of each subset: int array (n_subsets, G); no path gives 0 (count),
        ``_NO_MIN`` (min) or ``-1`` (max)."""
        key = (stat, source)
        if key not in self._paths:
            masks = np.stack([self.in_subset(s) for s in self.subsets])
            self._paths[key] = path_table(self.batch, masks, source, stat)
        return self._paths[key]


def path_table(batch: GraphBatch, allowed_ops: np.ndarray, source: int, stat: str
               ) -> np.ndarray:
    """Dynamic programme over the topological node order, for all subsets and graphs at once.

    Parameters
    ----------
    batch : GraphBatch
    allowed_ops : np.ndarray of bool, shape (K, G, n)
        For each of ``K`` op subsets, the inner nodes a path may use.
    source : int
        Index of the input node the paths start from.
    stat : {"count", "min", "max"}
        Number of paths, fewest or most op nodes on a path.

    Returns
    -------
    np.ndarray of int, shape (K, G)
    """
    k, g, n = allowed_ops.shape
    out = np.empty((k, g), dtype=np.int64)
    step = max(1, _CHUNK_ENTRIES // max(1, k * n))
    adj_t = np.ascontiguousarray(batch.adjacency.transpose(0, 2, 1))  # adj_t[g, j, i]: i -> j
    weight = batch.is_op.astype(np.int16)  # an inner node adds one op to the path length
    for lo in range(0, g, step):
        sl = slice(lo, lo + step)
        out[:, sl] = _path_chunk(adj_t[sl], weight[sl], allowed_ops[:, sl], source, stat)
    return out


def _path_chunk(adj_t: np.ndarray, weight: np.ndarray, allowed_ops: np.ndarray, source: int,
                stat: str) -> np.ndarray:
    k, g, n = allowed_ops.shape
    allowed = allowed_ops.copy()
    allowed[:, :, source] = True
    allowed[:, :, n - 1] = True
    reach = np.zeros((k, g, n), dtype=bool)
    reach[:, :, source] = True
    if stat == "count":
        table = np.zeros((k, g, n), dtype=np.int64)
        table[:, :, source] = 1
    elif stat == "min":
        table = np.full((k, g, n), _NO_MIN, dtype=np.int16)
        table[:, :, source] = 0
    elif stat == "max":
        table = np.full((k, g, n), _NO_MAX, dtype=np.int16)
        table[:, :, source] = 0
    else:
        raise ValueError(f"unknown path statistic {stat!r}")
    for j in range(source + 1, n):
        pred = reach[:, :, :j] & adj_t[None, :, j, :j]  # (k, g, j): open predecessors of j
        ok = allowed[:, :, j] & pred.any(axis=2)
        reach[:, :, j] = ok
        if stat == "count":
            table[:, :, j] = np.where(ok, (table[:, :, :j] * pred).sum(axis=2), 0)
        elif stat == "min":
            best = np.where(pred, table[:, :, :j], _NO_MIN).min(axis=2) + weight[None, :, j]
            table[:, :, j] = np.where(ok, best, _NO_MIN)
        else:  # reachable entries are >= 0, so masking the others with 0 keeps the max
            best = (table[:, :, :j] * pred).max(axis=2) + weight[None, :, j]
            table[:, :, j] = np.where(ok, best, _NO_MAX)
    return table[:, :, n - 1]


# -- the groups --------------------------------------------------------------------------------
def op_count(ctx: FeatureContext) -> list[Column]:
    singles = [(k,) for k in range(len(ctx.batch.ops))]
    subsets = singles + [s for s in ctx.subsets if len(s) > 1]
    return [(f"op_count{ctx.subset_name(s)}", ctx.in_subset(s).sum(axis=1).astype(float))
            for s in subsets]


def _per_subset_and_input(ctx: FeatureContext, name: str, stat: str,
                          value: Callable[[np.ndarray], np.ndarray]) -> list[Column]:
    cols = []
    for source in range(ctx.batch.n_inputs):
        table = value(ctx.path_stat(stat, source)).astype(float)
        for k, subset in enumerate(ctx.subsets):
            label = f"{name}{ctx.input_suffix(source)}{ctx.subset_name(subset)}"
            cols.append((label, table[k]))
    return cols


def min_path_len(ctx: FeatureContext) -> list[Column]:
    def value(table: np.ndarray) -> np.ndarray:
        found = table != _NO_MIN
        if (table[found] >= ctx.no_path_value).any():
            raise ValueError(
                f"a graph has a path of {int(table[found].max())} ops, not less than "
                f"no_path_value={ctx.no_path_value:g} (the value for 'no path'); pass a larger "
                "no_path_value"
            )
        return np.where(found, table, ctx.no_path_value)

    return _per_subset_and_input(ctx, "min_path_len", "min", value)


def max_path_len(ctx: FeatureContext) -> list[Column]:
    # the table already holds -1 (NO_PATH_MAX) where no path exists
    return _per_subset_and_input(ctx, "max_path_len", "max", lambda t: t)


def num_paths(ctx: FeatureContext) -> list[Column]:
    return _per_subset_and_input(ctx, "num_paths", "count", lambda t: t)


def node_degree(ctx: FeatureContext) -> list[Column]:
    adj = ctx.batch.adjacency
    n_nodes = ctx.batch.n_nodes.astype(float)
    out_deg = adj.sum(axis=2)  # (G, n): successors of each node
    in_deg = adj.sum(axis=1)  # (G, n): predecessors of each node
    cols: list[Column] = []
    for source in range(ctx.batch.n_inputs):
        label = "input" if ctx.batch.n_inputs == 1 else ctx.batch.input_names[source]
        for subset in ctx.subsets:
            s = ctx.in_subset(subset)
            cols.append((f"out_degree_{label}{ctx.subset_name(subset)}",
                         (adj[:, source, :] & s).sum(axis=1).astype(float)))
    for subset in ctx.subsets:
        s = ctx.in_subset(subset)
        name = ctx.subset_name(subset)
        cols.append((f"in_degree_output{name}", (adj[:, :, -1] & s).sum(axis=1).astype(float)))
        # edges leaving S nodes, and edges entering S nodes, per node of the graph
        cols.append((f"avg_in_degree{name}", (out_deg * s).sum(axis=1) / n_nodes))
        cols.append((f"avg_out_degree{name}", (in_deg * s).sum(axis=1) / n_nodes))
    return cols


def graph_size(ctx: FeatureContext) -> list[Column]:
    return [("n_op_nodes", ctx.batch.is_op.sum(axis=1).astype(float)),
            ("n_edges", ctx.batch.adjacency.sum(axis=(1, 2)).astype(float))]


def pos_state(ctx: FeatureContext) -> list[Column]:
    if not ctx.op_attributes or ctx.n_positions < 1:
        raise ValueError("the pos_state group needs per-op attributes and a number of positions "
                         "(given by space.graf_config(), e.g. for tnb101_macro)")
    batch = ctx.batch
    attrs = sorted({a for per_op in ctx.op_attributes.values() for a in per_op})
    # op nodes in node order, left-aligned: (G, n_positions) op ids, NOT_AN_OP past the end
    order = np.argsort(~batch.is_op, axis=1, kind="stable")
    ids = np.take_along_axis(batch.op_ids, order, axis=1)
    width = ids.shape[1]
    if width < ctx.n_positions:
        ids = np.pad(ids, ((0, 0), (0, ctx.n_positions - width)), constant_values=NOT_AN_OP)
    if (batch.is_op.sum(axis=1) > ctx.n_positions).any():
        raise ValueError(f"a graph has more than n_positions={ctx.n_positions} op nodes")
    ids = ids[:, :ctx.n_positions]
    cols = []
    for attr in attrs:
        table = np.array([float(ctx.op_attributes.get(op, {}).get(attr, 0.0))
                          for op in batch.ops] + [0.0])  # last entry: no op
        state = np.cumsum(table[ids], axis=1)
        state[ids == NOT_AN_OP] = 0.0
        cols += [(f"pos_state_{attr}[{i}]", state[:, i]) for i in range(ctx.n_positions)]
    return cols


#: Feature group name -> function. ``min_path_len``, ``max_path_len`` and ``node_degree``
#: run over the op subsets; ``max_path_len`` is the paper's ``max_op_on_path``.
FEATURE_GROUPS: dict[str, Callable[[FeatureContext], list[Column]]] = {
    "op_count": op_count,
    "min_path_len": min_path_len,
    "max_path_len": max_path_len,
    "node_degree": node_degree,
    "num_paths": num_paths,
    "graph_size": graph_size,
    "pos_state": pos_state,
}


def compute_groups(batch: GraphBatch, groups: Sequence[str], subsets: list[tuple[int, ...]],
                   no_path_value: float, op_attributes: dict | None = None,
                   n_positions: int = 0) -> tuple[list[str], np.ndarray]:
    """Feature names and values (shape (G, n_features)) of ``groups`` for ``batch``."""
    ctx = FeatureContext(batch, subsets, float(no_path_value), dict(op_attributes or {}),
                         n_positions)
    names: list[str] = []
    columns: list[np.ndarray] = []
    for group in groups:
        for name, values in FEATURE_GROUPS[group](ctx):
            names.append(name)
            columns.append(values)
    values = np.stack(columns, axis=1) if columns else np.zeros((len(batch), 0))
    return names, values
