"""CATE: computation-aware architecture encodings with transformers (Yan et al., ICML 2021).

The model follows the reference code (repository MSU-MLSys-Lab/CATE: ``layers/transformer.py``,
``layers/graphEncoder.py``, ``utils/utils.py``, ``preprocessing/data_generate.py``,
``parameterLoader.py``, ``run.py``):

* **Tokens.** One token per node op, embedded (times ``sqrt(d_model)``); no positional
  embedding: the graph enters only through the attention mask.
* **Graph encoder.** Pre-LayerNorm transformer blocks (self-attention and a ReLU
  feed-forward, each with a residual), a LayerNorm on the output. Node ``i`` attends to the
  nodes **reachable from it** (the Floyd-Warshall transitive closure of the adjacency, queries
  as rows) and, unlike the reference, to itself: there, a node without successors (the
  output) has an all-masked row and attends uniformly to every position, padding included.
* **Pretraining.** Pairs of architectures with similar computation: graphs are sorted by a
  cost, and each graph is paired with up to ``k_pairs`` (2) random earlier graphs whose cost
  is within ``pair_tolerance`` (the reference pairs NB101 cells whose parameter counts differ
  by at most 2e6). Both graphs of a pair are encoded by the shared graph encoder, their
  hidden states concatenated with segment embeddings (0 / 1) and passed through a
  cross-attention transformer in which every real node of either graph attends to every
  real node of both. A head (Linear-tanh-dropout-Linear) predicts the ops of corrupted nodes:
  each node is picked with probability ``corruption_rate`` (0.2), then replaced by the mask
  token (80 %) or a random op (20 %) as in BERT. Loss: cross-entropy with label smoothing 0.1
  over picked nodes (the reference uses a label-smoothed KL divergence, equivalent up to a
  constant). AdamW (lr 1e-3, weight decay 0.01 except biases and LayerNorm weights), linear
  warm-up over 100 steps then linear decay to zero.
* **Encoding.** Mean over real nodes of the graph encoder's output (the reference returns
  the hidden state of the last position, the output node for its fixed-size NB101 cells).

Cost of a graph (``cost_fn``, default :func:`graph_cost`): a FLOPs proxy computed from the
op names alone, the sum over nodes of the multiply-accumulates per pixel of a node's
convolutions in units of ``C_in * C_out``: ``k*k`` for a plain ``kxk`` convolution
(NB201 ``nor_conv_3x3`` = 9, ``nor_conv_1x1`` = 1, NB101 ``conv3x3-bn-relu`` = 9), 2 for a
DARTS ``sep_conv`` (two pointwise convolutions; depthwise parts neglected), 1 for a
``dil_conv``, 0 for pooling, skip, input and output. Within one NB201 stage the network's
FLOPs and parameters are affine in this number. The default tolerance 0 pairs graphs with
equal cost (for NB201: the same numbers of live 3x3 and 1x1 convolutions).

Sizes: the reference has 12 graph-encoder layers and 24 cross-attention layers (d_model 64,
8 heads); the defaults here (3 and 2 layers, 4 heads, d_model 64, d_ff 128) pretrain on NB201
in minutes on two CPU cores.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from nasperf.searchspaces import ArchGraph

from ._graph_tensors import PAD, PretrainedGraphEncoder, minibatches, pad_graphs

log = logging.getLogger(__name__)

#: Token replacing the op of a corrupted node.
MASK = "<mask>"

#: Op-name pattern -> cost (MACs per pixel in units of C_in * C_out); first match wins.
OP_COSTS: dict[str, Callable[[re.Match], float]] = {
    r"sep_conv_(\d+)x(\d+)": lambda m: 2.0,
    r"dil_conv_(\d+)x(\d+)": lambda m: 1.0,
    r"conv_?(\d+)x(\d+)": lambda m: float(int(m[1]) * int(m[2])),
}


def op_cost(op: str) -> float:
    """Cost of one node op by :data:`OP_COSTS` (0 for anything without a convolution)."""
    for pattern, cost in OP_COSTS.items():
        m = re.search(pattern, op)
        if m:
            return cost(m)
    return 0.0


def graph_cost(graph: ArchGraph) -> float:
    """FLOPs proxy of a cell: sum of :func:`op_cost` over its nodes."""
    return float(sum(op_cost(op) for op in graph.ops))


def computation_pairs(costs: np.ndarray, k: int, tolerance: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Pairs of items with similar cost (CATE's ``sample_from_data``).

    Items are sorted by cost (ties in random order); item ``i`` is paired with up to ``k``
    distinct random items before it in that order whose cost is at least
    ``cost_i - tolerance``.

    Returns
    -------
    np.ndarray of int64, shape (n_pairs, 2)
        Indices into ``costs``.
    """
    costs = np.asarray(costs, float)
    perm = rng.permutation(len(costs))
    order = perm[np.argsort(costs[perm], kind="stable")]
    sorted_costs = costs[order]
    heads = np.searchsorted(sorted_costs, sorted_costs - tolerance, side="left")
    pairs = []
    for i, head in enumerate(heads):
        if head >= i:
            continue
        picks = rng.choice(np.arange(head, i), size=min(k, i - head), replace=False)
        pairs.extend((order[i], order[j]) for j in picks)
    return np.asarray(pairs, np.int64).reshape(-1, 2)


def attention_masks(adj: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Where each node may attend: itself and every node reachable from it.

    Parameters
    ----------
    adj : array of shape (B, N, N), 0/1, ``adj[b, i, j]`` for an edge ``i -> j``
    mask : bool array of shape (B, N), real nodes

    Returns
    -------
    bool array of shape (B, N, N); row ``i`` = keys node ``i`` attends to.
    """
    reach = adj.astype(bool)
    n = reach.shape[-1]
    for _ in range(max(1, math.ceil(math.log2(max(n, 2))))):  # path doubling
        reach = reach | (np.einsum("bij,bjk->bik", reach.astype(np.int32),
                                   reach.astype(np.int32)) > 0)
    reach &= mask[:, :, None] & mask[:, None, :]
    return reach | np.eye(n, dtype=bool)[None]


class _Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed.unsqueeze(1),
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(h.transpose(1, 2).reshape(b, n, d))


class _Block(nn.Module):
    """Pre-LayerNorm transformer block (the reference's ``EncoderBlock``)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = _Attention(d_model, n_heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Dropout(dropout),
                                nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), allowed))
        return x + self.drop(self.ff(self.norm2(x)))


class _Encoder(nn.Module):
    def __init__(self, n_layers: int, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_ff, dropout)
                                    for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, allowed)
        return self.norm(x)


class CATENet(nn.Module):
    """Graph encoder + pairwise cross-attention + masked-op head.

    Parameters
    ----------
    n_tokens : int
        Vocabulary size ``V`` (padding and mask tokens included).
    d_model, n_heads, d_ff : int
    n_layers, n_cross_layers : int
        Depth of the graph encoder and of the cross-attention encoder.
    dropout : float
    """

    def __init__(self, n_tokens: int, d_model: int = 64, n_heads: int = 4, d_ff: int = 128,
                 n_layers: int = 3, n_cross_layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(n_tokens, d_model)
        self.segment = nn.Embedding(2, d_model)
        self.drop = nn.Dropout(dropout)
        self.graph_encoder = _Encoder(n_layers, d_model, n_heads, d_ff, dropout)
        self.cross = _Encoder(n_cross_layers, d_model, n_heads, 2 * d_ff, dropout)
        self.head = nn.Sequential(nn.Linear(d_model, d_model), nn.Tanh(), nn.Dropout(dropout),
                                  nn.Linear(d_model, n_tokens))

    def encode(self, tokens: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """``tokens`` long [B, N], ``allowed`` bool [B, N, N] -> hidden states [B, N, d]."""
        x = self.drop(self.embed(tokens) * math.sqrt(self.d_model))
        return self.graph_encoder(x, allowed)

    def forward(self, x_tokens: torch.Tensor, x_allowed: torch.Tensor, x_mask: torch.Tensor,
                y_tokens: torch.Tensor, y_allowed: torch.Tensor,
                y_mask: torch.Tensor) -> torch.Tensor:
        """Op logits of both graphs of each pair, shape [B, 2N, V] (x nodes, then y nodes)."""
        hx = self.encode(x_tokens, x_allowed)
        hy = self.encode(y_tokens, y_allowed)
        b, n, _ = hx.shape
        seg = self.segment(torch.arange(2, device=hx.device)) * math.sqrt(self.d_model)
        h = torch.cat([hx + self.drop(seg[0]), hy + self.drop(seg[1])], dim=1)
        real = torch.cat([x_mask, y_mask], dim=1)
        eye = torch.eye(2 * n, dtype=torch.bool, device=hx.device)
        allowed = (real.unsqueeze(2) & real.unsqueeze(1)) | eye
        return self.head(self.cross(h, allowed))


class CATEEncoder(PretrainedGraphEncoder):
    """CATE encoder: pooled transformer states pretrained by masked-op prediction on pairs.

    See the module docstring for the model and its differences from the reference code.

    Parameters
    ----------
    space : str or SearchSpace
    d_model : int, default 64
        Width = features per cell.
    n_heads : int, default 4
    d_ff : int, default 128
        Feed-forward width of the graph encoder (twice this in the cross-attention).
    n_layers : int, default 3
    n_cross_layers : int, default 2
    dropout : float, default 0.1
    corruption_rate : float, default 0.2
    k_pairs : int, default 2
        Partners per graph.
    pair_tolerance : float, default 0.0
        Largest cost difference of a pair, in ``cost_fn`` units.
    cost_fn : callable or None
        ``ArchGraph -> float``; None = :func:`graph_cost`.
    epochs : int, default 10
    batch_size : int, default 128
        Pairs per step.
    lr : float, default 1e-3
    weight_decay : float, default 0.01
    warmup_steps : int, default 100
    validation_fraction : float, default 0.1
        Share of the distinct graphs held out (paired among themselves) to measure masked-op
        accuracy (0 disables).
    n_unlabeled, random_state, device, cache_dir, use_cache, data_dir, progress
        As in :class:`nasperf.encoders.arch2vec.Arch2VecEncoder`.
    """

    _name = "cate_h"
    _specials = (PAD, MASK)
    _model_params = ("d_model", "n_heads", "d_ff", "n_layers", "n_cross_layers", "dropout",
                     "corruption_rate", "k_pairs", "pair_tolerance", "cost_fn", "epochs",
                     "batch_size", "lr", "weight_decay", "warmup_steps", "validation_fraction")

    def __init__(self, space="nb201", *, d_model: int = 64, n_heads: int = 4, d_ff: int = 128,
                 n_layers: int = 3, n_cross_layers: int = 2, dropout: float = 0.1,
                 corruption_rate: float = 0.2, k_pairs: int = 2, pair_tolerance: float = 0.0,
                 cost_fn: Callable[[ArchGraph], float] | None = None, epochs: int = 10,
                 batch_size: int = 128, lr: float = 1e-3, weight_decay: float = 0.01,
                 warmup_steps: int = 100, validation_fraction: float = 0.1,
                 n_unlabeled: int = 20000, random_state: int | None = 0, device: str = "cpu",
                 cache_dir=None, use_cache: bool = True, data_dir=None, progress: bool = True):
        self.space = space
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_ff = d_ff
        self.n_layers = n_layers
        self.n_cross_layers = n_cross_layers
        self.dropout = dropout
        self.corruption_rate = corruption_rate
        self.k_pairs = k_pairs
        self.pair_tolerance = pair_tolerance
        self.cost_fn = cost_fn
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.validation_fraction = validation_fraction
        self.n_unlabeled = n_unlabeled
        self.random_state = random_state
        self.device = device
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.data_dir = data_dir
        self.progress = progress

    # -- hooks of PretrainedGraphEncoder -------------------------------------------------------
    def _build_model(self) -> CATENet:
        return CATENet(len(self.vocab_), self.d_model, self.n_heads, self.d_ff, self.n_layers,
                       self.n_cross_layers, self.dropout)

    def _embedding_dim(self) -> int:
        return self.d_model

    @staticmethod
    def _embed(model, ops, adj, mask) -> torch.Tensor:
        allowed = torch.as_tensor(attention_masks(adj.cpu().numpy(), mask.cpu().numpy()),
                                  device=ops.device)
        h = model.encode(ops, allowed)
        m = mask.unsqueeze(-1).float()
        return (h * m).sum(1) / m.sum(1)

    def _pretrain(self, model: CATENet, graphs: list[ArchGraph], device: torch.device,
                  seed: int) -> dict:
        _check_params(self)
        rng = np.random.default_rng(seed)
        cost_fn = self.cost_fn if self.cost_fn is not None else graph_cost
        costs = np.array([cost_fn(g) for g in graphs], float)
        perm = rng.permutation(len(graphs))
        n_val = min(int(round(self.validation_fraction * len(graphs))), len(graphs) - 2)
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        data = _PairData.build(graphs, self.vocab_, self.max_nodes_)
        train_pairs = train_idx[computation_pairs(costs[train_idx], self.k_pairs,
                                                  self.pair_tolerance, rng)]
        val_pairs = val_idx[computation_pairs(costs[val_idx], self.k_pairs,
                                              self.pair_tolerance, rng)] if n_val >= 2 \
            else np.zeros((0, 2), np.int64)
        if len(train_pairs) == 0:
            raise ValueError(
                f"no two pretraining graphs have costs within pair_tolerance="
                f"{self.pair_tolerance}; increase it (costs range {costs.min()}..{costs.max()})")

        gen = torch.Generator().manual_seed(seed)
        decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
        no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "embed" in n]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=self.lr)
        total = max(1, self.epochs * math.ceil(len(train_pairs) / self.batch_size))
        warm = max(1, min(self.warmup_steps, total))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm
                                                  else max(0.0, (total - s) / max(1, total - warm)))
        history = []
        t0, c0 = time.perf_counter(), time.process_time()
        bar = tqdm(range(self.epochs), desc="CATE pretraining", disable=not self.progress,
                   unit="epoch")
        for _ in bar:
            model.train()
            loss_sum = count = 0.0
            for idx in minibatches(len(train_pairs), self.batch_size, gen):
                logits, labels = self._forward_pairs(model, data, train_pairs[idx], gen, device)
                if not (labels >= 0).any():
                    continue
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                       ignore_index=-100, label_smoothing=0.1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(idx)
                count += len(idx)
            history.append(loss_sum / max(count, 1))
            bar.set_postfix(loss=f"{history[-1]:.4f}")
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        model.eval()
        report = {"epochs": self.epochs, "seconds": seconds, "cpu_seconds": cpu_seconds,
                  "n_train": len(train_idx),
                  "n_heldout": len(val_idx), "n_pairs": len(train_pairs),
                  "loss_history": history, "final_loss": history[-1] if history else None}
        if len(val_pairs):
            report.update(self._heldout_metrics(model, data, val_pairs, seed, device))
        log.info("CATE pretraining: %s", {k: v for k, v in report.items()
                                          if k != "loss_history"})
        return report

    # -- internals -------------------------------------------------------------------------------
    def _forward_pairs(self, model: CATENet, data: _PairData, pairs: np.ndarray,
                       gen: torch.Generator, device: torch.device):
        """Corrupt both graphs of each pair; return logits [B, 2N, V] and labels [B, 2N]
        (the original token at corrupted nodes, -100 elsewhere)."""
        x, y = torch.as_tensor(pairs[:, 0]), torch.as_tensor(pairs[:, 1])
        x_tok, x_lab = self._corrupt(data.tokens[x], data.mask[x], gen)
        y_tok, y_lab = self._corrupt(data.tokens[y], data.mask[y], gen)
        inputs = (x_tok, data.allowed[x], data.mask[x], y_tok, data.allowed[y], data.mask[y])
        logits = model(*(a.to(device) for a in inputs))
        return logits, torch.cat([x_lab, y_lab], dim=1).to(device)

    def _corrupt(self, tokens: torch.Tensor, mask: torch.Tensor,
                 gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """BERT-style corruption of real nodes: picked with ``corruption_rate``; then mask
        token (80 %) or a random op token (20 %)."""
        picked = (torch.rand(tokens.shape, generator=gen) < self.corruption_rate) & mask
        use_mask = torch.rand(tokens.shape, generator=gen) < 0.8
        n_special = len(self._specials)
        random_ops = torch.randint(n_special, len(self.vocab_), tokens.shape, generator=gen)
        mask_id = self.vocab_.index(MASK)
        out = torch.where(picked & use_mask, torch.full_like(tokens, mask_id), tokens)
        out = torch.where(picked & ~use_mask, random_ops, out)
        labels = torch.where(picked, tokens, torch.full_like(tokens, -100))
        return out, labels

    def _heldout_metrics(self, model: CATENet, data: _PairData, pairs: np.ndarray, seed: int,
                         device: torch.device) -> dict:
        """Masked-op loss and top-1 accuracy on pairs of held-out graphs (fixed corruption)."""
        gen = torch.Generator().manual_seed(seed + 1)
        loss_sum = correct = total = 0.0
        with torch.no_grad():
            for idx in minibatches(len(pairs), 1024, None):
                logits, labels = self._forward_pairs(model, data, pairs[idx], gen, device)
                sel = labels >= 0
                loss_sum += F.cross_entropy(logits[sel], labels[sel], reduction="sum").item()
                correct += (logits[sel].argmax(-1) == labels[sel]).sum().item()
                total += sel.sum().item()
        return {"heldout_mlm_loss": loss_sum / max(total, 1),
                "heldout_mlm_accuracy": correct / max(total, 1)}


class _PairData:
    """All pretraining graphs as tensors: tokens [G, N], attention masks [G, N, N], mask [G, N]."""

    def __init__(self, tokens: torch.Tensor, allowed: torch.Tensor, mask: torch.Tensor):
        self.tokens, self.allowed, self.mask = tokens, allowed, mask

    @classmethod
    def build(cls, graphs: list[ArchGraph], vocab, max_nodes: int) -> _PairData:
        p = pad_graphs(graphs, vocab, max_nodes)
        return cls(torch.as_tensor(p.ops), torch.as_tensor(attention_masks(p.adj, p.mask)),
                   torch.as_tensor(p.mask))


def _check_params(enc: CATEEncoder) -> None:
    for name in ("d_model", "n_heads", "d_ff", "n_layers", "k_pairs", "batch_size"):
        value = getattr(enc, name)
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(enc.epochs, (int, np.integer)) or enc.epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {enc.epochs!r}")
    if not 0 < enc.corruption_rate <= 1:
        raise ValueError(f"corruption_rate must be in (0, 1], got {enc.corruption_rate}")
    if not 0 <= enc.validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in [0, 1), got {enc.validation_fraction}")
    if enc.pair_tolerance < 0:
        raise ValueError(f"pair_tolerance must be >= 0, got {enc.pair_tolerance}")
