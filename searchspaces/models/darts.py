"""The DARTS evaluation network (``NetworkCIFAR`` of Liu et al., ICLR 2019, ``cnn/model.py``).

This is also the network NAS-Bench-301 trained (through Auto-PyTorch's copy of the DARTS
code): 32 initial channels, 8 cells, auxiliary head and drop path 0.2 during training.

Structure: stem Conv3x3(3 -> 3C) + BN; ``layers`` cells, the ones at ``layers // 3`` and
``2 * layers // 3`` are reduction cells that double the channels and halve the resolution;
global average pooling; Linear(C_prev -> num_classes). Cell ``k`` reads c_{k-2} and c_{k-1},
preprocessed by FactorizedReduce (when cell ``k - 1`` reduced) or ReLU-Conv1x1-BN, and
outputs the concatenation of its four intermediate nodes (4C channels). Operations follow
DARTS's ``operations.py``; convolutions have no bias and every BatchNorm is affine (DARTS
builds eval cells with ``affine=True``, and so does Auto-PyTorch's copy used by NB301).

Conventions
-----------
``convention`` chooses how the operations *inside* the cells are built (:data:`CONVENTIONS`):

``"darts"`` (default)  The DARTS paper's evaluation network, which NB301 trained: every
                       BatchNorm affine, pooling ops without BatchNorm.
``"naslib"``           NASLib's NB301 network (``nasbench301/graph.py``, ``_set_ops``), which
                       NAS-Bench-Suite-Zero scored (its ``params``, ``flops`` and proxies):
                       SepConv, DilConv and the stride-2 skip (FactorizedReduce) have
                       non-affine BatchNorms, and max/avg pooling is followed by a
                       ``BatchNorm2d(C, affine=False)``.

Both share the stem, the cell preprocessing (ReLU-Conv1x1-BN, FactorizedReduce) and the
classifier (all affine). The naslib network therefore has exactly the affine BatchNorm
parameters of the cell ops fewer (2 per channel of every BN inside an op; 0.9-1.0% of the
total at NB301's C=32, 8 cells), and the same FLOPs up to the BatchNorms after the pools.

Parameter counts: :meth:`DARTSNetwork.num_parameters` excludes the auxiliary head by
default, like DARTS's ``utils.count_parameters_in_MB`` (the head is dropped at test time).
The DARTS-V2 genotype at C=36, 20 layers has 3,349,342 such parameters (the paper's 3.3M).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .ops import FactorizedReduce, ReLUConvBN, skip


class DwPwConv(nn.Sequential):
    """ReLU -> depthwise KxK conv (stride, dilation) -> pointwise 1x1 conv -> BN.

    DARTS's ``DilConv``; two stacked (the second with stride 1) make its ``SepConv``.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation,
                      groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


@dataclass(frozen=True)
class OpConvention:
    """How the operations inside a cell are built.

    Attributes
    ----------
    affine : bool
        BatchNorms of SepConv, DilConv and the stride-2 skip have a learnable scale and shift.
    pool_bn : bool
        Max and average pooling are followed by ``BatchNorm2d(C, affine=False)``.
    """

    affine: bool = True
    pool_bn: bool = False


#: Convention name -> :class:`OpConvention` (see the module docstring).
CONVENTIONS: dict[str, OpConvention] = {
    "darts": OpConvention(affine=True, pool_bn=False),
    "naslib": OpConvention(affine=False, pool_bn=True),
}
DARTS = CONVENTIONS["darts"]


def get_convention(convention: str | OpConvention) -> OpConvention:
    """An :class:`OpConvention`, or the one named in :data:`CONVENTIONS`."""
    if isinstance(convention, OpConvention):
        return convention
    if isinstance(convention, str) and convention in CONVENTIONS:
        return CONVENTIONS[convention]
    raise ValueError(f"unknown convention {convention!r}; known: {', '.join(CONVENTIONS)}")


def sep_conv(c: int, kernel: int, stride: int, affine: bool = True) -> nn.Module:
    """DARTS ``SepConv``: two ReLU-dw-pw-BN blocks, stride in the first one."""
    pad = kernel // 2
    return nn.Sequential(DwPwConv(c, c, kernel, stride, pad, affine=affine),
                         DwPwConv(c, c, kernel, 1, pad, affine=affine))


def dil_conv(c: int, kernel: int, stride: int, affine: bool = True) -> nn.Module:
    """DARTS ``DilConv``: one ReLU-dw(dilation 2)-pw-BN block."""
    return DwPwConv(c, c, kernel, stride, padding=kernel - 1, dilation=2, affine=affine)


def pool(kind: str, c: int, stride: int, bn: bool = False) -> nn.Module:
    """3x3 max or average pooling (``count_include_pad=False``), optionally followed by a
    non-affine ``BatchNorm2d(c)`` (NASLib's ``use_bn=True``)."""
    layer: nn.Module = (nn.MaxPool2d(3, stride=stride, padding=1) if kind == "max" else
                        nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
    return nn.Sequential(layer, nn.BatchNorm2d(c, affine=False)) if bn else layer


#: op name -> factory(channels, stride, convention) for the DARTS / NB301 operations.
DARTS_OPS: dict[str, Callable[[int, int, OpConvention], nn.Module]] = {
    "max_pool_3x3": lambda c, s, k=DARTS: pool("max", c, s, bn=k.pool_bn),
    "avg_pool_3x3": lambda c, s, k=DARTS: pool("avg", c, s, bn=k.pool_bn),
    "skip_connect": lambda c, s, k=DARTS: skip(c, c, s, affine=k.affine),
    "sep_conv_3x3": lambda c, s, k=DARTS: sep_conv(c, 3, s, affine=k.affine),
    "sep_conv_5x5": lambda c, s, k=DARTS: sep_conv(c, 5, s, affine=k.affine),
    "dil_conv_3x3": lambda c, s, k=DARTS: dil_conv(c, 3, s, affine=k.affine),
    "dil_conv_5x5": lambda c, s, k=DARTS: dil_conv(c, 5, s, affine=k.affine),
}


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob``, rescale the rest (DARTS)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask


def check_cell(pairs: Sequence[tuple[str, int]], where: str = "cell") -> None:
    """Raise ValueError unless ``pairs`` is a valid DARTS cell of ``(op, input)`` pairs."""
    if len(pairs) == 0 or len(pairs) % 2:
        raise ValueError(f"{where}: need an even, non-zero number of (op, input) pairs, "
                         f"got {len(pairs)}")
    for k, (op, src) in enumerate(pairs):
        node = 2 + k // 2
        if op not in DARTS_OPS:
            raise ValueError(f"{where}, position {k}: unknown op {op!r}; "
                             f"known: {', '.join(DARTS_OPS)}")
        if not 0 <= src < node:
            raise ValueError(f"{where}, position {k}: input {src} out of range 0..{node - 1}")


class DARTSCell(nn.Module):
    """One DARTS cell (``model.Cell``).

    Parameters
    ----------
    pairs : sequence of (op_name, input_node)
        Pairs ``2i`` and ``2i + 1`` feed intermediate node ``i + 2`` (DARTS genotype order).
    c_prev_prev, c_prev : int
        Channels of c_{k-2} and c_{k-1}.
    c : int
        Channels of every node of this cell; the output has ``len(concat) * c`` channels.
    reduction : bool
        Ops reading the cell inputs have stride 2.
    reduction_prev : bool
        The previous cell reduced, so c_{k-2} is downsampled by FactorizedReduce.
    concat : sequence of int, optional
        Nodes concatenated into the output (default all intermediate nodes).
    convention : str or OpConvention
        How the ops are built (``"darts"`` or ``"naslib"``; see the module docstring). The
        preprocessing is the same in both.
    """

    def __init__(self, pairs: Sequence[tuple[str, int]], c_prev_prev: int, c_prev: int,
                 c: int, reduction: bool, reduction_prev: bool,
                 concat: Sequence[int] | None = None,
                 convention: str | OpConvention = "darts") -> None:
        super().__init__()
        check_cell(pairs)
        conv = get_convention(convention)
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_prev_prev, c)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.indices = tuple(int(src) for _, src in pairs)
        self.ops = nn.ModuleList(
            DARTS_OPS[op](c, 2 if reduction and src < 2 else 1, conv) for op, src in pairs
        )
        self.steps = len(pairs) // 2
        self.concat = tuple(concat) if concat is not None else tuple(range(2, 2 + self.steps))
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0
                ) -> torch.Tensor:
        """``(N, C_pp, H, W), (N, C_p, H', W') -> (N, multiplier * c, H'', W'')``.

        Drop path (training only, ``drop_prob > 0``) applies to every op except identity.
        """
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self.steps):
            terms = []
            for k in (2 * i, 2 * i + 1):
                op = self.ops[k]
                h = op(states[self.indices[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                terms.append(h)
            states.append(terms[0] + terms[1])
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS's auxiliary classifier on an 8x8 feature map (``(N, C, 8, 8) -> (N, classes)``)."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class DARTSNetwork(nn.Module):
    """DARTS ``NetworkCIFAR`` for a genotype.

    Parameters
    ----------
    normal, reduce : sequence of (op_name, input_node)
        The two cells in DARTS genotype order (8 pairs each in NB301).
    num_classes : int
        Output classes.
    init_channels : int
        C, the channels of the first cells (NB301: 32; DARTS paper: 36).
    layers : int
        Number of cells (NB301: 8; DARTS paper: 20).
    auxiliary : bool
        Build the auxiliary head after cell ``2 * layers // 3``; its logits are returned by
        :meth:`forward_with_aux` in training mode. NB301 trained with it (weight 0.4).
    drop_prob : float
        Drop-path probability, used only in training mode. DARTS ramps it linearly over
        the epochs by setting ``model.drop_prob``; NB301 used 0.2.
    normal_concat, reduce_concat : sequence of int, optional
        Nodes concatenated by each cell (default all intermediate nodes).
    convention : str or OpConvention
        ``"darts"`` (default: the DARTS / NB301-training network, every BatchNorm affine,
        pools without BatchNorm) or ``"naslib"`` (NASLib's NB301 network, scored by
        NAS-Bench-Suite-Zero: non-affine BatchNorms inside the cell ops and a non-affine
        BatchNorm after each pool); see the module docstring.

    ``forward`` maps images ``(N, 3, H, W)`` to logits ``(N, num_classes)``; with
    ``auxiliary=True`` the input must be 32x32 (the head expects an 8x8 map).
    """

    def __init__(self, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]],
                 num_classes: int = 10, init_channels: int = 32, layers: int = 8,
                 auxiliary: bool = False, drop_prob: float = 0.0,
                 normal_concat: Sequence[int] | None = None,
                 reduce_concat: Sequence[int] | None = None,
                 convention: str | OpConvention = "darts") -> None:
        super().__init__()
        self.convention = get_convention(convention)
        if layers < 1 or init_channels < 1 or num_classes < 1:
            raise ValueError(f"layers, init_channels and num_classes must be positive, got "
                             f"{layers}, {init_channels}, {num_classes}")
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        check_cell(normal, "normal cell")
        check_cell(reduce, "reduce cell")
        self.layers = layers
        self.drop_prob = drop_prob
        self.aux_position = 2 * layers // 3
        c_curr = 3 * init_channels
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, init_channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = c_prev
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = DARTSCell(reduce if reduction else normal, c_prev_prev, c_prev, c_curr,
                             reduction, reduction_prev,
                             reduce_concat if reduction else normal_concat, self.convention)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == self.aux_position:
                c_aux = c_prev
        self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _run_cells(self, x: torch.Tensor, with_aux: bool
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Final feature map, and the auxiliary logits if ``with_aux`` and in training."""
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_prob)
            if (with_aux and i == self.aux_position and self.auxiliary_head is not None
                    and self.training):
                aux = self.auxiliary_head(s1)
        return s1, aux

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map before global pooling, ``(N, 4 * 4C, H/4, W/4)``."""
        return self._run_cells(x, with_aux=False)[0]

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, aux_logits)`` as DARTS's ``forward``; ``aux_logits`` is None unless
        the model has the auxiliary head and is in training mode."""
        features, aux = self._run_cells(x, with_aux=True)
        return self.classifier(self.global_pooling(features).flatten(1)), aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` (use :meth:`forward_with_aux` for the auxiliary ones)."""
        features = self._run_cells(x, with_aux=False)[0]
        return self.classifier(self.global_pooling(features).flatten(1))

    def num_parameters(self, auxiliary: bool = False) -> int:
        """Number of parameters; the auxiliary head only if ``auxiliary`` (DARTS convention)."""
        return sum(p.numel() for name, p in self.named_parameters()
                   if auxiliary or not name.startswith("auxiliary_head."))
