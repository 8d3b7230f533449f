"""A user's own DAG space works everywhere: registry, one-hot, path, GRAF, bias quantities.

Also pins the per-space details of the built-in spaces (op taxonomy, data files) and hashes
of their feature matrices, so that moving those details onto the space objects keeps every
number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from nasperf.encoders import OneHotEncoder, PathEncoder
from nasperf.eval.bias import ARCH_QUANTITIES, compute_quantities, op_kind
from nasperf.graphfeatures import GRAFEncoder
from nasperf.searchspaces import (
    ArchGraph,
    InvalidArchitectureError,
    OpInfo,
    SearchSpace,
    get_space,
    list_benchmarks,
    list_spaces,
    load_archs,
    load_benchmark,
    register_space,
)
from nasperf.searchspaces import registry as registry_module
from nasperf.searchspaces.data import MANIFEST
from nasperf.searchspaces.taxonomy import guess_op_info

BUILTIN = ("nb201", "tnb101_micro", "nb101", "nb301", "tnb101_macro")
N_NODES = 5  # input, three inner nodes, output
CANDIDATE_EDGES = tuple((i, j) for i in range(N_NODES) for j in range(i + 1, N_NODES))


@dataclass(frozen=True)
class DagArch:
    """A 5-node cell: the ops of nodes 1..3 and the edges ``(src, dst)``."""

    node_ops: tuple[str, str, str]
    edges: tuple[tuple[int, int], ...]


class DagSpace(SearchSpace):
    """5-node DAG cells with one op per inner node; strings look like
    ``conv3x3,conv1x1,skip|0-1,1-2,2-3,3-4``."""

    name = "toy_dag"
    ops = ("conv3x3", "conv1x1", "maxpool", "skip")
    arch_type = DagArch

    def _make(self, node_ops: Sequence[str], edges: Sequence[Sequence[int]]) -> DagArch:
        node_ops = tuple(node_ops)
        if len(node_ops) != 3 or any(o not in self.ops for o in node_ops):
            raise InvalidArchitectureError(f"toy_dag: bad node ops {node_ops}")
        edges = tuple(sorted({(int(i), int(j)) for i, j in edges}))
        if any(e not in CANDIDATE_EDGES for e in edges):
            raise InvalidArchitectureError(f"toy_dag: bad edges {edges}")
        arch = DagArch(node_ops, edges)
        if not self.to_graph(arch).is_connected():
            raise InvalidArchitectureError("toy_dag: the output is not reachable")
        return arch

    def _from_string(self, text: str) -> DagArch:
        ops, edges = text.split("|")
        return self._make(ops.split(","), [e.split("-") for e in edges.split(",")])

    def _from_sequence(self, seq: Sequence) -> DagArch:
        return self._make(seq[0], seq[1])

    def to_string(self, arch: DagArch) -> str:
        return ",".join(arch.node_ops) + "|" + ",".join(f"{i}-{j}" for i, j in arch.edges)

    def to_tuple(self, arch: DagArch) -> tuple:
        return (arch.node_ops, arch.edges)

    def to_graphs(self, arch: DagArch) -> dict[str, ArchGraph]:
        ops = ("input", *arch.node_ops, "output")
        return {"cell": ArchGraph.from_edges(N_NODES, arch.edges, ops).prune()}

    def to_model(self, arch: DagArch, num_classes: int = 10, **kwargs: Any):
        raise NotImplementedError("toy_dag has no network")

    def sample(self, n: int, seed: int = 0) -> list[DagArch]:
        rng = np.random.default_rng(seed)
        out: list[DagArch] = []
        while len(out) < n:
            ops = tuple(self.ops[k] for k in rng.integers(0, len(self.ops), 3))
            edges = [e for e in CANDIDATE_EDGES if rng.random() < 0.5]
            try:
                out.append(self._make(ops, edges))
            except InvalidArchitectureError:
                continue
        return out

    def mutate(self, arch: DagArch, seed: int = 0) -> DagArch:
        rng = np.random.default_rng(seed)
        ops = list(arch.node_ops)
        k = int(rng.integers(3))
        ops[k] = next(o for o in self.ops if o != ops[k])
        return self._make(ops, arch.edges)


SPACE = DagSpace()
CHAIN = SPACE.parse("conv3x3,conv1x1,skip|0-1,1-2,2-3,3-4")
# node 1 (maxpool) feeds nodes 2 and 4, node 2 (conv3x3) feeds 4, node 3 is dead
FORK = SPACE.parse("maxpool,conv3x3,conv1x1|0-1,1-2,1-4,2-4,0-3")
ARCHS = [CHAIN, FORK, *SPACE.sample(12, seed=0)]


@pytest.fixture
def fresh_registry(monkeypatch):
    """The space registry, restored after the test."""
    monkeypatch.setattr(registry_module, "SPACES", dict(registry_module.SPACES))
    return registry_module.SPACES


# -- the toy space itself ----------------------------------------------------------------------
def test_toy_space_parses_and_graphs():
    assert SPACE.parse(SPACE.to_string(FORK)) == FORK
    g = SPACE.to_graph(FORK)
    assert g.ops == ("input", "maxpool", "conv3x3", "output")  # dead conv1x1 pruned
    assert all(SPACE.to_graph(a).is_connected() for a in ARCHS)


def test_generic_defaults():
    assert SPACE.onehot_layout() is None
    assert SPACE.path_lengths is None and SPACE.max_nodes is None
    assert SPACE.graf_config().no_path_value is None
    assert SPACE.benchmarks == () and SPACE.data_files == ()
    assert dict(SPACE.op_taxonomy) == {
        "conv3x3": OpInfo("conv", 3), "conv1x1": OpInfo("conv", 1),
        "maxpool": OpInfo("pool"), "skip": OpInfo("skip")}
    with pytest.raises(TypeError):
        SPACE.op_taxonomy["conv3x3"] = OpInfo("pool")  # read-only


def test_op_info_validates():
    with pytest.raises(ValueError, match="unknown op kind"):
        OpInfo("attention")
    with pytest.raises(ValueError, match="kernel_size"):
        OpInfo("conv", 0)


# -- registry --------------------------------------------------------------------------------------
def test_register_space(fresh_registry):
    register_space("Toy_DAG", DagSpace)
    assert list_spaces() == ["nb101", "nb201", "nb301", "tnb101_micro", "tnb101_macro",
                             "toy_dag"]
    assert isinstance(get_space("toy_dag"), DagSpace)
    assert isinstance(get_space("TOY_DAG"), DagSpace)
    with pytest.raises(ValueError, match="already registered"):
        register_space("toy_dag", DagSpace)
    with pytest.raises(ValueError, match="already registered"):
        register_space("nb201", DagSpace)
    register_space("toy_dag", lambda: DagSpace(), overwrite=True)
    assert isinstance(get_space("toy_dag"), DagSpace)
    # a registered name works wherever a space name does
    X = OneHotEncoder("toy_dag").fit_transform(ARCHS)
    assert np.array_equal(X, OneHotEncoder(SPACE).fit_transform(ARCHS))
    assert compute_quantities(ARCHS, "toy_dag", ("n_conv",)).shape == (len(ARCHS), 1)


def test_register_space_rejects_bad_input(fresh_registry):
    with pytest.raises(ValueError, match="non-empty"):
        register_space("", DagSpace)
    with pytest.raises(TypeError, match="callable"):
        register_space("toy", SPACE)
    register_space("broken", lambda: "nb201")
    with pytest.raises(TypeError, match="not a SearchSpace"):
        get_space("broken")
    with pytest.raises(ValueError, match="unknown search space"):
        get_space("nope")


def test_no_benchmark_data_for_a_user_space():
    with pytest.raises(ValueError, match="no labelled benchmark for space 'toy_dag'"):
        load_benchmark(SPACE)
    with pytest.raises(ValueError, match="no architecture list for 'toy_dag'"):
        load_archs(SPACE)


# -- encoders through the generic fallbacks --------------------------------------------------------
def test_onehot_generic_layout():
    enc = OneHotEncoder(SPACE)
    X = enc.fit_transform(ARCHS)
    n = max(SPACE.to_graph(a).n_nodes for a in ARCHS)
    assert n == N_NODES
    assert X.shape == (len(ARCHS), n * (n - 1) // 2 + (n - 2) * len(SPACE.ops))
    row = dict(zip(enc.get_feature_names_out(), X[0]))
    assert [k for k, v in row.items() if v] == [
        "adj(0,1)", "adj(1,2)", "adj(2,3)", "adj(3,4)",
        "node1=conv3x3", "node2=conv1x1", "node3=skip"]
    # FORK's pruned graph has 4 nodes: one padding node (all zeros) before the output
    fork = dict(zip(enc.get_feature_names_out(), X[1]))
    assert [k for k, v in fork.items() if v] == [
        "adj(0,1)", "adj(1,2)", "adj(1,4)", "adj(2,4)", "node1=maxpool", "node2=conv3x3"]
    cat = OneHotEncoder(SPACE, categorical=True).fit_transform(ARCHS)
    assert cat[1, -3:].tolist() == [2, 0, len(SPACE.ops)]  # maxpool, conv3x3, padding


def test_path_encoder_generic_and_with_path_lengths():
    enc = PathEncoder(SPACE, sparse=False)
    X = enc.fit_transform(ARCHS)
    names = list(enc.get_feature_names_out())
    assert X[0, names.index("path[conv3x3>conv1x1>skip]")] == 1 and X[0].sum() == 1
    fork = {n for n, v in zip(names, X[1]) if v}
    assert fork == {"path[maxpool]", "path[maxpool>conv3x3]"}
    with pytest.raises(ValueError, match="known path lengths"):
        PathEncoder(SPACE, vocabulary="full").fit(ARCHS)

    class KnownPaths(DagSpace):
        path_lengths = (1, 3)

    full = PathEncoder(KnownPaths(), sparse=False).fit(ARCHS)
    assert len(full.get_feature_names_out()) == 4 + 4 ** 2 + 4 ** 3


def test_graf_generic_and_with_path_lengths():
    enc = GRAFEncoder(SPACE, max_subset_size=2)
    X = enc.fit_transform(ARCHS)
    assert enc.feature_groups_ == ("op_count", "min_path_len", "max_path_len", "node_degree")
    assert enc.no_path_value_ == 4  # learned: at most 3 op nodes
    row = dict(zip(enc.get_feature_names_out(), X[1]))
    assert row["op_count[maxpool]"] == 1 and row["op_count[conv1x1]"] == 0
    assert row["max_path_len[conv3x3,maxpool]"] == 2
    assert row["min_path_len[conv3x3,maxpool]"] == 1
    assert row["min_path_len[skip]"] == 4  # no path: the "no path" value

    class KnownPaths(DagSpace):
        path_lengths = (1, 3)

    enc2 = GRAFEncoder(KnownPaths(), max_subset_size=2).fit(ARCHS[:1])
    assert enc2.no_path_value_ == 4  # from the space, not from the one fitted graph


# -- bias quantities from the op taxonomy ----------------------------------------------------------
def test_bias_quantities_of_a_user_space():
    q = compute_quantities([CHAIN, FORK], SPACE, [k for k in ARCH_QUANTITIES if k != "params"])
    assert q.loc[0].to_dict() == {
        "cell_size": 3, "conv_pool": 2, "n_conv": 2, "n_pool": 0, "n_skip": 1,
        "cell_size_live": 3, "conv_pool_live": 2, "n_skip_live": 1}
    assert q.loc[1].to_dict() == {
        "cell_size": 2, "conv_pool": 0, "n_conv": 1, "n_pool": 1, "n_skip": 0,
        "cell_size_live": 2, "conv_pool_live": 0, "n_skip_live": 0}


def test_bias_quantities_follow_the_taxonomy_not_the_names():
    class Renamed(DagSpace):
        # the names say nothing: only the taxonomy tells what each op is
        ops = ("a", "b", "c", "d")
        op_taxonomy = {"a": OpInfo("conv", 3), "b": OpInfo("conv", 1), "c": OpInfo("pool"),
                       "d": OpInfo("skip")}

        def to_graphs(self, arch: DagArch) -> dict[str, ArchGraph]:
            rename = dict(zip(DagSpace.ops, self.ops))
            g = DagSpace.to_graphs(self, arch)["cell"]
            return {"cell": ArchGraph(g.adjacency, tuple(rename.get(o, o) for o in g.ops))}

    renamed = Renamed()
    q_names = compute_quantities([CHAIN, FORK], SPACE, ("conv_pool", "n_skip", "cell_size"))
    q_tax = compute_quantities([CHAIN, FORK], renamed, ("conv_pool", "n_skip", "cell_size"))
    assert q_tax.equals(q_names)
    assert op_kind("c", renamed) == "pool" and op_kind("c") == "other"


# -- built-in spaces: details on the space, same numbers -------------------------------------------
@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_taxonomy_agrees_with_the_generic_guess(name):
    # the explicit tables change no bias quantity: same kinds as the names suggest
    space = get_space(name)
    assert set(space.op_taxonomy) == set(space.ops)
    for op in space.ops:
        assert space.op_taxonomy[op].kind == guess_op_info(op).kind, op


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_data_files_are_in_the_manifest(name):
    paths = {f.path for f in MANIFEST}
    space = get_space(name)
    assert space.data_files and set(space.data_files) <= paths
    if space.benchmarks:
        assert list_benchmarks()[name] == space.benchmarks


def test_builtin_spaces_cover_the_manifest():
    covered = {p for name in BUILTIN for p in get_space(name).data_files}
    assert covered == {f.path for f in MANIFEST}


def _digest(X: Any, names: Sequence[str]) -> str:
    m = hashlib.sha256(np.ascontiguousarray(np.asarray(X, dtype=np.float64)).tobytes())
    m.update("|".join(map(str, names)).encode())
    return m.hexdigest()[:16]


#: Hashes of the features of ``space.sample(40, seed=7)``, computed before the per-space
#: details moved onto the space objects.
PINNED = {
    "nb201": {"onehot": "0345ab7ee7f89ac8", "onehot_cat": "927991fdcc135fd1",
              "path": "e5c7b523c54416b0", "graf": "f025c93974df2185", "bias": "d15f29a7d3734ae7"},
    "tnb101_micro": {"onehot": "034f32c4f65451db", "onehot_cat": "8e6ae8d1b82495fb",
                     "path": "7540176ee6e5ac0a", "graf": "eebe20d67fe7152d",
                     "bias": "42a8b87409a2038a"},
    "nb101": {"onehot": "532a2f6351a84a29", "onehot_cat": "3cc1137112462d97",
              "path": "1902430fa5993c49", "graf": "e1147a4ac3d56582", "bias": "38681e7be5185f19"},
    "nb301": {"onehot": "48466ef862b1ea4e", "onehot_cat": "33bd15ffa25c7bb0",
              "path": "836b94992ebc7615", "graf": "8746304522d8ba3a", "bias": "b2f13fc872bb8f68"},
    "tnb101_macro": {"onehot": "cda71e4b1e888b3b", "onehot_cat": "7e1ad832a9a34ae5",
                     "path": "3068661b5e3290dc", "graf": "0edb8f700487e60c",
                     "bias": "b2d1ee020b55214f"},
}


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_features_unchanged(name):
    space = get_space(name)
    archs = space.sample(40, seed=7)
    got = {}
    for label, enc in (("onehot", OneHotEncoder(name)),
                       ("onehot_cat", OneHotEncoder(name, categorical=True)),
                       ("path", PathEncoder(name, sparse=False)), ("graf", GRAFEncoder(name))):
        got[label] = _digest(enc.fit_transform(archs), enc.get_feature_names_out())
    q = compute_quantities(archs, space, ("cell_size", "conv_pool", "n_skip", "cell_size_live",
                                          "conv_pool_live"))
    got["bias"] = _digest(q.to_numpy(), q.columns)
    assert got == PINNED[name]
