"""TransNAS-Bench-101: macro space, micro/macro networks and task heads."""

from __future__ import annotations

import ast
import itertools
import json
import math
import random

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, get_space
from nasperf.searchspaces.models.tnb101 import (
    OFFICIAL_NUM_CLASSES,
    TASKS,
    BasicBlock,
    build_macro,
    build_micro,
)
from nasperf.searchspaces.tnb101_macro import TNB101MacroArch

MACRO = get_space("tnb101_macro")
MICRO = get_space("tnb101_micro")
MACRO_ALL = MACRO.enumerate()
MACRO_SET = set(MACRO_ALL)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny forward passes are much faster single-threaded on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def is_valid_macro(codes: tuple) -> bool:
    """Independent oracle of the macro space's rules (ints only, no padding)."""
    return (4 <= len(codes) <= 6 and all(type(c) is int and 1 <= c <= 4 for c in codes)
            and 1 <= sum(c >= 3 for c in codes) <= 4
            and 1 <= sum(c in (2, 4) for c in codes) <= 3)


# -- macro space: parsing and enumeration ---------------------------------------------------------
def test_macro_enumerate_counts():
    assert len(MACRO_ALL) == len(MACRO_SET) == 3256
    by_len = {n: sum(len(a.codes) == n for a in MACRO_ALL) for n in (4, 5, 6)}
    assert by_len == {4: 210, 5: 750, 6: 2296}
    brute = [c for n in (4, 5, 6) for c in itertools.product(range(1, 5), repeat=n)
             if is_valid_macro(c)]
    assert {a.codes for a in MACRO_ALL} == set(brute)


def test_macro_forms_of_one_arch():
    a = MACRO.parse("64-1234-basic")
    assert a == TNB101MacroArch((1, 2, 3, 4))
    assert str(a) == MACRO.to_string(a) == "64-1234-basic"
    assert MACRO.to_tuple(a) == (1, 2, 3, 4)
    assert MACRO.to_tuple(a, padded=True) == (1, 2, 3, 4, 0, 0)
    for form in [(1, 2, 3, 4), [1, 2, 3, 4, 0, 0], "(1, 2, 3, 4)", "(1, 2, 3, 4, 0, 0)",
                 "[1, 2, 3, 4]", np.array([1, 2, 3, 4, 0, 0]), (1.0, 2.0, 3.0, 4.0),
                 ["basic", "basic_widen", "basic_down", "basic_down_widen"], " 64-1234-basic "]:
        assert MACRO.parse(form) == a, form
    assert (a.n_downsample, a.n_widen) == (2, 2)
    assert a.ops == ("basic", "basic_widen", "basic_down", "basic_down_widen")


def test_macro_round_trips_every_arch():
    for a in MACRO_ALL:
        assert MACRO.parse(MACRO.to_string(a)) == a
        assert MACRO.parse(MACRO.to_tuple(a)) == a
        assert MACRO.parse(str(MACRO.to_tuple(a, padded=True))) == a
        assert str(MACRO.to_tuple(a)) == str(a.codes)


def test_macro_graph_is_a_chain():
    a = MACRO.parse("64-41414-basic")
    graphs = MACRO.to_graphs(a)
    assert list(graphs) == ["macro"]
    g = graphs["macro"]
    assert isinstance(g, ArchGraph) and MACRO.to_graph(a) == g
    assert g.ops == ("input", "basic_down_widen", "basic", "basic_down_widen", "basic",
                     "basic_down_widen", "output")
    assert g.edges == [(i, i + 1) for i in range(6)]


def test_macro_errors_name_the_problem():
    cases = {
        "64-1111-basic": "downsampling",
        "64-3333-basic": "channel-doubling",
        "64-4444-basic": "channel-doubling",
        "64-123-basic": "4..6 modules",
        "64-1234123-basic": "4..6 modules",
        "32-1234-basic": "base channels",
        "64-1254-basic": "valid codes are 1..4",
        "64-1234-bottleneck": "expected the form",
        (1, 2, 0, 3, 4, 0): "trailing padding",
        (1, 2, 3, 4, 0): "trailing padding",
        (1, 2, 3, True): "bool",
        ("basic", "oops", "basic", "basic"): "unknown op",
    }
    for x, msg in cases.items():
        with pytest.raises(InvalidArchitectureError, match=msg):
            MACRO.parse(x)
    with pytest.raises(InvalidArchitectureError):
        TNB101MacroArch((1, 1, 1, 1))
    with pytest.raises(InvalidArchitectureError, match="use space.parse"):
        MACRO.to_string((1, 2, 3, 4))


# -- macro space: hypothesis properties -----------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 20))
def test_macro_sample_is_valid(seed, n):
    archs = MACRO.sample(n, seed=seed)
    assert len(archs) == n
    assert all(isinstance(a, TNB101MacroArch) and a in MACRO_SET for a in archs)
    assert archs == MACRO.sample(n, seed=seed)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MACRO_ALL), st.integers(0, 2**32 - 1))
def test_macro_mutate_is_a_valid_neighbour(arch, seed):
    child = MACRO.mutate(arch, seed=seed)
    assert child in MACRO_SET and child != arch
    assert child == MACRO.mutate(arch, seed=seed)
    a, b = arch.codes, child.codes
    if len(a) == len(b):
        assert sum(x != y for x, y in zip(a, b)) == 1
    else:
        short, long_ = sorted((a, b), key=len)
        assert len(long_) == len(short) + 1
        assert any(long_[:k] + long_[k + 1:] == short for k in range(len(long_)))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MACRO_ALL))
def test_macro_forms_round_trip(arch):
    for form in (MACRO.to_string(arch), MACRO.to_tuple(arch), list(MACRO.to_tuple(arch)),
                 str(MACRO.to_tuple(arch, padded=True)), list(arch.ops)):
        assert MACRO.parse(form) == arch


def test_every_macro_arch_has_neighbours():
    assert min(len(MACRO.neighbours(a)) for a in MACRO_ALL) >= 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-2, 6), min_size=0, max_size=8))
def test_macro_int_lists_parse_iff_valid(codes):
    stripped = list(codes)
    if len(stripped) == 6:
        while stripped and stripped[-1] == 0:
            stripped.pop()
    if is_valid_macro(tuple(stripped)):
        assert MACRO.parse(codes).codes == tuple(stripped)
    else:
        with pytest.raises(InvalidArchitectureError):
            MACRO.parse(codes)


# -- fuzzing: malformed inputs raise InvalidArchitectureError with a message ----------------------
_JUNK = [None, 1.5, float("nan"), float("inf"), -0.5, 3, True, 1j, b"64-1234-basic",
         bytearray(b"x"), {1: 2}, {"codes": (1, 2, 3, 4)}, {1, 2, 3, 4}, frozenset(), object(),
         np.float64(2.5), np.array(3), np.zeros((2, 3)), range(7), "", "   ", "()", "[]",
         "(" * 200, "[" * 5000 + "]" * 5000, "(" + "9" * 5000 + ",)", "1e999", "None",
         "{1: 2}", "lambda: 0", "__import__('os')", "[1, 2, 3, 4]*2", "\x00", "٣٣٣٣"]


def _random_text(rng: random.Random) -> str:
    alphabet = "0123456789-_()[],. basicbsk\n\tä٣" + "".join(chr(i) for i in range(33, 127))
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def _nested(rng: random.Random, depth: int = 0):
    kind = rng.randint(0, 5 if depth < 3 else 3)
    if kind == 0:
        return rng.choice([None, 1.5, "x", b"y", -3, 10**30, float("nan")])
    if kind == 1:
        return rng.randint(-5, 9)
    if kind == 2:
        return rng.random() * 10 + 0.01
    if kind == 3:
        return _random_text(rng)
    return [_nested(rng, depth + 1) for _ in range(rng.randint(0, 7))]


def _macro_malformed(rng: random.Random):
    k = rng.randint(0, 9)
    if k == 0:
        return rng.choice(_JUNK)
    if k == 1:
        return _random_text(rng)
    if k == 2:  # near-miss official strings
        codes = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 8)))
        base = rng.choice(["64", "32", "064", "", "x"])
        return f"{base}-{codes}-{rng.choice(['basic', 'Basic', 'basic ', '', 'micro'])}"
    if k == 3:  # wrong lengths
        n = rng.choice([0, 1, 2, 3, 7, 8, 12])
        return tuple(rng.randint(1, 4) for _ in range(n))
    if k == 4:  # bad codes
        codes = [rng.randint(1, 4) for _ in range(rng.randint(4, 6))]
        codes[rng.randrange(len(codes))] = rng.choice([-1, 5, 6, 9, 100, -(10**9)])
        return codes
    if k == 5:  # invalid counts, as tuple or official string
        codes = tuple(rng.randint(1, 4) for _ in range(rng.randint(4, 6)))
        return str(codes) if rng.random() < 0.5 else "64-" + "".join(map(str, codes)) + "-basic"
    if k == 6:  # non-integral floats / strings among codes
        codes: list = [rng.randint(1, 4) for _ in range(rng.randint(4, 6))]
        codes[rng.randrange(len(codes))] = rng.choice([1.5, "2", None, [1], float("nan")])
        return codes
    if k == 7:  # zeros not at the end
        codes = [rng.randint(1, 4) for _ in range(6)]
        codes[rng.randrange(5)] = 0
        return tuple(codes)
    if k == 8:
        return _nested(rng)
    return str(_nested(rng))


def _macro_should_be_valid(x) -> bool:
    try:
        if isinstance(x, str):
            text = x.strip()
            if text.startswith("64-") and text.endswith("-basic") and text[3:-6].isdigit():
                return text[3:-6].isascii() and is_valid_macro(tuple(map(int, text[3:-6])))
            x = ast.literal_eval(text)
        codes = tuple(x)
    except Exception:
        return False
    if len(codes) == 6:
        while codes and codes[-1] == 0:
            codes = codes[:-1]
    return is_valid_macro(codes)


def _assert_rejected(space, x):
    with pytest.raises(InvalidArchitectureError) as info:
        space.parse(x)
    assert str(info.value).strip(), f"empty message for {x!r:.80}"


def test_macro_fuzz_1000_malformed_inputs():
    rng = random.Random(0)
    checked = 0
    while checked < 1200:
        x = _macro_malformed(rng)
        if _macro_should_be_valid(x):
            continue
        _assert_rejected(MACRO, x)
        checked += 1


def _micro_malformed(rng: random.Random):
    k = rng.randint(0, 8)
    if k == 0:
        return rng.choice(_JUNK)
    if k == 1:
        return _random_text(rng)
    if k == 2:  # near-miss official strings
        groups = ["".join(rng.choice("0123456789") for _ in range(rng.randint(0, 4)))
                  for _ in range(rng.randint(1, 4))]
        skel = rng.choice(["64-41414", "64-4141", "32-41414", "64-41414-", "", "64-1234"])
        return f"{skel}-{'_'.join(groups)}"
    if k == 3:  # wrong lengths
        return tuple(rng.randint(0, 3) for _ in range(rng.choice([0, 1, 5, 7, 9])))
    if k == 4:  # bad op ids
        ops: list = [rng.randint(0, 3) for _ in range(6)]
        ops[rng.randrange(6)] = rng.choice([-1, 4, 7, 10**12, 1.5, None, "3", [3], True])
        return ops if rng.random() < 0.5 else str(ops)
    if k == 5:  # bad op names
        ops = list(rng.choice(MICRO.ops) for _ in range(6))
        ops[rng.randrange(6)] = rng.choice(["avg_pool_3x3", "conv", "", "NONE"])
        return ops
    if k == 6:
        return _nested(rng)
    if k == 7:
        return np.full((2, 3), 1) if rng.random() < 0.5 else np.array([0.5] * 6)
    return str(_nested(rng))


def _micro_should_be_valid(x) -> bool:
    try:
        if isinstance(x, str):
            text = x.strip()
            if text.startswith("64-41414-"):
                d = text[9:]
                return (len(d) == 8 and d[1] == "_" and d[4] == "_"
                        and all(c in "0123" for c in d.replace("_", "")))
            x = ast.literal_eval(text)
        ops = list(x)
    except Exception:
        return False
    return len(ops) == 6 and (all(type(o) is int and 0 <= o <= 3 for o in ops)
                              or all(o in MICRO.ops for o in ops))


def test_micro_fuzz_1000_malformed_inputs():
    rng = random.Random(1)
    checked = 0
    while checked < 1200:
        x = _micro_malformed(rng)
        if _micro_should_be_valid(x):
            continue
        _assert_rejected(MICRO, x)
        checked += 1


def test_micro_rejects_non_ascii_digits():
    _assert_rejected(MICRO, "64-41414-٣_٣٣_٣٣٣")


# -- micro space ----------------------------------------------------------------------------------
def test_micro_enumerate_4096():
    cells = MICRO.enumerate()
    assert len(cells) == len(set(cells)) == 4096
    # edge order of the official string: node1<-0 | node2<-0,1 | node3<-0,1,2
    a = MICRO.parse("64-41414-1_02_333")
    assert [op for _, _, op in a.edge_ops()] == [
        "skip_connect", "none", "nor_conv_1x1", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3"]
    assert [(s, d) for s, d, _ in a.edge_ops()] == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3),
                                                  (2, 3)]
    assert MICRO.to_tuple(a) == (1, 0, 2, 3, 3, 3)


# -- networks without data ------------------------------------------------------------------------
def test_micro_param_golden_values():
    # Values from NAS-Bench-Suite-Zero zc_transbench101_micro.json, arch (1, 0, 0, 2, 1, 0).
    a = MICRO.parse("(1, 0, 0, 2, 1, 0)")
    scene = n_params(MICRO.to_model(a, task="class_scene"))
    assert scene == 910_687
    assert n_params(MICRO.to_model(a, task="class_object")) == 929_668
    assert n_params(MICRO.to_model(a, task="room_layout")) == 882_985
    assert n_params(MICRO.to_model(a, task="jigsaw")) == 5_487_368
    # heads: Linear(512, n) on top of the same 878,368-parameter encoder
    assert scene - 513 * 63 == n_params(MICRO.to_model(a, task="class_object").encoder)


def test_macro_param_golden_values():
    # From NASLib's zc_transbench101_macro.json (class_scene / jigsaw / segmentsemantic /
    # autoencoder); keys are padded NASLib tuples.
    golden = [("(1, 2, 4, 2, 0, 0)", "class_scene", 11.218783),
              ("(4, 1, 3, 3, 3, 1)", "class_scene", 3.557343),
              ("(3, 4, 1, 1, 0, 0)", "class_scene", 1.887071),
              ("(1, 1, 1, 3, 2, 1)", "jigsaw", 2.885),
              ("(3, 1, 3, 3, 4, 0)", "segmentsemantic", 8.634833),
              ("(3, 3, 1, 4, 4, 1)", "autoencoder", 25.971027)]
    for key, task, millions in golden:
        model = MACRO.to_model(MACRO.parse(key), task=task)
        assert n_params(model) == round(millions * 1e6), (key, task)


def _basic_block_params(ci: int, co: int) -> int:
    shortcut = ci * co + 2 * co if ci != co else 0
    return 9 * ci * co + 2 * co + 9 * co * co + 2 * co + shortcut


@pytest.mark.parametrize("key", ["64-1234-basic", "64-41414-basic", "64-221331-basic"])
def test_macro_encoder_params_by_hand(key):
    a = MACRO.parse(key)
    total = 3 * 32 * 9 + 2 * 32 + 32 * 64 * 9 + 2 * 64  # stem
    c = 64
    for code in a.codes:
        co = 2 * c if code in (2, 4) else c
        stride_change = code >= 3
        first = _basic_block_params(c, co)
        if stride_change and c == co:
            first += c * co + 2 * co  # Conv1x1(stride 2) + BN shortcut
        total += first + _basic_block_params(co, co)
        c = co
    model = build_macro(a, task="class_object")
    assert model.encoder.out_channels == 64 * 2**a.n_widen
    assert n_params(model.encoder) == total


def test_classification_forward_shapes():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    micro = MICRO.to_model(MICRO.parse("64-41414-3_13_123"), task="class_scene").eval()
    with torch.no_grad():
        assert micro(x).shape == (2, 63)
        assert micro.forward_features(x).shape == (2, 512, 1, 1)
    macro = MACRO.to_model(MACRO.parse("64-1234-basic"), num_classes=10).eval()
    with torch.no_grad():
        assert macro(x).shape == (2, 10)
        assert macro.forward_features(x).shape == (2, 256, 2, 2)  # 32 / 2**(2+2)
    assert macro.task == "class_object"


def test_jigsaw_forward_shapes():
    model = MICRO.to_model(MICRO.parse("64-41414-1_02_333"), task="jigsaw").eval()
    x = torch.randn(2, 9, 3, 16, 16)
    with torch.no_grad():
        assert model.forward_features(x).shape == (2, 9 * 512, 1, 1)
        assert model(x).shape == (2, 1000)
    with pytest.raises(ValueError, match=r"\(N, 9, 3, h, w\)"):
        model(torch.randn(2, 3, 16, 16))


@pytest.mark.parametrize("task,channels", [("segmentsemantic", 17), ("autoencoder", 3)])
def test_dense_heads_restore_the_input_resolution(task, channels):
    x = torch.randn(2, 3, 32, 32)
    model = MICRO.to_model(MICRO.parse("64-41414-2_02_002"), task=task).eval()  # 3 downsamplings
    with torch.no_grad():
        assert model(x).shape == (2, channels, 32, 32)
    deep = MACRO.to_model(MACRO.parse("64-3434-basic"), task="normal").eval()  # 4 downsamplings
    with torch.no_grad():
        y = deep(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 3, 64, 64) and y.abs().max() <= 1


def test_task_registry_and_errors():
    assert set(TASKS) == {"class_object", "class_scene", "room_layout", "jigsaw",
                          "segmentsemantic", "autoencoder", "normal"}
    assert OFFICIAL_NUM_CLASSES == {"class_object": 75, "class_scene": 47}
    a = MICRO.parse("64-41414-0_00_000")
    with pytest.raises(ValueError, match="unknown TransNAS-Bench-101 task 'cifar10'"):
        build_micro(a, task="cifar10")
    with pytest.raises(ValueError, match="num_classes"):
        build_micro(a, num_classes=0)
    with pytest.raises(ValueError, match="unknown micro op"):
        build_micro([(0, 1, "avg_pool_3x3")])
    with pytest.raises(ValueError, match="skeleton codes"):
        build_macro((1, 5, 3))
    official = build_micro(a, task="class_scene", num_classes=OFFICIAL_NUM_CLASSES["class_scene"])
    assert official.decoder.fc.out_features == 47


def test_reference_shortcut_batchnorm_quirk():
    block = BasicBlock(64, 128, stride=2)
    bn = block.downsample[1]
    assert (bn.eps, bn.momentum) == (1.0, 1.0)
    assert BasicBlock(64, 64, 1).downsample is None


def test_model_is_deterministic_under_seed():
    a = MACRO.parse("64-1234-basic")
    torch.manual_seed(3)
    m1 = MACRO.to_model(a)
    torch.manual_seed(3)
    m2 = MACRO.to_model(a)
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)


# -- against the benchmark files ------------------------------------------------------------------
def _need(data_dir, rel):
    path = data_dir / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in the data directory")
    return path


def test_macro_file_is_the_space(data_dir):
    keys = list(json.loads(_need(data_dir, "archs/archs_transbench101_macro.json").read_text())
                .values())
    archs = [MACRO.parse(k) for k in keys]
    assert set(archs) == MACRO_SET and len(keys) == 3256
    for k, a in zip(keys, archs):
        assert str(MACRO.to_tuple(a)) == k
        assert MACRO.parse(MACRO.to_string(a)) == a


def _zc_micro(data_dir):
    return json.loads(_need(data_dir, "nas-bench-suite-zero/zc_transbench101_micro.json")
                      .read_text())


def test_micro_zc_keys_round_trip(data_dir):
    for task, records in _zc_micro(data_dir).items():
        for key, rec in records.items():
            a = MICRO.parse(key)
            assert str(MICRO.to_tuple(a)) == key == rec["arch"], task
            assert MICRO.parse(MICRO.to_string(a)) == a


def test_graf_csv_keys_round_trip(data_dir):
    df = pd.read_csv(_need(data_dir, "tnb101-micro-graf/tnb101_micro_valid_nets.csv"))
    for key in df["net"]:
        a = MICRO.parse(key)
        assert str(MICRO.to_tuple(a)) == key
        assert MICRO.parse(MICRO.to_string(a)) == a


def _score(value) -> float:
    return value["score"] if isinstance(value, dict) else value


def _check_params(records, keys, task):
    for key in keys:
        with torch.device("meta"):  # parameter shapes only: no memory, no initialisation
            got = n_params(MICRO.to_model(MICRO.parse(key), task=task))
        assert math.isclose(got / 1e6, _score(records[key]["params"]), abs_tol=5e-7), (key, task)


@pytest.mark.parametrize("task", ["class_scene", "class_object", "room_layout", "jigsaw"])
def test_micro_params_match_zc_json_sample(data_dir, task):
    records = _zc_micro(data_dir)[task]
    keys = random.Random(0).sample(sorted(records), 12)
    _check_params(records, keys, task)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["class_scene", "class_object"])
def test_micro_params_match_zc_json_many(data_dir, task):
    # every cell is checked by `python benchmarks/verify_spaces.py` (docs/spaces.md)
    records = _zc_micro(data_dir)[task]
    _check_params(records, random.Random(1).sample(sorted(records), 150), task)


def test_graf_csv_params_are_class_scene(data_dir):
    df = pd.read_csv(_need(data_dir, "tnb101-micro-graf/tnb101_micro_valid_nets.csv"))
    for key, millions in df.sample(10, random_state=0)[["net", "params"]].itertuples(index=False):
        got = n_params(MICRO.to_model(MICRO.parse(key), task="class_scene"))
        assert math.isclose(got / 1e6, millions, abs_tol=5e-7), key
