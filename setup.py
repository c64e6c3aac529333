"""Build of gigafleet: pure Python, plus the serving simulator's hot modules compiled with
mypyc where a C compiler is at hand (``pyproject.toml`` holds everything else).

The compiled modules are the same source files (``NATIVE``), compiled as they are; the
package uses them only when they were built from the sources beside them (a manifest of
their SHA-256 is written next to them, :mod:`gigafleet.sim` checks it at import), so an
edited source, a failed build or ``GIGAFLEET_PURE_PYTHON=1`` gives the pure-Python modules,
which compute the same floats (``tests/sim/test_native.py``). No compiler, no mypy, or a
compile error: a warning, and the pure-Python install.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
SIM = ROOT / "src" / "gigafleet" / "sim"
#: The serving simulator's per-event code (measured: 1.8x on ``bench_serving`` compiled).
NATIVE = (
    "engine.py",
    "serving/kv.py",
    "serving/loop.py",
    "serving/replica.py",
    "serving/requests.py",
    "serving/router.py",
    "serving/scheduler.py",
)
#: Name of the manifest written beside the compiled ``gigafleet.sim`` modules.
MANIFEST = "_native.json"
#: mypyc's name for the shared library of the compiled modules.
GROUP = "gigafleet_sim_native"


def _pure() -> bool:
    return os.environ.get("GIGAFLEET_PURE_PYTHON", "") not in ("", "0")


def _mypycify() -> list[Extension]:
    """The extensions of the compiled modules (mypy checks and translates them: ~20 s)."""
    from mypyc.build import mypycify

    return mypycify(
        # the other modules (and numpy, absent from an isolated build) are only read
        ["--follow-imports=silent", "--ignore-missing-imports",
         "--cache-dir=build/mypy_cache", *(f"src/gigafleet/sim/{m}" for m in NATIVE)],
        opt_level="3",
        debug_level="0",
        group_name=GROUP,
    )  # fmt: skip


def _placeholders() -> list[Extension]:
    """The extensions by name only, so that each build hook does not translate them again:
    :class:`OptionalBuildExt` translates them when it runs."""
    return [] if _pure() else [Extension(n, sources=[]) for n in _names()]


def _names() -> list[str]:
    return [GROUP + "__mypyc"] + ["gigafleet.sim." + m[:-3].replace("/", ".") for m in NATIVE]


class OptionalBuildExt(build_ext):
    """``build_ext`` that translates the compiled modules only when it runs, falls back to
    the pure-Python package when that or compiling fails (it removes whatever it built),
    and writes the manifest of the sources it compiled."""

    failure: str | None = None

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        if not self.extensions:
            return
        manifest = self._manifest()
        manifest.unlink(missing_ok=True)
        try:
            # setuptools calls finalize_options in every build hook: translate only here, and
            # fill in the placeholders (they carry setuptools' own attributes)
            real = {e.name: e for e in _mypycify()}
            for ext in self.extensions:
                ext.__dict__.update(
                    (k, v) for k, v in vars(real.pop(ext.name)).items() if not k.startswith("_")
                )
            if real:
                raise RuntimeError(f"unexpected extensions {sorted(real)}")
        except (Exception, SystemExit) as exc:  # no mypy, a type error
            self.failure = f"mypyc failed ({exc})"
        if self.failure is None:
            try:
                super().run()
            except Exception as exc:  # no compiler, a compile or link error
                self.failure = f"compiling failed ({exc})"
        if self.failure is not None:
            for name in _names():
                Path(self.get_ext_fullpath(name)).unlink(missing_ok=True)
            print(f"gigafleet: {self.failure}; pure-Python build", file=sys.stderr)
            return
        sums = {m: hashlib.sha256((SIM / m).read_bytes()).hexdigest() for m in NATIVE}
        manifest.write_text(json.dumps({"sha256": sums}, indent=1) + "\n")

    def get_outputs(self) -> list[str]:
        outs = super().get_outputs()
        if self.extensions and self.failure is None:
            outs.append(str(self._manifest()))
        return outs

    def _manifest(self) -> Path:
        """Where the manifest goes: beside the compiled ``gigafleet.sim`` modules."""
        return Path(self.get_ext_fullpath("gigafleet.sim.engine")).parent / MANIFEST


os.chdir(ROOT)  # mypyc writes its C files to build/ here
setup(ext_modules=_placeholders(), cmdclass={"build_ext": OptionalBuildExt})
