"""What a search may query: a search space, optionally restricted to a labelled pool.

A :class:`Domain` gives the optimisers one vocabulary for both settings:

* **pool** (a labelled benchmark, e.g. NB201's 9,445 GRAF cells): every architecture an
  optimiser proposes is one of the pool's rows. A sample is drawn from the rows; a mutation
  or neighbour is mapped back onto the pool, first by its official string, then by the
  canonical hash of its pruned graphs (so a cell that differs from a pool cell only on dead
  edges is that pool cell); one that is in no row is dropped. Features are computed once
  for the whole pool (any family of :data:`nasperf.eval.features.FEATURE_FAMILIES`).
* **open** (a user objective over a whole space): samples and mutations come from the
  space; two architectures whose pruned graphs are isomorphic are the same network and are
  queried once. Encoder features (``onehot``, ``path``, ``graf``, ``graf_all``) come from an
  encoder fitted on a fixed reference sample of the space.

An architecture's identity (:meth:`Domain.key`) is its pool row (int) in a pool and its
canonical graph hash (str) in an open space.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasperf.searchspaces import Benchmark, SearchSpace, get_space

log = logging.getLogger(__name__)

#: Mutations tried per requested architecture before a proposer gives up on it.
MUTATION_TRIES = 50
#: Random draws tried per requested architecture in an open space before giving up.
SAMPLE_TRIES = 100
#: Size of the reference sample the open-space encoders are fitted on (seed 0).
REFERENCE_SAMPLE = 1000


def _open_encoders() -> dict[str, Callable[[SearchSpace], Any]]:
    from nasperf.encoders import OneHotEncoder, PathEncoder
    from nasperf.graphfeatures import GRAFEncoder

    return {
        "onehot": OneHotEncoder,
        "path": PathEncoder,
        "graf": GRAFEncoder,
        "graf_all": lambda space: GRAFEncoder(space, feature_groups="all"),
    }


class Domain:
    """The architectures of ``space`` a search may query (all, or the rows of ``pool``).

    Parameters
    ----------
    space : str or SearchSpace
    pool : Benchmark, optional
        Restrict the search to its architectures (its proxies serve the zero-cost warm
        start and the ``zc`` features; its targets are never read here).
    """

    def __init__(self, space: str | SearchSpace, pool: Benchmark | None = None):
        self.space = get_space(space)
        self.pool = pool
        self._features: dict[str, np.ndarray] = {}
        self._encoders: dict[str, Any] = {}
        if pool is not None:
            strings = [self.space.to_string(a) for a in pool.archs]
            self._row_of = {s: i for i, s in reversed(list(enumerate(strings)))}
            self._row_of_hash: dict[str, int] = {}
            for i, a in reversed(list(enumerate(pool.archs))):
                self._row_of_hash[self._hash(a)] = i

    # -- identity ----------------------------------------------------------------------------
    def _hash(self, arch: Any) -> str:
        return "|".join(g.canonical_hash() for g in self.space.to_graphs(arch).values())

    @property
    def size(self) -> int | None:
        """Number of architectures of the pool (None in an open space)."""
        return None if self.pool is None else len(self.pool.archs)

    def locate(self, arch: Any) -> Any | None:
        """``arch`` as the domain holds it: its pool row's architecture (None when it is in no
        row), or the checked architecture in an open space."""
        arch = self.space.check(arch)
        if self.pool is None:
            return arch
        row = self._row_of.get(self.space.to_string(arch))
        if row is None:
            row = self._row_of_hash.get(self._hash(arch))
        return None if row is None else self.pool.archs[row]

    def key(self, arch: Any) -> Hashable:
        """The identity of a located architecture: pool row, or canonical graph hash."""
        return self._hash(arch) if self.pool is None else self.row(arch)

    def row(self, arch: Any) -> int:
        """Pool row of a located architecture."""
        return self._row_of[self.space.to_string(arch)]

    def to_string(self, arch: Any) -> str:
        return self.space.to_string(arch)

    # -- proposals ---------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator, exclude: Iterable[Hashable] = ()
               ) -> list:
        """Up to ``n`` distinct architectures drawn uniformly, none with a key in ``exclude``
        (fewer only when the domain runs out)."""
        exclude = set(exclude)
        if self.pool is not None:
            free = np.setdiff1d(np.arange(len(self.pool.archs)),
                                np.fromiter((k for k in exclude), int, len(exclude)))
            rows = rng.choice(free, size=min(n, len(free)), replace=False)
            return [self.pool.archs[int(r)] for r in rows]
        out: list = []
        for _ in range(SAMPLE_TRIES * max(n, 1)):
            if len(out) >= n:
                break
            arch = self.space.sample(1, seed=rng)[0]
            k = self.key(arch)
            if k not in exclude:
                exclude.add(k)
                out.append(arch)
        return out

    def mutate(self, arch: Any, rng: np.random.Generator, exclude: Iterable[Hashable] = ()
               ) -> Any | None:
        """A random one-edit neighbour of ``arch`` in the domain, with a key not in
        ``exclude`` (None when :data:`MUTATION_TRIES` mutations found none)."""
        exclude = exclude if isinstance(exclude, set) else set(exclude)
        for _ in range(MUTATION_TRIES):
            child = self.locate(self.space.mutate(arch, seed=rng))
            if child is not None and self.key(child) not in exclude:
                return child
        return None

    def neighbours(self, arch: Any, rng: np.random.Generator) -> list:
        """The distinct architectures of the domain one edit away from ``arch``, in random
        order: all of them where the space lists them (:meth:`SearchSpace.neighbours`), else
        up to :data:`MUTATION_TRIES` random mutations."""
        try:
            candidates = self.space.neighbours(arch)
        except NotImplementedError:
            candidates = [self.space.mutate(arch, seed=rng) for _ in range(MUTATION_TRIES)]
        own, out, seen = self.key(arch), [], set()
        for c in candidates:
            c = self.locate(c)
            if c is None:
                continue
            k = self.key(c)
            if k != own and k not in seen:
                seen.add(k)
                out.append(c)
        return [out[i] for i in rng.permutation(len(out))]

    def unseen(self, exclude: Iterable[Hashable]) -> list:
        """Every pool architecture whose row is not in ``exclude`` (pool only)."""
        if self.pool is None:
            raise ValueError("candidates='pool' needs a pool (a labelled benchmark); an open "
                             "space has none: use candidates='mutation' or 'sample'")
        exclude = set(exclude)
        return [a for i, a in enumerate(self.pool.archs) if i not in exclude]

    # -- features ----------------------------------------------------------------------------
    def features(self, families: str, archs: Sequence) -> np.ndarray:
        """Feature matrix ``(len(archs), d)`` of ``archs`` (located architectures) for
        ``families`` (e.g. ``"path"``, ``"graf_all+zc"``)."""
        if self.pool is not None:
            if families not in self._features:
                from nasperf.eval.features import build_features

                self._features[families] = build_features(self.pool, families,
                                                          progress=False)[0]
            rows = [self.row(a) for a in archs]
            return self._features[families][rows]
        encoders = _open_encoders()
        blocks = []
        for fam in families.split("+"):
            if fam not in encoders:
                raise ValueError(
                    f"feature family {fam!r} needs a labelled pool (precomputed proxies or "
                    f"a pretrained encoder); in an open space use one of "
                    f"{', '.join(encoders)}")
            if fam not in self._encoders:
                enc = encoders[fam](self.space)
                enc.fit(self.space.sample(REFERENCE_SAMPLE, seed=0))
                self._encoders[fam] = enc
            X = self._encoders[fam].transform(list(archs))
            blocks.append(np.asarray(X.toarray() if hasattr(X, "toarray") else X, float))
        return np.hstack(blocks)

    def proxy_table(self, archs: Sequence) -> pd.DataFrame:
        """The pool's precomputed proxies of ``archs`` (one row each, pool only)."""
        if self.pool is None or self.pool.proxies.shape[1] == 0:
            raise ValueError("this domain has no precomputed proxies (an open space, or a "
                             "benchmark without proxy columns); give warm_start a callable "
                             "archs -> scores instead")
        return self.pool.proxies.iloc[[self.row(a) for a in archs]].reset_index(drop=True)

    def __repr__(self) -> str:
        where = f"pool of {self.size:,}" if self.pool is not None else "open"
        return f"Domain({self.space.name!r}, {where})"


def as_domain(space: Any) -> Domain:
    """A :class:`Domain` from a space name, a :class:`SearchSpace`, a :class:`Benchmark` (its
    pool) or a domain (returned as is)."""
    if isinstance(space, Domain):
        return space
    if isinstance(space, Benchmark):
        return Domain(space.space, space)
    if space is None:
        raise ValueError("an optimiser needs a space: pass space= (a name, a SearchSpace, a "
                         "Benchmark or a Domain)")
    return Domain(space)
