"""Wall time of ``nasperf shap`` with its default settings, per predictor.

Runs the command as a user would (a fresh process each, ``NASPERF_DATA`` from the
environment or ``--data-dir``) and prints one line per predictor with the seconds it took
and whether it finished within ``--limit`` seconds (default 120)::

    NASPERF_DATA=/work/shared/data python benchmarks/bench_shap.py
    python benchmarks/bench_shap.py --predictors gp --extra --features graf+zc

Everything after ``--extra`` is passed to ``nasperf shap`` (e.g. ``--explain-size 50``).
The PNG files go to a temporary directory. Exit status 1 when a run fails or exceeds the
limit.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

from _common import str_list


def time_shap(predictor: str, extra: list[str], data_dir: str | None) -> tuple[float, int, str]:
    """Seconds, exit status and the last output line of one ``nasperf shap`` run."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "nasperf.eval.cli", "shap", "--predictor", predictor,
               "--out", out, "--no-progress", *extra]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    head = next((ln for ln in lines if ln.startswith("# ")), lines[-1] if lines else "")
    return seconds, proc.returncode, head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictors", type=str_list, default=["gp", "lightgbm"],
                        help="comma-separated predictor names (default: gp,lightgbm)")
    parser.add_argument("--limit", type=float, default=120.0,
                        help="seconds a run may take (default: 120)")
    parser.add_argument("--data-dir", default=None,
                        help="benchmark data directory (default: $NASPERF_DATA)")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further options of nasperf shap")
    args = parser.parse_args(argv)
    status = 0
    for name in args.predictors:
        seconds, code, head = time_shap(name, args.extra, args.data_dir)
        ok = code == 0 and seconds <= args.limit
        status |= not ok
        print(f"{name}: {seconds:.1f} s, exit {code}, "
              f"{'within' if ok else 'NOT within'} {args.limit:.0f} s | {head}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
