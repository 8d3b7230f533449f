"""``nasperf data``: find (``where``) or download (``download``) the benchmark files."""

from __future__ import annotations

import argparse

from . import COMMANDS
from ._options import add_data_dir, new_command


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``data`` command (with sub-commands ``download`` and ``where``) to ``sub``."""
    p = new_command(sub, "data", COMMANDS["data"][1], __doc__)
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    d = dsub.add_parser("download", help="download from the original public sources")
    d.add_argument("--dest", default=None, help="target directory (default: user cache)")
    d.add_argument("--files", nargs="*", default=None, help="relative paths (default: all)")
    d.add_argument("--force", action="store_true")
    w = dsub.add_parser("where", help="print the data directory in use and the files found")
    add_data_dir(w)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Download the files (one path per line), or print the data directory and which
    manifest files it holds."""
    from nasperf.searchspaces.data import MANIFEST, download, find_data_dir

    if args.data_cmd == "download":
        for path in download(args.dest, files=args.files, force=args.force):
            print(path)
        return 0
    root = find_data_dir(args.data_dir)
    print(root)
    for entry in MANIFEST:
        print(f"  [{'x' if (root / entry.path).is_file() else ' '}] {entry.path}")
    return 0
