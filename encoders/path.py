"""Path encoding (BANANAS; White et al., AAAI 2021): which input -> output paths a cell has.

A path is the sequence of operations of the inner nodes it passes, read from the cell's
:class:`~nasperf.searchspaces.ArchGraph` (so ``none`` edges and dead ops carry no path, and
isomorphic cells have the same paths). With several input nodes (NB301) a path starts with
the label of its input (``input0`` = c_{k-2}, ``input1`` = c_{k-1}). Each column is one
possible path; its value is 1 if the cell has that path (or the number of such paths with
``counts=True``).

Vocabulary: for spaces whose paths are short (``space.path_lengths``: the fewest and most
ops on a path) every op sequence of the possible lengths is a column (NB201:
4 + 4^2 + 4^3 = 84, ``none`` carries no path; TNB101-micro: 39; NB101: 3^0 + ... + 3^5 =
364, length 0 being the direct input -> output edge). Where that is large (NB301:
2 x (7 + ... + 7^4) = 5,600 per cell) or unknown (user spaces), the vocabulary is the set of
paths seen in ``fit``. ``max_paths`` keeps only the paths most frequent in the fitted
architectures (White et al.'s truncation).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, SearchSpace
from nasperf.searchspaces.graph import data_ops, graphs_of, input_names_of, parse_graph_or_arch

from .base import ArchEncoder, unique_index

Path = tuple[str, ...]
#: ``vocabulary="auto"`` enumerates all paths only up to this many columns per cell.
MAX_FULL_VOCABULARY = 2000
#: ``sparse="auto"`` returns a sparse matrix above this many columns.
SPARSE_ABOVE = 1000


def enumerate_paths(graph: ArchGraph) -> list[Path]:
    """All input -> output paths of ``graph`` as op sequences (with repetitions).

    Single-input graphs give tuples of inner-node ops, e.g. ``("nor_conv_3x3",)``; graphs
    with several inputs prefix each path with its input's label.

    Examples
    --------
    >>> from nasperf.searchspaces import get_space
    >>> space = get_space("nb201")
    >>> g = space.to_graph(space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
    ...                                "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"))
    >>> sorted(len(p) for p in enumerate_paths(g))
    [1, 2, 2, 3]
    """
    inputs = input_names_of(graph)
    k_in, n = len(inputs), graph.n_nodes
    to_node: list[list[Path]] = [[] for _ in range(n)]
    for s, name in enumerate(inputs):
        to_node[s] = [(name,)] if k_in > 1 else [()]
    adj = graph.adjacency
    for v in range(n - 1):
        if not to_node[v]:
            continue
        through = to_node[v] if v < k_in else [p + (graph.ops[v],) for p in to_node[v]]
        for w in np.flatnonzero(adj[v]):
            to_node[w].extend(through)
    return to_node[n - 1]


class PathEncoder(ArchEncoder):
    """BANANAS path encoding with optional truncation to the most frequent paths.

    Parameters
    ----------
    space : str, SearchSpace or None
        The search space; ``None`` accepts ArchGraph inputs (vocabulary learned in fit).
    max_paths : int, optional
        Keep only the ``max_paths`` paths present in most fitted architectures (ties: shorter
        paths first); ``None`` keeps all.
    vocabulary : {"auto", "full", "fit"}
        ``"full"``: every op sequence of the space's possible lengths
        (``space.path_lengths``); ``"fit"``: the paths seen in ``fit``; ``"auto"``:
        ``"full"`` when the space knows its path lengths and that gives at most
        ``MAX_FULL_VOCABULARY`` paths per cell.
    counts : bool
        Count the paths with the same op sequence instead of a 0/1 indicator.
    sparse : bool or "auto"
        Return a ``scipy.sparse.csr_matrix`` (``"auto"``: above ``SPARSE_ABOVE`` columns).
    progress : bool or None
        Progress bar (``None``: for long inputs only).

    Attributes
    ----------
    vocabulary_ : dict cell -> list of paths
        The columns' paths per cell, in output order.
    path_frequency_ : dict (cell, path) -> int
        Number of fitted architectures with each path.
    ops_ : tuple of str
        Ops allowed on inner nodes.
    feature_names_out_ : list of str
        ``path[op>op>...]`` (``normal_path[input0>sep_conv_3x3]`` for NB301).
    """

    def __init__(self, space: str | SearchSpace | None = None, *, max_paths: int | None = None,
                 vocabulary: str = "auto", counts: bool = False, sparse: bool | str = "auto",
                 progress: bool | None = None):
        self.space = space
        self.max_paths = max_paths
        self.vocabulary = vocabulary
        self.counts = counts
        self.sparse = sparse
        self.progress = progress

    def _parse_one(self, x: Any) -> Any:
        return parse_graph_or_arch(self.space_, x)

    # -- fitting -------------------------------------------------------------------------------
    def fit_transform(self, X: Sequence, y: Any = None, **fit_params: Any):
        """:meth:`fit` then :meth:`transform`, enumerating each distinct cell's paths once."""
        self.space_ = self._resolve_space()
        uniques, inverse = unique_index(self._parse_all(X))
        path_sets = self._path_counts(uniques, check=False)
        self._fit_paths(uniques, inverse, path_sets)
        return self._encode(path_sets, inverse)

    def _fit(self, items: list) -> None:
        uniques, inverse = unique_index(items)
        self._fit_paths(uniques, inverse, self._path_counts(uniques, check=False))

    def _transform(self, items: list) -> np.ndarray | sp.csr_matrix:
        uniques, inverse = unique_index(items)
        return self._encode(self._path_counts(uniques), inverse)

    def _fit_paths(self, uniques: list, inverse: np.ndarray,
                   path_sets: list[dict[str, Counter]]) -> None:
        if self.vocabulary not in ("auto", "full", "fit"):
            raise ValueError(f"vocabulary must be 'auto', 'full' or 'fit', got {self.vocabulary!r}")
        if self.sparse not in (True, False, "auto"):
            raise ValueError(f"sparse must be True, False or 'auto', got {self.sparse!r}")
        if self.max_paths is not None and int(self.max_paths) < 1:
            raise ValueError(f"max_paths must be a positive integer, got {self.max_paths}")
        space = self.space_
        weight = np.bincount(inverse, minlength=len(uniques))
        self.cells_ = tuple(path_sets[0])
        self.inputs_ = self._input_names(uniques[0])
        if space is not None:
            self.ops_ = data_ops(space.ops)
        else:
            self.ops_ = tuple(sorted({p for ps in path_sets for c in ps.values() for path in c
                                      for p in path if not p.startswith("input")}))
        self._check_ops(path_sets)

        frequency: Counter = Counter()
        for ps, w in zip(path_sets, weight):
            for cell, counter in ps.items():
                for path in counter:
                    frequency[(cell, path)] += int(w)
        self.path_frequency_ = dict(frequency)

        if self._full_vocabulary():
            lo, hi = space.path_lengths
            candidates = {cell: self._all_paths(cell, lo, hi) for cell in self.cells_}
        else:
            candidates = {cell: sorted((p for (c, p) in frequency if c == cell), key=self._order)
                          for cell in self.cells_}
        if self.max_paths is not None:
            ranked = sorted(((c, p) for c in self.cells_ for p in candidates[c]),
                            key=lambda cp: (-frequency.get(cp, 0), len(cp[1]),
                                            self.cells_.index(cp[0]), self._order(cp[1])))
            keep = set(ranked[:int(self.max_paths)])
            candidates = {c: [p for p in candidates[c] if (c, p) in keep] for c in self.cells_}
        self.vocabulary_ = candidates
        prefix = len(self.cells_) > 1
        self.feature_names_out_ = [
            f"{cell}_path[{'>'.join(p)}]" if prefix else f"path[{'>'.join(p)}]"
            for cell in self.cells_ for p in candidates[cell]
        ]

    def _full_vocabulary(self) -> bool:
        space = self.space_
        known = space is not None and space.path_lengths is not None
        if self.vocabulary == "full":
            if not known:
                raise ValueError(
                    "vocabulary='full' needs a space with known path lengths "
                    "(space.path_lengths is None); use vocabulary='fit'"
                )
            return True
        if self.vocabulary == "fit" or not known:
            return False
        lo, hi = space.path_lengths
        n_inputs = max(len(names) for names in self.inputs_.values())
        size = n_inputs * sum(len(self.ops_) ** k for k in range(lo, hi + 1))
        return size <= MAX_FULL_VOCABULARY

    def _all_paths(self, cell: str, lo: int, hi: int) -> list[Path]:
        heads = [(name,) for name in self.inputs_[cell]] if len(self.inputs_[cell]) > 1 else [()]
        return [head + tail for head in heads for k in range(lo, hi + 1)
                for tail in itertools.product(self.ops_, repeat=k)]

    def _order(self, path: Path) -> tuple:
        """Sort key: input, length, then ops in vocabulary order."""
        rank = {op: k for k, op in enumerate(self.ops_)}
        return (len(path), [rank.get(p, -1) for p in path], path)

    def _input_names(self, item: Any) -> dict[str, tuple[str, ...]]:
        return {cell: input_names_of(g) for cell, g in graphs_of(self.space_, item).items()}

    # -- encoding ------------------------------------------------------------------------------
    def _path_counts(self, uniques: list, check: bool = True) -> list[dict[str, Counter]]:
        """Per unique item, per cell, a Counter of its paths (each distinct graph once)."""
        cache: dict[ArchGraph, Counter] = {}
        out = []
        for item in self._progress(uniques, len(uniques), "paths"):
            ps = {}
            for cell, g in graphs_of(self.space_, item).items():
                if g not in cache:
                    cache[g] = Counter(enumerate_paths(g))
                ps[cell] = cache[g]
            out.append(ps)
        if check:
            self._check_ops(out)
        return out

    def _check_ops(self, path_sets: list[dict[str, Counter]]) -> None:
        allowed = set(self.ops_)
        for k, ps in enumerate(path_sets):
            if tuple(ps) != self.cells_:
                raise InvalidArchitectureError(
                    f"architecture {k} has cells {tuple(ps)}, expected {self.cells_}")
            for cell, counter in ps.items():
                for path in counter:
                    bad = [p for p in path if p not in allowed and not p.startswith("input")]
                    if bad:
                        raise InvalidArchitectureError(
                            f"cell {cell!r} of architecture {k}: unknown op {bad[0]!r}; known "
                            f"ops: {', '.join(self.ops_)}"
                        )

    def _encode(self, path_sets: list[dict[str, Counter]], inverse: np.ndarray
                ) -> np.ndarray | sp.csr_matrix:
        """Rows of the distinct items' path counters, scattered back by ``inverse``."""
        column = {}
        for cell in self.cells_:
            for p in self.vocabulary_[cell]:
                column[(cell, p)] = len(column)
        rows, cols, vals = [], [], []
        for r, ps in enumerate(path_sets):
            for cell, counter in ps.items():
                for path, c in counter.items():
                    j = column.get((cell, path))
                    if j is not None:
                        rows.append(r)
                        cols.append(j)
                        vals.append(float(c) if self.counts else 1.0)
        mat = sp.csr_matrix((vals, (rows, cols)), shape=(len(path_sets), len(column)))
        mat = mat[inverse]
        as_sparse = self.sparse is True or (self.sparse == "auto" and len(column) > SPARSE_ABOVE)
        return mat if as_sparse else mat.toarray()

