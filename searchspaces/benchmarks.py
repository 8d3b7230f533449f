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
            711 cells per task (325 for jigsaw), NB101 500 cells, NB301 CIFAR-10 and
            TNB101-macro's 7 tasks, about 725 architectures each). The NB301 and
            TNB101-macro files have no published checksum recorded: they always get the
            structural checks below.
``"full"``  NB201 only: all 15,625 cells with the 200-epoch test accuracies; no proxies.

For NB201 every source also joins the extra targets of all 15,625 cells as frame columns:
``test_accuracy`` (200 epochs, mean of seeds, for the chosen dataset), ``hw_<metric>``
(HW-NAS-Bench for the chosen dataset) and ``rob_<metric>`` (robustness, CIFAR-10). Choose
any of them as ``y`` with ``target=``.

Targets
-------
``val_accuracy`` is whatever the benchmark stored as validation "accuracy"; nothing assumes
it is a percentage. For TransNAS-Bench-101 (micro and macro) it depends on the task
(:data:`TNB101_TARGETS`): ``room_layout`` holds the *negated* validation loss (negative
numbers, higher is better), ``autoencoder`` and ``normal`` an SSIM in [0, 1]. The loaders
record the meaning in ``meta["target_note"]``.

Sentinel values (the benchmark authors wrote ``-1e8`` for a failed proxy; the published NB201
GRAF files hold 4, and ``epe_nas`` is ``-1e8`` throughout the TNB101-macro file) and
infinite proxy values become NaN; one INFO line says so and
``meta["sentinels"]`` counts them per proxy (``meta["n_sentinels"]``: the total).

Checks
------
A file at a manifest path is first compared with the published file (see
:mod:`nasperf.searchspaces.data`). Any other file (a user's table, or an edited copy loaded
with ``verify=False``) has its structure checked: it parses, ends with a line break, has
the required columns and the published row count, no key twice, numbers in every numeric
cell (an empty cell is an error), and finite targets (NaN or infinite targets are errors;
a proxy may be NaN). A JSON record must be an object with a numeric ``val_accuracy``, and
each proxy a number or an object with a numeric ``score``; a proxy that some records lack
is NaN in those records, counted in ``meta["missing_proxies"]`` with a warning. Every
failure is a :class:`BenchmarkDataError` naming the file and, where one applies, the
1-based file line (JSON: the record).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import SearchSpace
from .data import embedded_table_path, resolve_file, uses_embedded
from .errors import BenchmarkDataError
from .registry import get_space, list_spaces

log = logging.getLogger(__name__)

#: Values the benchmark authors used for "this proxy failed".
SENTINELS = (-1e8, 1e8, -1e9, 1e9)

NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
NB301_DATASETS = ("cifar10",)
TNB101_TASKS = ("class_scene", "class_object", "autoencoder", "normal", "jigsaw",
                "room_layout", "segmentsemantic")
#: What ``val_accuracy`` holds for each TransNAS-Bench-101 task in the NAS-Bench-Suite-Zero
#: files (the metric NASLib queries as ``VAL_ACCURACY``).
TNB101_TARGETS = {
    "class_scene": "validation top-1 accuracy in percent",
    "class_object": "validation top-1 accuracy in percent",
    "jigsaw": "validation top-1 accuracy in percent",
    "segmentsemantic": "validation pixel accuracy in percent",
    "autoencoder": "validation SSIM, in [0, 1] (higher is better)",
    "normal": "validation SSIM, in [0, 1] (higher is better)",
    "room_layout": "the negated validation loss (negative numbers; higher is better)",
}
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
    targets : dict str -> str
        What the default target (``val_accuracy``) means, for the datasets where it is not
        simply an accuracy in percent (TNB101: ``room_layout`` is a negated loss); the
        loaders copy it to ``Benchmark.meta["target_note"]``.
    """

    datasets: tuple[str, ...]
    sources: tuple[str, ...]
    load: Callable[..., Benchmark]
    noun: str = "dataset"
    files: tuple[str, ...] = ()
    targets: Mapping[str, str] = field(default_factory=dict)


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
#: Data rows of the published CSV files; a file of another length at that path is cut short
#: or was extended, which a checksum-free load (``verify=False``) reports.
ROW_COUNTS = {
    "nb201-graf/nb201_valid_nets.csv": 9445, "nb201-graf/nb201_zc_proxies.csv": 9445,
    "nb201-graf/nb201_ImageNet16-120_valid_nets.csv": 9445,
    "nb201-graf/nb201_ImageNet16-120_zc_proxies.csv": 9445,
    "nb201-graf/hw_cifar10.csv": 15625, "nb201-graf/hw_cifar100.csv": 15625,
    "nb201-graf/hw_ImageNet16-120.csv": 15625, "nb201-graf/robustness_targets.csv": 15625,
    "nb201-full/nats_bench_test_acc.csv": 15625,
    "tnb101-micro-graf/tnb101_micro_valid_nets.csv": 2128,
}
#: Cell texts read as NaN: only explicit ones. An empty cell is an error, never a silent NaN.
NA_VALUES = ("nan", "NaN", "NAN")
#: File line of the first data row of a CSV (line 1 is the header).
FIRST_LINE = 2


def _json_object(path: Path):
    """``object_pairs_hook`` that rejects a key given twice in one JSON object."""
    def hook(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                raise BenchmarkDataError(f"{path}: duplicate key {k!r} in one JSON object")
            out[k] = v
        return out
    return hook


def read_json(path: Path, trusted: bool = False) -> Any:
    """JSON with a :class:`BenchmarkDataError` naming the file (and line) on corruption.

    A UTF-8 byte-order mark is accepted. Unless ``trusted`` (the file was verified against
    the published one), a key repeated inside one object is an error.
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f, object_pairs_hook=None if trusted else _json_object(path))
    except json.JSONDecodeError as exc:
        raise BenchmarkDataError(
            f"{path}: corrupt or truncated JSON at line {exc.lineno}, column {exc.colno} "
            f"({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise BenchmarkDataError(f"{path}: not a UTF-8 JSON file ({exc})") from None


def read_csv(path: Path, required: tuple[str, ...], key: str | None = None,
             trusted: bool = False, n_rows: int | None = None) -> pd.DataFrame:
    """CSV with its structure checked; row ``i`` of the result is file line ``i + 2``.

    Accepts a UTF-8 byte-order mark and CRLF line endings. Checks: the file parses, ends
    with a line break (else it looks cut short), has the ``required`` columns, has
    ``n_rows`` rows when given, and no value of column ``key`` twice. An empty cell stays
    the empty string (numeric conversion reports it); only ``nan`` texts are NaN.
    ``trusted`` skips the checks a verified published file passes by construction.
    """
    if not trusted:
        size = path.stat().st_size
        if size == 0:
            raise BenchmarkDataError(f"{path}: the file is empty")
        with open(path, "rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                raise BenchmarkDataError(
                    f"{path}: the last line does not end with a line break: the file looks "
                    "cut short (truncated); re-download it, or add the final line break if "
                    "it is complete")
    try:
        df = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False,
                         na_values=list(NA_VALUES), skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BenchmarkDataError(f"{path}: corrupt or truncated CSV ({exc})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise BenchmarkDataError(
            f"{path}: missing column(s) {missing}; found {list(df.columns)[:20]}"
        )
    if df.empty:
        raise BenchmarkDataError(f"{path}: no rows")
    if not trusted and n_rows is not None and len(df) != n_rows:
        raise BenchmarkDataError(
            f"{path}: {len(df):,} rows where the published file has {n_rows:,}: the file "
            f"looks {'truncated' if len(df) < n_rows else 'extended'}")
    if key is not None and not trusted:
        _check_unique(df[key].astype(str).tolist(), path, f"{key} value")
    return df


def _check_unique(keys: list[str], path: Path, what: str,
                  lines: list[int] | None = None) -> None:
    """Error naming the first repeated key and both of its 1-based file lines."""
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in seen:
            first, second = ((seen[k] + FIRST_LINE, i + FIRST_LINE) if lines is None
                             else (lines[seen[k]], lines[i]))
            raise BenchmarkDataError(
                f"{path}: duplicate {what} {k!r} at lines {first} and {second}")
        seen[k] = i


def _numeric(df: pd.DataFrame, path: Path, target: bool = False,
             lines: list[int] | None = None) -> pd.DataFrame:
    """Columns as float, with an error naming the file line of a bad cell.

    A cell that is not a number (an empty one included) is an error. For ``target``
    columns a NaN or an infinite value is an error too; elsewhere (proxies) they are kept
    for :func:`_drop_sentinels`. ``lines`` gives the file line of each row (default: CSV
    lines, row + 2).
    """
    def line(i: int) -> str:
        return f"line {lines[i] if lines is not None else i + FIRST_LINE}"

    out = {}
    for c in df.columns:
        col = df[c]
        if col.dtype.kind in "fiub":
            vals = col.astype(float)
        else:
            vals = pd.to_numeric(col, errors="coerce").astype(float)
            bad = vals.isna() & ~col.isna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raw = col.iloc[i]
                what = ("is empty" if isinstance(raw, str) and not raw.strip()
                        else f"has non-numeric value {raw!r}")
                raise BenchmarkDataError(f"{path}: column {c!r} {what} at {line(i)}")
        if target:
            arr = vals.to_numpy()
            bad_t = ~np.isfinite(arr)
            if bad_t.any():
                i = int(np.flatnonzero(bad_t)[0])
                raise BenchmarkDataError(
                    f"{path}: target column {c!r} has the non-finite value {arr[i]} at "
                    f"{line(i)} ({int(bad_t.sum())} such value(s)); a target must be a finite "
                    "number")
        out[c] = vals
    return pd.DataFrame(out, index=df.index)


def _drop_sentinels(df: pd.DataFrame, meta: dict, where: str = "") -> pd.DataFrame:
    """Proxy values the authors wrote for a failure (:data:`SENTINELS`) and infinities
    become NaN; the counts per column go to ``meta["sentinels"]`` (total:
    ``meta["n_sentinels"]``) and one INFO line."""
    mask = df.isin(SENTINELS) | np.isinf(df)
    n = int(mask.to_numpy().sum())
    counts = {str(c): int(v) for c, v in mask.sum().items() if v}
    if n:
        log.info("%s%d failed-proxy value(s) (-1e8 sentinels or infinities) read as NaN: %s",
                 f"{where}: " if where else "", n, counts)
    sentinels = dict(meta.get("sentinels", {}))
    for c, v in counts.items():
        sentinels[c] = sentinels.get(c, 0) + v
    meta["sentinels"] = sentinels
    meta["n_sentinels"] = meta.get("n_sentinels", 0) + n
    return df.mask(mask)


def _parse_all(space: SearchSpace, keys, path: Path, lines: list[int] | None = None,
               json_keys: bool = False) -> list:
    """Parse every key; a bad one is a :class:`BenchmarkDataError` naming its file line (CSV)
    or record (JSON). Two keys naming the same architecture are an error too."""
    from .errors import InvalidArchitectureError

    keys = list(keys)
    archs = []
    for row, key in enumerate(keys):
        try:
            archs.append(space.parse(key))
        except InvalidArchitectureError as exc:
            where = (f"record {row + 1} (key {str(key)[:60]!r})" if json_keys else
                     f"line {lines[row] if lines is not None else row + FIRST_LINE}")
            raise BenchmarkDataError(f"{path}: {where}: {exc}") from None
    strings = [space.to_string(a) for a in archs]
    if len(set(strings)) != len(strings):
        if json_keys:
            seen: dict[str, int] = {}
            for i, s in enumerate(strings):
                if s in seen:
                    raise BenchmarkDataError(
                        f"{path}: records {seen[s] + 1} and {i + 1} (keys {keys[seen[s]]!r} "
                        f"and {keys[i]!r}) are the same architecture {s}")
                seen[s] = i
        _check_unique(strings, path, "architecture", lines)
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
def _csv(relpath: str, data_dir, verify, required: tuple[str, ...], key: str | None = "net"
         ) -> tuple[Path, pd.DataFrame]:
    """A benchmark CSV from the data directory: verified, else structurally checked."""
    path, trusted = resolve_file(relpath, data_dir, verify)
    return path, read_csv(path, required, key=key, trusted=trusted,
                          n_rows=ROW_COUNTS.get(relpath))


def _nb201_extras(space: SearchSpace, dataset: str, data_dir, verify=None) -> pd.DataFrame:
    """test accuracy / HW / robustness for all 15,625 cells, indexed by official string."""
    path, nats = _csv("nb201-full/nats_bench_test_acc.csv", data_dir, verify,
                      ("ArchitectureString", _NATS_COLUMNS[dataset]), key="ArchitectureString")
    idx = [space.to_string(a) for a in _parse_all(space, nats["ArchitectureString"], path)]
    parts = [pd.DataFrame({"test_accuracy": _numeric(nats[[_NATS_COLUMNS[dataset]]], path,
                                                     target=True).iloc[:, 0].to_numpy()},
                          index=idx)]
    for rel, prefix in ((f"nb201-graf/hw_{dataset}.csv", "hw_"),
                        ("nb201-graf/robustness_targets.csv", "rob_")):
        try:
            p, df = _csv(rel, data_dir, verify, ("net",))
        except FileNotFoundError:
            log.info("%s not found; skipping its columns", rel)
            continue
        keys = [space.to_string(a) for a in _parse_all(space, df["net"], p)]
        vals = _numeric(df.drop(columns=["net"]), p, target=True).add_prefix(prefix)
        if prefix == "rob_":
            vals = vals.drop(columns=["rob_val_accs"], errors="ignore")
        parts.append(vals.set_axis(keys))
    return pd.concat(parts, axis=1)


def _nb201_embedded(space: SearchSpace, meta: dict) -> tuple[list, pd.DataFrame, pd.DataFrame]:
    """The NB201 CIFAR-10 GRAF table shipped with the package (no data directory needed)."""
    path = embedded_table_path()
    try:
        with np.load(path, allow_pickle=False) as z:
            ops, val = z["ops"], z["val_accs"]
            names, values = [str(n) for n in z["proxy_names"]], z["proxies"]
    except (OSError, KeyError, ValueError) as exc:
        raise BenchmarkDataError(f"{path}: the embedded table is unreadable ({exc}); "
                                 "reinstall nasperf") from None
    archs = [space.parse(tuple(int(v) for v in row)) for row in ops]
    log.warning("using the embedded NB201 CIFAR-10 table (%s cells); `nasperf data download` "
                "fetches the other benchmarks", f"{len(archs):,}")
    meta["data"] = "embedded"
    meta["note_data"] = ("embedded NB201 CIFAR-10 GRAF table (proxies in float32): no "
                         "test_accuracy, hw_* or rob_* columns; `nasperf data download` "
                         "fetches them")
    cols = pd.DataFrame({"val_accuracy": val.astype(float)})
    proxies = _drop_sentinels(pd.DataFrame(values.astype(float), columns=names), meta,
                              "embedded NB201 table")
    return archs, cols, proxies


def load_nb201(space: SearchSpace, dataset: str, source: str, target: str,
               data_dir, verify: bool | None = None) -> Benchmark:
    """NB201 loader (see the module docstring for the sources)."""
    meta: dict[str, Any] = {}
    if (source == "graf" and dataset == "cifar10" and target == "val_accuracy"
            and uses_embedded(data_dir)):
        archs, cols, proxies = _nb201_embedded(space, meta)
        return _assemble(space, archs, cols, proxies, dataset, source, target, meta)
    if source == "zc":
        path, trusted = resolve_file("nas-bench-suite-zero/zc_nasbench201.json", data_dir,
                                     verify)
        cols, proxies, archs = _zc_records(space, read_json(path, trusted), (dataset,), path,
                                           meta)
    elif source == "graf":
        ds = "ImageNet16-120" if dataset == "ImageNet16-120" else "cifar10"
        stem = "nb201_ImageNet16-120" if ds == "ImageNet16-120" else "nb201"
        nets_path, nets = _csv(f"nb201-graf/{stem}_valid_nets.csv", data_dir, verify,
                               ("net", "val_accs"))
        zc_path, zc = _csv(f"nb201-graf/{stem}_zc_proxies.csv", data_dir, verify, ("net",))
        if not nets["net"].equals(zc["net"]):
            zc = zc.set_index("net").reindex(nets["net"]).reset_index()
            gone = zc.drop(columns="net").isna().all(axis=1).to_numpy()
            if gone.any():
                i = int(np.flatnonzero(gone)[0])
                raise BenchmarkDataError(
                    f"{zc_path}: {int(gone.sum())} cell(s) of {nets_path} missing, e.g. "
                    f"{nets['net'].iloc[i]} (line {i + FIRST_LINE} there)")
        archs = _parse_all(space, nets["net"], nets_path)
        cols = _numeric(nets[["val_accs"]], nets_path, target=True).rename(
            columns={"val_accs": "val_accuracy"})
        proxies = _drop_sentinels(
            _numeric(zc.drop(columns=[c for c in ("net", "net_str") if c in zc]), zc_path),
            meta, zc_path.name)
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
    extras = _nb201_extras(space, dataset, data_dir, verify).reindex(keys).reset_index(drop=True)
    cols = pd.concat([cols, extras], axis=1) if len(cols.columns) else extras
    return _assemble(space, archs, cols, proxies.reindex(range(len(archs))), dataset, source,
                     target, meta)


# -- NAS-Bench-Suite-Zero JSON ---------------------------------------------------------------------
#: Record fields of the NAS-Bench-Suite-Zero JSON files that are not proxies.
ZC_RECORD_FIELDS = ("idx", "arch", "val_accuracy", "test_accuracy")


def _zc_records(space: SearchSpace, blob: Any, path_keys: tuple[str, ...], path: Path,
                meta: dict) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """Targets, proxies and architectures of the records at ``blob[k1][k2]...``.

    Each record is an object with a finite numeric ``val_accuracy`` and one entry per proxy,
    ``{"score": number, "time": seconds}`` or a bare number. A proxy missing from some
    records, or with a null score, is NaN there: counted per proxy in
    ``meta["missing_proxies"]`` with one warning.
    """
    node = blob
    for k in path_keys:
        if not isinstance(node, dict) or k not in node:
            have = list(node)[:10] if isinstance(node, dict) else type(node).__name__
            raise BenchmarkDataError(f"{path}: no entry {k!r} (found {have})")
        node = node[k]
    if not isinstance(node, dict) or not node:
        raise BenchmarkDataError(f"{path}: entry {'/'.join(path_keys)} is empty or not a mapping")
    keys = list(node)
    archs = _parse_all(space, keys, path, json_keys=True)
    rows_y, rows_p = [], []
    for i, key in enumerate(keys):
        rec = node[key]
        where = f"{path}: record {i + 1} (key {key})"
        if not isinstance(rec, dict):
            raise BenchmarkDataError(f"{where} is a {type(rec).__name__}, not an object with "
                                     "val_accuracy and proxy scores")
        if "val_accuracy" not in rec:
            raise BenchmarkDataError(f"{where} has no val_accuracy")
        y = rec["val_accuracy"]
        if isinstance(y, bool) or not isinstance(y, (int, float)) or not np.isfinite(y):
            raise BenchmarkDataError(
                f"{where} has val_accuracy {y!r:.40}; a target must be a finite number")
        rows_y.append({"val_accuracy": y})
        prox = {}
        for name, v in rec.items():
            if name in ZC_RECORD_FIELDS:
                continue
            if isinstance(v, dict):
                if "score" not in v:
                    raise BenchmarkDataError(
                        f"{where}: proxy {name!r} is an object without a 'score' (keys "
                        f"{list(v)[:5]})")
                v = v["score"]
            if isinstance(v, (bool, list, dict)):
                raise BenchmarkDataError(
                    f"{where}: proxy {name!r} has the value {v!r:.40}; expected a number")
            prox[name] = np.nan if v is None else v
        rows_p.append(prox)
    records = list(range(1, len(keys) + 1))
    cols = _numeric(pd.DataFrame(rows_y), path, target=True, lines=records)
    raw = pd.DataFrame(rows_p)
    _count_missing(raw, rows_p, keys, path, meta)
    proxies = _drop_sentinels(_numeric(raw, path, lines=records), meta, path.name)
    return cols, proxies, archs


def _count_missing(raw: pd.DataFrame, rows: list[dict], keys: list, path: Path,
                   meta: dict) -> None:
    """Count (in ``meta["missing_proxies"]``) and warn about proxies that records lack or
    hold as null: they are NaN, never silently."""
    missing = {str(c): int(v) for c, v in raw.isna().sum().items() if v}
    if not missing:
        return
    first = next(i for i, r in enumerate(rows)
                 if any(c not in r or pd.isna(r[c]) for c in missing))
    log.warning("%s: %d proxy value(s) missing or null, read as NaN: %s (first: record %d, "
                "key %s)", path.name, sum(missing.values()), missing, first + 1, keys[first])
    counts = dict(meta.get("missing_proxies", {}))
    for c, v in missing.items():
        counts[c] = counts.get(c, 0) + v
    meta["missing_proxies"] = counts


def _target_note(space: SearchSpace, dataset: str, meta: dict) -> None:
    note = space.benchmark_info.targets.get(dataset) if space.benchmark_info else None
    if note:
        meta["target_note"] = f"val_accuracy of {dataset}: {note}"


def load_tnb101_micro(space: SearchSpace, dataset: str, source: str, target: str,
                      data_dir, verify: bool | None = None) -> Benchmark:
    """TNB101-micro loader: ``"zc"`` (every task) or ``"graf"`` (class_scene)."""
    meta: dict[str, Any] = {}
    if source == "zc":
        path, trusted = resolve_file("nas-bench-suite-zero/zc_transbench101_micro.json",
                                     data_dir, verify)
        cols, proxies, archs = _zc_records(space, read_json(path, trusted), (dataset,), path,
                                           meta)
    elif source == "graf":
        if dataset != "class_scene":
            raise ValueError("the GRAF TNB101-micro CSV holds class_scene only; use source='zc'")
        path, df = _csv("tnb101-micro-graf/tnb101_micro_valid_nets.csv", data_dir, verify,
                        ("net", "val_accs"))
        archs = _parse_all(space, df["net"], path)
        cols = _numeric(df[["val_accs"]], path, target=True).rename(
            columns={"val_accs": "val_accuracy"})
        drop = [c for c in df.columns if c in ("net", "new_net", "val_accs", "random", "rank")
                or c.startswith("Unnamed")]
        proxies = _drop_sentinels(_numeric(df.drop(columns=drop), path), meta, path.name)
    else:
        raise ValueError(f"unknown tnb101_micro source {source!r}; known: zc, graf")
    _target_note(space, dataset, meta)
    return _assemble(space, archs, cols, proxies, dataset, source, target, meta)


def load_nb101(space: SearchSpace, dataset: str, source: str, target: str,
               data_dir, verify: bool | None = None) -> Benchmark:
    """NB101 loader: the NAS-Bench-Suite-Zero JSON (``"zc"``)."""
    if source != "zc":
        raise ValueError(f"unknown nb101 source {source!r}; known: zc")
    meta: dict[str, Any] = {}
    path, trusted = resolve_file("nas-bench-suite-zero/zc_nasbench101.json", data_dir, verify)
    cols, proxies, archs = _zc_records(space, read_json(path, trusted), ("nasbench101", dataset),
                                       path, meta)
    return _assemble(space, archs, cols, proxies, dataset, source, target, meta)


def load_nb301(space: SearchSpace, dataset: str, source: str, target: str,
               data_dir, verify: bool | None = None) -> Benchmark:
    """NB301 loader: the NAS-Bench-Suite-Zero JSON (``"zc"``), dataset ``cifar10``.

    ``nas-bench-suite-zero/zc_nasbench301.json`` holds ``{"cifar10": {key: record}}``; keys
    are NASLib's compact genotype ``"[[(0, 0), (1, 5), ...8 pairs], [...8 pairs]]"``
    (normal, reduction cell; op ids as in :mod:`nasperf.searchspaces.nb301`). There is no
    published checksum recorded for the file, so its structure is always checked.
    """
    if source != "zc":
        raise ValueError(f"unknown nb301 source {source!r}; known: zc")
    return _load_zc_task(space, "nas-bench-suite-zero/zc_nasbench301.json", dataset, source,
                         target, data_dir, verify)


def load_tnb101_macro(space: SearchSpace, dataset: str, source: str, target: str,
                      data_dir, verify: bool | None = None) -> Benchmark:
    """TNB101-macro loader: the NAS-Bench-Suite-Zero JSON (``"zc"``), one of the 7 tasks.

    ``nas-bench-suite-zero/zc_transbench101_macro.json`` holds ``{task: {key: record}}``
    with keys like ``"(1, 2, 4, 2, 0, 0)"`` (module codes, zero-padded to 6). ``epe_nas`` is
    the failure sentinel ``-1e8`` throughout the file, so it comes out all NaN (counted in
    ``meta["sentinels"]``). ``val_accuracy`` is a task-specific metric
    (:data:`TNB101_TARGETS`; ``room_layout``: the negated loss). There is no published
    checksum recorded for the file, so its structure is always checked.
    """
    if source != "zc":
        raise ValueError(f"unknown tnb101_macro source {source!r}; known: zc")
    return _load_zc_task(space, "nas-bench-suite-zero/zc_transbench101_macro.json", dataset,
                         source, target, data_dir, verify)


def _load_zc_task(space: SearchSpace, relpath: str, dataset: str, source: str, target: str,
                  data_dir, verify: bool | None) -> Benchmark:
    """One ``{dataset: {key: record}}`` entry of a NAS-Bench-Suite-Zero JSON file."""
    meta: dict[str, Any] = {}
    path, trusted = resolve_file(relpath, data_dir, verify)
    cols, proxies, archs = _zc_records(space, read_json(path, trusted), (dataset,), path, meta)
    _target_note(space, dataset, meta)
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
                   target: str = "val_accuracy", dedup: bool = False,
                   verify: bool | None = None) -> Benchmark:
    """Load a labelled benchmark.

    Parameters
    ----------
    space : str or SearchSpace
        ``"nb201"``, ``"tnb101_micro"``, ``"nb101"``, ``"nb301"``, ``"tnb101_macro"`` (or
        any space with a :attr:`~SearchSpace.benchmark_info`).
    dataset : str, optional
        NB201: ``cifar10`` (default), ``cifar100``, ``ImageNet16-120``; TNB101-micro and
        -macro: a task (default ``class_scene``; see :data:`TNB101_TARGETS` for what each
        task's ``val_accuracy`` is); NB101 and NB301: ``cifar10``.
    data_dir : path, optional
        Data directory; see :func:`nasperf.searchspaces.data.find_data_dir` for the search order.
    source : str, optional
        ``"graf"`` (NB201 default), ``"zc"`` (default of the others), ``"full"`` (NB201).
    target : str
        Column of ``frame`` returned as ``y`` (default validation accuracy; NB201 also
        ``test_accuracy``, ``hw_*``, ``rob_*``).
    dedup : bool
        Merge architectures that build the same network (:meth:`Benchmark.deduplicate`).
        The NB101 file's 500 cells are 292 distinct networks; NB201 GRAF cells are distinct
        up to isomorphism of their pruned graphs.
    verify : bool, optional
        Compare each benchmark file with the published one (SHA-256, cached by path, size
        and mtime; default: on unless ``$NASPERF_VERIFY=0``). ``False`` loads an edited copy
        at a manifest path, checking its structure instead.

    Without a data directory (no ``data_dir``, no ``$NASPERF_DATA``, nothing in the user
    cache), ``load_benchmark("nb201", "cifar10")`` reads the table embedded in the package
    (proxies in float32; no ``test_accuracy``/``hw_*``/``rob_*`` columns) and every other
    benchmark is downloaded into the user cache on first use (``NASPERF_NO_DOWNLOAD=1``
    turns that off).
    """
    space = get_space(space)
    info = space.benchmark_info
    if info is None:
        raise ValueError(
            f"no labelled benchmark for space {space.name!r}; available: "
            f"{', '.join(list_benchmarks())}"
        )
    dataset = dataset or info.datasets[0]
    if dataset not in info.datasets:
        raise ValueError(f"unknown {space.name} {info.noun} {dataset!r}; known: "
                         f"{', '.join(info.datasets)}")
    source = source or info.sources[0]
    if source not in info.sources:
        raise ValueError(f"unknown {space.name} source {source!r}; known: "
                         f"{', '.join(info.sources)}")
    options = {}
    if verify is not None:
        params = inspect.signature(info.load).parameters
        if "verify" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            raise ValueError(f"the {space.name} loader takes no verify option; call "
                             "load_benchmark without verify=")
        options["verify"] = verify
    bench = info.load(space, dataset, source, target, data_dir, **options)
    return bench.deduplicate() if dedup else bench


def load_archs(space: str | SearchSpace, data_dir: str | os.PathLike | None = None,
               verify: bool | None = None) -> list:
    """Unlabelled architectures of a space (NB301: 11,221; TNB101-macro: 3,256), read from
    its :attr:`SearchSpace.archs_file` (``verify`` as in :func:`load_benchmark`)."""
    space = get_space(space)
    if not space.archs_file:
        known = [n for n in list_spaces() if get_space(n).archs_file]
        raise ValueError(f"no architecture list for {space.name!r}; available: "
                         f"{', '.join(known)}")
    path, trusted = resolve_file(space.archs_file, data_dir, verify)
    blob = read_json(path, trusted)
    if not isinstance(blob, dict):
        raise BenchmarkDataError(f"{path}: expected a JSON object index -> architecture")
    return _parse_all(space, list(blob.values()), path, json_keys=True)
