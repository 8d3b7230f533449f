"""One-hot and path encoders: hand-computed encodings, isomorphism, sklearn contract, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from nasperf.encoders import OneHotEncoder, PathEncoder
from nasperf.encoders.path import enumerate_paths
from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, get_space

C3, C1, SKIP, NONE, POOL = "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none", "avg_pool_3x3"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+" \
            "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# node 2 gets only `none` edges, so its avg_pool edge 2->3 is dead
DEAD_POOL = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"

NB101_CONV3, NB101_CONV1, NB101_POOL = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


def row(enc, arch) -> dict[str, float]:
    x = enc.transform([arch])
    x = x.toarray() if sp.issparse(x) else x
    return dict(zip(enc.get_feature_names_out(), x[0]))


def nonzero(enc, arch) -> dict[str, float]:
    return {k: v for k, v in row(enc, arch).items() if v}


# -- NB201 one-hot -----------------------------------------------------------------------------
def test_nb201_onehot_by_hand():
    space = get_space("nb201")
    enc = OneHotEncoder("nb201").fit([ALL_CONV3])
    assert len(enc.get_feature_names_out()) == 6 * 5
    # NASLib tuple (0, 2, 3, 2, 3, 1): edges (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) in that order,
    # op ids 0 skip, 1 none, 2 conv3, 3 conv1
    arch = space.parse("(0, 2, 3, 2, 3, 1)")
    expected = {"edge(0,1)=skip_connect": 1, "edge(0,2)=nor_conv_3x3": 1,
                "edge(0,3)=nor_conv_1x1": 1, "edge(1,2)=nor_conv_3x3": 1,
                "edge(1,3)=nor_conv_1x1": 1, "edge(2,3)=none": 1}
    assert nonzero(enc, arch) == expected
    cat = OneHotEncoder("nb201", categorical=True).fit([arch])
    assert list(cat.get_feature_names_out()) == [
        "edge(0,1)", "edge(0,2)", "edge(0,3)", "edge(1,2)", "edge(1,3)", "edge(2,3)"]
    np.testing.assert_array_equal(cat.transform([arch]), [[0, 2, 3, 2, 3, 1]])


def test_tnb101_micro_onehot_uses_its_op_order():
    enc = OneHotEncoder("tnb101_micro", categorical=True).fit(["64-41414-3_02_331"])
    # string digits are op ids (0 none, 1 skip, 2 conv1, 3 conv3) in string edge order
    np.testing.assert_array_equal(enc.transform(["64-41414-3_02_331"]), [[3, 0, 2, 3, 3, 1]])
    assert OneHotEncoder("tnb101_micro").fit_transform(["64-41414-3_02_331"]).shape == (1, 24)


# -- NB201 paths ---------------------------------------------------------------------------------
def test_all_conv3_cell_has_four_paths():
    space = get_space("nb201")
    paths = enumerate_paths(space.to_graph(space.parse(ALL_CONV3)))
    # 0->3, 0->1->3, 0->2->3, 0->1->2->3
    assert sorted(paths) == sorted([(C3,), (C3, C3), (C3, C3), (C3, C3, C3)])

    enc = PathEncoder("nb201").fit([ALL_CONV3])
    assert len(enc.get_feature_names_out()) == 4 + 4 ** 2 + 4 ** 3  # none carries no path
    c3 = "nor_conv_3x3"
    assert nonzero(enc, ALL_CONV3) == {f"path[{c3}]": 1, f"path[{c3}>{c3}]": 1,
                                       f"path[{c3}>{c3}>{c3}]": 1}
    counts = PathEncoder("nb201", counts=True).fit([ALL_CONV3])
    assert nonzero(counts, ALL_CONV3) == {f"path[{c3}]": 1, f"path[{c3}>{c3}]": 2,
                                          f"path[{c3}>{c3}>{c3}]": 1}


def test_nb201_paths_skip_dead_ops():
    enc = PathEncoder("nb201", counts=True).fit([DEAD_POOL])
    # live: conv3 0->1, skip 0->3, conv1 1->3; the pool on 2->3 is unreachable
    assert nonzero(enc, DEAD_POOL) == {"path[skip_connect]": 1,
                                       "path[nor_conv_3x3>nor_conv_1x1]": 1}
    space = get_space("nb201")
    canon = space.canonicalize(space.parse(DEAD_POOL))
    np.testing.assert_array_equal(enc.transform([DEAD_POOL]), enc.transform([canon]))


def test_path_truncation_keeps_most_frequent():
    space = get_space("nb201")
    archs = space.sample(200, seed=1)
    enc = PathEncoder("nb201", max_paths=10).fit(archs)
    names = list(enc.get_feature_names_out())
    assert len(names) == 10
    freq = {f"path[{'>'.join(p)}]": f for (_, p), f in enc.path_frequency_.items()}
    kept = sorted(freq.get(n, 0) for n in names)
    dropped = [f for n, f in freq.items() if n not in names]
    assert min(kept) >= max(dropped)
    # single-op paths are in most cells, so they are among the kept ones
    assert "path[nor_conv_3x3]" in names


# -- NB101 ---------------------------------------------------------------------------------------
def nb101_cell(order: str = "conv_first"):
    """5 nodes: input -> conv3 -> conv1 -> output, input -> maxpool -> output, input -> output.

    ``order="pool_first"`` lists the same cell with the two middle nodes swapped.
    """
    if order == "conv_first":
        ops = ["input", NB101_CONV3, NB101_POOL, NB101_CONV1, "output"]
        edges = [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4), (0, 4)]
    else:
        ops = ["input", NB101_POOL, NB101_CONV3, NB101_CONV1, "output"]
        edges = [(0, 1), (0, 2), (2, 3), (1, 4), (3, 4), (0, 4)]
    m = np.zeros((5, 5), dtype=int)
    for i, j in edges:
        m[i, j] = 1
    return get_space("nb101").parse((m, ops))


def test_nb101_paths_by_hand_and_isomorphism():
    a, b = nb101_cell("conv_first"), nb101_cell("pool_first")
    enc = PathEncoder("nb101").fit([a])
    assert len(enc.get_feature_names_out()) == sum(3 ** k for k in range(6))  # 364
    assert nonzero(enc, a) == {"path[]": 1, f"path[{NB101_POOL}]": 1,
                               f"path[{NB101_CONV3}>{NB101_CONV1}]": 1}
    np.testing.assert_array_equal(enc.transform([a]), enc.transform([b]))
    # the one-hot sees node order, so the two isomorphic cells differ there
    onehot = OneHotEncoder("nb101").fit([a])
    assert not np.array_equal(onehot.transform([a]), onehot.transform([b]))


def test_nb101_isomorphic_samples_share_path_encoding():
    space = get_space("nb101")
    rng = np.random.default_rng(0)
    archs = space.sample(40, seed=3)
    enc = PathEncoder("nb101").fit(archs)
    checked = 0
    for arch in archs:
        g = space.to_graph(arch)
        inner = np.arange(1, g.n_nodes - 1)
        # a random topological relabelling of the inner nodes gives an isomorphic cell
        for _ in range(50):
            perm = np.r_[0, rng.permutation(inner), g.n_nodes - 1]
            adj = g.adjacency[np.ix_(perm, perm)]
            if np.tril(adj).any() or (perm == np.arange(g.n_nodes)).all():
                continue
            other = space.parse((adj, [g.ops[k] for k in perm]))
            assert space.hash_spec(other) == space.hash_spec(arch)
            np.testing.assert_array_equal(enc.transform([arch]), enc.transform([other]))
            checked += 1
            break
    assert checked >= 10


def test_nb101_onehot_by_hand():
    a = nb101_cell("conv_first")
    enc = OneHotEncoder("nb101").fit([a])
    assert len(enc.get_feature_names_out()) == 21 + 5 * 3
    # padded to 7 nodes: the output (node 4) moves to node 6, nodes 4 and 5 are padding
    expected = {f"adj({i},{j})": 1 for i, j in [(0, 1), (0, 2), (1, 3), (2, 6), (3, 6), (0, 6)]}
    expected.update({f"node1={NB101_CONV3}": 1, f"node2={NB101_POOL}": 1,
                     f"node3={NB101_CONV1}": 1})
    assert nonzero(enc, a) == expected
    cat = OneHotEncoder("nb101", categorical=True).fit([a])
    r = row(cat, a)
    ops = ("maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
    assert [r[f"node{v}"] for v in range(1, 6)] == [ops.index(NB101_CONV3),
                                                   ops.index(NB101_POOL),
                                                   ops.index(NB101_CONV1), 3, 3]


# -- NB301 ---------------------------------------------------------------------------------------
NB301_NORMAL = [(0, "sep_conv_3x3"), (1, "skip_connect"),      # node 2
                (0, "max_pool_3x3"), (2, "sep_conv_5x5"),      # node 3
                (2, "dil_conv_3x3"), (3, "avg_pool_3x3"),      # node 4
                (1, "skip_connect"), (4, "dil_conv_5x5")]      # node 5
NB301_REDUCE = [(0, "max_pool_3x3"), (1, "max_pool_3x3")] * 4


def nb301_arch(swap_node3: bool = False):
    normal = list(NB301_NORMAL)
    if swap_node3:  # same network, the two inputs of node 3 listed the other way round
        normal[2], normal[3] = normal[3], normal[2]
    ids = get_space("nb301").ops
    compact = tuple(tuple((s, ids.index(op)) for s, op in cell)
                    for cell in (normal, NB301_REDUCE))
    return get_space("nb301").parse(compact)


def test_nb301_onehot_by_hand():
    a = nb301_arch()
    enc = OneHotEncoder("nb301").fit([a])
    assert len(enc.get_feature_names_out()) == 2 * (14 + 8 * 7)
    got = {k: v for k, v in nonzero(enc, a).items() if k.startswith("normal_")}
    expected = {f"normal_adj({j},{i})": 1
                for j, i in [(0, 2), (1, 2), (0, 3), (2, 3), (2, 4), (3, 4), (1, 5), (4, 5)]}
    for node, a0, a1 in [(2, "sep_conv_3x3", "skip_connect"), (3, "max_pool_3x3", "sep_conv_5x5"),
                         (4, "dil_conv_3x3", "avg_pool_3x3"), (5, "skip_connect", "dil_conv_5x5")]:
        expected[f"normal_node{node}_op0={a0}"] = 1
        expected[f"normal_node{node}_op1={a1}"] = 1
    assert got == expected
    np.testing.assert_array_equal(enc.transform([a]), enc.transform([nb301_arch(True)]))
    cat = OneHotEncoder("nb301", categorical=True).fit([a])
    r = row(cat, a)
    assert (r["normal_node3_in0"], r["normal_node3_in1"]) == (0, 2)
    assert r["normal_node3_op1"] == get_space("nb301").ops.index("sep_conv_5x5")


def test_nb301_paths_by_hand():
    a = nb301_arch()
    enc = PathEncoder("nb301", counts=True).fit([a])
    assert enc.vocabulary_["normal"]  # learned in fit: the full vocabulary is too large
    got = {k[len("normal_path["):-1]: v for k, v in nonzero(enc, a).items()
           if k.startswith("normal_")}
    # every op node feeds the output, so every path into an op node is a cell path
    expected = {
        "input0>sep_conv_3x3": 1, "input1>skip_connect": 2, "input0>max_pool_3x3": 1,
        "input0>sep_conv_3x3>sep_conv_5x5": 1, "input1>skip_connect>sep_conv_5x5": 1,
        "input0>sep_conv_3x3>dil_conv_3x3": 1, "input1>skip_connect>dil_conv_3x3": 1,
        "input0>max_pool_3x3>avg_pool_3x3": 1,
        "input0>sep_conv_3x3>sep_conv_5x5>avg_pool_3x3": 1,
        "input1>skip_connect>sep_conv_5x5>avg_pool_3x3": 1,
        "input0>sep_conv_3x3>dil_conv_3x3>dil_conv_5x5": 1,
        "input1>skip_connect>dil_conv_3x3>dil_conv_5x5": 1,
        "input0>max_pool_3x3>avg_pool_3x3>dil_conv_5x5": 1,
        "input0>sep_conv_3x3>sep_conv_5x5>avg_pool_3x3>dil_conv_5x5": 1,
        "input1>skip_connect>sep_conv_5x5>avg_pool_3x3>dil_conv_5x5": 1,
    }
    assert got == expected
    assert sum(expected.values()) == 16


def test_nb301_path_truncation_and_sparse_output():
    archs = get_space("nb301").sample(30, seed=0)
    full = PathEncoder("nb301", sparse=True).fit(archs)
    x = full.transform(archs)
    assert sp.issparse(x) and x.shape == (30, len(full.get_feature_names_out()))
    enc = PathEncoder("nb301", max_paths=50).fit(archs)
    assert len(enc.get_feature_names_out()) == 50
    assert isinstance(enc.transform(archs), np.ndarray)


# -- generic graph layout and user graphs ------------------------------------------------------
def test_generic_layout_for_user_graphs():
    g1 = ArchGraph.from_edges(3, [(0, 1), (1, 2)], ["input", "relu", "output"])
    g2 = ArchGraph.from_edges(4, [(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "relu", "gelu",
                                                                   "output"])
    enc = OneHotEncoder(space=None).fit([g1, g2])
    # padded to 4 nodes (output last), ops learned in fit: gelu, relu
    assert nonzero(enc, g1) == {"adj(0,1)": 1, "adj(1,3)": 1, "node1=relu": 1}
    with pytest.raises(InvalidArchitectureError, match="swish"):
        enc.transform([ArchGraph.from_edges(3, [(0, 1), (1, 2)], ["input", "swish", "output"])])
    paths = PathEncoder(space=None, counts=True).fit([g1, g2])
    assert nonzero(paths, g2) == {"path[gelu]": 1, "path[relu]": 1}
    graph_layout = OneHotEncoder("nb201", layout="graph").fit([ALL_CONV3])
    assert "node1=nor_conv_3x3" in graph_layout.get_feature_names_out()


# -- errors and scikit-learn contract ----------------------------------------------------------
@pytest.mark.parametrize("enc", [OneHotEncoder("nb201"), OneHotEncoder("nb201", categorical=True),
                                 PathEncoder("nb201")])
def test_bad_inputs_raise_clear_errors(enc):
    enc.fit([ALL_CONV3])
    with pytest.raises(InvalidArchitectureError, match="architecture 1"):
        enc.transform([ALL_CONV3, "|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(InvalidArchitectureError):
        enc.transform([nb101_cell()])  # an arch of another space
    with pytest.raises(ValueError, match="sequence of architectures"):
        enc.transform(ALL_CONV3)


def test_unfitted_and_sklearn_contract():
    space = get_space("nb201")
    archs = space.sample(60, seed=0)
    y = np.arange(60, dtype=float)
    for enc in (OneHotEncoder("nb201"), PathEncoder("nb201", max_paths=20)):
        with pytest.raises(NotFittedError):
            enc.transform(archs)
        twin = clone(enc)
        assert twin.get_params() == enc.get_params()
        np.testing.assert_array_equal(enc.fit(archs).transform(archs), twin.fit_transform(archs))
        pipe = make_pipeline(clone(enc), RandomForestRegressor(n_estimators=5, random_state=0))
        assert pipe.fit(archs, y).predict(archs[:3]).shape == (3,)
    # strings, tuples and arch objects give the same rows
    enc = OneHotEncoder("nb201").fit(archs)
    forms = [archs[0], space.to_string(archs[0]), space.to_tuple(archs[0]),
             str(space.to_tuple(archs[0]))]
    x = enc.transform(forms)
    assert (x == x[0]).all()


def test_tnb101_macro_onehot_when_available():
    try:
        space = get_space("tnb101_macro")
    except (ImportError, ModuleNotFoundError):
        pytest.skip("nasperf.searchspaces.tnb101_macro not available yet")
    archs = space.sample(20, seed=0)
    enc = OneHotEncoder("tnb101_macro").fit(archs)
    x = enc.transform(archs)
    assert x.shape == (20, 6 * 5)  # codes 1..4 or missing at each of 6 positions
    assert (x.sum(axis=1) == 6).all()
    n_blocks = [sum(1 for c in space.to_tuple(a) if int(c) != 0) for a in archs]
    missing = [n for n in enc.get_feature_names_out() if n.endswith("=missing")]
    np.testing.assert_array_equal(x[:, [list(enc.get_feature_names_out()).index(m)
                                        for m in missing]].sum(axis=1), 6 - np.array(n_blocks))
    cat = OneHotEncoder("tnb101_macro", categorical=True).fit(archs).transform(archs)
    np.testing.assert_array_equal((cat > 0).sum(axis=1), n_blocks)


def test_feature_groups_out_is_one_group_named_after_the_encoder():
    for cls, name in ((OneHotEncoder, "onehot"), (PathEncoder, "path")):
        enc = cls("nb201").fit([ALL_CONV3])
        assert enc.get_feature_groups_out() == {
            name: list(range(len(enc.get_feature_names_out())))}
        with pytest.raises(NotFittedError):
            cls("nb201").get_feature_groups_out()


@pytest.mark.parametrize("name", ["OneHotEncoder", "PathEncoder", "Arch2VecEncoder",
                                  "CATEEncoder", "GRAFEncoder", "ZeroCostEncoder"])
def test_encoder_options_are_keyword_only(name):
    import nasperf.encoders
    import nasperf.graphfeatures
    import nasperf.zerocost

    cls = next(getattr(m, name) for m in (nasperf.encoders, nasperf.graphfeatures,
                                          nasperf.zerocost) if hasattr(m, name))
    assert cls("nb201").space == "nb201"          # the space stays positional
    with pytest.raises(TypeError):
        cls("nb201", True)
