"""Cost of the checksum verification of benchmark files: first (hashing) vs cached use.

Usage::

    python benchmarks/bench_data_load.py --data-dir /work/shared/data

Runs with a fresh temporary cache root, so the first load hashes every file it reads and
the second finds them in the verification record. Prints seconds for: hashing all manifest
files, the same with the record, and ``load_benchmark("nb201", "cifar10")`` verified (first
use), verified (cached, best of 3), with ``verify=False`` (structural checks, best of 3) and
from the embedded table (no data directory).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from nasperf.searchspaces import data as data_mod
from nasperf.searchspaces import load_benchmark


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None,
                        help="benchmark data directory (default: $NASPERF_DATA, then the "
                        "user cache)")
    args = parser.parse_args()
    root = data_mod.find_data_dir(args.data_dir)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NASPERF_CACHE"] = cache

        # files without a published checksum have nothing to verify against
        checked = [e for e in data_mod.MANIFEST if e.has_checksum]

        def verify_all():
            for entry in checked:
                data_mod.verify_file(root / entry.path, entry)

        size = sum(e.size for e in checked)
        print(f"verify all {len(checked)} files ({size / 1e6:.1f} MB), first use: "
              f"{_seconds(verify_all):.3f} s")
        print(f"verify all files, cached: {_seconds(verify_all):.4f} s")
        os.unlink(os.path.join(cache, data_mod.VERIFIED_FILE))

        def load(**kw):
            return lambda: load_benchmark("nb201", "cifar10", data_dir=root, **kw)

        print(f"load nb201 cifar10, verified, first use: {_seconds(load()):.3f} s")
        best = min(_seconds(load()) for _ in range(3))
        print(f"load nb201 cifar10, verified, cached (best of 3): {best:.3f} s")
        best = min(_seconds(load(verify=False)) for _ in range(3))
        print(f"load nb201 cifar10, verify=False (best of 3): {best:.3f} s")
        os.environ.pop(data_mod.ENV_VAR, None)  # no data directory: the embedded table
        best = min(_seconds(lambda: load_benchmark("nb201", "cifar10")) for _ in range(3))
        print(f"load nb201 cifar10 from the embedded table (best of 3): {best:.3f} s")


if __name__ == "__main__":
    main()
