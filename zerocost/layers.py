"""Which modules the per-layer proxies score, and which activations NWOT hooks."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

#: Layers scored by default by the per-layer proxies (grad_norm, snip, grasp, fisher, plain,
#: l2_norm, synflow). NASLib / zero-cost-nas score ``Conv2d`` and ``Linear`` only
#: (``p_utils.get_layer_metric_array``); the other convolution ranks are included so that 1-D
#: and 3-D networks are scored the same way. On NB201 the set is identical to NASLib's.
DEFAULT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

#: Activations whose inputs NWOT binarises (NASLib hooks modules whose type name contains
#: "ReLU"; here the same family is selected with ``isinstance``).
RELU_FAMILY: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)

#: Used by NWOT only when a network has no module of :data:`RELU_FAMILY`: the sign of the
#: pre-activation of these is binarised instead.
OTHER_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.GELU, nn.SiLU, nn.Mish, nn.ELU, nn.CELU, nn.SELU, nn.Hardswish, nn.Hardtanh,
    nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardsigmoid, nn.LogSigmoid, nn.Softsign,
)

#: Functional activations whose input NWOT binarises when a network has no activation
#: module (``F.relu`` in ``forward``; ``nn.TransformerEncoderLayer``'s default ``F.relu`` or
#: ``"gelu"``), intercepted with a ``torch.overrides.TorchFunctionMode`` during the forward.
FUNCTIONAL_RELU: tuple = (
    F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_,
    F.relu6, F.leaky_relu, F.leaky_relu_, F.prelu, torch.prelu, F.rrelu, F.rrelu_,
)
#: Used when no call of :data:`FUNCTIONAL_RELU` happens either.
FUNCTIONAL_OTHER: tuple = (
    F.gelu, F.silu, F.mish, F.elu, F.elu_, F.celu, F.selu, F.hardswish, F.hardtanh,
    F.softplus, F.hardsigmoid, F.logsigmoid, F.softsign, F.tanh, F.sigmoid, torch.tanh,
    torch.sigmoid, torch.Tensor.tanh, torch.Tensor.sigmoid,
)

LayerSpec = str | tuple[type[nn.Module], ...] | Callable[[str, nn.Module], bool] | None


def select_layers(model: nn.Module, layers: LayerSpec = None) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` pairs of the layers whose ``weight`` the per-layer proxies score.

    Parameters
    ----------
    model : nn.Module
    layers : None, "weighted", tuple of module types, or callable
        ``None``: :data:`DEFAULT_LAYERS`. ``"weighted"``: every module that owns a
        ``weight`` parameter (BatchNorm, LayerNorm, embeddings included). A tuple of types:
        modules that are instances of one of them. A callable ``f(name, module) -> bool``.
        In every case a module is kept only if its ``weight`` is an ``nn.Parameter``
        (modules with ``weight=None``, e.g. non-affine norms, are skipped).
    """
    if layers is None:
        layers = DEFAULT_LAYERS
    if layers == "weighted":
        def keep(name: str, m: nn.Module) -> bool:
            return True
    elif isinstance(layers, tuple) and all(isinstance(t, type) for t in layers):
        types = layers

        def keep(name: str, m: nn.Module) -> bool:
            return isinstance(m, types)
    elif callable(layers) and not isinstance(layers, type):
        keep = layers
    else:
        raise ValueError(
            f"layers must be None, 'weighted', a tuple of nn.Module types or a callable "
            f"(name, module) -> bool; got {layers!r:.80}"
        )
    return [
        (name, m) for name, m in model.named_modules()
        if isinstance(getattr(m, "weight", None), nn.Parameter) and keep(name, m)
    ]
