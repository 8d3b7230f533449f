"""Benchmark files and architecture inputs never load silently wrong.

Data files: checksums of manifest files (cached), structural checks of other files with
1-based file lines, BOM/CRLF, downloads (offline, automatic, turned off), the embedded NB201
table, and ``nasperf data where``. Inputs: every arch dataclass validates on construction and
``sample`` / ``mutate`` / ``to_model`` check their arguments alike in every space. No test
uses the network: ``urllib.request.urlopen`` is replaced where a download could happen.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import logging
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from nasperf.searchspaces import (
    BenchmarkDataError,
    DataNotFoundError,
    InvalidArchitectureError,
    get_space,
    load_benchmark,
)
from nasperf.searchspaces import data as data_mod
from nasperf.searchspaces.benchmarks import read_csv
from nasperf.searchspaces.cell6 import NB201Arch, TNB101MicroArch
from nasperf.searchspaces.nb101 import NB101Arch
from nasperf.searchspaces.nb301 import NB301Arch
from nasperf.searchspaces.tnb101_macro import TNB101MacroArch

TNB_REL = "tnb101-micro-graf/tnb101_micro_valid_nets.csv"
N_TNB = 2128


def _tnb_bytes() -> bytes:
    """A TNB101 GRAF CSV with the published row count: distinct cells, a target, 2 proxies."""
    cells = list(itertools.product(range(4), repeat=6))[:N_TNB]
    lines = ["net,val_accs,snip,jacov"]
    lines += [f'"{c}",{40 + (i % 997) / 100:.2f},{i / 7:.4f},{(i * 13) % 101}.5'
              for i, c in enumerate(cells)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A data directory whose TNB101 GRAF CSV is 'the published file': the manifest entry
    for that path is replaced by one with this file's checksum and size."""
    payload = _tnb_bytes()
    root = tmp_path / "data"
    (root / TNB_REL).parent.mkdir(parents=True)
    (root / TNB_REL).write_bytes(payload)
    entry = data_mod.DataFile(TNB_REL, "https://example.invalid/" + TNB_REL,
                              hashlib.sha256(payload).hexdigest(), len(payload), "MIT")
    monkeypatch.setattr(data_mod, "MANIFEST", tuple(
        entry if f.path == TNB_REL else f for f in data_mod.MANIFEST))
    monkeypatch.setenv("NASPERF_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NASPERF_VERIFY", raising=False)
    return root, payload


def _load(root: Path, **kw):
    return load_benchmark("tnb101_micro", "class_scene", data_dir=root, source="graf", **kw)


def _write(root: Path, payload: bytes) -> None:
    (root / TNB_REL).write_bytes(payload)


# -- verification of manifest files ------------------------------------------------------------
def test_published_file_loads_and_verification_is_cached(published, monkeypatch):
    root, _ = published
    b = _load(root)
    assert len(b) == N_TNB and np.isfinite(b.y).all()
    record = json.loads((data_mod.cache_root() / data_mod.VERIFIED_FILE).read_text())
    assert str((root / TNB_REL).resolve()) in record

    def no_hash(path):
        raise AssertionError("hashed again although the file is unchanged")

    monkeypatch.setattr(data_mod, "sha256sum", no_hash)
    assert len(_load(root)) == N_TNB


@pytest.mark.parametrize("cut", ["half", "last5", "line"])
def test_truncated_file_is_an_error(published, cut):
    root, payload = published
    if cut == "half":
        short = payload[: len(payload) // 2]
    elif cut == "last5":
        short = payload[:-5]
    else:  # at a line boundary: only the row count can tell
        short = payload[: payload.rindex(b"\n", 0, len(payload) // 2) + 1]
    _write(root, short)
    with pytest.raises(BenchmarkDataError) as exc:
        _load(root)
    msg = str(exc.value)
    assert TNB_REL in msg and "differs from the published file" in msg
    assert "truncated or modified" in msg and "nasperf data download --force" in msg
    # without the checksum, the structure still gives it away
    expect = {"half": "line break", "last5": "line break", "line": "looks truncated"}[cut]
    with pytest.raises(BenchmarkDataError, match=expect):
        _load(root, verify=False)


def test_same_size_different_content_fails_the_checksum(published, monkeypatch):
    root, payload = published
    _write(root, payload.replace(b"40.00", b"41.00", 1))
    with pytest.raises(BenchmarkDataError, match=r"SHA-256 .* instead of the published"):
        _load(root)
    # an edited copy loads on purpose, by argument or environment variable
    assert _load(root, verify=False).y[0] == 41.0
    monkeypatch.setenv("NASPERF_VERIFY", "0")
    assert _load(root).y[0] == 41.0


def test_modified_file_is_checked_again(published):
    root, payload = published
    _load(root)  # verified and recorded
    _write(root, payload[:-5])  # new size and mtime: the record no longer applies
    with pytest.raises(BenchmarkDataError, match="differs from the published file"):
        _load(root)


# -- structural checks (verify=False, or files outside the manifest) ---------------------------
def _lines(payload: bytes) -> list[bytes]:
    return payload.split(b"\n")


def test_duplicate_rows_name_the_key_and_both_lines(published):
    root, payload = published
    lines = _lines(payload)
    lines[5] = lines[2]  # file line 6 repeats file line 3
    _write(root, b"\n".join(lines))
    with pytest.raises(BenchmarkDataError, match=r"duplicate net value .* at lines 3 and 6"):
        _load(root, verify=False)


def test_same_architecture_spelled_twice_is_a_duplicate(published):
    root, payload = published
    lines = _lines(payload)
    key = lines[2].split(b'"')[1]
    lines[5] = b'"' + key.replace(b" ", b"") + b'"' + lines[5].split(b'"')[2]
    _write(root, b"\n".join(lines))
    with pytest.raises(BenchmarkDataError, match=r"duplicate architecture .* lines 3 and 6"):
        _load(root, verify=False)


def test_duplicate_keys_in_a_secondary_csv(tmp_path):
    path = tmp_path / "hw.csv"
    path.write_text('net,lat\n"(0, 0, 0, 0, 0, 0)",1\n"(1, 0, 0, 0, 0, 0)",2\n'
                    '"(0, 0, 0, 0, 0, 0)",3\n')
    with pytest.raises(BenchmarkDataError, match=r"hw.csv: duplicate net value .* 2 and 4"):
        read_csv(path, ("net",), key="net")


@pytest.mark.parametrize("value,match", [
    (b"inf", r"target column 'val_accs' has the non-finite value inf at line 4"),
    (b"-inf", r"non-finite value -inf at line 4"),
    (b"nan", r"non-finite value nan at line 4"),
    (b"", r"column 'val_accs' is empty at line 4"),
    (b"8x", r"column 'val_accs' has non-numeric value '8x' at line 4"),
])
def test_bad_target_values_name_the_line(published, value, match):
    root, payload = published
    lines = _lines(payload)
    net, _, rest = lines[3].rpartition(b'",')[0], None, lines[3].rpartition(b'",')[2]
    lines[3] = net + b'",' + value + b"," + rest.split(b",", 1)[1]
    _write(root, b"\n".join(lines))
    with pytest.raises(BenchmarkDataError, match=match):
        _load(root, verify=False)


def test_infinite_proxy_is_a_counted_failure(published):
    root, payload = published
    lines = _lines(payload)
    lines[3] = lines[3].rsplit(b",", 1)[0] + b",inf"
    _write(root, b"\n".join(lines))
    b = _load(root, verify=False)
    assert np.isnan(b.proxies["jacov"].iloc[2]) and b.meta["sentinels"] == {"jacov": 1}


def test_missing_column_and_ragged_row(published):
    root, payload = published
    _write(root, payload.replace(b"net,val_accs,", b"net,accuracy,", 1))
    with pytest.raises(BenchmarkDataError, match=r"missing column\(s\) \['val_accs'\]"):
        _load(root, verify=False)
    lines = _lines(payload)
    lines[7] = lines[7].rsplit(b",", 1)[0]  # a field short
    _write(root, b"\n".join(lines))
    with pytest.raises(BenchmarkDataError, match="'jacov' is empty at line 8"):
        _load(root, verify=False)
    lines = _lines(payload)
    lines[7] += b",1"  # a field too many
    _write(root, b"\n".join(lines))
    with pytest.raises(BenchmarkDataError, match="corrupt or truncated CSV .*line 8"):
        _load(root, verify=False)


@pytest.mark.parametrize("variant", ["bom", "crlf", "bom+crlf"])
def test_bom_and_crlf_load_the_same_values(published, variant):
    root, payload = published
    expected = _load(root)
    edited = payload.replace(b"\n", b"\r\n") if "crlf" in variant else payload
    if "bom" in variant:
        edited = b"\xef\xbb\xbf" + edited
    _write(root, edited)
    got = _load(root, verify=False)
    assert got.frame.index.equals(expected.frame.index)
    np.testing.assert_array_equal(got.y, expected.y)
    np.testing.assert_array_equal(got.proxies.to_numpy(), expected.proxies.to_numpy())


def test_json_bom_duplicate_key_and_infinite_target(tmp_path):
    path = tmp_path / "nas-bench-suite-zero" / "zc_transbench101_micro.json"
    path.parent.mkdir(parents=True)
    a, b = '"(1, 1, 1, 1, 1, 1)"', '"(1, 2, 1, 1, 1, 1)"'

    def rec(y) -> str:
        return '{"val_accuracy": ' + str(y) + ', "snip": {"score": 1.0, "time": 0}}'

    def load():
        return load_benchmark("tnb101_micro", "class_scene", data_dir=tmp_path, source="zc",
                              verify=False)

    text = '{"class_scene": {' + a + ": " + rec(80) + ",\r\n" + b + ": " + rec(81) + "}}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load().y.tolist() == [80.0, 81.0]
    path.write_text('{"class_scene": {' + a + ": " + rec(80) + ", " + a + ": " + rec(81) + "}}")
    with pytest.raises(BenchmarkDataError, match="duplicate key"):
        load()
    path.write_text('{"class_scene": {' + a + ": " + rec("Infinity") + "}}")
    with pytest.raises(BenchmarkDataError, match=r"record 1 .* val_accuracy inf"):
        load()


def test_set_but_missing_env_dir_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NASPERF_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match=r"missing \(from \$NASPERF_DATA\) does not"):
        load_benchmark("nb201", "cifar10")


# -- downloads --------------------------------------------------------------------------------
class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """No data directory configured: the user cache (empty) is the directory in use."""
    monkeypatch.delenv("NASPERF_DATA", raising=False)
    monkeypatch.setenv("NASPERF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NASPERF_NO_DOWNLOAD", "0")
    return tmp_path / "cache" / "data"


def test_offline_download_is_one_clear_error_and_leaves_nothing(user_cache, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataNotFoundError) as exc:
        data_mod.download(files=["archs/archs_transbench101_macro.json"], progress=False)
    msg = str(exc.value)
    assert "needs internet access" in msg and "archs/archs_transbench101_macro.json" in msg
    assert "https://" in msg and "nothing partial" in msg and "\n" not in msg
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    assert not user_cache.exists()  # no empty folder that looks like a data directory


def test_interrupted_download_removes_the_part_file(user_cache, monkeypatch):
    class Broken(_Response):
        def read(self, n=-1):
            if self.tell():
                raise TimeoutError("timed out")
            return super().read(10)

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Broken(b"x" * 99))
    with pytest.raises(DataNotFoundError, match="timed out"):
        data_mod.download(files=["archs/archs_transbench101_macro.json"], progress=False)
    assert not list(user_cache.parent.rglob("*.part"))


def test_missing_file_downloads_on_first_use_into_the_user_cache(published, user_cache,
                                                                  monkeypatch, caplog):
    _, payload = published
    calls = []

    def serve(url, timeout=None):
        calls.append(url)
        return _Response(payload)

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    with caplog.at_level(logging.WARNING, "nasperf"):
        b = load_benchmark("tnb101_micro", "class_scene", source="graf")
    assert len(b) == N_TNB and len(calls) == 1 and (user_cache / TNB_REL).is_file()
    assert any("downloading" in r.getMessage() and "NASPERF_NO_DOWNLOAD" in r.getMessage()
               for r in caplog.records)


def test_automatic_download_can_be_turned_off_and_never_applies_to_a_given_dir(
        user_cache, tmp_path, monkeypatch):
    def no_network(url, timeout=None):
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("NASPERF_NO_DOWNLOAD", "1")
    with pytest.raises(DataNotFoundError, match="nasperf data download"):
        load_benchmark("tnb101_micro", "class_scene", source="graf")
    monkeypatch.setenv("NASPERF_NO_DOWNLOAD", "0")
    with pytest.raises(DataNotFoundError, match="from the data_dir argument"):
        load_benchmark("tnb101_micro", "class_scene", source="graf", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError):
        data_mod.data_file(TNB_REL, download=False)


# -- the embedded NB201 CIFAR-10 table ---------------------------------------------------------
def test_embedded_table_is_used_without_data(user_cache, monkeypatch, caplog):
    def no_network(url, timeout=None):
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert data_mod.uses_embedded()
    with caplog.at_level(logging.WARNING, "nasperf"):
        b = load_benchmark("nb201", "cifar10")
    assert len(b) == 9445 and b.meta["data"] == "embedded" and np.isfinite(b.y).all()
    assert b.proxies.shape == (9445, 13) and b.meta["n_sentinels"] == 4
    assert all(b.space.is_canonical(a) for a in b.archs[:500])
    [line] = [r.getMessage() for r in caplog.records if "embedded" in r.getMessage()]
    assert "9,445 cells" in line and "nasperf data download" in line
    assert not data_mod.uses_embedded(user_cache)  # an explicit directory is used as given


def test_embedded_table_equals_the_shared_files(data_dir, user_cache):
    emb = load_benchmark("nb201", "cifar10")
    ref = load_benchmark("nb201", "cifar10", data_dir=data_dir)
    assert emb.meta["data"] == "embedded" and "data" not in ref.meta
    assert emb.frame.index.equals(ref.frame.index)
    assert list(emb.proxies.columns) == list(ref.proxies.columns)  # same feature order
    np.testing.assert_array_equal(emb.y, ref.y)  # the target exactly, the proxies in float32
    got = emb.proxies.to_numpy()
    want = ref.proxies[list(emb.proxies.columns)].to_numpy().astype(np.float32)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=0)
    assert emb.meta["sentinels"] == ref.meta["sentinels"]


def test_embedded_table_is_small():
    path = data_mod.embedded_table_path()
    assert path.is_file() and path.stat().st_size < 1_000_000


# -- nasperf data where / download --------------------------------------------------------------
def _where(data_dir=None, no_verify=False) -> None:
    from nasperf.eval.cli.data import run

    assert run(argparse.Namespace(data_cmd="where", data_dir=data_dir,
                                  no_verify=no_verify)) == 0


def test_where_without_any_data(user_cache, capsys):
    _where()
    out = capsys.readouterr().out
    assert f"{user_cache} (from the user cache)  [does not exist yet]" in out
    n = len(data_mod.MANIFEST)
    assert f"0 of {n} files present" in out and "embedded NB201 CIFAR-10 table" in out
    assert "downloaded into this directory on first use" in out


def test_where_with_an_empty_or_partial_or_missing_dir(published, tmp_path, monkeypatch,
                                                       capsys):
    root, payload = published
    _where(root)
    out = capsys.readouterr().out
    n = len(data_mod.MANIFEST)
    assert f"[x] {TNB_REL} (verified)" in out and f"1 of {n} files present, 1 verified" in out
    assert "not downloaded automatically" in out and "embedded" not in out
    _write(root, payload[:-5])
    _where(root)
    out = capsys.readouterr().out
    assert f"[!] {TNB_REL} (differs: " in out and "1 differing" in out
    (tmp_path / "empty").mkdir()
    _where(tmp_path / "empty")
    assert f"0 of {n} files present" in capsys.readouterr().out
    monkeypatch.setenv("NASPERF_DATA", str(tmp_path / "nope"))
    with pytest.raises(DataNotFoundError, match=r"\(from \$NASPERF_DATA\) does not exist.*"
                       r"every load would fail: fix or unset \$NASPERF_DATA"):
        _where()


def test_cli_download_offline_is_one_line(user_cache, monkeypatch):
    from nasperf.eval.cli.data import run

    def offline(url, timeout=None):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    args = argparse.Namespace(data_cmd="download", dest=None, files=[TNB_REL], force=False)
    with pytest.raises(OSError) as exc:
        run(args)
    assert "needs internet access" in str(exc.value) and "\n" not in str(exc.value)


# -- architecture objects validate on construction -----------------------------------------------
NB101_OK = (((0, 1, 0, 0, 0, 0, 0), (0, 0, 1, 0, 0, 0, 0), (0, 0, 0, 1, 0, 0, 0),
             (0, 0, 0, 0, 1, 0, 0), (0, 0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 0, 1),
             (0, 0, 0, 0, 0, 0, 0)),
            ("input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu",
             "conv3x3-bn-relu", "output"))
NB301_CELL = ((0, "sep_conv_3x3"), (1, "skip_connect"), (0, "max_pool_3x3"),
              (2, "dil_conv_5x5"), (1, "avg_pool_3x3"), (3, "sep_conv_5x5"),
              (0, "dil_conv_3x3"), (4, "sep_conv_3x3"))


@pytest.mark.parametrize("build,match", [
    (lambda: NB201Arch(("foo",) * 6), r"NB201Arch: edge \(0, 1\) \(ops\[0\]\) is 'foo'"),
    (lambda: NB201Arch(("none",) * 5), "expected 6 ops, got 5"),
    (lambda: NB201Arch("skip_connect"), "ops must be a tuple"),
    (lambda: NB201Arch(("none",) * 5 + (3,)), r"ops\[5\]\) is 3"),
    (lambda: TNB101MicroArch(("avg_pool_3x3",) * 6), "TNB101MicroArch: edge .* 'avg_pool_3x3'"),
    (lambda: NB101Arch(tuple(r[:6] for r in NB101_OK[0][:6]), NB101_OK[1]),
     "7x7 matrix, got 6 rows"),
    (lambda: NB101Arch(((1,) + NB101_OK[0][0][1:],) + NB101_OK[0][1:], NB101_OK[1]),
     r"matrix entry \(0, 0\) is 1 .*strictly upper triangular"),
    (lambda: NB101Arch(((0, 2, 0, 0, 0, 0, 0),) + NB101_OK[0][1:], NB101_OK[1]),
     r"matrix entry \(0, 1\) is 2"),
    (lambda: NB101Arch(NB101_OK[0], ("output",) + NB101_OK[1][1:]), "op 0 must be 'input'"),
    (lambda: NB101Arch(NB101_OK[0], NB101_OK[1][:3] + ("conv5x5",) + NB101_OK[1][4:]),
     "op 3: unknown op 'conv5x5'"),
    (lambda: NB101Arch(((0,) * 7,) * 7, NB101_OK[1]), "output is not reachable"),
    (lambda: NB301Arch(NB301_CELL[:7], NB301_CELL), "normal cell: expected 8"),
    (lambda: NB301Arch(NB301_CELL, NB301_CELL[:7] + ((5, "sep_conv_3x3"),)),
     r"reduce cell, position 7 \(node 5\): input node 5 out of range"),
    (lambda: NB301Arch(((0, "none"),) + NB301_CELL[1:], NB301_CELL),
     r"position 0 \(node 2\): unknown op 'none'"),
    (lambda: NB301Arch(((1, "sep_conv_3x3"),) + NB301_CELL[1:], NB301_CELL),
     "node 2 reads input node 1 twice"),
    (lambda: TNB101MacroArch((1, 2, 3, 9)), "module 3 has code 9"),
    (lambda: TNB101MacroArch((1, 1, 1, 1)), "0 downsampling modules"),
])
def test_arch_dataclasses_validate(build, match):
    with pytest.raises(InvalidArchitectureError, match=match):
        build()


def test_valid_arch_dataclasses_normalise_lists_to_tuples():
    a = NB101Arch([list(r) for r in NB101_OK[0]], list(NB101_OK[1]))
    assert a == NB101Arch(*NB101_OK) and hash(a) == hash(NB101Arch(*NB101_OK))
    c = NB301Arch([list(p) for p in NB301_CELL], NB301_CELL)
    assert c.normal == NB301_CELL
    assert NB201Arch(["none"] * 6).ops == ("none",) * 6


# -- sample / mutate / to_model arguments, the same in every space ------------------------------
SPACES = ["nb101", "nb201", "nb301", "tnb101_micro", "tnb101_macro"]


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("n,error", [(1.5, TypeError), (2.0, TypeError), (True, TypeError),
                                     ("3", TypeError), (None, TypeError), (-1, ValueError)])
def test_sample_rejects_bad_counts(name, n, error):
    with pytest.raises(error, match="n must be a non-negative integer"):
        get_space(name).sample(n)


@pytest.mark.parametrize("name", SPACES)
def test_sample_accepts_zero_numpy_ints_and_generators(name):
    space = get_space(name)
    assert space.sample(0) == []
    assert space.sample(np.int64(2), seed=np.int32(3)) == space.sample(2, seed=3)
    rng = np.random.default_rng(5)
    assert len(space.sample(2, seed=rng)) == 2


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("seed,error", [(1.5, TypeError), (True, TypeError), ("0", TypeError),
                                        (-3, ValueError)])
def test_sample_and_mutate_reject_bad_seeds(name, seed, error):
    space = get_space(name)
    with pytest.raises(error, match="seed must be"):
        space.sample(1, seed=seed)
    arch = space.sample(1, seed=0)[0]
    with pytest.raises(error, match="seed must be"):
        space.mutate(arch, seed=seed)


@pytest.mark.parametrize("name", SPACES)
def test_mutate_rejects_foreign_architectures(name):
    other = "nb201" if name != "nb201" else "nb301"
    with pytest.raises(InvalidArchitectureError, match="expected a"):
        get_space(name).mutate(get_space(other).sample(1)[0])


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("num_classes,error", [(0, ValueError), (-2, ValueError),
                                               (2.0, TypeError), (True, TypeError),
                                               ("10", TypeError)])
def test_to_model_rejects_bad_num_classes(name, num_classes, error):
    space = get_space(name)
    with pytest.raises(error, match="num_classes must be a positive integer"):
        space.to_model(space.sample(1)[0], num_classes=num_classes)
