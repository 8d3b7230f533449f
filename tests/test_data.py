"""Data directory search, download, and benchmark loading (real files and corrupt ones)."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest

from nasperf.searchspaces import (
    BenchmarkDataError,
    DataNotFoundError,
    find_data_dir,
    load_benchmark,
)
from nasperf.searchspaces import data as data_mod

# -- search order ------------------------------------------------------------------------------


def test_argument_wins_and_missing_dir_names_places(tmp_path, monkeypatch):
    monkeypatch.setenv("NASPERF_DATA", str(tmp_path / "env"))
    assert find_data_dir(tmp_path) == tmp_path
    with pytest.raises(DataNotFoundError) as exc:
        find_data_dir(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(exc.value) and "nasperf data download" in str(exc.value)


def test_env_var_then_cache_never_cwd(tmp_path, monkeypatch):
    env, cwd, cache = tmp_path / "env", tmp_path / "cwd", tmp_path / "cache"
    for d in (env, cwd / "data", cache / "nasperf" / "data"):
        (d / "x").mkdir(parents=True)
        (d / "x" / "f.csv").write_text("a\n1\n")
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("NASPERF_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("NASPERF_DATA", str(env))
    assert find_data_dir(need="x/f.csv") == env
    monkeypatch.delenv("NASPERF_DATA")
    # an unrelated ./data in the working directory is never used
    assert find_data_dir(need="x/f.csv") == cache / "nasperf" / "data"
    monkeypatch.setenv("NASPERF_CACHE", str(tmp_path / "root"))
    with pytest.raises(DataNotFoundError, match="from the user cache"):
        find_data_dir()
    assert data_mod.user_cache_dir() == tmp_path / "root" / "data"


def test_directory_is_used_whole_and_missing_env_dir_is_an_error(tmp_path, monkeypatch):
    env, cache = tmp_path / "env", tmp_path / "cache"
    (env / "x").mkdir(parents=True)
    (cache / "nasperf" / "data" / "y").mkdir(parents=True)
    (cache / "nasperf" / "data" / "y" / "g.csv").write_text("a\n1\n")
    monkeypatch.delenv("NASPERF_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("NASPERF_DATA", str(env))
    # y/g.csv exists in the cache, but the directory in use is $NASPERF_DATA
    with pytest.raises(DataNotFoundError, match=r"y/g.csv is not in .*\(from \$NASPERF_DATA\)"):
        find_data_dir(need="y/g.csv")
    monkeypatch.setenv("NASPERF_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match=r"missing \(from \$NASPERF_DATA\) does not exist"):
        find_data_dir()


# -- download from a local file server -----------------------------------------------------------


def test_download_verifies_checksum_and_is_idempotent(file_server, tmp_path, monkeypatch):
    root, url = file_server
    payload = b'{"0": "(1, 2, 3, 4)"}'
    (root / "a.json").write_bytes(payload)
    entry = data_mod.DataFile("archs/archs_transbench101_macro.json", url + "a.json",
                              hashlib.sha256(payload).hexdigest(), len(payload), "MIT")
    monkeypatch.setattr(data_mod, "MANIFEST", (entry,))
    dest = tmp_path / "dest"
    [path] = data_mod.download(dest, progress=False)
    assert path.read_bytes() == payload
    (root / "a.json").write_bytes(b"changed")  # already present with the right checksum
    assert data_mod.download(dest, progress=False)[0].read_bytes() == payload
    with pytest.raises(BenchmarkDataError, match="checksum mismatch"):
        data_mod.download(dest, progress=False, force=True)
    assert path.read_bytes() == payload and not list(dest.rglob("*.part"))
    with pytest.raises(ValueError, match="unknown data file"):
        data_mod.download(dest, files=["nope.csv"])


def test_manifest_matches_local_files(data_dir):
    for entry in data_mod.MANIFEST:
        if not entry.has_checksum:  # no published checksum recorded (the held-out files)
            continue
        p = data_dir / entry.path
        assert p.stat().st_size == entry.size, entry.path
        assert data_mod.sha256sum(p) == entry.sha256, entry.path


# -- corrupt files -------------------------------------------------------------------------------


def _copy_layout(src: Path, dst: Path, rel: str, content: bytes | None = None) -> None:
    (dst / rel).parent.mkdir(parents=True, exist_ok=True)
    (dst / rel).write_bytes(content if content is not None else (src / rel).read_bytes())


# Files written at manifest paths differ from the published ones: verify=False loads them with
# structural checks only (the published row count of the TNB101 GRAF CSV is 2,128).
TNB_REL = "tnb101-micro-graf/tnb101_micro_valid_nets.csv"


def _tnb_csv(rows: list[str], header: str = "net,val_accs,snip,jacov") -> bytes:
    """A TNB101 GRAF CSV of 2,128 rows: ``rows`` first, then filler rows."""
    used = {r.split('"')[1] for r in rows}
    cells = [f'"{t}"' for t in itertools.product(range(4), repeat=6) if str(t) not in used]
    filler = [f"{c},50,1.0,2.0" for c in cells[:2128 - len(rows)]]
    return ("\n".join([header, *rows, *filler]) + "\n").encode()


def test_truncated_json_is_reported(tmp_path):
    rel = "nas-bench-suite-zero/zc_nasbench201.json"
    _copy_layout(tmp_path, tmp_path, rel, b'{"cifar10": {"(0, 0, 0')
    with pytest.raises(BenchmarkDataError, match="corrupt or truncated JSON at line 1"):
        load_benchmark("nb201", "cifar10", data_dir=tmp_path, source="zc", verify=False)
    # with verification on, the size mismatch is reported first
    with pytest.raises(BenchmarkDataError, match="differs from the published file"):
        load_benchmark("nb201", "cifar10", data_dir=tmp_path, source="zc")


def test_bad_arch_key_in_json_is_reported(tmp_path):
    rel = "nas-bench-suite-zero/zc_nasbench201.json"
    _copy_layout(tmp_path, tmp_path, rel,
                 b'{"cifar10": {"(0, 9, 0, 0, 0, 0)": {"val_accuracy": 1.0}}}')
    with pytest.raises(BenchmarkDataError, match=r"record 1 \(key .*unknown op id 9"):
        load_benchmark("nb201", "cifar10", data_dir=tmp_path, source="zc", verify=False)


def test_csv_missing_column_and_non_numeric(tmp_path):
    _copy_layout(tmp_path, tmp_path, TNB_REL, b'net,acc\n"(1, 1, 1, 1, 1, 1)",3\n')
    with pytest.raises(BenchmarkDataError, match="missing column"):
        load_benchmark("tnb101_micro", "class_scene", data_dir=tmp_path, source="graf",
                       verify=False)
    _copy_layout(tmp_path, tmp_path, TNB_REL, _tnb_csv(['"(1, 1, 1, 1, 1, 1)",3,abc,1']))
    with pytest.raises(BenchmarkDataError, match="non-numeric value 'abc' at line 2"):
        load_benchmark("tnb101_micro", "class_scene", data_dir=tmp_path, source="graf",
                       verify=False)


def test_sentinels_become_nan(tmp_path):
    _copy_layout(tmp_path, tmp_path, TNB_REL,
                 _tnb_csv(['"(1, 1, 1, 1, 1, 1)",3,1.5,-100000000.0',
                           '"(1, 2, 1, 1, 1, 1)",4,2.5,inf']))
    b = load_benchmark("tnb101_micro", "class_scene", data_dir=tmp_path, source="graf",
                       verify=False)
    assert np.isnan(b.proxies["jacov"].iloc[:2]).all() and b.meta["n_sentinels"] == 2
    assert b.meta["sentinels"] == {"jacov": 2}
    assert b.y[:2].tolist() == [3.0, 4.0] and len(b) == 2128


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown nb301 dataset 'cifar100'; known: cifar10"):
        load_benchmark("nb301", "cifar100")
    with pytest.raises(ValueError, match="unknown nb201 dataset"):
        load_benchmark("nb201", "mnist")
    with pytest.raises(ValueError, match="unknown tnb101_micro task"):
        load_benchmark("tnb101_micro", "cifar10")


# -- real files --------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset,source,n", [
    ("cifar10", "graf", 9445), ("ImageNet16-120", "graf", 9445), ("cifar100", "graf", 9445),
    ("cifar10", "zc", 724), ("cifar100", "zc", 725), ("ImageNet16-120", "zc", 724),
    ("cifar10", "full", 15625),
])
def test_nb201_loads(data_dir, dataset, source, n):
    b = load_benchmark("nb201", dataset, data_dir=data_dir, source=source)
    assert len(b.archs) == len(b.y) == len(b.frame) == n
    assert np.isfinite(b.y).all()
    assert b.frame.index.is_unique and b.frame.index[0].startswith("|")
    assert {"test_accuracy", "hw_edgegpu_latency"} <= set(b.frame.columns)
    if source != "full":
        assert {"snip", "synflow", "params"} <= set(b.proxies.columns)
        assert not (b.proxies.abs() >= 1e8).any().any()
    if source == "graf":
        space = b.space
        assert all(space.is_canonical(a) for a in b.archs)


def test_nb201_graf_val_accuracy_matches_zc_json(data_dir):
    g = load_benchmark("nb201", "cifar10", data_dir=data_dir, source="graf").frame
    z = load_benchmark("nb201", "cifar10", data_dir=data_dir, source="zc").frame
    common = g.index.intersection(z.index)
    assert len(common) > 300
    assert np.allclose(g.loc[common, "params"], z.loc[common, "params"])


def test_targets(data_dir):
    b = load_benchmark("nb201", "cifar10", data_dir=data_dir, target="hw_edgegpu_latency")
    assert b.target == "hw_edgegpu_latency" and (b.y > 0).all()
    with pytest.raises(ValueError, match="unknown target"):
        load_benchmark("nb201", "cifar10", data_dir=data_dir, target="nope")


@pytest.mark.parametrize("task", ["class_scene", "class_object", "autoencoder", "normal",
                                  "jigsaw", "room_layout", "segmentsemantic"])
def test_tnb101_micro_tasks(data_dir, task):
    b = load_benchmark("tnb101_micro", task, data_dir=data_dir)
    assert len(b) == 711 and np.isfinite(b.y).all()


def test_nb101_loads(data_dir):
    pytest.importorskip("nasperf.searchspaces.nb101")
    b = load_benchmark("nb101", data_dir=data_dir)
    assert len(b) == 500 and np.isfinite(b.y).all()
