"""ZeroCostEncoder: precomputed lookups, computation, disk cache, sklearn contract."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nasperf.zerocost.encoder as encoder_module
from nasperf.searchspaces import get_space
from nasperf.zerocost import ZeroCostEncoder, compute_proxies
from nasperf.zerocost.encoder import read_cache

SMALL = {"channels": 4, "cells_per_stage": 1}
ARCHS = ["(0, 2, 3, 2, 3, 1)", "(4, 0, 4, 1, 2, 0)", "(1, 0, 2, 2, 2, 1)"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def strings(archs):
    space = get_space("nb201")
    return [space.to_string(space.parse(a)) for a in archs]


def test_injected_table_is_used_without_computing(monkeypatch):
    table = pd.DataFrame({"synflow": [1.0, 2.0, np.nan], "snip": [3.0, 4.0, 5.0]},
                         index=strings(ARCHS))
    monkeypatch.setattr(encoder_module, "compute_proxies",
                        lambda *a, **k: pytest.fail("must not compute"))
    enc = ZeroCostEncoder("nb201", proxies=["snip", "synflow"], precomputed=table).fit()
    X = enc.transform(ARCHS)
    assert X.shape == (3, 2)
    assert X[:, 0].tolist() == [3.0, 4.0, 5.0]
    assert X[:2, 1].tolist() == [1.0, 2.0] and math.isnan(X[2, 1])  # the table's NaN is kept
    assert enc.get_feature_names_out().tolist() == ["snip", "synflow"]
    assert enc.get_feature_groups_out() == {"zc": [0, 1]}


def test_missing_archs_and_proxies_are_computed_and_mixing_is_logged(caplog):
    table = pd.DataFrame({"snip": [3.0]}, index=strings(ARCHS[:1]))
    enc = ZeroCostEncoder("nb201", proxies=["snip", "params"], precomputed=table,
                          model_kwargs=SMALL, batch_size=4)
    with caplog.at_level(logging.WARNING, logger="nasperf.zerocost"):
        X = enc.fit_transform(ARCHS[:2])
    assert X[0, 0] == 3.0
    space = get_space("nb201")
    torch.manual_seed(0)
    model = space.to_model(space.parse(ARCHS[1]), **SMALL)
    expected = compute_proxies(model, None, ["snip", "params"], batch_size=4)
    assert X[1].tolist() == pytest.approx([expected["snip"], expected["params"]])
    assert X[0, 1] == pytest.approx(
        sum(p.numel() for p in space.to_model(space.parse(ARCHS[0]), **SMALL).parameters()) / 1e6)
    assert "mixes 1 precomputed" in caplog.text


def test_disk_cache_is_reused_and_resumable(tmp_path, monkeypatch):
    kw = dict(proxies=["synflow", "nwot", "params"], precomputed=False, model_kwargs=SMALL,
              batch_size=4, cache_dir=tmp_path)
    X = ZeroCostEncoder("nb201", **kw).fit_transform(ARCHS[:2])
    files = list(tmp_path.glob("*.log"))
    assert len(files) == 1 and "nb201__digits4" in files[0].name
    cache = read_cache(files[0])
    assert set(cache) == set(strings(ARCHS[:2]))

    calls = []
    real = encoder_module.compute_proxies

    def counting(model, batch, names, **k):
        calls.append(list(names))
        return real(model, batch, names, **k)

    monkeypatch.setattr(encoder_module, "compute_proxies", counting)
    # an interrupted run leaves a truncated line; the next run ignores it and resumes
    with open(files[0], "a") as f:
        f.write('{"arch": "|trunc')
    X2 = ZeroCostEncoder("nb201", **kw).fit_transform(ARCHS)
    assert calls == [["synflow", "nwot", "params"]]  # only the new architecture
    np.testing.assert_allclose(X2[:2], X)
    # a different seed is a different cache file
    other_seed = {**kw, "proxies": ["params"], "random_state": 1}
    ZeroCostEncoder("nb201", **other_seed).fit_transform(ARCHS[:1])
    assert len(list(tmp_path.glob("*.log"))) == 2


def test_user_data_and_nan_round_trip_through_the_cache(tmp_path):
    x = torch.randn(1, 3, 32, 32).repeat(4, 1, 1, 1)  # duplicate inputs: nwot is NaN
    kw = dict(proxies=["nwot", "params"], precomputed=False, model_kwargs=SMALL, data=x,
              cache_dir=tmp_path)
    X = ZeroCostEncoder("nb201", **kw).fit_transform(ARCHS[:1])
    assert math.isnan(X[0, 0]) and X[0, 1] > 0
    (f,) = tmp_path.glob("*.log")
    assert "__data" in f.name
    X2 = ZeroCostEncoder("nb201", **kw).fit_transform(ARCHS[:1])
    assert math.isnan(X2[0, 0]) and X2[0, 1] == X[0, 1]


def test_sklearn_contract():
    enc = ZeroCostEncoder("nb201", proxies="params,flops", precomputed=False, model_kwargs=SMALL)
    assert clone(enc).get_params() == enc.get_params()
    with pytest.raises(Exception, match="not fitted"):
        enc.transform(ARCHS)
    pipe = make_pipeline(enc, StandardScaler())
    Z = pipe.fit_transform(ARCHS)
    assert Z.shape == (3, 2)
    with pytest.raises(ValueError, match="unknown proxy"):
        ZeroCostEncoder("nb201", proxies=["nope"]).fit()
    with pytest.raises(ValueError, match="unknown search space"):
        ZeroCostEncoder("nope").fit()
    with pytest.raises(ValueError, match="precomputed must be"):
        ZeroCostEncoder("nb201", precomputed="yes").fit()


@pytest.mark.data
def test_benchmark_values_are_used_when_present(data_dir):
    enc = ZeroCostEncoder("nb201", proxies=["params", "synflow", "snip"], dataset="cifar10",
                          source="zc", data_dir=data_dir).fit()
    path = data_dir / "nas-bench-suite-zero" / "zc_nasbench201.json"
    rec = json.loads(path.read_text())["cifar10"][ARCHS[0]]
    X = enc.transform(ARCHS[:1])
    assert X[0].tolist() == pytest.approx(
        [rec["params"]["score"], rec["synflow"]["score"], rec["snip"]["score"]])


def test_random_state_must_be_an_integer_seed():
    with pytest.raises(ValueError, match="random_state must be an integer seed"):
        ZeroCostEncoder("nb201", random_state=None).fit()
