"""A graph neural predictor: an ensemble of GIN (or GAT) regressors on torch-geometric graphs.

Input
-----
``X`` holds one graph per architecture, as ``torch_geometric.data.Data`` objects with node
features ``x`` ``[n_nodes, d_node]`` (the same ``d_node`` for all graphs), ``edge_index``
``[2, n_edges]`` and optionally per-graph global features ``u`` ``[1, d_global]`` (e.g.
zero-cost proxies; :class:`nasperf.encoders.GraphDataEncoder` builds such objects). Accepted
containers:

* a sequence (list, tuple, 1-D object array) of ``Data``;
* a 2-D table (``pandas.DataFrame`` or 2-D object array) with exactly one column of ``Data``
  and any number of numeric columns, which are appended to the global features (this is the
  form the benchmark runner passes for the feature set ``graph+zc``).

The global features (``u`` then the numeric columns) follow the ``nan_policy`` and the
huge-value transform of every predictor (:mod:`nasperf.predictors.base`) and are then
standardised. A numeric array without graphs raises ``ValueError``.

Model
-----
Node features go through a linear embedding and ``n_layers`` GIN layers
(``torch_geometric.nn.GINConv`` with a two-layer MLP and a learnable epsilon, ReLU between
layers). With ``edge_direction="both"`` each layer sums a GIN over the edges (data flows from
input to output) and a second GIN over the reversed edges, so a node sees its ancestors and
its descendants through separate weights; ``"forward"`` uses the edges as given. The graph
embedding concatenates the pooled (``pool="add"`` or ``"mean"``) node states of every layer;
the head, an MLP ``head_hidden -> 1``, takes it together with the standardised global
features. ``backbone="gat"`` puts ``GATv2Conv`` attention layers in place of the GIN layers
(:class:`GATBackbone`); ``"gin+gat"`` alternates the two over the ensemble members; more
encoders are added with :func:`register_backbone`.

Training
--------
Targets are standardised. ``loss="mse"`` minimises the squared error; ``loss="pairwise"``
minimises the BPR loss ``-log sigmoid(s_i - s_j)`` over every pair of a mini-batch with
``y_i > y_j`` and then maps each member's scores to the targets by a least-squares affine fit
on its training data (slope kept positive, so the ranking is unchanged), so that predictions
and their spread are in the units of ``y`` either way. Adam with ``lr`` and ``weight_decay``;
with ``early_stopping`` each member holds out ``validation_fraction`` of the training data
(a random split of its own, at least one graph, only with at least 4 graphs), keeps the
weights of its best validation epoch and stops after ``patience`` epochs without
improvement. No data outside ``fit``'s ``X`` is ever used.

Pretraining
-----------
:func:`pretrain_gin` trains a GIN backbone to regress per-graph targets known without
training the networks (zero-cost proxies, GRAF features of an unlabelled pool); passed as
``backbone=`` (or carried by the graphs as ``data.backbone`` with ``backbone="pretrained"``)
it is fine-tuned instead of a GIN initialised at random.

Ensemble and determinism: ``random_state`` gives one seed per member; each member is built
and trained under :func:`nasperf._utils.torch_seed` (the global torch RNG is left
untouched). ``predict(X, return_std=True)`` returns the ensemble mean and the population
standard deviation of the member predictions (0 with ``n_ensemble=1``), in the units of y.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from nasperf._utils import import_optional, resolve_device, torch_seed

from .base import (
    HUGE_VALUE,
    NAN_POLICIES,
    BasePredictor,
    UncertaintyMixin,
    _finite_column_medians,
    graph_column,
    is_graph_data,
    seeds_from,
    standardize_fit,
    timed,
)

logger = logging.getLogger("nasperf.predictors")

LOSSES = ("mse", "pairwise")
POOLS = ("add", "mean")
EDGE_DIRECTIONS = ("both", "forward")
#: Parameter name -> its accepted values (checked by :func:`_check_options`).
_OPTIONS = {"loss": LOSSES, "pool": POOLS, "edge_direction": EDGE_DIRECTIONS}


def _check_options(**values: Any) -> None:
    """Raise ``ValueError`` for a value outside its parameter's options (:data:`_OPTIONS`)."""
    for name, value in values.items():
        if value not in _OPTIONS[name]:
            raise ValueError(f"{name} must be one of {_OPTIONS[name]}, got {value!r}")


def _pyg() -> tuple[Any, Any]:
    """``(torch_geometric.data, torch_geometric.nn)``, or an ImportError naming the extra."""
    data = import_optional("torch_geometric.data", "gnn", "GNNPredictor")
    nn = import_optional("torch_geometric.nn", "gnn", "GNNPredictor")
    return data, nn


def split_graph_input(X: Any) -> tuple[list, np.ndarray | None]:
    """The graphs and the extra numeric global-feature columns of a GNN input.

    Parameters
    ----------
    X : sequence of Data, or a 2-D table (DataFrame / object array) with one ``Data`` column
        See the module docstring.

    Returns
    -------
    graphs : list of Data, length n
    columns : np.ndarray of float64, shape (n, k), or None when there are no numeric columns

    Raises
    ------
    ValueError
        ``X`` holds no graphs (e.g. a numeric feature matrix), more than one graph column,
        a non-numeric extra column, or is empty.
    """
    hint = ("GNNPredictor takes graphs: torch_geometric Data objects (from "
            "nasperf.encoders.GraphDataEncoder, or the 'graph' feature family)")
    if is_graph_data(X) or isinstance(X, (str, bytes)):
        raise ValueError(f"{hint}; got a single {type(X).__name__}, wrap it in a list")
    if isinstance(X, np.ndarray) and X.ndim != 1 and not (X.ndim == 2 and X.dtype == object):
        raise ValueError(f"{hint}; got a {X.dtype} array of shape {X.shape}")
    table = (hasattr(X, "iloc") and hasattr(X, "columns")) or (isinstance(X, np.ndarray)
                                                              and X.ndim == 2)
    if table:  # graph_column finds and checks its one column of graphs
        try:
            col = graph_column(X)
        except ValueError as exc:
            raise ValueError(f"{hint}; {exc}") from None
        if col is None:
            raise ValueError(f"{hint}; got no column of graphs (exactly one is needed)")
        cols = ([X.iloc[:, j].to_numpy() for j in range(X.shape[1])] if hasattr(X, "iloc")
                else [X[:, j] for j in range(X.shape[1])])
    elif isinstance(X, (Sequence, np.ndarray)) or hasattr(X, "iloc"):  # one column
        items = list(X)  # not np.asarray: a Data object is iterable and would be unpacked
        flags = [is_graph_data(v) for v in items]
        if items and not any(flags):
            shape = np.shape(items) if all(np.ndim(v) <= 1 for v in items) else len(items)
            raise ValueError(f"{hint}; got a {type(X).__name__} without graphs (shape {shape})")
        if not all(flags):
            raise ValueError(f"{hint}; got a {type(X).__name__} that mixes graphs and other "
                             f"values")
        col, cols = 0, [np.empty(len(items), dtype=object)]
        for i, v in enumerate(items):  # one by one: numpy would unpack the iterable Data
            cols[0][i] = v
    else:
        raise ValueError(f"{hint}; got {type(X).__name__}")
    if len(cols[col]) == 0:
        raise ValueError(f"{hint}; got no samples")
    graphs = list(cols[col])
    extra = [c for j, c in enumerate(cols) if j != col]
    if not extra:
        return graphs, None
    try:
        num = np.column_stack([np.asarray(c, dtype=np.float64) for c in extra])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the columns beside the graphs must be numeric global features: "
                         f"{exc}") from None
    return graphs, num


def _graph_parts(graphs: list) -> tuple[int, int]:
    """``(d_node, d_u)`` shared by all graphs; ValueError naming the first bad graph."""
    d_node = d_u = None
    for i, g in enumerate(graphs):
        x = getattr(g, "x", None)
        ei = getattr(g, "edge_index", None)
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[0] < 1:
            raise ValueError(f"graph {i} has no node features x of shape [n_nodes, d]")
        if not isinstance(ei, torch.Tensor) or ei.dim() != 2 or ei.shape[0] != 2:
            raise ValueError(f"graph {i} has no edge_index of shape [2, n_edges]")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= x.shape[0]):
            raise ValueError(f"graph {i}: edge_index refers to nodes outside 0..{x.shape[0] - 1}")
        u = getattr(g, "u", None)
        if u is not None and not isinstance(u, torch.Tensor):
            raise ValueError(f"graph {i}: global features u must be a tensor [1, d]")
        du = 0 if u is None else int(u.reshape(1, -1).shape[1])
        if d_node is None:
            d_node, d_u = int(x.shape[1]), du
        elif int(x.shape[1]) != d_node or du != d_u:
            raise ValueError(f"graph {i} has {x.shape[1]} node features and {du} global "
                             f"features, graph 0 has {d_node} and {d_u}")
    return d_node, d_u


class _Packed:
    """Graphs collated once (``torch_geometric.data.Batch``) with fast sub-batch selection."""

    def __init__(self, graphs: list, u: np.ndarray | None, device):
        data, _ = _pyg()
        plain = [data.Data(x=g.x.float(), edge_index=g.edge_index.long(), num_nodes=g.x.shape[0])
                 for g in graphs]
        batch = data.Batch.from_data_list(plain)
        self.n = len(graphs)
        self.x = batch.x.to(device)
        self.edge_index = batch.edge_index.to(device)
        self.ptr = batch.ptr.to(device)
        self.edge_graph = batch.batch[batch.edge_index[0]].to(device)
        self.u = (torch.as_tensor(u, dtype=torch.float32, device=device)
                  if u is not None and u.shape[1] else None)

    def subset(self, idx):
        """``(x, edge_index, batch, u, n_graphs)`` of the graphs ``idx`` (a long tensor)."""
        dev = self.x.device
        idx = idx.to(dev)
        starts, counts = self.ptr[idx], self.ptr[idx + 1] - self.ptr[idx]
        total = int(counts.sum())
        first = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
        nodes = torch.repeat_interleave(starts, counts) + torch.arange(total, device=dev) - first
        new_id = torch.full((self.x.shape[0],), -1, dtype=torch.long, device=dev)
        new_id[nodes] = torch.arange(total, device=dev)
        chosen = torch.zeros(self.n, dtype=torch.bool, device=dev)
        chosen[idx] = True
        edges = new_id[self.edge_index[:, chosen[self.edge_graph]]]
        batch = torch.repeat_interleave(torch.arange(len(idx), device=dev), counts)
        u = self.u[idx] if self.u is not None else None
        return self.x[nodes], edges, batch, u, len(idx)


class _StackedBackbone(nn.Module):
    """A linear node embedding, ``n_layers`` message-passing layers made by ``conv()`` (with
    ``both``, each summed with a second one over the reversed edges; ReLU after each) and the
    pooled node states of every layer concatenated: ``[n_graphs, hidden * n_layers]``."""

    def __init__(self, d_node: int, hidden: int, n_layers: int, pool: str, both: bool,
                 conv: Callable[[], nn.Module]):
        super().__init__()
        self.pool = pool
        self.in_dim = d_node
        self.out_dim = hidden * n_layers
        self.embed = nn.Linear(d_node, hidden)
        self.convs = nn.ModuleList(conv() for _ in range(n_layers))
        self.rconvs = nn.ModuleList(conv() for _ in range(n_layers)) if both else None

    def forward(self, x, edge_index, batch, n_graphs: int):
        _, gnn = _pyg()
        pool_fn = gnn.global_add_pool if self.pool == "add" else gnn.global_mean_pool
        h = self.embed(x)
        rev = edge_index.flip(0)
        pooled = []
        for k, conv in enumerate(self.convs):
            out = conv(h, edge_index)
            if self.rconvs is not None:
                out = out + self.rconvs[k](h, rev)
            h = torch.relu(out)
            pooled.append(pool_fn(h, batch, size=n_graphs))
        return torch.cat(pooled, dim=1)


class GINBackbone(_StackedBackbone):
    """The GIN graph encoder of the module docstring: graphs -> one vector per graph.

    The graph-backbone interface (shared with pretrained backbones such as
    :meth:`nasperf.encoders.Arch2VecEncoder.graph_backbone`):
    ``forward(x, edge_index, batch, n_graphs) -> [n_graphs, out_dim]`` on a PyG mini-batch
    (node features ``[n_nodes, d_node]``, edges ``[2, n_edges]``, the graph of every node
    ``[n_nodes]``), with the attribute ``out_dim``.
    """

    def __init__(self, d_node: int, hidden: int, n_layers: int, pool: str, both: bool):
        _, gnn = _pyg()

        def gin() -> nn.Module:
            return gnn.GINConv(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(),
                                             nn.Linear(hidden, hidden)), train_eps=True)

        super().__init__(d_node, hidden, n_layers, pool, both, gin)


class GATBackbone(_StackedBackbone):
    """A graph-attention encoder with the interface of :class:`GINBackbone`: the same linear
    node embedding, edge directions and readout, with ``GATv2Conv`` layers (``heads``
    attention heads of width ``hidden // heads``, concatenated, self-loops added) in place of
    the GIN layers."""

    def __init__(self, d_node: int, hidden: int, n_layers: int, pool: str, both: bool,
                 heads: int = 4):
        _, gnn = _pyg()
        if hidden % heads:
            raise ValueError(f"hidden_dim {hidden} must be a multiple of the {heads} heads")

        def gat() -> nn.Module:
            return gnn.GATv2Conv(hidden, hidden // heads, heads=heads)

        super().__init__(d_node, hidden, n_layers, pool, both, gat)


#: Backbone name -> builder ``(d_node, hidden, n_layers, pool, both) -> module`` with the
#: interface of :class:`GINBackbone` (see :func:`register_backbone`).
BACKBONES: dict[str, Any] = {"gin": GINBackbone, "gat": GATBackbone}


def register_backbone(name: str, builder: Any) -> None:
    """Make ``GNNPredictor(backbone=name)`` build its members' encoders with ``builder(d_node,
    hidden_dim, n_layers, pool, both_directions)``; ``name`` must be new and may not be
    ``"pretrained"``."""
    if name in BACKBONES or name == "pretrained" or "+" in name:
        raise ValueError(f"backbone name {name!r} is taken or reserved")
    BACKBONES[name] = builder


def _backbone_names(backbone: Any) -> list[str] | None:
    """The registry names of ``backbone`` (``"gin"``, ``"gin+gat"``), or None when it is not
    made of registry names."""
    if not isinstance(backbone, str) or backbone == "pretrained":
        return None
    names = backbone.split("+")
    return names if all(n in BACKBONES for n in names) else None


def normal_scores(values: Any) -> np.ndarray:
    """Each column's ranks (ties averaged) as standard normal scores, shape kept; NaN and inf
    entries become NaN. For heavy-tailed columns such as zero-cost proxies."""
    from scipy.stats import norm, rankdata

    targets = np.asarray(values, dtype=np.float64)
    targets = targets[:, None] if targets.ndim == 1 else targets
    out = np.full(targets.shape, np.nan)
    for j, col in enumerate(targets.T):
        ok = np.isfinite(col)
        out[ok, j] = norm.ppf(rankdata(col[ok]) / (ok.sum() + 1))
    return out


def pretrain_gin(graphs: Sequence, targets: Any, *, hidden_dim: int = 64, n_layers: int = 3,
                 pool: str = "add", edge_direction: str = "both", epochs: int = 100,
                 batch_size: int = 128, lr: float = 1e-3, random_state: int = 0,
                 device: str = "cpu", progress: bool = True) -> GINBackbone:
    """A :class:`GINBackbone` pretrained to regress per-graph ``targets`` from ``graphs``.

    Meant for quantities known without training the networks (zero-cost proxies, GRAF
    features) on an unlabelled pool, so that :class:`GNNPredictor` (``backbone=`` the result,
    or ``"pretrained"`` with graphs carrying it as ``data.backbone``) fine-tunes a GIN that
    already tells the pool's architectures apart.

    Each target column is standardised (z-scores); columns with fewer than two distinct
    finite values are dropped, and NaN or inf entries are left out of the loss. Heavy-tailed
    columns (raw proxies such as ``synflow``, up to 1e61) must be transformed first, e.g. by
    :func:`normal_scores`; values beyond 1e15 raise ``ValueError``. The backbone and a linear
    head ``[out_dim, 128] -> ReLU -> [128, k]`` minimise the mean squared error with Adam
    (``lr``) for ``epochs`` epochs of mini-batches of ``batch_size`` graphs.

    Parameters
    ----------
    graphs : sequence of torch_geometric.data.Data, length n (global features are ignored)
    targets : array-like of shape (n, k)
    hidden_dim, n_layers, pool, edge_direction
        The GIN, as in :class:`GNNPredictor` (which fine-tunes the backbone as it is and
        ignores its own GIN settings then).
    random_state : int
        Seeds the initialisation and the batch order (the global torch RNG is untouched).

    Returns
    -------
    GINBackbone on CPU in eval mode, with ``in_dim`` (node features) and ``out_dim``.
    """
    from tqdm.auto import tqdm

    graphs = list(graphs)
    if not graphs or not all(is_graph_data(g) for g in graphs):
        raise ValueError("pretrain_gin needs a non-empty sequence of torch_geometric Data")
    try:
        T = np.asarray(targets, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"targets must be numeric: {exc}") from None
    if T.ndim != 2 or T.shape[0] != len(graphs):
        raise ValueError(f"targets must have shape ({len(graphs)}, k) for {len(graphs)} graphs, "
                         f"got {T.shape}")
    _check_options(pool=pool, edge_direction=edge_direction)
    keep = [j for j in range(T.shape[1]) if len(np.unique(T[np.isfinite(T[:, j]), j])) > 1]
    if not keep:
        raise ValueError("pretrain_gin: no target column has two distinct finite values")
    T = np.where(np.isfinite(T[:, keep]), T[:, keep], np.nan)
    huge = np.flatnonzero(np.nanmax(np.abs(T), axis=0) > 1e15)
    if huge.size:
        raise ValueError(f"target columns {[keep[j] for j in huge]} have values beyond 1e15; "
                         "transform heavy-tailed targets first, e.g. with normal_scores")
    d_node, _ = _graph_parts(graphs)
    dev = resolve_device(device)
    packed = _Packed(graphs, None, dev)
    scores = (T - np.nanmean(T, axis=0)) / np.nanstd(T, axis=0)
    tT = torch.as_tensor(np.nan_to_num(scores), dtype=torch.float32, device=dev)
    mask = torch.as_tensor(np.isfinite(scores), dtype=torch.float32, device=dev)
    with torch_seed(random_state, dev) as gen:
        backbone = GINBackbone(d_node, int(hidden_dim), int(n_layers), pool,
                               edge_direction == "both").to(dev)
        head = nn.Sequential(nn.Linear(backbone.out_dim, 128), nn.ReLU(),
                             nn.Linear(128, len(keep))).to(dev)
        opt = torch.optim.Adam([*backbone.parameters(), *head.parameters()], lr=lr,
                               fused=True)
        bar = tqdm(range(int(epochs)), desc="GIN pretraining", disable=not progress,
                   leave=False)
        for _ in bar:
            total = 0.0
            for batch in torch.split(torch.randperm(packed.n, generator=gen), int(batch_size)):
                x, edges, graph_of, _, n_graphs = packed.subset(batch)
                b = batch.to(dev)
                err = (head(backbone(x, edges, graph_of, n_graphs)) - tT[b]) ** 2 * mask[b]
                loss = err.sum() / mask[b].sum().clamp(min=1.0)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(batch)
            bar.set_postfix(loss=f"{total / packed.n:.3f}")
    logger.info("GIN pretrained on %d graphs, %d targets: loss %.3f", packed.n, len(keep),
                total / packed.n)
    return backbone.cpu().eval()


class _GraphRegressor(nn.Module):
    """A graph backbone and an MLP head on its output and the global features (defined at
    module level so that fitted predictors pickle)."""

    def __init__(self, backbone: nn.Module, d_global: int, head_hidden: Sequence[int],
                 dropout: float):
        super().__init__()
        self.backbone = backbone
        layers: list[nn.Module] = []
        width = int(backbone.out_dim) + d_global
        for h in head_hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU(), nn.Dropout(dropout)]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        self.head = nn.Sequential(*layers)

    def forward(self, x, edge_index, batch, u, n_graphs: int):
        z = self.backbone(x, edge_index, batch, n_graphs)
        if u is not None:
            z = torch.cat([z, u], dim=1)
        return self.head(z).squeeze(-1)


def _pairwise_loss(s, t):
    """Mean BPR loss ``-log sigmoid(s_i - s_j)`` over the pairs with ``t_i > t_j``."""
    better = t[:, None] > t[None, :]
    if not bool(better.any()):
        return (s * 0.0).sum()
    return torch.nn.functional.softplus(-(s[:, None] - s[None, :])[better]).mean()


class GNNPredictor(UncertaintyMixin, BasePredictor):
    """Ensemble of GIN regressors on graphs; mean and spread of the member predictions.

    See the module docstring for the input, the model and the training.

    Parameters
    ----------
    hidden_dim : int, default 64
        Width of the node states.
    n_layers : int, default 3
        Number of GIN layers.
    pool : {"add", "mean"}, default "add"
        Graph readout of the node states.
    edge_direction : {"both", "forward"}, default "both"
    head_hidden : tuple of int, default (64,)
        Hidden widths of the head MLP.
    dropout : float, default 0.0
        Dropout in the head.
    loss : {"mse", "pairwise"}, default "mse"
    n_ensemble : int, default 3
        Number of members.
    lr : float, default 1e-3
    weight_decay : float, default 1e-4
    max_epochs : int, default 200
        Epochs per member (upper bound with early stopping).
    batch_size : int, default 32
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data per member and keep its best
        validation epoch (module docstring). Off by default: on NB201 training sets of 32
        and 128 cells, cross-validation inside the training data preferred training every
        member on all of it for ``max_epochs`` (``benchmarks/bench_gnn.py --tune``).
    validation_fraction : float, default 0.2
    patience : int, default 20
    backbone : str or torch.nn.Module, default "gin"
        The graph encoder: ``"gin"`` builds the GIN of the module docstring (from
        ``hidden_dim``, ``n_layers``, ``pool``, ``edge_direction``), ``"gat"`` the same
        with attention layers (:class:`GATBackbone`), any name of :data:`BACKBONES` its
        builder; names joined with ``+`` (``"gin+gat"``) take turns over the members, a
        mixed ensemble; a module (interface of
        :class:`GINBackbone`: ``forward(x, edge_index, batch, n_graphs) -> [n_graphs,
        out_dim]``, attribute ``out_dim``, optionally ``in_dim``) is copied into every member
        and fine-tuned with the head, e.g. arch2vec's encoder pretrained without labels
        (:meth:`nasperf.encoders.Arch2VecEncoder.graph_backbone`) or a GIN pretrained on
        proxies (:func:`pretrain_gin`); ``"pretrained"`` takes the
        module the training graphs carry as ``data.backbone``
        (:meth:`nasperf.encoders.Arch2VecEncoder.to_graph_data`, the ``arch2vec_graph`` and
        ``pretrained_graph`` feature families). The caller's module is never changed.
    backbone_lr : float or None, default None
        Learning rate of the backbone's parameters (None: ``lr``).
    device : str, default "cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"``.
    nan_policy : {"impute", "raise"}, default "impute"
        For the global features (:mod:`nasperf.predictors.base`).
    random_state : int, RandomState or None

    Attributes
    ----------
    estimators_ : list of torch.nn.Module, the fitted members (eval mode, on ``device``).
    pretrained_ : torch.nn.Module or None, a CPU copy of the backbone before fine-tuning.
    calibration_ : list of (float, float), per member ``(slope, intercept)`` from scores to
        standardised targets (``(1, 0)`` with ``loss="mse"``).
    n_epochs_ : list of int, epochs each member trained for.
    n_node_features_, n_global_features_ : int
    impute_values_, log_columns_ : the NaN/inf and huge-value state of the global features.
    u_mean_, u_scale_, y_mean_, y_scale_ : standardisation constants.
    fit_time_ : float, seconds.
    """

    accepts_graphs = True  # the benchmark runner gives it the 'graph' feature family
    _min_samples = 2

    def __init__(
        self,
        *,
        hidden_dim: int = 64,
        n_layers: int = 3,
        pool: str = "add",
        edge_direction: str = "both",
        head_hidden: Sequence[int] = (64,),
        dropout: float = 0.0,
        loss: str = "mse",
        n_ensemble: int = 3,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 200,
        batch_size: int = 32,
        early_stopping: bool = False,
        validation_fraction: float = 0.2,
        patience: int = 20,
        backbone: Any = "gin",
        backbone_lr: float | None = None,
        device: str = "cpu",
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.pool = pool
        self.edge_direction = edge_direction
        self.head_hidden = head_hidden
        self.dropout = dropout
        self.loss = loss
        self.n_ensemble = n_ensemble
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.backbone = backbone
        self.backbone_lr = backbone_lr
        self.device = device
        self.nan_policy = nan_policy
        self.random_state = random_state

    # -- public API (graphs instead of arrays) ---------------------------------------------------
    def fit(self, X, y) -> GNNPredictor:
        """Fit on ``n`` graphs ``X`` (module docstring) and targets ``y`` ``(n,)``."""
        self._check_params()
        graphs, u = self._validate_graphs(X, reset=True)
        y = self._validate_y(y, len(graphs))
        self.pretrained_ = self._resolve_backbone(graphs)
        with timed(f"{type(self).__name__}.fit", (len(graphs), self.n_node_features_)) as t:
            self._fit_graphs(graphs, u, y)
        self.fit_time_ = t["seconds"]
        return self

    def predict(self, X, return_std: bool = False):
        """Predicted targets ``(n,)`` for ``n`` graphs; with ``return_std`` also their std."""
        check_is_fitted(self, "estimators_")
        graphs, u = self._validate_graphs(X, reset=False)
        with timed(f"{type(self).__name__}.predict", (len(graphs), self.n_node_features_),
                   logging.DEBUG):
            return self._predict_graphs(graphs, u, return_std)

    def clean_input(self, X) -> np.ndarray:
        """The global features ``(n, d_global)`` the fitted model sees (after the NaN policy
        and the huge-value transform, before standardisation)."""
        check_is_fitted(self, "estimators_")
        return self._validate_graphs(X, reset=False)[1]

    # -- validation --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {self.nan_policy!r}")
        _check_options(loss=self.loss, pool=self.pool, edge_direction=self.edge_direction)
        for name in ("hidden_dim", "n_layers", "n_ensemble", "max_epochs", "batch_size",
                     "patience"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if any(int(h) < 1 for h in self.head_hidden):
            raise ValueError(f"head_hidden must be positive, got {tuple(self.head_hidden)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.backbone_lr is not None and not self.backbone_lr > 0:
            raise ValueError(f"backbone_lr must be positive or None, got {self.backbone_lr}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}")

    def _validate_y(self, y, n: int) -> np.ndarray:
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must be numeric: {exc}") from None
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y must have shape ({n},) for {n} graphs, got {y.shape}")
        if not np.isfinite(y).all():
            raise ValueError(f"y contains {int((~np.isfinite(y)).sum())} NaN or inf value(s); "
                             "targets must be finite")
        if n < self._min_samples:
            raise ValueError(f"GNNPredictor needs at least {self._min_samples} graphs, got {n}")
        return y

    def _resolve_backbone(self, graphs: list) -> nn.Module | None:
        """The pretrained backbone to fine-tune (a CPU copy), or None for new encoders built
        from registry names."""
        bb = self.backbone
        if _backbone_names(bb) is not None:
            return None
        if isinstance(bb, str) and bb == "pretrained":
            carried = [getattr(g, "backbone", None) for g in graphs]
            if carried[0] is None or any(b is not carried[0] for b in carried):
                raise ValueError(
                    "backbone='pretrained' fine-tunes the backbone the graphs carry as "
                    "data.backbone (one module shared by all graphs, e.g. from "
                    "nasperf.encoders.Arch2VecEncoder.to_graph_data); these graphs carry "
                    + ("none" if carried[0] is None else "different ones"))
            bb = carried[0]
        if not isinstance(bb, nn.Module) or not isinstance(getattr(bb, "out_dim", None), int):
            raise ValueError(f"backbone must be a name of {sorted(BACKBONES)} (several "
                             f"joined with '+'), 'pretrained' or a torch module with "
                             f"an integer out_dim and forward(x, edge_index, batch, n_graphs) "
                             f"-> [n_graphs, out_dim]; got {bb!r:.80}")
        in_dim = getattr(bb, "in_dim", None)
        if in_dim is not None and int(in_dim) != self.n_node_features_:
            raise ValueError(f"the backbone takes {in_dim} node features, the graphs have "
                             f"{self.n_node_features_}")
        return copy.deepcopy(bb).cpu()

    def _validate_graphs(self, X, reset: bool) -> tuple[list, np.ndarray]:
        """Graphs and their global features ``(n, d_global)`` after the NaN/huge policy."""
        graphs, extra = split_graph_input(X)
        d_node, d_u = _graph_parts(graphs)
        parts = []
        if d_u:
            parts.append(np.stack([g.u.detach().cpu().reshape(-1).double().numpy()
                                   for g in graphs]))
        if extra is not None:
            parts.append(extra)
        u = np.concatenate(parts, axis=1) if parts else np.zeros((len(graphs), 0))
        if reset:
            self.n_node_features_, self.n_global_features_ = d_node, u.shape[1]
            self.impute_values_ = (_finite_column_medians(u) if self.nan_policy == "impute"
                                   else None)
        elif (d_node, u.shape[1]) != (self.n_node_features_, self.n_global_features_):
            raise ValueError(
                f"X has {d_node} node features and {u.shape[1]} global features, but "
                f"GNNPredictor was fitted with {self.n_node_features_} and "
                f"{self.n_global_features_}")
        u = self._handle_nonfinite(u)
        if reset:
            self.log_columns_ = (np.flatnonzero(np.abs(u).max(axis=0) > HUGE_VALUE)
                                 if u.shape[1] else np.zeros(0, np.intp))
        return graphs, self._handle_huge(u)

    # -- training ----------------------------------------------------------------------------------
    def _fit_graphs(self, graphs: list, u: np.ndarray, y: np.ndarray) -> None:
        self.u_mean_, self.u_scale_ = (standardize_fit(u) if u.shape[1]
                                       else (np.zeros(0), np.ones(0)))
        y_mean, y_scale = standardize_fit(y[:, None])
        self.y_mean_, self.y_scale_ = float(y_mean[0]), float(y_scale[0])
        dev = resolve_device(self.device)
        packed = _Packed(graphs, (u - self.u_mean_) / self.u_scale_, dev)
        ty = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32, device=dev)
        self.estimators_, self.calibration_, self.n_epochs_ = [], [], []
        for member, seed in enumerate(seeds_from(self.random_state, self.n_ensemble)):
            net, cal, epochs = self._fit_member(packed, ty, seed, member)
            self.estimators_.append(net)
            self.calibration_.append(cal)
            self.n_epochs_.append(epochs)

    def _new_net(self, member: int):
        """Member ``member``'s network: the pretrained backbone copied, or the next encoder
        of the registry names."""
        if self.pretrained_ is not None:
            backbone = copy.deepcopy(self.pretrained_)
        else:
            names = _backbone_names(self.backbone)
            backbone = BACKBONES[names[member % len(names)]](
                self.n_node_features_, int(self.hidden_dim), int(self.n_layers), self.pool,
                self.edge_direction == "both")
        return _GraphRegressor(backbone, self.n_global_features_, tuple(self.head_hidden),
                               float(self.dropout))

    def _fit_member(self, packed: _Packed, ty, seed: int, member: int = 0):
        n = packed.n
        loss_fn = torch.nn.functional.mse_loss if self.loss == "mse" else _pairwise_loss
        with torch_seed(seed, ty.device) as gen:
            net = self._new_net(member).to(ty.device)
            perm = torch.randperm(n, generator=gen)
            n_val = max(1, int(round(self.validation_fraction * n)))
            use_val = self.early_stopping and n >= 4
            val_idx, train_idx = (perm[:n_val], perm[n_val:]) if use_val else (perm[:0], perm)
            val = packed.subset(val_idx) if use_val else None
            groups = [{"params": net.head.parameters()},
                      {"params": net.backbone.parameters(),
                       "lr": self.lr if self.backbone_lr is None else self.backbone_lr}]
            # the fused kernel: one call per step instead of one per parameter tensor (the
            # steps of these small networks are dominated by per-call overheads)
            opt = torch.optim.Adam(groups, lr=self.lr, weight_decay=self.weight_decay,
                                   fused=True)
            best_loss, best_state, since_best, n_epochs = float("inf"), None, 0, 0
            while n_epochs < self.max_epochs:
                n_epochs += 1
                net.train()
                order = train_idx[torch.randperm(len(train_idx), generator=gen)]
                for batch in torch.split(order, int(self.batch_size)):
                    if len(batch) < 2 and len(order) >= 2:
                        continue  # a lone graph gives no pair and a noisy step
                    opt.zero_grad()
                    loss = loss_fn(net(*packed.subset(batch)), ty[batch.to(ty.device)])
                    loss.backward()
                    opt.step()
                if not use_val:
                    continue
                net.eval()
                with torch.no_grad():
                    val_loss = float(loss_fn(net(*val), ty[val_idx.to(ty.device)]))
                if val_loss < best_loss - 1e-7:
                    best_loss, best_state, since_best = (val_loss, copy.deepcopy(net.state_dict()),
                                                         0)
                else:
                    since_best += 1
                    if since_best >= self.patience:
                        break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        cal = (1.0, 0.0)
        if self.loss == "pairwise":
            s = self._scores(net, packed)
            t = ty.cpu().numpy().astype(np.float64)
            var = float(np.var(s))
            slope = float(np.cov(s, t, bias=True)[0, 1] / var) if var > 1e-12 else 0.0
            slope = max(slope, 1e-6)
            cal = (slope, float(t.mean() - slope * s.mean()))
        return net, cal, n_epochs

    # -- prediction --------------------------------------------------------------------------------
    @staticmethod
    def _scores(net, packed: _Packed, batch_size: int = 4096) -> np.ndarray:
        net.eval()
        out = []
        with torch.no_grad():
            for idx in torch.split(torch.arange(packed.n), batch_size):
                out.append(net(*packed.subset(idx)).cpu())
        return torch.cat(out).numpy().astype(np.float64)

    def _predict_graphs(self, graphs: list, u: np.ndarray, return_std: bool):
        dev = resolve_device(self.device)
        packed = _Packed(graphs, (u - self.u_mean_) / self.u_scale_, dev)
        preds = np.stack([a * self._scores(net, packed) + b
                          for net, (a, b) in zip(self.estimators_, self.calibration_)])
        mean = preds.mean(axis=0) * self.y_scale_ + self.y_mean_
        if not return_std:
            return mean
        return mean, preds.std(axis=0) * self.y_scale_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = self.nan_policy == "impute"
        return tags
