"""Helpers for computing proxies outside Python code (``nasperf proxies``, scripts).

* :func:`load_factory`: a model from a ``"package.module:factory"`` or
  ``"path/to/file.py:factory"`` string;
* :func:`load_batch`: a batch from a ``.npz`` or ``.pt`` file;
* :func:`seeded_model`: the network of a search-space architecture, initialised under a
  seed without touching the caller's RNG state;
* :func:`score_archs`: the score records of many architectures of a space (one shard of
  ``nasperf proxies``; a worker process loads the batch once);
* :func:`format_table`: a plain-text table of :class:`~nasperf.zerocost.ProxyResult`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import math
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from nasperf._utils import torch_seed

from .core import ProxyResult, compute_proxies

__all__ = ["format_table", "load_batch", "load_factory", "score_archs", "score_record",
           "seeded_model"]


def load_factory(spec: str, kwargs: dict[str, Any] | None = None) -> torch.nn.Module:
    """The ``nn.Module`` named by ``spec``: ``"package.module:attr.path"`` or
    ``"path/to/file.py:attr.path"``.

    A module name is imported with the working directory first on ``sys.path`` (as
    ``python -m`` does), so ``mymodels:cnn`` finds ``./mymodels.py``. A file path (ending in
    ``.py`` or containing a path separator) is imported from that file under a module name
    of its own, with the file's directory on ``sys.path`` while it runs (for its sibling
    imports). The attribute is called with ``kwargs`` when it is callable (a class or a
    factory) and used as it is when it already is a module.

    Raises
    ------
    ValueError
        ``spec`` has no ``:``; the module is not found (the message names the working
        directory and ``$PYTHONPATH``) or raises while importing; the attribute does not
        exist (the message lists the module's callables); calling it raises; or the result
        is not a ``torch.nn.Module``.
    FileNotFoundError
        The file of a file-path spec does not exist.
    """
    if ":" not in spec or spec.endswith(":"):
        raise ValueError(f"a model spec must look like 'package.module:factory' or "
                         f"'path/to/file.py:factory', got {spec!r}")
    source, attr = spec.rsplit(":", 1)
    module = _import_model_source(source, spec)
    obj: Any = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            where = source if i == 0 else f"{source}:{'.'.join(attr.split('.')[:i])}"
            raise ValueError(f"{where!r} has no attribute {part!r} (model spec {spec!r}); "
                             f"callables there: {_callables(obj)}")
        obj = getattr(obj, part)
    kwargs = kwargs or {}
    if callable(obj) and not isinstance(obj, torch.nn.Module):
        try:
            model = obj(**kwargs)
        except Exception as exc:  # noqa: BLE001 - the user's factory: report what it raised
            raise ValueError(f"calling {attr}(**{kwargs}) of model spec {spec!r} raised "
                             f"{type(exc).__name__}: {exc}") from exc
    else:
        model = obj
    if not isinstance(model, torch.nn.Module):
        what = f"{attr}(**{kwargs}) returned" if callable(obj) else f"{attr} is"
        raise ValueError(f"model spec {spec!r}: {what} an object of type "
                         f"{type(model).__name__}, not a torch.nn.Module; the factory must "
                         "return the network")
    return model


def _is_file_spec(source: str) -> bool:
    return source.endswith(".py") or "/" in source or (os.sep in source)


@contextlib.contextmanager
def _first_on_path(directory: str):
    """``directory`` first on ``sys.path`` (if not there already) inside the block."""
    added = directory not in sys.path
    if added:
        sys.path.insert(0, directory)
    try:
        yield
    finally:
        if added and directory in sys.path:
            sys.path.remove(directory)


def _import_model_source(source: str, spec: str) -> ModuleType:
    """The module of a model spec: imported by name or from a ``.py`` file."""
    cwd = os.getcwd()
    if _is_file_spec(source):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"model file {source} (model spec {spec!r}) does not exist "
                                    f"(relative paths start at the working directory {cwd})")
        path = path.resolve()
        name = f"_nasperf_model_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        file_spec = importlib.util.spec_from_file_location(name, path)
        if file_spec is None or file_spec.loader is None:
            raise ValueError(f"cannot import {source} (model spec {spec!r}): not a Python file")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[name] = module  # dataclasses, pickle and typing look modules up here
        try:
            with _first_on_path(str(path.parent)):
                file_spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the user's file: report what it raised
            del sys.modules[name]
            raise ValueError(f"importing {source} (model spec {spec!r}) raised "
                             f"{type(exc).__name__}: {exc}") from exc
        return module
    try:
        with _first_on_path(cwd):
            return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (source == missing or source.startswith(missing + ".")):
            pythonpath = os.environ.get("PYTHONPATH")
            raise ValueError(
                f"cannot import {source!r} (model spec {spec!r}): no module {missing!r} in "
                f"the working directory {cwd} or on the Python path"
                + (f" ($PYTHONPATH={pythonpath})" if pythonpath else " ($PYTHONPATH is unset)")
                + f"; run from the directory holding it, add that directory to $PYTHONPATH, "
                f"or give the file: path/to/{source.replace('.', '/')}.py:factory") from None
        raise ValueError(f"cannot import {source!r} (model spec {spec!r}): it needs module "
                         f"{missing!r}, which is not installed") from exc
    except Exception as exc:  # noqa: BLE001 - the user's module: report what it raised
        raise ValueError(f"cannot import {source!r} (model spec {spec!r}): importing it raised "
                         f"{type(exc).__name__}: {exc}") from exc


def _callables(obj: Any, limit: int = 20) -> str:
    """Public callables of ``obj``, those defined in it first (for error messages)."""
    names = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))]
    own = [n for n in names if getattr(getattr(obj, n), "__module__", None) == getattr(
        obj, "__name__", None)]
    ordered = own + [n for n in names if n not in own] if own else names
    if not ordered:
        return "none"
    return ", ".join(ordered[:limit]) + (f", ... ({len(ordered)} in all)"
                                          if len(ordered) > limit else "")


def load_batch(path: str | Path | None) -> Any:
    """A batch from a ``.npz`` file (arrays ``x`` and optionally ``y``: ``(x, y)`` or ``x``)
    or a ``.pt`` file (anything :func:`compute_proxies` accepts); ``None`` for ``None``.

    Raises
    ------
    ValueError
        The file does not exist, or a ``.npz`` file has no array ``x``.
    """
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"batch file {path} does not exist")
    if path.suffix == ".npz":
        import numpy as np

        with np.load(path) as z:
            if "x" not in z:
                raise ValueError(f"{path}: a .npz batch needs an array 'x' (and 'y')")
            return (z["x"], z["y"]) if "y" in z else z["x"]
    return torch.load(path, map_location="cpu", weights_only=True)


def seeded_model(space: Any, arch: Any, seed: int = 0,
                 model_kwargs: dict[str, Any] | None = None) -> torch.nn.Module:
    """``space.to_model(arch, **model_kwargs)`` initialised after ``torch.manual_seed(seed)``;
    the caller's torch RNG state is left as it was."""
    with torch_seed(seed):
        return space.to_model(arch, **(model_kwargs or {}))


def score_record(space: Any, arch: Any, batch: Any, proxies: Any, *, seed: int = 0,
                 model_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """The record of one architecture, as ``nasperf proxies`` writes it: ``{"arch": official
    string, "scores": {proxy: float or None (NaN)}, "seconds": {proxy: float}, "reasons":
    {proxy: why it is NaN}}``. The network is initialised under ``seed`` and the proxies
    use the same ``seed``, so the record does not depend on what ran before it."""
    model = seeded_model(space, arch, seed, model_kwargs)
    res = compute_proxies(model, batch, proxies, seed=seed, return_details=True, **kwargs)
    return {"arch": space.to_string(arch),
            "scores": {n: None if math.isnan(r.score) else r.score for n, r in res.items()},
            "seconds": {n: r.seconds for n, r in res.items()},
            "reasons": {n: r.reason for n, r in res.items() if r.reason}}


def score_archs(task: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`score_record` of each architecture of ``task["archs"]``, in order.

    ``task`` (a plain dict, so it pickles for worker processes): ``space`` (name),
    ``archs`` (official strings), ``proxies`` (names), ``seed``, and optionally
    ``model_kwargs``, ``data`` (path of a batch file, loaded once per process), ``device``,
    ``input_shape``, ``batch_size``, ``options`` and ``threads`` (torch's intra-op threads
    for the call: results on CPU can depend on it, so every worker uses the same number).
    """
    import torch

    from nasperf.searchspaces import get_space

    space = get_space(task["space"])
    data = task.get("data")
    batch = _cached_batch(str(data), os.stat(data).st_mtime_ns) if data else None
    kwargs = {k: task[k] for k in ("device", "input_shape", "batch_size", "options")
              if task.get(k) is not None}
    threads, before = task.get("threads"), torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return [score_record(space, space.parse(a), batch, list(task["proxies"]),
                             seed=int(task["seed"]), model_kwargs=task.get("model_kwargs"),
                             **kwargs) for a in task["archs"]]
    finally:
        torch.set_num_threads(before)


@functools.lru_cache(maxsize=2)
def _cached_batch(path: str, mtime_ns: int) -> Any:
    """:func:`load_batch` once per process and file version."""
    return load_batch(path)


def format_table(results: dict[str, ProxyResult]) -> str:
    """A plain-text table of ``return_details=True`` results, one line per proxy: proxy,
    score, seconds, direction (higher / lower is better), mode and note (the NaN reason or
    the notes)."""
    rows = [("proxy", "score", "seconds", "better", "mode", "note")]
    for r in results.values():
        note = r.reason or "; ".join(r.notes)
        rows.append((r.name, f"{r.score:.6g}", f"{r.seconds:.3f}",
                     "higher" if r.higher_is_better else "lower", r.mode, note))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + "  " + row[5]
                     for row in rows).rstrip()
