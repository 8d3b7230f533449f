"""NAS-Bench-301 (DARTS) space: parsing, conversions, graphs, the DARTS network, fuzzing."""

from __future__ import annotations

import json
import random
from collections import namedtuple
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, get_space
from nasperf.searchspaces.nb301 import NB301Arch, NB301Space

NB301 = get_space("nb301")

# DARTS-V2 as printed in quark0/darts cnn/genotypes.py.
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
DARTS_V2_COMPACT = (((0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)),
                    ((0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)))
# First architecture of archs_nasbench301.json.
FILE_ARCH_0 = ("(((0, 6), (1, 4), (0, 0), (1, 5), (1, 4), (3, 2), (0, 6), (3, 2)), "
               "((0, 1), (1, 4), (0, 1), (1, 4), (2, 6), (3, 4), (1, 5), (2, 1)))")

DartsGenotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")


# -- parsing and conversions ---------------------------------------------------------------
def test_registry_and_ops():
    assert isinstance(NB301, NB301Space) and NB301.name == "nb301"
    # NASLib nasbench301/conversions.py OPS (7 ops, no 'none').
    assert NB301.ops == ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                         "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")


def test_darts_v2_string_tuple_round_trip():
    a = NB301.parse(DARTS_V2)
    assert NB301.to_string(a) == DARTS_V2 == str(a)
    assert NB301.to_tuple(a) == DARTS_V2_COMPACT
    assert NB301.parse(DARTS_V2_COMPACT) == a
    assert NB301.parse(str(DARTS_V2_COMPACT)) == a
    assert a.normal[5] == (0, "skip_connect") and a.reduce[7] == (1, "max_pool_3x3")
    assert hash(a) == hash(NB301.parse(DARTS_V2))


def test_compact_from_file_ids_are_names():
    a = NB301.parse(FILE_ARCH_0)
    assert a.normal[:3] == ((0, "dil_conv_5x5"), (1, "sep_conv_5x5"), (0, "max_pool_3x3"))
    assert a.reduce[-1] == (2, "avg_pool_3x3")
    assert str(NB301.to_tuple(a)) == FILE_ARCH_0


def test_genotype_object_and_other_forms():
    a = NB301.parse(DARTS_V2)
    g = NB301.to_genotype(a)
    assert NB301.parse(g) == a
    # The DARTS code's own namedtuple type, with range() concat as DARTS search prints it.
    darts_g = DartsGenotype(g.normal, range(2, 6), g.reduce, range(2, 6))
    assert NB301.parse(darts_g) == a
    assert NB301.parse(repr(darts_g)) == a  # "...normal_concat=range(2, 6)..."
    assert NB301.parse(tuple(darts_g)) == a
    assert NB301.parse(g._asdict()) == a
    assert NB301.parse({"normal": g.normal, "reduce": g.reduce}) == a
    assert NB301.parse(str({"normal": g.normal, "reduce": g.reduce})) == a
    assert NB301.parse(SimpleNamespace(normal=g.normal, reduce=g.reduce)) == a
    nested = [[g.normal[k], g.normal[k + 1]] for k in range(0, 8, 2)]
    assert NB301.parse({"normal": nested, "reduce": g.reduce}) == a
    assert NB301.parse([list(map(list, c)) for c in DARTS_V2_COMPACT]) == a
    assert NB301.parse(np.array(DARTS_V2_COMPACT)) == a
    assert NB301.parse((a.normal, a.reduce)) == a  # storage form (input, "op")
    assert NB301.parse(a) is a
    positional = DARTS_V2.replace("normal=", "").replace("normal_concat=", "")
    assert NB301.parse(positional.replace("reduce=", "").replace("reduce_concat=", "")) == a


def test_config_round_trip():
    a = NB301.parse(DARTS_V2)
    cfg = NB301.to_config(a)
    assert cfg["NetworkSelectorDatasetInfo:darts:edge_normal_11"] == "dil_conv_3x3"
    assert cfg["NetworkSelectorDatasetInfo:darts:inputs_node_normal_5"] == "0_2"
    assert NB301.parse(cfg) == NB301.canonicalize(a)
    short = {k.split(":")[-1]: v for k, v in cfg.items()}
    short["CreateImageDataLoader:batch_size"] = 96  # training hyperparameters are ignored
    assert NB301.parse(short) == NB301.canonicalize(a)


def test_canonicalize_sorts_inputs_only():
    a = NB301.parse(DARTS_V2)
    c = NB301.canonicalize(a)
    assert not NB301.is_canonical(a) and NB301.is_canonical(c)
    assert c.normal[4:6] == ((0, "skip_connect"), (1, "sep_conv_3x3"))
    assert sorted(c.normal) == sorted(a.normal) and sorted(c.reduce) == sorted(a.reduce)


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (DARTS_V2.replace("'dil_conv_3x3', 2", "'conv_7x1_1x7', 2"), "conv_7x1_1x7"),
        (DARTS_V2.replace("'dil_conv_3x3', 2", "'none', 2"), "'none'"),
        (DARTS_V2.replace("'dil_conv_3x3', 2", "'dil_conv_3x3', 5"), "input node 5"),
        (DARTS_V2.replace("'skip_connect', 0), ('dil", "'skip_connect', 2), ('dil"), "twice"),
        (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), "concat"),
        (DARTS_V2.replace(", ('dil_conv_3x3', 2)", ""), "got 7"),
        (str(((*DARTS_V2_COMPACT[0][:7], (2, 7)), DARTS_V2_COMPACT[1])), "op id 7"),
        ("Genotype(normal=[], reduce=[], reduce_concat=[2, 3, 4, 5], foo=1)", "foo"),
        ("__import__('os').system('true')", "expected Genotype"),
    ],
)
def test_invalid_messages_name_the_problem(bad, needle):
    with pytest.raises(InvalidArchitectureError) as info:
        NB301.parse(bad)
    assert needle in str(info.value)


def test_position_named_in_error():
    bad = [list(map(list, c)) for c in DARTS_V2_COMPACT]
    bad[1][6][1] = 9
    with pytest.raises(InvalidArchitectureError, match=r"reduce cell, position 6 \(node 5\)"):
        NB301.parse(bad)


@pytest.mark.data
@pytest.mark.slow
def test_all_archs_in_file_round_trip(data_dir):
    path = data_dir / "archs" / "archs_nasbench301.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    archs = json.loads(path.read_text())
    n = 0
    for key in archs.values():
        a = NB301.parse(key)
        assert str(NB301.to_tuple(a)) == key
        assert NB301.parse(NB301.to_string(a)) == a
        assert NB301.parse(NB301.to_tuple(a)) == a
        assert NB301.is_canonical(a)  # NB301 data lists a node's inputs in ascending order
        n += 1
    assert n == 11221


# -- graphs ----------------------------------------------------------------------------------
def test_cell_graphs_hand_checked():
    graphs = NB301.to_graphs(NB301.parse(DARTS_V2))
    assert set(graphs) == {"normal", "reduce"}
    g = graphs["normal"]
    assert g.ops == ("input0", "input1", "sep_conv_3x3", "sep_conv_3x3", "sep_conv_3x3",
                     "sep_conv_3x3", "sep_conv_3x3", "skip_connect", "skip_connect",
                     "dil_conv_3x3", "output")
    # op nodes 2..9 are pairs 0..7; pair 7 (dil_conv) reads node 2 = pairs 0, 1.
    into_output = [(k, 10) for k in range(2, 10)]
    assert g.edges == sorted([(0, 2), (0, 4), (0, 7), (0, 8), (1, 3), (1, 5), (1, 6),
                              (2, 9), (3, 9), *into_output])
    r = graphs["reduce"]
    # reduce: pairs 2, 5, 6 (skips) read node 2 = pairs 0, 1 (max pools).
    assert r.edges == sorted([(0, 2), (0, 6), (1, 3), (1, 5), (1, 9), (2, 4), (2, 7), (2, 8),
                              (3, 4), (3, 7), (3, 8), *into_output])
    assert isinstance(g, ArchGraph) and g.is_connected()


def test_to_graph_and_enumerate_raise():
    a = NB301.parse(DARTS_V2)
    with pytest.raises(NotImplementedError, match="to_graphs"):
        NB301.to_graph(a)
    with pytest.raises(NotImplementedError, match="1e18"):
        NB301.enumerate()


# -- the network -----------------------------------------------------------------------------
def test_darts_v2_parameter_count():
    model = NB301.to_model(NB301.parse(DARTS_V2), init_channels=36, layers=20, auxiliary=True)
    assert model.num_parameters() == 3_349_342  # DARTS train.py "param size = 3.349342MB"
    assert model.num_parameters(auxiliary=True) > 3_349_342


def test_forward_shapes_nb301_config(one_torch_thread):
    torch.manual_seed(0)
    a = NB301.sample(1, seed=3)[0]
    model = NB301.to_model(a, num_classes=10)
    assert len(model.cells) == 8
    assert [c.reduction for c in model.cells] == [False, False, True, False, False, True,
                                                  False, False]
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (2, 10)
        assert model.forward_features(x).shape == (2, 4 * 4 * 32, 8, 8)
        assert model.forward_with_aux(x)[1] is None


def test_auxiliary_and_drop_path_in_training(one_torch_thread):
    torch.manual_seed(0)
    model = NB301.to_model(NB301.parse(DARTS_V2), init_channels=8, layers=5, auxiliary=True,
                           drop_prob=0.5, num_classes=3)
    x = torch.randn(2, 3, 32, 32)
    model.train()
    logits, aux = model.forward_with_aux(x)
    assert logits.shape == aux.shape == (2, 3)
    (logits.sum() + aux.sum()).backward()
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))  # no drop path in eval mode


def test_sampled_parameter_range():
    def uniform(op):  # every pair reads inputs 0 / 1 with the same op
        cell = tuple((j, op) for j in (0, 1) * 4)
        return NB301Arch(cell, cell)

    low = NB301.to_model(uniform("max_pool_3x3")).num_parameters()
    high = NB301.to_model(uniform("sep_conv_5x5")).num_parameters()
    assert (low, high) == (392_426, 1_684_714)  # the space's extremes at C=32, 8 cells
    counts = [NB301.to_model(a).num_parameters() for a in NB301.sample(10, seed=1)]
    assert all(low < c < high for c in counts)


# -- the NASLib convention (NAS-Bench-Suite-Zero's network) ----------------------------------
def _cell_op_bns(model):
    """The BatchNorms inside the cell operations (not the preprocessing) of a network."""
    return [m for cell in model.cells for op in cell.ops for m in op.modules()
            if isinstance(m, torch.nn.BatchNorm2d)]


def _affine_params(bns) -> int:
    return sum(p.numel() for m in bns for p in m.parameters())


#: A cell with every op: pairs (input, op) per node 2..5.
HAND_NORMAL = ((0, "sep_conv_3x3"), (1, "max_pool_3x3"), (0, "skip_connect"),
               (1, "dil_conv_3x3"), (2, "sep_conv_5x5"), (0, "avg_pool_3x3"),
               (3, "dil_conv_5x5"), (1, "skip_connect"))
HAND_REDUCE = ((0, "sep_conv_3x3"), (1, "skip_connect"), (0, "max_pool_3x3"),
               (2, "dil_conv_5x5"), (1, "avg_pool_3x3"), (3, "sep_conv_5x5"),
               (0, "skip_connect"), (4, "dil_conv_3x3"))


def _op_params(op: str, c: int, stride: int, affine: bool) -> int:
    """Parameters of one cell op on c channels, by hand (convs have no bias; an affine BN
    has 2 per channel; pools have none, nor has a non-affine BN)."""
    bn = 2 * c if affine else 0
    k = {"3x3": 3, "5x5": 5}.get(op[-3:])
    if op.startswith("sep_conv"):  # 2 x (depthwise k*k + pointwise c*c + BN)
        return 2 * (c * k * k + c * c + bn)
    if op.startswith("dil_conv"):  # depthwise k*k + pointwise c*c + BN
        return c * k * k + c * c + bn
    if op == "skip_connect":  # identity, or FactorizedReduce: two c -> c/2 1x1 convs + BN
        return 0 if stride == 1 else c * c + bn
    return 0


def _hand_count(C: int, classes: int, affine: bool) -> int:
    """layers=3 by hand: stem, normal cell (C), reduction cells (2C, 4C), classifier."""
    stem = 3 * (3 * C) * 9 + 2 * (3 * C)  # Conv3x3(3 -> 3C) + affine BN

    def relu_conv_bn(c_in, c):
        return c_in * c + 2 * c

    def ops(pairs, c, reduction):
        return sum(_op_params(op, c, 2 if reduction and src < 2 else 1, affine)
                   for src, op in pairs)

    cell0 = relu_conv_bn(3 * C, C) + relu_conv_bn(3 * C, C) + ops(HAND_NORMAL, C, False)
    cell1 = (relu_conv_bn(3 * C, 2 * C) + relu_conv_bn(4 * C, 2 * C)
             + ops(HAND_REDUCE, 2 * C, True))
    # cell 1 reduced: c_{k-2} (cell 0, 4C channels) goes through FactorizedReduce(4C -> 4C)
    cell2 = (4 * C * 4 * C + 2 * 4 * C) + relu_conv_bn(8 * C, 4 * C) + ops(HAND_REDUCE, 4 * C,
                                                                             True)
    return stem + cell0 + cell1 + cell2 + 16 * C * classes + classes


def test_hand_computed_count_both_conventions():
    arch = NB301Arch(HAND_NORMAL, HAND_REDUCE)
    for convention, affine, expected in (("darts", True, 8142), ("naslib", False, 7710)):
        model = NB301.to_model(arch, init_channels=4, layers=3, convention=convention)
        assert _hand_count(4, 10, affine) == expected
        assert model.num_parameters() == expected, convention
    # the difference is the affine BN parameters of the cell ops, 2 per channel of each BN:
    # cell 0 (4 channels) 6 BNs (2 sep_conv x 2, 2 dil_conv), cells 1 and 2 (8 and 16
    # channels) 8 BNs each (2 sep_conv x 2, 2 dil_conv, 2 stride-2 skips)
    assert 8142 - 7710 == 2 * (6 * 4 + 8 * 8 + 8 * 16)
    darts = NB301.to_model(arch, init_channels=4, layers=3)
    assert _affine_params(_cell_op_bns(darts)) == 8142 - 7710


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_naslib_count_is_darts_minus_affine_cell_op_bns(seed):
    arch = NB301.sample(1, seed=seed)[0]
    darts = NB301.to_model(arch)
    naslib = NB301.to_model(arch, convention="naslib")
    cell_bn = _affine_params(_cell_op_bns(darts))
    assert cell_bn > 0
    assert naslib.num_parameters() == darts.num_parameters() - cell_bn
    assert 0.005 < cell_bn / darts.num_parameters() < 0.015  # about 1% at C=32, 8 cells
    assert _affine_params(_cell_op_bns(naslib)) == 0
    # stem, preprocessing and classifier are the same (affine) in both
    for a, b in ((darts.stem, naslib.stem), (darts.cells[3].preprocess0,
                                             naslib.cells[3].preprocess0),
                 (darts.classifier, naslib.classifier)):
        assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]


def test_naslib_pools_have_a_non_affine_bn():
    arch = NB301Arch(HAND_NORMAL, HAND_REDUCE)
    darts = NB301.to_model(arch, init_channels=4, layers=3)
    naslib = NB301.to_model(arch, init_channels=4, layers=3, convention="naslib")
    for d_cell, n_cell, pairs in zip(darts.cells, naslib.cells,
                                     (HAND_NORMAL, HAND_REDUCE, HAND_REDUCE), strict=True):
        for d_op, n_op, (_, op) in zip(d_cell.ops, n_cell.ops, pairs, strict=True):
            if "pool" not in op:
                continue
            pool = torch.nn.MaxPool2d if op.startswith("max") else torch.nn.AvgPool2d
            assert isinstance(d_op, pool)  # DARTS: the bare pooling layer
            assert isinstance(n_op[0], pool) and len(n_op) == 2
            bn = n_op[1]
            assert isinstance(bn, torch.nn.BatchNorm2d) and not bn.affine
            assert bn.num_features == n_cell.preprocess1[1].out_channels
    assert NB301.to_model(arch, convention="darts").convention.pool_bn is False


def test_forward_both_conventions(one_torch_thread):
    torch.manual_seed(0)
    arch = NB301.sample(1, seed=4)[0]
    x = torch.randn(2, 3, 32, 32)
    for convention in ("darts", "naslib"):
        model = NB301.to_model(arch, init_channels=8, layers=3, num_classes=5,
                               convention=convention)
        model.train()
        out = model(x)
        out.sum().backward()
        assert out.shape == (2, 5) and torch.isfinite(out).all()
        model.eval()
        with torch.no_grad():
            assert torch.equal(model(x), model(x))


def test_unknown_convention_is_a_value_error():
    with pytest.raises(ValueError, match="unknown convention 'nasbench'; known: darts, naslib"):
        NB301.to_model(NB301.sample(1)[0], convention="nasbench")


# -- sampling and mutation -------------------------------------------------------------------
def test_sample_is_seeded_and_canonical():
    assert NB301.sample(5, seed=7) == NB301.sample(5, seed=7)
    archs = NB301.sample(200, seed=0)
    assert len(set(archs)) == 200 and all(NB301.is_canonical(a) for a in archs)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_sample_and_mutate_are_valid(seed, mseed):
    a = NB301.sample(1, seed=seed)[0]
    assert NB301.parse(NB301.to_tuple(a)) == a
    m = NB301.mutate(a, seed=mseed)
    assert isinstance(m, NB301Arch) and m != a
    assert NB301.parse(NB301.to_string(m)) == m
    assert NB301.is_canonical(m)
    # exactly one pair changed (as a multiset per node)
    changed = sum(
        len(set(a.cell(c)[k:k + 2]) ^ set(m.cell(c)[k:k + 2])) for c in ("normal", "reduce")
        for k in range(0, 8, 2)
    )
    assert changed == 2


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_mutate_keeps_non_canonical_order(seed):
    a = NB301.parse(DARTS_V2)
    m = NB301.mutate(a, seed=seed)
    assert m != a and NB301.parse(NB301.to_tuple(m)) == m


# -- fuzzing ---------------------------------------------------------------------------------
def _malformed(rng: random.Random) -> list:
    """At least 1,000 inputs that are not NB301 architectures."""
    valid_compact = [list(map(list, c)) for c in DARTS_V2_COMPACT]
    valid_texts = [DARTS_V2, FILE_ARCH_0, str(DARTS_V2_COMPACT)]
    bad_ids = [7, -1, 100, 2.5, None, [], "x", True, float("nan"), "none"]
    out: list = [None, 0, 1.5, float("inf"), b"(((0, 1),),)", set(), {}, (), [], "", "  ",
                 "Genotype()", "Genotype(normal=1, reduce=2)", "range(2, 6)", "{1: 2}",
                 "((", "[[[[", "(" * 500 + ")" * 500, "Genotype(normal=x)", object()]
    for _ in range(150):  # garbage strings
        n = rng.randrange(1, 60)
        out.append("".join(rng.choice("()[],'0123456789 _abcdefGnoyptxv=") for _ in range(n)))
    for _ in range(150):  # truncated valid strings
        text = rng.choice(valid_texts)
        out.append(text[: rng.randrange(1, len(text))])
    for _ in range(250):  # one corrupted entry in a valid compact form
        arch = json.loads(json.dumps(valid_compact))
        c, k = rng.randrange(2), rng.randrange(8)
        kind = rng.randrange(4)
        if kind == 0:
            arch[c][k][1] = rng.choice(bad_ids)
        elif kind == 1:  # input index >= node, negative or non-integer
            arch[c][k][0] = rng.choice([2 + k // 2 + rng.randrange(4), -1, 0.5, None, "0"])
        elif kind == 2:  # duplicate input within a node
            sib = k + 1 - 2 * (k % 2)
            arch[c][k][0] = arch[c][sib][0]
        else:  # malformed pair
            arch[c][k] = rng.choice([[0], [0, 1, 2], 3, None, "03", {}, [[0, 1]]])
        out.append(arch if rng.random() < 0.5 else str(arch))
    for _ in range(150):  # wrong lengths
        arch = json.loads(json.dumps(valid_compact))
        kind = rng.randrange(5)
        if kind == 0:
            del arch[rng.randrange(2)][rng.randrange(8)]
        elif kind == 1:
            arch[rng.randrange(2)].append([0, 1])
        elif kind == 2:
            arch = arch[:1]
        elif kind == 3:
            arch = [*arch, arch[0]]
        else:
            arch[rng.randrange(2)] = arch[0][: rng.randrange(8)]
        out.append(arch if rng.random() < 0.5 else str(arch))
    for _ in range(150):  # corrupted genotype strings
        ops = ["sep_conv_3x3", "max_pool_3x3", "skip_connect", "dil_conv_3x3"]
        text = DARTS_V2.replace(rng.choice(ops), rng.choice(["none", "conv_3x3", "", "Sep"]), 1)
        if rng.random() < 0.3:
            text = text.replace("[2, 3, 4, 5]", rng.choice(["[2, 3, 4]", "[]", "[2, 3, 4, 6]",
                                                              "range(2, 5)", "None"]), 1)
        if text == DARTS_V2:
            text = text.replace("Genotype(normal", "Genotype(norml")
        out.append(text)
    for _ in range(150):  # corrupted NB301 config dicts
        cfg = NB301.to_config(NB301.sample(1, seed=rng.randrange(10**6))[0])
        key = rng.choice(sorted(cfg))
        kind = rng.randrange(3)
        if kind == 0 and "edge_" in key:
            del cfg[key]
        elif kind == 1:
            cfg[key] = rng.choice(["none", 3, "", "9_9"])
        else:
            cfg[key.rsplit("_", 1)[0] + "_99"] = "skip_connect"
        out.append(cfg)
    for _ in range(150):  # nested junk
        out.append(_junk(rng, depth=4))
    return out


def _junk(rng: random.Random, depth: int):
    leaves = [None, 0, 1, 7, -3, 2.5, "sep_conv_3x3", "x", True, b"", float("nan")]
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(leaves)
    kind = rng.randrange(3)
    items = [_junk(rng, depth - 1) for _ in range(rng.choice([0, 1, 2, 2, 4, 8]))]
    if kind == 0:
        return items
    if kind == 1:
        return tuple(items)
    return {rng.choice(["normal", "reduce", "edge_normal_0", "z"]): v for v in items}


def test_fuzz_malformed_inputs_raise_invalid_architecture_error():
    cases = _malformed(random.Random(0))
    assert len(cases) >= 1000
    for x in cases:
        with pytest.raises(InvalidArchitectureError) as info:
            NB301.parse(x)
        assert str(info.value), f"empty message for {x!r:.80}"


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=9) | st.tuples(inner, inner)
    | st.dictionaries(st.sampled_from(["normal", "reduce", "normal_concat", "q"]), inner),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_json_like, st.text(max_size=80)))
def test_fuzz_only_invalid_architecture_error_escapes(x):
    for candidate in (x, str(x)):
        try:
            NB301.parse(candidate)
        except InvalidArchitectureError as exc:
            assert str(exc)
