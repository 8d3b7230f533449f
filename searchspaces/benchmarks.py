"""Loading labelled benchmark tables: architectures, targets, precomputed proxies.

``load_benchmark(space, dataset, source=...)`` reads the files found by
:func:`nasperf.searchspaces.data.find_data_dir` and returns a :class:`Benchmark`.

Sources
-------
``"graf"``  The GRAF repository's CSVs. NB201: the 9,445 cells equal to their canonical
            form (no op made unreachable by ``none`` edges), CIFAR-10 and ImageNet16-120
            validation accuracy and 13 proxies. For CIFAR-100 there is no GRAF file: the
            same 9,445 cells get the CIFAR-100 test accuracy (200 epochs, NATS-Bench) as
            target and the CIFAR-10 proxies as features (recorded in ``meta``).
            TNB101-micro: 2,128 canonical cells of ``class_scene``.
``"zc"``    The NAS-Bench-Suite-Zero JSON files (NB201 ~724 cells per dataset, TNB101-micro
            711 cells per task (325 for jigsaw), NB101 500 cells).
``"full"``  NB201 only: all 15,625 cells with the 200-epoch test accuracies; no proxies.

For NB201 every source also joins the extra targets of all 15,625 cells as frame columns:
``test_accuracy`` (200 epochs, mean of seeds, for the chosen dataset), ``hw_<metric>``
(HW-NAS-Bench for the chosen dataset) and ``rob_<metric>`` (robustness, CIFAR-10). Choose
any of them as ``y`` with ``target=``.

Sentinel values (the benchmark authors wrote ``-1e8`` for a failed proxy) become NaN; the
count is logged and kept in ``meta["n_sentinels"]``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import SearchSpace
from .data import data_file
from .errors import BenchmarkDataError
from .registry import get_space, list_spaces

log = logging.getLogger(__name__)

#: Values the benchmark authors used for "this proxy failed".
SENTINELS = (-1e8, 1e8, -1e9, 1e9)

NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
TNB101_TASKS = ("class_scene", "class_object", "autoencoder", "normal", "jigsaw",
                "room_layout", "segmentsemantic")
_NATS_COLUMNS = {"cifar10": "CIFAR10TestAccuracy200Epochs",
                 "cifar100": "CIFAR100TestAccuracy200Epochs",
                 "ImageNet16-120": "ImageNetTestAccuracy200Epochs"}


@dataclass(frozen=True)
class BenchmarkInfo:
    """The labelled data a space can load: a space's :attr:`SearchSpace.benchmark_info`.

    Attributes
    ----------
    datasets : tuple of str
        Datasets (or tasks) with labels; the first is the default.
    sources : tuple of str
        Accepted ``source`` values; the first is the default.
    load : callable
        ``load(space, dataset, source, target, data_dir) -> Benchmark``; ``dataset`` and
        ``source`` are already checked against the lists above.
    noun : str
        What a dataset is called in messages (``"dataset"``, ``"task"``).
    files : tuple of str
        Data-directory paths of the files ``load`` reads (entries of the data manifest).
    """

    datasets: tuple[str, ...]
    sources: tuple[str, ...]
    load: Callable[..., Benchmark]
    noun: str = "dataset"
    files: tuple[str, ...] = ()


@dataclass
class Benchmark:
    """A labelled benchmark table.

    Attributes
    ----------
    archs : list
        Architecture objects of ``space`` (one per row of ``frame``).
    y : np.ndarray of shape (n,)
        The target column ``target`` of ``frame`` (float64, NaN where unknown).
    proxies : pandas.DataFrame of shape (n, n_proxies)
        Precomputed zero-cost proxies (may have no columns).
    frame : pandas.DataFrame
        Everything, indexed by the official architecture string; column ``tuple`` holds the
        NASLib tuple string.
    """

    space: SearchSpace
    dataset: str
    source: str
    target: str
    archs: list
    y: np.ndarray
    proxies: pd.DataFrame
    frame: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.archs)

    def __repr__(self) -> str:
        return (f"Benchmark(space={self.space.name!r}, dataset={self.dataset!r}, "
                f"source={self.source!r}, n={len(self)}, target={self.target!r}, "
                f"proxies={list(self.proxies.columns)})")

    def deduplicate(self) -> Benchmark:
        """One row per distinct network: architectures whose pruned graphs are isomorphic
        (equal :meth:`ArchGraph.canonical_hash` for every cell) are merged, numeric columns
        averaged, the first architecture kept. Split train/test only after this, or the same
        network lands on both sides."""
        keys = [tuple(g.canonical_hash() for g in self.space.to_graphs(a).values())
                for a in self.archs]
        codes = pd.factorize(pd.Series(keys, dtype=object))[0]
        first = pd.Series(range(len(codes))).groupby(codes).first().to_numpy()
        if len(first) == len(self.archs):
            return self
        num = self.frame.select_dtypes("number").groupby(codes).mean()
        frame = self.frame.iloc[first].copy()
        frame[num.columns] = num.to_numpy()
        proxies = frame[list(self.proxies.columns)]
        meta = {**self.meta, "n_before_dedup": len(self.archs)}
        log.info("%s: %d architectures -> %d distinct networks", self.space.name,
                 len(self.archs), len(first))
        return Benchmark(self.space, self.dataset, self.source, self.target,
                         [self.archs[i] for i in first], frame[self.target].to_numpy(float),
                         proxies, frame, meta)

    def summary(self) -> pd.DataFrame:
        """One row per numeric column: count, NaNs, mean, std, min, median, max."""
        num = self.frame.select_dtypes("number")
        return pd.DataFrame({
            "count": num.count(), "nan": num.isna().sum(), "mean": num.mean(),
            "std": num.std(), "min": num.min(), "median": num.median(), "max": num.max(),
        })


# -- file readers --------------------------------------------------------------------------------
def read_json(path: Path) -> Any:
    """JSON with a :class:`BenchmarkDataError` naming the file on corruption."""
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise BenchmarkDataError(f"{path}: corrupt or truncated JSON ({exc})") from None
    except UnicodeDecodeError as exc:
        raise BenchmarkDataError(f"{path}: not a UTF-8 JSON file ({exc})") from None


def read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """CSV with its required columns checked."""
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BenchmarkDataError(f"{path}: corrupt or truncated CSV ({exc})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise BenchmarkDataError(
            f"{path}: missing column(s) {missing}; found {list(df.columns)[:20]}"
        )
    if df.empty:
        raise BenchmarkDataError(f"{path}: no rows")
    return df


def _numeric(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Columns as float, with a clear error for non-numeric cells."""
    out = {}
    for c in df.columns:
        vals = pd.to_numeric(df[c], errors="coerce")
        bad = vals.isna() & df[c].notna()
        if bad.any():
            raise BenchmarkDataError(
                f"{path}: column {c!r} has non-numeric value {df[c][bad].iloc[0]!r} "
                f"at row {int(np.flatnonzero(bad.to_numpy())[0])}"
            )
        out[c] = vals.astype(float)
    return pd.DataFrame(out, index=df.index)


def _drop_sentinels(df: pd.DataFrame, meta: dict) -> pd.DataFrame:
    mask = df.isin(SENTINELS) | np.isinf(df)
    n = int(mask.to_numpy().sum())
    if n:
        cols = mask.sum()[lambda s: s > 0].to_dict()
        log.warning("%d sentinel or infinite value(s) (e.g. -1e8 for a failed proxy) set to "
                    "NaN: %s", n, cols)
    meta["n_sentinels"] = meta.get("n_sentinels", 0) + n
    return df.mask(mask)


def _parse_all(space: SearchSpace, keys, path: Path) -> list:
    from .errors import InvalidArchitectureError

    archs = []
    for row, key in enumerate(keys):
        try:
            archs.append(space.parse(key))
        except InvalidArchitectureError as exc:
            raise BenchmarkDataError(f"{path}: row {row}: {exc}") from None
    return archs


def _assemble(space: SearchSpace, archs: list, cols: pd.DataFrame, proxies: pd.DataFrame,
              dataset: str, source: str, target: str, meta: dict) -> Benchmark:
    index = pd.Index([space.to_string(a) for a in archs], name="arch")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise BenchmarkDataError(f"{space.name} {dataset} ({source}): duplicate architecture {dup}")
    cols = cols.set_axis(index)
    proxies = proxies.set_axis(index)
    frame = pd.concat(
        [pd.DataFrame({"tuple": [str(space.to_tuple(a)) for a in archs]}, index=index),
         cols, proxies], axis=1)
    if target not in frame.columns:
        raise ValueError(
            f"unknown target {target!r} for {space.name} {dataset} ({source}); available: "
            f"{', '.join(c for c in cols.columns)}"
        )
    y = frame[target].to_numpy(dtype=float)
    return Benchmark(space, dataset, source, target, archs, y, proxies, frame, meta)


# -- NAS-Bench-201 -------------------------------------------------------------------------------
def _nb201_extras(space: SearchSpace, dataset: str, data_dir) -> pd.DataFrame:
    """test accuracy / HW / robustness for all 15,625 cells, indexed by official string."""
    path = data_file("nb201-full/nats_bench_test_acc.csv", data_dir)
    nats = read_csv(path, ("ArchitectureString", _NATS_COLUMNS[dataset]))
    idx = [space.to_string(a) for a in _parse_all(space, nats["ArchitectureString"], path)]
    parts = [pd.DataFrame({"test_accuracy": _numeric(nats[[_NATS_COLUMNS[dataset]]], path)
                           .iloc[:, 0].to_numpy()}, index=idx)]
    for rel, prefix in ((f"nb201-graf/hw_{dataset}.csv", "hw_"),
                        ("nb201-graf/robustness_targets.csv", "rob_")):
        try:
            p = data_file(rel, data_dir)
        except FileNotFoundError:
            log.info("%s not found; skipping its columns", rel)
            continue
        df = read_csv(p, ("net",))
        keys = [space.to_string(a) for a in _parse_all(space, df["net"], p)]
        vals = _numeric(df.drop(columns=["net"]), p).add_prefix(prefix)
        if prefix == "rob_":
            vals = vals.drop(columns=["rob_val_accs"], errors="ignore")
        parts.append(vals.set_axis(keys))
    return pd.concat(parts, axis=1)


def load_nb201(space: SearchSpace, dataset: str, source: str, target: str,
               data_dir) -> Benchmark:
    """NB201 loader (see the module docstring for the sources)."""
    meta: dict[str, Any] = {}
    if source == "zc":
        path = data_file("nas-bench-suite-zero/zc_nasbench201.json", data_dir)
        cols, proxies, archs = _zc_records(space, read_json(path), (dataset,), path, meta)
    elif source == "graf":
        ds = "ImageNet16-120" if dataset == "ImageNet16-120" else "cifar10"
        stem = "nb201_ImageNet16-120" if ds == "ImageNet16-120" else "nb201"
        nets_path = data_file(f"nb201-graf/{stem}_valid_nets.csv", data_dir)
        nets = read_csv(nets_path, ("net", "val_accs"))
        zc_path = data_file(f"nb201-graf/{stem}_zc_proxies.csv", data_dir)
        zc = read_csv(zc_path, ("net",))
        if not nets["net"].equals(zc["net"]):
            zc = zc.set_index("net").reindex(nets["net"]).reset_index()
            if zc.drop(columns="net").isna().all(axis=1).any():
                raise BenchmarkDataError(f"{zc_path}: cells missing compared with {nets_path}")
        archs = _parse_all(space, nets["net"], nets_path)
        cols = _numeric(nets[["val_accs"]], nets_path).rename(columns={"val_accs": "val_accuracy"})
        proxies = _drop_sentinels(
            _numeric(zc.drop(columns=[c for c in ("net", "net_str") if c in zc]), zc_path), meta)
        if dataset == "cifar100":
            cols = cols.drop(columns="val_accuracy")
            meta["note"] = ("no GRAF file for CIFAR-100: target is the CIFAR-100 test accuracy "
                            "(200 epochs); proxies were computed on CIFAR-10")
            meta["proxies_dataset"] = "cifar10"
            if target == "val_accuracy":
                target = "test_accuracy"
    elif source == "full":
        archs, cols, proxies = space.enumerate(), pd.DataFrame(), pd.DataFrame()
        if target == "val_accuracy":
            target = "test_accuracy"
    else:
        raise ValueError(f"unknown nb201 source {source!r}; known: graf, zc, full")
    cols = cols.reset_index(drop=True)
    proxies = proxies.reset_index(drop=True)
    keys = [space.to_string(a) for a in archs]
    extras = _nb201_extras(space, dataset, data_dir).reindex(keys).reset_index(drop=True)
    cols = pd.concat([cols, extras], axis=1) if len(cols.columns) else extras
    return _assemble(space, archs, cols, proxies.reindex(range(len(archs))), dataset, source,
                     target, meta)


# -- NAS-Bench-Suite-Zero JSON ---------------------------------------------------------------------
def _zc_records(space: SearchSpace, blob: Any, path_keys: tuple[str, ...], path: Path,
                meta: dict) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    node = blob
    for k in path_keys:
        if not isinstance(node, dict) or k not in node:
            have = list(node)[:10] if isinstance(node, dict) else type(node).__name__
            raise BenchmarkDataError(f"{path}: no entry {k!r} (found {have})")
        node = node[k]
    if not isinstance(node, dict) or not node:
        raise BenchmarkDataError(f"{path}: entry {'/'.join(path_keys)} is empty or not a mapping")
    keys = list(node)
    archs = _parse_all(space, keys, path)
    rows_y, rows_p = [], []
    for key in keys:
        rec = node[key]
        if not isinstance(rec, dict) or "val_accuracy" not in rec:
            raise BenchmarkDataError(f"{path}: record {key} has no val_accuracy")
        rows_y.append({"val_accuracy": rec["val_accuracy"]})
        prox = {}
        for name, v in rec.items():
            if name in ("idx", "arch", "val_accuracy", "test_accuracy"):
                continue
            prox[name] = v["score"] if isinstance(v, dict) else v
        rows_p.append(prox)
    cols = _numeric(pd.DataFrame(rows_y), path)
    proxies = _drop_sentinels(_numeric(pd.DataFrame(rows_p), path), meta)
    return cols, proxies, archs


def load_tnb101_micro(space: SearchSpace, dataset: str, source: str, target: str,
                      data_dir) -> Benchmark:
    """TNB101-micro loader: ``"zc"`` (every task) or ``"graf"`` (class_scene)."""
    meta: dict[str, Any] = {}
    if source == "zc":
        path = data_file("nas-bench-suite-zero/zc_transbench101_micro.json", data_dir)
        cols, proxies, archs = _zc_records(space, read_json(path), (dataset,), path, meta)
    elif source == "graf":
        if dataset != "class_scene":
            raise ValueError("the GRAF TNB101-micro CSV holds class_scene only; use source='zc'")
        path = data_file("tnb101-micro-graf/tnb101_micro_valid_nets.csv", data_dir)
        df = read_csv(path, ("net", "val_accs"))
        archs = _parse_all(space, df["net"], path)
        cols = _numeric(df[["val_accs"]], path).rename(columns={"val_accs": "val_accuracy"})
        drop = [c for c in df.columns if c in ("net", "new_net", "val_accs", "random", "rank")
                or c.startswith("Unnamed")]
        proxies = _drop_sentinels(_numeric(df.drop(columns=drop), path), meta)
    else:
        raise ValueError(f"unknown tnb101_micro source {source!r}; known: zc, graf")
    return _assemble(space, archs, cols, proxies, dataset, source, target, meta)


def load_nb101(space: SearchSpace, dataset: str, source: str, target: str,
               data_dir) -> Benchmark:
    """NB101 loader: the NAS-Bench-Suite-Zero JSON (``"zc"``)."""
    if source != "zc":
        raise ValueError(f"unknown nb101 source {source!r}; known: zc")
    meta: dict[str, Any] = {}
    path = data_file("nas-bench-suite-zero/zc_nasbench101.json", data_dir)
    cols, proxies, archs = _zc_records(space, read_json(path), ("nasbench101", dataset), path,
                                       meta)
    return _assemble(space, archs, cols, proxies, dataset, source, target, meta)


def list_benchmarks() -> dict[str, tuple[str, ...]]:
    """Space name -> datasets/tasks with labelled data, for every space of
    :func:`~nasperf.searchspaces.list_spaces` that has any (``space.benchmarks``)."""
    out = {}
    for name in list_spaces():
        datasets = get_space(name).benchmarks
        if datasets:
            out[name] = datasets
    return out


def load_benchmark(space: str | SearchSpace, dataset: str | None = None,
                   data_dir: str | os.PathLike | None = None, source: str | None = None,
                   target: str = "val_accuracy", dedup: bool = False) -> Benchmark:
    """Load a labelled benchmark.

    Parameters
    ----------
    space : str or SearchSpace
        ``"nb201"``, ``"tnb101_micro"`` or ``"nb101"``.
    dataset : str, optional
        NB201: ``cifar10`` (default), ``cifar100``, ``ImageNet16-120``; TNB101-micro: a task
        (default ``class_scene``); NB101: ``cifar10``.
    data_dir : path, optional
        Data directory; see :func:`nasperf.searchspaces.data.find_data_dir` for the search order.
    source : str, optional
        ``"graf"`` (NB201 default), ``"zc"`` (TNB101/NB101 default), ``"full"`` (NB201).
    target : str
        Column of ``frame`` returned as ``y`` (default validation accuracy; NB201 also
        ``test_accuracy``, ``hw_*``, ``rob_*``).
    dedup : bool
        Merge architectures that build the same network (:meth:`Benchmark.deduplicate`).
        The NB101 file's 500 cells are 292 distinct networks; NB201 GRAF cells are distinct
        up to isomorphism of their pruned graphs.
    """
    space = get_space(space)
    info = space.benchmark_info
    if info is None:
        raise ValueError(
            f"no labelled benchmark for space {space.name!r}; available: "
            f"{', '.join(list_benchmarks())} (nb301 and tnb101_macro ship unlabelled "
            "architecture lists: see load_archs)"
        )
    dataset = dataset or info.datasets[0]
    if dataset not in info.datasets:
        raise ValueError(f"unknown {space.name} {info.noun} {dataset!r}; known: "
                         f"{', '.join(info.datasets)}")
    source = source or info.sources[0]
    if source not in info.sources:
        raise ValueError(f"unknown {space.name} source {source!r}; known: "
                         f"{', '.join(info.sources)}")
    bench = info.load(space, dataset, source, target, data_dir)
    return bench.deduplicate() if dedup else bench


def load_archs(space: str | SearchSpace, data_dir: str | os.PathLike | None = None) -> list:
    """Unlabelled architectures of a space (NB301: 11,221; TNB101-macro: 3,256), read from
    its :attr:`SearchSpace.archs_file`."""
    space = get_space(space)
    if not space.archs_file:
        known = [n for n in list_spaces() if get_space(n).archs_file]
        raise ValueError(f"no architecture list for {space.name!r}; available: "
                         f"{', '.join(known)}")
    path = data_file(space.archs_file, data_dir)
    blob = read_json(path)
    if not isinstance(blob, dict):
        raise BenchmarkDataError(f"{path}: expected a JSON object index -> architecture")
    return _parse_all(space, list(blob.values()), path)
