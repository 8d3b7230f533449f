"""Shared machinery of the learned (pretrained) graph encoders: arch2vec and CATE.

What lives here
---------------
* Padding and batching of :class:`nasperf.searchspaces.ArchGraph` objects into dense tensors
  (:func:`pad_graphs`, :class:`PaddedGraphs`): node-op token ids ``[B, N]``, 0/1 adjacency
  ``[B, N, N]`` (upper triangular, ``adj[b, i, j] = 1`` for an edge ``i -> j``) and a boolean
  node mask ``[B, N]``. The input node is in slot 0, the output node in the last slot
  ``N - 1``; padding slots (token :data:`PAD`, no edges) sit just before the output.
  ``N`` is the space's largest node count (``space.max_nodes`` if the space defines it,
  else the largest graph of the pretraining set).
* The unlabelled pretraining set of a space (:func:`default_unlabeled`): every architecture
  if the space can be enumerated (NB201: 15,625, TNB101-micro: 4,096), else the benchmark's
  architecture list (NB301: 11,221, via :func:`nasperf.searchspaces.load_archs`), else
  ``space.sample(n)`` (NB101).
* :class:`PretrainedGraphEncoder`, the scikit-learn transformer both encoders subclass:
  parameter handling, the checkpoint cache, ``save``/``load``, per-cell encoding and feature
  names. Subclasses implement the model, its pretraining loop and the graph embedding.

Multi-cell spaces (NB301: ``normal`` and ``reduce``) train one model on the graphs of all
cells pooled together; ``transform`` encodes every cell and concatenates the codes in the
order of ``space.to_graphs`` with feature names prefixed by the cell name.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

import nasperf
from nasperf._io import atomic_open, source_fingerprint
from nasperf._utils import cache_root, import_optional, resolve_device, torch_seed
from nasperf.searchspaces import ArchGraph, SearchSpace
from nasperf.searchspaces.graph import graphs_of, parse_graph_or_arch

from .base import ArchEncoder

log = logging.getLogger(__name__)

#: Token of padding nodes (index 0 of every vocabulary).
PAD = "<pad>"
#: Incremented whenever a change of the model code makes old checkpoints meaningless.
CHECKPOINT_VERSION = 1


# -- unlabelled architectures ----------------------------------------------------------------------
def default_unlabeled(
    space: SearchSpace, n_samples: int, seed: int, data_dir: str | os.PathLike | None = None
) -> tuple[list, str]:
    """The default pretraining architectures of ``space`` and where they came from.

    Order of preference: ``space.enumerate()``; the benchmark's architecture list
    (``load_archs``, e.g. NB301's 11,221 archs); ``space.sample(n_samples, seed)``.

    Returns
    -------
    archs : list
        Architecture objects of ``space``.
    source : str
        ``"enumerate"``, ``"archs file"`` or ``"sample"``.

    Raises
    ------
    ValueError
        If the space offers none of the three; the message says to pass ``unlabeled=``.
    """
    try:
        return list(space.enumerate()), "enumerate"
    except NotImplementedError:
        pass
    from nasperf.searchspaces import DataNotFoundError, load_archs

    if space.archs_file:  # a corrupt or modified list raises; only a missing one falls back
        try:
            return list(load_archs(space, data_dir=data_dir)), "archs file"
        except DataNotFoundError as exc:
            log.info("no architecture list for %s (%s); sampling instead", space.name, exc)
    try:
        return list(space.sample(n_samples, seed=seed)), "sample"
    except NotImplementedError:
        pass
    raise ValueError(
        f"search space {space.name!r} can neither be enumerated nor sampled and has no "
        "architecture list: pass the pretraining architectures with fit(..., unlabeled=archs)"
    )


def cell_graphs(space: SearchSpace | None, items: Iterable) -> tuple[tuple[str, ...], dict]:
    """The cell names and the graphs of each cell of parsed architectures (or graphs).

    Parameters
    ----------
    space : SearchSpace or None
    items : iterable
        Parsed architectures of ``space``, or :class:`ArchGraph` / ``GraphSet`` objects
        (see ``nasperf.encoders.base.parse_graph_or_arch``).

    Returns
    -------
    cells : tuple of str
        Names in the order of ``space.to_graphs`` (``("cell",)`` for one-cell spaces).
    graphs : dict
        ``cells[k] -> [ArchGraph, ...]``, one graph per item, in input order.

    Raises
    ------
    ValueError
        If two items have different cell names, or there are none.
    """
    cells: tuple[str, ...] | None = None
    out: dict[str, list[ArchGraph]] = {}
    for k, item in enumerate(items):
        graphs = graphs_of(space, item)
        if cells is None:
            cells = tuple(graphs)
            out = {c: [] for c in cells}
        elif tuple(graphs) != cells:
            raise ValueError(
                f"architecture {k} has cells {tuple(graphs)}, the first one has {cells}"
            )
        for c in cells:
            out[c].append(graphs[c])
    if cells is None:
        raise ValueError("no architectures given")
    return cells, out


def unique_graphs(graphs: Iterable[ArchGraph]) -> list[ArchGraph]:
    """``graphs`` without exact duplicates (same ops and adjacency), first occurrence kept."""
    seen: set = set()
    out = []
    for g in graphs:
        key = (g.ops, g.adjacency.tobytes())
        if key not in seen:
            seen.add(key)
            out.append(g)
    return out


def fingerprint(graphs: Sequence[ArchGraph]) -> str:
    """SHA-256 of an ordered list of graphs (used in checkpoint cache keys)."""
    h = hashlib.sha256()
    for g in graphs:
        h.update("|".join(g.ops).encode())
        h.update(b"#")
        h.update(np.packbits(g.adjacency).tobytes())
        h.update(str(g.n_nodes).encode())
        h.update(b";")
    return h.hexdigest()


# -- vocabulary and padding ------------------------------------------------------------------------
def build_vocab(
    graphs: Iterable[ArchGraph], space_ops: Sequence[str], specials: Sequence[str] = (PAD,)
) -> tuple[str, ...]:
    """Token names: ``specials`` first (``PAD`` is id 0), then every node op, sorted.

    Node ops are the names found in ``graphs`` (``input``, ``output``, ...) together with the
    space's candidate ops except ``none`` (edge-labelled spaces drop ``none`` edges).
    """
    names = {op for g in graphs for op in g.ops}
    names |= {op for op in space_ops if op != "none"}
    return tuple(specials) + tuple(sorted(names - set(specials)))


@dataclass(frozen=True)
class PaddedGraphs:
    """A batch of graphs padded to ``N`` nodes.

    Attributes
    ----------
    ops : np.ndarray of int64, shape (B, N)
        Token id of every node (``0`` = :data:`PAD` for padding nodes).
    adj : np.ndarray of uint8, shape (B, N, N)
        ``adj[b, i, j] = 1`` for an edge ``i -> j``; strictly upper triangular.
    mask : np.ndarray of bool, shape (B, N)
        True for real nodes: slots ``0 .. n_b - 2`` and ``N - 1`` (see :func:`node_slots`).
    """

    ops: np.ndarray
    adj: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return self.ops.shape[0]

    def subset(self, idx: np.ndarray | Sequence[int]) -> PaddedGraphs:
        idx = np.asarray(idx)
        return PaddedGraphs(self.ops[idx], self.adj[idx], self.mask[idx])

    def tensors(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
        """``(ops long [B, N], adj float [B, N, N], mask bool [B, N])`` on ``device``."""
        return (torch.as_tensor(self.ops, device=device),
                torch.as_tensor(self.adj, dtype=torch.float32, device=device),
                torch.as_tensor(self.mask, device=device))


def node_slots(n_nodes: int, max_nodes: int) -> list[int]:
    """Slots of a graph's nodes in a padded batch: ``0 .. n-2`` and the last slot ``N-1``.

    The output node always sits in the last slot and the input node in slot 0, as in the
    fixed-size graphs of the arch2vec reference, so that node positions mean the same across
    graphs of different sizes; padding fills the slots in between.
    """
    return [*range(n_nodes - 1), max_nodes - 1]


def pad_graphs(graphs: Sequence[ArchGraph], vocab: Sequence[str], max_nodes: int) -> PaddedGraphs:
    """Pad ``graphs`` to ``max_nodes`` nodes and map ops to token ids of ``vocab``.

    Node ``k`` of a graph with ``n`` nodes goes to slot ``k`` for ``k < n - 1``, the output
    node to slot ``max_nodes - 1`` (:func:`node_slots`); the adjacency stays upper triangular.

    Raises
    ------
    ValueError
        If a graph has more than ``max_nodes`` nodes or an op missing from ``vocab``.
    """
    index = {name: i for i, name in enumerate(vocab)}
    b = len(graphs)
    ops = np.zeros((b, max_nodes), np.int64)
    adj = np.zeros((b, max_nodes, max_nodes), np.uint8)
    mask = np.zeros((b, max_nodes), bool)
    for k, g in enumerate(graphs):
        n = g.n_nodes
        if n > max_nodes:
            raise ValueError(
                f"graph {k} has {n} nodes; this encoder was pretrained on graphs of at most "
                f"{max_nodes} nodes"
            )
        slots = node_slots(n, max_nodes)
        try:
            ops[k, slots] = [index[o] for o in g.ops]
        except KeyError as exc:
            raise ValueError(
                f"graph {k} has op {exc.args[0]!r}, unknown to this encoder; known ops: "
                f"{', '.join(v for v in vocab if not v.startswith('<'))}"
            ) from None
        adj[k][np.ix_(slots, slots)] = g.adjacency
        mask[k, slots] = True
    return PaddedGraphs(ops, adj, mask)


def unpad_graph(ops: Sequence[str], adj: np.ndarray) -> ArchGraph | None:
    """The graph of decoded node ops (:data:`PAD` marks empty slots) and 0/1 adjacency.

    Returns None if a padding slot has an edge, fewer than two nodes remain, or the ops and
    the upper triangle of ``adj`` do not form an :class:`ArchGraph`.
    """
    upper = np.triu(np.asarray(adj, np.uint8), 1)
    keep = [i for i, o in enumerate(ops) if o != PAD]
    empty = [i for i, o in enumerate(ops) if o == PAD]
    if len(keep) < 2 or upper[empty, :].any() or upper[:, empty].any():
        return None
    return ArchGraph(upper[np.ix_(keep, keep)], tuple(ops[i] for i in keep))


def minibatches(n: int, batch_size: int, generator: torch.Generator | None) -> Iterator[np.ndarray]:
    """Index arrays of consecutive minibatches of ``range(n)``, shuffled if ``generator``."""
    order = torch.randperm(n, generator=generator).numpy() if generator is not None \
        else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


# -- devices and caches ----------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """Where checkpoints go by default: ``<cache root>/encoders`` (see
    :func:`nasperf._utils.cache_root`: ``$NASPERF_CACHE``, else
    ``$XDG_CACHE_HOME/nasperf``, else ``~/.cache/nasperf``)."""
    return cache_root() / "encoders"


def cache_key(payload: dict) -> str:
    """A short stable hash of a dict of plain values (callables by their qualified name)."""
    text = json.dumps(payload, sort_keys=True, default=_key_default)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class PretrainedBackbone(torch.nn.Module):
    """A pretrained encoder's model as a graph backbone (the interface of
    :class:`nasperf.predictors.gnn.GINBackbone`), for fine-tuning on labels.

    ``forward(x, edge_index, batch, n_graphs)`` takes a PyG mini-batch of graphs made by
    :meth:`PretrainedGraphEncoder.to_graph_data` (every graph ``n_cells * max_nodes``
    nodes, one-hot tokens) and returns the codes ``transform`` gives, with gradients:
    ``[n_graphs, out_dim]``, the per-cell codes concatenated.

    Parameters
    ----------
    model : the pretrained network (trained further by fine-tuning).
    embed : function ``(model, ops [B, N], adj [B, N, N], mask [B, N]) -> [B, d]``.
    n_tokens, max_nodes, n_cells, dim : vocabulary size ``in_dim``, padding size, cells per
        architecture, code size per cell.
    """

    def __init__(self, model: torch.nn.Module, embed, n_tokens: int, max_nodes: int,
                 n_cells: int, dim: int):
        super().__init__()
        self.model = model
        self.embed = embed
        self.in_dim = int(n_tokens)
        self.max_nodes = int(max_nodes)
        self.n_cells = int(n_cells)
        self.out_dim = int(n_cells * dim)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor,
                n_graphs: int) -> torch.Tensor:
        n, b = self.max_nodes, n_graphs * self.n_cells
        if x.shape[0] != b * n:
            raise ValueError(f"a pretrained backbone takes graphs of {self.n_cells * n} nodes "
                             f"(from the encoder's to_graph_data); got {x.shape[0]} nodes for "
                             f"{n_graphs} graphs")
        ops = x.argmax(-1).reshape(b, n)
        adj = x.new_zeros(b, n, n)
        adj[edge_index[0] // n, edge_index[0] % n, edge_index[1] % n] = 1.0
        return self.embed(self.model, ops, adj, ops != 0).reshape(n_graphs, self.out_dim)


# -- the estimator base class ----------------------------------------------------------------
class PretrainedGraphEncoder(ArchEncoder):
    """Base class of encoders pretrained without labels on the graphs of a search space.

    Inputs are architectures of ``space`` (anything ``space.parse`` accepts) or, for a user's
    own space, :class:`ArchGraph` objects (or dicts cell name -> ArchGraph) with
    ``space=None``; then ``unlabeled`` graphs must be given to ``fit``.

    Subclasses define ``_name`` (feature-name stem), ``_model_params`` (the hyper-parameters
    that change the trained model, part of the cache key), and implement
    :meth:`_build_model`, :meth:`_pretrain`, :meth:`_embed` and :meth:`_embedding_dim`.

    Fitted attributes
    -----------------
    space_ : SearchSpace or None
    cells_ : tuple of str
        Cell names of the space (``("cell",)`` for one-cell spaces).
    vocab_ : tuple of str
        Node-op tokens; index 0 is :data:`PAD`.
    max_nodes_ : int
        Padding size ``N``.
    model_ : torch.nn.Module
        The pretrained network (in eval mode, on ``device``).
    pretrain_report_ : dict
        Pretraining budget and quality: epochs, seconds, loss history, held-out metrics.
    checkpoint_path_ : pathlib.Path or None
        Where the checkpoint was read from or written to (None without cache).
    feature_names_out_ : list of str
    """

    _name: str = "enc"
    _model_params: tuple[str, ...] = ()
    _specials: tuple[str, ...] = (PAD,)

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, X: Iterable | None = None, y: Any = None, unlabeled: Iterable | None = None):
        """Pretrain the model (or load it from the checkpoint cache).

        Parameters
        ----------
        X : sequence of architectures, optional
            Only checked (parsed); pretraining uses ``unlabeled``.
        y : ignored
        unlabeled : sequence of architectures (or ArchGraphs), optional
            Pretraining set. Default: every architecture of the space, or its architecture
            list, or ``n_unlabeled`` samples (see :func:`default_unlabeled`).

        Returns
        -------
        self
        """
        self.space_ = self._resolve_space()
        if X is not None:
            self._parse_all(X)  # fail early on bad input
        self._fit_unlabeled(unlabeled)
        return self

    def fit_transform(self, X: Sequence, y: Any = None, unlabeled: Iterable | None = None,
                      **fit_params: Any) -> np.ndarray:
        """:meth:`fit` (pretraining on ``unlabeled``) then :meth:`transform` of ``X``."""
        self.space_ = self._resolve_space()
        archs = self._parse_all(X)
        self._fit_unlabeled(unlabeled)
        return self._transform(archs)

    def _parse_one(self, x: Any) -> Any:
        return parse_graph_or_arch(self.space_, x)

    def _fit_unlabeled(self, unlabeled: Iterable | None) -> None:
        space = self.space_
        seed = self.random_state
        if seed is None:  # a fresh seed; such a run is not reproducible and not cached
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        if unlabeled is not None:
            items, source = self._parse_all(unlabeled), "given"
        elif space is None:
            raise ValueError(f"{type(self).__name__} with space=None needs the pretraining "
                             "graphs: fit(..., unlabeled=[ArchGraph, ...])")
        else:
            items, source = default_unlabeled(space, self.n_unlabeled, seed, self.data_dir)
        cells, per_cell = self._cell_graphs(items)
        graphs = unique_graphs(g for c in cells for g in per_cell[c])
        if len(graphs) < 2:
            raise ValueError(
                f"the pretraining set has {len(graphs)} distinct graph(s); need at least 2"
            )
        space_ops = space.ops if space is not None else ()
        vocab = build_vocab(graphs, space_ops, self._specials)
        max_nodes = int(getattr(space, "max_nodes", 0) or max(g.n_nodes for g in graphs))
        device = resolve_device(self.device)
        space_name = space.name if space is not None else "graphs"

        self.cells_ = cells
        self.vocab_ = vocab
        self.max_nodes_ = max_nodes
        params = {k: getattr(self, k) for k in self._model_params}
        key = cache_key({
            "encoder": type(self).__name__, "version": CHECKPOINT_VERSION, "space": space_name,
            "package": nasperf.__version__,
            "code": source_fingerprint("searchspaces", "encoders._graph_tensors",
                                       type(self).__module__.removeprefix("nasperf.")),
            "random_state": seed, "params": params, "vocab": vocab, "max_nodes": max_nodes,
            "data": fingerprint(graphs),
        })
        path = None
        if self.use_cache and self.random_state is not None:
            root = Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_dir()
            path = root / f"{type(self).__name__.lower()}-{space_name}-{key}.pt"
        if path is not None and self._load_cached(path, device):
            log.info("loaded pretrained %s from %s", type(self).__name__, path)
        else:
            with torch_seed(seed, device):
                model = self._build_model().to(device)
                report = self._pretrain(model, graphs, device, seed)
            report.update(n_graphs=len(graphs), source=source, n_unlabeled=len(items))
            self.model_ = model.eval()
            self.pretrain_report_ = report
            if path is not None:
                self.save(path)
                log.info("saved pretrained %s to %s", type(self).__name__, path)
        self.checkpoint_path_ = path
        self.feature_names_out_ = self._feature_names()

    def _cell_graphs(self, items: Iterable) -> tuple[tuple[str, ...], dict]:
        """The cells and graphs the model sees (:func:`cell_graphs`; a subclass may encode
        another graph form of the architectures)."""
        return cell_graphs(self.space_, items)

    def _load_cached(self, path: Path, device: torch.device) -> bool:
        """Restore the checkpoint cached at ``path``; False when it is missing or unreadable
        (truncated, corrupt, another version: then it is pretrained again, with a warning)."""
        if not path.is_file():
            return False
        try:
            self._restore(torch.load(path, map_location=device, weights_only=True), device)
        except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is recomputed
            log.warning("cached checkpoint %s is unreadable (%s: %s); pretraining again",
                        path, type(exc).__name__, exc)
            return False
        return True

    # -- transforming ------------------------------------------------------------------------------
    def _transform(self, archs: list) -> np.ndarray:
        """Per-cell codes concatenated in the order of :attr:`cells_`, float64
        ``[n_archs, n_cells * embedding_dim]``."""
        cells, per_cell = self._cell_graphs(archs)
        if cells != self.cells_:
            raise ValueError(f"architectures have cells {cells}, the encoder {self.cells_}")
        return np.concatenate([self.embed_graphs(per_cell[c]) for c in cells], axis=1)

    def embed_graphs(self, graphs: Sequence[ArchGraph], batch_size: int = 1024) -> np.ndarray:
        """Codes of individual graphs, shape (len(graphs), embedding_dim), float64."""
        check_is_fitted(self, "model_")
        padded = pad_graphs(graphs, self.vocab_, self.max_nodes_)
        device = next(self.model_.parameters()).device
        self.model_.eval()
        out = []
        with torch.no_grad():
            for idx in minibatches(len(padded), batch_size, None):
                out.append(self._embed(self.model_, *padded.subset(idx).tensors(device)).cpu())
        return torch.cat(out).double().numpy()

    # -- fine-tuning -------------------------------------------------------------------------------
    def graph_backbone(self) -> PretrainedBackbone:
        """A copy of the pretrained model as a graph backbone for fine-tuning (on CPU).

        Give it to :class:`nasperf.predictors.GNNPredictor` (``backbone=``), with graphs from
        :meth:`to_graph_data`; the encoder's own model is not changed by fine-tuning.
        """
        check_is_fitted(self, "model_")
        return PretrainedBackbone(copy.deepcopy(self.model_).cpu(), type(self)._embed,
                                  len(self.vocab_), self.max_nodes_, len(self.cells_),
                                  self._embedding_dim())

    def to_graph_data(self, X: Sequence) -> np.ndarray:
        """Architectures as ``torch_geometric.data.Data`` in this encoder's graph form.

        Each architecture gives one graph of ``n_cells * max_nodes_`` nodes: its padded cells
        (:func:`pad_graphs`) one after the other, ``x`` the one-hot ``[n_nodes, len(vocab_)]``
        of the node tokens (padding slots included), ``edge_index`` the cell edges. Every
        graph carries the same :meth:`graph_backbone` as ``data.backbone``, which
        ``GNNPredictor(backbone="pretrained")`` fine-tunes.

        Returns
        -------
        np.ndarray of object, shape (n,)
        """
        data_mod = import_optional("torch_geometric.data", "gnn", "to_graph_data")
        check_is_fitted(self, "model_")
        archs = self._parse_all(X)
        cells, per_cell = self._cell_graphs(archs)
        if cells != self.cells_:
            raise ValueError(f"architectures have cells {cells}, the encoder {self.cells_}")
        padded = [pad_graphs(per_cell[c], self.vocab_, self.max_nodes_) for c in cells]
        n = self.max_nodes_
        eye = torch.eye(len(self.vocab_))
        backbone = self.graph_backbone()
        out = np.empty(len(archs), dtype=object)
        for i in range(len(archs)):
            ops = np.concatenate([p.ops[i] for p in padded])
            edges = np.concatenate([np.argwhere(p.adj[i]) + k * n for k, p in enumerate(padded)])
            d = data_mod.Data(x=eye[torch.as_tensor(ops)],
                              edge_index=torch.as_tensor(edges.T, dtype=torch.long).reshape(2, -1),
                              num_nodes=len(ops))
            d.backbone = backbone
            out[i] = d
        return out

    def _feature_names(self) -> list[str]:
        """``"<stem><k>"`` for one-cell spaces, ``"<cell>_<stem><k>"`` otherwise."""
        d = self._embedding_dim()
        prefixes = [""] if len(self.cells_) == 1 else [f"{c}_" for c in self.cells_]
        return [f"{p}{self._name}{k}" for p in prefixes for k in range(d)]

    # -- checkpoints -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the pretrained model and everything ``load`` needs to ``path`` (torch.save)."""
        check_is_fitted(self, "model_")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "version": CHECKPOINT_VERSION, "encoder": type(self).__name__,
            "space": self.space_.name if self.space_ is not None else "graphs",
            "params": _plain_params(self.get_params()),
            "cells": list(self.cells_), "vocab": list(self.vocab_), "max_nodes": self.max_nodes_,
            "report": _jsonable(self.pretrain_report_), "extra": self._extra_state(),
            "model_state": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
        }
        with atomic_open(path, "wb") as f:  # a unique temporary file: concurrent savers of
            torch.save(state, f)             # one cache entry never collide
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, space: str | SearchSpace | None = None,
             device: str | torch.device = "cpu"):
        """An encoder fitted from a checkpoint written by :meth:`save`.

        ``space`` must be given for a user space (a ``SearchSpace`` object); benchmark spaces
        are found by the name stored in the checkpoint.
        """
        state = torch.load(path, map_location=resolve_device(device), weights_only=True)
        if state.get("encoder") != cls.__name__:
            raise ValueError(
                f"{path} holds a {state.get('encoder')} checkpoint, not {cls.__name__}")
        params = {k: v for k, v in state["params"].items() if k in cls._get_param_names()}
        if space is None and state["space"] != "graphs":
            space = state["space"]
        params.update(space=space, device=str(device))
        enc = cls(**params)
        enc.space_ = enc._resolve_space()
        name = enc.space_.name if enc.space_ is not None else "graphs"
        if name != state["space"]:
            raise ValueError(f"{path} was trained on {state['space']!r}, not {name!r}")
        enc.cells_ = tuple(state["cells"])
        enc.vocab_ = tuple(state["vocab"])
        enc.max_nodes_ = int(state["max_nodes"])
        enc._restore(state, resolve_device(device))
        enc.checkpoint_path_ = Path(path)
        enc.feature_names_out_ = enc._feature_names()
        return enc

    def _restore(self, state: dict, device: torch.device) -> None:
        if state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"checkpoint version {state.get('version')} is not "
                             f"{CHECKPOINT_VERSION}; pretrain again")
        if tuple(state["vocab"]) != self.vocab_ or int(state["max_nodes"]) != self.max_nodes_:
            raise ValueError("checkpoint vocabulary or node count differs from this encoder")
        self._load_extra_state(state.get("extra", {}))
        model = self._build_model()
        model.load_state_dict(state["model_state"])
        self.model_ = model.to(device).eval()
        self.pretrain_report_ = dict(state["report"])

    # -- subclass hooks ----------------------------------------------------------------------------
    def _build_model(self) -> torch.nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _pretrain(self, model: torch.nn.Module, graphs: list[ArchGraph], device: torch.device,
                  seed: int) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _embed(model: torch.nn.Module, ops: torch.Tensor, adj: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Graph codes ``[B, d]`` of padded graphs (a static method, so that
        :class:`PretrainedBackbone` can call it without the encoder)."""
        raise NotImplementedError

    def _embedding_dim(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, extra: dict) -> None:
        pass


def _key_default(obj: Any) -> str:
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"
    return repr(obj)


def _plain_params(params: dict) -> dict:
    """The parameters whose values survive a checkpoint (plain values; not callables)."""
    ok = (type(None), bool, int, float, str)
    return {k: v for k, v in params.items() if isinstance(v, ok)}


def _jsonable(obj: Any) -> Any:
    """Plain Python types only (so that ``torch.load(weights_only=True)`` can read them)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, SearchSpace):
        return obj.name
    return repr(obj)
