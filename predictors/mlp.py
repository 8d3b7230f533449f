"""An ensemble of MLP regressors (BANANAS-style): mean prediction, member spread as uncertainty.

Each member is a fully connected network ``d -> hidden_layer_sizes -> 1`` trained with Adam
on the mean squared error of standardised targets, from standardised inputs (constant
columns are left at 0). Members differ by their initialisation, their mini-batch order
and, with ``early_stopping``, by their random held-out split: a member trains on
``1 - validation_fraction`` of the data, keeps the weights of its best validation epoch and
stops after ``patience`` epochs without improvement.

Determinism: ``random_state`` gives one seed per member; a member's weight initialisation
runs under :func:`nasperf._utils.torch_seed` (the global torch RNG is left untouched) and
its shuffling uses the ``torch.Generator`` seeded alike. The same ``random_state`` on the
same machine and torch build gives identical predictions.

``predict(X, return_std=True)`` returns the ensemble mean and the population standard
deviation of the member predictions (0 when ``n_estimators == 1``), in the units of ``y``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nasperf._utils import resolve_device, torch_seed

from .base import BasePredictor, UncertaintyMixin, seeds_from, standardize_fit

logger = logging.getLogger("nasperf.predictors")

#: Activation name -> module class.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def build_mlp(n_in: int, hidden: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """A float32 MLP ``n_in -> hidden... -> 1``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    if any(int(h) < 1 for h in hidden):
        raise ValueError(f"hidden_layer_sizes must be positive, got {tuple(hidden)}")
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, int(h)), ACTIVATIONS[activation]()]
        width = int(h)
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def predict_module(net: nn.Module, X: torch.Tensor, batch_size: int = 8192) -> np.ndarray:
    """Outputs ``(n,)`` of a scalar-output network in eval mode, without gradients."""
    net.eval()
    with torch.no_grad():
        out = [net(chunk).squeeze(-1) for chunk in torch.split(X, batch_size)]
    return torch.cat(out).cpu().numpy().astype(np.float64)


class MLPEnsemblePredictor(UncertaintyMixin, BasePredictor):
    """Ensemble of independently initialised MLPs; mean and spread of their predictions.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (64, 64)
        Widths of the hidden layers of each member.
    n_estimators : int, default 5
        Number of members.
    activation : {"relu", "tanh", "gelu", "silu"}, default "relu"
    lr : float, default 1e-3
        Adam learning rate.
    weight_decay : float, default 0.0
        Adam weight decay (L2).
    max_epochs : int, default 200
        Epochs per member (upper bound when early stopping).
    batch_size : int, default 32
    early_stopping : bool, default True
        Hold out ``validation_fraction`` of the data per member (at least one sample, and
        only when at least 4 samples) and keep the best validation epoch.
    validation_fraction : float, default 0.1
    patience : int, default 20
        Epochs without validation improvement before a member stops.
    device : str, default "cpu"
        Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"`` (CUDA when available).
    nan_policy : {"impute", "raise"}, default "impute"
    random_state : int, RandomState or None

    Attributes
    ----------
    estimators_ : list of torch.nn.Sequential, the fitted members (eval mode).
    n_epochs_ : list of int, epochs each member trained for.
    x_mean_, x_scale_, y_mean_, y_scale_ : standardisation constants.
    fit_time_ : float, seconds.
    """

    def __init__(
        self,
        *,
        hidden_layer_sizes: Sequence[int] = (64, 64),
        n_estimators: int = 5,
        activation: str = "relu",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        max_epochs: int = 200,
        batch_size: int = 32,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 20,
        device: str = "cpu",
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_estimators = n_estimators
        self.activation = activation
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.nan_policy = nan_policy
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.n_estimators < 1 or self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError("n_estimators, max_epochs and batch_size must be >= 1")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )
        self.x_mean_, self.x_scale_ = standardize_fit(X)
        y_mean, y_scale = standardize_fit(y[:, None])
        self.y_mean_, self.y_scale_ = float(y_mean[0]), float(y_scale[0])
        dev = resolve_device(self.device)
        tx = torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float32, device=dev)
        ty = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32, device=dev)

        self.estimators_, self.n_epochs_ = [], []
        for seed in seeds_from(self.random_state, self.n_estimators):
            net, epochs = self._fit_member(tx, ty, seed)
            self.estimators_.append(net)
            self.n_epochs_.append(epochs)

    def _fit_member(self, tx: torch.Tensor, ty: torch.Tensor, seed: int):
        n = len(tx)
        with torch_seed(seed, tx.device) as gen:
            net = build_mlp(tx.shape[1], self.hidden_layer_sizes, self.activation)
            perm = torch.randperm(n, generator=gen)
        net = net.to(tx.device)
        n_val = max(1, int(round(self.validation_fraction * n)))
        use_val = self.early_stopping and n >= 4
        val_idx, train_idx = (perm[:n_val], perm[n_val:]) if use_val else (perm[:0], perm)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = nn.MSELoss()
        best_loss, best_state, since_best = float("inf"), None, 0
        n_epochs = 0
        while n_epochs < self.max_epochs:
            n_epochs += 1
            net.train()
            order = train_idx[torch.randperm(len(train_idx), generator=gen)]
            for batch in torch.split(order, self.batch_size):
                opt.zero_grad()
                loss = loss_fn(net(tx[batch]).squeeze(-1), ty[batch])
                loss.backward()
                opt.step()
            if not use_val:
                continue
            net.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(net(tx[val_idx]).squeeze(-1), ty[val_idx]))
            if val_loss < best_loss - 1e-7:
                best_loss, best_state, since_best = val_loss, copy.deepcopy(net.state_dict()), 0
            else:
                since_best += 1
                if since_best >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        return net.eval(), n_epochs

    def _predict(self, X: np.ndarray, return_std: bool):
        tx = torch.as_tensor(
            (X - self.x_mean_) / self.x_scale_, dtype=torch.float32,
            device=resolve_device(self.device),
        )
        preds = np.stack([predict_module(net, tx) for net in self.estimators_])
        mean = preds.mean(axis=0) * self.y_scale_ + self.y_mean_
        if not return_std:
            return mean
        return mean, preds.std(axis=0) * self.y_scale_
