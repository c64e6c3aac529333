"""The requests a serving simulation runs: :class:`Workload` (one numpy value per request) and
:func:`trace_workload`, which reads one from a CSV request trace.

Synthetic arrival times and lengths come from :mod:`.generators`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.errors import GigafleetError, suggest
from gigafleet.numbers import MAX_MAGNITUDE


def _int_array(values: Any, name: str, n: int | None, *, minimum: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise GigafleetError(f"must be a 1-D array, got shape {arr.shape}", field=name)
    if n is not None and len(arr) != n:
        raise GigafleetError(f"has {len(arr)} values, expected {n} (one per request)", field=name)
    if arr.dtype.kind not in "iuf" and len(arr):
        raise GigafleetError(f"must be numbers, got dtype {arr.dtype}", field=name)
    if (
        arr.dtype.kind == "f"
        and len(arr)
        and (not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)))
    ):
        raise GigafleetError("must be whole numbers", field=name)
    arr = arr.astype(np.int64)
    if len(arr) and arr.min() < minimum:
        i = int(np.argmin(arr))
        raise GigafleetError(f"must be >= {minimum}; request {i} has {int(arr[i])}", field=name)
    return arr


@dataclass(frozen=True, slots=True)
class Workload:
    """All requests up front, as numpy arrays of one value per request.

    Attributes:
        arrival_s: Arrival times, seconds (any order).
        prompt_tokens: Prompt lengths (>= 1).
        output_tokens: Output lengths (>= 1, the first token included).
        user_id: Optional user of each request (passed through, e.g. to ``admission_delay``).
        adapter_id: Optional adapter of each request (-1: the base model).
        prefix_id: Optional shared-prefix id of each request (-1: none).
        prefix_tokens: Optional length of that shared prefix (<= prompt_tokens).
    """

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    user_id: np.ndarray | None = None
    adapter_id: np.ndarray | None = None
    prefix_id: np.ndarray | None = None
    prefix_tokens: np.ndarray | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.arrival_s, dtype=float)
        if arr.ndim != 1 or len(arr) == 0:
            raise GigafleetError("the workload has no requests", field="arrival_s")
        if not np.all(np.isfinite(arr)) or arr.min() < 0:
            raise GigafleetError("must be finite and >= 0", field="arrival_s")
        n = len(arr)
        object.__setattr__(self, "arrival_s", arr)
        object.__setattr__(
            self, "prompt_tokens", _int_array(self.prompt_tokens, "prompt_tokens", n, minimum=1)
        )
        object.__setattr__(
            self, "output_tokens", _int_array(self.output_tokens, "output_tokens", n, minimum=1)
        )
        for name in ("user_id", "adapter_id", "prefix_id"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _int_array(getattr(self, name), name, n, minimum=-1))
        if self.prefix_tokens is not None:
            pt = _int_array(self.prefix_tokens, "prefix_tokens", n, minimum=0)
            bad = np.nonzero(pt > self.prompt_tokens)[0]
            if len(bad):
                i = int(bad[0])
                raise GigafleetError(
                    f"must be <= prompt_tokens; request {i} has {int(pt[i])} > "
                    f"{int(self.prompt_tokens[i])}",
                    field="prefix_tokens",
                )
            object.__setattr__(self, "prefix_tokens", pt)
        if (self.prefix_id is None) != (self.prefix_tokens is None):
            raise GigafleetError(
                "prefix_id and prefix_tokens go together: give both or neither",
                field="prefix_tokens" if self.prefix_tokens is None else "prefix_id",
            )

    @property
    def num_requests(self) -> int:
        return len(self.arrival_s)


_TRACE_REQUIRED = ("arrival_s", "prompt_tokens", "output_tokens")
_TRACE_OPTIONAL = ("user_id", "adapter_id", "prefix_id", "prefix_tokens")


def trace_workload(csv_path: str | os.PathLike[str]) -> Workload:
    """Read a request trace: a CSV with columns ``arrival_s, prompt_tokens, output_tokens`` and
    optionally ``user_id, adapter_id, prefix_id, prefix_tokens`` (other columns are ignored).

    Raises:
        GigafleetError: The file is missing or empty, a column is missing, or a value is bad;
            the message names the file, the column and the row.
    """
    path = os.fspath(csv_path)
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            rows = [r for r in reader if r and any(c.strip() for c in r)]
    except OSError as e:
        raise GigafleetError(f"cannot read the trace: {e.strerror or e}", file=path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise GigafleetError(f"not a readable CSV trace: {e}", file=path) from None
    if not header:
        raise GigafleetError("the trace is empty (no header row)", file=path)
    cols: dict[str, np.ndarray] = {}
    for name in _TRACE_REQUIRED + _TRACE_OPTIONAL:
        if name not in header:
            if name in _TRACE_REQUIRED:
                hint = suggest(name, header)
                msg = f"missing column {name!r}"
                if hint:
                    msg += f"; did you mean {', '.join(repr(h) for h in hint)}?"
                msg += f" Required: {', '.join(_TRACE_REQUIRED)}; optional: {', '.join(_TRACE_OPTIONAL)}"
                raise GigafleetError(msg, file=path, field=name, allowed=_TRACE_REQUIRED)
            continue
        k = header.index(name)
        values = []
        for i, row in enumerate(rows):
            cell = row[k].strip() if k < len(row) else ""
            try:
                value = float(cell)
            except ValueError:
                raise GigafleetError(
                    f"row {i + 2}: {cell!r} is not a number", file=path, field=name
                ) from None
            if not abs(value) <= MAX_MAGNITUDE:  # NaN, inf, 1e308: overflow in the casts below
                raise GigafleetError(
                    f"row {i + 2}: got {cell!r}; allowed: a finite number of magnitude at most "
                    f"{MAX_MAGNITUDE:g}",
                    file=path,
                    field=name,
                )
            values.append(value)
        cols[name] = np.asarray(values, dtype=float)
    if not rows:
        raise GigafleetError("the trace has no requests", file=path)
    try:
        return Workload(
            arrival_s=cols["arrival_s"],
            prompt_tokens=cols["prompt_tokens"],
            output_tokens=cols["output_tokens"],
            **{k: cols.get(k) for k in _TRACE_OPTIONAL},
        )
    except GigafleetError as e:
        raise GigafleetError(str(e), file=path, field=e.field, allowed=e.allowed) from None
