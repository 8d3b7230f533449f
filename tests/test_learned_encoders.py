"""Tests of the learned encoders (arch2vec, CATE) with tiny models and tiny pretraining runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from nasperf.encoders._graph_tensors import (
    PAD,
    build_vocab,
    default_unlabeled,
    pad_graphs,
    unique_graphs,
    unpad_graph,
)
from nasperf.encoders.arch2vec import Arch2VecEncoder, _wl_hash
from nasperf.encoders.cate import (
    CATEEncoder,
    attention_masks,
    computation_pairs,
    graph_cost,
    op_cost,
)
from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, get_space
from nasperf.searchspaces.cell6 import NB201Space

TINY_A2V = dict(latent_dim=4, hidden_dim=16, n_layers=2, batch_size=16, n_prior_samples=50,
                progress=False, use_cache=False)
TINY_CATE = dict(d_model=16, n_heads=2, d_ff=32, n_layers=1, n_cross_layers=1, batch_size=32,
                 warmup_steps=5, progress=False, use_cache=False)
ENCODERS = [(Arch2VecEncoder, TINY_A2V, 4), (CATEEncoder, TINY_CATE, 16)]


#: Tiny torch models run far faster on one thread (no thread spinning on a shared CPU).
pytestmark = pytest.mark.usefixtures("one_torch_thread_module")


@pytest.fixture(scope="module")
def nb201():
    return get_space("nb201")


@pytest.fixture(scope="module")
def unlabeled(nb201):
    return nb201.sample(300, seed=1)


@pytest.fixture(scope="module")
def queries(nb201):
    return [nb201.to_string(a) for a in nb201.sample(12, seed=2)]


# -- padding and batching ----------------------------------------------------------------------
def test_pad_graphs_shapes_and_mask(nb201):
    archs = nb201.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"), \
        nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
                    "nor_conv_3x3~1|nor_conv_3x3~2|")
    graphs = [nb201.to_graph(a) for a in archs]
    vocab = build_vocab(graphs, nb201.ops)
    assert vocab[0] == PAD and "none" not in vocab and "input" in vocab and "output" in vocab
    p = pad_graphs(graphs, vocab, 8)
    assert p.ops.shape == (2, 8) and p.adj.shape == (2, 8, 8) and p.mask.shape == (2, 8)
    assert p.mask.sum(1).tolist() == [g.n_nodes for g in graphs] == [3, 8]  # dead conv pruned
    assert p.mask[0].tolist() == [True, True] + [False] * 5 + [True]  # output in the last slot
    assert p.ops[0, -1] == vocab.index("output") and (p.ops[0, 2:7] == 0).all()
    assert p.adj[0, 2:7].sum() == 0 and p.adj[0, :, 2:7].sum() == 0
    assert (np.triu(p.adj[1], 1) == p.adj[1]).all()
    back = unpad_graph([vocab[i] for i in p.ops[0]], p.adj[0])
    assert back == graphs[0]


def test_pad_graphs_errors(nb201):
    g = nb201.to_graph(nb201.sample(1)[0])
    with pytest.raises(ValueError, match="at most 2 nodes"):
        pad_graphs([g], build_vocab([g], nb201.ops), 2)
    with pytest.raises(ValueError, match="unknown to this encoder"):
        pad_graphs([g], (PAD, "input"), 8)


def test_unpad_rejects_edges_of_padding():
    adj = np.zeros((4, 4), np.uint8)
    adj[0, 3] = 1
    assert unpad_graph(["input", PAD, PAD, "output"], adj).n_nodes == 2
    adj[0, 1] = 1
    assert unpad_graph(["input", PAD, PAD, "output"], adj) is None


def test_default_unlabeled(nb201):
    archs, source = default_unlabeled(nb201, 10, seed=0)
    assert source == "enumerate" and len(archs) == 15625
    nb101 = get_space("nb101")
    archs, source = default_unlabeled(nb101, 7, seed=0)
    assert source == "sample" and len(archs) == 7


def test_default_unlabeled_nb301_file(data_dir):
    archs, source = default_unlabeled(get_space("nb301"), 10, seed=0, data_dir=data_dir)
    assert source == "archs file" and len(archs) == 11221


class _NoArchsSpace(NB201Space):
    name = "toy_no_archs"

    def enumerate(self):
        raise NotImplementedError

    def sample(self, n, seed=0):
        raise NotImplementedError


@pytest.mark.parametrize("cls,params,dim", ENCODERS)
def test_clear_error_without_unlabeled(cls, params, dim):
    with pytest.raises(ValueError, match="unlabeled="):
        cls(_NoArchsSpace(), **params).fit()
    with pytest.raises(ValueError, match="unlabeled="):
        cls(None, **params).fit()


# -- both encoders ----------------------------------------------------------------------
@pytest.mark.parametrize("cls,params,dim", ENCODERS)
def test_shapes_names_and_loss_decreases(cls, params, dim, unlabeled, queries):
    enc = cls("nb201", epochs=4, **params).fit(unlabeled=unlabeled)
    X = enc.transform(queries)
    assert X.shape == (len(queries), dim) and X.dtype == np.float64 and np.isfinite(X).all()
    names = enc.get_feature_names_out()
    assert len(names) == dim and len(set(names)) == dim
    assert enc.get_feature_groups_out() == {cls.__name__[:-len("Encoder")].lower():
                                            list(range(dim))}
    report = enc.pretrain_report_
    assert report["epochs"] == 4 and report["seconds"] > 0 and report["source"] == "given"
    losses = report["loss_history"]
    assert len(losses) == 4 and losses[-1] < losses[0]
    # equal graphs give equal codes; codes do not depend on the batch they are in
    assert np.allclose(enc.transform(queries[:3]), X[:3], atol=1e-6)


@pytest.mark.parametrize("cls,params,dim", ENCODERS)
def test_deterministic_given_random_state(cls, params, dim, unlabeled, queries):
    before = torch.random.get_rng_state()
    a = cls("nb201", epochs=2, random_state=3, **params).fit(unlabeled=unlabeled)
    assert torch.equal(torch.random.get_rng_state(), before)  # global RNG untouched
    b = cls("nb201", epochs=2, random_state=3, **params).fit(unlabeled=unlabeled)
    c = cls("nb201", epochs=2, random_state=4, **params).fit(unlabeled=unlabeled)
    assert np.array_equal(a.transform(queries), b.transform(queries))
    assert not np.allclose(a.transform(queries), c.transform(queries))
    assert a.pretrain_report_["loss_history"] == b.pretrain_report_["loss_history"]


@pytest.mark.parametrize("cls,params,dim", ENCODERS)
def test_checkpoint_round_trip_and_cache(cls, params, dim, unlabeled, queries, tmp_path,
                                         monkeypatch):
    kw = {**params, "use_cache": True, "cache_dir": str(tmp_path / "cache")}
    enc = cls("nb201", epochs=2, **kw).fit(unlabeled=unlabeled)
    X = enc.transform(queries)
    assert enc.checkpoint_path_ is not None and enc.checkpoint_path_.is_file()
    assert str(enc.checkpoint_path_).startswith(str(tmp_path))

    # save / load
    path = enc.save(tmp_path / "model.pt")
    loaded = cls.load(path)
    assert np.array_equal(loaded.transform(queries), X)
    assert loaded.pretrain_report_["loss_history"] == enc.pretrain_report_["loss_history"]
    assert list(loaded.get_feature_names_out()) == list(enc.get_feature_names_out())

    # a second fit with the same key loads the cached checkpoint instead of pretraining
    def no_training(*args, **kwargs):
        raise AssertionError("pretrained again instead of loading the cache")

    monkeypatch.setattr(cls, "_pretrain", no_training)
    again = cls("nb201", epochs=2, **kw).fit(unlabeled=unlabeled)
    assert again.checkpoint_path_ == enc.checkpoint_path_
    assert np.array_equal(again.transform(queries), X)
    # another hyper-parameter is another key
    with pytest.raises(AssertionError, match="pretrained again"):
        cls("nb201", epochs=3, **kw).fit(unlabeled=unlabeled)


def test_cache_dir_from_environment(monkeypatch, tmp_path, unlabeled):
    monkeypatch.setenv("NASPERF_CACHE", str(tmp_path))
    enc = Arch2VecEncoder("nb201", epochs=1, **{**TINY_A2V, "use_cache": True})
    enc.fit(unlabeled=unlabeled[:50])
    assert enc.checkpoint_path_.parent == tmp_path / "encoders"


@pytest.mark.parametrize("cls,params,dim", ENCODERS)
def test_sklearn_conventions(cls, params, dim, unlabeled, queries):
    enc = cls("nb201", epochs=1, **params)
    assert clone(enc).get_params() == enc.get_params()
    X = enc.fit_transform(queries, unlabeled=unlabeled[:60])
    assert X.shape == (len(queries), dim)
    with pytest.raises(InvalidArchitectureError):
        enc.transform(["|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|"])


@pytest.mark.parametrize("cls,params,dim", ENCODERS)
def test_graph_inputs_without_space(cls, params, dim, nb201, unlabeled):
    graphs = [nb201.to_graph(a) for a in unlabeled[:80]]
    enc = cls(None, epochs=1, **params).fit(unlabeled=graphs)
    assert enc.transform(graphs[:5]).shape == (5, dim)


@pytest.mark.parametrize("cls,params,dim", ENCODERS)
def test_multi_cell_space(cls, params, dim):
    nb301 = get_space("nb301")
    enc = cls("nb301", epochs=1, **params).fit(unlabeled=nb301.sample(40, seed=0))
    X = enc.transform(nb301.sample(3, seed=1))
    assert X.shape == (3, 2 * dim)
    names = enc.get_feature_names_out()
    assert names[0].startswith("normal_") and names[-1].startswith("reduce_")


def test_tnb101_micro_default_unlabeled():
    enc = Arch2VecEncoder("tnb101_micro", epochs=1, **{**TINY_A2V, "n_prior_samples": 0})
    enc.fit()
    assert enc.pretrain_report_["source"] == "enumerate"
    assert enc.pretrain_report_["n_unlabeled"] == 4096
    assert enc.graph_ == "fixed" and enc.pretrain_report_["n_graphs"] == 4096
    pruned = Arch2VecEncoder("tnb101_micro", graph="pruned", epochs=1,
                             **{**TINY_A2V, "n_prior_samples": 0}).fit()
    assert pruned.pretrain_report_["source"] == "enumerate"
    assert pruned.pretrain_report_["n_graphs"] == len(
        unique_graphs(enc.space_.to_graph(a) for a in enc.space_.enumerate()))


# -- arch2vec specifics ----------------------------------------------------------------------
def test_arch2vec_reports(unlabeled):
    enc = Arch2VecEncoder("nb201", epochs=2, **TINY_A2V).fit(unlabeled=unlabeled)
    r = enc.pretrain_report_
    for key in ("op_accuracy", "adj_accuracy", "graph_accuracy", "validity_ops", "validity",
                "in_space", "uniqueness"):
        assert 0.0 <= r[key] <= 1.0, key
    assert r["n_heldout"] == round(0.1 * r["n_graphs"])
    assert len(enc.sample_graphs(5)) == 5


def test_wl_hash_is_isomorphism_invariant():
    a = ArchGraph.from_edges(4, [(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "x", "y", "output"])
    b = ArchGraph.from_edges(4, [(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "y", "x", "output"])
    c = ArchGraph.from_edges(4, [(0, 1), (1, 2), (2, 3)], ["input", "x", "y", "output"])
    assert _wl_hash(a) == _wl_hash(b) != _wl_hash(c)


#: The reference's NB201 graph: input, the six edge ops in string order, output.
NB201_FIXED_ADJ = np.array([[0, 1, 1, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 1, 0, 0],
                            [0, 0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1, 0],
                            [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1],
                            [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0]])
#: Two cells that differ only on a dead edge (1 -> 2 feeds no live path): one pruned graph.
DEAD_EDGE_TWINS = ("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|",
                   "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|")


@pytest.mark.parametrize("space", ["nb201", "tnb101_micro"])
def test_arch2vec_fixed_graph_is_the_unpruned_cell(space):
    sp = get_space(space)
    archs = sp.sample(40, seed=0)
    enc = Arch2VecEncoder(space, graph="fixed", epochs=1, **TINY_A2V).fit(unlabeled=archs)
    assert enc.max_nodes_ == 8 and "none" in enc.vocab_
    cells, graphs = enc._cell_graphs(archs)
    assert cells == tuple(sp.to_graphs(archs[0]))
    for a, g in zip(archs, graphs["cell"]):
        assert g.ops == ("input", *a.ops, "output")
        assert np.array_equal(g.adjacency, NB201_FIXED_ADJ)
    assert enc.pretrain_report_["graph"] == "fixed"
    assert enc.pretrain_report_["n_graphs"] == len(set(archs))  # no merging by pruning


def test_arch2vec_fixed_graph_separates_dead_edges(unlabeled):
    pruned = Arch2VecEncoder("nb201", graph="pruned", epochs=1, **TINY_A2V).fit(
        unlabeled=unlabeled)
    fixed = Arch2VecEncoder("nb201", epochs=1, **TINY_A2V).fit(unlabeled=unlabeled)
    assert (pruned.graph_, fixed.graph_) == ("pruned", "fixed")  # "auto": fixed on NB201
    Xp, Xf = pruned.transform(DEAD_EDGE_TWINS), fixed.transform(DEAD_EDGE_TWINS)
    assert np.array_equal(Xp[0], Xp[1]) and not np.allclose(Xf[0], Xf[1])
    # the fixed graph has no padding: the embedding is the mean of mu over all 8 nodes
    ops, adj, mask = pad_graphs(fixed._cell_graphs(fixed.space_.parse(s) for s in
                                                   DEAD_EDGE_TWINS)[1]["cell"],
                                fixed.vocab_, 8).tensors()
    assert mask.all()
    with torch.no_grad():
        mu, _ = fixed.model_.encode(ops, adj)
    assert np.allclose(Xf, mu.mean(1).double().numpy(), atol=1e-6)


def test_arch2vec_fixed_graph_deterministic_and_round_trip(unlabeled, queries, tmp_path):
    kw = {**TINY_A2V, "random_state": 5}
    a = Arch2VecEncoder("nb201", graph="fixed", epochs=2, **kw).fit(unlabeled=unlabeled)
    b = Arch2VecEncoder("nb201", graph="fixed", epochs=2, **kw).fit(unlabeled=unlabeled)
    assert np.array_equal(a.transform(queries), b.transform(queries))
    loaded = Arch2VecEncoder.load(a.save(tmp_path / "fixed.pt"))
    assert loaded.graph == "fixed" and np.array_equal(loaded.transform(queries),
                                                      a.transform(queries))
    # a checkpoint without the graph option (older format) holds a pruned-graph model
    old = Arch2VecEncoder("nb201", graph="pruned", epochs=1, **kw).fit(unlabeled=unlabeled)
    state = torch.load(old.save(tmp_path / "old.pt"), weights_only=True)
    del state["params"]["graph"], state["extra"]["graph"]
    torch.save(state, tmp_path / "old.pt")
    assert np.array_equal(Arch2VecEncoder.load(tmp_path / "old.pt").transform(queries),
                          old.transform(queries))


def test_arch2vec_cache_key_depends_on_graph_and_op_loss(unlabeled, tmp_path):
    kw = {**TINY_A2V, "use_cache": True, "cache_dir": str(tmp_path), "epochs": 1}
    paths = {Arch2VecEncoder("nb201", graph=g, op_loss=o, **kw).fit(
        unlabeled=unlabeled[:60]).checkpoint_path_
        for g, o in [("pruned", "softmax"), ("fixed", "softmax"), ("fixed", "sigmoid"),
                     ("auto", "softmax")]}
    assert len(paths) == 3 and all(p.is_file() for p in paths)  # "auto" is "fixed" here


def test_arch2vec_sigmoid_op_loss_learns(unlabeled):
    enc = Arch2VecEncoder("nb201", graph="fixed", op_loss="sigmoid", epochs=3, **TINY_A2V)
    losses = enc.fit(unlabeled=unlabeled).pretrain_report_["loss_history"]
    assert enc.pretrain_report_["op_loss"] == "sigmoid" and losses[-1] < losses[0]


def test_arch2vec_graph_option_errors(nb201):
    with pytest.raises(ValueError, match="fixed node layout"):
        Arch2VecEncoder("nb101", graph="fixed", **TINY_A2V).fit()
    with pytest.raises(ValueError, match="fixed node layout"):
        Arch2VecEncoder(None, graph="fixed", **TINY_A2V).fit(
            unlabeled=[nb201.to_graph(a) for a in nb201.sample(5)])
    with pytest.raises(ValueError, match="graph must be one of"):
        Arch2VecEncoder("nb201", graph="unpruned", **TINY_A2V).fit()
    with pytest.raises(ValueError, match="op_loss must be one of"):
        Arch2VecEncoder("nb201", op_loss="bce", **TINY_A2V).fit()
    with pytest.raises(ValueError, match="graph='pruned' for graph inputs"):
        Arch2VecEncoder("nb201", **TINY_A2V).fit(
            unlabeled=[nb201.to_graph(a) for a in nb201.sample(5)])
    graphs = [nb201.to_graph(a) for a in nb201.sample(20)]  # auto without a space: pruned
    assert Arch2VecEncoder(None, epochs=1, **TINY_A2V).fit(unlabeled=graphs).graph_ == "pruned"


# -- CATE specifics ----------------------------------------------------------------------
def test_op_costs(nb201):
    assert op_cost("nor_conv_3x3") == 9 and op_cost("nor_conv_1x1") == 1
    assert op_cost("conv3x3-bn-relu") == 9 and op_cost("maxpool3x3") == 0
    assert op_cost("sep_conv_5x5") == 2 and op_cost("dil_conv_3x3") == 1
    assert op_cost("avg_pool_3x3") == 0 == op_cost("skip_connect") == op_cost("input")
    all_conv3 = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
                            "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    assert graph_cost(nb201.to_graph(all_conv3)) == 54


def test_computation_pairs():
    costs = np.array([0, 0, 0, 5, 5, 9, 20])
    pairs = computation_pairs(costs, k=2, tolerance=0, rng=np.random.default_rng(0))
    assert len(pairs) == 3 + 1  # three zeros: 0 + 1 + 2 partners; two fives: 0 + 1
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert (costs[pairs[:, 0]] == costs[pairs[:, 1]]).all()
    wide = computation_pairs(costs, k=2, tolerance=4, rng=np.random.default_rng(0))
    assert (np.abs(costs[wide[:, 0]] - costs[wide[:, 1]]) <= 4).all()
    assert {5} <= set(costs[wide[:, 0]]) | set(costs[wide[:, 1]])


def test_attention_masks_reachability():
    # 0 -> 1 -> 2 -> 3, 0 -> 3; one padding node
    adj = np.zeros((1, 5, 5), np.uint8)
    for i, j in [(0, 1), (1, 2), (2, 3), (0, 3)]:
        adj[0, i, j] = 1
    mask = np.array([[True, True, True, True, False]])
    allowed = attention_masks(adj, mask)[0]
    expected = np.array([[1, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 0],
                         [0, 0, 0, 0, 1]], bool)
    assert np.array_equal(allowed, expected)


def test_cate_reports_and_tolerance_error(unlabeled):
    enc = CATEEncoder("nb201", epochs=1, **TINY_CATE).fit(unlabeled=unlabeled)
    r = enc.pretrain_report_
    assert r["n_pairs"] > 0 and 0 <= r["heldout_mlm_accuracy"] <= 1
    distinct = [get_space("nb201").parse(s) for s in (
        "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
        "|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")]
    with pytest.raises(ValueError, match="pair_tolerance"):
        CATEEncoder("nb201", epochs=1, **{**TINY_CATE, "validation_fraction": 0.0}).fit(
            unlabeled=distinct)
