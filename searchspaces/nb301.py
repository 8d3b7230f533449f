"""NAS-Bench-301: the DARTS cell search space (Siems et al., 2020; Liu et al., ICLR 2019).

An architecture is two cells, ``normal`` and ``reduce``. Each cell has two input nodes,
0 = c_{k-2} (output of the cell before the previous one) and 1 = c_{k-1} (previous cell),
and four intermediate nodes 2..5. Intermediate node ``i`` sums two operations applied to two
**distinct** earlier nodes ``j < i``; the cell output concatenates nodes 2..5 along channels.

Architectures store operation **names**, never ids: the original DARTS list has eight ops
(with ``none``), NAS-Bench-301 has the seven below (NASLib PR #54). Op ids are
used only at the NASLib "compact" boundary, in the order of NASLib's
``nasbench301/conversions.py`` and NAS-Bench-301's ConfigSpace::

    0 max_pool_3x3, 1 avg_pool_3x3, 2 skip_connect, 3 sep_conv_3x3,
    4 sep_conv_5x5, 5 dil_conv_3x3, 6 dil_conv_5x5

Order of the two inputs of a node: an architecture keeps the order it was given in, so the
DARTS string of a published genotype round-trips exactly. The order does not change the
network function (the two terms are summed); NAS-Bench-301's ConfigSpace and every
architecture of its training data list them by ascending input node. :meth:`NB301Space.
canonicalize` puts an architecture in that order; :meth:`NB301Space.sample` returns it.
"""

from __future__ import annotations

import ast
from collections import namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import (
    SearchSpace,
    as_int,
    check_count,
    check_num_classes,
    check_op,
    check_seed,
    literal,
    op_from_id,
)
from .benchmarks import NB301_DATASETS, BenchmarkInfo, load_nb301
from .errors import InvalidArchitectureError
from .features import DEFAULT_GRAF_GROUPS, GRAFSpaceConfig, OneHotLayout, nb301_layout
from .graph import INPUT, OUTPUT, ArchGraph
from .taxonomy import taxonomy

#: The DARTS genotype type (same fields as ``genotypes.Genotype`` of the DARTS code).
Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

CELLS: tuple[str, str] = ("normal", "reduce")
N_INPUTS = 2
N_NODES = 4  # intermediate nodes 2..5
CONCAT: tuple[int, ...] = tuple(range(N_INPUTS, N_INPUTS + N_NODES))
#: Prefix of the architecture hyperparameters in NAS-Bench-301's ConfigSpace.
CONFIG_PREFIX = "NetworkSelectorDatasetInfo:darts:"
#: First ConfigSpace edge id of each intermediate node (edges 0-1 enter node 2, 2-4 node 3, ...).
_EDGE_OFFSET = {2: 0, 3: 2, 4: 5, 5: 9}

Pair = tuple[int, str]  # (input node, op name)
#: NB301 op names in NASLib compact id order.
NB301_OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                              "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")


def _check_stored_cell(pairs: Any, where: str) -> tuple[Pair, ...]:
    """One cell in the stored form: 8 ``(input_node, op_name)`` pairs, the inputs of node
    ``k + 2`` (pairs ``2k``, ``2k + 1``) distinct and in ``0 .. k + 1``."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (Sequence, np.ndarray)):
        raise InvalidArchitectureError(
            f"{where}: expected {2 * N_NODES} (input_node, op_name) pairs, got "
            f"{type(pairs).__name__}")
    pairs = list(pairs)
    if len(pairs) != 2 * N_NODES:
        raise InvalidArchitectureError(
            f"{where}: expected {2 * N_NODES} (input_node, op_name) pairs (two per node 2..5), "
            f"got {len(pairs)}")
    out: list[Pair] = []
    for k, pair in enumerate(pairs):
        node = N_INPUTS + k // 2
        at = f"{where}, position {k} (node {node})"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, (Sequence, np.ndarray)) \
                or len(pair) != 2:
            raise InvalidArchitectureError(f"{at}: expected an (input_node, op_name) pair, "
                                           f"got {pair!r:.60}")
        src, op = pair
        src = as_int(src, at)
        if not 0 <= src < node:
            raise InvalidArchitectureError(
                f"{at}: input node {src} out of range; node {node} reads from nodes "
                f"0..{node - 1}")
        out.append((src, check_op(NB301_OPS, op, at)))
    for k in range(0, len(out), 2):
        if out[k][0] == out[k + 1][0]:
            raise InvalidArchitectureError(
                f"{where}: node {N_INPUTS + k // 2} reads input node {out[k][0]} twice; "
                "NB301/DARTS cells take two distinct inputs per node")
    return tuple(out)


@dataclass(frozen=True)
class NB301Arch:
    """A NAS-Bench-301 architecture.

    Attributes
    ----------
    normal, reduce : tuple of 8 (input_node, op_name) pairs
        Pairs ``2k`` and ``2k + 1`` are the two inputs of intermediate node ``k + 2``;
        ``input_node`` is in ``0 .. k + 1`` (0 = c_{k-2}, 1 = c_{k-1}).

    ``str(arch)`` is the DARTS genotype string. Validated on construction (8 pairs per
    cell, known op names, input nodes in range and distinct per node); a violation raises
    :class:`InvalidArchitectureError` naming the cell, position and value.
    """

    normal: tuple[Pair, ...]
    reduce: tuple[Pair, ...]

    def __post_init__(self) -> None:
        for name in CELLS:
            object.__setattr__(self, name, _check_stored_cell(getattr(self, name),
                                                              f"NB301Arch {name} cell"))

    def cell(self, name: str) -> tuple[Pair, ...]:
        """The pairs of cell ``"normal"`` or ``"reduce"``."""
        if name not in CELLS:
            raise ValueError(f"unknown cell {name!r}; expected one of {CELLS}")
        return getattr(self, name)

    def __str__(self) -> str:
        return NB301Space().to_string(self)


class NB301Space(SearchSpace):
    """NAS-Bench-301 / DARTS cell space (about 1e18 architectures).

    Accepted inputs of :meth:`parse`:

    * the NASLib compact tuple ``((normal 8 pairs), (reduce 8 pairs))`` with pairs
      ``(input_node, op_id)`` (the form of ``archs_nasbench301.json``), as tuples, lists,
      a NumPy array of shape (2, 8, 2), or its ``str``;
    * a DARTS ``Genotype(normal=[('op', input), ...], normal_concat=[2, 3, 4, 5],
      reduce=[...], reduce_concat=[2, 3, 4, 5])`` object, any namedtuple or object with
      ``normal`` and ``reduce`` attributes, a dict with those keys, or the genotype's string
      (``to_string`` returns it; ``range(2, 6)`` as concat is accepted);
    * a NAS-Bench-301 ConfigSpace dict (``"NetworkSelectorDatasetInfo:darts:edge_normal_0"``
      ...; the prefix is optional), as stored in the NAS-Bench-301 dataset files.

    Inside a cell, a pair may be ``(input, op_id)`` (compact), ``("op", input)`` (DARTS) or
    ``(input, "op")`` (this class's storage), and a cell may be 8 pairs or 4 nodes of 2 pairs.
    """

    name = "nb301"
    ops = NB301_OPS
    arch_type = NB301Arch
    op_taxonomy = taxonomy({"max_pool_3x3": ("pool", 3), "avg_pool_3x3": ("pool", 3),
                            "skip_connect": "skip", "sep_conv_3x3": ("conv", 3),
                            "sep_conv_5x5": ("conv", 5), "dil_conv_3x3": ("conv", 3),
                            "dil_conv_5x5": ("conv", 5)})
    #: A path passes 1 (an op feeding the output) to 4 op nodes (through nodes 2..5).
    path_lengths = (1, 4)
    archs_file = "archs/archs_nasbench301.json"
    #: NAS-Bench-Suite-Zero's CIFAR-10 table (validation accuracy in percent, 12 proxies).
    benchmark_info = BenchmarkInfo(NB301_DATASETS, ("zc",), load_nb301, "dataset",
                                   files=("nas-bench-suite-zero/zc_nasbench301.json",))

    def onehot_layout(self) -> OneHotLayout:
        """Per cell, NASLib's DARTS adjacency encoding made one-hot (70 columns per cell)."""
        return nb301_layout(self)

    def graf_config(self) -> GRAFSpaceConfig:
        """The paper's groups without ``min_path_len``: every op node feeds the output, so
        the shortest path is always one op."""
        groups = tuple(g for g in DEFAULT_GRAF_GROUPS if g != "min_path_len")
        return GRAFSpaceConfig(groups, no_path_value=self.path_lengths[1] + 1)

    # -- parsing -----------------------------------------------------------------------------
    def parse(self, x: Any) -> NB301Arch:
        """See the class docstring for the accepted forms."""
        if isinstance(x, tuple) and hasattr(x, "_fields"):  # a namedtuple Genotype
            return self._from_fields(x._asdict(), f"nb301 {type(x).__name__}")
        if not isinstance(x, (str, bytes, Sequence, Mapping, np.ndarray, NB301Arch)) and (
            hasattr(x, "normal") and hasattr(x, "reduce")
        ):
            fields = {k: getattr(x, k) for k in ("normal", "normal_concat", "reduce",
                                                 "reduce_concat") if hasattr(x, k)}
            return self._from_fields(fields, f"nb301 {type(x).__name__}")
        return super().parse(x)

    def _from_string(self, text: str) -> NB301Arch:
        if text.startswith("{"):
            value = literal(text, self.name)
            if not isinstance(value, dict):
                raise InvalidArchitectureError(f"nb301: {text[:80]!r} is not a dict literal")
            return self._from_mapping(value)
        return self._from_fields(_genotype_call(text), f"nb301 genotype string {text[:80]!r}")

    def _from_sequence(self, seq: Any) -> NB301Arch:
        where = f"nb301 tuple {_short(seq)}"
        if not isinstance(seq, (list, tuple)):
            raise InvalidArchitectureError(
                f"{where}: expected a pair (normal cell, reduction cell), got a "
                f"{type(seq).__name__}"
            )
        if len(seq) == 4:  # tuple(genotype): (normal, normal_concat, reduce, reduce_concat)
            return self._from_fields(dict(zip(Genotype._fields, seq, strict=True)), where)
        if len(seq) != 2:
            raise InvalidArchitectureError(
                f"{where}: expected 2 cells (normal, reduce), got {len(seq)} items"
            )
        return NB301Arch(*(self._cell(c, f"{where}, {name} cell")
                           for name, c in zip(CELLS, seq, strict=True)))

    def _from_mapping(self, mapping: Mapping) -> NB301Arch:
        if "normal" in mapping or "reduce" in mapping:
            return self._from_fields(mapping, "nb301 dict")
        if any(isinstance(k, str) and "edge_normal_" in k for k in mapping):
            return self._from_config(mapping)
        raise InvalidArchitectureError(
            f"nb301 dict: expected keys 'normal' and 'reduce' (a genotype) or NAS-Bench-301 "
            f"ConfigSpace keys 'edge_normal_<i>', got keys {list(mapping)[:6]!r:.120}"
        )

    def _from_fields(self, fields: Mapping, where: str) -> NB301Arch:
        """Genotype fields ``normal``, ``reduce`` and optional ``*_concat`` -> arch."""
        extra = set(fields) - {"normal", "normal_concat", "reduce", "reduce_concat"}
        if extra:
            raise InvalidArchitectureError(
                f"{where}: unexpected field(s) {sorted(map(str, extra))}"
            )
        cells = []
        for name in CELLS:
            if name not in fields:
                raise InvalidArchitectureError(f"{where}: missing the {name!r} cell")
            concat = fields.get(f"{name}_concat", CONCAT)
            if not _is_default_concat(concat):
                raise InvalidArchitectureError(
                    f"{where}: {name}_concat must be [2, 3, 4, 5] (NB301 cells concatenate "
                    f"every intermediate node), got {_short(concat)}"
                )
            cells.append(self._cell(fields[name], f"{where}, {name} cell"))
        return NB301Arch(*cells)

    def _from_config(self, config: Mapping) -> NB301Arch:
        """A NAS-Bench-301 ConfigSpace dict (edge ids per node: see ``_EDGE_OFFSET``).

        Keys other than the ``edge_*`` and ``inputs_node_*`` ones (training
        hyperparameters) are ignored.
        """
        where = "nb301 config"
        values = {}
        for key, value in config.items():
            if isinstance(key, str) and ("edge_" in key or "inputs_node_" in key):
                short = key[len(CONFIG_PREFIX):] if key.startswith(CONFIG_PREFIX) else key
                values[short] = value
        used: set[str] = set()
        cells = []
        for name in CELLS:
            pairs: list[Pair] = []
            for node in range(N_INPUTS, N_INPUTS + N_NODES):
                keys = {j: f"edge_{name}_{_EDGE_OFFSET[node] + j}" for j in range(node)}
                present = [j for j, key in keys.items() if key in values]
                if len(present) != 2:
                    raise InvalidArchitectureError(
                        f"{where}: {name} node {node} needs exactly 2 incoming edges, got "
                        f"{len(present)} (inputs {present})"
                    )
                inputs_key = f"inputs_node_{name}_{node}"
                stated = values.get(inputs_key)
                if stated is not None and not (isinstance(stated, str)
                                               and stated == f"{present[0]}_{present[1]}"):
                    raise InvalidArchitectureError(
                        f"{where}: {inputs_key}={stated!r:.20} contradicts the edges present "
                        f"(inputs {present})"
                    )
                used.add(inputs_key)
                for j in present:
                    used.add(keys[j])
                    pairs.append((j, self._op(values[keys[j]],
                                              f"{where}, {name} node {node} input {j}")))
            cells.append(tuple(pairs))
        unknown = sorted(set(values) - used)
        if unknown:
            raise InvalidArchitectureError(f"{where}: unknown architecture key(s) {unknown[:4]}")
        return NB301Arch(*cells)

    def _cell(self, cell: Any, where: str) -> tuple[Pair, ...]:
        """Validate one cell given as 8 pairs or as 4 nodes of 2 pairs."""
        if not isinstance(cell, (list, tuple)):
            raise InvalidArchitectureError(
                f"{where}: expected a sequence of 8 pairs, got a {type(cell).__name__}"
            )
        if len(cell) == N_NODES and all(
            isinstance(g, (list, tuple)) and len(g) == 2 and
            all(isinstance(p, (list, tuple)) for p in g) for g in cell
        ):
            cell = [p for g in cell for p in g]
        if len(cell) != 2 * N_NODES:
            raise InvalidArchitectureError(
                f"{where}: expected {2 * N_NODES} (input, op) pairs (two per node 2..5), "
                f"got {len(cell)}"
            )
        pairs = [self._pair(p, N_INPUTS + k // 2, f"{where}, position {k} (node "
                            f"{N_INPUTS + k // 2})") for k, p in enumerate(cell)]
        for k in range(0, len(pairs), 2):
            if pairs[k][0] == pairs[k + 1][0]:
                raise InvalidArchitectureError(
                    f"{where}: node {N_INPUTS + k // 2} reads input node {pairs[k][0]} twice; "
                    "NB301/DARTS cells take two distinct inputs per node"
                )
        return tuple(pairs)

    def _pair(self, pair: Any, node: int, where: str) -> Pair:
        """``(input, op_id)``, ``("op", input)`` or ``(input, "op")`` -> ``(input, op)``."""
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InvalidArchitectureError(
                f"{where}: expected an (input, op) pair, got {_short(pair)}"
            )
        a, b = pair
        if isinstance(a, str):  # DARTS genotype order ("op", input)
            op, src = self._op(a, where), as_int(b, where)
        elif isinstance(b, str):
            src, op = as_int(a, where), self._op(b, where)
        else:  # NASLib compact (input, op_id)
            src, op = as_int(a, where), op_from_id(self.ops, b, where)
        if not 0 <= src < node:
            raise InvalidArchitectureError(
                f"{where}: input node {src} out of range; node {node} reads from nodes "
                f"0..{node - 1}"
            )
        return src, op

    def _op(self, name: Any, where: str) -> str:
        if isinstance(name, str) and name == "none":
            raise InvalidArchitectureError(
                f"{where}: op 'none' belongs to the DARTS search (8 ops) but not to the "
                f"NB301 space; valid ops are {', '.join(self.ops)}"
            )
        return check_op(self.ops, name, where)

    # -- views ---------------------------------------------------------------------------------
    def to_genotype(self, arch: NB301Arch) -> Genotype:
        """The DARTS ``Genotype`` (lists of ``(op, input)``, concat ``[2, 3, 4, 5]``)."""
        arch = self.check(arch)
        normal, reduce = ([(op, src) for src, op in arch.cell(c)] for c in CELLS)
        return Genotype(normal=normal, normal_concat=list(CONCAT), reduce=reduce,
                        reduce_concat=list(CONCAT))

    def to_string(self, arch: NB301Arch) -> str:
        """The DARTS genotype string ``Genotype(normal=[('sep_conv_3x3', 0), ...], ...)``."""
        return repr(self.to_genotype(arch))

    def to_tuple(self, arch: NB301Arch) -> tuple:
        """NASLib compact form ``((normal 8 (input, op_id)), (reduce 8 (input, op_id)))``."""
        arch = self.check(arch)
        return tuple(tuple((src, self.ops.index(op)) for src, op in arch.cell(c)) for c in CELLS)

    def to_config(self, arch: NB301Arch) -> dict[str, str]:
        """The architecture part of a NAS-Bench-301 ConfigSpace configuration."""
        arch = self.check(arch)
        config: dict[str, str] = {}
        for name in CELLS:
            pairs = arch.cell(name)
            for node in range(N_INPUTS, N_INPUTS + N_NODES):
                node_pairs = sorted(pairs[2 * (node - N_INPUTS): 2 * (node - N_INPUTS) + 2])
                for src, op in node_pairs:
                    config[f"{CONFIG_PREFIX}edge_{name}_{_EDGE_OFFSET[node] + src}"] = op
                if node > N_INPUTS:
                    ins = "_".join(str(src) for src, _ in node_pairs)
                    config[f"{CONFIG_PREFIX}inputs_node_{name}_{node}"] = ins
        return config

    def to_graphs(self, arch: NB301Arch) -> dict[str, ArchGraph]:
        """``{"normal": g, "reduce": g}``, one node-labelled DAG per cell.

        Nodes: 0 ``input0`` (c_{k-2}), 1 ``input1`` (c_{k-1}), then one node per operation
        in pair order (nodes 2..9, ops named as in :attr:`ops`), then 10 ``output`` (the
        concatenation). Edges: a cell input -> every op reading it; each op into
        intermediate node ``i`` -> every op reading node ``i``; every op -> ``output`` (all
        intermediate nodes are concatenated). Every graph has 11 nodes; nothing is pruned,
        since every op lies on an input -> output path. (``edge_cell_to_graph`` does not
        fit: it connects only ops into the last cell node to the output.)
        """
        arch = self.check(arch)
        return {name: _cell_graph(arch.cell(name)) for name in CELLS}

    def canonicalize(self, arch: NB301Arch) -> NB301Arch:
        """The same architecture with each node's two pairs in ascending input order.

        Both orders build the same network function; NAS-Bench-301's ConfigSpace (and so
        its data) uses this order.
        """
        arch = self.check(arch)
        return NB301Arch(*(_sorted_nodes(arch.cell(c)) for c in CELLS))

    def is_canonical(self, arch: NB301Arch) -> bool:
        return self.canonicalize(arch) == arch

    def to_model(self, arch: NB301Arch, num_classes: int = 10, init_channels: int = 32,
                 layers: int = 8, auxiliary: bool = False, drop_prob: float = 0.0,
                 convention: str = "darts", **kwargs: Any):
        """The DARTS evaluation network at NAS-Bench-301's training configuration.

        Defaults: 32 initial channels and 8 cells (NB301's config); the auxiliary head and
        drop path (``auxiliary=True``, ``drop_prob=0.2`` in NB301 training) are off by
        default. See :class:`nasperf.searchspaces.models.darts.DARTSNetwork`.

        ``convention`` chooses how the cell operations are built:

        * ``"darts"`` (default): the network of the DARTS paper, which NAS-Bench-301
          trained: every BatchNorm affine, pooling without BatchNorm;
        * ``"naslib"``: NASLib's NB301 network, the one NAS-Bench-Suite-Zero scored (its
          ``params``/``flops`` and proxies): SepConv, DilConv and the stride-2 skip have
          non-affine BatchNorms and each pool is followed by a non-affine BatchNorm. It has
          the affine BatchNorm parameters of the cell ops fewer (about 1% of the total at
          C=32, 8 cells); stem, cell preprocessing and classifier are the same.
        """
        from .models.darts import DARTSNetwork

        num_classes = check_num_classes(num_classes)
        g = self.to_genotype(arch)
        return DARTSNetwork(g.normal, g.reduce, num_classes=num_classes,
                            init_channels=init_channels, layers=layers, auxiliary=auxiliary,
                            drop_prob=drop_prob, convention=convention, **kwargs)

    # -- sampling ------------------------------------------------------------------------------
    def sample(self, n: int, seed: int | np.random.Generator | None = 0) -> list[NB301Arch]:
        """Uniform architectures: per node two distinct inputs (ascending), ops uniform.

        As NASLib's ``sample_random_architecture`` (inputs without replacement), with the
        pairs of a node in NB301's ascending-input order.
        """
        n, rng = check_count(n), check_seed(seed)
        out = []
        for _ in range(n):
            cells = []
            for _cell_name in CELLS:
                pairs: list[Pair] = []
                for node in range(N_INPUTS, N_INPUTS + N_NODES):
                    srcs = sorted(int(s) for s in rng.choice(node, size=2, replace=False))
                    pairs.extend((s, self.ops[int(rng.integers(len(self.ops)))]) for s in srcs)
                cells.append(tuple(pairs))
            out.append(NB301Arch(*cells))
        return out

    def mutate(self, arch: NB301Arch, seed: int | np.random.Generator | None = 0) -> NB301Arch:
        """Change one op or one input of one pair (NASLib's ``mutate``, mutation rate 1).

        The (cell, pair, op-or-input) slot is uniform among slots that can change (the
        inputs of node 2 cannot), the new value uniform among the valid different ones. A
        node whose pairs were in ascending input order is kept in that order.
        """
        arch = self.check(arch)
        rng = check_seed(seed)
        slots = [(c, k, kind) for c in CELLS for k in range(2 * N_NODES)
                 for kind in ("op", "input") if self._alternatives(arch.cell(c), k, kind)]
        c, k, kind = slots[int(rng.integers(len(slots)))]
        choices = self._alternatives(arch.cell(c), k, kind)
        new = choices[int(rng.integers(len(choices)))]
        pairs = list(arch.cell(c))
        src, op = pairs[k]
        pairs[k] = (src, new) if kind == "op" else (new, op)
        first = k - k % 2
        if arch.cell(c)[first][0] < arch.cell(c)[first + 1][0]:
            pairs[first:first + 2] = sorted(pairs[first:first + 2])
        cells = {name: arch.cell(name) for name in CELLS}
        cells[c] = tuple(pairs)
        return NB301Arch(**cells)

    def _alternatives(self, pairs: Sequence[Pair], k: int, kind: str) -> list:
        src, op = pairs[k]
        if kind == "op":
            return [o for o in self.ops if o != op]
        sibling = pairs[k + 1 - 2 * (k % 2)][0]
        return [j for j in range(N_INPUTS + k // 2) if j not in (src, sibling)]

    def enumerate(self) -> list:
        raise NotImplementedError(
            "nb301 has about 1e18 architectures (1.04e9 per cell); use sample() instead"
        )


# -- helpers ----------------------------------------------------------------------------------
def _cell_graph(pairs: Sequence[Pair]) -> ArchGraph:
    n_ops = len(pairs)
    n = N_INPUTS + n_ops + 1
    adj = np.zeros((n, n), np.uint8)
    for a, (src, _) in enumerate(pairs):
        if src < N_INPUTS:
            adj[src, N_INPUTS + a] = 1
        else:  # ops into intermediate node src sit at pair positions 2(src-2), 2(src-2)+1
            first = 2 * (src - N_INPUTS)
            adj[N_INPUTS + first: N_INPUTS + first + 2, N_INPUTS + a] = 1
        adj[N_INPUTS + a, n - 1] = 1
    names = [f"{INPUT}{k}" for k in range(N_INPUTS)]
    return ArchGraph(adj, (*names, *(op for _, op in pairs), OUTPUT), n_inputs=N_INPUTS)


def _sorted_nodes(pairs: Sequence[Pair]) -> tuple[Pair, ...]:
    return tuple(p for k in range(0, len(pairs), 2) for p in sorted(pairs[k:k + 2]))


def _is_default_concat(concat: Any) -> bool:
    if isinstance(concat, range):
        concat = list(concat)
    if not isinstance(concat, (list, tuple, np.ndarray)):
        return False
    try:
        return [as_int(c, "concat") for c in concat] == list(CONCAT)
    except InvalidArchitectureError:
        return False


def _genotype_call(text: str) -> dict[str, Any]:
    """Fields of a ``Genotype(normal=..., normal_concat=..., ...)`` string, safely parsed."""
    where = f"nb301 genotype string {text[:80]!r}"
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise InvalidArchitectureError(f"{where}: not a Python expression ({exc})") from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise InvalidArchitectureError(
            f"{where}: expected Genotype(normal=[...], normal_concat=[...], reduce=[...], "
            "reduce_concat=[...]) or a compact tuple"
        )
    if len(node.args) > len(Genotype._fields):
        raise InvalidArchitectureError(f"{where}: too many positional fields")
    fields: dict[str, Any] = {}
    for name, value in zip(Genotype._fields, node.args, strict=False):
        fields[name] = _field_value(value, where)
    for kw in node.keywords:
        if kw.arg is None or kw.arg in fields:
            raise InvalidArchitectureError(f"{where}: repeated or unnamed field {kw.arg!r}")
        fields[kw.arg] = _field_value(kw.value, where)
    return fields


def _field_value(node: ast.expr, where: str) -> Any:
    """A literal, or ``range(a, b)`` (DARTS prints concat as a range)."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and not node.keywords and 1 <= len(node.args) <= 3):
        bounds = [_field_value(a, where) for a in node.args]
        if not all(isinstance(b, int) and not isinstance(b, bool) and abs(b) < 100
                   for b in bounds):
            raise InvalidArchitectureError(f"{where}: bad range arguments {bounds!r:.60}")
        return range(*bounds)
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise InvalidArchitectureError(f"{where}: field is not a literal ({exc})") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
