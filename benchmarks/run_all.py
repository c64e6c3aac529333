"""Run every benchmark (``benchmarks/bench_*.py``) and print one table of their targets.

    python benchmarks/run_all.py [--only NAME ...] [--timeout 900]

Each benchmark runs in its own interpreter with the checkout's ``src`` first on the path.
A benchmark states each target on a line that starts with ``target`` and says ``met`` or
``MISSED`` with its ratio to the target (above 1 is better); the table shows those lines
(or a benchmark's last line when it states none). New ``bench_*.py`` files are picked up
as they come. Exits non-zero if a benchmark fails to run (a missed target is a figure,
not a failure).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="Benchmark names (e.g. serving cli).")
    ap.add_argument("--timeout", type=float, default=900.0, help="Seconds per benchmark.")
    args = ap.parse_args()
    benches = sorted(HERE.glob("bench_*.py"))
    if args.only:
        benches = [b for b in benches if b.stem.removeprefix("bench_") in args.only]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    rows: list[tuple[str, float, list[str]]] = []
    failed = 0
    for bench in benches:
        name = bench.stem.removeprefix("bench_")
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            p = subprocess.run([sys.executable, str(bench)], capture_output=True, text=True,
                               env=env, timeout=args.timeout)  # fmt: skip
            out, ok = p.stdout, p.returncode == 0
            err = p.stderr.strip().splitlines()[-1:] if not ok else []
        except subprocess.TimeoutExpired:
            out, ok, err = "", False, [f"timed out after {args.timeout:.0f} s"]
        seconds = time.perf_counter() - t0
        print(out, end="", flush=True)
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        verdicts = [ln for ln in lines if ln.lower().startswith("target")] or lines[-1:]
        if not ok:
            failed += 1
            verdicts = [f"FAILED: {' '.join(err) or 'no output'}"]
        rows.append((name, seconds, verdicts))
    width = max((len(n) for n, _, _ in rows), default=4)
    print(f"\n{'benchmark':<{width}}  {'wall s':>7}  target")
    for name, seconds, verdicts in rows:
        for i, v in enumerate(verdicts or ["-"]):
            head = f"{name:<{width}}  {seconds:7.1f}" if i == 0 else " " * (width + 9)
            print(f"{head}  {v}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
