"""compute_proxies: definitions, shared passes, state restoration, NaN handling, inputs."""

from __future__ import annotations

import copy
import logging
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import autograd, nn

from nasperf.searchspaces import get_space
from nasperf.zerocost import (
    BatchTooLargeError,
    Proxy,
    ProxyResult,
    compute_proxies,
    default_batch,
    get_proxy,
    list_proxies,
    register_proxy,
    select_layers,
)
from nasperf.zerocost.data import infer_input_shape, load_digits_arrays
from nasperf.zerocost.registry import PROXIES

ALL = ["synflow", "nwot", "jacov", "snip", "grasp", "fisher", "grad_norm", "l2_norm", "plain",
       "epe_nas", "zen", "ntk", "params", "flops"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_nb201(arch: str = "(0, 2, 3, 2, 3, 1)", seed: int = 0) -> nn.Module:
    space = get_space("nb201")
    torch.manual_seed(seed)
    return space.to_model(space.parse(arch), channels=4, cells_per_stage=1)


def batch(n: int = 8, shape=(3, 32, 32), classes: int = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


class MLP(nn.Module):
    def __init__(self, d_in=12, hidden=16, d_out=4, act=nn.ReLU, bn=True, dropout=0.1):
        super().__init__()
        layers = [nn.Linear(d_in, hidden)]
        if bn:
            layers.append(nn.BatchNorm1d(hidden))
        layers += [act(), nn.Dropout(dropout), nn.Linear(hidden, hidden), act(),
                   nn.Linear(hidden, d_out)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class TransformerBlock(nn.Module):
    """A small pre-norm transformer block on (N, T, D) token features."""

    def __init__(self, d_in=10, d=16, heads=2, classes=3):
        super().__init__()
        self.embed = nn.Linear(d_in, d)
        self.block = nn.TransformerEncoderLayer(d, heads, 32, dropout=0.1,
                                                activation=nn.GELU(), batch_first=True,
                                                norm_first=True)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.block(self.embed(x)).mean(1))


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "dtypes": {k: v.dtype for k, v in model.state_dict().items()},
        "devices": {k: v.device for k, v in model.state_dict().items()},
        "grads": {k: None if p.grad is None else p.grad.clone()
                  for k, p in model.named_parameters()},
        "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()},
        "training": {k: m.training for k, m in model.named_modules()},
        "hooks": {k: (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
                  for k, m in model.named_modules()},
        "attrs": {k: sorted(vars(m)) for k, m in model.named_modules()},
    }


def assert_same(before: dict, after: dict) -> None:
    assert before["state"].keys() == after["state"].keys()
    for k, v in before["state"].items():
        w = after["state"][k]
        assert v.dtype == w.dtype and v.device == w.device, k
        assert torch.equal(v, w), f"{k} changed"
    for key in ("dtypes", "devices", "requires_grad", "training", "hooks", "attrs"):
        assert before[key] == after[key], key
    for k, g in before["grads"].items():
        h = after["grads"][k]
        assert (g is None) == (h is None), f".grad of {k}"
        if g is not None:
            assert torch.equal(g, h), f".grad of {k} changed"


# -- registry ------------------------------------------------------------------------------------
def test_registry_lists_every_issue_proxy_with_direction_and_reference():
    assert list_proxies() == ALL
    for name in ALL:
        p = get_proxy(name)
        assert p.reference and p.mode in ("train", "eval", "none")
        assert p.fn.__module__.startswith("nasperf.zerocost.measures.")
    assert get_proxy("ntk").higher_is_better is False
    with pytest.raises(ValueError, match="unknown proxy"):
        compute_proxies(tiny_nb201(), batch(), ["synflow", "nope"])


def test_register_custom_proxy_uses_shared_pass_and_rejects_duplicates():
    def out_norm(ctx):
        return float(ctx.product("output").norm())

    p = register_proxy(Proxy("test_out_norm", out_norm, needs=frozenset({"output"})))
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_proxy(p)
        r = compute_proxies(tiny_nb201(), batch(), ["test_out_norm", "jacov"])
        assert r["test_out_norm"] > 0
    finally:
        PROXIES.pop("test_out_norm")
    with pytest.raises(ValueError, match="unknown pass products"):
        Proxy("bad", out_norm, needs=frozenset({"everything"}))


# -- the main contract -------------------------------------------------------------------------
def test_all_proxies_finite_on_nb201_and_types():
    scores = compute_proxies(tiny_nb201(), batch())
    assert list(scores) == ALL
    assert all(isinstance(v, float) and math.isfinite(v) for v in scores.values()), scores
    assert scores["params"] == pytest.approx(
        sum(p.numel() for p in tiny_nb201().parameters()) / 1e6)


def test_details_have_time_mode_and_sharing():
    res = compute_proxies(tiny_nb201(), batch(), ["snip", "grad_norm", "synflow", "params"],
                          return_details=True)
    assert all(isinstance(r, ProxyResult) for r in res.values())
    assert res["snip"].shared == ("loss_grad",) and res["synflow"].shared == ()
    assert res["synflow"].mode == "eval" and res["snip"].mode == "train"
    assert res["params"].mode == "none"
    assert all(r.seconds >= 0 for r in res.values())
    assert res["snip"].n_layers == len(select_layers(tiny_nb201()))
    assert res["snip"].as_dict()["name"] == "snip"


def test_together_equals_one_at_a_time():
    model, b = tiny_nb201(), batch()
    opts = {"ntk": {"samples": 4}}  # also the NTK's own sub-batch forward inside the pass
    together = compute_proxies(model, b, seed=3, options=opts)
    for name in ALL:
        alone = compute_proxies(model, b, [name], seed=3, options=opts)[name]
        assert alone == pytest.approx(together[name], rel=1e-4, abs=1e-9), name


def test_deterministic_given_seed_and_zen_depends_on_seed():
    model, b = tiny_nb201(), batch()
    a = compute_proxies(model, b, ["zen", "nwot", "grasp"], seed=1)
    assert compute_proxies(model, b, ["zen", "nwot", "grasp"], seed=1) == a
    assert compute_proxies(model, b, ["zen"], seed=2)["zen"] != a["zen"]


@pytest.mark.parametrize("factory", ["nb201", "mlp"])
def test_model_state_restored_bit_for_bit(factory):
    if factory == "nb201":
        model, b = tiny_nb201(), batch()
    else:
        model, b = MLP(), batch(6, (12,), classes=4)
    # a used model: non-default BN stats, a frozen layer, some .grad set, eval mode
    with torch.no_grad():
        model.train()
        model(b[0])
    first = next(model.parameters())
    first.requires_grad_(False)
    last = list(model.parameters())[-1]
    last.grad = torch.full_like(last, 0.5)
    model.eval()
    x_before = b[0].clone()
    before = snapshot(model)
    rng_before = torch.get_rng_state()
    flags = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    compute_proxies(model, b)
    assert_same(before, snapshot(model))
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == flags
    assert torch.equal(b[0], x_before) and not b[0].requires_grad and b[0].grad is None


def test_model_restored_when_a_proxy_fails():
    def boom(ctx):
        raise RuntimeError("bug in a proxy")

    register_proxy(Proxy("test_boom", boom, needs=frozenset({"loss_grad"})))
    model = tiny_nb201()
    before = snapshot(model)
    try:
        res = compute_proxies(model, batch(), ["synflow", "snip", "test_boom"],
                              return_details=True)
    finally:
        PROXIES.pop("test_boom")
    assert math.isnan(res["test_boom"].score) and res["test_boom"].error == "RuntimeError"
    assert "bug in a proxy" in res["test_boom"].reason
    assert math.isfinite(res["snip"].score) and math.isfinite(res["synflow"].score)
    assert_same(before, snapshot(model))


# -- definitions against straightforward re-implementations ------------------------------------
class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 5, 3, padding=1, bias=False)
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        x = F.relu(self.bn(self.c1(x)))
        x = torch.relu(self.c2(x))
        return self.fc(x.mean((2, 3)))


def test_gradient_proxies_match_naslib_style_separate_passes():
    torch.manual_seed(0)
    model = TinyConv()
    x, y = batch(6, (3, 8, 8), classes=3)
    ours = compute_proxies(model, (x, y), ["grad_norm", "snip", "plain", "grasp", "fisher"])
    layers = [model.c1, model.c2, model.fc]

    net = copy.deepcopy(model).train()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    lw = [net.c1, net.c2, net.fc]
    net.requires_grad_(False)
    assert ours["grad_norm"] == pytest.approx(sum(float(m.weight.grad.norm()) for m in lw),
                                              rel=1e-5)
    assert ours["snip"] == pytest.approx(
        sum(float((m.weight.grad * m.weight).abs().sum()) for m in lw), rel=1e-5)
    assert ours["plain"] == pytest.approx(
        sum(float((m.weight.grad * m.weight).sum()) for m in lw), rel=1e-4, abs=1e-7)

    # GraSP as NASLib: pass 1 grad, pass 2 create_graph, z = sum(g1 * g2), backward
    net = copy.deepcopy(model).train()
    ws = [m.weight for m in (net.c1, net.c2, net.fc)]
    g1 = autograd.grad(F.cross_entropy(net(x), y), ws)
    g2 = autograd.grad(F.cross_entropy(net(x), y), ws, create_graph=True)
    sum((a.detach() * b).sum() for a, b in zip(g1, g2)).backward()
    ref = sum(float((-w.detach() * w.grad).sum()) for w in ws)
    assert ours["grasp"] == pytest.approx(ref, rel=1e-4, abs=1e-7)

    # fisher as NASLib: per-channel 0.5 * mean_n (sum_hw a * g)^2, broadcast to weight shape
    net = copy.deepcopy(model).train()
    acts = {}
    for i, m in enumerate([net.c1, net.c2, net.fc]):
        m.register_forward_hook(lambda mod, a, o, i=i: acts.__setitem__(i, o))
    loss = F.cross_entropy(net(x), y)
    grads = autograd.grad(loss, [acts[i] for i in range(3)])
    ref = 0.0
    for i, m in enumerate(layers):
        prod = acts[i].detach() * grads[i]
        g = prod.sum((2, 3)) if prod.ndim == 4 else prod
        ref += float(g.pow(2).mean(0).mul(0.5).sum()) * m.weight.shape[1:].numel()
    assert ours["fisher"] == pytest.approx(ref, rel=1e-5)


def test_synflow_linear_net_closed_form_and_abs_of_parameters_only():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7, bias=False), nn.ReLU(), nn.Linear(7, 3, bias=False))
    w1, w2 = net[0].weight.detach().abs().double(), net[2].weight.detach().abs().double()
    r = float((w2 @ w1 @ torch.ones(5, dtype=torch.float64)).sum())
    # for a bias-free linear chain each layer's sum |theta dR/dtheta| equals R
    assert compute_proxies(net, torch.randn(4, 5), ["synflow"])["synflow"] == pytest.approx(
        math.log(2 * r), rel=1e-12)


def test_synflow_is_float64_on_a_deep_net_that_overflows_float32():
    torch.manual_seed(0)
    layers = []
    for _ in range(50):
        lin = nn.Linear(64, 64)
        nn.init.uniform_(lin.weight, 0.1, 0.2)
        layers += [lin, nn.ReLU()]
    net = nn.Sequential(*layers, nn.Linear(64, 2))
    s = compute_proxies(net, torch.randn(3, 64), ["synflow"])["synflow"]
    assert math.isfinite(s) and s > math.log(torch.finfo(torch.float32).max)


@pytest.mark.parametrize("bn", [False, True])
def test_synflow_with_batchnorm_1d_and_2d(bn):
    mlp = MLP(bn=True)
    r = compute_proxies(mlp, torch.randn(4, 12), ["synflow"], options={"synflow": {"bn": bn}})
    assert math.isfinite(r["synflow"])
    r = compute_proxies(tiny_nb201(), batch(2), ["synflow"], options={"synflow": {"bn": bn}})
    assert math.isfinite(r["synflow"])


def test_jacov_is_at_most_minus_n_and_nwot_counts_codes():
    n = 8
    scores = compute_proxies(tiny_nb201(), batch(n), ["jacov", "nwot"], return_details=True)
    assert scores["jacov"].score <= -n + 1e-6
    assert scores["nwot"].n_layers > 0
    # hand-computed NWOT for a one-ReLU MLP
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 2))
    x = torch.randn(5, 6)
    c = (net[0](x) > 0).double()
    k = c @ c.T + (1 - c) @ (1 - c).T
    expected = float(torch.linalg.slogdet(k)[1])
    assert compute_proxies(net, x, ["nwot"])["nwot"] == pytest.approx(expected)


def test_ntk_matches_explicit_per_sample_gradients():
    torch.manual_seed(0)
    net = MLP(d_in=5, hidden=8, d_out=3, dropout=0.0)
    x = torch.randn(6, 5)
    ours = compute_proxies(net, x, ["ntk"])["ntk"]
    work = copy.deepcopy(net).train()
    out = work(x)
    ps = [p for n, p in work.named_parameters() if "weight" in n]
    rows = [torch.cat([g.reshape(-1) for g in autograd.grad(out[i].sum(), ps,
                                                             retain_graph=True)])
            for i in range(6)]
    g = torch.stack(rows).double()
    ev = torch.linalg.eigvalsh(g @ g.T)
    assert ours == pytest.approx(math.log(float(ev[-1] / ev[0])), rel=1e-5)


def test_ntk_sub_batch_option():
    res = compute_proxies(tiny_nb201(), batch(6), ["ntk"], options={"ntk": {"samples": 3}},
                          return_details=True)["ntk"]
    assert math.isfinite(res.score) and any("first 3 of the 6" in n for n in res.notes)


# -- NaN / inf handling ------------------------------------------------------------------------
def test_all_none_cell_gives_nan_with_reasons_never_inf(caplog):
    model = tiny_nb201("(1, 1, 1, 1, 1, 1)")
    with caplog.at_level(logging.WARNING, logger="nasperf.zerocost"):
        res = compute_proxies(model, batch(), return_details=True)
    for name, r in res.items():
        assert not math.isinf(r.score), name
        assert math.isnan(r.score) == (r.reason is not None), name
    for name in ("synflow", "jacov", "nwot", "ntk", "zen"):
        assert math.isnan(res[name].score)
        assert name in caplog.text and res[name].reason in caplog.text
    assert res["grad_norm"].score == 0.0 and res["snip"].score == 0.0


def test_network_without_relu_modules():
    net = MLP(act=nn.GELU, bn=False)
    res = compute_proxies(net, batch(6, (12,), classes=4), return_details=True)
    assert all(math.isfinite(r.score) for r in res.values()), {
        n: r.reason for n, r in res.items()}
    assert any("GELU" in n for n in res["nwot"].notes)

    class FunctionalOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(12, 8), nn.Linear(8, 4)

        def forward(self, x):
            return self.b(F.relu(self.a(x)))

    net = FunctionalOnly()
    x = batch(6, (12,), classes=4)[0]
    r = compute_proxies(net, x, ["nwot"], return_details=True)["nwot"]
    assert math.isfinite(r.score) and any("functional" in n for n in r.notes)
    c = (net.a(x) > 0).double()  # the input of the one F.relu call
    expected = float(torch.linalg.slogdet(c @ c.T + (1 - c) @ (1 - c).T)[1])
    assert r.score == pytest.approx(expected)
    linear = nn.Sequential(nn.Linear(12, 8), nn.Linear(8, 4))
    r = compute_proxies(linear, x, ["nwot"], return_details=True)["nwot"]
    assert math.isnan(r.score) and "no activation" in r.reason


def test_tiny_batches():
    res = compute_proxies(tiny_nb201(), batch(1), return_details=True)
    for name, r in res.items():
        assert math.isfinite(r.score) or r.reason, name
    assert "at least 2" in res["jacov"].reason and "at least 2" in res["ntk"].reason
    res = compute_proxies(tiny_nb201(), batch(2))
    assert all(math.isfinite(v) for k, v in res.items()), res
    with pytest.raises(ValueError, match="at least 2 samples"):
        compute_proxies(MLP(), batch(1, (12,), classes=4), ["snip"])


def test_duplicate_inputs_make_nwot_undefined():
    x = torch.randn(1, 3, 32, 32).repeat(4, 1, 1, 1)
    r = compute_proxies(tiny_nb201(), x, ["nwot"], return_details=True)["nwot"]
    assert math.isnan(r.score) and "singular" in r.reason


def test_nonfinite_loss_gives_nan():
    def nan_loss(out, y):
        return (out.sum() * float("nan"))

    res = compute_proxies(tiny_nb201(), batch(), ["snip", "jacov"], loss_fn=nan_loss,
                          return_details=True)
    assert math.isnan(res["snip"].score) and "loss" in res["snip"].reason
    assert math.isfinite(res["jacov"].score)


# -- models, tasks and inputs ------------------------------------------------------------------
def test_custom_mlp_and_transformer_block():
    res = compute_proxies(MLP(), batch(6, (12,), classes=4))
    assert all(math.isfinite(v) for v in res.values()), res
    res = compute_proxies(TransformerBlock(), batch(6, (5, 10), classes=3), return_details=True)
    assert all(math.isfinite(r.score) for r in res.values()), {
        n: r.reason for n, r in res.items()}
    assert res["flops"].score > 0  # attention is counted
    # the default digits batch also fits a (T, D) input
    res = compute_proxies(TransformerBlock(), input_shape=(5, 10), batch_size=6)
    assert all(math.isfinite(v) for v in res.values()), res


def test_regression_and_dense_losses():
    net = MLP(d_out=1)
    x = torch.randn(6, 12)
    res = compute_proxies(net, (x, torch.randn(6, 1)), return_details=True)
    assert math.isfinite(res["snip"].score) and math.isfinite(res["grasp"].score)
    assert math.isnan(res["epe_nas"].score) and "class labels" in res["epe_nas"].reason
    assert any("mean squared error" in n for n in res["snip"].notes)
    l1 = compute_proxies(net, (x, torch.randn(6, 1)), ["snip"], loss_fn=nn.L1Loss())
    assert math.isfinite(l1["snip"])

    seg = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 1))
    x = torch.randn(4, 3, 8, 8)
    y = torch.randint(0, 5, (4, 8, 8))
    res = compute_proxies(seg, (x, y), ["snip", "fisher", "grad_norm", "jacov", "nwot"])
    assert all(math.isfinite(v) for v in res.values()), res


def test_tensor_pair_dict_and_dataloader_inputs_agree():
    x, y = batch(8)
    model = tiny_nb201()
    names = ["snip", "jacov", "nwot", "fisher"]
    ref = compute_proxies(model, (x, y), names)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    assert compute_proxies(model, loader, names, num_batches=2) == pytest.approx(ref)
    assert compute_proxies(model, {"x": x, "y": y}, names) == pytest.approx(ref)
    assert compute_proxies(model, (x.numpy(), y.numpy()), names) == pytest.approx(ref)
    one = compute_proxies(model, loader, ["jacov"])  # first batch only by default
    assert one["jacov"] == pytest.approx(compute_proxies(model, x[:4], ["jacov"])["jacov"])
    label_free = compute_proxies(model, x, ["synflow", "nwot", "jacov", "zen", "ntk"])
    assert all(math.isfinite(v) for v in label_free.values())
    with pytest.raises(ValueError, match="need targets"):
        compute_proxies(model, x, ["snip"])


@pytest.mark.filterwarnings("ignore:Using a target size")
def test_bad_inputs_raise_clear_errors():
    model = tiny_nb201()
    with pytest.raises(ValueError, match="batch size"):
        compute_proxies(model, (torch.randn(4, 3, 32, 32), torch.zeros(3, dtype=torch.long)))
    with pytest.raises(ValueError, match="empty"):
        compute_proxies(model, torch.randn(0, 3, 32, 32), ["nwot"])
    with pytest.raises(ValueError, match="loss_fn"):
        compute_proxies(model, (torch.randn(4, 3, 32, 32), torch.randn(4, 7)), ["snip"])
    with pytest.raises(ValueError, match="forward pass failed"):
        compute_proxies(model, torch.randn(4, 5, 32, 32), ["nwot"])
    with pytest.raises(ValueError, match="no CUDA|invalid device"):
        if torch.cuda.is_available():
            raise ValueError("invalid device (skipped check on a GPU machine)")
        compute_proxies(model, batch(), ["params"], device="cuda")

    class TupleOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return x, self.fc(x)

    with pytest.raises(ValueError, match="not a tensor"):
        compute_proxies(TupleOut(), torch.randn(3, 4), ["jacov"])
    with pytest.raises(ValueError, match="layers must be"):
        compute_proxies(model, batch(), ["snip"], layers=42)
    with pytest.raises(ValueError, match="options given for unknown proxies"):
        compute_proxies(model, batch(), ["synflow"], options={"synflw": {"bn": True}})


def test_out_of_memory_names_the_batch_size():
    class Greedy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            if x.shape[0] > 2:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20 GiB")
            return self.fc(x)

    with pytest.raises(BatchTooLargeError, match="batch of 64 samples"):
        compute_proxies(Greedy(), (torch.randn(64, 4), torch.zeros(64, dtype=torch.long)),
                        ["snip"])


class MixedLayers(nn.Module):
    """Conv1d, a grouped Conv2d, LayerNorm with and without weights."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(2, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.ln = nn.LayerNorm(8)
        self.ln_plain = nn.LayerNorm(8, elementwise_affine=False)
        self.fc = nn.Linear(8, 3)
        self.act = nn.ReLU()

    def forward(self, x):  # x: (N, 2, 16)
        h = self.act(self.c1(x)).reshape(x.shape[0], 4, 4, 4)
        h = self.act(self.c2(h)).mean((2, 3))
        return self.fc(self.ln_plain(self.ln(h)))


@pytest.mark.parametrize("layers", [None, "weighted"])
def test_conv1d_grouped_conv_and_layernorm(layers):
    res = compute_proxies(MixedLayers(), batch(6, (2, 16), classes=3), layers=layers,
                          return_details=True)
    assert all(math.isfinite(r.score) for r in res.values()), {
        n: r.reason for n, r in res.items()}
    n = res["snip"].n_layers
    assert n == (3 if layers is None else 4)  # ln_plain has weight=None: skipped
    assert res["flops"].score > 0


def test_layer_selection():
    model = tiny_nb201()
    default = select_layers(model)
    assert all(isinstance(m, (nn.Conv2d, nn.Linear)) for _, m in default)
    weighted = select_layers(model, "weighted")
    assert any(isinstance(m, nn.BatchNorm2d) for _, m in weighted)
    assert len(select_layers(model, (nn.Linear,))) == 1
    assert len(select_layers(model, lambda name, m: name == "stem.0")) == 1
    a = compute_proxies(model, batch(), ["snip"])["snip"]
    b = compute_proxies(model, batch(), ["snip"], layers="weighted")["snip"]
    assert b > a


# -- default batch -----------------------------------------------------------------------------
def test_default_batch_is_real_digits_resized():
    x, y = default_batch((3, 16, 16), batch_size=10, seed=0)
    assert x.shape == (10, 3, 16, 16) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert set(y.tolist()) <= set(range(10))
    assert torch.equal(x[:, 0], x[:, 2])  # a greyscale image replicated over channels
    images, labels = load_digits_arrays()
    # resizing 8x8 -> 8x8 returns the standardised images themselves
    x8, y8 = default_batch((1, 8, 8), batch_size=10, seed=0)
    z = (images - images.mean()) / images.std()
    matches = [int(np.argmin(((z - xi.numpy()) ** 2).sum((1, 2)))) for xi in x8[:, 0]]
    assert np.allclose(z[matches], x8[:, 0].numpy(), atol=1e-5)
    assert labels[matches].tolist() == y8.tolist()
    assert torch.equal(default_batch((3, 16, 16), 10, seed=0)[0], x)
    assert not torch.equal(default_batch((3, 16, 16), 10, seed=1)[0], x)
    assert default_batch((20,), 4)[0].shape == (4, 20)
    assert default_batch((2, 30), 4)[0].shape == (4, 2, 30)
    with pytest.raises(ValueError, match="1..1797"):
        default_batch((3, 8, 8), batch_size=5000)


def test_default_batch_used_when_no_data():
    model = tiny_nb201()
    res = compute_proxies(model, None, ["snip", "nwot"], batch_size=6)
    x, y = default_batch((3, 32, 32), batch_size=6)
    assert res == pytest.approx(compute_proxies(model, (x, y), ["snip", "nwot"]))
    assert infer_input_shape(model) == (3, 32, 32)
    assert infer_input_shape(MLP(d_in=7)) == (7,)
    with pytest.raises(ValueError, match="input_shape"):
        infer_input_shape(nn.Sequential(nn.Embedding(10, 4)))
    res = compute_proxies(MLP(d_out=3), None, ["snip"], batch_size=6, return_details=True)
    assert any("folded" in n for n in res["snip"].notes)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_matches_cpu_and_leaves_model_on_cpu():
    model = tiny_nb201()
    before = snapshot(model)
    gpu = compute_proxies(model, batch(), ["snip", "synflow", "nwot", "flops"], device="cuda")
    cpu = compute_proxies(model, batch(), ["snip", "synflow", "nwot", "flops"])
    assert gpu == pytest.approx(cpu, rel=1e-3)
    assert_same(before, snapshot(model))


# -- benchmark agreement (needs the data directory) --------------------------------------------
def _zc_records(data_dir, n):
    import json

    path = data_dir / "nas-bench-suite-zero" / "zc_nasbench201.json"
    recs = json.loads(path.read_text())["cifar10"]
    return list(recs.items())[:n]


@pytest.mark.data
def test_params_and_flops_equal_the_benchmark(data_dir):
    space = get_space("nb201")
    for key, rec in _zc_records(data_dir, 12):
        model = space.to_model(space.parse(key))
        r = compute_proxies(model, torch.randn(1, 3, 32, 32), ["params", "flops"])
        assert r["params"] == pytest.approx(rec["params"]["score"], abs=1e-9), key
        assert r["flops"] == pytest.approx(rec["flops"]["score"], abs=1e-6), key


@pytest.mark.data
def test_synflow_close_to_the_benchmark(data_dir):
    from scipy.stats import spearmanr

    space = get_space("nb201")
    ours, theirs = [], []
    for key, rec in _zc_records(data_dir, 12):
        torch.manual_seed(1)
        model = space.to_model(space.parse(key))
        ours.append(compute_proxies(model, torch.randn(1, 3, 32, 32), ["synflow"])["synflow"])
        theirs.append(rec["synflow"]["score"])
    diff = np.abs(np.array(ours) - np.array(theirs))
    assert diff.max() < 0.3 and np.median(diff) < 0.1, diff  # init-seed noise is ~0.05
    assert spearmanr(ours, theirs).statistic > 0.95
