"""Feature families for the benchmark runner: names -> arrays for a benchmark's architectures.

Every family is a function ``(bench, **options) -> (X, names)`` in :data:`FEATURE_FAMILIES`,
with ``X`` of shape ``(len(bench), d)`` (float64, NaN allowed) and ``d`` feature names.
Encoders that learn something in ``fit`` (path-vocabulary truncation, arch2vec, CATE) are
fitted on the architectures alone, never on targets, so fitting them on every architecture
of the benchmark leaks no label (the usual semi-supervised setting of arch2vec/CATE).

Names are prefixed by family (``graf:``, ``zc:``, ``onehot:``...) so that SHAP and ablation
tables can group them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from nasperf.searchspaces import Benchmark

log = logging.getLogger(__name__)

FeatureFn = Callable[..., tuple[np.ndarray, list[str]]]


def _encode(encoder, bench: Benchmark) -> tuple[np.ndarray, list[str]]:
    X = encoder.fit_transform(bench.archs)
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.asarray(X, dtype=float), [str(n) for n in encoder.get_feature_names_out()]


def onehot(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str]]:
    from nasperf.encoders import OneHotEncoder

    return _encode(OneHotEncoder(bench.space, **kw), bench)


def path(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str]]:
    from nasperf.encoders import PathEncoder

    return _encode(PathEncoder(bench.space, **kw), bench)


def graf(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str]]:
    from nasperf.graphfeatures import GRAFEncoder

    return _encode(GRAFEncoder(bench.space, **kw), bench)


def graf_all(bench: Benchmark) -> tuple[np.ndarray, list[str]]:
    """GRAF with every feature group (op counts, path lengths, path counts, degrees, ...)."""
    return graf(bench, feature_groups="all")


def arch2vec(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str]]:
    from nasperf.encoders import Arch2VecEncoder

    return _encode(Arch2VecEncoder(bench.space, **kw), bench)


def cate(bench: Benchmark, **kw) -> tuple[np.ndarray, list[str]]:
    from nasperf.encoders import CATEEncoder

    return _encode(CATEEncoder(bench.space, **kw), bench)


def zc(bench: Benchmark, proxies: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The benchmark's precomputed zero-cost proxies (NaN where a proxy failed)."""
    table = bench.proxies
    if proxies is not None:
        missing = [p for p in proxies if p not in table.columns]
        if missing:
            raise ValueError(f"proxies {missing} not in the benchmark; have {list(table.columns)}")
        table = table[list(proxies)]
    if table.shape[1] == 0:
        raise ValueError(f"{bench!r} has no precomputed proxies; choose other features")
    return table.to_numpy(dtype=float), list(table.columns)


def flops_params(bench: Benchmark) -> tuple[np.ndarray, list[str]]:
    """Only the two cost proxies (FLOPs, parameters), as used beside GRAF features."""
    return zc(bench, proxies=[p for p in ("flops", "params") if p in bench.proxies.columns])


#: family name -> function(bench, **options) -> (X, names)
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


def build_features(bench: Benchmark, families: str | Sequence[str],
                   cache_dir: str | Path | None = None) -> tuple[np.ndarray, list[str]]:
    """Concatenate feature families for every architecture of ``bench``.

    Parameters
    ----------
    families : str or list of str
        Names from :data:`FEATURE_FAMILIES`; a string may join several with ``+``
        (``"graf+zc"``).
    cache_dir : path, optional
        Cache each family's matrix as ``.npz`` there (keyed by benchmark and family).

    Returns
    -------
    X : ndarray of shape (n_archs, n_features)
    names : list of str, ``"<family>:<feature>"``
    """
    if isinstance(families, str):
        families = [f for f in families.split("+") if f]
    blocks, names = [], []
    for fam in families:
        if fam not in FEATURE_FAMILIES:
            known = ", ".join(FEATURE_FAMILIES)
            raise ValueError(f"unknown feature family {fam!r}; known: {known}")
        cached = Path(cache_dir) / f"features_{fam}_{_cache_key(bench, fam)}.npz" \
            if cache_dir else None
        if cached is not None and cached.is_file():
            with np.load(cached, allow_pickle=False) as z:
                X, fam_names = z["X"], [str(n) for n in z["names"]]
        else:
            X, fam_names = FEATURE_FAMILIES[fam](bench)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(cached, X=X, names=np.array(fam_names))
        if X.shape != (len(bench), len(fam_names)):
            raise ValueError(f"feature family {fam!r} returned shape {X.shape} for "
                             f"{len(bench)} archs and {len(fam_names)} names")
        blocks.append(X)
        names.extend(f"{fam}:{n}" for n in fam_names)
    return np.hstack(blocks), names
