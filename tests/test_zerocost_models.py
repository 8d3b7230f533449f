"""compute_proxies on user models beyond conv nets: a ViT, nn.TransformerEncoder, LSTM/GRU,
nn.MultiheadAttention, functional activations; failure isolation, input checks, options."""

from __future__ import annotations

import logging
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nasperf.zerocost import (
    PROXIES,
    Proxy,
    ProxyComputationError,
    compute_proxies,
    list_proxies,
    register_proxy,
)
from nasperf.zerocost.passes import NTK_SAMPLES, differentiable_kernels

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- the five model kinds (tiny) ---------------------------------------------------------------
class TinyViT(nn.Module):
    """4x4 patches of a 3x16x16 image, a class token, two pre-norm GELU encoder layers."""

    def __init__(self, d=16, heads=2, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 4, stride=4)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, 17, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], 1) + self.pos
        return self.head(self.norm(self.encoder(t))[:, 0])


class SeqTransformer(nn.Module):
    """nn.TransformerEncoder (default F.relu, no dropout: the fused attention kernel) on
    (N, T, F) sequences, mean pooled."""

    def __init__(self, f=8, d=32, classes=3):
        super().__init__()
        self.embed = nn.Linear(f, d)
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(1))


class Recurrent(nn.Module):
    """An LSTM then a GRU on (N, T, F) sequences; the last step is classified."""

    def __init__(self, f=8, h=12, classes=3):
        super().__init__()
        self.lstm = nn.LSTM(f, h, batch_first=True)
        self.gru = nn.GRU(h, h, batch_first=True)
        self.head = nn.Linear(h, classes)

    def forward(self, x):
        h, _ = self.lstm(x)
        h, _ = self.gru(h)
        return self.head(h[:, -1])


class Attention(nn.Module):
    """nn.MultiheadAttention (fused SDPA path: need_weights=False) and an nn.ReLU MLP."""

    def __init__(self, f=8, d=16, classes=3):
        super().__init__()
        self.embed = nn.Linear(f, d)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        h = self.embed(x)
        a, _ = self.attn(h, h, h, need_weights=False)
        h = self.norm(h + a)
        return self.head((h + self.ff(h)).mean(1))


class Functional(nn.Module):
    """Conv + BatchNorm with F.relu, then Linear with F.gelu: no activation module."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 16)
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x))).mean((2, 3))
        return self.head(F.gelu(self.fc(h)))


#: kind -> (factory, shape of one input, classes)
MODELS = {
    "vit": (TinyViT, (3, 16, 16), 10),
    "transformer": (SeqTransformer, (6, 8), 3),
    "rnn": (Recurrent, (6, 8), 3),
    "mha": (Attention, (6, 8), 3),
    "functional": (Functional, (3, 8, 8), 10),
}

#: kind -> {proxy: words of its NaN reason}; every other proxy is finite. Documented in
#: docs/proxies.md ("Which proxies are defined for which layers").
EXPECTED_NAN = {
    "vit": {},
    "transformer": {},
    "rnn": {"nwot": "no activation"},
    "mha": {},
    "functional": {},
}


def make(kind: str, n: int = 8, seed: int = 0):
    factory, shape, classes = MODELS[kind]
    torch.manual_seed(seed)
    model = factory()
    g = torch.Generator().manual_seed(seed)
    return model, (torch.randn(n, *shape, generator=g),
                   torch.randint(0, classes, (n,), generator=g))


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "dtypes": {k: v.dtype for k, v in model.state_dict().items()},
        "grads": {k: None if p.grad is None else p.grad.clone()
                  for k, p in model.named_parameters()},
        "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()},
        "training": {k: m.training for k, m in model.named_modules()},
        "hooks": {k: (len(m._forward_hooks), len(m._forward_pre_hooks),
                      len(m._backward_hooks)) for k, m in model.named_modules()},
        "attrs": {k: sorted(vars(m)) for k, m in model.named_modules()},
    }


def assert_same(before: dict, after: dict) -> None:
    for k, v in before["state"].items():
        assert v.dtype == after["state"][k].dtype and torch.equal(v, after["state"][k]), k
    for key in ("dtypes", "requires_grad", "training", "hooks", "attrs"):
        assert before[key] == after[key], key
    for k, g in before["grads"].items():
        h = after["grads"][k]
        assert (g is None) == (h is None) and (g is None or torch.equal(g, h)), k


def kernel_flags() -> tuple:
    sdp = torch.backends.cuda
    return (sdp.flash_sdp_enabled(), sdp.mem_efficient_sdp_enabled(), sdp.math_sdp_enabled(),
            torch.backends.cudnn.enabled,
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)


# -- every proxy on every model kind -----------------------------------------------------------
@pytest.mark.parametrize("kind", list(MODELS))
def test_every_proxy_is_finite_or_nan_with_a_reason(kind, caplog):
    model, b = make(kind)
    flags = kernel_flags()
    with caplog.at_level(logging.WARNING, logger="nasperf.zerocost"):
        res = compute_proxies(model, b, return_details=True)
    assert list(res) == list_proxies()
    nan = {n: r.reason for n, r in res.items() if math.isnan(r.score)}
    assert set(nan) == set(EXPECTED_NAN[kind]), nan
    for name, words in EXPECTED_NAN[kind].items():
        assert words in nan[name] and res[name].error is None  # undefined, not failed
    for name, r in res.items():
        assert math.isfinite(r.score) or r.reason, name
        assert r.error is None, (name, r.reason)
    assert kernel_flags() == flags  # the math-SDPA / cuDNN switch is restored
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == (1 if nan else 0)  # one summary, naming every NaN proxy
    for name in nan:
        assert name in warnings[0].getMessage() and nan[name] in warnings[0].getMessage()


def test_layer_coverage_as_documented():
    """The per-layer facts stated in docs/proxies.md."""
    names = ["nwot", "snip", "fisher", "flops", "ntk"]
    res = {k: compute_proxies(*make(k), names, return_details=True) for k in MODELS}
    # nwot: functional calls when there is no activation module (ReLU family first)
    for kind, calls, fn in [("vit", 2, "gelu"), ("transformer", 1, "relu"),
                            ("functional", 1, "relu")]:
        assert res[kind]["nwot"].n_layers == calls, kind
        assert any(f"({fn}; {calls} calls)" in n for n in res[kind]["nwot"].notes), kind
    assert res["mha"]["nwot"].n_layers == 1 and not res["mha"]["nwot"].notes
    # RNN weights are neither scored nor counted: only the Linear head (12 -> 3)
    assert res["rnn"]["snip"].n_layers == 1
    assert res["rnn"]["flops"].score == pytest.approx(12 * 3 / 1e6)
    # packed attention projections are not scored layers; out_proj is
    vit = make("vit")[0]
    from nasperf.zerocost import select_layers

    scored = [n for n, _ in select_layers(vit)]
    assert "encoder.layers.0.self_attn.out_proj" in scored
    assert not any(n.endswith("self_attn") for n in scored)
    # integer token inputs: the input-gradient proxies are undefined, not failed
    emb = nn.Sequential(nn.Embedding(20, 8), nn.Flatten(), nn.ReLU(), nn.Linear(40, 3))
    tokens = torch.randint(0, 20, (6, 5))
    r = compute_proxies(emb, (tokens, torch.randint(0, 3, (6,))),
                        ["jacov", "epe_nas", "snip"], return_details=True)
    assert math.isnan(r["jacov"].score) and "floating-point" in r["jacov"].reason
    assert math.isnan(r["epe_nas"].score) and r["jacov"].error is None
    assert math.isfinite(r["snip"].score)


@pytest.mark.parametrize("kind", ["vit", "transformer", "mha"])
def test_grasp_through_fused_attention_uses_the_math_kernel(kind):
    """The fused SDPA kernel has no double backward; grasp's pass runs the math kernel."""
    model, b = make(kind)
    net = model.train()
    x = b[0].requires_grad_(False)
    ws = [m.weight for m in net.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    g = torch.autograd.grad(F.cross_entropy(net(x), b[1]), ws, create_graph=True)
    z = sum((a.detach() * a).sum() for a in g)
    with pytest.raises(RuntimeError, match="not implemented"):
        torch.autograd.grad(z, ws)  # the defect the math kernel avoids
    r = compute_proxies(model, b, ["grasp"], return_details=True)["grasp"]
    assert math.isfinite(r.score) and r.error is None


def test_nwot_binarises_functional_activations():
    model, (x, _) = make("functional")
    r = compute_proxies(model, x, ["nwot"], return_details=True)["nwot"]
    net = model.train()
    with torch.no_grad():
        pre_relu = net.bn(net.conv(x))
        pre_gelu = net.fc(F.relu(pre_relu).mean((2, 3)))
    c = (pre_relu.reshape(len(x), -1) > 0).double()  # ReLU calls are used before others
    expected = float(torch.linalg.slogdet(c @ c.T + (1 - c) @ (1 - c).T)[1])
    assert r.score == pytest.approx(expected) and r.n_layers == 1
    assert any("functional" in n and "relu" in n for n in r.notes)
    assert pre_gelu.shape[0] == len(x)


@pytest.mark.parametrize("kind", list(MODELS))
def test_callers_model_is_unchanged(kind):
    model, b = make(kind)
    with torch.no_grad():
        model.train()
        model(b[0])  # BN running statistics move away from their defaults
    list(model.parameters())[0].requires_grad_(False)
    last = list(model.parameters())[-1]
    last.grad = torch.full_like(last, 0.25)
    model.eval()
    calls = []
    model.register_forward_hook(lambda m, a, o: calls.append(1))
    before, x_before = snapshot(model), b[0].clone()
    compute_proxies(model, b)
    assert_same(before, snapshot(model))
    assert torch.equal(b[0], x_before) and not b[0].requires_grad
    n_calls = len(calls)  # the copies carry the caller's hook, as part of the model
    model(b[0])
    assert len(calls) == n_calls + 1  # it is still registered on the caller's model


# -- failure isolation -------------------------------------------------------------------------
@pytest.mark.parametrize("error", [RuntimeError, KeyError, ValueError])
def test_a_failing_proxy_leaves_the_others_unchanged(error, caplog):
    def boom(ctx):
        raise error("boom inside a proxy")

    model, b = make("vit")
    reference = compute_proxies(model, b)
    register_proxy("test_boom", boom, needs={"loss_grad", "input_grad"})
    try:
        with caplog.at_level(logging.WARNING, logger="nasperf.zerocost"):
            res = compute_proxies(model, b, [*list_proxies()], return_details=True)
    finally:
        PROXIES.pop("test_boom")
    assert math.isnan(res["test_boom"].score) and res["test_boom"].error == error.__name__
    assert "boom inside a proxy" in res["test_boom"].reason
    assert {n: r.score for n, r in res.items() if n != "test_boom"} == reference
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "test_boom" in warning.getMessage() and "failed" in warning.getMessage()


class _RaiseOnBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, g):
        return g.clone()

    @staticmethod
    def backward(ctx, gg):
        raise RuntimeError("double backward is not implemented for this op")


class _NoDoubleBackward(torch.autograd.Function):
    """x * 2 whose backward works (with create_graph too) but cannot be differentiated."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return _RaiseOnBackward.apply(g * 2)


class _NoCreateGraph(torch.autograd.Function):
    """x * 2 whose backward refuses to build a graph (create_graph=True)."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        if torch.is_grad_enabled():
            raise RuntimeError("this op has no differentiable backward")
        return g * 2


class CustomOp(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = op
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.b(torch.tanh(self.op.apply(self.a(x))))


@pytest.mark.parametrize("op", [_NoDoubleBackward, _NoCreateGraph])
def test_a_failing_hessian_stage_makes_only_grasp_nan(op):
    torch.manual_seed(0)
    model = CustomOp(op)
    b = (torch.randn(6, 6), torch.randint(0, 3, (6,)))
    res = compute_proxies(model, b, return_details=True)
    assert math.isnan(res["grasp"].score) and res["grasp"].error == "RuntimeError"
    assert "H g" in res["grasp"].reason or "Hessian" in res["grasp"].reason
    others = {n: r.score for n, r in res.items() if n != "grasp"}
    assert all(math.isfinite(v) for v in others.values()), others
    without = compute_proxies(model, b, [n for n in list_proxies() if n != "grasp"])
    assert others == pytest.approx(without, rel=1e-12)


class _NoInputGrad(torch.autograd.Function):
    """Identity whose backward raises: only the input-gradient stage goes through it."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("no gradient w.r.t. the input")


class InputOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.b(F.relu(self.a(_NoInputGrad.apply(x))))


def test_a_failing_input_gradient_stage_makes_only_its_proxies_nan():
    torch.manual_seed(0)
    model, b = InputOp(), (torch.randn(6, 6), torch.randint(0, 3, (6,)))
    res = compute_proxies(model, b, return_details=True)
    for name in ("jacov", "epe_nas"):
        assert math.isnan(res[name].score) and res[name].error == "RuntimeError", name
        assert "input-gradient backward" in res[name].reason
    others = {n: r.score for n, r in res.items() if n not in ("jacov", "epe_nas")}
    assert all(math.isfinite(v) for v in others.values()), others
    assert others == compute_proxies(model, b, list(others))


def test_an_unexpected_error_in_the_shared_pass_spares_the_other_proxies(monkeypatch):
    from nasperf.zerocost import passes

    def broken(*args, **kwargs):
        raise RuntimeError("internal error in the loss stage")

    monkeypatch.setattr(passes, "_loss_products", broken)
    model, b = make("functional")
    res = compute_proxies(model, b, return_details=True)
    for name, r in res.items():
        if PROXIES[name].needs:
            assert math.isnan(r.score) and r.error == "RuntimeError", name
            assert "shared train-mode pass" in r.reason
        else:
            assert math.isfinite(r.score) and r.error is None, name


class Raising(nn.Module):
    """A forward that raises a KeyError (e.g. a missing dict entry in user code)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        raise KeyError("features")


@pytest.mark.parametrize("proxies", ["all", ["synflow", "flops"], ["zen"]])
def test_a_failing_plain_forward_raises_one_error_with_the_cause(proxies):
    with pytest.raises(ProxyComputationError, match="forward pass failed") as info:
        compute_proxies(Raising(), (torch.randn(4, 4), torch.zeros(4, dtype=torch.long)),
                        proxies)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, KeyError)
    assert "KeyError" in str(info.value)
    if proxies != "all":
        assert f"first hit in proxy {proxies[0]!r}" in str(info.value)


def test_wrong_input_shape_raises_one_clear_error():
    model, _ = make("vit")
    with pytest.raises(ProxyComputationError, match=r"train-mode pass \(input \(4, 5, 16, 16\)"):
        compute_proxies(model, (torch.randn(4, 5, 16, 16), torch.zeros(4, dtype=torch.long)))


class NeedsTwo(nn.Module):
    """Works on the batch but refuses a batch of one sample (synflow's and flops' input)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        if x.shape[0] < 2:
            raise IndexError("need two samples to pair them")
        return self.fc(x) - self.fc(x.flip(0))


def test_a_proxy_specific_forward_failure_is_isolated():
    res = compute_proxies(NeedsTwo(), (torch.randn(6, 4), torch.randint(0, 3, (6,))),
                          return_details=True)
    for name in ("synflow", "flops"):
        assert math.isnan(res[name].score) and res[name].error == "IndexError", name
        assert "synflow pass" in res[name].reason or "flops pass" in res[name].reason
    assert math.isfinite(res["snip"].score) and math.isfinite(res["params"].score)


# -- inputs and options ------------------------------------------------------------------------
def test_unknown_option_keys_and_bad_values_raise():
    model, b = make("mha")
    with pytest.raises(ValueError, match=r"'bnn' for proxy 'synflow'; valid options: bn"):
        compute_proxies(model, b, ["synflow"], options={"synflow": {"bnn": True}})
    with pytest.raises(ValueError, match=r"'sample' for proxy 'ntk'; valid options: samples"):
        compute_proxies(model, b, ["ntk"], options={"ntk": {"sample": 4}})
    with pytest.raises(ValueError, match="valid options: none"):
        compute_proxies(model, b, ["snip"], options={"snip": {"scale": 2}})
    with pytest.raises(ValueError, match="samples must be an integer >= 1"):
        compute_proxies(model, b, ["ntk"], options={"ntk": {"samples": 0}})
    with pytest.raises(ValueError, match="repeat must be an integer >= 1"):
        compute_proxies(model, b, ["zen"], options={"zen": {"repeat": 0}})
    with pytest.raises(ValueError, match="options given for unknown proxies"):
        compute_proxies(model, b, ["zen"], options={"zne": {}})


class Counting(nn.Module):
    calls = 0

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        type(self).calls += 1
        return self.fc(x)


@pytest.mark.parametrize("where", ["x-nan", "x-inf", "y-nan"])
def test_a_non_finite_batch_raises_before_any_pass(where):
    x, y = torch.randn(6, 4), torch.randn(6, 3)
    (x if where.startswith("x") else y)[2, 1] = math.inf if where == "x-inf" else math.nan
    Counting.calls = 0
    with pytest.raises(ValueError, match="the batch contains NaN/inf") as info:
        compute_proxies(Counting(), (x, y))
    assert Counting.calls == 0
    assert ("inputs x" if where.startswith("x") else "targets y") in str(info.value)
    assert "sample 2" in str(info.value)


@pytest.mark.parametrize(("n", "samples", "used"), [
    (20, "default", NTK_SAMPLES), (20, None, 20), (20, 4, 4), (8, "default", 8)])
def test_ntk_sub_batch_is_explicit_and_recorded(n, samples, used):
    model, b = make("rnn", n=n)
    opts = {} if samples == "default" else {"ntk": {"samples": samples}}
    r = compute_proxies(model, b, ["ntk"], options=opts, return_details=True)["ntk"]
    assert math.isfinite(r.score)
    assert r.meta == {"samples": used, "batch_size": n}
    assert any(f"first {used} of the {n}" in note for note in r.notes) == (used < n)
    if used < n:  # the same as the NTK of the first `used` samples alone
        alone = compute_proxies(model, (b[0][:used], b[1][:used]), ["ntk"],
                                options={"ntk": {"samples": None}})["ntk"]
        assert r.score == pytest.approx(alone, rel=1e-6)


def test_register_proxy_name_fn_and_overwrite():
    def out_mean(ctx):
        return float(ctx.product("output").mean())

    p = register_proxy("test_out", out_mean, needs={"output"}, options={"scale"})
    try:
        assert p.needs == frozenset({"output"}) and PROXIES["test_out"] is p
        with pytest.raises(ValueError, match="already registered.*overwrite=True"):
            register_proxy("test_out", out_mean)
        with pytest.raises(ValueError, match="already registered"):
            register_proxy(Proxy("snip", out_mean))
        q = register_proxy("test_out", lambda ctx: 1.0, overwrite=True, options={"scale"})
        assert PROXIES["test_out"] is q
        model, b = make("mha")
        r = compute_proxies(model, b, ["test_out"], options={"test_out": {"scale": 2}})
        assert r == {"test_out": 1.0}
    finally:
        PROXIES.pop("test_out")
    with pytest.raises(ValueError, match="needs fn"):
        register_proxy("test_nofn")
    assert "test_nofn" not in PROXIES


def test_progress_bar_only_when_asked(capsys):
    model, b = make("mha")
    compute_proxies(model, b, ["snip", "params"])
    assert "zero-cost proxies" not in capsys.readouterr().err
    compute_proxies(model, b, ["snip", "params"], progress=True)
    err = capsys.readouterr().err
    assert "zero-cost proxies" in err and "3/3" in err  # the train pass and two proxies


def test_differentiable_kernels_switch_cudnn_only_for_rnns_on_cuda():
    before = kernel_flags()
    rnn, conv = Recurrent(), Functional()
    cuda = torch.device("cuda")
    with differentiable_kernels(rnn, cuda, double_backward=True):
        assert not torch.backends.cudnn.enabled
        assert not torch.backends.cuda.flash_sdp_enabled()
        assert torch.backends.cuda.math_sdp_enabled()
    assert kernel_flags() == before
    with differentiable_kernels(conv, cuda, double_backward=True):
        assert torch.backends.cudnn.enabled == before[3]
    with differentiable_kernels(rnn, torch.device("cpu"), eval_backward=True):
        assert kernel_flags() == before
    with pytest.raises(KeyError), differentiable_kernels(rnn, cuda, eval_backward=True):
        raise KeyError("restored on errors too")
    assert kernel_flags() == before
