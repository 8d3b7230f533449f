"""Gaussian-process regression on gpytorch: exact GP, and SGPR for large training sets.

Model: ``y = m + f(x) + eps`` with a constant mean ``m``, ``f ~ GP(0, s * k(x, x'))`` where
``k`` is a Matern-5/2 (default), Matern-3/2 or RBF kernel with one lengthscale per input
dimension (ARD), and Gaussian noise ``eps ~ N(0, sigma^2)``. Inputs are standardised per
column (constant columns are left at 0 instead of divided by 0) and targets are
standardised; all computations run in float64.

Hyper-parameters (mean, outputscale, lengthscales, noise) maximise the exact marginal
log-likelihood (the SGPR bound in sparse mode) from a fixed, scale-aware start (lengthscales
``sqrt(n_features)`` on standardised inputs, outputscale 1, noise 0.1), by L-BFGS with a
strong-Wolfe line search (default; at most ``max_iter`` iterations) or by ``max_iter`` Adam
steps. L-BFGS reaches in ~30 evaluations the likelihood Adam(lr=0.1) reaches in ~150; a
start whose L-BFGS run fails numerically is redone with Adam. ``n_restarts`` extra starts
perturb the lengthscales and noise randomly; the start with the best final likelihood is
kept. Cholesky factorisations are forced (no stochastic CG/Lanczos), so fits are
deterministic; gpytorch adds jitter when a factorisation fails.

When ``n_samples >= sparse_threshold`` (default 2000) the model switches to SGPR (Titsias'
collapsed variational bound, gpytorch ``InducingPointKernel``) with ``n_inducing`` inducing
points initialised by k-means++ seeding on the standardised training inputs and then
learnt with the other hyper-parameters. Cost per step: ``O(n^3)`` exact, ``O(n m^2)`` sparse.

``predict(X, return_std=True)`` returns the mean and the standard deviation of the
predictive distribution of a new *observation* ``y`` (latent variance plus noise), in the
units of ``y``.

gpytorch is an optional dependency (``pip install 'nasperf[gp]'``): without it, importing
this module (or ``nasperf.predictors.GPPredictor``, ``get_predictor("gp")``) raises an
``ImportError`` that says so.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import torch
from sklearn.cluster import kmeans_plusplus

from nasperf._utils import import_optional, resolve_device

from .base import BasePredictor, UncertaintyMixin, seeds_from, standardize_fit

gpytorch = import_optional("gpytorch", "gp", "GPPredictor")
from gpytorch.utils.warnings import GPInputWarning  # noqa: E402
from linear_operator.utils.errors import NotPSDError  # noqa: E402

logger = logging.getLogger("nasperf.predictors")

#: Kernel name -> factory ``(d, lengthscale_constraint)`` of the base kernel (ARD).
KERNELS = {
    "matern52": lambda d, c: gpytorch.kernels.MaternKernel(
        nu=2.5, ard_num_dims=d, lengthscale_constraint=c
    ),
    "matern32": lambda d, c: gpytorch.kernels.MaternKernel(
        nu=1.5, ard_num_dims=d, lengthscale_constraint=c
    ),
    "rbf": lambda d, c: gpytorch.kernels.RBFKernel(ard_num_dims=d, lengthscale_constraint=c),
}
KERNELS["matern"] = KERNELS["matern52"]

# Exact solves use Cholesky up to this size instead of gpytorch's stochastic CG/Lanczos.
_MAX_CHOLESKY = 100_000
_PREDICT_CHUNK = 4096


class _GPModel(gpytorch.models.ExactGP):
    """Constant mean + the given covariance module (exact, or InducingPointKernel = SGPR)."""

    def __init__(self, train_x, train_y, likelihood, covar_module):
        super().__init__(train_x, train_y, likelihood)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = covar_module

    def forward(self, x):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))


class GPPredictor(UncertaintyMixin, BasePredictor):
    """Gaussian-process regressor with ARD kernels, exact or sparse (SGPR).

    Parameters
    ----------
    kernel : {"matern52", "matern32", "rbf", "matern"}, default "matern52"
        Base kernel, wrapped in an outputscale (``ScaleKernel``); "matern" = "matern52".
    optimizer : {"lbfgs", "adam"}, default "lbfgs"
        Optimiser of the negative marginal log-likelihood.
    max_iter : int, default 50
        L-BFGS iterations (or Adam steps) per start.
    lr : float, default 0.1
        Adam learning rate (on gpytorch's raw, softplus-constrained parameters); L-BFGS
        uses step 1 with its line search.
    n_restarts : int, default 0
        Extra random starts; the one with the best final likelihood is kept.
    min_noise : float, default 1e-4
        Lower bound of the noise variance on the standardised targets (numerical safety).
    min_lengthscale : float, default 0.05
        Lower bound of every lengthscale on the standardised inputs. Without it, L-BFGS
        can drive the lengthscale of a binary (one-hot) feature towards 0, where the
        distance computation loses all precision and the kernel matrix stops being
        positive definite.
    sparse_threshold : int or None, default 2000
        Use SGPR when ``n_samples >= sparse_threshold``; ``None`` means always exact.
    n_inducing : int, default 256
        Inducing points in sparse mode (at most ``n_samples``).
    device : str, default "cpu"
        Torch device for fitting and prediction: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or
        ``"auto"`` (CUDA when available).
    nan_policy : {"impute", "raise"}, default "impute"
        Non-finite features policy, see :mod:`nasperf.predictors.base`.
    random_state : int, RandomState or None
        Seeds restarts and the inducing-point initialisation.

    Attributes
    ----------
    model_, likelihood_ : the fitted gpytorch modules (float64, on ``device``).
    sparse_ : bool, whether SGPR was used.
    x_mean_, x_scale_, y_mean_, y_scale_ : standardisation constants.
    log_marginal_likelihood_ : float, final marginal log-likelihood per sample (standardised y).
    n_iter_ : int, optimiser iterations of the kept start.
    fit_time_ : float, seconds.
    """

    def __init__(
        self,
        *,
        kernel: str = "matern52",
        optimizer: str = "lbfgs",
        max_iter: int = 50,
        lr: float = 0.1,
        n_restarts: int = 0,
        min_noise: float = 1e-4,
        min_lengthscale: float = 0.05,
        sparse_threshold: int | None = 2000,
        n_inducing: int = 256,
        device: str = "cpu",
        nan_policy: str = "impute",
        random_state=None,
    ):
        self.kernel = kernel
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.lr = lr
        self.n_restarts = n_restarts
        self.min_noise = min_noise
        self.min_lengthscale = min_lengthscale
        self.sparse_threshold = sparse_threshold
        self.n_inducing = n_inducing
        self.device = device
        self.nan_policy = nan_policy
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; known: {', '.join(KERNELS)}")
        if self.optimizer not in ("lbfgs", "adam"):
            raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {self.optimizer!r}")
        if self.max_iter < 1 or self.n_restarts < 0:
            raise ValueError("max_iter must be >= 1 and n_restarts >= 0")
        n, d = X.shape
        self.x_mean_, self.x_scale_ = standardize_fit(X)
        y_mean, y_scale = standardize_fit(y[:, None])
        self.y_mean_, self.y_scale_ = float(y_mean[0]), float(y_scale[0])
        dev = resolve_device(self.device)
        tx = torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float64, device=dev)
        ty = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float64, device=dev)
        self.sparse_ = self.sparse_threshold is not None and n >= self.sparse_threshold

        seeds = seeds_from(self.random_state, self.n_restarts + 2)
        inducing = None
        if self.sparse_:
            m = min(self.n_inducing, n)
            centers, _ = kmeans_plusplus(tx.cpu().numpy(), n_clusters=m, random_state=seeds[-1])
            inducing = torch.as_tensor(centers, dtype=torch.float64, device=dev)

        best = None
        for start in range(self.n_restarts + 1):
            rng = np.random.default_rng(seeds[start])
            try:
                model, lik, loss, n_iter = self._fit_one(
                    tx, ty, inducing, start, rng, self.optimizer
                )
            except (NotPSDError, RuntimeError) as exc:  # a start failed numerically
                if self.optimizer == "adam":
                    logger.warning("GP start %d failed (%s); trying the next one", start, exc)
                    continue
                logger.warning(
                    "GP start %d failed with L-BFGS (%s); redoing it with Adam", start, exc
                )
                try:
                    rng = np.random.default_rng(seeds[start])
                    model, lik, loss, n_iter = self._fit_one(tx, ty, inducing, start, rng, "adam")
                except (NotPSDError, RuntimeError) as exc2:
                    logger.warning("GP start %d failed (%s); trying the next one", start, exc2)
                    continue
            if best is None or loss < best[2]:
                best = (model, lik, loss, n_iter)
        if best is None:
            raise RuntimeError(
                "every GP start failed numerically; try a larger min_noise or fewer features"
            )
        self.model_, self.likelihood_ = best[0].eval(), best[1].eval()
        self.log_marginal_likelihood_ = -best[2]
        self.n_iter_ = best[3]

    def _fit_one(self, tx, ty, inducing, start, rng, optimizer):
        d = tx.shape[1]
        lik = gpytorch.likelihoods.GaussianLikelihood(
            noise_constraint=gpytorch.constraints.GreaterThan(self.min_noise)
        )
        ls_constraint = gpytorch.constraints.GreaterThan(self.min_lengthscale)
        base = gpytorch.kernels.ScaleKernel(KERNELS[self.kernel](d, ls_constraint))
        covar = base
        if inducing is not None:
            covar = gpytorch.kernels.InducingPointKernel(
                base, inducing_points=inducing.clone(), likelihood=lik
            )
        model = _GPModel(tx, ty, lik, covar).to(device=tx.device, dtype=torch.float64)
        lik = lik.to(device=tx.device, dtype=torch.float64)

        lengthscale = math.sqrt(d) * np.ones(d)
        noise = 0.1
        if start > 0:  # perturbed restart
            lengthscale = lengthscale * np.exp(rng.normal(0.0, 1.0, size=d))
            noise = float(np.exp(rng.uniform(np.log(1e-3), np.log(0.5))))
        base.base_kernel.lengthscale = torch.as_tensor(lengthscale, dtype=torch.float64)
        base.outputscale = torch.tensor(1.0, dtype=torch.float64)
        lik.noise = torch.tensor(max(noise, 2 * self.min_noise), dtype=torch.float64)
        model.mean_module.constant.data.fill_(0.0)

        model.train()
        lik.train()
        mll = gpytorch.mlls.ExactMarginalLogLikelihood(lik, model)
        with gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
            if optimizer == "lbfgs":
                opt = torch.optim.LBFGS(
                    model.parameters(),
                    lr=1.0,
                    max_iter=self.max_iter,
                    line_search_fn="strong_wolfe",
                )

                def closure():
                    opt.zero_grad()
                    loss = -mll(model(tx), ty)
                    loss.backward()
                    return loss

                opt.step(closure)
                n_iter = opt.state[next(iter(model.parameters()))].get("n_iter", self.max_iter)
            else:
                n_iter = self.max_iter
                opt = torch.optim.Adam(model.parameters(), lr=self.lr)
                for _ in range(self.max_iter):
                    opt.zero_grad()
                    loss = -mll(model(tx), ty)
                    loss.backward()
                    opt.step()
            with torch.no_grad():
                final = float(-mll(model(tx), ty))
        if not math.isfinite(final):
            raise RuntimeError("non-finite marginal likelihood")
        return model, lik, final, n_iter

    # -- prediction ---------------------------------------------------------------------------
    def _predict(self, X: np.ndarray, return_std: bool):
        dev = resolve_device(self.device)
        tx = torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float64, device=dev)
        means, stds = [], []
        with (
            torch.no_grad(),
            gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY),
            gpytorch.settings.fast_pred_var(False),
            gpytorch.settings.skip_posterior_variances(not return_std),
            warnings.catch_warnings(),
        ):
            # Predicting at the training inputs is legitimate here (e.g. in-sample scores).
            warnings.simplefilter("ignore", GPInputWarning)
            for chunk in torch.split(tx, _PREDICT_CHUNK):
                pred = self.likelihood_(self.model_(chunk))
                means.append(pred.mean.cpu().numpy())
                if return_std:
                    stds.append(pred.variance.clamp_min(0.0).sqrt().cpu().numpy())
        mean = np.concatenate(means) * self.y_scale_ + self.y_mean_
        if not return_std:
            return mean
        return mean, np.concatenate(stds) * self.y_scale_
