"""Learning-to-rank predictors: LightGBM LambdaRank and a pairwise (RankNet) neural ranker.

NAS mostly needs the *ordering* of architectures. These predictors are trained on rank
information only and ``predict`` returns **scores whose ordering is the prediction**: higher
score = higher predicted target. The scores are not on the scale of ``y`` (do not read them
as accuracies), so ``score(X, y)`` is Kendall's tau between ``y`` and the scores instead of
the R^2 of :class:`sklearn.base.RegressorMixin`, and the scikit-learn ``poor_score`` tag is
set (its R^2-based checks do not apply).

LambdaRank (:class:`LambdaRankPredictor`)
    ``y`` is turned into integer relevance levels ``0 .. n_levels-1`` by quantile bins: with
    ``q_k`` the ``k / n_levels`` quantiles of the training targets (k = 1..n_levels-1), the
    level of ``y_i`` is the number of ``q_k <= y_i`` (ties share a level, so heavily tied
    targets give fewer levels). The gain of level ``l`` is ``l`` (linear). All training
    points form one query group; more than ``max_group_size`` points are split at random
    into near-equal groups. ``lambdarank_truncation_level`` is the group size, so every
    pair in a group contributes.
Pairwise neural ranker (:class:`PairwiseRankerPredictor`)
    An MLP scorer ``s(x)`` trained with the RankNet loss ``log(1 + exp(-(s_i - s_j)))`` on
    pairs with ``y_i > y_j``, drawn uniformly at random each epoch (ties are skipped).
    Deterministic given ``random_state`` (see :mod:`nasperf.predictors.mlp`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nasperf._utils import import_optional, resolve_device, torch_seed

from .base import BasePredictor, RankerMixin, make_estimator, seeds_from, standardize_fit
from .mlp import build_mlp, predict_module

logger = logging.getLogger("nasperf.predictors")


def relevance_levels(y: np.ndarray, n_levels: int) -> np.ndarray:
    """Integer relevance levels ``(n,)`` in ``0..n_levels-1`` from quantile bins of ``y``."""
    if n_levels < 2:
        raise ValueError(f"n_levels must be >= 2, got {n_levels}")
    edges = np.quantile(y, np.linspace(0.0, 1.0, n_levels + 1)[1:-1])
    return np.searchsorted(edges, y, side="right").astype(np.int64)


class LambdaRankPredictor(RankerMixin, BasePredictor):
    """LightGBM LambdaRank on quantile relevance levels; see the module docstring.

    Parameters
    ----------
    n_levels : int, default 32
        Number of quantile relevance levels.
    max_group_size : int, default 1024
        Largest query group; bigger training sets are split at random.
    params : dict or None
        Overrides of the ``LGBMRanker`` defaults (300 trees, learning rate 0.05, 15 leaves,
        ``min_child_samples=5``, subsampling 0.8, ``deterministic=True``, ``verbose=-1``);
        nested parameters ``params__<name>`` read and set its entries. LightGBM is an
        optional dependency: ``pip install 'nasperf[boosting]'``.
    n_jobs : int, default 1
    nan_policy : {"impute", "raise"}, default "impute"
    random_state : int, RandomState or None

    Attributes
    ----------
    estimator_ : the fitted ``lightgbm.LGBMRanker``.
    fit_time_ : float, seconds.
    """

    _dict_params = ("params",)

    def __init__(
        self,
        *,
        n_levels: int = 32,
        max_group_size: int = 1024,
        params: dict | None = None,
        n_jobs: int = 1,
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.n_levels = n_levels
        self.max_group_size = max_group_size
        self.params = params
        self.n_jobs = n_jobs
        self.nan_policy = nan_policy
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        lightgbm = import_optional("lightgbm", "boosting", "LambdaRankPredictor")

        if self.max_group_size < 2:
            raise ValueError(f"max_group_size must be >= 2, got {self.max_group_size}")
        seed, split_seed = seeds_from(self.random_state, 2)
        levels = relevance_levels(y, self.n_levels)
        n = len(y)
        n_groups = -(-n // self.max_group_size)
        order = np.random.RandomState(split_seed).permutation(n)
        sizes = [len(g) for g in np.array_split(order, n_groups)]
        est = lightgbm.LGBMRanker(
            objective="lambdarank",
            n_estimators=300,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=5,
            min_data_in_bin=1,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=1.0,
            label_gain=list(range(self.n_levels)),
            lambdarank_truncation_level=max(sizes),
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
            n_jobs=self.n_jobs,
            random_state=seed,
        )
        if self.params:
            unknown = set(self.params) - set(est.get_params())
            if unknown:
                raise ValueError(f"unknown LGBMRanker parameter(s) {sorted(unknown)}")
            est.set_params(**self.params)
        self.estimator_ = est.fit(X[order], levels[order], group=sizes)

    def _predict(self, X: np.ndarray, return_std: bool):
        return np.asarray(self.estimator_.predict(X), dtype=np.float64)


class PairwiseRankerPredictor(RankerMixin, BasePredictor):
    """MLP scorer trained with the pairwise logistic (RankNet) loss; see the module docstring.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (64, 64)
    activation : {"relu", "tanh", "gelu", "silu"}, default "relu"
    lr : float, default 1e-3
        Adam learning rate.
    weight_decay : float, default 1e-4
    max_epochs : int, default 100
    pairs_per_epoch : int or None, default None
        Random pairs drawn per epoch; ``None`` means ``20 * n_samples``.
    batch_size : int, default 256
        Pairs per optimisation step.
    device : str, default "cpu"
    nan_policy : {"impute", "raise"}, default "impute"
    random_state : int, RandomState or None

    Attributes
    ----------
    estimator_ : the fitted scorer network (eval mode).
    x_mean_, x_scale_ : input standardisation constants.
    fit_time_ : float, seconds.
    """

    def __init__(
        self,
        *,
        hidden_layer_sizes: Sequence[int] = (64, 64),
        activation: str = "relu",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 100,
        pairs_per_epoch: int | None = None,
        batch_size: int = 256,
        device: str = "cpu",
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.pairs_per_epoch = pairs_per_epoch
        self.batch_size = batch_size
        self.device = device
        self.nan_policy = nan_policy
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError("max_epochs and batch_size must be >= 1")
        if np.ptp(y) == 0:
            raise ValueError("all training targets are equal: there is no ordering to learn")
        n = len(y)
        n_pairs = 20 * n if self.pairs_per_epoch is None else int(self.pairs_per_epoch)
        if n_pairs < 1:
            raise ValueError(f"pairs_per_epoch must be >= 1, got {self.pairs_per_epoch}")
        self.x_mean_, self.x_scale_ = standardize_fit(X)
        dev = resolve_device(self.device)
        tx = torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float32, device=dev)
        ty = torch.tensor(y, dtype=torch.float64, device=dev)
        (seed,) = seeds_from(self.random_state, 1)
        with torch_seed(seed, dev) as gen:
            net = build_mlp(X.shape[1], self.hidden_layer_sizes, self.activation)
        net = net.to(dev).train()
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = nn.BCEWithLogitsLoss()
        for _ in range(self.max_epochs):
            i = torch.randint(n, (n_pairs,), generator=gen).to(dev)
            j = torch.randint(n, (n_pairs,), generator=gen).to(dev)
            keep = ty[i] != ty[j]
            i, j = i[keep], j[keep]
            target = (ty[i] > ty[j]).to(torch.float32)
            for b in torch.split(torch.arange(len(i), device=dev), self.batch_size):
                opt.zero_grad()
                diff = net(tx[i[b]]).squeeze(-1) - net(tx[j[b]]).squeeze(-1)
                loss = loss_fn(diff, target[b])
                loss.backward()
                opt.step()
        self.estimator_ = net.eval()

    def _predict(self, X: np.ndarray, return_std: bool):
        tx = torch.as_tensor(
            (X - self.x_mean_) / self.x_scale_, dtype=torch.float32,
            device=resolve_device(self.device),
        )
        return predict_module(self.estimator_, tx)


#: Ranker kind -> class, for :class:`RankerPredictor`.
RANKER_KINDS: dict[str, type[BasePredictor]] = {
    "lambdarank": LambdaRankPredictor,
    "pairwise": PairwiseRankerPredictor,
}


class RankerPredictor(RankerMixin, BasePredictor):
    """A learning-to-rank predictor chosen by ``kind``; scores, not targets (see module).

    Parameters
    ----------
    kind : {"lambdarank", "pairwise"}, default "lambdarank"
    params : dict or None
        Keyword arguments of the chosen class (:class:`LambdaRankPredictor` or
        :class:`PairwiseRankerPredictor`); nested parameters ``params__<name>`` read and
        set its entries (see :mod:`nasperf.predictors.base`).
    nan_policy : {"impute", "raise"}, default "impute"
    random_state : int, RandomState or None

    Attributes
    ----------
    ranker_ : the fitted :class:`LambdaRankPredictor` or :class:`PairwiseRankerPredictor`.
    fit_time_ : float, seconds.
    """

    _dict_params = ("params",)

    def __init__(
        self,
        *,
        kind: str = "lambdarank",
        params: dict | None = None,
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.kind = kind
        self.params = params
        self.nan_policy = nan_policy
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.kind not in RANKER_KINDS:
            raise ValueError(f"unknown ranker kind {self.kind!r}; known: {', '.join(RANKER_KINDS)}")
        (seed,) = seeds_from(self.random_state, 1)
        ranker = make_estimator(RANKER_KINDS[self.kind], self.params or {})
        self.ranker_ = ranker.set_params(nan_policy=self.nan_policy, random_state=seed).fit(X, y)

    def _predict(self, X: np.ndarray, return_std: bool):
        return self.ranker_.predict(X)
