"""Feature families for the benchmark runner: names -> arrays for a benchmark's architectures.

Every family is a function ``(bench, **options) -> (X, names, groups)`` in
:data:`FEATURE_FAMILIES`, with ``X`` of shape ``(len(bench), d)`` (float64, NaN allowed),
``d`` feature names, and ``groups`` a dict group name -> column indices into ``X`` in which
every column is in exactly one group (an encoder's ``get_feature_groups_out()``: the GRAF
feature groups ``op_count``, ``min_path_len``, ...; a single group for the other encoders
and for the proxies). Encoders that learn something in ``fit`` (path-vocabulary truncation,
arch2vec, CATE) are fitted on the architectures alone, never on targets, so fitting them on
every architecture of the benchmark leaks no label (the usual semi-supervised setting of
arch2vec/CATE).

:func:`build_features` concatenates families. Names are prefixed by family (``graf:``,
``zc:``, ``onehot:``...); its groups name each family's columns (``"graf_all"``, ``"zc"``)
and, for families with more than one group, each group inside it
(``"graf_all.op_count"``), so that predictors, SHAP and ablation tables select columns by
group instead of by name.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nasperf.searchspaces import Benchmark

log = logging.getLogger(__name__)

#: Group name -> column indices.
Groups = dict[str, list[int]]
FeatureFn = Callable[..., tuple[np.ndarray, list[str], Groups]]


def _encode(encoder, bench: Benchmark) -> tuple[np.ndarray, list[str], Groups]:
    X = encoder.fit_transform(bench.archs)
    if hasattr(X, "toarray"):
        X = X.toarray()
    names = [str(n) for n in encoder.get_feature_names_out()]
    return np.asarray(X, dtype=float), names, encoder.get_feature_groups_out()


def onehot(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    from nasperf.encoders import OneHotEncoder

    return _encode(OneHotEncoder(bench.space, **kw), bench)


def path(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    from nasperf.encoders import PathEncoder

    return _encode(PathEncoder(bench.space, **kw), bench)


def graf(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    from nasperf.graphfeatures import GRAFEncoder

    return _encode(GRAFEncoder(bench.space, **kw), bench)


def graf_all(bench: Benchmark) -> tuple[np.ndarray, list[str], Groups]:
    """GRAF with every feature group (op counts, path lengths, path counts, degrees, ...)."""
    return graf(bench, feature_groups="all")


def arch2vec(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    from nasperf.encoders import Arch2VecEncoder

    return _encode(Arch2VecEncoder(bench.space, **kw), bench)


def cate(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    from nasperf.encoders import CATEEncoder

    return _encode(CATEEncoder(bench.space, **kw), bench)


def zc(bench: Benchmark, proxies: Sequence[str] | None = None
       ) -> tuple[np.ndarray, list[str], Groups]:
    """The benchmark's precomputed zero-cost proxies (NaN where a proxy failed), as one group
    ``"zc"`` (as :meth:`nasperf.zerocost.ZeroCostEncoder.get_feature_groups_out`)."""
    table = bench.proxies
    if proxies is not None:
        missing = [p for p in proxies if p not in table.columns]
        if missing:
            raise ValueError(f"proxies {missing} not in the benchmark; have {list(table.columns)}")
        table = table[list(proxies)]
    if table.shape[1] == 0:
        raise ValueError(f"{bench!r} has no precomputed proxies; choose other features")
    return table.to_numpy(dtype=float), list(table.columns), {"zc": list(range(table.shape[1]))}


def flops_params(bench: Benchmark) -> tuple[np.ndarray, list[str], Groups]:
    """Only the two cost proxies (FLOPs, parameters), as used beside GRAF features."""
    return zc(bench, proxies=[p for p in ("flops", "params") if p in bench.proxies.columns])


#: family name -> function(bench, **options) -> (X, names, groups)
FEATURE_FAMILIES: dict[str, FeatureFn] = {
    "onehot": onehot,
    "path": path,
    "graf": graf,
    "graf_all": graf_all,
    "zc": zc,
    "flops_params": flops_params,
    "arch2vec": arch2vec,
    "cate": cate,
}


def _cache_key(bench: Benchmark, family: str) -> str:
    ident = f"{bench.space.name}|{bench.dataset}|{bench.source}|{family}|" + "|".join(
        bench.frame.index[:50]) + f"|{len(bench)}"
    return hashlib.sha1(ident.encode()).hexdigest()[:16]


def split_families(families: str | Sequence[str]) -> list[str]:
    """Family names of a feature set: a list, or a string joining them with ``+``."""
    if isinstance(families, str):
        return [f for f in families.split("+") if f]
    return list(families)


def _check_groups(fam: str, groups: Groups, n_columns: int) -> Groups:
    """``groups`` as lists of int, checked to put each of ``n_columns`` columns in one group."""
    if not isinstance(groups, dict) or not groups:
        raise ValueError(f"feature family {fam!r} returned no feature groups")
    out = {str(g): [int(i) for i in cols] for g, cols in groups.items()}
    flat = sorted(i for cols in out.values() for i in cols)
    if flat != list(range(n_columns)):
        raise ValueError(f"the feature groups of family {fam!r} ({list(out)}) must put each of "
                         f"its {n_columns} columns in exactly one group")
    return out


def _load_cached(path: Path) -> tuple[np.ndarray, list[str], Groups] | None:
    with np.load(path, allow_pickle=False) as z:
        if "groups" not in z:  # written before groups were cached: rebuild it
            return None
        return z["X"], [str(n) for n in z["names"]], json.loads(str(z["groups"]))


def build_features(bench: Benchmark, families: str | Sequence[str],
                   cache_dir: str | Path | None = None
                   ) -> tuple[np.ndarray, list[str], Groups]:
    """Concatenate feature families for every architecture of ``bench``.

    Parameters
    ----------
    families : str or list of str
        Names from :data:`FEATURE_FAMILIES`; a string may join several with ``+``
        (``"graf+zc"``). Each family may appear once.
    cache_dir : path, optional
        Cache each family's matrix, names and groups as ``.npz`` there (keyed by benchmark
        and family).

    Returns
    -------
    X : ndarray of shape (n_archs, n_features)
    names : list of str, ``"<family>:<feature>"``
    groups : dict str -> list of int
        Column indices into ``X``: one entry per family, named as the family (``"zc"``,
        ``"graf_all"``), in the order of ``families``; after it, for a family whose columns
        form more than one group, one entry ``"<family>.<group>"`` per group (GRAF:
        ``"graf_all.op_count"``, ``"graf_all.node_degree"``...). Families with a single
        group (``onehot``, ``path``, ``arch2vec``, ``cate``, ``zc``, ``flops_params``) get
        no sub-group. The family entries partition the columns, and so do the finest
        entries (a family's sub-groups, or the family itself).
    """
    families = split_families(families)
    repeated = sorted({f for f in families if families.count(f) > 1})
    if repeated:
        raise ValueError(f"feature families {repeated} are listed more than once")
    blocks, names, groups = [], [], {}
    offset = 0
    for fam in families:
        if fam not in FEATURE_FAMILIES:
            known = ", ".join(FEATURE_FAMILIES)
            raise ValueError(f"unknown feature family {fam!r}; known: {known}")
        cached = Path(cache_dir) / f"features_{fam}_{_cache_key(bench, fam)}.npz" \
            if cache_dir else None
        loaded = _load_cached(cached) if cached is not None and cached.is_file() else None
        if loaded is not None:
            X, fam_names, fam_groups = loaded
        else:
            X, fam_names, fam_groups = FEATURE_FAMILIES[fam](bench)
        if X.shape != (len(bench), len(fam_names)):
            raise ValueError(f"feature family {fam!r} returned shape {X.shape} for "
                             f"{len(bench)} archs and {len(fam_names)} names")
        fam_groups = _check_groups(fam, fam_groups, len(fam_names))
        if cached is not None and loaded is None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cached, X=X, names=np.array(fam_names),
                                groups=np.array(json.dumps(fam_groups)))
        groups[fam] = list(range(offset, offset + len(fam_names)))
        if len(fam_groups) > 1:
            for g, cols in fam_groups.items():
                groups[f"{fam}.{g}"] = [offset + i for i in cols]
        blocks.append(X)
        names.extend(f"{fam}:{n}" for n in fam_names)
        offset += len(fam_names)
    return np.hstack(blocks), names, groups
