"""Shared fixtures: the benchmark data directory (tests needing it skip without it) and a
small synthetic NB201 benchmark.

When ``$NASPERF_DATA`` is not set, it is pointed at ``../shared/data`` beside the checkout
(the development and CI layout) if that exists. ``$NASPERF_CACHE`` (when not set) points at a
temporary directory of the session, so tests never write into the real user cache, and
``$NASPERF_NO_DOWNLOAD`` (when not set) keeps the loaders from reaching the network.

Every test that uses the ``data_dir`` fixture, directly or through another fixture, gets the
``data`` marker, so ``pytest -m "not slow and not data"`` is the fast offline suite.
"""

from __future__ import annotations

import atexit
import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from nasperf.searchspaces import Benchmark
from nasperf.searchspaces.data import find_data_dir
from nasperf.searchspaces.errors import DataNotFoundError

_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not os.environ.get("NASPERF_DATA") and _SHARED_DATA.is_dir():
    os.environ["NASPERF_DATA"] = str(_SHARED_DATA)
if not os.environ.get("NASPERF_CACHE"):
    _CACHE = tempfile.mkdtemp(prefix="nasperf-test-cache-")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
    os.environ["NASPERF_CACHE"] = _CACHE
os.environ.setdefault("NASPERF_NO_DOWNLOAD", "1")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)


@pytest.fixture
def file_server(tmp_path):
    """A local HTTP server of the folder ``tmp_path/served``: yields (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _one_torch_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


#: Run the test with one torch thread (values and timings do not depend on the machine's
#: thread count; tiny models run far faster); the previous count is restored afterwards.
one_torch_thread = pytest.fixture(_one_torch_thread, name="one_torch_thread")
#: The same for a whole module, before its module-scoped fixtures (models fitted once).
one_torch_thread_module = pytest.fixture(_one_torch_thread, scope="module",
                                         name="one_torch_thread_module")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data directory, or skip the test with the places looked at."""
    try:
        return find_data_dir(need="nas-bench-suite-zero/zc_nasbench201.json")
    except DataNotFoundError as exc:
        pytest.skip(f"benchmark data not available: {exc}")


@pytest.fixture(scope="session")
def toy_bench() -> Benchmark:
    """300 NB201 cells; y grows with the number of 3x3 convs; one informative proxy."""
    from _toy import make_toy_bench

    return make_toy_bench()
