"""Where the ground-truth files are: ``shared/groundtruth/`` beside the checkout (or
``$GIGAFLEET_GROUNDTRUTH``) when present, else the copies packaged in ``validate/data``."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED = Path(__file__).parent / "data"


def groundtruth_path(name: str) -> Path:
    """The shared file ``name`` if this checkout has one, else the packaged copy."""
    env = os.environ.get("GIGAFLEET_GROUNDTRUTH")
    if env:
        return Path(env) / name
    for base in (Path.cwd(), *Path.cwd().parents):
        for cand in (
            base / "shared" / "groundtruth" / name,
            base.parent / "shared" / "groundtruth" / name,
        ):
            if cand.exists():
                return cand
    return PACKAGED / name
