"""``ZeroCostEncoder``: architectures of a search space -> zero-cost proxy feature matrix."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

import nasperf
from nasperf._io import RecordLog, source_fingerprint
from nasperf._utils import torch_seed

from .core import compute_proxies
from .data import DEFAULT_BATCH_SIZE, default_batch, infer_input_shape, to_batch
from .registry import get_proxy, resolve_proxies

log = logging.getLogger(__name__)


class ZeroCostEncoder(TransformerMixin, BaseEstimator):
    """Encode architectures by their zero-cost proxy scores.

    For every architecture and proxy the value comes from, in order: the benchmark's
    precomputed table (when ``precomputed`` and the architecture is listed there), the disk
    cache (``cache_dir``), or :func:`nasperf.zerocost.compute_proxies` on ``space.to_model(arch)``
    (initialised with ``torch.manual_seed(random_state)``), whose result is then cached.

    Parameters
    ----------
    space : str or SearchSpace
        E.g. ``"nb201"``.
    proxies : "all", list of str or comma-separated str
        Proxies, in the order of the output columns.
    data : batch, optional
        Anything :func:`compute_proxies` accepts as ``batch`` (tensor, ``(x, y)``, DataLoader).
        ``None``: the default digits batch of ``batch_size`` samples.
    precomputed : bool or pandas.DataFrame
        ``True``: use the benchmark's values from
        ``nasperf.searchspaces.load_benchmark(space, dataset, source=source, data_dir=data_dir)``
        when that benchmark exists. ``False``: compute everything. A DataFrame indexed by
        the official architecture string with one column per proxy: use it. NaN in the
        table (a proxy that failed for the benchmark authors) is kept as NaN.
    dataset, source, data_dir : optional
        Passed to ``load_benchmark``.
    cache_dir : path, optional
        Directory of the disk cache: one checksummed record log (:class:`nasperf._io.RecordLog`)
        per (space, data batch content, random_state, model kwargs, options, package
        version), appended after every architecture, so an interrupted run resumes. A line
        torn by a kill, or otherwise corrupt, is dropped with a warning and recomputed.
    device : str
    random_state : int, default 0
        Seed of the networks' initialisation and of the proxies (an integer: the same seed
        gives the same scores, so cached scores stay valid).
    batch_size : int
        Size of the default batch.
    model_kwargs : dict, optional
        Passed to ``space.to_model`` (e.g. ``{"num_classes": 100}``).
    options : dict, optional
        Per-proxy options for :func:`compute_proxies`.
    progress : bool
        Show a progress bar while computing.

    Notes
    -----
    Precomputed data-dependent values (computed by the benchmark authors on CIFAR batches)
    and locally computed ones (on ``data``) are not on the same scale; when a column mixes
    both a warning is logged.
    """

    def __init__(self, space: Any = "nb201", *, proxies: str | Sequence[str] = "all",
                 data: Any = None, precomputed: Any = True, dataset: str | None = None,
                 source: str | None = None, data_dir: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None, device: str = "cpu",
                 random_state: int = 0, batch_size: int = DEFAULT_BATCH_SIZE,
                 model_kwargs: dict | None = None, options: dict | None = None,
                 progress: bool = False) -> None:
        self.space = space
        self.proxies = proxies
        self.data = data
        self.precomputed = precomputed
        self.dataset = dataset
        self.source = source
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.device = device
        self.random_state = random_state
        self.batch_size = batch_size
        self.model_kwargs = model_kwargs
        self.options = options
        self.progress = progress

    # -- sklearn API ---------------------------------------------------------------------------
    def fit(self, archs: Sequence | None = None, y: Any = None) -> ZeroCostEncoder:
        """Validate the parameters and load the precomputed table; nothing is learned."""
        from nasperf.searchspaces import get_space

        if isinstance(self.random_state, bool) or not isinstance(self.random_state,
                                                                  (int, np.integer)):
            raise ValueError(f"random_state must be an integer seed, got {self.random_state!r}")
        self.space_ = get_space(self.space)
        self.proxies_ = resolve_proxies(self.proxies)
        self.table_ = self._load_table()
        self.n_features_out_ = len(self.proxies_)
        return self

    def transform(self, archs: Sequence) -> np.ndarray:
        """Proxy scores, ``np.ndarray`` of shape ``(len(archs), len(proxies_))`` (float64)."""
        check_is_fitted(self, "proxies_")
        archs = [self.space_.parse(a) for a in archs]
        keys = [self.space_.to_string(a) for a in archs]
        out = np.full((len(archs), len(self.proxies_)), np.nan)
        todo: dict[int, list[str]] = {}
        from_table = np.zeros(len(self.proxies_), dtype=int)
        for i, key in enumerate(keys):
            missing = []
            for j, name in enumerate(self.proxies_):
                if self.table_ is not None and name in self.table_.columns \
                        and key in self.table_.index:
                    out[i, j] = float(self.table_.at[key, name])
                    from_table[j] += 1
                else:
                    missing.append(name)
            if missing:
                todo[i] = missing
        if todo:
            self._compute(archs, keys, todo, out)
        for j, name in enumerate(self.proxies_):
            n_local = len(archs) - from_table[j]
            if from_table[j] and n_local and get_proxy(name).mode != "none" \
                    and name not in ("flops", "synflow"):
                log.warning("column %s mixes %d precomputed benchmark values with %d computed "
                            "on other data; they are not on the same scale", name,
                            from_table[j], n_local)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The proxy names, one per output column."""
        check_is_fitted(self, "proxies_")
        return np.asarray(self.proxies_, dtype=object)

    def get_feature_groups_out(self) -> dict[str, list[int]]:
        """One group ``"zc"`` holding every proxy column (indices into
        :meth:`get_feature_names_out`): the proxies are one kind of feature, and a single
        proxy is already a column of its own."""
        check_is_fitted(self, "proxies_")
        return {"zc": list(range(len(self.proxies_)))}

    # -- internals -----------------------------------------------------------------------------
    def _load_table(self):
        import pandas as pd

        if isinstance(self.precomputed, pd.DataFrame):
            return self.precomputed
        if self.precomputed is False or self.precomputed is None:
            return None
        if self.precomputed is not True:
            raise ValueError("precomputed must be True, False or a pandas DataFrame indexed by "
                             f"the official architecture string, got {type(self.precomputed)}")
        from nasperf.searchspaces import DataNotFoundError, load_benchmark

        try:
            bench = load_benchmark(self.space_, self.dataset, data_dir=self.data_dir,
                                   source=self.source)
        except (DataNotFoundError, ValueError) as exc:
            log.info("no precomputed proxies for %s (%s); computing them", self.space_.name, exc)
            return None
        return bench.proxies

    def _batch(self, first_model: torch.nn.Module) -> tuple[Any, str]:
        """The batch used for every architecture and a tag identifying it in the cache."""
        if self.data is None:
            shape = infer_input_shape(first_model)
            batch = default_batch(shape, batch_size=self.batch_size, seed=self.random_state)
            return batch, f"digits{self.batch_size}-{'x'.join(map(str, shape))}"
        x, y = to_batch(self.data)
        h = hashlib.sha1(x.detach().cpu().contiguous().numpy().tobytes())
        if y is not None:
            h.update(y.detach().cpu().contiguous().numpy().tobytes())
        return (x, y) if y is not None else x, f"data{h.hexdigest()[:12]}"

    def _cache_file(self, tag: str) -> Path | None:
        if self.cache_dir is None:
            return None
        extra = json.dumps({"model_kwargs": self.model_kwargs or {},
                            "options": self.options or {}, "version": nasperf.__version__,
                            "code": source_fingerprint("searchspaces", "zerocost")},
                           sort_keys=True, default=repr)
        digest = hashlib.sha1(extra.encode()).hexdigest()[:8]
        name = f"{self.space_.name}__{tag}__seed{self.random_state}__{digest}.log"
        path = Path(self.cache_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _compute(self, archs: list, keys: list[str], todo: dict[int, list[str]],
                 out: np.ndarray) -> None:
        from tqdm.auto import tqdm

        kwargs = dict(self.model_kwargs or {})
        batch, tag = self._batch(self._build(archs[next(iter(todo))], kwargs))
        path = self._cache_file(tag)
        cache = read_cache(path, repair=True) if path is not None else {}
        col = {n: j for j, n in enumerate(self.proxies_)}
        for i in tqdm(list(todo), disable=not self.progress, desc="zero-cost proxies"):
            cached = cache.get(keys[i], {})
            need = [n for n in todo[i] if n not in cached]
            if need:
                scores = compute_proxies(self._build(archs[i], kwargs), batch, need,
                                         device=self.device, seed=self.random_state,
                                         options=self.options)
                cached = cache[keys[i]] = {**cached, **scores}
                if path is not None:
                    RecordLog(path).append({"arch": keys[i], "scores": _jsonable(scores)})
            for n in todo[i]:
                out[i, col[n]] = cached[n]

    def _build(self, arch: Any, kwargs: dict) -> torch.nn.Module:
        with torch_seed(self.random_state):
            return self.space_.to_model(arch, **kwargs)


# -- score files: the encoder's cache and ``nasperf proxies --out`` ----------------------------
class JsonLinesLog(RecordLog):
    """A :class:`~nasperf._io.RecordLog` of plain JSON lines (no checksum), for files that
    users read with any JSON-lines reader (``nasperf proxies --out``). Same guarantees against
    kills: a line without its newline or that is not a JSON object is dropped with a warning,
    and :meth:`repair` removes it before new lines are appended."""

    @staticmethod
    def _parse(line: str) -> dict | None:
        if not line.endswith("\n"):
            return None
        try:
            record = json.loads(line)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    def append(self, records: dict | Iterable[dict]) -> None:
        """Append one record or several as JSON lines, flushed and fsynced before returning."""
        if isinstance(records, dict):
            records = [records]
        text = "".join(json.dumps(r) + "\n" for r in records)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def _jsonable(scores: dict[str, float]) -> dict[str, float | None]:
    """Scores with NaN as None (JSON null)."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in scores.items()}


def _valid_scores(rec: dict) -> dict[str, float] | None:
    arch, scores = rec.get("arch"), rec.get("scores")
    if not isinstance(arch, str) or not isinstance(scores, dict):
        return None
    out = {}
    for k, v in scores.items():
        if v is None:
            out[k] = math.nan
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
        else:
            return None
    return out


def read_score_records(path: str | os.PathLike | None, checksum: bool = True,
                       repair: bool = False) -> dict[str, dict]:
    """Architecture string -> its record from a score file (later records of an architecture
    update earlier ones; their ``"scores"`` are merged, NaN for null).

    The one reader of both score files: the encoder's checksummed cache (``checksum=True``,
    :class:`~nasperf._io.RecordLog`) and the plain JSON lines of ``nasperf proxies --out``
    (``checksum=False``, :class:`JsonLinesLog`). Torn or corrupt lines, and records without
    an ``"arch"`` string and a ``"scores"`` dict of numbers or nulls, are dropped with a
    warning. ``repair=True`` also removes the dropped lines from the file (atomically), as
    needed before appending to it.
    """
    if path is None:
        return {}
    store = (RecordLog if checksum else JsonLinesLog)(path)
    records = store.repair() if repair else store.read()
    out: dict[str, dict] = {}
    for rec in records:
        scores = _valid_scores(rec)
        if scores is None:
            log.warning("%s: a record without an architecture and its scores; dropped",
                        store.path)
            continue
        prev = out.get(rec["arch"])
        out[rec["arch"]] = {**(prev or {}), **rec,
                            "scores": {**(prev or {}).get("scores", {}), **scores}}
    return out


def read_cache(path: str | os.PathLike | None, repair: bool = False
               ) -> dict[str, dict[str, float]]:
    """Architecture string -> {proxy: value} from the encoder's cache file (see
    :func:`read_score_records`; torn or corrupt lines are dropped with a warning)."""
    return {a: r["scores"] for a, r in read_score_records(path, True, repair).items()}
