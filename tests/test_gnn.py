"""Graph data of architectures (GraphDataEncoder) and the graph neural predictor (gnn)."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch_geometric")

import torch  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from torch_geometric.data import Batch, Data  # noqa: E402

from nasperf._utils import kendall_tau, torch_seed  # noqa: E402
from nasperf.encoders import GraphDataEncoder, attach_global_features  # noqa: E402
from nasperf.eval.features import build_features  # noqa: E402
from nasperf.eval.runner import run_benchmark  # noqa: E402
from nasperf.predictors import GNNPredictor, get_predictor  # noqa: E402
from nasperf.predictors.gnn import (  # noqa: E402
    BACKBONES,
    GATBackbone,
    GINBackbone,
    _Packed,
    normal_scores,
    pretrain_gin,
    register_backbone,
    split_graph_input,
)
from nasperf.searchspaces import ArchGraph, InvalidArchitectureError, get_space  # noqa: E402

#: Small, fast settings (seconds per fit on one thread).
TINY = dict(hidden_dim=16, n_layers=2, head_hidden=(16,), n_ensemble=2, max_epochs=30,
            patience=5)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def conv_count(archs) -> np.ndarray:
    """A synthetic target of NB201 cells: the number of 3x3 convolutions (0..6)."""
    return np.array([a.ops.count("nor_conv_3x3") for a in archs], float)


@pytest.fixture(scope="module")
def nb201():
    """160 distinct NB201 cells, their graphs and a synthetic target with a little noise."""
    space = get_space("nb201")
    archs = list(dict.fromkeys(space.sample(220, seed=3)))[:160]
    graphs = GraphDataEncoder("nb201").fit_transform(archs)
    rng = np.random.default_rng(0)
    y = conv_count(archs) + 0.1 * rng.normal(size=len(archs))
    return archs, graphs, y


# -- the encoder ---------------------------------------------------------------------------------
def test_nb201_graph_layout_matches_the_archgraph(nb201):
    archs, graphs, _ = nb201
    space = get_space("nb201")
    enc = GraphDataEncoder("nb201").fit(archs)
    assert enc.vocab_ == ("input", "output", "skip_connect", "nor_conv_3x3", "nor_conv_1x1",
                          "avg_pool_3x3")
    assert list(enc.get_feature_names_out()) == [f"op={o}" for o in enc.vocab_]
    assert isinstance(graphs, np.ndarray) and graphs.dtype == object
    assert len(graphs) == len(archs)
    for arch, d in zip(archs[:20], graphs[:20]):
        g = space.to_graph(arch)
        assert isinstance(d, Data) and d.num_nodes == g.n_nodes
        assert d.x.dtype == torch.float32 and d.x.shape == (g.n_nodes, len(enc.vocab_))
        assert torch.all(d.x.sum(dim=1) == 1)
        assert [enc.vocab_[int(k)] for k in d.x.argmax(dim=1)] == list(g.ops)
        assert sorted(map(tuple, d.edge_index.t().tolist())) == sorted(g.edges)
        assert not hasattr(d, "u") or d.u is None


def test_duplicates_get_equal_but_distinct_objects():
    space = get_space("nb201")
    arch = space.sample(1, seed=0)[0]
    a, b = GraphDataEncoder("nb201").fit_transform([arch, arch])
    assert a is not b and torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)


def test_nb301_cells_are_one_disjoint_union_with_a_cell_indicator():
    space = get_space("nb301")
    archs = space.sample(4, seed=1)
    enc = GraphDataEncoder("nb301")
    data = enc.fit_transform(archs)
    names = list(enc.get_feature_names_out())
    assert names[-2:] == ["cell=normal", "cell=reduce"]
    for arch, d in zip(archs, data):
        cells = space.to_graphs(arch)
        n_normal, n_reduce = cells["normal"].n_nodes, cells["reduce"].n_nodes
        assert d.num_nodes == n_normal + n_reduce
        cell = d.x[:, -2:]
        assert torch.all(cell[:n_normal, 0] == 1) and torch.all(cell[n_normal:, 1] == 1)
        assert torch.all(cell.sum(dim=1) == 1)
        src, dst = d.edge_index
        assert torch.all((src < n_normal) == (dst < n_normal))  # no edge between the cells
        assert d.edge_index.shape[1] == len(cells["normal"].edges) + len(cells["reduce"].edges)


def test_nb101_graphs_of_different_sizes_batch():
    space = get_space("nb101")
    archs = space.sample(60, seed=0)
    data = GraphDataEncoder("nb101").fit_transform(archs)
    sizes = [d.num_nodes for d in data]
    assert 2 <= min(sizes) and max(sizes) <= 7 and len(set(sizes)) >= 4
    batch = Batch.from_data_list(list(data))
    assert batch.num_graphs == 60 and batch.x.shape[0] == sum(sizes)
    assert batch.ptr.tolist() == np.concatenate([[0], np.cumsum(sizes)]).tolist()
    # the predictor's own fast sub-batching gives exactly PyG's batches
    packed = _Packed(list(data), None, torch.device("cpu"))
    idx = torch.tensor([5, 0, 59, 17, 3])
    x, edges, vec, u, n = packed.subset(idx)
    ref = Batch.from_data_list([data[i] for i in idx.tolist()])
    assert n == 5 and u is None
    assert torch.equal(x, ref.x) and torch.equal(vec, ref.batch)
    assert sorted(map(tuple, edges.t().tolist())) == sorted(map(tuple, ref.edge_index.t().tolist()))
    y = np.array(sizes, float)
    model = GNNPredictor(random_state=0, **TINY).fit(data, y)
    assert model.predict(data).shape == (60,)


def test_global_features_are_stored_as_u_and_batch_to_rows(nb201):
    archs, graphs, _ = nb201
    U = np.arange(12, dtype=float).reshape(4, 3)
    data = GraphDataEncoder("nb201").fit(archs).transform(archs[:4], u=U)
    assert data[0].u.shape == (1, 3) and data[0].u.dtype == torch.float64
    assert torch.equal(Batch.from_data_list(list(data)).u, torch.tensor(U))
    again = attach_global_features(graphs[:4], U[:, 0])
    assert again[2].u.shape == (1, 1) and float(again[2].u) == 6.0
    assert getattr(graphs[2], "u", None) is None  # the inputs are not modified
    with pytest.raises(ValueError, match="shape"):
        attach_global_features(graphs[:4], U[:3])


def test_encoder_errors_and_user_graphs():
    g = ArchGraph.from_edges(3, [(0, 1), (1, 2)], ["input", "conv", "output"])
    h = ArchGraph.from_edges(4, [(0, 1), (0, 2), (1, 3), (2, 3)],
                             ["input", "conv", "pool", "output"])
    enc = GraphDataEncoder().fit([g, h])
    assert enc.vocab_ == ("input", "output", "conv", "pool")
    assert enc.transform([h])[0].num_nodes == 4
    odd = ArchGraph.from_edges(3, [(0, 1), (1, 2)], ["input", "attention", "output"])
    with pytest.raises(InvalidArchitectureError, match="'attention' was not seen in fit"):
        enc.transform([odd])
    with pytest.raises(ValueError, match="single"):
        GraphDataEncoder("nb201").fit_transform("|nor_conv_3x3~0|+|none~0|none~1|")


def test_missing_torch_geometric_names_the_extra(monkeypatch):
    for mod in ("torch_geometric", "torch_geometric.data", "torch_geometric.nn"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ImportError, match=r"nasperf\[gnn\]"):
        GraphDataEncoder("nb201").fit(get_space("nb201").sample(2, seed=0))
    g = ArchGraph.from_edges(2, [(0, 1)], ["input", "output"])
    with pytest.raises(ImportError, match=r"nasperf\[gnn\]"):
        GNNPredictor(**TINY).fit([_data(g), _data(g)], [0.0, 1.0])


def _data(g: ArchGraph) -> Data:
    x = torch.eye(2)[[0] + [1] * (g.n_nodes - 1)]
    return Data(x=x, edge_index=torch.tensor(g.edges, dtype=torch.long).t().reshape(2, -1))


# -- the predictor -------------------------------------------------------------------------------
def test_registry_and_sklearn_conventions():
    model = get_predictor("gnn", random_state=3)
    assert isinstance(model, GNNPredictor) and model.random_state == 3
    assert model.accepts_graphs
    check_parameters_default_constructible("GNNPredictor", GNNPredictor())
    check_no_attributes_set_in_init("GNNPredictor", GNNPredictor())
    check_get_params_invariance("GNNPredictor", GNNPredictor())
    check_set_params("GNNPredictor", GNNPredictor())


def test_fit_predict_shapes_and_uncertainty(nb201):
    _, graphs, y = nb201
    model = GNNPredictor(random_state=0, **TINY)
    params = model.get_params()
    assert model.fit(graphs[:100], y[:100]) is model
    assert model.get_params() == params  # fit changes no parameter
    assert len(model.estimators_) == 2 and len(model.n_epochs_) == 2
    assert model.n_node_features_ == 6 and model.n_global_features_ == 0
    mean = model.predict(graphs[100:])
    mean2, std = model.predict(list(graphs[100:]), return_std=True)
    assert mean.shape == std.shape == (60,) and np.allclose(mean, mean2)
    assert np.all(std >= 0) and std.max() > 0 and np.isfinite(mean).all()
    assert np.allclose(model.predict_std(graphs[100:]), std)
    single = GNNPredictor(random_state=0, **{**TINY, "n_ensemble": 1}).fit(graphs[:50], y[:50])
    assert np.all(single.predict(graphs[100:], return_std=True)[1] == 0)
    assert model.fit_time_ > 0


@pytest.mark.parametrize("loss", ["mse", "pairwise"])
def test_learns_the_synthetic_target(nb201, loss):
    _, graphs, y = nb201
    model = GNNPredictor(random_state=0, loss=loss, **{**TINY, "max_epochs": 60})
    pred = model.fit(graphs[:120], y[:120]).predict(graphs[120:])
    assert kendall_tau(y[120:], pred) > 0.6, loss
    if loss == "pairwise":  # scores are mapped back to the units of y
        assert all(a > 0 for a, _ in model.calibration_)
        assert abs(pred.mean() - y[120:].mean()) < 1.5 * y.std()


def test_random_state_determinism(nb201):
    _, graphs, y = nb201
    a = GNNPredictor(random_state=5, **TINY).fit(graphs[:60], y[:60]).predict(graphs[60:])
    b = GNNPredictor(random_state=5, **TINY).fit(graphs[:60], y[:60]).predict(graphs[60:])
    c = GNNPredictor(random_state=6, **TINY).fit(graphs[:60], y[:60]).predict(graphs[60:])
    assert np.array_equal(a, b) and not np.allclose(a, c)
    state = torch.random.get_rng_state()
    GNNPredictor(random_state=5, **TINY).fit(graphs[:20], y[:20])
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched


def test_gat_and_mixed_ensembles_learn_deterministically_on_graphs_of_any_size(nb201):
    _, graphs, y = nb201
    kw = {**TINY, "max_epochs": 60}
    gat = GNNPredictor(backbone="gat", random_state=0, **kw).fit(graphs[:120], y[:120])
    assert [type(m.backbone) for m in gat.estimators_] == [GATBackbone] * 2
    assert kendall_tau(y[120:], gat.predict(graphs[120:])) > 0.6
    again = GNNPredictor(backbone="gat", random_state=0, **kw).fit(graphs[:120], y[:120])
    assert np.array_equal(gat.predict(graphs[120:]), again.predict(graphs[120:]))
    mixed = GNNPredictor(backbone="gin+gat", random_state=0, **{**kw, "n_ensemble": 3})
    mixed.fit(graphs[:120], y[:120])
    assert [type(m.backbone) for m in mixed.estimators_] == [GINBackbone, GATBackbone,
                                                             GINBackbone]
    assert mixed.predict(graphs[120:], return_std=True)[1].min() > 0
    data = GraphDataEncoder("nb101").fit_transform(get_space("nb101").sample(30, seed=1))
    sizes = {d.num_nodes for d in data}
    assert len(sizes) >= 3  # graphs of different sizes batch without padding
    pred = GNNPredictor(backbone="gat", random_state=0, **TINY).fit(data, np.arange(30.0))
    assert np.isfinite(pred.predict(data)).all()
    with pytest.raises(ValueError, match="multiple of the 4 heads"):
        GNNPredictor(backbone="gat", **{**TINY, "hidden_dim": 18}).fit(graphs[:20], y[:20])
    with pytest.raises(ValueError, match=r"backbone must be a name of \['gat', 'gin'\]"):
        GNNPredictor(backbone="gin+gcn", **TINY).fit(graphs[:20], y[:20])


def test_register_backbone(nb201, monkeypatch):
    import nasperf.predictors.gnn as gnn

    _, graphs, y = nb201
    monkeypatch.setattr(gnn, "BACKBONES", dict(BACKBONES))  # the registry after the test
    built = []

    def wide_gin(d_node, hidden, n_layers, pool, both):
        built.append((hidden, n_layers))
        return GINBackbone(d_node, 2 * hidden, n_layers, pool, both)

    register_backbone("wide_gin", wide_gin)
    assert "wide_gin" in gnn.BACKBONES and "wide_gin" not in BACKBONES
    model = GNNPredictor(backbone="wide_gin", random_state=0, **TINY).fit(graphs[:20], y[:20])
    assert built == [(16, 2)] * 2 and model.estimators_[0].backbone.out_dim == 64
    for taken in ("gin", "pretrained", "a+b"):
        with pytest.raises(ValueError, match="taken or reserved"):
            register_backbone(taken, wide_gin)


def test_early_stopping_uses_an_inner_split(nb201):
    _, graphs, y = nb201
    kw = {**TINY, "max_epochs": 200, "patience": 3}
    model = GNNPredictor(random_state=0, early_stopping=True, **kw).fit(graphs[:60], y[:60])
    assert min(model.n_epochs_) < 200
    again = GNNPredictor(random_state=0, early_stopping=True, **kw).fit(graphs[:60], y[:60])
    assert again.n_epochs_ == model.n_epochs_
    assert np.array_equal(again.predict(graphs[60:]), model.predict(graphs[60:]))
    full = GNNPredictor(random_state=0, **{**TINY, "max_epochs": 7}).fit(graphs[:60], y[:60])
    assert full.n_epochs_ == [7, 7]  # without early stopping: every epoch, all the data
    with pytest.raises(ValueError, match="validation_fraction"):
        GNNPredictor(validation_fraction=1.0, **TINY).fit(graphs[:10], y[:10])


def test_clone_and_pickle_of_a_fitted_model(nb201):
    _, graphs, y = nb201
    model = GNNPredictor(random_state=0, device="cpu", **TINY).fit(graphs[:60], y[:60])
    pred = model.predict(graphs[60:])
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "estimators_")
    assert np.array_equal(copy.fit(graphs[:60], y[:60]).predict(graphs[60:]), pred)
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict(graphs[60:]), pred)


def test_global_features_from_u_and_table_columns(nb201):
    archs, graphs, y = nb201
    rng = np.random.default_rng(1)
    U = np.column_stack([y + rng.normal(0, 0.3, len(y)), 10.0 ** rng.uniform(40, 61, len(y))])
    U[3, 0] = np.nan
    with_u = attach_global_features(graphs, U)
    model = GNNPredictor(random_state=0, **TINY).fit(with_u[:100], y[:100])
    assert model.n_global_features_ == 2 and model.log_columns_.tolist() == [1]
    assert np.isfinite(model.predict(with_u[100:])).all()
    table = pd.DataFrame({"graph:data": graphs, "zc:a": U[:, 0], "zc:b": U[:, 1]})
    model2 = GNNPredictor(random_state=0, **TINY).fit(table.iloc[:100], y[:100])
    assert np.allclose(model2.predict(table.iloc[100:]), model.predict(with_u[100:]))
    assert model2.clean_input(table.iloc[:5]).shape == (5, 2)
    series = GNNPredictor(random_state=0, **TINY).fit(table["graph:data"].iloc[:30], y[:30])
    assert series.n_global_features_ == 0
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        GNNPredictor(nan_policy="raise", **TINY).fit(with_u[:100], y[:100])
    with pytest.raises(ValueError, match="0 global features, but GNNPredictor was fitted "
                                         "with 6 and 2"):
        model.predict(graphs[100:])


def test_bad_inputs_raise_clear_errors(nb201):
    _, graphs, y = nb201
    model = GNNPredictor(**TINY)
    with pytest.raises(ValueError, match="GNNPredictor takes graphs.*float64 array"):
        model.fit(np.zeros((10, 3)), np.zeros(10))
    with pytest.raises(ValueError, match="GNNPredictor takes graphs.*without graphs"):
        model.fit([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="no column of graphs"):
        model.fit(pd.DataFrame({"a": np.arange(5.0)}), np.arange(5.0))
    with pytest.raises(ValueError, match=r"columns \[0, 1\] hold graphs"):
        model.fit(pd.DataFrame({"a": graphs[:5], "b": graphs[:5]}), np.arange(5.0))
    with pytest.raises(ValueError, match="single Data"):
        model.fit(graphs[0], [1.0])
    with pytest.raises(ValueError, match=r"y must have shape \(10,\)"):
        model.fit(graphs[:10], y[:9])
    with pytest.raises(ValueError, match="NaN or inf"):
        model.fit(graphs[:10], np.r_[y[:9], np.nan])
    with pytest.raises(ValueError, match="at least 2 graphs"):
        model.fit(graphs[:1], y[:1])
    with pytest.raises(ValueError, match="loss must be one of"):
        GNNPredictor(loss="hinge").fit(graphs[:10], y[:10])
    with pytest.raises(ValueError, match="n_layers must be an integer >= 1"):
        GNNPredictor(n_layers=0).fit(graphs[:10], y[:10])
    with pytest.raises(ValueError, match="no CUDA GPU|invalid device"):
        GNNPredictor(device="cuda:7", **TINY).fit(graphs[:10], y[:10]) \
            if not torch.cuda.is_available() else GNNPredictor(device="nope").fit(graphs, y)
    bad = Data(x=torch.ones(3, 6), edge_index=torch.tensor([[0], [5]]))
    with pytest.raises(ValueError, match="graph 1: edge_index refers to nodes outside"):
        model.fit([graphs[0], bad], [0.0, 1.0])
    wide = Data(x=torch.ones(3, 7), edge_index=torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="graph 1 has 7 node features"):
        model.fit([graphs[0], wide], [0.0, 1.0])
    fitted = GNNPredictor(random_state=0, **TINY).fit(graphs[:20], y[:20])
    with pytest.raises(ValueError, match="7 node features and 0 global features"):
        fitted.predict([wide])


# -- the benchmark runner ------------------------------------------------------------------------
def test_runner_graph_features_end_to_end(toy_bench, tmp_path):
    df = run_benchmark("nb201", bench=toy_bench, features=["graph", "graph+zc"],
                       predictors=["gnn"], train_sizes=[32], seeds=1, out=tmp_path,
                       progress=False)
    assert df["features"].tolist() == ["graph", "graph+zc"]
    assert (df["n_test"] == len(toy_bench) - 32).all()
    assert df["kendall_tau"].notna().all() and (df["kendall_tau"] > 0.3).all()
    assert {"coverage_68", "coverage_95"} <= set(df.columns)
    assert not list((tmp_path / "cache").glob("features_graph_*"))  # graphs are never cached
    assert list((tmp_path / "cache").glob("features_zc_*"))


def test_runner_rejects_mismatched_predictors_and_features(toy_bench):
    with pytest.raises(ValueError, match="'extra_trees' takes numeric features, but feature "
                                         "set 'graph\\+zc' holds graphs"):
        run_benchmark("nb201", bench=toy_bench, features=["graph+zc"],
                      predictors=["extra_trees"], train_sizes=[32], seeds=1, progress=False)
    with pytest.raises(ValueError, match="'gnn' takes graphs: its feature set must include "
                                         "a graph family"):
        run_benchmark("nb201", bench=toy_bench, features=["graf"], predictors=["gnn"],
                      train_sizes=[32], seeds=1, progress=False)
    with pytest.raises(ValueError, match="holds graphs, not numeric features"):
        build_features(toy_bench, "graph+zc")
    X, names, groups = build_features(toy_bench, "graph+zc", graphs=True)
    assert X.shape == (len(toy_bench), 1 + toy_bench.proxies.shape[1]) and X.dtype == object
    assert names[0] == "graph:data" and groups["graph"] == [0]
    graphs, extra = split_graph_input(pd.DataFrame(X, columns=names).infer_objects())
    assert len(graphs) == len(toy_bench) and extra.shape == (len(toy_bench), 2)


@pytest.mark.parametrize("features, predictor, words", [
    ("graph", "extra_trees", ["'extra_trees' takes numeric features", "holds graphs"]),
    ("graf+zc", "gnn", ["'gnn' takes graphs", "a graph family"]),
])
def test_cli_mismatch_is_one_line_and_exit_2(features, predictor, words, tmp_path, capsys):
    from nasperf.eval.cli import main

    argv = ["benchmark", "--space", "nb201", "--features", features, "--predictors", predictor,
            "--train-sizes", "32", "--seeds", "1", "--out", str(tmp_path)]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    lines = capsys.readouterr().err.splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert all(w in lines[0] for w in words), lines[0]


@pytest.mark.slow
def test_cli_benchmark_graph_zc_on_nb201(data_dir, tmp_path, capsys):
    from nasperf.eval.cli import main

    code = main(["benchmark", "--space", "nb201", "--dataset", "cifar10", "--features",
                 "graph+zc", "--predictors", "gnn", "--train-sizes", "32", "--seeds", "1",
                 "--data-dir", str(data_dir), "--out", str(tmp_path)])
    assert code in (0, None)
    df = pd.read_csv(tmp_path / "results.csv")
    assert df[["features", "predictor", "train_size"]].values.tolist() == [["graph+zc", "gnn",
                                                                           32]]
    assert df["kendall_tau"].iloc[0] > 0.3 and df["n_test"].iloc[0] > 9000


# -- pretrained backbones (arch2vec) ---------------------------------------------------------
@pytest.fixture(scope="module")
def a2v(nb201):
    """A tiny arch2vec pretrained on the fixture's cells, and its graphs of them."""
    from nasperf.encoders import Arch2VecEncoder

    archs, _, y = nb201
    enc = Arch2VecEncoder("nb201", epochs=1, hidden_dim=16, n_layers=2, n_prior_samples=0,
                          validation_fraction=0.0, use_cache=False, progress=False,
                          random_state=0).fit(unlabeled=archs)
    return enc, enc.to_graph_data(archs), y


def test_pretrained_backbone_gives_the_encoders_codes(a2v, nb201):
    enc, graphs, _ = a2v
    archs = nb201[0]
    assert len(graphs) == len(archs) and all(g.backbone is graphs[0].backbone for g in graphs)
    assert graphs[0].x.shape == (enc.max_nodes_, len(enc.vocab_))  # one cell, padded slots
    bb = graphs[0].backbone.eval()
    assert bb.in_dim == len(enc.vocab_) and bb.out_dim == enc.latent_dim
    batch = Batch.from_data_list([Data(x=g.x, edge_index=g.edge_index) for g in graphs[:40]])
    with torch.no_grad():
        codes = bb(batch.x, batch.edge_index, batch.batch, 40).double().numpy()
    assert np.allclose(codes, enc.transform(archs[:40]), atol=1e-5)
    with pytest.raises(ValueError, match="takes graphs of 8 nodes"):
        bb(batch.x[:-1], batch.edge_index[:, :0], batch.batch[:-1], 40)


def test_gnn_fine_tunes_a_pretrained_backbone(a2v):
    enc, graphs, y = a2v
    before = {k: v.clone() for k, v in enc.model_.state_dict().items()}
    carried = {k: v.clone() for k, v in graphs[0].backbone.state_dict().items()}
    model = get_predictor("gnn_pretrained", random_state=0, **TINY)
    assert model.backbone == "pretrained"
    pred = model.fit(graphs[:120], y[:120]).predict(graphs[120:])
    assert kendall_tau(y[120:], pred) > 0.5
    tuned = model.estimators_[0].backbone.state_dict()
    assert any(not torch.equal(tuned[k], carried[k]) for k in carried)  # fine-tuned
    for k, v in enc.model_.state_dict().items():  # neither the encoder nor the graphs' copy
        assert torch.equal(v, before[k])
    for k, v in graphs[0].backbone.state_dict().items():
        assert torch.equal(v, carried[k])
    again = get_predictor("gnn_pretrained", random_state=0, **TINY).fit(graphs[:120], y[:120])
    assert np.array_equal(again.predict(graphs[120:]), pred)  # deterministic
    restored = pickle.loads(pickle.dumps(model))
    assert np.allclose(restored.predict(graphs[120:]), pred)
    explicit = GNNPredictor(backbone=enc.graph_backbone(), random_state=0, **TINY)
    assert np.allclose(clone(explicit).fit(graphs[:120], y[:120]).predict(graphs[120:]), pred)
    slow = GNNPredictor(backbone="pretrained", backbone_lr=1e-5, random_state=0, **TINY)
    assert not np.allclose(slow.fit(graphs[:120], y[:120]).predict(graphs[120:]), pred)


def test_pretrained_backbone_errors(a2v, nb201):
    _, graphs, y = a2v
    plain = nb201[1]
    with pytest.raises(ValueError, match="carry as data.backbone.*carry none"):
        GNNPredictor(backbone="pretrained", **TINY).fit(plain[:20], y[:20])
    with pytest.raises(ValueError, match=r"name of \['gat', 'gin'\].*'pretrained' or a torch"):
        GNNPredictor(backbone="arch2vec", **TINY).fit(plain[:20], y[:20])
    with pytest.raises(ValueError, match="takes 8 node features, the graphs have 6"):
        GNNPredictor(backbone=graphs[0].backbone, **TINY).fit(plain[:20], y[:20])
    with pytest.raises(ValueError, match="backbone_lr must be positive"):
        GNNPredictor(backbone_lr=0.0, **TINY).fit(plain[:20], y[:20])


def test_runner_arch2vec_graph_with_gnn_pretrained(toy_bench, tmp_path):
    df = run_benchmark("nb201", bench=toy_bench, features=["arch2vec_graph+zc"],
                       predictors=["gnn_pretrained"], train_sizes=[32], seeds=1,
                       out=tmp_path, progress=False)
    assert df["kendall_tau"].notna().all() and (df["kendall_tau"] > 0.3).all()


# -- auto with a graph candidate -----------------------------------------------------------------
def _auto_gnn(**kw):
    return get_predictor("auto_gnn", random_state=0, cv=3, cv_repeats=1,
                         candidates__gnn__max_epochs=20, candidates__gnn__n_ensemble=1, **kw)


def test_auto_with_a_gnn_candidate_routes_the_graph_column(toy_bench):
    X, names, groups = build_features(toy_bench, "graph+zc", graphs=True)
    frame = pd.DataFrame(X, columns=names).infer_objects()
    y = toy_bench.y
    assert _auto_gnn().accepts_graphs and not get_predictor("auto").accepts_graphs
    model = _auto_gnn().fit(frame.iloc[:60], y[:60])
    assert "gnn" in model.cv_scores_ and "extra_trees + gnn" in model.cv_scores_
    assert model.graph_column_ == 0 and list(model.feature_names_in_) == names[1:]
    pred = model.predict(frame.iloc[60:])
    assert pred.shape == (len(y) - 60,) and np.isfinite(pred).all()
    # the same selection from an object array with explicit groups (indices of the full X)
    fam = {k: v for k, v in groups.items() if "." not in k}
    same = _auto_gnn(feature_groups=fam).fit(X[:60], y[:60])
    assert same.cv_scores_ == pytest.approx(model.cv_scores_)
    assert np.allclose(same.predict(X[60:]), pred)
    # the proxies-only candidate sees the numeric columns of group zc, not the graph
    zc_cols = [c for est, c in same.best_estimators_ if not getattr(est, "accepts_graphs", 0)]
    assert all(c.max() < X.shape[1] - 1 for c in zc_cols)
    # without graphs the gnn candidate and its blends are left out
    numeric = frame.drop(columns="graph:data")
    plain = _auto_gnn().fit(numeric.iloc[:60], y[:60])
    assert not any("gnn" in k for k in plain.cv_scores_)
    with pytest.raises(ValueError, match="graphs in column None, but the selector was fitted "
                                         "with them in column 0"):
        model.predict(numeric.iloc[60:])
    with pytest.raises(ValueError, match="numeric feature columns beside the graphs"):
        _auto_gnn().fit(frame[["graph:data"]].iloc[:60], y[:60])


def test_runner_auto_gnn_on_graph_features(toy_bench, tmp_path):
    from nasperf.predictors import register_predictor
    from nasperf.predictors.select import CVSelectPredictor

    register_predictor("auto_gnn_tiny", CVSelectPredictor, overwrite=True, candidates="gnn",
                       cv=3, cv_repeats=1, candidates__gnn__max_epochs=20,
                       candidates__gnn__n_ensemble=1)
    try:
        df = run_benchmark("nb201", bench=toy_bench, features=["graph+zc"],
                           predictors=["auto_gnn_tiny"], train_sizes=[32], seeds=1,
                           out=tmp_path, progress=False)
    finally:
        from nasperf.predictors.registry import PREDICTORS
        PREDICTORS.pop("auto_gnn_tiny")
    assert (df["kendall_tau"] > 0.3).all()


def test_auto_finds_the_graph_column_anywhere_and_rejects_ambiguous_tables(toy_bench):
    from nasperf.predictors.base import graph_column

    X, names, groups = build_features(toy_bench, "graph+zc", graphs=True)
    y = toy_bench.y
    first = _auto_gnn(feature_groups={"graph": [0], "zc": [1, 2]}).fit(X[:60], y[:60])
    last = np.concatenate([X[:, 1:], X[:, :1]], axis=1)  # the proxies, then the graphs
    moved = _auto_gnn(feature_groups={"zc": [0, 1], "graph": [2]}).fit(last[:60], y[:60])
    assert moved.graph_column_ == 2
    assert moved.cv_scores_ == pytest.approx(first.cv_scores_)
    assert graph_column(X[:, 1:].astype(float)) is None
    mixed = X.copy()
    mixed[0, 0] = 1.0
    with pytest.raises(ValueError, match="column 0 mixes graphs and other values"):
        graph_column(mixed)
    with pytest.raises(ValueError, match="columns \\[0, 1\\] hold graphs"):
        graph_column(np.concatenate([X[:, :1], X], axis=1))


def test_pretrained_backbone_of_a_two_cell_space_concatenates_the_cells():
    from nasperf.encoders import Arch2VecEncoder

    archs = get_space("nb301").sample(24, seed=0)
    enc = Arch2VecEncoder("nb301", epochs=1, hidden_dim=16, n_layers=2, n_prior_samples=0,
                          validation_fraction=0.0, use_cache=False, progress=False,
                          random_state=0).fit(unlabeled=archs)
    graphs = enc.to_graph_data(archs)
    assert graphs[0].x.shape == (2 * enc.max_nodes_, len(enc.vocab_))
    bb = graphs[0].backbone.eval()
    assert bb.out_dim == 2 * enc.latent_dim
    batch = Batch.from_data_list([Data(x=g.x, edge_index=g.edge_index) for g in graphs])
    with torch.no_grad():
        codes = bb(batch.x, batch.edge_index, batch.batch, len(archs)).double().numpy()
    assert np.allclose(codes, enc.transform(archs), atol=1e-5)


def test_cate_is_a_pretrained_backbone_too(nb201):
    from nasperf.encoders import CATEEncoder

    archs = nb201[0][:60]
    enc = CATEEncoder("nb201", epochs=1, d_model=16, n_heads=2, d_ff=32, n_layers=1,
                      n_cross_layers=1, batch_size=32, warmup_steps=5, progress=False,
                      use_cache=False, random_state=0).fit(unlabeled=archs)
    graphs = enc.to_graph_data(archs)
    bb = graphs[0].backbone.eval()
    batch = Batch.from_data_list([Data(x=g.x, edge_index=g.edge_index) for g in graphs])
    with torch.no_grad():
        codes = bb(batch.x, batch.edge_index, batch.batch, len(archs)).double().numpy()
    assert np.allclose(codes, enc.transform(archs), atol=1e-5)


# -- pretraining a GIN on unlabelled targets -------------------------------------------------------
def _small_pretrain(graphs, targets):
    return pretrain_gin(graphs, targets, hidden_dim=16, n_layers=2, epochs=40, batch_size=32,
                        progress=False)


def _embedding(backbone, graphs) -> np.ndarray:
    x, edges, batch, _, n = _Packed(list(graphs), None, torch.device("cpu")).subset(
        torch.arange(len(graphs)))
    with torch.no_grad():
        return backbone.eval()(x, edges, batch, n).numpy()


def test_pretrain_gin_learns_its_targets_deterministically(nb201):
    from sklearn.linear_model import RidgeCV

    _, graphs, _ = nb201
    # unlabelled targets: the number of nodes of each op (known without training)
    counts = np.stack([g.x.sum(0).numpy() for g in graphs])[:, 2:].astype(float)
    targets = np.column_stack([counts, np.ones(len(graphs))])  # a constant column is dropped
    targets[::7, 1] = np.nan  # missing entries are left out of the loss
    before = torch.random.get_rng_state()
    backbone = _small_pretrain(graphs, targets)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert isinstance(backbone, GINBackbone) and not backbone.training
    assert (backbone.in_dim, backbone.out_dim) == (6, 32)
    again = _small_pretrain(graphs, targets)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in backbone.state_dict().items())

    def held_out_r2(module):  # linear read-out of the counts, fitted on half of the graphs
        Z = _embedding(module, graphs)
        return RidgeCV().fit(Z[:80], counts[:80]).score(Z[80:], counts[80:])

    with torch_seed(0):
        untrained = GINBackbone(6, 16, 2, "add", True)
    assert held_out_r2(backbone) > 0.95
    assert held_out_r2(backbone) > held_out_r2(untrained) + 0.05


def test_pretrain_gin_errors(nb201):
    _, graphs, _ = nb201
    with pytest.raises(ValueError, match=r"targets must have shape \(160, k\)"):
        pretrain_gin(graphs, np.zeros(160))
    with pytest.raises(ValueError, match="no target column has two distinct finite values"):
        pretrain_gin(graphs, np.column_stack([np.ones(160), np.full(160, np.nan)]))
    with pytest.raises(ValueError, match="targets must be numeric"):
        pretrain_gin(graphs, np.full((160, 1), "a"))
    with pytest.raises(ValueError, match="non-empty sequence of torch_geometric Data"):
        pretrain_gin(np.zeros((160, 3)), np.zeros((160, 1)))
    with pytest.raises(ValueError, match="pool must be one of"):
        pretrain_gin(graphs, np.arange(160.0)[:, None], pool="max")
    heavy = np.column_stack([np.arange(160.0), np.logspace(0, 61, 160)])
    with pytest.raises(ValueError, match=r"target columns \[1\] have values beyond 1e15.*"
                                         "normal_scores"):
        pretrain_gin(graphs, heavy)


def test_normal_scores_keep_order_and_nan():
    x = np.array([[3.0, 1e61], [1.0, np.nan], [2.0, 1e3], [2.0, np.inf]])
    z = normal_scores(x)
    assert z.shape == (4, 2) and np.isnan(z[1, 1]) and np.isnan(z[3, 1])
    assert z[1, 0] < z[2, 0] == z[3, 0] < z[0, 0]  # ties get the same score
    assert np.allclose(z[:, 0].mean(), 0.0) and z[0, 1] > z[2, 1]
    assert normal_scores(np.arange(5.0)).shape == (5, 1)


def test_runner_pretrained_graph_with_gnn_pretrained(toy_bench, tmp_path):
    X, _, groups = build_features(toy_bench, "pretrained_graph", graphs=True,
                                  progress=False)
    backbones = {id(d.backbone) for d in X[:, 0]}
    assert len(backbones) == 1 and isinstance(X[0, 0].backbone, GINBackbone)
    assert groups == {"pretrained_graph": [0]}
    df = run_benchmark("nb201", bench=toy_bench, features=["pretrained_graph+zc"],
                       predictors=["gnn_pretrained"], train_sizes=[32], seeds=1,
                       out=tmp_path, progress=False)
    assert df["kendall_tau"].notna().all() and (df["kendall_tau"] > 0.3).all()


def test_pretrained_graph_reuses_the_feature_sets_graf_all(toy_bench, monkeypatch):
    import nasperf.eval.features as features

    calls = []
    graf_all = features.FEATURE_FAMILIES["graf_all"]

    def counted(bench, **kw):
        calls.append(1)
        return graf_all(bench, **kw)

    monkeypatch.setitem(features.FEATURE_FAMILIES, "graf_all", counted)
    X, names, groups = build_features(toy_bench, "pretrained_graph+graf_all+zc", graphs=True,
                                      progress=False)
    assert len(calls) == 1  # the pretraining targets and the columns: one computation
    assert X.shape[1] == 1 + len(groups["graf_all"]) + len(groups["zc"])
    alone, _, _ = build_features(toy_bench, "pretrained_graph", graphs=True, progress=False)
    assert len(calls) == 2 and alone.shape == (len(toy_bench), 1)


def test_auto_gnn_pretrained_gives_its_gnn_the_carried_backbone_and_the_proxies(toy_bench):
    from nasperf.predictors.select import GNN_PRETRAINED_CANDIDATES, Candidate, CVSelectPredictor

    auto = get_predictor("auto_gnn_pretrained")
    assert auto.accepts_graphs and auto.candidates == "gnn_pretrained"
    assert GNN_PRETRAINED_CANDIDATES[-1] == Candidate("gnn_pretrained", "gnn_pretrained",
                                                      columns=("zc",))
    X, names, groups = build_features(toy_bench, "pretrained_graph+graf+zc", graphs=True,
                                      progress=False)
    frame = pd.DataFrame(X, columns=names).infer_objects()
    only = CVSelectPredictor(  # one candidate: chosen, so its fitted model can be looked at
        candidates=[Candidate("gnn_pretrained", "gnn_pretrained",
                              {"max_epochs": 20, "n_ensemble": 1}, columns=("zc",))],
        blends=(), cv=3, cv_repeats=1, random_state=0)
    pred = only.fit(frame.iloc[:60], toy_bench.y[:60]).predict(frame.iloc[60:])
    assert pred.shape == (len(frame) - 60,) and np.isfinite(pred).all()
    (gnn, cols), = only.best_estimators_
    assert gnn.pretrained_ is not None  # the backbone the graphs carry
    assert gnn.n_global_features_ == len(groups["zc"]) == len(cols)
