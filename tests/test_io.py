"""Atomic writes, output locks and the checksummed record log of ``nasperf._io``."""

import multiprocessing as mp
import os
import sys

import pytest

from nasperf._io import (
    OutputLockedError,
    RecordLog,
    atomic_open,
    atomic_write,
    content_hash,
    output_lock,
    source_fingerprint,
)


def test_atomic_open_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "t.txt"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_open(target) as f:
        f.write("new, half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]  # no temporary file left
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"


def test_record_log_drops_torn_and_corrupt_lines(tmp_path, caplog):
    rlog = RecordLog(tmp_path / "rows.log")
    rlog.append([{"a": 1}, {"a": 2.5, "b": float("nan")}])
    rlog.append({"a": 3})
    text = rlog.path.read_text()
    lines = text.splitlines(keepends=True)
    # a flipped digit in line 2, and line 3 cut in the middle of its write
    rlog.path.write_text(lines[0] + lines[1].replace("2.5", "2.6") + lines[2][:-4])
    assert rlog.read() == [{"a": 1}]
    assert "line 2" in caplog.text and "line 3" in caplog.text
    assert rlog.repair() == [{"a": 1}]
    rlog.append({"a": 4})  # a new line never continues the torn one
    assert rlog.read() == [{"a": 1}, {"a": 4}]


def _hold(directory, ready, release):
    with output_lock(directory):
        ready.set()
        release.wait(10)


def test_output_lock_refuses_a_second_holder_and_is_released_on_kill(tmp_path):
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    proc.start()
    assert ready.wait(30)
    with pytest.raises(OutputLockedError, match="another nasperf run"):
        with output_lock(tmp_path):
            pass
    os.kill(proc.pid, 9)  # SIGKILL: the OS releases the lock
    proc.join()
    with output_lock(tmp_path, wait=5):
        pass


def test_content_hash_is_stable_and_order_free_for_dicts():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash("x", 1) != content_hash("x", 2)
    assert len(content_hash("x", length=8)) == 8


def test_source_fingerprint_follows_every_file_of_the_code(tmp_path, monkeypatch):
    pkg = tmp_path / "fp_pkg"
    (pkg / "sub").mkdir(parents=True)
    for f in ("__init__.py", "a.py", "sub/__init__.py", "sub/b.py"):
        (pkg / f).write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fp_pkg", raising=False)

    def fingerprint(*modules):
        source_fingerprint.cache_clear()
        return source_fingerprint(*modules, package="fp_pkg")

    both = fingerprint("a", "sub")
    assert fingerprint("a", "sub") == both and fingerprint("a") != both
    (pkg / "sub" / "b.py").write_text("x = 2\n")  # a file deep in a subpackage
    assert fingerprint("a", "sub") != both and fingerprint("a") == fingerprint("a")
    with pytest.raises(ValueError, match="fp_pkg.nope is not a module"):
        fingerprint("nope")
    source_fingerprint.cache_clear()
    assert len(source_fingerprint("eval.features")) == 16  # the installed package
