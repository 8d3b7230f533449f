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

Graph family
------------
``graph`` is not a feature matrix: its one column (``"graph:data"``) holds a
``torch_geometric.data.Data`` object per architecture
(:class:`nasperf.encoders.GraphDataEncoder`; the ``gnn`` extra), for graph predictors
(:class:`nasperf.predictors.gnn.GNNPredictor`). Beside it, the numeric columns of the other
families of the feature set are the graph's global features (``graph+zc``: the proxies).
``arch2vec_graph`` and ``pretrained_graph`` give graphs carrying a backbone pretrained
without labels on every architecture of the benchmark (arch2vec's encoder; a GIN regressing
the GRAF features and proxies) for ``gnn_pretrained`` to fine-tune.
Families in :data:`GRAPH_FAMILIES` are never cached, and :func:`build_features` returns them
(in an object array) only when asked with ``graphs=True``, as the benchmark runner does.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import nasperf
from nasperf._io import atomic_open, content_hash, source_fingerprint
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


def graf_all(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    """GRAF with every feature group (op counts, path lengths, path counts, degrees, ...)."""
    return graf(bench, feature_groups="all", **kw)


def arch2vec(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    from nasperf.encoders import Arch2VecEncoder

    return _encode(Arch2VecEncoder(bench.space, **kw), bench)


def cate(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    from nasperf.encoders import CATEEncoder

    return _encode(CATEEncoder(bench.space, **kw), bench)


def _graph_column(data, family: str) -> tuple[np.ndarray, list[str], Groups]:
    X = np.empty((len(data), 1), dtype=object)
    for i, d in enumerate(data):
        X[i, 0] = d
    return X, ["data"], {family: [0]}


def graph(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    """One ``torch_geometric.data.Data`` per architecture, as an object array ``(n, 1)``."""
    from nasperf.encoders import GraphDataEncoder

    return _graph_column(GraphDataEncoder(bench.space, **kw).fit_transform(bench.archs),
                         "graph")


def arch2vec_graph(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str], Groups]:
    """arch2vec's graphs (:meth:`~nasperf.encoders.Arch2VecEncoder.to_graph_data`), each
    carrying the encoder pretrained without labels on the space, for fine-tuning
    (``gnn_pretrained``), as an object array ``(n, 1)``."""
    from nasperf.encoders import Arch2VecEncoder

    enc = Arch2VecEncoder(bench.space, **kw).fit()
    return _graph_column(enc.to_graph_data(bench.archs), "arch2vec_graph")


def pretrained_graph(bench: Benchmark, progress: bool | None = None,
                     features: Callable[[str], np.ndarray] | None = None, **kw
                     ) -> tuple[np.ndarray, list[str], Groups]:
    """The ``graph`` family's graphs, each carrying (``data.backbone``) one GIN pretrained
    without labels on every architecture of the benchmark to regress its ``graf_all``
    features and, where the benchmark has them, its precomputed zero-cost proxies (as normal
    scores) (:func:`nasperf.predictors.gnn.pretrain_gin`, options ``kw``), for fine-tuning
    (``gnn_pretrained``), as an object array ``(n, 1)``. ``features(family)`` gives another
    family's matrix (:func:`build_features` passes its own, so that ``graf_all`` beside this
    family in a feature set is computed once)."""
    from nasperf.predictors.gnn import normal_scores, pretrain_gin

    if features is None:
        def features(fam: str) -> np.ndarray:
            return build_features(bench, fam, progress=progress is not False)[0]
    graphs = graph(bench, progress=progress)[0][:, 0]
    targets = [features("graf_all")]
    if bench.proxies.shape[1]:
        targets.append(normal_scores(features("zc")))
    backbone = pretrain_gin(graphs, np.hstack(targets), progress=progress is not False, **kw)
    for g in graphs:
        g.backbone = backbone
    return _graph_column(graphs, "pretrained_graph")


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
    "graph": graph,
    "arch2vec_graph": arch2vec_graph,
    "pretrained_graph": pretrained_graph,
}

#: Families whose column holds graph objects instead of numbers (see the module docstring).
GRAPH_FAMILIES = frozenset({"graph", "arch2vec_graph", "pretrained_graph"})


def benchmark_fingerprint(bench: Benchmark, targets: bool = True) -> str:
    """A hash of a benchmark's content: every architecture string (in order), the precomputed
    proxies (names and values) and, with ``targets``, the target values.

    Two benchmarks with the same fingerprint give the same features and (with ``targets``)
    the same benchmark results; any changed architecture, proxy value or target changes it.
    """
    h = hashlib.sha256()
    h.update(f"{bench.space.name}|{bench.dataset}|{bench.source}|{len(bench)}\n".encode())
    h.update("\n".join(bench.space.to_string(a) for a in bench.archs).encode())
    table = bench.proxies
    h.update(json.dumps([str(c) for c in table.columns]).encode())
    h.update(np.ascontiguousarray(table.to_numpy(dtype=np.float64)).tobytes())
    if targets:
        h.update(f"|{bench.target}|".encode())
        h.update(np.ascontiguousarray(np.asarray(bench.y, dtype=np.float64)).tobytes())
    return h.hexdigest()[:20]


#: The code that computes the numeric families (the layers below the runner, and this module).
FEATURE_CODE = ("searchspaces", "encoders", "graphfeatures", "zerocost", "eval.features")


def _cache_key(bench: Benchmark, family: str) -> str:
    """Cache key of one family's matrix: the family, the benchmark's architectures and
    proxies (everything a family may read, the targets excepted), the package version and
    the source code that computes the features (:data:`FEATURE_CODE`)."""
    return content_hash("features", family, benchmark_fingerprint(bench, targets=False),
                        nasperf.__version__, source_fingerprint(*FEATURE_CODE), length=20)


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


def _load_cached(path: Path, key: str, n_rows: int
                 ) -> tuple[np.ndarray, list[str], Groups] | None:
    """The cached (X, names, groups) of ``path``, or None when it is missing, was written for
    another key, or is unreadable (truncated, corrupt): then it is recomputed, with a warning
    unless it is simply missing."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if "key" not in z or str(z["key"]) != key:
                log.warning("feature cache %s was written for other data; recomputing", path)
                return None
            X = np.asarray(z["X"], dtype=float)
            names = [str(n) for n in z["names"]]
            groups = json.loads(str(z["groups"]))
        if X.ndim != 2 or X.shape != (n_rows, len(names)) or not isinstance(groups, dict):
            raise ValueError(f"shape {X.shape} for {n_rows} archs and {len(names)} names")
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is recomputed
        log.warning("feature cache %s is unreadable (%s: %s); recomputing", path,
                    type(exc).__name__, exc)
        return None
    return X, names, groups


def _save_cached(path: Path, key: str, X: np.ndarray, names: list[str], groups: Groups) -> None:
    """Write one cache entry atomically (a concurrent writer of the same entry writes the same
    content; the last replace wins)."""
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, X=X, names=np.array(names, dtype=str),
                            groups=np.array(json.dumps(groups)), key=np.array(key))


def _takes_options(fn: FeatureFn) -> bool:
    """Whether a family function forwards keyword options (``progress``) to its encoder."""
    params = inspect.signature(fn).parameters.values()
    return any(p.kind is p.VAR_KEYWORD or p.name == "progress" for p in params)


def _family_matrix(bench: Benchmark, fam: str, cache_dir: str | Path | None, progress: bool,
                   features: Callable[[str], np.ndarray]
                   ) -> tuple[np.ndarray, list[str], Groups]:
    """One family's checked ``(X, names, groups)``: from the cache when it has a valid entry,
    else computed (and cached, unless a graph family)."""
    use_cache = bool(cache_dir) and fam not in GRAPH_FAMILIES
    key = _cache_key(bench, fam) if use_cache else ""
    cached = Path(cache_dir) / f"features_{fam}_{key}.npz" if use_cache else None
    loaded = _load_cached(cached, key, len(bench)) if cached is not None else None
    if loaded is not None:
        X, names, groups = loaded
    else:
        fn = FEATURE_FAMILIES[fam]
        kw = {"progress": False} if not progress and _takes_options(fn) else {}
        if "features" in inspect.signature(fn).parameters:
            kw["features"] = features
        X, names, groups = fn(bench, **kw)
    if X.shape != (len(bench), len(names)):
        raise ValueError(f"feature family {fam!r} returned shape {X.shape} for "
                         f"{len(bench)} archs and {len(names)} names")
    groups = _check_groups(fam, groups, len(names))
    if cached is not None and loaded is None:
        _save_cached(cached, key, X, names, groups)
    return X, names, groups


def build_features(bench: Benchmark, families: str | Sequence[str],
                   cache_dir: str | Path | None = None, progress: bool = True,
                   graphs: bool = False) -> tuple[np.ndarray, list[str], Groups]:
    """Concatenate feature families for every architecture of ``bench``.

    Parameters
    ----------
    families : str or list of str
        Names from :data:`FEATURE_FAMILIES`; a string may join several with ``+``
        (``"graf+zc"``). Each family may appear once.
    cache_dir : path, optional
        Cache each family's matrix, names and groups as ``.npz`` there, keyed by the family,
        a hash of every architecture string and proxy value of ``bench``
        (:func:`benchmark_fingerprint`), the package version and a hash of the code that
        computes features (an edited encoder's cached features are not reused). Entries
        are written atomically and checked on read; a stale, truncated or corrupt entry is
        recomputed (with a warning). A family is known by its name only: a family added
        to :data:`FEATURE_FAMILIES` with other options must get another name
        (``"noise1000"``, not ``"noise"``), or the cache (and the runner's resume key,
        which holds the feature-set name) would reuse the other one's values.
    progress : bool
        ``False`` turns off the encoders' progress bars (passed as ``progress=False`` to
        every family that forwards options to an encoder); ``True`` keeps their defaults.
    graphs : bool
        Accept the families of :data:`GRAPH_FAMILIES` (not cached); ``X`` is then an object
        array. Without it such a family raises ``ValueError``.

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
    for fam in families:
        if fam not in FEATURE_FAMILIES:
            known = ", ".join(FEATURE_FAMILIES)
            raise ValueError(f"unknown feature family {fam!r}; known: {known}")
        if fam in GRAPH_FAMILIES and not graphs:
            raise ValueError(f"feature family {fam!r} holds graphs, not numeric features: it "
                             "is only for graph predictors (gnn) in the benchmark runner")
    computed: dict[str, tuple[np.ndarray, list[str], Groups]] = {}

    def family(fam: str) -> tuple[np.ndarray, list[str], Groups]:
        if fam not in computed:
            computed[fam] = _family_matrix(bench, fam, cache_dir, progress,
                                           lambda other: family(other)[0])
        return computed[fam]

    blocks, names, groups = [], [], {}
    offset = 0
    for fam in families:
        X, fam_names, fam_groups = family(fam)
        groups[fam] = list(range(offset, offset + len(fam_names)))
        if len(fam_groups) > 1:
            for g, cols in fam_groups.items():
                groups[f"{fam}.{g}"] = [offset + i for i in cols]
        blocks.append(X)
        names.extend(f"{fam}:{n}" for n in fam_names)
        offset += len(fam_names)
    return np.hstack(blocks), names, groups
