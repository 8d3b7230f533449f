"""Infrastructure shared by every nasperf package (private: not part of the public API).

One implementation each of: seeding torch without touching the caller's RNG state, device
resolution, Kendall's tau with the toolkit's one NaN policy, optional-dependency imports that
name the extra to install, and the user cache root. Imports nothing of nasperf, and torch
only inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger("nasperf")

#: Environment variable naming the user cache root (downloads and encoder checkpoints).
CACHE_ENV = "NASPERF_CACHE"


# -- optional dependencies -------------------------------------------------------------------
def import_optional(module: str, extra: str, what: str | None = None) -> ModuleType:
    """Import ``module`` or raise an ``ImportError`` that names the extra providing it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"lightgbm"``.
    extra : str
        The nasperf extra that installs it, e.g. ``"boosting"``.
    what : str, optional
        The feature that needs it, for the message (default: the module name).
    """
    try:
        return import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{what or module} needs the optional dependency {module.split('.')[0]!r}, which "
            f"is not installed: pip install 'nasperf[{extra}]'"
        ) from exc


# -- cache root --------------------------------------------------------------------------------
def cache_root() -> Path:
    """The user cache root: ``$NASPERF_CACHE``, else ``$XDG_CACHE_HOME/nasperf``, else
    ``~/.cache/nasperf``. Downloads go to ``<root>/data``, encoder checkpoints to
    ``<root>/encoders``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "nasperf"


# -- torch: devices and seeding ----------------------------------------------------------------
def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """A ``torch.device`` from ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"`` or a device.

    ``"auto"`` is CUDA when available, else CPU.

    Raises
    ------
    ValueError
        The device string is not valid, or CUDA is requested but not available.
    """
    import torch

    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"invalid device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was requested but no CUDA GPU is available")
    return dev


@contextlib.contextmanager
def torch_seed(seed: int, device: str | torch.device | None = None,
               deterministic: bool = False) -> Iterator[torch.Generator]:
    """Seed torch inside the block only; the caller's RNG state is restored afterwards.

    Forks the CPU RNG (and that of ``device`` when it is a CUDA device), seeds it with
    ``seed`` and yields a CPU ``torch.Generator`` seeded alike. With ``deterministic=True``
    cuDNN is also put in deterministic, non-benchmark mode for the block and its flags are
    restored on exit.
    """
    import torch

    dev = torch.device(device) if device is not None else torch.device("cpu")
    devices = [dev.index or 0] if dev.type == "cuda" else []
    flags = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        if deterministic:
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        try:
            yield torch.Generator().manual_seed(int(seed))
        finally:
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = flags


# -- paired scores and Kendall's tau ------------------------------------------------------------
#: Accepted values of ``nan_policy`` for paired scores.
NAN_POLICIES = ("raise", "omit")


def _as_1d(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (or one column), got shape {arr.shape}")
    return arr


def check_pair(
    y_true: Any, y_pred: Any, nan_policy: str = "raise", min_size: int = 1,
    metric: str = "metric",
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and align ``(y_true, y_pred)``; apply the NaN policy.

    Returns
    -------
    y_true, y_pred : np.ndarray of shape (m,), float64
        ``m = n`` minus the pairs dropped under ``nan_policy="omit"``.

    Raises
    ------
    ValueError
        Lengths differ, an input is not 1-D numeric, holds infinities, holds NaNs under
        ``nan_policy="raise"``, or fewer than ``min_size`` pairs are left.
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
    a, b = _as_1d(y_true, "y_true"), _as_1d(y_pred, "y_pred")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{metric}: y_true has {a.shape[0]} values but y_pred has {b.shape[0]}"
        )
    for arr, name in ((a, "y_true"), (b, "y_pred")):
        n_inf = int(np.isinf(arr).sum())
        if n_inf:
            raise ValueError(
                f"{metric}: {name} has {n_inf} infinite value(s); transform the scores "
                "(e.g. log) or drop those architectures first"
            )
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if nan_a.any() or nan_b.any():
        if nan_policy == "raise":
            raise ValueError(
                f"{metric}: y_true has {int(nan_a.sum())} NaN(s) and y_pred has "
                f"{int(nan_b.sum())} NaN(s) (of {a.shape[0]}); pass nan_policy='omit' to "
                "drop those pairs"
            )
        keep = ~(nan_a | nan_b)
        log.warning("%s: dropped %d of %d pairs containing NaN", metric,
                    int((~keep).sum()), a.shape[0])
        a, b = a[keep], b[keep]
    if a.shape[0] < min_size:
        raise ValueError(f"{metric} needs at least {min_size} pair(s), got {a.shape[0]}")
    return a, b


def is_constant(a: np.ndarray, b: np.ndarray, metric: str, warn: bool = True) -> bool:
    """True (with a logged warning unless ``warn`` is False) if ``a`` or ``b`` is constant:
    a correlation is 0/0."""
    for arr, name in ((a, "y_true"), (b, "y_pred")):
        if np.all(arr == arr[0]):
            if warn:
                log.warning("%s: %s is constant, the correlation is undefined; returning "
                            "NaN", metric, name)
            return True
    return False


def kendall_tau(y_true: Any, y_pred: Any, nan_policy: str = "raise", warn: bool = True
                ) -> float:
    """Kendall's tau-b rank correlation (the value of ``scipy.stats.kendalltau``).

    ``tau_b = (P - Q) / sqrt((P + Q + T_true) * (P + Q + T_pred))`` where, over all pairs
    ``i < j``, ``P`` counts concordant pairs, ``Q`` discordant pairs, ``T_true`` pairs tied
    only in ``y_true`` and ``T_pred`` pairs tied only in ``y_pred`` (pairs tied in both count
    nowhere). In [-1, 1]; NaN (with a logged warning, unless ``warn`` is False) if either
    input is constant. NaNs follow ``nan_policy`` (see :func:`check_pair`); infinities raise.
    """
    import scipy.stats

    a, b = check_pair(y_true, y_pred, nan_policy, 2, "kendall_tau")
    if is_constant(a, b, "kendall_tau", warn):
        return float("nan")
    return float(scipy.stats.kendalltau(a, b, variant="b").statistic)
