"""MLPerf Training reference convergence points (RCPs): samples to converge at a global batch.

An RCP file (``shared/groundtruth/mlperf_training_rcps.csv``) gives, per round, benchmark
and global batch size, the reference runs' mean samples (or tokens) to reach the target.
:func:`samples_to_converge` reads a batch size the way the MLPerf RCP checker does
(github.com/mlcommons/logging ``mlperf_logging/rcp_checker/rcp_checker.py`` @7bbf7926,
``RCP_Checker._prune_rcps``, ``_find_rcp``, ``_find_top_min_rcp``, ``_find_bottom_max_rcp``,
``_create_interp_rcp`` and ``check_directory``), on its default ``pruned_rcps`` pass:

1. prune: drop every point with a smaller batch than the fastest-converging one; then walk
   the rest in batch order and drop a point that converges slower than the straight line
   between its neighbours (``RCP[i]`` against ``interp(RCP[i-1], RCP[i+1])``), stepping
   back after each drop;
2. a batch size on a pruned point takes its mean; one between two pruned points takes
   ``np.interp`` of the means of the nearest below and above; one below every pruned point
   takes the smallest-batch point ("RCP not found but slower convergence on smaller batch
   size"); one above every point has no RCP ("Missing RCP, please submit RCP with BS = ...").

RCP means are in samples (sequences), except GPT-3's, in tokens (its ``unit`` column says
so); :func:`samples_to_converge` returns sequences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from gigafleet.errors import GigafleetError
from gigafleet.validate.groundtruth import read_csv

RCP_COLUMNS = (
    "training_version", "benchmark", "global_batch_size", "mean_samples_to_converge", "unit",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rcp:
    """One reference convergence point."""

    version: str  # e.g. v4.1.0
    benchmark: str
    batch: int
    mean: float  # samples (or tokens, see ``in_tokens``) to converge
    in_tokens: bool


def read_rcps(path: str | os.PathLike[str]) -> list[Rcp]:
    """The RCPs of a CSV with the columns of ``mlperf_training_rcps.csv``."""
    out = []
    for i, r in enumerate(read_csv(path, RCP_COLUMNS, kind="an RCP CSV"), start=2):
        try:
            batch, mean = int(r["global_batch_size"]), float(r["mean_samples_to_converge"])
        except ValueError:
            raise GigafleetError(
                f"line {i}: global_batch_size and mean_samples_to_converge must be numbers, got "
                f"{r['global_batch_size']!r} and {r['mean_samples_to_converge']!r}",
                file=str(path),
            ) from None
        unit = (r.get("unit") or "").strip().lower()
        out.append(
            Rcp(r["training_version"].strip(), r["benchmark"].strip(), batch, mean,
                unit.startswith("token"))
        )  # fmt: skip
    return out


def _interp(bs: float, low: Rcp, high: Rcp) -> float:
    return float(np.interp(bs, [low.batch, high.batch], [low.mean, high.mean]))


def prune(points: list[Rcp]) -> list[Rcp]:
    """The checker's pruned RCPs (module docstring, step 1), in batch order."""
    pts = sorted(points, key=lambda p: p.batch)
    if not pts:
        return []
    fastest = min(pts, key=lambda p: p.mean)
    pts = [p for p in pts if p.batch >= fastest.batch]
    i = 1
    while i < len(pts) - 1:
        if pts[i].mean > _interp(pts[i].batch, pts[i - 1], pts[i + 1]):
            del pts[i]
            i -= 1
        i += 1
    return pts


def version_of(row_version: str) -> str:
    """A results round (``v4.1``) as the RCP files name it (``v4.1.0``)."""
    v = row_version.strip()
    return v if v.count(".") >= 2 else f"{v}.0"


def samples_to_converge(
    rcps: list[Rcp], *, benchmark: str, version: str, batch: int, seq_len: int, file: str = ""
) -> tuple[float, str]:
    """Sequences to converge at ``batch`` and how the RCP was found (module docstring).

    Raises:
        GigafleetError: the file has no RCP of this benchmark and round, or the batch is
            above every RCP of it (naming the file, the benchmark and what it has).
    """
    want = version_of(version)
    mine = [p for p in rcps if p.benchmark == benchmark]
    if not mine:
        have = sorted({p.benchmark for p in rcps})
        raise GigafleetError(
            f"no RCP for benchmark {benchmark!r}; allowed: {', '.join(have)}",
            file=file, field="benchmark", allowed=have,
        )  # fmt: skip
    pts = [p for p in mine if p.version == want]
    if not pts:
        have = sorted({p.version for p in mine})
        raise GigafleetError(
            f"no RCP for {benchmark} in round {want}; the file has {', '.join(have)}",
            file=file, field="training_version", allowed=have,
        )  # fmt: skip
    pruned = prune(pts)
    exact = [p for p in pruned if p.batch == batch]
    below = [p for p in pruned if p.batch < batch]
    above = [p for p in pruned if p.batch > batch]
    if exact:
        mean, how = exact[0].mean, f"RCP at batch {batch}"
    elif below and above:
        lo, hi = max(below, key=lambda p: p.batch), min(above, key=lambda p: p.batch)
        mean, how = (
            _interp(batch, lo, hi),
            f"interpolated between batches {lo.batch} and {hi.batch}",
        )
    elif above:
        lo = min(pruned, key=lambda p: p.batch)
        mean, how = lo.mean, f"smallest RCP batch {lo.batch} (batch {batch} is below every RCP)"
    else:
        have = sorted(p.batch for p in pts)
        raise GigafleetError(
            f"no RCP for {benchmark} {want} at global batch {batch}: above every RCP batch "
            f"({', '.join(map(str, have))}); the RCP checker asks for an RCP at this batch",
            file=file, field="global_batch_size",
        )  # fmt: skip
    if pts[0].in_tokens:
        mean, how = mean / seq_len, how + f" (tokens / {seq_len})"
    return mean, how
