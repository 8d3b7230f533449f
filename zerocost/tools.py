"""Helpers for computing proxies outside Python code (``nasperf proxies``, scripts).

* :func:`load_factory`: a model from a ``"package.module:factory"`` string;
* :func:`load_batch`: a batch from a ``.npz`` or ``.pt`` file;
* :func:`seeded_model`: the network of a search-space architecture, initialised under a
  seed without touching the caller's RNG state;
* :func:`format_table`: a plain-text table of :class:`~nasperf.zerocost.ProxyResult`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch

from nasperf._utils import torch_seed

from .core import ProxyResult

__all__ = ["format_table", "load_batch", "load_factory", "seeded_model"]


def load_factory(spec: str, kwargs: dict[str, Any] | None = None) -> torch.nn.Module:
    """The ``nn.Module`` named by ``spec = "package.module:attr.path"``.

    The attribute is called with ``kwargs`` when it is callable (a class or a factory) and
    used as it is when it already is a module.

    Raises
    ------
    ValueError
        ``spec`` has no ``:``, the module cannot be imported, the attribute does not exist,
        or the result is not a ``torch.nn.Module``.
    """
    if ":" not in spec:
        raise ValueError(f"a model spec must look like 'package.module:factory', got {spec!r}")
    mod_name, attr = spec.split(":", 1)
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {mod_name!r} (model spec {spec!r}): {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    kwargs = kwargs or {}
    model = obj(**kwargs) if callable(obj) and not isinstance(obj, torch.nn.Module) else obj
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{spec} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


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
