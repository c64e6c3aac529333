"""How heavy a fresh install is: ``pip install .`` (not editable) into a new virtual
environment, then its size on disk.

    python benchmarks/bench_install.py [--keep DIR]

Needs the package index (pip downloads the dependencies). Reports the size of the whole
environment (pip and setuptools included, about 20 MB) against the target of 250 MB, and
the largest installed packages. Takes a minute or two.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 250.0


def size_mb(path: Path) -> float:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="Build the environment here and keep it.")
    args = ap.parse_args()
    venv = args.keep or Path(tempfile.mkdtemp(prefix="gigafleet-install-")) / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = venv / "bin" / "pip"
        subprocess.run([str(pip), "install", "-q", str(ROOT)], check=True)
        site = next((venv / "lib").glob("python*/site-packages"))
        parts = sorted(((size_mb(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)
        total = size_mb(venv)
        print("largest: " + ", ".join(f"{name} {mb:.0f} MB" for mb, name in parts[:8]))
        print(
            f"target fresh install under {TARGET_MB:.0f} MB: "
            f"{'met' if total <= TARGET_MB else 'MISSED'} ({total:.0f} MB; ratio "
            f"{TARGET_MB / total:.2f}x)"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(venv.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
