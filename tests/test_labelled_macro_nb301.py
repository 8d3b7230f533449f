"""Labelled NB301 and TNB101-macro benchmarks (NAS-Bench-Suite-Zero ``zc`` files).

The published files are held out, so every test writes small files in their documented
format (``{task: {arch_key: {"idx", "arch", "val_accuracy", proxy: {"score", "time"}}}}``):
NB301 keys are NASLib's compact genotype written as lists of tuples, TNB101-macro keys the
module codes zero-padded to 6, and ``epe_nas`` is the ``-1e8`` sentinel throughout the macro
file. Then the loaders, the data checks, ``nasperf data``, the CLI commands and every feature
family run on them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from nasperf.eval.cli import main
from nasperf.eval.cli._options import default_dataset
from nasperf.eval.features import FEATURE_FAMILIES, build_features
from nasperf.searchspaces import (
    BenchmarkDataError,
    get_space,
    list_benchmarks,
    load_benchmark,
)
from nasperf.searchspaces import data as data_mod
from nasperf.searchspaces.benchmarks import TNB101_TASKS

NB301_REL = "nas-bench-suite-zero/zc_nasbench301.json"
MACRO_REL = "nas-bench-suite-zero/zc_transbench101_macro.json"
PROXIES = ("flops", "params", "synflow", "grasp", "fisher", "grad_norm", "l2_norm", "plain",
           "nwot", "epe_nas", "jacov", "snip")
MACRO_PROXIES = tuple(p for p in PROXIES if p != "synflow")
#: Tasks written to the small macro file, with a typical target (room_layout: a negated loss).
MACRO_TASKS = {"jigsaw": (60.0, 10.0), "room_layout": (-0.9, 0.1), "class_scene": (45.0, 5.0)}
N_NB301, N_MACRO = 50, 45


def nb301_key(arch) -> str:
    """The key form of ``zc_nasbench301.json``: ``"[[(0, 0), (1, 5), ...], [...]]"``."""
    return str([list(cell) for cell in get_space("nb301").to_tuple(arch)])


def macro_key(arch) -> str:
    """The key form of ``zc_transbench101_macro.json``: ``"(1, 2, 4, 2, 0, 0)"``."""
    return str(get_space("tnb101_macro").to_tuple(arch, padded=True))


def record(idx: int, key: str, y: float, proxies, rng, sentinel=()) -> dict:
    rec = {"idx": str(idx), "arch": key}
    for p in proxies:  # positive scores, like most published proxies
        rec[p] = {"score": -1e8 if p in sentinel else float(rng.uniform(0.5, 5.0)),
                  "time": 0.25}
    rec["val_accuracy"] = y
    return rec


def write_nb301(root: Path, n: int = N_NB301, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    archs = list(dict.fromkeys(get_space("nb301").sample(n + 10, seed=seed)))[:n]
    blob = {"cifar10": {}}
    for i, a in enumerate(archs):
        k = nb301_key(a)
        blob["cifar10"][k] = record(i, k, float(rng.normal(91, 1)), PROXIES, rng)
    path = root / NB301_REL
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(blob))
    return blob


def write_macro(root: Path, n: int = N_MACRO, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    space = get_space("tnb101_macro")
    every = space.enumerate()
    blob = {}
    for task, (mean, std) in MACRO_TASKS.items():
        blob[task] = {}
        for i in rng.choice(len(every), n, replace=False):
            k = macro_key(every[i])
            blob[task][k] = record(int(i), k, float(rng.normal(mean, std)), MACRO_PROXIES, rng,
                                   sentinel=("epe_nas",))
    path = root / MACRO_REL
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(blob))
    return blob


@pytest.fixture(scope="module")
def zc_dir(tmp_path_factory) -> tuple[Path, dict, dict]:
    root = tmp_path_factory.mktemp("zc")
    return root, write_nb301(root), write_macro(root)


def _edited(tmp_path: Path, rel: str, blob, text: str | None = None) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else json.dumps(blob))
    return tmp_path


# -- registration -----------------------------------------------------------------------------
def test_both_spaces_are_registered_benchmarks():
    listed = list_benchmarks()
    assert listed["nb301"] == ("cifar10",)
    assert listed["tnb101_macro"] == TNB101_TASKS and len(TNB101_TASKS) == 7
    assert default_dataset("nb301") == "cifar10"
    assert default_dataset("tnb101_macro") == "class_scene"
    for name, rel, noun in (("nb301", NB301_REL, "dataset"), ("tnb101_macro", MACRO_REL, "task")):
        info = get_space(name).benchmark_info
        assert info.sources == ("zc",) and info.noun == noun and info.files == (rel,)
        entry = data_mod.manifest_entry(rel)
        assert entry.url == ("https://raw.githubusercontent.com/automl/NASLib/Develop/naslib/"
                             f"data/{Path(rel).name}")
        assert entry.sha256 is None and entry.size is None and not entry.has_checksum
    assert "room_layout" in get_space("tnb101_macro").benchmark_info.targets
    assert "negated" in get_space("tnb101_macro").benchmark_info.targets["room_layout"]


def test_unknown_dataset_and_source_name_the_choices(zc_dir):
    root = zc_dir[0]
    with pytest.raises(ValueError, match="unknown nb301 dataset 'cifar100'; known: cifar10"):
        load_benchmark("nb301", "cifar100", data_dir=root)
    with pytest.raises(ValueError, match="unknown tnb101_macro task 'cifar10'; known: class_sc"):
        load_benchmark("tnb101_macro", "cifar10", data_dir=root)
    with pytest.raises(ValueError, match="unknown nb301 source 'graf'; known: zc"):
        load_benchmark("nb301", data_dir=root, source="graf")


def test_a_missing_file_names_it_and_the_download_command(tmp_path, capsys):
    from nasperf.searchspaces import DataNotFoundError

    with pytest.raises(DataNotFoundError, match=r"zc_nasbench301.json is not in the benchmark "
                                                r"data directory .*nasperf data download"):
        load_benchmark("nb301", data_dir=tmp_path)
    assert main(["info", "--space", "tnb101_macro", "--data-dir", str(tmp_path)]) == 2
    assert "zc_transbench101_macro.json is not in" in capsys.readouterr().err


# -- loading ------------------------------------------------------------------------------------
def test_nb301_loads_the_documented_format(zc_dir):
    root, blob, _ = zc_dir
    b = load_benchmark("nb301", data_dir=root)
    space = get_space("nb301")
    assert (b.dataset, b.source, b.target, len(b)) == ("cifar10", "zc", "val_accuracy", N_NB301)
    keys = list(blob["cifar10"])
    assert [nb301_key(a) for a in b.archs] == keys
    assert b.y.tolist() == [r["val_accuracy"] for r in blob["cifar10"].values()]
    assert list(b.proxies.columns) == list(PROXIES)
    assert b.proxies["synflow"].tolist() == [r["synflow"]["score"]
                                             for r in blob["cifar10"].values()]
    assert b.frame.index[0] == space.to_string(b.archs[0])
    assert b.frame["tuple"].iloc[0] == str(space.to_tuple(b.archs[0]))
    assert b.meta["n_sentinels"] == 0 and "target_note" not in b.meta


def test_nb301_key_form_is_the_archs_file_genotype():
    # the labelled keys are the compact genotype of archs_nasbench301.json as lists of tuples
    space = get_space("nb301")
    arch = space.sample(1, seed=7)[0]
    as_list = nb301_key(arch)
    assert as_list.startswith("[[(") and as_list.count("(") == 16
    assert space.parse(as_list) == space.parse(str(space.to_tuple(arch))) == arch
    ids = dict(enumerate(("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                          "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")))
    pairs = [[(0, 0), (1, 5), (0, 1), (2, 2), (1, 3), (2, 4), (0, 6), (4, 2)]] * 2
    parsed = space.parse(str(pairs))
    assert parsed.normal == tuple((s, ids[o]) for s, o in pairs[0]) == parsed.reduce


@pytest.mark.parametrize("task", list(MACRO_TASKS))
def test_macro_loads_each_task(zc_dir, task):
    root, _, blob = zc_dir
    b = load_benchmark("tnb101_macro", task, data_dir=root)
    assert (b.dataset, b.source, len(b)) == (task, "zc", N_MACRO)
    assert [macro_key(a) for a in b.archs] == list(blob[task])
    assert b.y.tolist() == [r["val_accuracy"] for r in blob[task].values()]
    assert list(b.proxies.columns) == list(MACRO_PROXIES)  # no synflow in the macro file
    # epe_nas is the -1e8 failure sentinel throughout: NaN, and counted
    assert b.proxies["epe_nas"].isna().all() and b.proxies.drop(columns="epe_nas").notna().all(
        axis=None)
    assert b.meta["sentinels"] == {"epe_nas": N_MACRO} and b.meta["n_sentinels"] == N_MACRO
    assert task in b.meta["target_note"]
    if task == "room_layout":  # a negated loss: negative values, higher is better
        assert (b.y < 0).all() and "negated" in b.meta["target_note"]


def test_macro_unpadded_keys_and_a_task_missing(tmp_path, zc_dir):
    blob = {"jigsaw": {k.replace(", 0", ""): v for k, v in zc_dir[2]["jigsaw"].items()}}
    assert any(len(json.loads(k.replace("(", "[").replace(")", "]"))) < 6 for k in blob["jigsaw"])
    root = _edited(tmp_path, MACRO_REL, blob)
    b = load_benchmark("tnb101_macro", "jigsaw", data_dir=root)
    assert [macro_key(a) for a in b.archs] == list(zc_dir[2]["jigsaw"])
    with pytest.raises(BenchmarkDataError, match=r"zc_transbench101_macro.json: no entry "
                                                 r"'normal' \(found \['jigsaw'\]\)"):
        load_benchmark("tnb101_macro", "normal", data_dir=root)


def test_macro_targets_outside_0_100_run_through_the_benchmark(zc_dir, tmp_path, capsys):
    root = zc_dir[0]
    out = tmp_path / "room"
    assert main(["benchmark", "--space", "tnb101_macro", "--dataset", "room_layout",
                 "--data-dir", str(root), "--features", "graf", "--predictors", "lightgbm",
                 "--train-sizes", "16", "--seeds", "2", "--out", str(out)]) == 0
    import pandas as pd

    res = pd.read_csv(out / "results.csv")
    assert len(res) == 2 and res["kendall_tau"].notna().all()
    assert (res["dataset"] == "room_layout").all()


def test_dedup_merges_nb301_pair_order(tmp_path):
    space = get_space("nb301")
    a = space.sample(1, seed=3)[0]
    swapped = type(a)(tuple(p for k in range(0, 8, 2) for p in a.normal[k:k + 2][::-1]),
                      a.reduce)
    assert swapped != a
    rng = np.random.default_rng(0)
    blob = {"cifar10": {nb301_key(x): record(i, nb301_key(x), 90.0 + i, PROXIES, rng)
                        for i, x in enumerate((a, swapped, *space.sample(3, seed=9)))}}
    b = load_benchmark("nb301", data_dir=_edited(tmp_path, NB301_REL, blob))
    d = b.deduplicate()
    assert len(b) == 5 and len(d) == 4 and d.y[0] == 90.5 and d.meta["n_before_dedup"] == 5


# -- data checks -------------------------------------------------------------------------------
def _nb301_blob(zc_dir) -> dict:
    return json.loads(json.dumps(zc_dir[1]))


def _first(blob) -> tuple[str, dict]:
    key = next(iter(blob["cifar10"]))
    return key, blob["cifar10"][key]


def _corrupt(kind: str, blob: dict) -> tuple[dict | None, str | None]:
    """(blob, None) or (None, raw text) with one defect."""
    key, rec = _first(blob)
    text = json.dumps(blob)
    if kind == "truncated":
        return None, text[: len(text) // 2]
    if kind == "duplicate key":
        k2 = list(blob["cifar10"])[1]
        return None, text.replace(json.dumps(k2), json.dumps(key), 1)
    if kind == "nan target":
        rec["val_accuracy"] = float("nan")
    elif kind == "string target":
        rec["val_accuracy"] = "91.2"
    elif kind == "no target":
        del rec["val_accuracy"]
    elif kind == "bad key":
        blob["cifar10"]["[[(0, 9)]]"] = rec
    elif kind == "same arch twice":
        other = str(get_space("nb301").to_tuple(get_space("nb301").parse(key)))
        blob["cifar10"][other] = dict(rec)
    elif kind == "score missing":
        rec["snip"] = {"time": 1.0}
    elif kind == "text score":
        rec["snip"] = {"score": "high", "time": 1.0}
    elif kind == "list score":
        rec["snip"] = [1.0]
    elif kind == "record not an object":
        blob["cifar10"][key] = [1, 2]
    elif kind == "no task":
        blob = {"cifar100": blob["cifar10"]}
    return blob, None


@pytest.mark.parametrize("kind, words", [
    ("truncated", ["corrupt or truncated JSON at line 1"]),
    ("duplicate key", ["duplicate key", "in one JSON object"]),
    ("nan target", ["record 1", "val_accuracy nan", "finite number"]),
    ("string target", ["record 1", "val_accuracy '91.2'"]),
    ("no target", ["record 1", "has no val_accuracy"]),
    ("bad key", [f"record {N_NB301 + 1}", "[[(0, 9)]]"]),
    ("same arch twice", [f"records 1 and {N_NB301 + 1}", "are the same architecture"]),
    ("score missing", ["record 1", "proxy 'snip' is an object without a 'score'"]),
    ("text score", ["column 'snip' has non-numeric value 'high' at line 1"]),
    ("list score", ["record 1", "proxy 'snip' has the value [1.0]; expected a number"]),
    ("record not an object", ["record 1", "is a list, not an object"]),
    ("no task", ["no entry 'cifar10'", "cifar100"]),
])
def test_structural_checks_name_the_file_and_record(zc_dir, tmp_path, kind, words):
    blob, text = _corrupt(kind, _nb301_blob(zc_dir))
    root = _edited(tmp_path, NB301_REL, blob, text)
    with pytest.raises(BenchmarkDataError) as exc:
        load_benchmark("nb301", data_dir=root)
    msg = str(exc.value)
    assert str(root / NB301_REL) in msg
    for w in words:
        assert w in msg, (w, msg)


def test_a_proxy_missing_in_some_records_is_nan_counted_and_warned(zc_dir, tmp_path, caplog):
    blob = _nb301_blob(zc_dir)
    recs = list(blob["cifar10"].values())
    del recs[2]["nwot"]
    recs[4]["nwot"] = {"score": None, "time": 0.1}
    root = _edited(tmp_path, NB301_REL, blob)
    with caplog.at_level(logging.WARNING, logger="nasperf.searchspaces"):
        b = load_benchmark("nb301", data_dir=root)
    assert np.flatnonzero(b.proxies["nwot"].isna().to_numpy()).tolist() == [2, 4]
    assert b.meta["missing_proxies"] == {"nwot": 2} and b.meta["n_sentinels"] == 0
    assert "missing or null" in caplog.text and "record 3" in caplog.text


def test_sentinels_and_infinities_in_nb301_become_nan(zc_dir, tmp_path):
    blob = _nb301_blob(zc_dir)
    recs = list(blob["cifar10"].values())
    recs[0]["grasp"]["score"] = -1e8
    recs[1]["grasp"]["score"] = float("inf")
    b = load_benchmark("nb301", data_dir=_edited(tmp_path, NB301_REL, blob))
    assert b.proxies["grasp"].isna().sum() == 2 and b.meta["sentinels"] == {"grasp": 2}


# -- nasperf data: files without a published checksum ------------------------------------------
def test_describe_and_where_show_no_published_checksum(zc_dir, capsys):
    root = zc_dir[0]
    report = data_mod.describe(root)
    states = {f.entry.path: (f.state, f.detail) for f in report.files}
    assert states[NB301_REL] == states[MACRO_REL] == ("present", data_mod.NO_CHECKSUM)
    assert states["nas-bench-suite-zero/zc_nasbench201.json"] == ("missing", "")
    for argv in (["data", "where", "--data-dir", str(root)],
                 ["data", "where", "--data-dir", str(root), "--no-verify"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        for rel in (NB301_REL, MACRO_REL):
            assert f"[x] {rel} (present (no published checksum), structure checked on load)" in out
        assert f"2 of {len(data_mod.MANIFEST)} files present, 0 verified, 2 without a published " \
               "checksum" in out


def test_checksum_helpers_refuse_an_entry_without_one(zc_dir):
    entry = data_mod.manifest_entry(NB301_REL)
    path = zc_dir[0] / NB301_REL
    assert not data_mod.is_verified(path, entry)
    with pytest.raises(ValueError, match="no published checksum"):
        data_mod.mismatch(path, entry)
    assert data_mod.resolve_file(NB301_REL, zc_dir[0], verify=True) == (path, False)


def test_download_without_checksum_trusts_on_first_use(file_server, tmp_path, monkeypatch,
                                                       caplog):
    served, url = file_server
    payload = json.dumps({"cifar10": {}}).encode()
    (served / "zc.json").write_bytes(payload)
    entry = data_mod.DataFile(NB301_REL, url + "zc.json", None, None, "Apache-2.0")
    monkeypatch.setattr(data_mod, "MANIFEST", (entry,))
    dest = tmp_path / "dest"
    with caplog.at_level(logging.WARNING, logger="nasperf.searchspaces"):
        [path] = data_mod.download(dest, progress=False)
    assert path == dest / NB301_REL and path.read_bytes() == payload
    digest = hashlib.sha256(payload).hexdigest()
    assert f"SHA-256 {digest}" in caplog.text and f"{len(payload)} bytes" in caplog.text
    assert "trust on first use" in caplog.text and not list(dest.rglob("*.part"))
    (served / "zc.json").write_bytes(b'{"changed": {}}')
    assert data_mod.download(dest, progress=False)[0].read_bytes() == payload  # kept
    assert data_mod.download(dest, progress=False, force=True)[0].read_bytes() == \
        b'{"changed": {}}'


def test_first_use_download_of_a_file_without_checksum(file_server, tmp_path, monkeypatch,
                                                       zc_dir, caplog):
    served, url = file_server
    (served / "zc.json").write_bytes((zc_dir[0] / NB301_REL).read_bytes())
    entry = data_mod.DataFile(NB301_REL, url + "zc.json", None, None, "Apache-2.0")
    monkeypatch.setattr(data_mod, "MANIFEST", (entry,))
    monkeypatch.delenv("NASPERF_DATA", raising=False)
    monkeypatch.setenv("NASPERF_CACHE", str(tmp_path / "cache"))
    with caplog.at_level(logging.WARNING, logger="nasperf.searchspaces"):
        path, trusted = data_mod.resolve_file(NB301_REL, download=True)
    assert path == tmp_path / "cache" / "data" / NB301_REL and not trusted
    assert "size unknown" in caplog.text and "SHA-256" in caplog.text
    assert len(load_benchmark("nb301")) == N_NB301


# -- the CLI --------------------------------------------------------------------------------
def _run(*argv: str) -> None:
    assert main(list(argv)) == 0, argv


def test_cli_benchmark_summary_info_on_both_spaces(zc_dir, tmp_path, capsys):
    import pandas as pd

    root = str(zc_dir[0])
    o1, o2 = tmp_path / "o1", tmp_path / "o2"
    common = ["--features", "graf+zc", "--predictors", "lightgbm", "--train-sizes", "16",
              "--seeds", "2", "--data-dir", root]
    _run("benchmark", "--space", "nb301", *common, "--out", str(o1))
    _run("benchmark", "--space", "tnb101_macro", "--dataset", "jigsaw", "--dedup", *common,
         "--out", str(o2))
    for out, space, dataset in ((o1, "nb301", "cifar10"), (o2, "tnb101_macro", "jigsaw")):
        res = pd.read_csv(out / "results.csv")
        assert len(res) == 2 and set(res["space"]) == {space}
        assert set(res["dataset"]) == {dataset} and res["kendall_tau"].notna().all()
        assert set(res["features"]) == {"graf+zc"}
    capsys.readouterr()
    _run("summary", str(o1 / "results.csv"))
    assert "graf+zc" in capsys.readouterr().out
    _run("info", "--space", "nb301", "--data-dir", root)
    out = capsys.readouterr().out
    assert "space='nb301'" in out and f"n={N_NB301}" in out and "synflow" in out
    _run("info", "--space", "tnb101_macro", "--dataset", "room_layout", "--data-dir", root)
    out = capsys.readouterr().out
    assert "target_note" in out and "negated" in out and "epe_nas" in out


def test_cli_shap_and_bias(zc_dir, tmp_path, capsys):
    root = str(zc_dir[0])
    _run("shap", "--space", "nb301", "--data-dir", root, "--features", "graf+zc",
         "--train-size", "30", "--explain-size", "8", "--out", str(tmp_path), "--no-progress")
    assert sorted(p.name for p in tmp_path.glob("shap_*.png")) == [
        "shap_bar_nb301_cifar10_graf+zc_lightgbm.png",
        "shap_summary_nb301_cifar10_graf+zc_lightgbm.png"]
    capsys.readouterr()
    # macro: the module count varies (cell_size), and params comes from the proxy column
    _run("bias", "--space", "tnb101_macro", "--dataset", "room_layout", "--data-dir", root,
         "--proxy", "nwot", "--quantity", "cell_size,params")
    out = capsys.readouterr().out
    assert f"# tnb101_macro room_layout: {N_MACRO} architectures" in out
    assert "minimize" in out and "performance" in out
    _run("bias", "--space", "nb301", "--data-dir", root, "--proxy", "snip",
         "--quantity", "n_skip,conv_pool")
    assert f"# nb301 cifar10: {N_NB301} architectures" in capsys.readouterr().out


# -- feature families ---------------------------------------------------------------------------
HANDBUILT = ("onehot", "path", "graf", "graf_all", "zc", "flops_params")


@pytest.fixture(scope="module")
def benches(zc_dir):
    root = zc_dir[0]
    return {"nb301": load_benchmark("nb301", data_dir=root),
            "tnb101_macro": load_benchmark("tnb101_macro", "jigsaw", data_dir=root)}


@pytest.mark.parametrize("space", ["nb301", "tnb101_macro"])
@pytest.mark.parametrize("family", HANDBUILT)
def test_every_handbuilt_family_on_both_spaces(benches, space, family):
    b = benches[space]
    X, names, groups = build_features(b, family, progress=False)
    assert X.shape == (len(b), len(names)) and X.shape[1] > 0
    assert groups[family] == list(range(X.shape[1]))
    if family == "zc":
        nan_cols = {n for n, col in zip(names, X.T, strict=True) if np.isnan(col).any()}
        assert nan_cols == ({"zc:epe_nas"} if space == "tnb101_macro" else set())
    else:
        assert np.isfinite(X).all()
    if family == "flops_params":
        assert names == ["flops_params:flops", "flops_params:params"]
    elif family != "zc":  # architectures differ, so do their encodings
        assert len({row.tobytes() for row in X}) > 1


@pytest.mark.parametrize("space", ["nb301", "tnb101_macro"])
@pytest.mark.parametrize("family, tiny", [
    ("arch2vec", dict(latent_dim=4, hidden_dim=16, n_layers=2, batch_size=16,
                      n_prior_samples=20, n_unlabeled=64)),
    ("cate", dict(d_model=16, n_heads=2, d_ff=32, n_layers=1, n_cross_layers=1,
                  batch_size=32, warmup_steps=5, n_unlabeled=64)),
])
def test_learned_families_on_both_spaces(benches, zc_dir, monkeypatch, space, family, tiny,
                                         one_torch_thread):
    fn = functools.partial(FEATURE_FAMILIES[family], epochs=1, use_cache=False,
                           data_dir=zc_dir[0], **tiny)
    monkeypatch.setitem(FEATURE_FAMILIES, family, fn)
    b = benches[space]
    X, names, _ = build_features(b, f"graf+{family}", progress=False)
    n_learned = sum(n.startswith(f"{family}:") for n in names)
    assert X.shape == (len(b), len(names)) and n_learned > 0 and np.isfinite(X).all()
