"""Event-driven engines: a minimal discrete-event core and the request-level serving simulator.

Import the modules directly (``gigafleet.sim.engine``, ``gigafleet.sim.serving``); this
package imports nothing else, so that ``import gigafleet`` stays fast.

Compiled modules. Where the install had a C compiler, the serving simulator's per-event
modules are also compiled with mypyc (``setup.py``): the same source files, about twice as
fast. They are used only when all of them were built from the sources beside them (the
build writes their SHA-256 to ``_native.json``); an edited source, a partial build or
``GIGAFLEET_PURE_PYTHON=1`` in the environment gives the pure-Python modules, which compute
the same floats (tested). :data:`NATIVE` says which ones this process runs.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.util import spec_from_file_location
from pathlib import Path

_HERE = Path(__file__).parent
_MANIFEST = _HERE / "_native.json"


class _SourceFinder:
    """Finds the listed modules in their ``.py`` files, ahead of a compiled module beside
    them (the import system would otherwise take the extension first)."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources

    def find_spec(self, name, path=None, target=None):
        src = self.sources.get(name)
        return None if src is None else spec_from_file_location(name, src)


def _native() -> bool:
    """Use the compiled modules (True), or make sure the sources are imported (False)."""
    import hashlib
    import json

    try:
        sums = json.loads(_MANIFEST.read_text())["sha256"]
        ok = bool(sums) and os.environ.get("GIGAFLEET_PURE_PYTHON", "") in ("", "0")
        for rel, digest in sums.items():
            src = _HERE / rel
            ok = (
                ok
                and any(src.with_suffix(s).exists() for s in EXTENSION_SUFFIXES)
                and hashlib.sha256(src.read_bytes()).hexdigest() == digest
            )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ok = False  # no manifest (nothing was compiled), or not one the build wrote
    if not ok:
        # every compiled module here that has its source beside it (a stale or partial
        # build, or one without its manifest) is imported from that source
        sources = {
            "gigafleet.sim." + ".".join(f.relative_to(_HERE).with_suffix("").parts): f
            for suffix in EXTENSION_SUFFIXES
            for built in _HERE.rglob("*" + suffix)
            if (f := built.with_name(built.name[: -len(suffix)] + ".py")).exists()
        }
        if sources:
            sys.meta_path.insert(0, _SourceFinder(sources))
    return ok


NATIVE: bool = _native()
"""The serving simulator runs its compiled modules."""
