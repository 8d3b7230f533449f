"""TransNAS-Bench-101 networks (Duan et al., CVPR 2021): backbones and task heads.

Follows the official code (``yawen-d/TransNASBench``, ``lib/models``; copied unchanged into
NASLib as ``naslib/search_spaces/transbench101/tnb101``). Every network is an encoder
(backbone) followed by a task head (the official "decoder").

Encoder (``MacroNet(structure="backbone")``)
--------------------------------------------
* Stem: Conv3x3(3 -> 32, stride 2, no bias) -> BN -> ReLU-Conv3x3(32 -> 64, stride 2)-BN.
  Output: 64 channels at ``H/4``.
* One *module* per skeleton code; each module stacks 2 blocks; the first block of the module
  applies the module's stride and channel change. Codes (official comment
  "channel change: [2, 4]; stride change: [3, 4]"):

  ====  =====================  ========  ==========
  code  meaning                channels  resolution
  ====  =====================  ========  ==========
  1     keep                   x1        x1
  2     widen                  x2        x1
  3     downsample             x1        /2
  4     downsample and widen   x2        /2
  ====  =====================  ========  ==========

* Micro space: skeleton ``41414`` (64 -> 128 -> 128 -> 256 -> 256 -> 512 channels; output
  512 channels at ``H/32``); the block is the searched 4-node cell
  (:class:`~nasperf.searchspaces.models.ops.EdgeCell`; ops none, skip_connect (FactorizedReduce when
  the shape changes), ReLU-Conv1x1-BN, ReLU-Conv3x3-BN).
* Macro space: skeleton of 4 to 6 searched codes; the block is a ResNet basic block
  (ReLU-Conv3x3-BN twice, the first with the module's stride; shortcut Conv1x1(stride)+BN when
  the shape changes, identity otherwise). Output ``64 * 2**n_widen`` channels at
  ``H / 2**(2 + n_downsample)``.
* Convolutions have no bias; BatchNorm is affine; convolution weights get Kaiming-normal
  initialisation (``fan_out``, ReLU) as in ``MacroNet._kaiming_init``.
* Reference quirk kept on purpose: the official basic block builds its shortcut BatchNorm as
  ``BatchNorm2d(planes, affine, track_running_stats)``, i.e. with ``eps=1.0`` and
  ``momentum=1.0`` (positional arguments). We reproduce it so that the network computes the
  same function as the benchmark's trained models; it does not change the parameter count.

Task heads (the ``TASKS`` registry)
-----------------------------------
``C`` is the encoder's output channels, ``p`` its number of downsampling modules.

* ``class_object`` (100 outputs), ``class_scene`` (63 outputs), ``room_layout`` (9 outputs,
  regression): ``FFDecoder`` = global average pooling -> Linear(C, n).
  Class counts: NASLib (and therefore the NAS-Bench-Suite-Zero ``params``/``flops`` of
  ``zc_transbench101_micro.json``) uses 100 object and 63 scene classes, the Taskonomy
  "selected" subsets. The benchmark's own training configs (and the paper's Table 1) use the
  smaller "final5k" subsets, 75 object and 47 scene classes (NASLib issue #190). The defaults
  here are NASLib's, so parameter counts equal the JSON; pass ``num_classes=75`` / ``47`` for
  the networks that produced the benchmark's accuracies (see :data:`OFFICIAL_NUM_CLASSES`).
* ``jigsaw`` (1000 permutation classes): ``SiameseNet``; the input is ``(N, 9, 3, h, w)``
  (9 tiles, 64x64 in the benchmark). The shared encoder runs on each tile separately, the 9
  feature maps are concatenated along channels, then pooling -> Linear(9 C, 1000).
* ``segmentsemantic`` (17 classes per pixel): ``SegmentationDecoder`` with ``u = p + 2``
  upsamplings: Conv3x3(C -> 1024), ``6 - u`` Conv3x3 halving the channels, ``u - 1``
  transposed Conv3x3 (stride 2) halving them, one transposed Conv3x3 (stride 2) keeping them,
  Conv3x3(-> 17). Every layer but the last is Conv(bias) -> BN -> LeakyReLU(0.2).
* ``autoencoder`` and ``normal`` (3 output channels): ``GenerativeDecoder`` (pix2pix-style,
  14 layers from 1024 down to 16 channels, of which ``u = p + 2`` upsample by 2 with
  transposed convolutions; BN + LeakyReLU(0.2), final Conv3x3(16 -> 3) + tanh).
  The official model is a GAN whose spectral-norm discriminator is used only by the
  training loss; it is *not* part of these networks (nor of the JSON ``params``, which were
  counted on the forward pass).

``u = p + 2`` undoes the stem's /4 and each downsampling module (the official code derives it
as ``int(log2(256 / w))`` from the 224-pixel feature width ``w``), so dense outputs have the
input's resolution when ``H`` and ``W`` are multiples of ``2**(2 + p)`` (the benchmark uses
256x256 inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .ops import CELL_OPS, EdgeCell, ReLUConvBN

#: Skeleton code -> (channel multiplier, stride) of the module.
BLOCK_CODES: dict[int, tuple[int, int]] = {1: (1, 1), 2: (2, 1), 3: (1, 2), 4: (2, 2)}
#: The fixed skeleton of the micro (cell) space.
MICRO_SKELETON: tuple[int, ...] = (4, 1, 4, 1, 4)
#: Operations of the micro cell, in official op-id order (the digits of the arch string).
MICRO_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
#: Class counts of the benchmark's own training runs (paper Table 1, official configs).
OFFICIAL_NUM_CLASSES: dict[str, int] = {"class_object": 75, "class_scene": 47}
#: Task used when ``task=None``.
DEFAULT_TASK = "class_object"


# -- encoder -----------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    """TNB101-macro ResNet basic block: ReLU-Conv3x3(stride)-BN -> ReLU-Conv3x3-BN, plus a
    shortcut (identity, or Conv1x1(stride) -> BN when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            # eps=1.0, momentum=1.0: the reference's positional-argument quirk (module doc).
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                nn.BatchNorm2d(c_out, eps=1.0, momentum=1.0),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


class TNB101Encoder(nn.Module):
    """Stem plus one module (``blocks_per_module`` blocks) per skeleton code.

    Parameters
    ----------
    codes : sequence of int
        Skeleton codes 1..4 (see :data:`BLOCK_CODES`).
    make_block : callable ``(c_in, c_out, stride) -> nn.Module``
        Block factory (micro cell or basic block).
    base_channels : int
        Stem output width (64 in the benchmark).
    blocks_per_module : int
        Blocks per module (2 in the benchmark).

    Input ``(N, 3, H, W)``; output ``(N, out_channels, H / reduction, W / reduction)`` with
    ``reduction = 2 ** (2 + n_downsample)`` (rounded up at each stride-2 layer).
    """

    def __init__(self, codes: Sequence[int], make_block: Callable[[int, int, int], nn.Module],
                 base_channels: int = 64, blocks_per_module: int = 2) -> None:
        super().__init__()
        codes = tuple(codes)
        bad = [c for c in codes if c not in BLOCK_CODES]
        if bad or not codes:
            raise ValueError(f"skeleton codes must be a non-empty sequence of 1..4, got {codes!r}")
        if base_channels < 2 or base_channels % 2 or blocks_per_module < 1:
            raise ValueError(
                f"need an even base_channels >= 2 and blocks_per_module >= 1, got "
                f"{base_channels} and {blocks_per_module}"
            )
        self.codes = codes
        half = base_channels // 2
        self.stem = nn.Sequential(
            nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(half),
            ReLUConvBN(half, base_channels, 3, 2, 1),
        )
        modules = []
        c = base_channels
        for code in codes:
            mult, stride = BLOCK_CODES[code]
            c_out = c * mult
            blocks = [make_block(c, c_out, stride)]
            blocks += [make_block(c_out, c_out, 1) for _ in range(blocks_per_module - 1)]
            modules.append(nn.Sequential(*blocks))
            c = c_out
        self.layers = nn.Sequential(*modules)
        self.out_channels = c
        self.n_downsample = sum(BLOCK_CODES[code][1] == 2 for code in codes)
        self.reduction = 2 ** (2 + self.n_downsample)
        self._kaiming_init()

    def _kaiming_init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))


# -- task heads --------------------------------------------------------------------------------
class ClassificationHead(nn.Module):
    """Global average pooling -> Linear(c_in, n_out) (official ``FFDecoder`` and, with
    ``c_in = 9 C``, ``SiameseDecoder``). Input ``(N, c_in, h, w)``; output ``(N, n_out)``."""

    def __init__(self, c_in: int, n_out: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _conv(c_in: int, c_out: int, up: bool, act: nn.Module | None, bn: bool = True
          ) -> nn.Sequential:
    """Official ``ConvLayer`` (Conv3x3, stride 1) or ``DeconvLayer`` (ConvTranspose3x3,
    stride 2, output_padding 1), both with bias, then optional BN and activation."""
    conv = (nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
            if up else nn.Conv2d(c_in, c_out, 3, stride=1, padding=1))
    layers: list[nn.Module] = [conv]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


def _check_upsample(n_up: int) -> None:
    if not 2 <= n_up <= 6:
        raise ValueError(f"dense decoders support 2..6 upsamplings (0..4 downsampling modules), "
                         f"got {n_up}")


class SegmentationDecoder(nn.Sequential):
    """Official ``SegmentationDecoder`` (see the module docstring).

    Input ``(N, c_in, h, w)``; output ``(N, n_out, h * 2**n_up, w * 2**n_up)`` logits.
    """

    def __init__(self, c_in: int, n_up: int, n_out: int = 17) -> None:
        _check_upsample(n_up)
        act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        layers = [_conv(c_in, 1024, False, act())]
        c = 1024
        for _ in range(6 - n_up):
            layers.append(_conv(c, c // 2, False, act()))
            c //= 2
        for _ in range(n_up - 1):
            layers.append(_conv(c, c // 2, True, act()))
            c //= 2
        layers.append(_conv(c, c, True, act()))
        layers.append(_conv(c, n_out, False, None, bn=False))
        super().__init__(*layers)


#: GenerativeDecoder layers: (c_in, c_out, upsample when n_up >= this; None: never).
_GENERATIVE_PLAN: tuple[tuple[int, int, int | None], ...] = (
    (-1, 1024, None), (1024, 1024, None), (1024, 512, 6), (512, 512, None), (512, 256, 5),
    (256, 128, None), (128, 64, 4), (64, 64, None), (64, 32, 3), (32, 32, None),
    (32, 16, 0), (16, 32, None), (32, 16, 0),
)


class GenerativeDecoder(nn.Sequential):
    """Official ``GenerativeDecoder`` (pix2pix-style; see the module docstring).

    Input ``(N, c_in, h, w)``; output ``(N, n_out, h * 2**n_up, w * 2**n_up)`` in [-1, 1].
    """

    def __init__(self, c_in: int, n_up: int, n_out: int = 3) -> None:
        _check_upsample(n_up)
        layers = []
        for ci, co, threshold in _GENERATIVE_PLAN:
            up = threshold is not None and n_up >= threshold
            layers.append(_conv(c_in if ci < 0 else ci, co, up, nn.LeakyReLU(0.2)))
        layers.append(_conv(16, n_out, False, nn.Tanh(), bn=False))
        super().__init__(*layers)


@dataclass(frozen=True)
class TaskSpec:
    """How to build one task's head.

    Attributes
    ----------
    make_head : callable ``(c_in, n_downsample, n_out) -> nn.Module``
        ``c_in`` is the channel count of the head's input (``tiles * encoder.out_channels``).
    num_outputs : int
        Default number of classes / output values / output channels.
    tiles : int
        Images per example (9 for jigsaw: input ``(N, 9, 3, h, w)``; 1: ``(N, 3, H, W)``).
    output : str
        What the head returns.
    """

    make_head: Callable[[int, int, int], nn.Module]
    num_outputs: int
    tiles: int = 1
    output: str = "logits (N, num_outputs)"


def _linear_head(c: int, p: int, n: int) -> nn.Module:
    return ClassificationHead(c, n)


#: Task name -> head specification.
TASKS: dict[str, TaskSpec] = {
    "class_object": TaskSpec(_linear_head, 100),
    "class_scene": TaskSpec(_linear_head, 63),
    "room_layout": TaskSpec(_linear_head, 9, output="regression values (N, 9)"),
    "jigsaw": TaskSpec(_linear_head, 1000, tiles=9, output="permutation logits (N, 1000)"),
    "segmentsemantic": TaskSpec(lambda c, p, n: SegmentationDecoder(c, p + 2, n), 17,
                                output="per-pixel logits (N, 17, H, W)"),
    "autoencoder": TaskSpec(lambda c, p, n: GenerativeDecoder(c, p + 2, n), 3,
                            output="image (N, 3, H, W) in [-1, 1]"),
    "normal": TaskSpec(lambda c, p, n: GenerativeDecoder(c, p + 2, n), 3,
                       output="surface normals (N, 3, H, W) in [-1, 1]"),
}


def get_task(task: str | None) -> tuple[str, TaskSpec]:
    """``(name, spec)`` for a task name (``None``: :data:`DEFAULT_TASK`)."""
    name = DEFAULT_TASK if task is None else task
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"unknown TransNAS-Bench-101 task {task!r}; known: {', '.join(TASKS)}")
    return name, TASKS[name]


# -- networks ----------------------------------------------------------------------------------
class TNB101Network(nn.Module):
    """A TransNAS-Bench-101 network: ``encoder`` (backbone) + ``decoder`` (task head).

    Parameters
    ----------
    encoder : TNB101Encoder
    task : str or None
        A key of :data:`TASKS` (``None``: ``"class_object"``).
    num_classes : int or None
        Classes / outputs / output channels of the head; ``None`` uses the task's default.

    ``forward(x)`` returns the head's output (see :data:`TASKS`); ``forward_features(x)``
    returns the feature map that enters the head, ``(N, C, h, w)`` (jigsaw: the 9 tile maps
    concatenated, ``(N, 9 C, h, w)``).
    """

    def __init__(self, encoder: TNB101Encoder, task: str | None = None,
                 num_classes: int | None = None) -> None:
        super().__init__()
        self.task, spec = get_task(task)
        n_out = spec.num_outputs if num_classes is None else num_classes
        if isinstance(n_out, bool) or not isinstance(n_out, int) or n_out < 1:
            raise ValueError(f"num_classes must be a positive int or None, got {num_classes!r}")
        self.num_outputs = n_out
        self.tiles = spec.tiles
        self.encoder = encoder
        self.decoder = spec.make_head(spec.tiles * encoder.out_channels, encoder.n_downsample,
                                      n_out)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder output before the head (before global pooling for the linear heads)."""
        if self.tiles == 1:
            if x.dim() != 4:
                raise ValueError(f"{self.task} expects input (N, 3, H, W), got {tuple(x.shape)}")
            return self.encoder(x)
        if x.dim() != 5 or x.shape[1] != self.tiles:
            raise ValueError(f"{self.task} expects input (N, {self.tiles}, 3, h, w), got "
                             f"{tuple(x.shape)}")
        # One encoder call per tile, as the reference SiameseNet (BN statistics per tile).
        return torch.cat([self.encoder(x[:, i]) for i in range(self.tiles)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.forward_features(x))


def _micro_edge_ops(arch: Any) -> list[tuple[int, int, str]]:
    edge_ops = arch.edge_ops() if hasattr(arch, "edge_ops") else arch
    try:
        edge_ops = [(int(s), int(d), op) for s, d, op in edge_ops]
    except (TypeError, ValueError):
        raise ValueError(f"expected a TNB101MicroArch or (src, dst, op) triples, got "
                         f"{arch!r:.80}") from None
    bad = [op for _, _, op in edge_ops if op not in MICRO_OPS]
    if bad:
        raise ValueError(f"unknown micro op(s) {bad}; valid: {', '.join(MICRO_OPS)}")
    return edge_ops


def build_micro(arch: Any, num_classes: int | None = None, task: str | None = None,
                base_channels: int = 64, blocks_per_module: int = 2) -> TNB101Network:
    """The TransNAS-Bench-101 micro network ``64-41414-<cell>`` for ``task``.

    Parameters
    ----------
    arch : TNB101MicroArch or list of (src, dst, op)
        The cell (ops from :data:`MICRO_OPS`).
    num_classes : int or None
        Head outputs; ``None``: the task's default (:data:`TASKS`).
    task : str or None
        ``class_object`` (default), ``class_scene``, ``room_layout``, ``jigsaw``,
        ``segmentsemantic``, ``autoencoder``, ``normal``.
    base_channels, blocks_per_module : int
        64 and 2 in the benchmark (change only for experiments).

    Channels 64 (stem, ``H/4``) -> 128 (``H/8``) -> 128 -> 256 (``H/16``) -> 256 -> 512
    (``H/32``). With the defaults and ``task="class_scene"``/``"class_object"`` the parameter
    count equals the ``params`` field of NAS-Bench-Suite-Zero's ``zc_transbench101_micro.json``.
    """
    edge_ops = _micro_edge_ops(arch)
    micro_ops = {op: CELL_OPS[op] for op in MICRO_OPS}

    def make_block(c_in: int, c_out: int, stride: int) -> nn.Module:
        return EdgeCell(edge_ops, c_in, c_out, stride, ops=micro_ops)

    encoder = TNB101Encoder(MICRO_SKELETON, make_block, base_channels, blocks_per_module)
    return TNB101Network(encoder, task=task, num_classes=num_classes)


def build_macro(arch: Any, num_classes: int | None = None, task: str | None = None,
                base_channels: int = 64, blocks_per_module: int = 2) -> TNB101Network:
    """The TransNAS-Bench-101 macro network ``64-<codes>-basic`` for ``task``.

    Parameters
    ----------
    arch : TNB101MacroArch or sequence of int
        Skeleton codes 1..4 (an object with a ``codes`` attribute, or the codes).
    num_classes, task, base_channels, blocks_per_module
        As in :func:`build_micro`.

    Output of the encoder: ``64 * 2**n_widen`` channels at ``H / 2**(2 + n_downsample)``
    where ``n_widen`` counts codes 2 and 4 and ``n_downsample`` codes 3 and 4.
    """
    codes = getattr(arch, "codes", arch)
    try:
        codes = tuple(int(c) for c in codes)
    except (TypeError, ValueError):
        raise ValueError(f"expected a TNB101MacroArch or skeleton codes, got {arch!r:.80}"
                         ) from None
    encoder = TNB101Encoder(codes, BasicBlock, base_channels, blocks_per_module)
    return TNB101Network(encoder, task=task, num_classes=num_classes)
