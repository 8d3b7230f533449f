"""NB201 / TNB101-micro cell spaces: parsing, conversions, graphs, models."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, get_space
from nasperf.searchspaces.cell6 import NB201Arch

NB201 = get_space("nb201")
TNB = get_space("tnb101_micro")
ALL_CONV3 = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
             "nor_conv_3x3~2|")


def test_tuple_and_string_agree_with_published_example():
    # From the GRAF CSV: net "(4, 0, 3, 1, 4, 3)" is this official string.
    s = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    a = NB201.parse("(4, 0, 3, 1, 4, 3)")
    assert NB201.to_string(a) == s == str(a)
    assert NB201.parse(s) == a
    assert NB201.to_tuple(a) == (4, 0, 3, 1, 4, 3)
    assert NB201.parse([4, 0, 3, 1, 4, 3]) == a
    assert NB201.parse(np.array([4, 0, 3, 1, 4, 3])) == a


def test_genotype_list_form():
    geno = [[("nor_conv_3x3", 0)], [("nor_conv_3x3", 0), ("nor_conv_3x3", 1)],
            [("nor_conv_3x3", 0), ("nor_conv_3x3", 1), ("nor_conv_3x3", 2)]]
    assert NB201.to_string(NB201.parse(geno)) == ALL_CONV3
    assert NB201.parse(str(geno)) == NB201.parse(ALL_CONV3)


def test_enumerate_round_trips_all_cells():
    cells = NB201.enumerate()
    assert len(cells) == 15625 == len(set(cells))
    for a in cells:
        assert NB201.parse(NB201.to_string(a)) == a
        assert NB201.parse(NB201.to_tuple(a)) == a
        assert NB201.parse(str(NB201.to_tuple(a))) == a
    assert sum(NB201.is_canonical(a) for a in cells) == 9445


def test_tnb_micro_enumerate_and_round_trip():
    cells = TNB.enumerate()
    assert len(cells) == 4096 == len(set(cells))
    for a in cells:
        assert TNB.parse(TNB.to_string(a)) == a
        assert TNB.parse(TNB.to_tuple(a)) == a
    a = TNB.parse("64-41414-3_03_123")
    assert a.ops == ("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "nor_conv_1x1",
                     "nor_conv_3x3")
    assert TNB.to_tuple(a) == (3, 0, 3, 1, 2, 3)


def test_graph_of_all_conv3_cell():
    g = NB201.to_graph(NB201.parse(ALL_CONV3))
    # op nodes in string edge order: e01, e02, e12, e03, e13, e23
    assert g.ops == ("input",) + ("nor_conv_3x3",) * 6 + ("output",)
    expected = {(0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7)}
    assert set(g.edges) == expected


def test_graph_drops_none_and_dead_ops():
    # node 2's only outgoing edge is none: its two convolutions are dead.
    a = NB201.parse("|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|"
                    "nor_conv_1x1~1|none~2|")
    g = NB201.to_graph(a)
    assert g.ops == ("input", "skip_connect", "nor_conv_1x1", "nor_conv_1x1", "output")
    assert set(g.edges) == {(0, 1), (0, 2), (1, 3), (2, 4), (3, 4)}
    c = NB201.canonicalize(a)
    assert c.ops[1] == c.ops[2] == "none" and NB201.to_graph(c) == g


def test_disconnected_cell_is_empty_graph():
    g = NB201.to_graph(NB201.parse("(1, 1, 1, 1, 1, 1)"))
    assert g.ops == ("input", "output") and g.edges == []


@pytest.mark.parametrize("channels,cells,nc", [(16, 5, 10), (8, 1, 100)])
def test_model_forward_and_params(channels, cells, nc):
    m = NB201.to_model(NB201.parse(ALL_CONV3), num_classes=nc, channels=channels,
                       cells_per_stage=cells)
    out = m(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, nc)
    if channels == 16:
        # all-conv3 NB201 net: the largest cell, 1.531546 M parameters in the benchmark.
        assert sum(p.numel() for p in m.parameters()) == 1_531_546


def test_model_params_match_benchmark(data_dir):
    blob = json.loads((data_dir / "nas-bench-suite-zero" / "zc_nasbench201.json").read_text())
    n = 0  # every cell of every file is checked by `python benchmarks/verify_spaces.py`
    for ds, nc in (("cifar10", 10), ("cifar100", 100), ("ImageNet16-120", 120)):
        keys = sorted(blob[ds])
        keys = keys if ds == "cifar10" else random.Random(0).sample(keys, 60)
        for key in keys:
            rec = blob[ds][key]
            with torch.device("meta"):  # parameter shapes only: no memory, no initialisation
                m = NB201.to_model(NB201.parse(key), num_classes=nc)
            assert sum(p.numel() for p in m.parameters()) / 1e6 == pytest.approx(
                rec["params"]["score"], abs=5e-7), key
            n += 1
    assert n == 724 + 60 + 60


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_sample_and_mutate_valid(seed):
    for space in (NB201, TNB):
        a = space.sample(1, seed=seed)[0]
        b = space.mutate(a, seed=seed)
        assert a != b and sum(x != y for x, y in zip(a.ops, b.ops)) == 1
        for arch in (a, b):
            assert space.parse(space.to_string(arch)) == arch
            assert isinstance(space.to_graph(arch), ArchGraph)


def test_sample_deterministic():
    assert NB201.sample(5, seed=3) == NB201.sample(5, seed=3)
    assert NB201.sample(5, seed=3) != NB201.sample(5, seed=4)


def test_cross_space_arch_rejected():
    with pytest.raises(InvalidArchitectureError, match="NB201Arch"):
        NB201.to_string(TNB.parse("64-41414-3_03_123"))


@pytest.mark.parametrize("bad,msg", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 '\\+'-separated"),
    ("|conv9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv9'"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must read from node 0"),
    ("(0, 1, 2)", "expected 6 op ids"),
    ("(0, 1, 2, 3, 4, 7)", "unknown op id 7"),
    ("(0, 1, 2, 3, 4, 2.5)", "expected an integer"),
    ("(0, 1, 2, 3, 4", "malformed"),
    ("", "empty"),
])
def test_bad_inputs_have_clear_messages(bad, msg):
    with pytest.raises(InvalidArchitectureError, match=msg):
        NB201.parse(bad)


def _malformed(rng: random.Random) -> object:
    ops = list(NB201.ops)
    kind = rng.randrange(10)
    if kind == 0:  # random printable junk
        return "".join(rng.choice("|+~_0123456789abcxyz()[], ") for _ in range(rng.randrange(60)))
    if kind == 1:  # wrong tuple length
        return tuple(rng.randrange(5) for _ in range(rng.choice([0, 1, 5, 7, 12])))
    if kind == 2:  # bad op id
        t = [rng.randrange(5) for _ in range(6)]
        t[rng.randrange(6)] = rng.choice([-1, 5, 99, 2**40])
        return tuple(t) if rng.random() < 0.5 else str(tuple(t))
    if kind == 3:  # a string with one corrupted token
        toks = [f"{rng.choice(ops)}~{s}" for d in (1, 2, 3) for s in range(d)]
        i = rng.randrange(6)
        toks[i] = rng.choice(["", "conv~0", toks[i].replace("~", "-"), toks[i] + "~1", "x~9"])
        return f"|{toks[0]}|+|{toks[1]}|{toks[2]}|+|{toks[3]}|{toks[4]}|{toks[5]}|"
    if kind == 4:  # wrong group structure
        return "+".join("|" + "|".join(rng.choice(ops) + "~0" for _ in range(rng.randrange(4)))
                        + "|" for _ in range(rng.choice([1, 2, 4])))
    if kind == 5:  # wrong element types
        return tuple(rng.choice([None, 1.5, "x", [], {}, True, b"1"]) for _ in range(6))
    if kind == 6:
        return rng.choice([None, 3, 2.0, object(), {"a": 1}, b"(0,0,0,0,0,0)", set()])
    if kind == 7:  # nested junk
        return [[rng.randrange(5)] * rng.randrange(3) for _ in range(3)]
    if kind == 8:  # unknown op names in a list
        return [rng.choice(ops + ["conv", "NONE", ""]) for _ in range(6)] + ["extra"] * (
            rng.random() < 0.5)
    return str([("nor_conv_3x3", rng.randrange(-1, 4))] * rng.randrange(1, 4))


def test_fuzz_malformed_inputs_raise_documented_error():
    rng = random.Random(0)
    n_raised = 0
    for _ in range(3000):
        x = _malformed(rng)
        try:
            a = NB201.parse(x)
        except InvalidArchitectureError as exc:
            assert str(exc)
            n_raised += 1
        else:  # a few generated inputs happen to be valid: they must round-trip
            assert isinstance(a, NB201Arch) and NB201.parse(NB201.to_string(a)) == a
    assert n_raised >= 1000
