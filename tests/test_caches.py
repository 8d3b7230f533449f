"""Caches are keyed by their content, validated on read and safe against concurrent writers:
the feature cache, the zero-cost proxy cache, ``nasperf proxies --out`` and encoder
checkpoints."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading

import numpy as np
import pytest

from nasperf._io import RecordLog
from nasperf.eval import features as features_module
from nasperf.eval.features import benchmark_fingerprint, build_features


def shuffled(bench, seed=0):
    """The same architectures with the proxy values permuted (and the same targets)."""
    proxies = bench.proxies.copy()
    perm = np.random.default_rng(seed).permutation(len(proxies))
    proxies.iloc[:, :] = bench.proxies.to_numpy()[perm]
    return dataclasses.replace(bench, proxies=proxies)


# -- feature cache --------------------------------------------------------------------------------
def test_feature_cache_is_keyed_by_content(toy_bench, tmp_path):
    X, _, _ = build_features(toy_bench, "zc", cache_dir=tmp_path)
    other = shuffled(toy_bench)
    assert benchmark_fingerprint(other) != benchmark_fingerprint(toy_bench)
    X2, _, _ = build_features(other, "zc", cache_dir=tmp_path)  # not the cached values
    np.testing.assert_array_equal(X2, other.proxies.to_numpy())
    assert not np.array_equal(X, X2, equal_nan=True)
    assert len(list(tmp_path.glob("features_zc_*.npz"))) == 2
    # the fingerprint sees every architecture, not only the first ones
    fewer = dataclasses.replace(toy_bench, archs=toy_bench.archs[:-1] + toy_bench.archs[:1])
    assert benchmark_fingerprint(fewer) != benchmark_fingerprint(toy_bench)
    # targets are not a feature input, but they are part of the benchmark's content
    y2 = dataclasses.replace(toy_bench, y=toy_bench.y[::-1].copy())
    assert benchmark_fingerprint(y2, targets=False) == benchmark_fingerprint(toy_bench,
                                                                             targets=False)
    assert benchmark_fingerprint(y2) != benchmark_fingerprint(toy_bench)


def test_feature_cache_is_not_reused_by_other_feature_code(toy_bench, tmp_path, monkeypatch):
    import nasperf.eval.features as features

    build_features(toy_bench, "onehot", cache_dir=tmp_path)
    calls = []
    onehot = features.FEATURE_FAMILIES["onehot"]
    monkeypatch.setitem(features.FEATURE_FAMILIES, "onehot",
                        lambda bench, **kw: calls.append(1) or onehot(bench, **kw))
    build_features(toy_bench, "onehot", cache_dir=tmp_path)
    assert calls == []  # same code: the cached matrix
    monkeypatch.setattr(features, "source_fingerprint", lambda *modules: "edited")
    build_features(toy_bench, "onehot", cache_dir=tmp_path)
    assert calls == [1] and len(list(tmp_path.glob("features_onehot_*.npz"))) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "wrong_shape"])
def test_corrupt_feature_cache_is_recomputed_with_a_warning(toy_bench, tmp_path, damage,
                                                           caplog):
    X, names, groups = build_features(toy_bench, "onehot", cache_dir=tmp_path)
    (path,) = tmp_path.glob("features_onehot_*.npz")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with np.load(path) as z:
            np.savez(path, X=z["X"][:5], names=z["names"], groups=z["groups"], key=z["key"])
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        X2, names2, groups2 = build_features(toy_bench, "onehot", cache_dir=tmp_path)
    assert "feature cache" in caplog.text and "recomputing" in caplog.text
    assert np.array_equal(X, X2) and names == names2 and groups == groups2
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nasperf"):  # rewritten: now a clean hit
        build_features(toy_bench, "onehot", cache_dir=tmp_path)
    assert "recomputing" not in caplog.text


def test_concurrent_writers_of_one_feature_cache_entry(toy_bench, tmp_path, monkeypatch):
    barrier = threading.Barrier(2, timeout=20)
    real = features_module.FEATURE_FAMILIES["onehot"]

    def together(bench):  # both threads compute, then both write the same entry
        out = real(bench)
        barrier.wait()
        return out

    monkeypatch.setitem(features_module.FEATURE_FAMILIES, "onehot", together)
    results, errors = [], []

    def work():
        try:
            results.append(build_features(toy_bench, "onehot", cache_dir=tmp_path)[0])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 2
    assert np.array_equal(results[0], results[1])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    monkeypatch.setitem(features_module.FEATURE_FAMILIES, "onehot", real)
    assert np.array_equal(build_features(toy_bench, "onehot", cache_dir=tmp_path)[0],
                          results[0])


# -- zero-cost proxy cache and ``nasperf proxies --out`` ------------------------------------
SMALL = {"channels": 4, "cells_per_stage": 1}
ARCHS = ["(0, 2, 3, 2, 3, 1)", "(4, 0, 4, 1, 2, 0)"]


def test_zero_cost_cache_drops_corrupt_lines_and_recomputes(tmp_path, caplog, monkeypatch):
    import nasperf.zerocost.encoder as encoder_module
    from nasperf.zerocost import ZeroCostEncoder
    from nasperf.zerocost.encoder import read_cache

    kw = dict(proxies=["params"], precomputed=False, model_kwargs=SMALL, batch_size=4,
              cache_dir=tmp_path)
    X = ZeroCostEncoder("nb201", **kw).fit_transform(ARCHS)
    (path,) = tmp_path.glob("*.log")
    lines = path.read_text().splitlines(keepends=True)
    # a line whose payload changed (checksum mismatch) and a torn last line
    bad = lines[1].replace('"params":', '"params":1')
    path.write_text(lines[0] + bad + lines[1][:20])
    calls = []
    real = encoder_module.compute_proxies
    monkeypatch.setattr(encoder_module, "compute_proxies",
                        lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        X2 = ZeroCostEncoder("nb201", **kw).fit_transform(ARCHS)
    assert "torn or corrupt" in caplog.text
    assert len(calls) == 1 and np.array_equal(X, X2)  # only the damaged arch is recomputed
    assert len(RecordLog(path).read()) == 2 and len(read_cache(path)) == 2
    # a record of the wrong shape is dropped with a warning, never a KeyError
    RecordLog(path).append({"arch": 3, "scores": "x"})
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        assert len(read_cache(path)) == 2
    assert "without an architecture" in caplog.text


def test_proxies_out_is_torn_line_safe(tmp_path, capsys, caplog):
    from nasperf.eval.cli import main

    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(ARCHS) + "\n")
    out = tmp_path / "scores.jsonl"
    argv = ["proxies", "--space", "nb201", "--archs-file", str(archs), "--out", str(out),
            "--model-kwargs", json.dumps(SMALL), "--proxies", "params", "--batch-size", "4",
            "--no-progress"]
    assert main(argv) == 0
    first = out.read_text().splitlines()
    out.write_text(first[0] + "\n" + first[1][:15])  # killed while writing the second line
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        assert main(argv) == 0
    assert "torn or corrupt" in caplog.text and "resuming: 1 of 2" in capsys.readouterr().err
    lines = [json.loads(x) for x in out.read_text().splitlines()]  # every line is JSON again
    assert [r["arch"] for r in lines] == [json.loads(x)["arch"] for x in first]
    assert lines[1]["scores"] == json.loads(first[1])["scores"]


# -- encoder checkpoints --------------------------------------------------------------------------
def test_corrupt_checkpoint_is_pretrained_again(tmp_path, caplog, one_torch_thread):
    import torch

    from nasperf.encoders.arch2vec import Arch2VecEncoder
    from nasperf.searchspaces import get_space

    space = get_space("nb201")
    unlabeled = list(dict.fromkeys(space.sample(80, seed=0)))
    kw = dict(latent_dim=4, hidden_dim=16, n_layers=2, batch_size=16, n_prior_samples=50,
              progress=False, use_cache=True, cache_dir=str(tmp_path), epochs=1)
    enc = Arch2VecEncoder("nb201", **kw).fit(unlabeled=unlabeled)
    path = enc.checkpoint_path_
    X = enc.transform(unlabeled[:5])
    path.write_bytes(path.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="nasperf"):
        again = Arch2VecEncoder("nb201", **kw).fit(unlabeled=unlabeled)
    assert "unreadable" in caplog.text and "pretraining again" in caplog.text
    assert np.allclose(again.transform(unlabeled[:5]), X)  # same seed: same model
    assert torch.load(path, weights_only=True)["encoder"] == "Arch2VecEncoder"
    assert [p for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
