"""Dense (``torch.bmm``) against sparse (torch-geometric ``GINConv``) GIN layers on cell graphs.

The same layers with the same weights, run both ways on the same cells and mini-batches,
forward + backward, on one torch thread:

- ``arch2vec``: the arch2vec encoder (:class:`nasperf.encoders.arch2vec.Arch2VecNet`:
  4 GIN layers of width 128 with batch norm, over ``A + A^T``); dense is its own
  ``encode``, sparse the same MLPs and norms behind ``GINConv`` on the symmetrised edges.
- ``gnn``: the GNN predictor's backbone (:class:`nasperf.predictors.gnn.GINBackbone`: 3
  layers of width 64, a GIN over the edges plus one over the reversed edges, sum pooling);
  sparse is its own ``forward``, dense the same MLPs on padded ``[B, N, N]`` adjacencies.

Both ways agree to float precision (checked before timing). Usage (from the repository
root; time it on an idle machine)::

    python benchmarks/bench_gin_backends.py --repeats 200

prints, per model, space and batch size, the milliseconds per forward + backward pass.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
from _common import int_list
from torch_geometric.data import Batch
from torch_geometric.nn import GINConv
from torch_geometric.utils import to_dense_adj, to_dense_batch

from nasperf.encoders import Arch2VecEncoder, GraphDataEncoder
from nasperf.eval.tables import markdown_table
from nasperf.predictors.gnn import GINBackbone
from nasperf.searchspaces import get_space


def _ms(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats * 1e3


def arch2vec_pair(space: str, archs: list, batch: int):
    """``(dense, sparse)`` closures of arch2vec's encoder on ``batch`` cells."""
    enc = Arch2VecEncoder(space, epochs=1, n_prior_samples=0, validation_fraction=0.0,
                          use_cache=False, progress=False).fit(unlabeled=archs)
    net = enc.model_.train()
    graphs = enc.to_graph_data(archs[:batch])
    pyg = Batch.from_data_list([type(g)(x=g.x, edge_index=g.edge_index) for g in graphs])
    n = enc.max_nodes_
    ops = pyg.x.argmax(-1).reshape(batch, n)
    adj = torch.zeros(batch, n, n)
    adj[pyg.edge_index[0] // n, pyg.edge_index[0] % n, pyg.edge_index[1] % n] = 1.0
    sym_edges = torch.cat([pyg.edge_index, pyg.edge_index.flip(0)], dim=1)
    convs = [GINConv(mlp) for mlp in net.mlps]

    def sparse_mu():
        x = pyg.x
        for k, (conv, bn) in enumerate(zip(convs, net.norms)):
            conv.eps = net.eps[k]  # the same learnable epsilon as the dense layers
            x = torch.relu(bn(conv(x, sym_edges)))
        return net.fc_mu(x)

    with torch.no_grad():
        net.eval()
        assert torch.allclose(sparse_mu().reshape(batch, n, -1), net.encode(ops, adj)[0],
                              atol=1e-4)
        net.train()
    return (lambda: net.encode(ops, adj)[0].sum().backward(),
            lambda: sparse_mu().sum().backward())


def gnn_pair(space: str, archs: list, batch: int):
    """``(dense, sparse)`` closures of the GNN predictor's backbone on ``batch`` cells."""
    graphs = GraphDataEncoder(space).fit_transform(archs[:batch])
    pyg = Batch.from_data_list(list(graphs))
    torch.manual_seed(0)
    bb = GINBackbone(pyg.x.shape[1], 64, 3, "add", both=True)
    X, mask = to_dense_batch(pyg.x, pyg.batch, batch_size=batch)
    A = to_dense_adj(pyg.edge_index, pyg.batch, batch_size=batch, max_num_nodes=X.shape[1])
    At, m = A.transpose(1, 2), mask.unsqueeze(-1).float()

    def dense_forward():
        h, pooled = bb.embed(X), []
        for conv, rconv in zip(bb.convs, bb.rconvs):
            out = conv.nn((1 + conv.eps) * h + torch.bmm(At, h))  # messages i -> j at j
            out = out + rconv.nn((1 + rconv.eps) * h + torch.bmm(A, h))
            h = torch.relu(out) * m
            pooled.append(h.sum(1))
        return torch.cat(pooled, dim=1)

    with torch.no_grad():
        assert torch.allclose(dense_forward(), bb(pyg.x, pyg.edge_index, pyg.batch, batch),
                              atol=1e-4)
    return (lambda: dense_forward().sum().backward(),
            lambda: bb(pyg.x, pyg.edge_index, pyg.batch, batch).sum().backward())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int_list, default=[32, 1024],
                   help="mini-batch sizes (default: 32,1024)")
    p.add_argument("--repeats", type=int, default=200, help="timed passes (default: 200)")
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for space in ("nb201", "nb101"):
        archs = list(dict.fromkeys(get_space(space).sample(8 * max(args.batches), seed=0)))
        if len(archs) < max(args.batches):
            p.error(f"{space}: only {len(archs)} distinct cells sampled")
        for model, pair in (("arch2vec", arch2vec_pair), ("gnn", gnn_pair)):
            for batch in args.batches:
                dense, sparse = pair(space, archs, batch)
                d, s = _ms(dense, args.repeats), _ms(sparse, args.repeats)
                rows.append({"model": model, "space": space, "batch": batch,
                             "dense_ms": round(d, 2), "sparse_ms": round(s, 2),
                             "sparse/dense": round(s / d, 2)})
    print(markdown_table(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
