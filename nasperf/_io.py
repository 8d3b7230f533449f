"""Files that are never half-written: atomic writes, output-directory locks, checksummed logs.

Private infrastructure shared by every nasperf package that writes results or caches.

- :func:`atomic_open` / :func:`atomic_write`: write to a temporary file in the same
  directory, ``fsync`` it, then ``os.replace`` it over the target, so a reader (or a process
  killed mid-write) only ever sees the old file or the new one.
- :func:`output_lock`: an exclusive advisory lock (``filelock``) on a directory, so a second
  run into the same output directory refuses (or waits) instead of interleaving rows. The
  operating system releases it when the holder dies, even by SIGKILL.
- :class:`RecordLog`: an append-only log of JSON records, one per line, each line prefixed
  with the CRC-32 of its payload. Appends are one ``write`` + ``fsync``; a torn or corrupt
  line (a kill during the write, a copy cut short) is detected on read and dropped with a
  warning, never counted as a record.
- :func:`content_hash`: a stable SHA-256 of JSON-serialisable parts, for cache keys.
- :func:`source_fingerprint`: a hash of the source code of nasperf packages, for the keys of
  caches whose content that code computes (an editable install changes its code without
  changing its version number).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("nasperf")


# -- atomic writes ----------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on a clean exit it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left untouched. ``mode`` is
    ``"w"`` (text, UTF-8 unless ``encoding`` is given) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


# -- locks --------------------------------------------------------------------------------------
class OutputLockedError(OSError):
    """Another process holds the lock of an output directory."""


@contextlib.contextmanager
def output_lock(directory: str | os.PathLike, wait: float = 0.0) -> Iterator[Path]:
    """Hold the exclusive lock of ``directory`` (its file ``.nasperf.lock``).

    Parameters
    ----------
    wait : float
        Seconds to wait for another holder to finish; ``0`` refuses at once, a negative
        value waits forever.

    Raises
    ------
    OutputLockedError
        The lock is still held by another process after ``wait`` seconds.
    """
    from filelock import FileLock, Timeout

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock_path = directory / ".nasperf.lock"
    lock = FileLock(str(lock_path), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise OutputLockedError(
            f"another nasperf run is writing to {directory} (lock {lock_path}); wait for it "
            "to finish or choose another output directory") from None
    try:
        yield directory
    finally:
        lock.release()


# -- checksummed append-only log -------------------------------------------------------------------
def _line(record: dict) -> str:
    payload = json.dumps(record, sort_keys=True, allow_nan=True, separators=(",", ":"))
    return f"{zlib.crc32(payload.encode()):08x} {payload}\n"


class RecordLog:
    """An append-only file of JSON records, one checksummed line each.

    Line format: ``<crc32 of payload, 8 hex digits> <JSON payload>\\n``. Only
    :meth:`append` writes to the file after :meth:`repair`, so callers hold
    :func:`output_lock` on its directory while writing.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _scan(self) -> tuple[list[dict], list[str], int]:
        """(valid records, their lines, number of dropped lines)."""
        if not self.path.is_file():
            return [], [], 0
        records, lines, dropped = [], [], 0
        with open(self.path, encoding="utf-8", errors="replace", newline="") as f:
            for lineno, line in enumerate(f, 1):
                record = self._parse(line)
                if record is None:
                    dropped += 1
                    log.warning("%s line %d is torn or corrupt (checksum mismatch); dropped",
                                self.path, lineno)
                    continue
                records.append(record)
                lines.append(line)
        return records, lines, dropped

    @staticmethod
    def _parse(line: str) -> dict | None:
        if not line.endswith("\n") or len(line) < 11 or line[8] != " ":
            return None
        payload = line[9:-1]
        try:
            if int(line[:8], 16) != zlib.crc32(payload.encode()):
                return None
            record = json.loads(payload)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    def read(self) -> list[dict]:
        """Every intact record, in file order (torn or corrupt lines dropped with a warning)."""
        return self._scan()[0]

    def repair(self) -> list[dict]:
        """Rewrite the file without its torn or corrupt lines (atomically); return the records.

        Call before appending, so that a new line never continues a torn one.
        """
        records, lines, dropped = self._scan()
        if dropped:
            atomic_write(self.path, "".join(lines))
        return records

    def append(self, records: dict | Iterable[dict]) -> None:
        """Append one record or several, flushed and fsynced before returning."""
        if isinstance(records, dict):
            records = [records]
        text = "".join(_line(r) for r in records)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


# -- cache keys -------------------------------------------------------------------------------
def content_hash(*parts: Any, length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of ``parts`` serialised as sorted JSON.

    Parts must be JSON-serialisable (strings, numbers, lists, dicts); other objects are
    serialised by ``repr``, so pass only objects whose ``repr`` is stable.
    """
    payload = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


@functools.cache
def source_fingerprint(*modules: str, package: str = "nasperf") -> str:
    """First 16 hex digits of the SHA-256 of the source files of ``modules`` of ``package``.

    ``modules`` are names inside the package (``"encoders"``, ``"eval.features"``); a
    subpackage stands for every ``.py`` file under it. Any change to one of those files changes
    the fingerprint, so a cache keyed by it is computed again rather than reused after a
    code change. Computed once per process (the code a process runs is the code it imported).
    """
    h = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(f"{package}.{name}")
        if spec is None or not (spec.origin or spec.submodule_search_locations):
            raise ValueError(f"{package}.{name} is not a module of this installation")
        if spec.submodule_search_locations:
            roots = [Path(r) for r in spec.submodule_search_locations]
            files = sorted((f.relative_to(r).as_posix(), f) for r in roots for f in r.rglob("*.py"))
        else:
            files = [(Path(spec.origin).name, Path(spec.origin))]
        h.update(f"{name}\n".encode())
        for rel, f in files:
            h.update(f"{rel}\n".encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]
