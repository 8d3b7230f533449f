"""NAS-Bench-101 (Ying et al., ICML 2019): one cell of at most 7 nodes and 9 edges.

A cell is a DAG given by an upper-triangular 0/1 adjacency matrix and one op per node:
``"input"`` (node 0), ``"output"`` (last node), and for every other node one of
``"conv3x3-bn-relu"``, ``"conv1x1-bn-relu"``, ``"maxpool3x3"``.

Stored form
-----------
An :class:`NB101Arch` always holds a **7x7 matrix and 7 ops, exactly as given**, like the
keys of the NAS-Bench-Suite-Zero file ``zc_nasbench101.json``: those keys are raw NASLib
specs, and 499 of its 500 cells contain vertices that are not on an input -> output path
(some with more than 9 raw edges). Keeping the raw cell makes ``to_tuple`` reproduce every
file key. Cells given with fewer than 7 nodes are padded the way NASLib pads the official
API's pruned cells (``NasBench101SearchSpace.convert_to_cell``): the output column moves to
column 6, the new vertices get no edges and the op ``conv3x3-bn-relu``. Padding vertices
are removed again by pruning, so a small cell and its padded form parse to the same arch.

Validity follows the official ``ModelSpec`` and ``NASBench.is_valid``: the matrix is square
(2..7 nodes), 0/1 and strictly upper triangular (an entry on or below the diagonal would be a
self-loop or a cycle); node 0 is ``input``, the last node ``output``, the others one of the
three ops; after **pruning** (removing every vertex not on an input -> output path,
``ModelSpec._prune``) the output must still be reachable and at most 9 edges may remain.
The edge limit applies to the pruned cell, as in the official API.

Pruning happens in the views: :meth:`NB101Space.to_graph` and :meth:`NB101Space.to_model`
use the pruned cell, :meth:`NB101Space.hash_spec` is the official dataset hash of the pruned
cell, and :meth:`NB101Space.canonicalize` returns the arch of the pruned cell (padded).

String form
-----------
``to_string`` prints the spec compactly: the matrix rows as 0/1 digits joined by ``.``, a
``|``, then the ops joined by ``,``::

    0111101.0000011.0000001.0000110.0000011.0000000.0000000|input,maxpool3x3,...,output

Accepted inputs to :meth:`NB101Space.parse`
-------------------------------------------
* an :class:`NB101Arch`;
* the NASLib flat tuple: ``n*n`` adjacency entries (row-major) then ``n`` op ids, ``n`` in
  2..7 (the file keys have 56 = 49 + 7 ints), as tuple, list or its ``str``; op ids are
  NASLib's: 0 input, 1 output, 2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu;
* a ``(matrix, ops)`` pair; ``matrix`` a nested list or ndarray, ``ops`` names or ids;
* a dict ``{"matrix": ..., "ops": ...}`` (or the official API's ``module_adjacency`` /
  ``module_operations`` keys), also as the ``str`` of such a dict;
* the string form above.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
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
from .benchmarks import BenchmarkInfo, load_nb101
from .errors import InvalidArchitectureError
from .features import OneHotLayout, nb101_layout
from .graph import INPUT, OUTPUT, ArchGraph
from .taxonomy import taxonomy

CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: Interior ops in the official ``config["available_ops"]`` order (used by the dataset hash).
INTERIOR_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
NUM_VERTICES = 7
MAX_EDGES = 9
#: Node op used by NASLib to pad cells with fewer than 7 nodes.
PAD_OP = CONV3X3

Matrix = tuple[tuple[int, ...], ...]
#: Op names in NASLib / NAS-Bench-Suite-Zero id order.
NB101_OPS: tuple[str, ...] = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)


@dataclass(frozen=True)
class NB101Arch:
    """A NAS-Bench-101 cell in NASLib's 7-node form; build it with ``NB101Space().parse``.

    Attributes
    ----------
    matrix : tuple of 7 tuples of 7 ints
        Raw adjacency matrix, ``matrix[i][j] == 1`` for an edge ``i -> j`` (may contain
        vertices that pruning removes).
    ops : tuple of 7 str
        Op of every node, ``ops[0] == "input"``, ``ops[6] == "output"``.

    ``str(arch)`` is the compact string form (see :mod:`nasperf.searchspaces.nb101`).

    Validated on construction like :meth:`NB101Space.parse` (7x7 0/1 strictly
    upper-triangular matrix, ``input`` .. ``output`` ops, output reachable, at most 9 edges
    after pruning); lists are stored as tuples. A violation raises
    :class:`InvalidArchitectureError` naming the entry or op and its value.
    """

    matrix: Matrix
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        where = "NB101Arch"
        m = _check_matrix(self.matrix, where)
        if len(m) != NUM_VERTICES:
            raise InvalidArchitectureError(
                f"{where}: the stored form has a {NUM_VERTICES}x{NUM_VERTICES} matrix, got "
                f"{len(m)} rows; build smaller cells with NB101Space().parse((matrix, ops))")
        names = _check_ops(self.ops, NUM_VERTICES, where)
        _check_graph(m, names, where)
        object.__setattr__(self, "matrix", tuple(tuple(row) for row in m))
        object.__setattr__(self, "ops", tuple(names))

    def __str__(self) -> str:
        return NB101Space().to_string(self)


def _is_seq(x: Any) -> bool:
    return isinstance(x, (Sequence, np.ndarray)) and not isinstance(x, (str, bytes, bytearray))


class NB101Space(SearchSpace):
    """The NAS-Bench-101 search space (423,624 unique cells; see the module docstring)."""

    name = "nb101"
    #: Op names in NASLib / NAS-Bench-Suite-Zero id order.
    ops = NB101_OPS
    arch_type = NB101Arch
    op_taxonomy = taxonomy({INPUT: "io", OUTPUT: "io", MAXPOOL3X3: ("pool", 3),
                            CONV1X1: ("conv", 1), CONV3X3: ("conv", 3)})
    #: From the direct input -> output edge (no op) to all 5 inner nodes in a chain.
    path_lengths = (0, NUM_VERTICES - 2)
    benchmark_info = BenchmarkInfo(("cifar10",), ("zc",), load_nb101, "dataset",
                                   files=("nas-bench-suite-zero/zc_nasbench101.json",))

    def onehot_layout(self) -> OneHotLayout:
        """NASLib's ``encode_adj``: the pruned cell's adjacency padded to 7 nodes and a
        one-hot of the op of each of the 5 inner nodes (36 columns)."""
        return nb101_layout(self)

    # -- parsing -----------------------------------------------------------------------------
    def _from_string(self, text: str) -> NB101Arch:
        where = f"nb101 string {text[:100]!r}"
        if text.startswith("{"):
            value = literal(text, "nb101")
            if not isinstance(value, dict):
                raise InvalidArchitectureError(f"{where}: expected a dict literal")
            return self._from_mapping(value)
        parts = text.split("|")
        if len(parts) != 2:
            raise InvalidArchitectureError(
                f"{where}: expected 'rows|ops' (matrix rows of 0/1 digits joined by '.', "
                f"then ops joined by ','), found {len(parts) - 1} '|' separator(s)"
            )
        rows = parts[0].strip().split(".")
        for i, row in enumerate(rows):
            if not row or set(row) - {"0", "1"}:
                raise InvalidArchitectureError(
                    f"{where}: matrix row {i} {row[:20]!r} must be a non-empty string of 0/1 "
                    "digits"
                )
        matrix = [[int(c) for c in row] for row in rows]
        ops = [op.strip() for op in parts[1].split(",")]
        return self._from_cell(matrix, ops, where)

    def _from_sequence(self, seq: Any) -> NB101Arch:
        if isinstance(seq, dict):
            return self._from_mapping(seq)
        if not _is_seq(seq):
            raise InvalidArchitectureError(
                f"nb101: expected a flat tuple, a (matrix, ops) pair or a dict, got "
                f"{type(seq).__name__} {seq!r:.60}"
            )
        where = f"nb101 tuple {seq!r:.100}"
        if len(seq) == 2:
            return self._from_cell(seq[0], seq[1], where)
        n = _flat_size(len(seq))
        if n is None:
            raise InvalidArchitectureError(
                f"{where}: expected a (matrix, ops) pair or a flat tuple of n*n adjacency "
                f"entries + n op ids (56 ints for 7 nodes), got {len(seq)} items"
            )
        flat = list(seq)
        if any(_is_seq(v) or isinstance(v, dict) for v in flat):
            raise InvalidArchitectureError(f"{where}: a flat tuple must contain only integers")
        matrix = [flat[i * n:(i + 1) * n] for i in range(n)]
        ops = flat[n * n:]
        for k, op in enumerate(ops):
            if isinstance(op, str):
                raise InvalidArchitectureError(
                    f"{where}: op {k} of a flat tuple must be an integer id, got {op!r:.40}"
                )
        return self._from_cell(matrix, ops, where)

    def _from_mapping(self, mapping: dict) -> NB101Arch:
        where = f"nb101 dict {mapping!r:.100}"
        for mkey, okey in (("matrix", "ops"), ("module_adjacency", "module_operations")):
            if mkey in mapping and okey in mapping:
                return self._from_cell(mapping[mkey], mapping[okey], where)
        raise InvalidArchitectureError(
            f"{where}: a dict needs the keys 'matrix' and 'ops' (or 'module_adjacency' and "
            f"'module_operations'), got {sorted(map(str, mapping))[:6]}"
        )

    def _from_cell(self, matrix: Any, ops: Any, where: str) -> NB101Arch:
        """Validate a raw cell of 2..7 nodes and return it padded to 7 nodes."""
        m = _check_matrix(matrix, where)
        names = _check_ops(ops, len(m), where)
        _check_graph(m, names, where)
        return NB101Arch(*_pad(m, names))

    # -- views ---------------------------------------------------------------------------------
    def to_string(self, arch: NB101Arch) -> str:
        arch = self.check(arch)
        rows = ".".join("".join(str(v) for v in row) for row in arch.matrix)
        return f"{rows}|{','.join(arch.ops)}"

    def to_tuple(self, arch: NB101Arch) -> tuple[int, ...]:
        """The 56-int NASLib key: 49 adjacency entries (row-major) then 7 op ids."""
        arch = self.check(arch)
        return (*(v for row in arch.matrix for v in row), *(self.ops.index(o) for o in arch.ops))

    def to_graphs(self, arch: NB101Arch) -> dict[str, ArchGraph]:
        """``{"cell": g}`` with ``g`` the **pruned** cell (2..7 nodes), as trained."""
        arch = self.check(arch)
        return {"cell": ArchGraph(np.array(arch.matrix, dtype=np.uint8), arch.ops).prune()}

    def to_model(self, arch: NB101Arch, num_classes: int = 10, stem_channels: int = 128,
                 num_stacks: int = 3, cells_per_stack: int = 3, **kwargs: Any):
        """The NAS-Bench-101 network; see :class:`~nasperf.searchspaces.models.nb101.NB101Network`.
        """
        from .models.nb101 import NB101Network

        num_classes = check_num_classes(num_classes)
        g = self.to_graph(arch)
        return NB101Network(g.adjacency, g.ops, num_classes=num_classes,
                            stem_channels=stem_channels, num_stacks=num_stacks,
                            cells_per_stack=cells_per_stack, **kwargs)

    def canonicalize(self, arch: NB101Arch) -> NB101Arch:
        """The arch of the pruned cell (padded to 7 nodes): drops dead vertices and edges.

        Archs with equal canonical forms build the same network. Isomorphic cells may still
        differ in node order; use :meth:`hash_spec` to identify those.
        """
        g = self.to_graph(arch)
        return NB101Arch(*_pad(g.adjacency.tolist(), list(g.ops)))

    def is_canonical(self, arch: NB101Arch) -> bool:
        return self.canonicalize(arch) == arch

    def hash_spec(self, arch: NB101Arch) -> str:
        """The official NAS-Bench-101 dataset hash (``ModelSpec.hash_spec``) of the cell.

        An MD5 hex string of the pruned cell that is invariant to the order of the interior
        vertices: isomorphic cells get equal hashes. It is the key of the official
        ``nasbench_*.tfrecord`` data, so results can be looked up by it.
        """
        g = self.to_graph(arch)
        labels = [-1] + [INTERIOR_OPS.index(op) for op in g.ops[1:-1]] + [-2]
        return _hash_module(g.adjacency, labels)

    def canonical_hash(self, arch: NB101Arch) -> str:
        """:meth:`ArchGraph.canonical_hash` of the pruned cell (same invariance as
        :meth:`hash_spec`, in the form every space shares)."""
        return self.to_graph(arch).canonical_hash()

    # -- sampling ------------------------------------------------------------------------------
    def sample(self, n: int, seed: int | np.random.Generator | None = 0) -> list[NB101Arch]:
        """``n`` valid cells in canonical (pruned, padded) form.

        Like NASLib and the NAS-Bench-101 examples: every upper-triangular edge is drawn
        with probability 1/2 and every interior op uniformly; invalid specs are redrawn.
        """
        n, rng = check_count(n), check_seed(seed)
        out: list[NB101Arch] = []
        while len(out) < n:
            matrix = np.triu(rng.integers(0, 2, size=(NUM_VERTICES, NUM_VERTICES)), 1)
            ops = [INPUT, *(INTERIOR_OPS[i] for i in rng.integers(0, 3, NUM_VERTICES - 2)),
                   OUTPUT]
            try:
                arch = self._from_cell(matrix.tolist(), ops, "nb101 sample")
            except InvalidArchitectureError:
                continue
            out.append(self.canonicalize(arch))
        return out

    def mutate(self, arch: NB101Arch, seed: int | np.random.Generator | None = 0
               ) -> NB101Arch:
        """A random valid neighbour of ``arch`` whose pruned cell is not isomorphic to it.

        Neighbours (of the stored 7-node cell): flip one edge; change the op of one live
        interior vertex; or wire a dead interior vertex ``k`` in with two edges
        ``i -> k -> j`` between live vertices ``i < k < j`` and give it any op (so that
        cells can grow again after pruning). One is drawn uniformly among the neighbours
        that are valid and change the network; the result is not canonicalised.
        """
        arch = self.check(arch)
        rng = check_seed(seed)
        m = np.array(arch.matrix, dtype=np.uint8)
        live = ArchGraph(m, arch.ops).live_nodes()
        edits: list[tuple] = [("edge", i, j) for i, j in
                              itertools.combinations(range(NUM_VERTICES), 2)]
        edits += [("op", v, op) for v in range(1, NUM_VERTICES - 1) if live[v]
                  for op in INTERIOR_OPS if op != arch.ops[v]]
        edits += [("revive", i, k, j, op) for k in range(1, NUM_VERTICES - 1) if not live[k]
                  for i in range(k) if live[i] for j in range(k + 1, NUM_VERTICES) if live[j]
                  for op in INTERIOR_OPS]
        old_hash = self.hash_spec(arch)
        for idx in rng.permutation(len(edits)):
            new_m, new_ops = m.copy(), list(arch.ops)
            kind, *args = edits[idx]
            if kind == "edge":
                new_m[args[0], args[1]] ^= 1
            elif kind == "op":
                new_ops[args[0]] = args[1]
            else:  # revive: i -> k -> j, op of k
                i, k, j, op = args
                new_m[i, k] = new_m[k, j] = 1
                new_ops[k] = op
            try:
                child = self._from_cell(new_m.tolist(), new_ops, "nb101 mutate")
            except InvalidArchitectureError:
                continue
            if self.hash_spec(child) != old_hash:
                return child
        raise RuntimeError(f"no valid mutation of {arch}")  # unreachable for valid cells


# -- helpers -------------------------------------------------------------------------------------
def _check_ops(ops: Any, n: int, where: str) -> list[str]:
    """Op names (or NASLib ids) of an ``n``-node cell: ``input`` first, ``output`` last,
    interior ops in between."""
    if isinstance(ops, np.ndarray):
        ops = ops.tolist()
    if not _is_seq(ops):
        raise InvalidArchitectureError(
            f"{where}: ops must be a sequence of op names or ids, got {ops!r:.60}"
        )
    if len(ops) != n:
        raise InvalidArchitectureError(
            f"{where}: {len(ops)} ops given for a {n}x{n} adjacency matrix"
        )
    names = [
        check_op(NB101_OPS, op, f"{where}, op {k}") if isinstance(op, str)
        else op_from_id(NB101_OPS, op, f"{where}, op {k}")
        for k, op in enumerate(ops)
    ]
    if names[0] != INPUT:
        raise InvalidArchitectureError(f"{where}: op 0 must be 'input', got {names[0]!r}")
    if names[-1] != OUTPUT:
        raise InvalidArchitectureError(
            f"{where}: the last op must be 'output', got {names[-1]!r}"
        )
    for k, op in enumerate(names[1:-1], start=1):
        if op not in INTERIOR_OPS:
            raise InvalidArchitectureError(
                f"{where}: op {k} must be one of {', '.join(INTERIOR_OPS)}, got {op!r}"
            )
    return names


def _check_graph(m: list[list[int]], names: list[str], where: str) -> None:
    """The official validity of a checked cell: output reachable, <= 9 edges after pruning."""
    graph = ArchGraph(np.array(m, dtype=np.uint8), tuple(names))
    if not graph.is_connected():
        raise InvalidArchitectureError(
            f"{where}: the output is not reachable from the input (the official ModelSpec "
            "marks such a spec invalid)"
        )
    n_edges = int(graph.prune().adjacency.sum())
    if n_edges > MAX_EDGES:
        raise InvalidArchitectureError(
            f"{where}: {n_edges} edges after pruning, NAS-Bench-101 allows at most {MAX_EDGES}"
        )


def _flat_size(length: int) -> int | None:
    """``n`` with ``n*n + n == length`` for 2 <= n <= 7, else None."""
    for n in range(2, NUM_VERTICES + 1):
        if n * n + n == length:
            return n
    return None


def _check_matrix(matrix: Any, where: str) -> list[list[int]]:
    """A square, 0/1, strictly upper-triangular matrix of 2..7 nodes as lists of ints."""
    if isinstance(matrix, np.ndarray):
        matrix = (matrix.astype(np.uint8) if matrix.dtype == bool else matrix).tolist()
    if not _is_seq(matrix):
        raise InvalidArchitectureError(
            f"{where}: the adjacency matrix must be a list of rows, got {matrix!r:.60}"
        )
    n = len(matrix)
    if not 2 <= n <= NUM_VERTICES:
        raise InvalidArchitectureError(
            f"{where}: a cell has 2..{NUM_VERTICES} nodes, the matrix has {n} rows"
        )
    rows: list[list[int]] = []
    for i, row in enumerate(matrix):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if not _is_seq(row) or len(row) != n:
            raise InvalidArchitectureError(
                f"{where}: matrix row {i} must be a list of {n} entries (the matrix is square), "
                f"got {row!r:.40}"
            )
        values = [as_int(v, f"{where}, matrix entry ({i}, {j})") for j, v in enumerate(row)]
        for j, v in enumerate(values):
            if v not in (0, 1):
                raise InvalidArchitectureError(
                    f"{where}: matrix entry ({i}, {j}) is {v}; entries must be 0 or 1"
                )
            if v and j <= i:
                raise InvalidArchitectureError(
                    f"{where}: matrix entry ({i}, {j}) is 1 but only edges i -> j with i < j "
                    "are allowed (strictly upper triangular: no self-loops, no cycles)"
                )
        rows.append(values)
    return rows


def _pad(matrix: list[list[int]], ops: list[str]) -> tuple[Matrix, tuple[str, ...]]:
    """NASLib's padding of an ``n``-node cell to 7 nodes (``convert_to_cell``): rows and
    columns ``0..n-2`` stay, the output column moves to column 6, new vertices get no edges
    and op :data:`PAD_OP`."""
    n = len(matrix)
    last = NUM_VERTICES - 1
    padded = [[0] * NUM_VERTICES for _ in range(NUM_VERTICES)]
    for i in range(n):
        for j in range(n):
            target_i = i if i < n - 1 else last
            target_j = j if j < n - 1 else last
            padded[target_i][target_j] = int(matrix[i][j])
    new_ops = [*ops[:-1], *([PAD_OP] * (NUM_VERTICES - n)), ops[-1]]
    return tuple(tuple(row) for row in padded), tuple(new_ops)


def _hash_module(matrix: np.ndarray, labels: list[int]) -> str:
    """NAS-Bench-101's graph hash (``graph_util.hash_module``): Weisfeiler-Lehman refinement
    of (out-degree, in-degree, label) with MD5, iterated once per vertex."""
    adj = np.asarray(matrix, dtype=int)
    n = adj.shape[0]
    in_deg = adj.sum(axis=0).tolist()
    out_deg = adj.sum(axis=1).tolist()
    hashes = [_md5(str((out_deg[v], in_deg[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5("".join(sorted(hashes[w] for w in range(n) if adj[w, v])) + "|"
                 + "".join(sorted(hashes[w] for w in range(n) if adj[v, w])) + "|" + hashes[v])
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()
