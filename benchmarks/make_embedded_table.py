"""Build the NB201 CIFAR-10 table embedded in the package (``searchspaces/embedded/``).

The table is what ``load_benchmark("nb201", "cifar10")`` (source ``"graf"``) reads from the
GRAF repository's ``nb201_valid_nets.csv`` and ``nb201_zc_proxies.csv`` (MIT): the 9,445
canonical cells as NASLib op-id tuples (int8), their CIFAR-10 validation accuracy (float64,
exactly as parsed: rounding the target to float32 moves a predictor's Kendall tau by up to
0.005) and the 13 precomputed proxies (float32, failed-proxy sentinels kept as written), in
the row order of ``nb201_valid_nets.csv``. Both source files are verified against the data
manifest first.

Usage::

    python benchmarks/make_embedded_table.py --data-dir /work/shared/data

writes ``searchspaces/embedded/nb201_cifar10_graf.npz`` (``np.savez_compressed``) and prints
its size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nasperf.searchspaces import get_space
from nasperf.searchspaces.benchmarks import ROW_COUNTS, read_csv
from nasperf.searchspaces.data import EMBEDDED_NAME, EMBEDDED_REPLACES, resolve_file

OUT = Path(__file__).resolve().parents[1] / "searchspaces" / "embedded" / EMBEDDED_NAME


def build(data_dir: str | None, out: Path = OUT) -> Path:
    """Write the embedded table from the data directory's GRAF CSVs; returns its path."""
    space = get_space("nb201")
    frames = []
    for rel in EMBEDDED_REPLACES:
        path, trusted = resolve_file(rel, data_dir, verify=True, download=False)
        frames.append(read_csv(path, ("net",), key="net", trusted=trusted,
                               n_rows=ROW_COUNTS[rel]))
    nets, zc = frames
    zc = zc.set_index("net").reindex(nets["net"])
    proxy_names = [c for c in zc.columns if c != "net_str"]  # the loader's column order
    ops = np.array([space.to_tuple(space.parse(k)) for k in nets["net"]], dtype=np.int8)
    if [str(tuple(int(v) for v in row)) for row in ops] != nets["net"].tolist():
        raise SystemExit("the net column does not round-trip through NB201 tuples")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, ops=ops, val_accs=nets["val_accs"].to_numpy(np.float64),
        proxy_names=np.array(proxy_names), proxies=zc[proxy_names].to_numpy(np.float32))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None,
                        help="benchmark data directory (default: $NASPERF_DATA, then the "
                        "user cache)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output file (default: {OUT})")
    args = parser.parse_args()
    path = build(args.data_dir, args.out)
    print(f"{path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
