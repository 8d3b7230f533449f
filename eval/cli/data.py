"""``nasperf data``: show which benchmark files are used (``where``) or download them
(``download``).

The data directory is the first of: --data-dir, $NASPERF_DATA, the user cache
($NASPERF_CACHE/data, else ~/.cache/nasperf/data). Files are checked against their published
SHA-256 on first use (NASPERF_VERIFY=0 skips that for edited copies). Without any data,
``load_benchmark("nb201", "cifar10")`` uses the NB201 CIFAR-10 table shipped with nasperf,
and other benchmarks are downloaded into the user cache on first use (NASPERF_NO_DOWNLOAD=1
turns that off).
"""

from __future__ import annotations

import argparse

from . import COMMANDS
from ._options import add_data_dir, new_command

_DOWNLOAD_DOC = """Download the benchmark files (all, or --files) from their original public
repositories into --dest (default: the user cache). Each file goes through a .part file that
is renamed only once its SHA-256 matches the manifest; without internet access the command
fails with one message naming the file, and leaves nothing partial behind. Files with no
published checksum recorded (zc_nasbench301.json, zc_transbench101_macro.json) are kept as
received (trust on first use): the SHA-256 and size received are logged, and their structure
is checked whenever they are loaded."""

_WHERE_DOC = """Show the data directory the loaders use (--data-dir, else $NASPERF_DATA, else the
user cache), where that choice came from, and every manifest file as verified (published
checksum), present (not checked: --no-verify, or "no published checksum" for a file without
one, whose structure is checked on load), differing (truncated or modified) or missing;
also whether load_benchmark("nb201", "cifar10") would use the embedded table and whether
missing files are downloaded on first use. Never fails for a missing or partial directory."""

_MARK = {"verified": "x", "present": "x", "differs": "!", "missing": " "}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``data`` command (with sub-commands ``download`` and ``where``) to ``sub``."""
    p = new_command(sub, "data", COMMANDS["data"][1], __doc__)
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    d = new_command(dsub, "download", "download the benchmark files from their original "
                    "public sources (checksums verified)", _DOWNLOAD_DOC)
    d.add_argument("--dest", default=None,
                   help="target directory (default: the user cache, $NASPERF_CACHE/data)")
    d.add_argument("--files", nargs="*", default=None,
                   help="data-directory paths to fetch, e.g. nb201-graf/hw_cifar10.csv "
                   "(default: all)")
    d.add_argument("--force", action="store_true",
                   help="download again even if a file with the right checksum is present")
    w = new_command(dsub, "where", "show the data directory in use, where that choice came "
                    "from, and which files are present, missing or verified", _WHERE_DOC)
    add_data_dir(w)
    w.add_argument("--no-verify", action="store_true",
                   help="list the files without comparing them with the published checksums")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Download the files (one path per line), or describe the data directory in use."""
    from nasperf.searchspaces import data

    if args.data_cmd == "download":
        for path in data.download(args.dest, files=args.files, force=args.force):
            print(path)
        return 0
    report = data.describe(args.data_dir, verify=False if args.no_verify else None)
    if not report.exists and report.source != data.FROM_CACHE:
        fix = "--data-dir" if report.source.endswith("argument") else "$" + data.ENV_VAR
        raise data.DataNotFoundError(
            f"the benchmark data directory {report.root} (from {report.source}) does not "
            f"exist, so every load would fail: fix or unset {fix}")
    state = "" if report.exists else "  [does not exist yet]"
    print(f"data directory: {report.root} (from {report.source}){state}")
    unchecked = 0
    for f in report.files:
        if f.detail == data.NO_CHECKSUM:
            unchecked += 1
            state = f"{f.state} ({f.detail}), structure checked on load"
        else:
            state = f"{f.state}{': ' + f.detail if f.detail else ''}"
        print(f"  [{_MARK[f.state]}] {f.entry.path} ({state})")
    n = len(report.files)
    present = report.count("verified", "present", "differs")
    print(f"{present} of {n} files present, {report.count('verified')} verified, "
          + (f"{unchecked} without a published checksum, " if unchecked else "")
          + f"{report.count('differs')} differing from the published files.")
    if report.count("differs"):
        print("differing files raise an error when loaded: re-download them with "
              f"`nasperf data download --force --dest {report.root}`, or set NASPERF_VERIFY=0 "
              "to use edited copies")
    if report.embedded:
        print('load_benchmark("nb201", "cifar10") uses the embedded NB201 CIFAR-10 table '
              "(9,445 cells) shipped with nasperf")
    if present < n:
        if report.auto_download:
            print("missing files are downloaded into this directory on first use "
                  "(NASPERF_NO_DOWNLOAD=1 turns that off); `nasperf data download` fetches "
                  "all of them now")
        else:
            print("missing files are not downloaded automatically"
                  + ("" if report.source == data.FROM_CACHE else
                     f" (the directory comes from {report.source})")
                  + f"; `nasperf data download --dest {report.root}` fetches them")
    return 0
