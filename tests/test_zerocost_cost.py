"""The memory-saving steps of the shared train pass leave every value bit for bit as it is.

The pass scores the first-order proxies before its Hessian-gradient stage and frees their
products, records the scored layers' outputs without cloning them (re-running the forward
with clones when an in-place op changed one), frees the graph with the last backward that
needs it, and trims the C heap after a call. Each proxy computed alone takes none of those
paths together with the others, so "all in one call" == "one call per proxy", exactly.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import autograd, nn

from nasperf.searchspaces import get_space
from nasperf.zerocost import compute_proxies, list_proxies
from nasperf.zerocost.context import ProxyContext
from nasperf.zerocost.passes import run_train_pass, trim_heap

pytestmark = pytest.mark.usefixtures("one_torch_thread")

OPTS = {"ntk": {"samples": 4}}


def _batch(n: int = 8, shape=(3, 16, 16), classes: int = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


def nb201() -> nn.Module:
    space = get_space("nb201")
    torch.manual_seed(0)
    return space.to_model(space.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+"
                                      "|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"),
                          channels=4, cells_per_stage=1)


def nb301() -> nn.Module:
    space = get_space("nb301")
    torch.manual_seed(0)
    return space.to_model(space.sample(1, seed=0)[0], init_channels=4, layers=2)


def cnn(inplace: bool = False) -> nn.Module:
    """A plain CNN; with ``inplace`` its ReLUs overwrite the conv / linear outputs."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=inplace),
        nn.Conv2d(6, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(inplace=inplace),
        nn.Dropout(0.2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 12), nn.ReLU(inplace=inplace), nn.Linear(12, 10))


MODELS = {"nb201": nb201, "nb301": nb301, "cnn": cnn, "cnn-inplace": lambda: cnn(True)}


@pytest.mark.parametrize("kind", list(MODELS))
def test_all_in_one_call_equals_one_call_per_proxy_exactly(kind):
    model, b = MODELS[kind](), _batch()
    together = compute_proxies(model, b, "all", seed=1, options=OPTS)
    alone = {p: compute_proxies(model, b, [p], seed=1, options=OPTS, trim_memory=False)[p]
             for p in list_proxies()}
    assert together == alone
    # the shared products of grasp's pass against a call without grasp
    first_order = [p for p in list_proxies() if p not in ("grasp", "ntk")]
    assert compute_proxies(model, b, first_order, seed=1) == {p: alone[p] for p in first_order}


@pytest.mark.parametrize("kind", ["nb301", "cnn-inplace"])
def test_callers_model_unchanged(kind):
    model, b = MODELS[kind](), _batch()
    before = {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    hooks = {k: (len(m._forward_hooks), len(m._forward_pre_hooks)) for k, m in
             model.named_modules()}
    rng = torch.get_rng_state()
    compute_proxies(model, b, "all", options=OPTS)
    after = model.state_dict(keep_vars=True)
    assert before.keys() == after.keys()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert all(p.grad is None for p in model.parameters())
    assert flags == {k: p.requires_grad for k, p in model.named_parameters()}
    assert hooks == {k: (len(m._forward_hooks), len(m._forward_pre_hooks)) for k, m in
                     model.named_modules()}
    assert model.training and torch.equal(torch.get_rng_state(), rng)


def _fisher_reference(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """fisher with cloned layer outputs (NASLib hooks), on a train-mode copy, same seed."""
    net = copy.deepcopy(model).train()
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    acts = []

    def hook(m, a, out):
        acts.append(out)
        return out.clone()

    for m in layers:
        m.register_forward_hook(hook)
    torch.manual_seed(0)
    loss = F.cross_entropy(net(x), y)
    grads = autograd.grad(loss, acts)
    s = 0.0
    for m, a, g in zip(layers, acts, grads):
        prod = (a.detach() * g).to(torch.float64)
        k = prod.sum((2, 3)) if prod.ndim == 4 else prod
        s += m.weight.shape[1:].numel() * float(k.pow(2).mean(0).mul(0.5).abs().sum())
    return s


def test_in_place_activation_after_a_scored_layer_uses_its_output():
    model, (x, y) = cnn(inplace=True), _batch()
    ours = compute_proxies(model, (x, y), ["fisher", "grasp", "snip"], seed=0)
    assert ours["fisher"] == pytest.approx(_fisher_reference(model, x, y), rel=1e-9)
    # the ReLUs are in place: the copy without them must give the same fisher
    plain = cnn(inplace=False)
    assert compute_proxies(plain, (x, y), ["fisher", "grasp", "snip"], seed=0) == ours


def test_first_order_products_are_released_before_the_hessian_stage():
    model, (x, y) = nb201(), _batch()
    ctx = ProxyContext(model=model, x=x, y=y, device=torch.device("cpu"),
                       loss_fn=F.cross_entropy)
    seen = {}

    def before_hessian(tp):
        seen["act_grads"] = tp.act_grads is not None and tp.hessian_grads is None
        return {"act_grad", "input_grad", "output"}

    needs = {"act_grad", "input_grad", "loss_grad", "hessian_grad"}
    tp = run_train_pass(ctx, needs, before_hessian=before_hessian)
    assert seen == {"act_grads": True}
    assert tp.act_grads is None and tp.input_grad is None and tp.output is not None
    assert tp.released == {"act_grad", "input_grad"}
    assert tp.hessian_grads is not None and tp.loss_grads is not None
    ctx.train_pass, ctx.current = tp, "fisher"
    with pytest.raises(RuntimeError, match="released"):
        ctx.product("act_grad")
    # the Hessian-gradient product is that of a pass that keeps everything
    full = run_train_pass(ctx, needs)
    assert all(torch.equal(a, b) for a, b in zip(tp.hessian_grads, full.hessian_grads))
    trim_heap()  # a no-op where there is no glibc; must never raise


@pytest.mark.slow
def test_bench_proxy_cost_script_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_proxy_cost.py"
    out = tmp_path / "cost.csv"
    proc = subprocess.run([sys.executable, str(script), "--n", "1", "--batch-size", "4",
                           "--calls", "2", "--parts", "calls,stages", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RSS over 2 consecutive calls" in proc.stdout and "| grasp |" in proc.stdout
    df = pd.read_csv(out)
    assert set(df.part) == {"calls", "stages"} and (df.value > 0).all()
