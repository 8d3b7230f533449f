"""Operations shared by the cell-based networks (NAS-Bench-201 and TransNAS-Bench-101).

Follows the reference code of NAS-Bench-201 (``xautodl/models/cell_operations.py``):
convolutions have no bias, BatchNorm is affine and tracks running statistics.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation,
                      bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class Zero(nn.Module):
    """The ``none`` op: zeros of the output shape (keeps gradients flowing to nothing)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        if x.shape[1] == self.c_out:
            return x.mul(0.0)
        shape = (x.shape[0], self.c_out, *x.shape[2:])
        return x.new_zeros(shape)


class FactorizedReduce(nn.Module):
    """Stride-2 reduction by two offset 1x1 convolutions, concatenated (DARTS, NB201)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(y)], dim=1))


class Pooling(nn.Module):
    """3x3 average pooling (``count_include_pad=False``), with a ReLUConvBN 1x1 in front
    when the channel count changes (NB201's ``POOLING``)."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True) -> None:
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0,
                                                                affine=affine)
        self.pool = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.pool(x)


def skip(c_in: int, c_out: int, stride: int, affine: bool = True) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return FactorizedReduce(c_in, c_out, affine=affine)


#: op name -> factory(c_in, c_out, stride) for the NB201 / TNB101-micro cells.
CELL_OPS: dict[str, Callable[[int, int, int], nn.Module]] = {
    "none": lambda ci, co, s: Zero(ci, co, s),
    "skip_connect": lambda ci, co, s: skip(ci, co, s),
    "nor_conv_1x1": lambda ci, co, s: ReLUConvBN(ci, co, 1, s, 0),
    "nor_conv_3x3": lambda ci, co, s: ReLUConvBN(ci, co, 3, s, 1),
    "avg_pool_3x3": lambda ci, co, s: Pooling(ci, co, s),
}


class EdgeCell(nn.Module):
    """A cell whose nodes sum operations applied to earlier nodes (NB201's ``InferCell``).

    Parameters
    ----------
    edge_ops : list of (src, dst, op)
        Edges ordered by destination; node 0 is the input, the largest node the output.
        ``none`` edges are kept as :class:`Zero` modules, as in the reference code, so
        every cell has a defined output even when nothing reaches it.
    """

    def __init__(self, edge_ops: list[tuple[int, int, str]], c_in: int, c_out: int,
                 stride: int = 1, ops: dict[str, Callable[[int, int, int], nn.Module]] = CELL_OPS
                 ) -> None:
        super().__init__()
        self.edge_index = [(s, d) for s, d, _ in edge_ops]
        self.n_nodes = 1 + max(d for _, d in self.edge_index)
        self.edges = nn.ModuleList(
            ops[op](c_in, c_out, stride) if s == 0 else ops[op](c_out, c_out, 1)
            for s, _, op in edge_ops
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for node in range(1, self.n_nodes):
            terms = [op(nodes[s]) for (s, d), op in zip(self.edge_index, self.edges) if d == node]
            nodes.append(torch.stack(terms).sum(0) if len(terms) > 1 else terms[0])
        return nodes[-1]
