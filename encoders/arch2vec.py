"""arch2vec: unsupervised graph-VAE embeddings of architectures (Yan et al., NeurIPS 2020).

The model follows the reference code (repository MSU-MLSys-Lab/arch2vec, ``models/model.py``
class ``Model``, ``models/configs.py`` config 4, ``models/pretraining_nasbench201.py``):

* **Input.** Node ops one-hot ``[B, N, V]``; the GIN propagates over the symmetrised adjacency
  ``A + A^T`` (the reference's preprocessing ``method=4``), so information flows both ways.
* **Encoder.** ``num_hops=5`` in the reference means 4 GIN layers. Layer ``l``:
  ``h <- ReLU(BN(MLP_l((1 + eps_l) h + (A + A^T) h)))`` with a learnable ``eps_l``, a 2-layer
  MLP (Linear-BN-ReLU-Linear) of width 128. Two linear heads give a Gaussian per node:
  ``mu`` and ``log sigma`` of size ``latent_dim`` (16). The reference calls the second head
  ``logvar`` but uses it as ``log sigma`` (``std = exp(logvar)``); we name it ``logstd``.
* **Decoder.** Dropout (0.3) on ``z``; op logits ``Linear(z)``; adjacency logits the inner
  product ``z z^T`` (upper triangle read as edges ``i -> j``, ``i < j``).
* **Loss.** Cross-entropy of the ops (softmax; the reference config 4 asks for softmax but
  its decoder applies a sigmoid and BCE, a bug we do not copy) + binary cross-entropy of the
  upper-triangular adjacency + ``kl_weight`` times the KL divergence to N(0, I) averaged over
  nodes. The reference scales the KL by ``1 / (batch * nodes)``; ``kl_weight=None`` does
  the same.
* **Training.** Adam (lr 1e-3), batch 32, gradient norm clipped at 5, 90/10 split of the
  pretraining graphs (the held-out 10 % give the reconstruction accuracy).
* **Embedding.** ``transform`` returns the mean of ``mu`` over the real nodes of each cell
  (the reference averages over all 8 nodes of its fixed-size NB201 graphs).

Graph form (``graph=``; the default ``"auto"`` is ``"fixed"`` where the space has a fixed
node layout, else ``"pruned"``). ``"fixed"`` encodes the reference's graphs for spaces whose
cells have one fixed node layout (:data:`FIXED_LAYOUTS`: NB201 and TNB101-micro): the
unpruned cell as 8 nodes, input, the six edge ops in string order (``none`` included, as an
op) and output, with the same adjacency for every cell; no padding, so the embedding is the
mean over all 8 nodes, as in the reference. On NB201 it gives higher Kendall tau of a random
forest than ``"pruned"`` (docs/learned_encoders.md). ``op_loss="sigmoid"`` is the reference
decoder's sigmoid + BCE of the one-hot ops. ``"pruned"`` (every other space) differs from the
reference, as forced by :class:`nasperf.searchspaces.ArchGraph`: graphs are
the pruned node-labelled DAGs of the space (NB201 cells have 2 to 8 nodes, ``none`` edges and
dead ops removed, so equivalent cells share one graph), padded to ``N`` nodes: input in slot
0, output in slot ``N - 1`` (as in the reference's fixed layout), padding tokens in between,
which the decoder learns to reproduce (it decodes the node count). Duplicated graphs are
pretrained on once. The GIN is a dense-batch implementation (``torch.bmm`` on ``[B, N, N]``
adjacencies), as fast as torch-geometric's sparse ``GINConv`` on these cells (within 4 %
at batch sizes 32 and 1024, ``benchmarks/bench_gin_backends.py``); its decoder needs the dense
codes anyway. :meth:`~PretrainedGraphEncoder.graph_backbone` runs it on PyG batches.

Reported quality (``pretrain_report_``), on the held-out graphs with ``z = mu``:
``op_accuracy`` (node ops, real nodes), ``adj_accuracy`` (upper-triangular entries between
real nodes, threshold 0.5), ``graph_accuracy`` (whole graph exact, padding included); and for
``n_prior_samples`` codes drawn per node position from N(mean, std) of the training codes
(as the reference does): ``validity_ops`` (the reference's criterion: input token first,
output token last, op or padding tokens in between), ``validity`` (the decoded graph is a
well-formed cell: the input and output tokens where the training graphs have them, no edge at
a padding slot, every node on an input-output path; or it is a graph of the pretraining set),
``in_space`` (isomorphic to a graph of the pretraining set, which for NB201 is the whole
space) and ``uniqueness`` (distinct graphs among the valid ones).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from nasperf.searchspaces import ArchGraph, GraphSet, InvalidArchitectureError, SearchSpace
from nasperf.searchspaces.cell6 import EDGES, Cell6Space
from nasperf.searchspaces.graph import edge_cell_to_graph

from ._graph_tensors import (
    PAD,
    PaddedGraphs,
    PretrainedGraphEncoder,
    minibatches,
    pad_graphs,
    unpad_graph,
)

log = logging.getLogger(__name__)

#: Graph forms of ``Arch2VecEncoder(graph=...)``.
GRAPH_FORMS = ("auto", "pruned", "fixed")
#: Op reconstruction losses of ``Arch2VecEncoder(op_loss=...)``.
OP_LOSSES = ("softmax", "sigmoid")


@functools.lru_cache(maxsize=32768)
def _cell6_fixed_graph(ops: tuple[str, ...]) -> ArchGraph:
    # With no op dropped every node of the 6-edge cell lies on an input -> output path, so
    # edge_cell_to_graph's pruning keeps all 8 nodes.
    return edge_cell_to_graph([(s, d, op) for (s, d), op in zip(EDGES, ops)], n_cell_nodes=4,
                              drop_ops=())


def _cell6_fixed(space: SearchSpace, arch: Any) -> dict[str, ArchGraph]:
    return {"cell": _cell6_fixed_graph(space.check(arch).ops)}


#: Spaces whose cells have one fixed node layout: space class -> function ``(space, arch)``
#: giving ``{cell name: unpruned ArchGraph}`` (same cell names as ``space.to_graphs``).
FIXED_LAYOUTS: dict[type, Callable[[SearchSpace, Any], dict[str, ArchGraph]]] = {
    Cell6Space: _cell6_fixed,
}


def _has_fixed_layout(space: SearchSpace | None) -> bool:
    return any(isinstance(space, cls) for cls in FIXED_LAYOUTS)


def fixed_layout(space: SearchSpace | None) -> Callable[[SearchSpace, Any], dict[str, ArchGraph]]:
    """The fixed-layout graph function of ``space`` (see :data:`FIXED_LAYOUTS`).

    Raises
    ------
    ValueError
        If the space has no fixed node layout (or is None).
    """
    for cls, fn in FIXED_LAYOUTS.items():
        if isinstance(space, cls):
            return fn
    name = "space=None" if space is None else f"search space {space.name!r}"
    raise ValueError(
        f"graph='fixed' needs a space whose cells have a fixed node layout (NB201, "
        f"TNB101-micro); {name} has none: use graph='pruned'"
    )


class _MLP(nn.Module):
    """Linear-BN-ReLU-...-Linear with ``n_layers`` linear layers (GIN's MLP)."""

    def __init__(self, n_layers: int, d_in: int, d_hidden: int, d_out: int):
        super().__init__()
        dims = [d_in] + [d_hidden] * (n_layers - 1) + [d_out]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(d_hidden) for _ in range(n_layers - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lin, bn in zip(self.linears[:-1], self.norms):
            x = F.relu(bn(lin(x)))
        return self.linears[-1](x)


class Arch2VecNet(nn.Module):
    """The arch2vec graph VAE (dense batches).

    Parameters
    ----------
    n_tokens : int
        Size ``V`` of the node-op vocabulary (padding included).
    hidden_dim, latent_dim : int
        GIN width and per-node latent size.
    n_layers : int
        Number of GIN layers (the reference's ``num_hops - 1``).
    n_mlp_layers : int
        Linear layers per GIN MLP.
    dropout : float
        Dropout on ``z`` before decoding.
    """

    def __init__(self, n_tokens: int, hidden_dim: int = 128, latent_dim: int = 16,
                 n_layers: int = 4, n_mlp_layers: int = 2, dropout: float = 0.3):
        super().__init__()
        self.n_tokens = n_tokens
        self.eps = nn.Parameter(torch.zeros(n_layers))
        self.mlps = nn.ModuleList(
            _MLP(n_mlp_layers, n_tokens if k == 0 else hidden_dim, hidden_dim, hidden_dim)
            for k in range(n_layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden_dim) for _ in range(n_layers))
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logstd = nn.Linear(hidden_dim, latent_dim)
        self.dropout = nn.Dropout(dropout)
        self.op_decoder = nn.Linear(latent_dim, n_tokens)

    def encode(self, ops: torch.Tensor, adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``ops`` long [B, N], ``adj`` float [B, N, N] (i -> j) -> ``mu, logstd`` [B, N, L]."""
        b, n = ops.shape
        x = F.one_hot(ops, self.n_tokens).float()
        sym = adj + adj.transpose(1, 2)
        for k, (mlp, bn) in enumerate(zip(self.mlps, self.norms)):
            agg = (1 + self.eps[k]) * x + torch.bmm(sym, x)
            x = F.relu(bn(mlp(agg.reshape(b * n, -1)))).reshape(b, n, -1)
        return self.fc_mu(x), self.fc_logstd(x)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z`` [B, N, L] -> op logits [B, N, V] and adjacency logits [B, N, N]."""
        z = self.dropout(z)
        return self.op_decoder(z), torch.bmm(z, z.transpose(1, 2))

    def forward(self, ops: torch.Tensor, adj: torch.Tensor):
        mu, logstd = self.encode(ops, adj)
        z = mu + torch.randn_like(mu) * logstd.exp() if self.training else mu
        op_logits, adj_logits = self.decode(z)
        return op_logits, adj_logits, mu, logstd


def vae_loss(op_logits: torch.Tensor, adj_logits: torch.Tensor, mu: torch.Tensor,
             logstd: torch.Tensor, ops: torch.Tensor, adj: torch.Tensor,
             kl_weight: float, op_loss: str = "softmax") -> tuple[torch.Tensor, dict[str, float]]:
    """Reconstruction (op loss + upper-triangular adjacency BCE) + ``kl_weight`` * KL.

    ``op_loss="softmax"``: cross-entropy of the node ops; ``"sigmoid"``: binary cross-entropy
    of the sigmoid of every op logit against the one-hot ops, averaged over all ``B * N * V``
    entries (the reference decoder). The KL of each node's Gaussian to N(0, I) is summed over
    latent dimensions and averaged over all ``B * N`` node slots. Returns the loss and its
    parts as floats.
    """
    n = ops.shape[1]
    iu = torch.triu_indices(n, n, 1, device=ops.device)
    if op_loss == "sigmoid":
        target = F.one_hot(ops, op_logits.shape[-1]).to(op_logits.dtype)
        loss_ops = F.binary_cross_entropy_with_logits(op_logits, target)
    else:
        loss_ops = F.cross_entropy(op_logits.reshape(-1, op_logits.shape[-1]), ops.reshape(-1))
    loss_adj = F.binary_cross_entropy_with_logits(adj_logits[:, iu[0], iu[1]], adj[:, iu[0], iu[1]])
    kl = -0.5 * (1 + 2 * logstd - mu.pow(2) - (2 * logstd).exp()).sum(-1).mean()
    loss = loss_ops + loss_adj + kl_weight * kl
    return loss, {"ops": loss_ops.item(), "adj": loss_adj.item(), "kl": kl.item()}


class Arch2VecEncoder(PretrainedGraphEncoder):
    """arch2vec encoder: latent means of a graph VAE pretrained without labels.

    See the module docstring for the model and its differences from the reference code.

    Parameters
    ----------
    space : str or SearchSpace
    latent_dim : int, default 16
        Per-node latent size = features per cell.
    hidden_dim : int, default 128
    n_layers : int, default 4
        GIN layers (the reference's ``hops=5``).
    n_mlp_layers : int, default 2
    dropout : float, default 0.3
    epochs : int, default 10
        Pretraining epochs over the distinct pretraining graphs (reference: 10 for NB201).
    batch_size : int, default 32
    lr : float, default 1e-3
    kl_weight : float or None, default None
        Weight of the KL term; None = ``1 / (batch_size * max_nodes)`` as in the reference.
    graph : {"auto", "pruned", "fixed"}, default "auto"
        ``"auto"``: ``"fixed"`` for a space with a fixed node layout (NB201, TNB101-micro),
        else ``"pruned"`` (resolved in :attr:`graph_`). ``"pruned"``: the space's
        :class:`ArchGraph` (NB201: ``none`` edges and dead ops removed), padded; the
        embedding averages the real nodes. ``"fixed"``: the unpruned cell in the space's
        fixed node layout (NB201 / TNB101-micro: 8 nodes, ``none`` as an op, one adjacency),
        as the reference; the embedding averages all nodes. Inputs must then be
        architectures of the space (not ``ArchGraph`` objects); a space without a fixed
        layout raises ``ValueError``.
    op_loss : {"softmax", "sigmoid"}, default "softmax"
        Op reconstruction loss: cross-entropy, or the reference decoder's sigmoid + BCE.
    validation_fraction : float, default 0.1
        Share of the distinct graphs held out to measure reconstruction (0 disables).
    n_prior_samples : int, default 1000
        Codes sampled to measure validity of decoded graphs (0 disables).
    n_unlabeled : int, default 20000
        Sample size when the space can be neither enumerated nor read from a file (NB101).
    random_state : int or None, default 0
        Seeds initialisation, shuffling, the split and sampling. None = a fresh seed and no
        cache.
    device : str, default "cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"`` (CUDA when available).
    cache_dir : path or None
        Checkpoint cache; default ``$NASPERF_CACHE/encoders`` or ``~/.cache/nasperf/encoders``.
    use_cache : bool, default True
        Read/write the checkpoint cache (key: encoder, space, hyper-parameters,
        random_state and a hash of the pretraining graphs).
    data_dir : path or None
        Benchmark data directory (for NB301's architecture list).
    progress : bool, default True
        tqdm progress bar with the loss during pretraining.

    Attributes
    ----------
    graph_ : str
        The graph form used, ``"pruned"`` or ``"fixed"`` (``graph="auto"`` resolved).
    Other fitted attributes as :class:`PretrainedGraphEncoder`.

    Examples
    --------
    >>> enc = Arch2VecEncoder("nb201", epochs=10)          # doctest: +SKIP
    >>> X = enc.fit_transform(archs)                        # (n, 16)
    >>> enc.pretrain_report_["op_accuracy"]                 # held-out reconstruction
    """

    _name = "arch2vec_z"
    _model_params = ("latent_dim", "hidden_dim", "n_layers", "n_mlp_layers", "dropout",
                     "epochs", "batch_size", "lr", "kl_weight", "validation_fraction",
                     "n_prior_samples", "graph_", "op_loss")

    def __init__(self, space="nb201", *, latent_dim: int = 16, hidden_dim: int = 128,
                 n_layers: int = 4, n_mlp_layers: int = 2, dropout: float = 0.3,
                 epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
                 kl_weight: float | None = None, graph: str = "auto",
                 op_loss: str = "softmax", validation_fraction: float = 0.1,
                 n_prior_samples: int = 1000, n_unlabeled: int = 20000,
                 random_state: int | None = 0, device: str = "cpu", cache_dir=None,
                 use_cache: bool = True, data_dir=None, progress: bool = True):
        self.space = space
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.n_mlp_layers = n_mlp_layers
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.kl_weight = kl_weight
        self.graph = graph
        self.op_loss = op_loss
        self.validation_fraction = validation_fraction
        self.n_prior_samples = n_prior_samples
        self.n_unlabeled = n_unlabeled
        self.random_state = random_state
        self.device = device
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.data_dir = data_dir
        self.progress = progress

    # -- hooks of PretrainedGraphEncoder -------------------------------------------------------
    def _resolve_space(self) -> SearchSpace | None:
        space = super()._resolve_space()
        if self.graph not in GRAPH_FORMS:
            raise ValueError(f"graph must be one of {GRAPH_FORMS}, got {self.graph!r}")
        if self.op_loss not in OP_LOSSES:
            raise ValueError(f"op_loss must be one of {OP_LOSSES}, got {self.op_loss!r}")
        if self.graph == "fixed":
            fixed_layout(space)  # raises for a space without a fixed node layout
            self.graph_ = "fixed"
        elif self.graph == "auto":
            self.graph_ = "fixed" if _has_fixed_layout(space) else "pruned"
        else:
            self.graph_ = "pruned"
        return space

    def _cell_graphs(self, items: Iterable) -> tuple[tuple[str, ...], dict]:
        if self.graph_ == "pruned":
            return super()._cell_graphs(items)
        layout = fixed_layout(self.space_)
        cells: tuple[str, ...] = ()
        out: dict[str, list[ArchGraph]] = {}
        for k, item in enumerate(items):
            if isinstance(item, (ArchGraph, GraphSet)):
                raise ValueError(
                    f"item {k} is an ArchGraph: graph='fixed' encodes architectures of the "
                    "space (strings, tuples, ...); use graph='pruned' for graph inputs"
                )
            graphs = layout(self.space_, item)
            if not out:
                cells = tuple(graphs)
                out = {c: [] for c in cells}
            for c in cells:
                out[c].append(graphs[c])
        if not out:
            raise ValueError("no architectures given")
        return cells, out

    def _build_model(self) -> Arch2VecNet:
        return Arch2VecNet(len(self.vocab_), self.hidden_dim, self.latent_dim, self.n_layers,
                           self.n_mlp_layers, self.dropout)

    def _embedding_dim(self) -> int:
        return self.latent_dim

    @staticmethod
    def _embed(model, ops, adj, mask) -> torch.Tensor:
        mu, _ = model.encode(ops, adj)
        m = mask.unsqueeze(-1).float()
        return (mu * m).sum(1) / m.sum(1)

    def _extra_state(self) -> dict:
        return {"z_mean": self.z_mean_.tolist(), "z_std": self.z_std_.tolist(),
                "graph": self.graph_}

    def _load_extra_state(self, extra: dict) -> None:
        self.z_mean_ = np.asarray(extra["z_mean"], np.float32)
        self.z_std_ = np.asarray(extra["z_std"], np.float32)
        # the graph form the model was trained on; checkpoints written before the graph
        # option existed hold pruned-graph models
        self.graph_ = extra.get("graph", "pruned")

    def _pretrain(self, model: Arch2VecNet, graphs: list[ArchGraph], device: torch.device,
                  seed: int) -> dict:
        _check_params(self)
        data = pad_graphs(graphs, self.vocab_, self.max_nodes_)
        train_idx, val_idx = _split(len(data), self.validation_fraction, seed)
        train = data.subset(train_idx)
        kl_weight = self.kl_weight if self.kl_weight is not None \
            else 1.0 / (self.batch_size * self.max_nodes_)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        history: list[dict] = []
        t0, c0 = time.perf_counter(), time.process_time()
        bar = tqdm(range(self.epochs), desc="arch2vec pretraining", disable=not self.progress,
                   unit="epoch")
        for _ in bar:
            model.train()
            sums = {"loss": 0.0, "ops": 0.0, "adj": 0.0, "kl": 0.0}
            for idx in minibatches(len(train), self.batch_size, gen):
                if len(idx) < 2:  # BatchNorm needs more than one graph
                    continue
                ops, adj, _ = train.subset(idx).tensors(device)
                op_logits, adj_logits, mu, logstd = model(ops, adj)
                loss, parts = vae_loss(op_logits, adj_logits, mu, logstd, ops, adj, kl_weight,
                                       self.op_loss)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                for k, v in (("loss", loss.item()), *parts.items()):
                    sums[k] += v * len(idx)
            epoch = {k: v / len(train) for k, v in sums.items()}
            history.append(epoch)
            bar.set_postfix(loss=f"{epoch['loss']:.4f}")
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        model.eval()
        self.model_ = model
        train_mu = self._node_codes(train, device)
        self.z_mean_ = train_mu.mean(0)
        self.z_std_ = train_mu.std(0)
        report = {
            "epochs": self.epochs, "graph": self.graph_, "op_loss": self.op_loss,
            "seconds": seconds, "cpu_seconds": cpu_seconds,
            "n_train": len(train_idx),
            "n_heldout": len(val_idx), "kl_weight": kl_weight,
            "n_prior_samples": self.n_prior_samples,
            "loss_history": [h["loss"] for h in history],
            "final_loss": history[-1] if history else {},
        }
        if len(val_idx):
            report.update(self.reconstruction_accuracy(data.subset(val_idx)))
        if self.n_prior_samples:
            report.update(self.prior_validity(self.n_prior_samples, graphs, seed=seed))
        log.info("arch2vec pretraining: %s", {k: v for k, v in report.items()
                                              if k != "loss_history"})
        return report

    # -- diagnostics ---------------------------------------------------------------------------
    def _node_codes(self, data: PaddedGraphs, device: torch.device) -> np.ndarray:
        """``mu`` of every node slot, shape (B, N, L)."""
        out = []
        with torch.no_grad():
            for idx in minibatches(len(data), 1024, None):
                ops, adj, _ = data.subset(idx).tensors(device)
                out.append(self.model_.encode(ops, adj)[0].cpu())
        return torch.cat(out).numpy()

    def reconstruction_accuracy(self, data: PaddedGraphs | Sequence[ArchGraph]) -> dict:
        """Reconstruction of graphs from ``z = mu`` (see the module docstring).

        Returns
        -------
        dict with ``op_accuracy``, ``adj_accuracy``, ``graph_accuracy`` (fractions in [0, 1]).
        """
        if not isinstance(data, PaddedGraphs):
            data = pad_graphs(list(data), self.vocab_, self.max_nodes_)
        model = self.model_.eval()
        device = next(model.parameters()).device
        n = self.max_nodes_
        upper = torch.ones(n, n, dtype=torch.bool, device=device).triu(1)
        ok_ops = n_ops = ok_adj = n_adj = ok_graph = 0
        with torch.no_grad():
            for idx in minibatches(len(data), 1024, None):
                ops, adj, mask = data.subset(idx).tensors(device)
                op_logits, adj_logits, _, _ = model(ops, adj)
                op_hat = op_logits.argmax(-1)
                adj_hat = (adj_logits > 0).float()
                pair = mask.unsqueeze(2) & mask.unsqueeze(1) & upper
                ok_ops += ((op_hat == ops) & mask).sum().item()
                n_ops += mask.sum().item()
                ok_adj += ((adj_hat == adj) & pair).sum().item()
                n_adj += pair.sum().item()
                same = (op_hat == ops).all(1) & ((adj_hat == adj) | ~upper).all(2).all(1)
                ok_graph += same.sum().item()
        return {"op_accuracy": ok_ops / n_ops, "adj_accuracy": ok_adj / max(n_adj, 1),
                "graph_accuracy": ok_graph / len(data)}

    def decode_prior(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``n`` codes drawn per node slot from N(mean, std) of the training codes.

        Returns
        -------
        ops : int array of shape (n, N)
            Token ids (index into :attr:`vocab_`).
        adj : 0/1 uint8 array of shape (n, N, N)
            Decoded edges, upper triangle.
        """
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, *self.z_mean_.shape)).astype(np.float32)
        z = z * self.z_std_ + self.z_mean_
        model = self.model_.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            op_logits, adj_logits = model.decode(torch.as_tensor(z, device=device))
        adj = np.triu((adj_logits > 0).cpu().numpy().astype(np.uint8), 1)
        return op_logits.argmax(-1).cpu().numpy(), adj

    def sample_graphs(self, n: int, seed: int = 0) -> list[ArchGraph | None]:
        """Graphs decoded from ``n`` prior samples (:meth:`decode_prior`); None where the
        decoding is not an ArchGraph (a padding slot with edges)."""
        ops, adj = self.decode_prior(n, seed)
        out = []
        for o, a in zip(ops, adj):
            try:
                out.append(unpad_graph([self.vocab_[i] for i in o], a))
            except InvalidArchitectureError:
                out.append(None)
        return out

    def prior_validity(self, n: int, reference: Sequence[ArchGraph], seed: int = 0) -> dict:
        """Quality of ``n`` decoded prior samples.

        ``reference`` are graphs of the space (the pretraining graphs): they define where
        source and output tokens may appear and the set for ``in_space``.

        Returns
        -------
        dict
            ``validity_ops``: the reference code's criterion, ops only (source tokens in the
            first slots, the output token in the last, op or padding tokens elsewhere);
            ``validity``: a well-formed cell (:class:`_CellRules`) or a graph of
            ``reference``; ``in_space``: isomorphic to a graph of ``reference``;
            ``uniqueness``: distinct graphs among the valid ones.
        """
        rules = _CellRules.from_graphs(reference)
        ops, _ = self.decode_prior(n, seed)
        names = [[self.vocab_[i] for i in o] for o in ops]
        ops_ok = sum(rules.ops_valid(o) for o in names)
        known = {_wl_hash(g) for g in reference}
        decoded = [(g, _wl_hash(g)) for g in self.sample_graphs(n, seed) if g is not None]
        in_space = [h for _, h in decoded if h in known]
        valid = [h for g, h in decoded if h in known or rules.is_valid(g)]
        return {"validity_ops": ops_ok / n, "validity": len(valid) / n,
                "in_space": len(in_space) / n,
                "uniqueness": len(set(valid)) / max(len(valid), 1)}


class _CellRules:
    """Well-formedness of a decoded graph, learned from graphs of the space.

    Source tokens (ops of nodes without predecessors, e.g. ``input`` or ``input0``/``input1``)
    must be exactly the leading nodes, in the same order as in the space; the last node must
    carry the space's output token and no other node may; every other node must carry an op
    token; every node must lie on a path from a source to the output.
    """

    def __init__(self, sources: tuple[str, ...], sinks: frozenset[str]):
        self.sources = sources
        self.sinks = sinks

    @classmethod
    def from_graphs(cls, graphs: Sequence[ArchGraph]) -> _CellRules:
        g = max(graphs, key=lambda h: h.n_nodes)
        k = 0
        while k < g.n_nodes - 1 and not g.adjacency[:, k].any():
            k += 1
        return cls(tuple(g.ops[:k]), frozenset(h.ops[-1] for h in graphs))

    def ops_valid(self, ops: Sequence[str]) -> bool:
        """Slot-wise op check of a padded decoding (the arch2vec reference's validity)."""
        k = len(self.sources)
        return (tuple(ops[:k]) == self.sources and ops[-1] in self.sinks
                and not any(o in self.sources or o in self.sinks for o in ops[k:-1]))

    def is_valid(self, g: ArchGraph) -> bool:
        k = len(self.sources)
        if g.n_nodes < k + 1 or g.ops[:k] != self.sources or g.ops[-1] not in self.sinks:
            return False
        middle = g.ops[k:-1]
        if any(o in self.sources or o in self.sinks or o == PAD for o in middle):
            return False
        adj = g.adjacency.astype(bool)
        if adj[:, :k].any():  # sources have no predecessors
            return False
        reach = np.zeros(g.n_nodes, bool)
        reach[:k] = True
        for j in range(k, g.n_nodes):
            reach[j] = bool((adj[:, j] & reach).any())
        to_out = np.zeros(g.n_nodes, bool)
        to_out[-1] = True
        for i in range(g.n_nodes - 2, -1, -1):
            to_out[i] = bool((adj[i] & to_out).any())
        return bool(reach[k:].all() and to_out[k:].all() and to_out[:k].any())


def _wl_hash(g: ArchGraph) -> int:
    """Weisfeiler-Lehman hash (in- and out-neighbour labels), equal for isomorphic graphs.

    The same refinement as ``ArchGraph.canonical_hash`` with Python's tuple hash instead of
    MD5 strings: ~20x faster, valid within one process only.
    """
    adj = g.adjacency.astype(bool)
    preds = [np.flatnonzero(adj[:, v]).tolist() for v in range(g.n_nodes)]
    succs = [np.flatnonzero(adj[v]).tolist() for v in range(g.n_nodes)]
    labels = [hash(op) for op in g.ops]
    for _ in range(g.n_nodes):
        labels = [hash((labels[v], tuple(sorted(labels[u] for u in preds[v])),
                        tuple(sorted(labels[w] for w in succs[v])))) for v in range(g.n_nodes)]
    return hash(tuple(sorted(labels)))


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train / held-out indices; at least two training graphs."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = min(int(round(fraction * n)), n - 2)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _check_params(enc: Arch2VecEncoder) -> None:
    for name in ("latent_dim", "hidden_dim", "n_layers", "n_mlp_layers", "epochs", "batch_size"):
        value = getattr(enc, name)
        if not isinstance(value, (int, np.integer)) or value < (0 if name == "epochs" else 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if enc.batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 (BatchNorm), got {enc.batch_size}")
    if not 0 <= enc.validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in [0, 1), got {enc.validation_fraction}")
    if not 0 <= enc.dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {enc.dropout}")
