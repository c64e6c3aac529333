"""Where the ground-truth files are: ``shared/groundtruth/`` beside the checkout (or
``$GIGAFLEET_GROUNDTRUTH``) when present, else the copies packaged in ``validate/data``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from gigafleet.errors import GigafleetError

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


def read_csv(
    path: str | os.PathLike[str], columns: tuple[str, ...], *, kind: str = ""
) -> list[dict[str, str]]:
    """The rows of a CSV that must have ``columns``; a missing column, an unreadable or a
    non-CSV file is one :class:`GigafleetError` naming the file (and what ``kind`` of file
    needs which columns)."""
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                needs = f"; {kind} needs: {', '.join(columns)}" if kind else ""
                raise GigafleetError(f"missing columns {', '.join(missing)}{needs}", file=str(path))
            return list(reader)
    except OSError as exc:
        raise GigafleetError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GigafleetError(f"not a readable CSV file: {exc}", file=str(path)) from None
