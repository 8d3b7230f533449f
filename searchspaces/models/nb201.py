"""The NAS-Bench-201 network (Dong & Yang, ICLR 2020; ``xautodl`` ``TinyNetwork``).

stem Conv3x3(3->16)+BN; three stages of 5 cells at 16, 32, 64 channels separated by residual
reduction blocks; BN + ReLU; global average pooling; Linear(64 -> num_classes). With the
default settings the parameter count equals the benchmark's ``params`` field.
"""

from __future__ import annotations

import torch
from torch import nn

from .ops import EdgeCell, ReLUConvBN


class ResNetBasicBlock(nn.Module):
    """NB201 reduction block: two ReLUConvBN 3x3 (first with stride 2) plus a shortcut of
    AvgPool2d(2) -> Conv1x1 (no BN)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """NAS-Bench-201 ``TinyNetwork``.

    Parameters
    ----------
    edge_ops : list of (src, dst, op)
        The cell, edges ordered by destination (see :mod:`nasperf.searchspaces.cell6`).
    num_classes : int
        10 (CIFAR-10), 100 (CIFAR-100) or 120 (ImageNet16-120).
    channels : int
        Width of the first stage (16 in the benchmark).
    cells_per_stage : int
        Cells per stage (5 in the benchmark).

    Input ``(N, 3, H, W)``; output logits ``(N, num_classes)``.
    """

    def __init__(self, edge_ops: list[tuple[int, int, str]], num_classes: int = 10,
                 channels: int = 16, cells_per_stage: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, 2 * c, stride=2))
                c *= 2
            layers.extend(EdgeCell(edge_ops, c, c, 1) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map before global pooling, shape ``(N, 64, H/4, W/4)``."""
        return self.lastact(self.cells(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.forward_features(x)).flatten(1))
