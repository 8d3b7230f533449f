"""NAS-Bench-101 space: parsing, validation, pruning, hashing, sampling and the network."""

from __future__ import annotations

import ast
import json
import math
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasperf.searchspaces import InvalidArchitectureError, get_space
from nasperf.searchspaces.models.nb101 import NB101Network, compute_vertex_channels
from nasperf.searchspaces.nb101 import INTERIOR_OPS, NB101Arch

NB101 = get_space("nb101")
C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"

# The Inception-like cell of the NAS-Bench-101 README, and the isomorphic form the official
# API returns for it, with its recorded ``trainable_parameters``.
INCEPTION = (
    [[0, 1, 1, 1, 0, 1, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 1, 0, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 0]],
    ["input", C1, C3, C3, C3, MP, "output"],
)
INCEPTION_STORED = (
    [[0, 1, 1, 1, 1, 0, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 1, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 0]],
    ["input", C3, C1, MP, C3, C3, "output"],
)
INCEPTION_PARAMS = 2694282


def n_params(arch: NB101Arch, **kwargs) -> int:
    """Parameter count of the network, built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        model = NB101.to_model(arch, **kwargs)
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def zc101(data_dir):
    path = data_dir / "nas-bench-suite-zero" / "zc_nasbench101.json"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())["nasbench101"]["cifar10"]


# -- parsing and round trips ---------------------------------------------------------------------
@pytest.mark.data
def test_file_keys_round_trip(zc101):
    assert len(zc101) == 500
    for key in zc101:
        tup = ast.literal_eval(key)
        a = NB101.parse(key)
        assert NB101.to_tuple(a) == tup
        assert NB101.parse(tup) == NB101.parse(list(tup)) == a
        assert NB101.parse(NB101.to_tuple(a)) == a
        assert NB101.parse(NB101.to_string(a)) == a == NB101.parse(str(a))
        assert NB101.parse({"matrix": np.array(a.matrix), "ops": list(a.ops)}) == a
        assert NB101.parse(str({"matrix": [list(r) for r in a.matrix], "ops": a.ops})) == a
        assert NB101.parse(NB101.canonicalize(a)) == NB101.canonicalize(a)


def test_string_form_and_accepted_inputs():
    a = NB101.parse(INCEPTION)
    s = ("0111010.0000001.0000001.0000100.0000001.0000001.0000000|"
         "input,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,"
         "output")
    assert NB101.to_string(a) == s == str(a)
    ids = [0, 3, 4, 4, 4, 2, 1]
    flat = (*np.array(INCEPTION[0]).ravel().tolist(), *ids)
    assert NB101.to_tuple(a) == flat
    for form in (s, flat, list(flat), str(flat), (np.array(INCEPTION[0]), ids),
                 (np.array(INCEPTION[0], dtype=bool), INCEPTION[1]),
                 {"matrix": INCEPTION[0], "ops": INCEPTION[1]},
                 {"module_adjacency": INCEPTION[0], "module_operations": INCEPTION[1]}):
        assert NB101.parse(form) == a
    assert hash(a) == hash(NB101.parse(s))


def test_small_cells_are_padded_like_naslib():
    # input -> maxpool -> output plus a skip input -> output: 3 nodes.
    small = ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", MP, "output"])
    a = NB101.parse(small)
    assert a.ops == ("input", MP, C3, C3, C3, C3, "output")
    assert a.matrix[0] == (0, 1, 0, 0, 0, 0, 1)
    assert a.matrix[1] == (0, 0, 0, 0, 0, 0, 1)
    assert all(not any(row) for row in a.matrix[2:])
    assert NB101.parse(NB101.to_tuple(a)) == a
    assert NB101.parse((0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 2, 1)) == a  # NASLib flat 3-node tuple
    g = NB101.to_graph(a)
    assert g.adjacency.tolist() == small[0] and list(g.ops) == small[1]
    two = NB101.parse(([[0, 1], [0, 0]], ["input", "output"]))
    assert NB101.to_graph(two).n_nodes == 2


# -- validation and pruning ----------------------------------------------------------------------
def test_pruning_removes_dead_vertices_like_model_spec():
    matrix = [[0, 1, 0, 1, 0, 0, 0],   # 0 -> 1, 0 -> 3 (3 is a dead end)
              [0, 0, 1, 0, 0, 0, 0],   # 1 -> 2
              [0, 0, 0, 0, 0, 0, 1],   # 2 -> out
              [0, 0, 0, 0, 0, 0, 0],
              [0, 0, 0, 0, 0, 1, 1],   # 4 is not reachable from the input
              [0, 0, 0, 0, 0, 0, 1],   # 5 only reachable from 4
              [0, 0, 0, 0, 0, 0, 0]]
    ops = ["input", C3, MP, C1, C1, C3, "output"]
    a = NB101.parse((matrix, ops))
    assert a.matrix == tuple(map(tuple, matrix))  # the stored cell keeps dead vertices
    g = NB101.to_graph(a)
    assert g.adjacency.tolist() == [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert g.ops == ("input", C3, MP, "output")
    canon = NB101.canonicalize(a)
    assert canon != a and NB101.is_canonical(canon) and not NB101.is_canonical(a)
    assert NB101.hash_spec(canon) == NB101.hash_spec(a)
    assert n_params(canon) == n_params(a)


def test_edge_limit_applies_after_pruning():
    # 10 raw edges, but vertex 5 (2 edges) is dead: 8 edges remain -> valid (official is_valid).
    m = np.zeros((7, 7), int)
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 2), (1, 3), (2, 4), (0, 5), (1, 5)]:
        m[i, j] = 1
    a = NB101.parse((m, ["input", C3, C3, C3, C3, C3, "output"]))
    assert int(NB101.to_graph(a).adjacency.sum()) == 8
    m[5, 6] = 1  # revive vertex 5: 11 live edges
    with pytest.raises(InvalidArchitectureError, match="11 edges after pruning"):
        NB101.parse((m, ["input", C3, C3, C3, C3, C3, "output"]))


@pytest.mark.parametrize("cell, message", [
    (([[0, 0, 1], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"]), None),  # fine: skip only
    (([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"]), "not reachable"),
    (([[0, 1, 0], [1, 0, 1], [0, 0, 0]], ["input", C3, "output"]), r"entry \(1, 0\)"),
    (([[1, 1], [0, 0]], ["input", "output"]), r"entry \(0, 0\)"),
    (([[0, 2], [0, 0]], ["input", "output"]), "0 or 1"),
    (([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "output", "output"]), "op 1"),
    (([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [C3, C3, "output"]), "op 0"),
    (([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C3, C3]), "last op"),
    (([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"]), "unknown op"),
    (([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [0, 7, 1]), "unknown op id 7"),
    (([[0, 1, 1], [0, 0, 1]], ["input", C3, "output"]), "row 0"),
    ((np.triu(np.ones((8, 8), int), 1), ["input"] + [C3] * 6 + ["output"]), "2..7 nodes"),
    (((0, 1) * 28)[:55], "55 items"),
])
def test_invalid_cells_name_the_problem(cell, message):
    if message is None:
        assert NB101.to_graph(NB101.parse(cell)).n_nodes == 2
        return
    with pytest.raises(InvalidArchitectureError, match=message):
        NB101.parse(cell)


# -- hashing -------------------------------------------------------------------------------------
def _random_topological_relabel(arch: NB101Arch, rng: random.Random) -> tuple[list, list]:
    """An isomorphic copy of the pruned cell with its interior vertices reordered along a
    random topological order (so the matrix stays upper triangular)."""
    g = NB101.to_graph(arch)
    adj, n = g.adjacency, g.n_nodes
    order, placed = [0], {0}
    while len(order) < n - 1:
        ready = [v for v in range(1, n - 1) if v not in placed
                 and all(u in placed for u in np.flatnonzero(adj[:, v]))]
        v = rng.choice(ready)
        order.append(v)
        placed.add(v)
    order.append(n - 1)
    return adj[np.ix_(order, order)].tolist(), [g.ops[v] for v in order]


def test_isomorphic_cells_have_equal_hashes():
    a, b = NB101.parse(INCEPTION), NB101.parse(INCEPTION_STORED)
    assert a != b
    assert NB101.hash_spec(a) == NB101.hash_spec(b)
    assert NB101.canonical_hash(a) == NB101.canonical_hash(b)
    assert n_params(a) == n_params(b) == INCEPTION_PARAMS
    # the diamond of graph_util_test with its two branches swapped
    d1 = NB101.parse(([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0] * 4], ["input", C1, MP,
                                                                          "output"]))
    d2 = NB101.parse(([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0] * 4], ["input", MP, C1,
                                                                          "output"]))
    assert NB101.hash_spec(d1) == NB101.hash_spec(d2)
    # a different op changes the hash
    d3 = NB101.parse(([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0] * 4], ["input", MP, C3,
                                                                          "output"]))
    assert NB101.hash_spec(d3) != NB101.hash_spec(d1)
    assert NB101.canonical_hash(d3) != NB101.canonical_hash(d1)


@pytest.mark.data
def test_hashes_invariant_under_relabelling_file_cells(zc101):
    rng = random.Random(0)
    for key in list(zc101)[:200]:
        a = NB101.parse(key)
        b = NB101.parse(_random_topological_relabel(a, rng))
        assert NB101.hash_spec(a) == NB101.hash_spec(b)
        assert NB101.canonical_hash(a) == NB101.canonical_hash(b)


# -- sampling and mutation -----------------------------------------------------------------------
def _assert_valid(a: NB101Arch) -> None:
    assert isinstance(a, NB101Arch)
    assert NB101.parse(NB101.to_tuple(a)) == a
    assert NB101.parse(NB101.to_string(a)) == a
    g = NB101.to_graph(a)
    assert g.is_connected() and int(g.adjacency.sum()) <= 9 and g.n_nodes <= 7
    assert set(g.ops[1:-1]) <= set(INTERIOR_OPS)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_sample_and_mutate_stay_valid(seed):
    archs = NB101.sample(5, seed=seed)
    assert archs == NB101.sample(5, seed=seed)
    for k, a in enumerate(archs):
        _assert_valid(a)
        assert NB101.is_canonical(a)
        child = NB101.mutate(a, seed=seed + k)
        _assert_valid(child)
        assert NB101.hash_spec(child) != NB101.hash_spec(a)
        assert child == NB101.mutate(a, seed=seed + k)


def test_mutate_can_grow_a_minimal_cell():
    a = NB101.parse(([[0, 1], [0, 0]], ["input", "output"]))
    child = NB101.mutate(a, seed=0)
    _assert_valid(child)
    assert NB101.to_graph(child).n_nodes == 3
    assert len({NB101.hash_spec(NB101.mutate(a, seed=s)) for s in range(20)}) > 1


def test_enumerate_is_not_supported():
    with pytest.raises(NotImplementedError):
        NB101.enumerate()


# -- fuzzing -------------------------------------------------------------------------------------
VALID_KEYS = [NB101.to_tuple(a) for a in NB101.sample(64, seed=7)]


def _valid_key(rng: random.Random) -> list:
    return list(rng.choice(VALID_KEYS))


def _malformed(rng: random.Random) -> object:
    """One input that is not a NAS-Bench-101 cell."""
    kind = rng.randrange(12)
    key = _valid_key(rng)
    if kind == 0:  # garbage string
        return "".join(rng.choice("01|.,()[]{}abc -_xyz\n") for _ in range(rng.randrange(1, 60)))
    if kind == 1:  # flat tuple of a wrong length
        n = rng.choice([k for k in range(0, 80) if k not in (6, 12, 20, 30, 42, 56, 2)])
        return tuple(rng.randrange(2) for _ in range(n))
    if kind == 2:  # bad op id
        key[49 + rng.randrange(7)] = rng.choice([-1, 5, 9, 100, 2.5])
        return tuple(key) if rng.random() < 0.5 else str(tuple(key))
    if kind == 3:  # interior op set to input/output, or endpoints wrong
        pos = rng.randrange(7)
        key[49 + pos] = rng.choice([0, 1]) if 0 < pos < 6 else rng.choice([2, 3, 4])
        return tuple(key)
    if kind == 4:  # diagonal or lower-triangular entry (self-loop / cycle)
        i = rng.randrange(7)
        j = rng.randrange(i + 1)
        key[7 * i + j] = 1
        return tuple(key)
    if kind == 5:  # more than 9 live edges: a chain through all vertices plus extras
        m = np.eye(7, k=1, dtype=int)
        extra = [(i, j) for i in range(7) for j in range(i + 2, 7)]
        for i, j in rng.sample(extra, rng.randrange(4, len(extra) + 1)):
            m[i, j] = 1
        return m, ["input", *rng.choices(INTERIOR_OPS, k=5), "output"]
    if kind == 6:  # non-0/1 entries
        key[rng.randrange(49)] = rng.choice([2, -1, 0.5, float("nan"), float("inf"), True])
        return tuple(key)
    if kind == 7:  # output unreachable
        return tuple([0] * 49 + key[49:])
    if kind == 8:  # nested junk
        return rng.choice([
            [[1, [2]], {"a": 1}], {"matrix": [[0]]}, {"ops": []}, [key[:49], None],
            (np.zeros((7, 7)), "input"), ([key[:7]] * 7, [0, 4, 4, 4, 4, 4, [1]]),
            [key[:49], key[49:], []], (key[:-1] + [[1]]), {1, 2, 3}, ([[]], []),
            ((0, 1), (0, 0)), ([["0", "1"], ["0", "0"]], ["input", "output"]),
        ])
    if kind == 9:  # scalars
        return rng.choice([None, 3.14, float("nan"), 0, -7, b"0101", 1j, object()])
    if kind == 10:  # broken string form
        s = NB101.to_string(NB101.parse(tuple(key)))
        cut = rng.randrange(len(s))
        return rng.choice([s[:cut], s.replace("|", "||"), s.replace("1", "2", 1),
                           s.replace("input", "inpt"), s.split("|")[0], "{'matrix': 1}"])
    # kind 11: ragged or wrong-size matrix
    m = [list(key[7 * i:7 * i + 7]) for i in range(7)]
    m[rng.randrange(7)].append(0) if rng.random() < 0.5 else m.pop()
    return m, [NB101.ops[i] for i in key[49:]]


def test_fuzz_malformed_inputs_raise_invalid_architecture_error():
    rng = random.Random(12345)
    for _ in range(1200):
        x = _malformed(rng)
        with pytest.raises(InvalidArchitectureError) as info:
            NB101.parse(x)
        assert str(info.value).strip(), f"empty message for {x!r:.100}"


junk = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=8) | st.tuples(children, children)
    | st.dictionaries(st.sampled_from(["matrix", "ops", "x"]), children, max_size=3),
    max_leaves=60,
)


@settings(max_examples=200, deadline=None)
@given(junk)
def test_fuzz_arbitrary_objects_only_raise_invalid_architecture_error(x):
    try:
        a = NB101.parse(x)
    except InvalidArchitectureError as exc:
        assert str(exc).strip()
    else:  # a random object that happens to be a cell must round-trip
        _assert_valid(a)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_strings(text):
    try:
        NB101.parse(text)
    except InvalidArchitectureError as exc:
        assert str(exc).strip()


# -- the network ---------------------------------------------------------------------------------
def test_vertex_channels_split_the_output():
    # vertices 1, 3, 4 feed the output: 128 = 43 + 43 + 42 (extra channels go to the first
    # ones); vertex 2 feeds 3 and 4 and takes the larger width, 43 (truncated to 42 into 4)
    m = np.zeros((6, 6), int)
    for i, j in [(0, 1), (0, 2), (1, 5), (2, 3), (2, 4), (3, 5), (4, 5)]:
        m[i, j] = 1
    assert compute_vertex_channels(64, 128, m) == [64, 43, 43, 43, 42, 128]
    m2 = np.array([[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1],
                   [0] * 5])
    assert compute_vertex_channels(64, 128, m2) == [64, 43, 43, 42, 128]
    chain = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0] * 4])
    assert compute_vertex_channels(128, 256, chain) == [128, 256, 256, 256]
    assert compute_vertex_channels(128, 256, np.array([[0, 1], [0, 0]])) == [128, 256]


def test_parameter_count_matches_official_record():
    assert n_params(NB101.parse(INCEPTION)) == INCEPTION_PARAMS


@pytest.mark.data
@pytest.mark.slow
def test_parameter_counts_match_all_500_file_cells(zc101):
    rel = [abs(n_params(NB101.parse(k)) / 1e6 - rec["params"]) / rec["params"]
           for k, rec in zc101.items()]
    assert max(rel) < 1e-6  # every count is exact (the file rounds to whole parameters)


@pytest.mark.parametrize("cell", [INCEPTION, ([[0, 1], [0, 0]], ["input", "output"]),
                                  ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", MP, "output"])])
def test_forward_small_network(cell):
    torch.manual_seed(0)
    model = NB101.to_model(NB101.parse(cell), num_classes=5, stem_channels=8, num_stacks=2,
                           cells_per_stack=1)
    x = torch.randn(2, 3, 9, 9)  # odd sizes: pooling rounds up like TensorFlow's "same"
    assert model.forward_features(x).shape == (2, 16, 5, 5)
    out = model(x)
    assert out.shape == (2, 5) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_forward_benchmark_network():
    torch.manual_seed(0)
    model = NB101.to_model(NB101.parse(INCEPTION_STORED)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert model.forward_features(torch.zeros(1, 3, 32, 32)).shape == (1, 512, 8, 8)


def test_network_prunes_raw_matrices_and_rejects_disconnected_cells():
    a = NB101.parse(INCEPTION)
    with torch.device("meta"):
        raw = NB101Network(np.array(a.matrix), a.ops)
    assert sum(p.numel() for p in raw.parameters()) == INCEPTION_PARAMS
    with pytest.raises(ValueError, match="not reachable"):
        NB101Network(np.zeros((3, 3), int), ["input", C3, "output"])
    with pytest.raises(ValueError, match="unknown cell op"):
        NB101Network(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), ["input", "conv5x5", "output"])


def test_init_is_finite_and_deterministic():
    a = NB101.parse(INCEPTION)
    torch.manual_seed(1)
    m1 = NB101.to_model(a, stem_channels=8)
    torch.manual_seed(1)
    m2 = NB101.to_model(a, stem_channels=8)
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q) and torch.isfinite(p).all()
    conv = m1.layers[0][0]
    assert math.isclose(conv.weight.std().item(), math.sqrt(2 / (9 * 8)), rel_tol=0.3)
