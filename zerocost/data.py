"""Batches for the data-dependent proxies: the embedded default batch and user batches.

With no data given, proxies are computed on a fixed, seeded batch of **real** images:
scikit-learn's ``digits`` dataset (1,797 greyscale 8x8 images of the digits 0-9, shipped
with scikit-learn, so it works offline). The images are scaled to [0, 1], standardised with
the dataset's pixel mean and standard deviation, resized by bilinear (images) or linear
(vectors, sequences) interpolation to the model's input shape and replicated over the
channels. Labels are the digits 0-9. It is never random noise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Samples in the default batch (NASLib computed the NAS-Bench-Suite-Zero scores on one
#: CIFAR batch of 32).
DEFAULT_BATCH_SIZE = 32
#: Input shape assumed when the model's first layer says nothing better (CIFAR-like).
DEFAULT_INPUT_SHAPE = (3, 32, 32)


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images ``(1797, 8, 8)`` float32 in [0, 1] and labels ``(1797,)``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


def parse_shape(shape: Sequence[int] | str) -> tuple[int, ...]:
    """``(C, H, W)``-style shape from a sequence or a string such as ``"3,32,32"``."""
    if isinstance(shape, str):
        try:
            shape = [int(s) for s in shape.replace("x", ",").split(",") if s.strip()]
        except ValueError:
            raise ValueError(f"input shape {shape!r} must be integers like '3,32,32'") from None
    shape = tuple(int(s) for s in shape)
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"input shape must be non-empty positive integers, got {shape}")
    return shape


def default_batch(
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of real images from scikit-learn's digits, shaped for a model.

    Parameters
    ----------
    input_shape : sequence of int
        Shape of one input without the batch dimension: ``(C, H, W)`` for images,
        ``(C, L)`` for sequences (the 64 pixels, interpolated to length ``L``) or ``(F,)``
        for vectors (the 64 pixels interpolated to ``F`` features).
    batch_size : int
        Number of samples, drawn without replacement (at most 1,797).
    seed : int
        Selects the subset.

    Returns
    -------
    x : Tensor, float32, ``(batch_size, *input_shape)``
        Standardised (dataset pixel mean 0, standard deviation 1) and resized.
    y : Tensor, int64, ``(batch_size,)``
        The digit labels 0-9.
    """
    x, y = _digits_batch(parse_shape(input_shape), int(batch_size), int(seed))
    return x.clone(), y.clone()


@functools.lru_cache(maxsize=8)
def _digits_batch(shape: tuple[int, ...], batch_size: int,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch of :func:`default_batch`, built once per process and arguments (a worker
    scoring many architectures reads the digits and resizes them once); callers get
    copies."""
    images, labels = load_digits_arrays()
    if not 1 <= batch_size <= len(images):
        raise ValueError(f"the default digits batch holds 1..{len(images)} samples, "
                         f"got batch_size={batch_size}")
    mean, std = float(images.mean()), float(images.std())
    idx = np.random.default_rng(seed).choice(len(images), size=batch_size, replace=False)
    img = torch.from_numpy((images[idx] - mean) / std).unsqueeze(1)  # (B, 1, 8, 8)
    b = batch_size
    if len(shape) == 3:
        c, h, w = shape
        x = F.interpolate(img, size=(h, w), mode="bilinear", align_corners=False)
        x = x.expand(b, c, h, w)
    elif len(shape) == 2:
        c, length = shape
        x = F.interpolate(img.reshape(b, 1, 64), size=length, mode="linear", align_corners=False)
        x = x.expand(b, c, length)
    elif len(shape) == 1:
        x = F.interpolate(img.reshape(b, 1, 64), size=shape[0], mode="linear",
                          align_corners=False).reshape(b, shape[0])
    else:
        raise ValueError(
            f"the default digits batch supports input shapes (C, H, W), (C, L) or (F,), "
            f"got {shape}; pass your own batch"
        )
    return x.contiguous().float(), torch.from_numpy(labels[idx])


def infer_input_shape(model: nn.Module) -> tuple[int, ...]:
    """Input shape from the model's first layer: Conv2d -> ``(C, 32, 32)``,
    Conv1d -> ``(C, 64)``, Linear -> ``(in_features,)``.

    Raises
    ------
    ValueError
        For models whose first layer gives no shape (embeddings, Conv3d, ...).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return (m.in_channels, *DEFAULT_INPUT_SHAPE[1:])
        if isinstance(m, nn.Conv1d):
            return (m.in_channels, 64)
        if isinstance(m, nn.Linear):
            return (m.in_features,)
        if isinstance(m, (nn.Conv3d, nn.Embedding, nn.EmbeddingBag, nn.RNNBase,
                          nn.MultiheadAttention)):
            break
    raise ValueError(
        f"cannot infer the input shape of {type(model).__name__} from its first layer; "
        "pass input_shape=(C, H, W) or a batch"
    )


def _as_tensor(v: object, what: str) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v
    if isinstance(v, np.ndarray):
        return torch.from_numpy(v)
    raise ValueError(f"{what} must be a tensor or a NumPy array, got {type(v).__name__}")


def _split_item(item: object) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(item, (torch.Tensor, np.ndarray)):
        return _as_tensor(item, "batch inputs"), None
    if isinstance(item, dict):
        keys = [k for k in ("x", "input", "inputs") if k in item]
        tkeys = [k for k in ("y", "target", "targets", "label", "labels") if k in item]
        if not keys:
            raise ValueError(f"a dict batch needs an 'x'/'input(s)' key, got {list(item)}")
        y = _as_tensor(item[tkeys[0]], "batch targets") if tkeys else None
        return _as_tensor(item[keys[0]], "batch inputs"), y
    if isinstance(item, (tuple, list)) and len(item) in (1, 2):
        x = _as_tensor(item[0], "batch inputs")
        y = _as_tensor(item[1], "batch targets") if len(item) == 2 else None
        return x, y
    raise ValueError(
        f"a batch must be a tensor x, a pair (x, y), a dict with x/y keys, or an iterable "
        f"(DataLoader) of those; got {type(item).__name__}"
    )


def check_finite(x: torch.Tensor, y: torch.Tensor | None = None) -> None:
    """Raise ``ValueError`` ("the batch contains NaN/inf") if the inputs or the targets hold a
    non-finite value; every proxy would be NaN or meaningless on such a batch."""
    for what, t in (("inputs x", x), ("targets y", y)):
        if t is None or not (t.is_floating_point() or t.is_complex()):
            continue
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            n_nan = int(torch.isnan(t).sum())
            rows = bad.reshape(bad.shape[0], -1).any(1) if t.ndim else bad.reshape(1)
            first = int(rows.nonzero()[0, 0])
            raise ValueError(
                f"the batch contains NaN/inf: the {what} have {n_nan} NaN and "
                f"{int(bad.sum()) - n_nan} inf values in {int(rows.sum())} of "
                f"{rows.numel()} samples (first: sample {first}); clean or drop those "
                "samples before computing proxies")


def to_batch(batch: object, num_batches: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(x, y)`` from a tensor, a pair, a dict, or a DataLoader / iterable of batches.

    From an iterable, the first ``num_batches`` batches are concatenated (NASLib uses one).
    ``y`` is ``None`` when no targets are given.
    """
    if isinstance(batch, (torch.Tensor, np.ndarray, tuple, list, dict)):
        x, y = _split_item(batch)
    elif isinstance(batch, Iterable):
        if num_batches < 1:
            raise ValueError(f"num_batches must be >= 1, got {num_batches}")
        xs, ys = [], []
        for i, item in enumerate(batch):
            if i >= num_batches:
                break
            bx, by = _split_item(item)
            xs.append(bx)
            ys.append(by)
        if not xs:
            raise ValueError("the data loader yielded no batch")
        if any(v is None for v in ys) and not all(v is None for v in ys):
            raise ValueError("some batches of the data loader have targets and others not")
        x = torch.cat(xs)
        y = None if ys[0] is None else torch.cat(ys)
    else:
        raise ValueError(f"cannot use an object of type {type(batch).__name__} as a batch")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"the batch is empty (inputs of shape {tuple(x.shape)})")
    if y is not None and (y.ndim == 0 or y.shape[0] != x.shape[0]):
        raise ValueError(
            f"inputs and targets disagree on the batch size: {tuple(x.shape)} vs {tuple(y.shape)}"
        )
    return x, y
