"""GRAF features: hand-computed values on NB201, NB101, NB301, TNB101 cells; equivalence of
cells with unreachable ops; user graphs; errors and the scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from nasperf.graphfeatures import FEATURE_GROUPS, GRAFEncoder, graph_features
from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, get_space

C3, C1, SKIP, POOL = "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+" \
            "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
DEAD_POOL = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
DEAD_POOL_PRUNED = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"


def features(enc: GRAFEncoder, arch) -> dict[str, float]:
    return dict(zip(enc.get_feature_names_out(), enc.transform([arch])[0]))


def S(*ops: str) -> str:
    """Feature-name suffix of an op subset, ops in the space's order."""
    return "[" + ",".join(ops) + "]"


# -- NB201 ---------------------------------------------------------------------------------------
def test_nb201_all_conv3_by_hand():
    enc = GRAFEncoder("nb201", feature_groups="all").fit([ALL_CONV3])
    f = features(enc, ALL_CONV3)
    assert f[f"op_count[{C3}]"] == 6 and f[f"op_count[{SKIP}]"] == 0
    assert f[f"op_count{S(SKIP, C3, C1, POOL)}"] == 6
    # paths 0->3 (1 op), 0->1->3 and 0->2->3 (2 ops), 0->1->2->3 (3 ops)
    assert f[f"min_path_len[{C3}]"] == 1
    assert f[f"max_path_len[{C3}]"] == 3
    assert f[f"num_paths[{C3}]"] == 4
    # only conv3 exists: a subset without conv3 has no path
    assert f[f"min_path_len[{SKIP}]"] == 4  # the NB201 "no path" value: 3 ops + 1
    assert f[f"max_path_len{S(SKIP, C1)}"] == -1
    assert f[f"num_paths{S(C1, POOL)}"] == 0
    # edges 0->1, 0->2, 0->3 leave the input; 0->3, 1->3, 2->3 enter the output
    assert f[f"out_degree_input[{C3}]"] == 3
    assert f[f"in_degree_output[{C3}]"] == 3
    # node graph: 8 nodes (input, 6 convs, output), 10 edges; 7 leave a conv, 7 enter one
    assert f[f"avg_in_degree[{C3}]"] == pytest.approx(7 / 8)
    assert f[f"avg_out_degree[{C3}]"] == pytest.approx(7 / 8)
    assert f["n_op_nodes"] == 6 and f["n_edges"] == 10


def test_nb201_cell_with_dead_op_by_hand():
    enc = GRAFEncoder("nb201", feature_groups="all").fit([DEAD_POOL])
    f = features(enc, DEAD_POOL)
    # live ops: conv3 0->1, skip 0->3, conv1 1->3 (node 2 has only none inputs)
    assert (f[f"op_count[{C3}]"], f[f"op_count[{SKIP}]"], f[f"op_count[{C1}]"],
            f[f"op_count[{POOL}]"]) == (1, 1, 1, 0)
    assert f[f"min_path_len[{SKIP}]"] == 1
    assert f[f"min_path_len{S(C3, C1)}"] == 2
    assert f[f"min_path_len[{C3}]"] == 4  # conv3 alone does not reach the output
    assert f[f"max_path_len{S(SKIP, C3, C1)}"] == 2
    assert f[f"max_path_len[{SKIP}]"] == 1
    assert f[f"num_paths{S(SKIP, C3, C1, POOL)}"] == 2
    assert f[f"out_degree_input{S(SKIP, C3, C1, POOL)}"] == 2
    assert f[f"in_degree_output{S(SKIP, C3, C1, POOL)}"] == 2
    assert f[f"in_degree_output[{C1}]"] == 1
    assert f[f"out_degree_input[{C1}]"] == 0


def test_nb201_unreachable_ops_equal_pruned_equivalent():
    space = get_space("nb201")
    enc = GRAFEncoder("nb201", feature_groups="all")
    archs = [space.parse(DEAD_POOL), space.parse(DEAD_POOL_PRUNED), *space.sample(300, seed=0)]
    x = enc.fit_transform(archs)
    np.testing.assert_array_equal(x[0], x[1])
    canon = enc.transform([space.canonicalize(a) for a in archs])
    np.testing.assert_array_equal(x, canon)
    assert sum(not space.is_canonical(a) for a in archs) > 30  # the check is not vacuous


def test_nb201_feature_count_and_groups():
    enc = GRAFEncoder("nb201").fit([ALL_CONV3])
    n_subsets = 2 ** 4 - 1  # subsets of skip, conv3, conv1, pool (none carries no data)
    # op_count: 4 singles + 11 larger subsets; min, max: one per subset; node_degree: 4 each
    assert len(enc.get_feature_names_out()) == n_subsets * (1 + 1 + 1 + 4)
    only = GRAFEncoder("nb201", feature_groups=["op_count"], max_subset_size=1).fit([ALL_CONV3])
    assert list(only.get_feature_names_out()) == [f"op_count[{o}]" for o in (SKIP, C3, C1, POOL)]
    custom = GRAFEncoder("nb201", feature_groups="min_path_len",
                         op_subsets=[[C1, C3]]).fit([ALL_CONV3])
    assert list(custom.get_feature_names_out()) == [f"min_path_len{S(C3, C1)}"]


def test_tnb101_micro_by_hand():
    # digits: op ids 0 none, 1 skip, 2 conv1, 3 conv3 for edges 0->1 | 0->2, 1->2 | 0->3, 1->3, 2->3
    arch = "64-41414-3_02_003"
    enc = GRAFEncoder("tnb101_micro").fit([arch])
    f = features(enc, arch)
    # live: conv3 0->1, conv1 1->2, conv3 2->3: one path of 3 ops
    assert f[f"op_count[{C3}]"] == 2 and f[f"op_count[{C1}]"] == 1
    assert f[f"min_path_len{S(C1, C3)}"] == 3 and f[f"max_path_len{S(C1, C3)}"] == 3
    assert f[f"min_path_len[{C3}]"] == 4
    assert f[f"out_degree_input[{C3}]"] == 1 and f[f"in_degree_output[{C3}]"] == 1


# -- NB101 ---------------------------------------------------------------------------------------
NB101_CONV3, NB101_CONV1, NB101_POOL = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


def nb101_cell():
    """input -> conv3 -> conv1 -> output, input -> maxpool -> output, input -> output."""
    ops = ["input", NB101_CONV3, NB101_POOL, NB101_CONV1, "output"]
    m = np.zeros((5, 5), dtype=int)
    for i, j in [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4), (0, 4)]:
        m[i, j] = 1
    return get_space("nb101").parse((m, ops))


def test_nb101_by_hand():
    arch = nb101_cell()
    enc = GRAFEncoder("nb101", feature_groups="all").fit([arch])
    f = features(enc, arch)
    everything = S(NB101_POOL, NB101_CONV1, NB101_CONV3)
    assert (f[f"op_count[{NB101_POOL}]"], f[f"op_count[{NB101_CONV1}]"],
            f[f"op_count[{NB101_CONV3}]"]) == (1, 1, 1)
    # the direct input -> output edge is a path without ops, open to every subset
    assert f[f"min_path_len{everything}"] == 0 and f[f"min_path_len[{NB101_CONV3}]"] == 0
    assert f[f"max_path_len{everything}"] == 2
    assert f[f"max_path_len{S(NB101_CONV1, NB101_CONV3)}"] == 2
    assert f[f"max_path_len[{NB101_POOL}]"] == 1
    assert f[f"max_path_len[{NB101_CONV3}]"] == 0  # conv3 -> conv1 is closed
    assert f[f"num_paths{everything}"] == 3
    assert f[f"out_degree_input{everything}"] == 2
    assert f[f"in_degree_output{everything}"] == 2
    # 5 nodes; edges leaving an op node: 1->3, 2->4, 3->4; entering one: 0->1, 0->2, 1->3
    assert f[f"avg_in_degree{everything}"] == pytest.approx(3 / 5)
    assert f[f"avg_out_degree{everything}"] == pytest.approx(3 / 5)
    assert f[f"avg_in_degree[{NB101_CONV1}]"] == pytest.approx(1 / 5)


def test_nb101_dead_vertices_do_not_count():
    space = get_space("nb101")
    ops = ["input", NB101_CONV3, NB101_POOL, "output"]
    # node 2 (maxpool) receives the input but feeds nothing: pruned
    m = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    with_dead = space.parse((m, ops))
    enc = GRAFEncoder("nb101").fit([with_dead])
    f = features(enc, with_dead)
    assert f[f"op_count[{NB101_POOL}]"] == 0 and f[f"op_count[{NB101_CONV3}]"] == 1
    np.testing.assert_array_equal(enc.transform([with_dead]),
                                  enc.transform([space.canonicalize(with_dead)]))


# -- NB301 ---------------------------------------------------------------------------------------
NB301_NORMAL = [(0, "sep_conv_3x3"), (1, "skip_connect"),      # node 2
                (0, "max_pool_3x3"), (2, "sep_conv_5x5"),      # node 3
                (2, "dil_conv_3x3"), (3, "avg_pool_3x3"),      # node 4
                (1, "skip_connect"), (4, "dil_conv_5x5")]      # node 5
NB301_REDUCE = [(0, "max_pool_3x3"), (1, "max_pool_3x3")] * 4


def nb301_arch():
    ids = get_space("nb301").ops
    return get_space("nb301").parse(tuple(tuple((s, ids.index(op)) for s, op in cell)
                                          for cell in (NB301_NORMAL, NB301_REDUCE)))


def test_nb301_by_hand():
    arch = nb301_arch()
    enc = GRAFEncoder("nb301", feature_groups="all").fit([arch])
    f = features(enc, arch)
    ops = get_space("nb301").ops
    every = S(*ops)
    assert f["normal_op_count[skip_connect]"] == 2 and f["reduce_op_count[max_pool_3x3]"] == 8
    # longest chain: input -> sep3 (node 2) -> sep5 (node 3) -> avg (node 4) -> dil5 (node 5)
    assert f[f"normal_max_path_len_input0{every}"] == 4
    assert f[f"normal_max_path_len_input1{every}"] == 4  # input1 -> skip -> sep5 -> avg -> dil5
    assert f["normal_max_path_len_input0[skip_connect]"] == -1  # input0 feeds no skip
    assert f["normal_max_path_len_input1[skip_connect]"] == 1
    assert f[f"normal_max_path_len_input0{S('sep_conv_3x3', 'sep_conv_5x5')}"] == 2
    assert f[f"normal_min_path_len_input0{every}"] == 1  # every op node feeds the output
    # paths from input0 end after sep3, maxpool, sep5, dil3, avg (2 ways), dil5 (3 ways)
    assert f[f"normal_num_paths_input0{every}"] == 9
    assert f[f"normal_num_paths_input1{every}"] == 7
    assert f[f"normal_out_degree_input0{every}"] == 2
    assert f[f"normal_out_degree_input1{every}"] == 2
    assert f[f"normal_in_degree_output{every}"] == 8
    # reduce cell: every node reads both inputs through a max pool; paths have one op
    assert f[f"reduce_max_path_len_input0{every}"] == 1
    assert f[f"reduce_out_degree_input1{every}"] == 4
    default = GRAFEncoder("nb301").fit([arch])
    names = list(default.get_feature_names_out())
    assert not any("min_path_len" in n for n in names)  # not in the paper's DARTS config
    assert names[0].startswith("normal_") and names[-1].startswith("reduce_")


def test_nb301_pair_order_does_not_matter():
    space = get_space("nb301")
    archs = space.sample(20, seed=2)
    swapped = []
    for a in archs:  # list the two inputs of every node the other way round
        cells = [tuple(p for k in range(0, 8, 2) for p in (c[k + 1], c[k]))
                 for c in (a.normal, a.reduce)]
        swapped.append(type(a)(*cells))
    enc = GRAFEncoder("nb301").fit(archs)
    np.testing.assert_array_equal(enc.transform(archs), enc.transform(swapped))


# -- TNB101-macro ------------------------------------------------------------------------------
def test_tnb101_macro_pos_state():
    space = get_space("tnb101_macro")
    arch = space.parse("64-1234-basic")  # keep, widen, down, down+widen
    enc = GRAFEncoder("tnb101_macro").fit([arch])
    f = features(enc, arch)
    assert [f[f"pos_state_channel[{i}]"] for i in range(6)] == [0, 1, 1, 2, 0, 0]
    assert [f[f"pos_state_stride[{i}]"] for i in range(6)] == [0, 0, 1, 2, 0, 0]
    assert f["op_count[basic_widen]"] == 1


# -- user graphs, errors, sklearn --------------------------------------------------------------
def test_user_graph_without_space():
    g = ArchGraph.from_edges(5, [(0, 1), (1, 2), (2, 4), (0, 3), (3, 4)],
                             ["input", "conv", "relu", "conv", "output"])
    f = graph_features(g, ops=["conv", "relu"], feature_groups=list(FEATURE_GROUPS)[:5])
    assert f["op_count[conv]"] == 2 and f["op_count[relu]"] == 1
    assert f["min_path_len[conv]"] == 1 and f["max_path_len[conv,relu]"] == 2
    assert f["num_paths[conv,relu]"] == 2 and f["num_paths[relu]"] == 0
    assert f["min_path_len[relu]"] == 4  # default: one more than the 3 op nodes
    enc = GRAFEncoder(space=None).fit([g])
    assert enc.ops_ == ("conv", "relu") and enc.no_path_value_ == 4
    bigger = ArchGraph.from_edges(6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
                                  ["input", "conv", "conv", "conv", "conv", "output"])
    with pytest.raises(ValueError, match="no_path_value"):
        enc.transform([bigger])  # a 4-op path would collide with the "no path" value 4


def test_errors():
    enc = GRAFEncoder("nb201").fit([ALL_CONV3])
    bad = ArchGraph.from_edges(3, [(0, 1), (1, 2)], ["input", "conv_7x7", "output"])
    with pytest.raises(InvalidArchitectureError, match="conv_7x7"):
        enc.transform([bad])
    with pytest.raises(InvalidArchitectureError, match="architecture 0"):
        enc.transform([nb101_cell()])  # an architecture of another space
    with pytest.raises(InvalidArchitectureError):
        enc.transform(["|nor_conv_3x3~0|+|none~0|none~1|"])
    with pytest.raises(ValueError, match="unknown feature group"):
        GRAFEncoder("nb201", feature_groups=["op_cont"]).fit([ALL_CONV3])
    with pytest.raises(ValueError, match="unknown op"):
        GRAFEncoder("nb201", op_subsets=[["conv3x3"]]).fit([ALL_CONV3])
    with pytest.raises(ValueError, match="pos_state"):
        GRAFEncoder("nb201", feature_groups=["pos_state"]).fit_transform([ALL_CONV3])
    with pytest.raises(NotFittedError):
        GRAFEncoder("nb201").transform([ALL_CONV3])


def test_sklearn_contract_and_input_forms():
    space = get_space("nb201")
    archs = space.sample(50, seed=4)
    enc = GRAFEncoder("nb201")
    twin = clone(enc)
    np.testing.assert_array_equal(enc.fit(archs).transform(archs), twin.fit_transform(archs))
    forms = [archs[0], space.to_string(archs[0]), space.to_tuple(archs[0]),
             space.to_graph(archs[0])]
    x = enc.transform(forms)
    assert (x == x[0]).all()
    assert x.dtype == np.float64 and np.isfinite(x).all()


# -- feature groups ----------------------------------------------------------------------------
def _assert_partition(groups: dict[str, list[int]], n: int) -> None:
    assert sorted(i for cols in groups.values() for i in cols) == list(range(n))


def test_feature_groups_out_single_cell():
    enc = GRAFEncoder("nb201", feature_groups="all").fit([ALL_CONV3])
    names = enc.get_feature_names_out()
    groups = enc.get_feature_groups_out()
    assert list(groups) == list(enc.feature_groups_)
    _assert_partition(groups, len(names))
    assert [names[i] for i in groups["op_count"]][:4] == [f"op_count[{o}]"
                                                          for o in (SKIP, C3, C1, POOL)]
    assert all(names[i].startswith("min_path_len[") for i in groups["min_path_len"])
    assert [names[i] for i in groups["graph_size"]] == ["n_op_nodes", "n_edges"]
    assert {names[i].split("[")[0] for i in groups["node_degree"]} == {
        "out_degree_input", "in_degree_output", "avg_in_degree", "avg_out_degree"}
    macro = GRAFEncoder("tnb101_macro").fit(["64-1234-basic"])
    g = macro.get_feature_groups_out()
    assert list(g) == ["op_count", "pos_state"] and len(g["pos_state"]) == 12
    with pytest.raises(NotFittedError):
        GRAFEncoder("nb201").get_feature_groups_out()


def test_feature_groups_out_span_both_nb301_cells():
    enc = GRAFEncoder("nb301").fit([nb301_arch()])
    names = enc.get_feature_names_out()
    groups = enc.get_feature_groups_out()
    assert list(groups) == ["op_count", "max_path_len", "node_degree"]
    _assert_partition(groups, len(names))
    ops = [names[i] for i in groups["op_count"]]
    half = len(ops) // 2
    assert all(n.startswith("normal_op_count[") for n in ops[:half])
    assert all(n.startswith("reduce_op_count[") for n in ops[half:])
    assert all("max_path_len_input" in names[i] for i in groups["max_path_len"])


def test_feature_groups_out_of_user_graphs():
    g = ArchGraph.from_edges(4, [(0, 1), (1, 2), (2, 3)], ["input", "conv", "relu", "output"])
    enc = GRAFEncoder(None, feature_groups=["num_paths", "op_count"]).fit([g])
    groups = enc.get_feature_groups_out()
    names = enc.get_feature_names_out()
    assert list(groups) == ["num_paths", "op_count"]
    assert [names[i] for i in groups["op_count"]] == ["op_count[conv]", "op_count[relu]",
                                                      "op_count[conv,relu]"]
