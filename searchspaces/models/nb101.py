"""The NAS-Bench-101 network (Ying et al., ICML 2019; nasbench ``lib/model_builder.py``).

stem Conv3x3(3 -> 128) + BN + ReLU; ``num_stacks`` stacks of ``cells_per_stack`` cells, with
a 2x2 max-pool (stride 2) and a doubling of the channels before every stack but the first;
global average pooling; Linear(channels -> num_classes).

Inside a cell (matrix already pruned), every interior vertex sums its inputs and applies its
op. The output concatenates the vertices that feed it, so the cell's output channels are
split among them (:func:`compute_vertex_channels`); the cell input reaches a vertex through
a 1x1 Conv-BN-ReLU projection to that vertex's width, and if the input feeds the output
directly its projection is **added** to the concatenation. Edges between interior vertices
drop surplus channels (at most one) instead of projecting.

Conventions, as in the reference code and the PyTorch port used by NASLib /
NAS-Bench-Suite-Zero (NASBench-PyTorch): convolutions have no bias, BatchNorm is affine
(PyTorch defaults eps=1e-5, momentum=0.1; the TensorFlow original used momentum 0.997),
the classifier has a bias. With the default arguments the number of parameters equals the
benchmark's ``trainable_parameters`` and NAS-Bench-Suite-Zero's ``params``. Weights are
initialised like NASBench-PyTorch: convolutions N(0, 2 / (k*k*c_out)), BatchNorm 1 / 0,
Linear N(0, 0.01) with zero bias.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..graph import ArchGraph


class ConvBnRelu(nn.Sequential):
    """Conv2d ``kernel x kernel`` ("same" padding, no bias) -> BatchNorm2d -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
        )


#: op name -> factory(channels) of the module applied at an interior vertex.
VERTEX_OPS: dict[str, Callable[[int], nn.Module]] = {
    "conv3x3-bn-relu": lambda c: ConvBnRelu(c, c, 3),
    "conv1x1-bn-relu": lambda c: ConvBnRelu(c, c, 1),
    "maxpool3x3": lambda c: nn.MaxPool2d(3, stride=1, padding=1),
}


def compute_vertex_channels(c_in: int, c_out: int, matrix: np.ndarray) -> list[int]:
    """Output channels of every vertex of a pruned cell (official ``compute_vertex_channels``).

    The vertices feeding the output share ``c_out`` equally, the first ones (by index) taking
    one extra channel each when the division leaves a remainder. Every other interior vertex
    gets the largest width among the interior vertices it feeds, so widths never increase
    along an edge. Vertex 0 has ``c_in`` channels and the output ``c_out``.

    Parameters
    ----------
    matrix : array of shape (n, n)
        Pruned 0/1 upper-triangular adjacency matrix.
    """
    adj = np.asarray(matrix, dtype=bool)
    n = adj.shape[0]
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    feeds_out = [v for v in range(1, n - 1) if adj[v, -1]]
    base, extra = divmod(c_out, len(feeds_out))
    for rank, v in enumerate(feeds_out):
        channels[v] = base + (1 if rank < extra else 0)
    for v in range(n - 3, 0, -1):
        if not adj[v, -1]:
            channels[v] = max(channels[d] for d in range(v + 1, n - 1) if adj[v, d])
    if min(channels[1:-1]) <= 0:
        raise ValueError(f"cell {adj.astype(int).tolist()} leaves a vertex without channels "
                         f"({channels}); is the matrix pruned?")
    return channels


class NB101Cell(nn.Module):
    """One NAS-Bench-101 cell (``build_module``).

    Parameters
    ----------
    matrix : array of shape (n, n)
        Pruned adjacency matrix (every vertex on an input -> output path).
    ops : sequence of str, length n
        ``"input"``, interior ops from :data:`VERTEX_OPS`, ``"output"``.
    c_in, c_out : int
        Channels of the cell input and output.

    Input ``(N, c_in, H, W)``, output ``(N, c_out, H, W)``.
    """

    def __init__(self, matrix: np.ndarray, ops: Sequence[str], c_in: int, c_out: int) -> None:
        super().__init__()
        adj = np.asarray(matrix, dtype=bool)
        n = adj.shape[0]
        self.n_nodes = n
        self.vertex_channels = compute_vertex_channels(c_in, c_out, adj)
        #: interior sources of every vertex and whether the cell input feeds it
        self.sources = [[s for s in range(1, t) if adj[s, t]] for t in range(n)]
        self.from_input = [bool(adj[0, t]) for t in range(n)]
        self.vertex_ops = nn.ModuleDict(
            {str(t): VERTEX_OPS[ops[t]](self.vertex_channels[t]) for t in range(1, n - 1)}
        )
        self.projections = nn.ModuleDict(
            {str(t): ConvBnRelu(c_in, self.vertex_channels[t], 1)
             for t in range(1, n) if self.from_input[t]}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.n_nodes
        tensors = [x]
        for t in range(1, n - 1):
            width = self.vertex_channels[t]
            terms = [tensors[s][:, :width] for s in self.sources[t]]
            if self.from_input[t]:
                terms.append(self.projections[str(t)](x))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            tensors.append(self.vertex_ops[str(t)](total))
        to_out = [tensors[s] for s in self.sources[n - 1]]
        if not to_out:
            return self.projections[str(n - 1)](x)
        out = torch.cat(to_out, dim=1) if len(to_out) > 1 else to_out[0]
        if self.from_input[n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    """The NAS-Bench-101 CIFAR network for one cell.

    Parameters
    ----------
    matrix : array of shape (n, n)
        Adjacency matrix of the cell; it is pruned here (vertices off every input -> output
        path are dropped), so a raw benchmark cell can be passed as is.
    ops : sequence of str, length n
        Node ops (``"input"``, interior ops, ``"output"``).
    num_classes : int
        Size of the classifier (10 for CIFAR-10).
    stem_channels : int
        Width of the stem and the first stack (128 in the benchmark).
    num_stacks, cells_per_stack : int
        3 and 3 in the benchmark.
    in_channels : int
        Image channels.

    Input ``(N, in_channels, H, W)``; output logits ``(N, num_classes)``. Downsampling uses
    ``ceil_mode=True``, which equals TensorFlow's ``"same"`` 2x2 pooling for odd sizes too.
    """

    def __init__(self, matrix: np.ndarray, ops: Sequence[str], num_classes: int = 10,
                 stem_channels: int = 128, num_stacks: int = 3, cells_per_stack: int = 3,
                 in_channels: int = 3) -> None:
        super().__init__()
        cell = ArchGraph(np.asarray(matrix), tuple(ops)).prune()
        unknown = set(cell.ops[1:-1]) - set(VERTEX_OPS)
        if unknown:
            raise ValueError(
                f"unknown cell op(s) {sorted(unknown)}; known: {', '.join(VERTEX_OPS)}"
            )
        if cell.n_nodes == 2 and not cell.adjacency[0, 1]:
            raise ValueError("the cell's output is not reachable from its input")
        self.cell_matrix = cell.adjacency
        self.cell_ops = cell.ops
        layers: list[nn.Module] = [ConvBnRelu(in_channels, stem_channels, 3)]
        c_in = c_out = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                c_out *= 2
            for _ in range(cells_per_stack):
                layers.append(NB101Cell(cell.adjacency, cell.ops, c_in, c_out))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_out, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """NASBench-PyTorch initialisation (see the module docstring).

        Skipped on the ``meta`` device (nothing to initialise), so that
        ``with torch.device("meta"): NB101Network(...)`` counts parameters quickly.
        """
        if self.classifier.weight.is_meta:
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map before global pooling, shape ``(N, C, H/4, W/4)`` (default 3 stacks,
        ``C = stem_channels * 4``)."""
        return self.layers(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))
