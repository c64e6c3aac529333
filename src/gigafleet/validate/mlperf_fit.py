"""The serving engines' kernel efficiency, fitted on named MLPerf rows; refits without a group.

:func:`fit_engines` fits ``serving.engines.<engine>.releases.<release>.kernel_efficiency``
(catalog/data/calibration.yaml) on the Offline rows named in its ``fit_rows``, one release at
a time: the value minimising the sum over independent measurements of
``(ln predicted - ln measured)^2`` (golden-section search on ``ln e_k``; the efficiency divides
only the compute-bound terms, so there is no closed form). Rows are found in every known
MLPerf table (v4.1, v5.0) and in the ``--data`` file.

:func:`validate_holdout` is ``gigafleet validate inference --holdout GROUP``: for each group
(``round``, ``system`` = accelerator, ``submitter``, ``deployment`` = per-GPU deployment) it
refits every release without that group's rows and predicts the group. A release left with
no fit rows uses the closest earlier release (:func:`gigafleet.perf.engine.engine_profile`):
holding out round v5.0 predicts it from the v4.1 fit (leave-one-round-out).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog
from gigafleet.catalog.params import (
    EngineCalibration,
    EngineRelease,
    ServingCalibration,
    write_overlay,
)
from gigafleet.errors import GigafleetError
from gigafleet.validate import mlperf as mp
from gigafleet.validate.groundtruth import groundtruth_path
from gigafleet.validate.report import ValidationRow
from gigafleet.validate.search import golden_section

HOLDOUT_GROUPS = ("round", "system", "submitter", "deployment")
#: MLPerf tables searched for named fit rows (besides ``--data``).
KNOWN_TABLES = ("mlperf_inference.csv", "mlperf_inference_v50.csv")
_SEARCH = (math.log(0.2), math.log(5.0))


def fit_rows(catalog: Catalog) -> dict[tuple[str, str], list[str]]:
    """Named fit rows per (engine, release)."""
    out: dict[tuple[str, str], list[str]] = {}
    for engine, e in catalog.params.calibration.serving.engines.items():
        for release, entry in e.releases.items():
            out[(engine, release)] = list(entry.fit_rows)
    return out


def fitted_row_keys(catalog: Catalog) -> set[str]:
    return {k for keys in fit_rows(catalog).values() for k in keys}


def known_rows(extra: str | Path | None = None) -> list[dict[str, str]]:
    """Rows of every known MLPerf table plus ``extra`` (each row once, by its key)."""
    seen: dict[str, dict[str, str]] = {}
    paths = [groundtruth_path(name) for name in KNOWN_TABLES]
    if extra is not None:
        paths.append(Path(extra))
    for p in paths:
        if not Path(p).exists():
            continue
        for r in mp.read_rows(p):
            seen.setdefault(mp.row_key(r), r)
    return list(seen.values())


def with_engines(
    catalog: Catalog,
    values: dict[tuple[str, str], float],
    *,
    keep: set[tuple[str, str]] | None = None,
) -> Catalog:
    """A catalog whose engine releases have the kernel efficiencies ``values``; with ``keep``,
    releases outside it are dropped (they fall back to another release)."""
    cal = catalog.params.calibration
    engines = {
        engine: {
            release: entry
            for release, entry in e.releases.items()
            if keep is None or (engine, release) in keep
        }
        for engine, e in cal.serving.engines.items()
    }
    for (engine, release), v in values.items():
        old = engines.setdefault(engine, {}).get(release, EngineRelease(kernel_efficiency=1.0))
        engines[engine][release] = old.model_copy(update={"kernel_efficiency": round(float(v), 4)})
    serving = ServingCalibration(
        engines={e: EngineCalibration(releases=r) for e, r in engines.items()}
    )
    return catalog.with_params(calibration=cal.model_copy(update={"serving": serving}))


def _fit_one(
    catalog: Catalog, engine: str, release: str, samples: list[tuple[Any, Any, float]]
) -> float:
    """Golden-section search of ``ln e_k`` for one release (see the module docstring)."""

    def loss(log_k: float) -> float:
        cat = with_engines(catalog, {(engine, release): math.exp(log_k)})
        total = 0.0
        for dep, bench, measured in samples:
            pred, _ = mp.predict_offline(dep, bench, cat)
            total += math.log(pred / measured) ** 2
        return total

    return round(math.exp(golden_section(loss, *_SEARCH, steps=22)), 4)


def fit_engines(
    catalog: Catalog,
    *,
    rows: list[dict[str, str]] | None = None,
    exclude: Callable[[dict[str, str], mp.Deployment], bool] | None = None,
) -> dict[tuple[str, str], float]:
    """Kernel efficiency per (engine, release) on its named Offline fit rows (minus those
    ``exclude`` drops); releases left without rows are absent from the result."""
    rows = rows if rows is not None else known_rows()
    by_key = {mp.row_key(r): r for r in rows}
    benches = mp.load_benchmarks()
    out: dict[tuple[str, str], float] = {}
    for (engine, release), keys in fit_rows(catalog).items():
        samples, seen = [], set()
        for k in keys:
            r = by_key.get(k)
            if r is None:
                raise GigafleetError(f"fit row {k!r} is in no MLPerf table", field="fit_rows")
            bench = benches.get(r["model"].strip())
            dep = mp.deployment_for(r, bench, catalog) if bench else "unknown benchmark"
            if isinstance(dep, str) or r["scenario"].strip() != "Offline":
                raise GigafleetError(f"fit row {k!r} cannot be fitted: {dep}", field="fit_rows")
            if dep.engine != engine:
                raise GigafleetError(
                    f"fit row {k!r} ran {dep.engine}, not {engine}", field="fit_rows"
                )
            m = mp.measurement_key(r)
            if m in seen or (exclude is not None and exclude(r, dep)):
                continue
            seen.add(m)
            samples.append((replace(dep, release=release), bench, float(r["performance_result"])))
        if samples:
            out[(engine, release)] = _fit_one(catalog, engine, release, samples)
    return out


def write_engines(
    values: dict[tuple[str, str], float],
    path: str | Path,
    *,
    catalog: Catalog,
) -> Path:
    """Write the refitted kernel efficiencies as a user catalog overlay at ``path``
    (atomically, never inside the package: :func:`gigafleet.catalog.params.write_overlay`);
    use it with ``--catalog FILE`` or list it in ``$GIGAFLEET_CATALOG``."""

    engines: dict[str, Any] = {}
    for (engine, release), v in sorted(values.items()):
        engines.setdefault(engine, {"releases": {}})["releases"][release] = {
            "kernel_efficiency": float(v)
        }
    about = [
        "Refitted kernel efficiencies of the serving engines by `gigafleet calibrate inference",
        "--write` (the rows they are fitted on are named in calibration.serving.engines).",
    ]
    return write_overlay(
        path, {"calibration": {"serving": {"engines": engines}}}, about=about, catalog=catalog
    )


def group_of(by: str) -> Callable[[dict[str, str], mp.Deployment], str]:
    """The holdout group of a row (and its deployment)."""
    if by not in HOLDOUT_GROUPS:
        raise GigafleetError(
            f"unknown holdout group {by!r}; allowed: {', '.join(HOLDOUT_GROUPS)}",
            field="--holdout",
            allowed=HOLDOUT_GROUPS,
        )
    return {
        "round": lambda r, d: r["mlperf_version"].strip(),
        "system": lambda r, d: d.accelerator,
        "submitter": lambda r, d: r["submitter"].strip(),
        "deployment": lambda r, d: d.per_gpu_key,
    }[by]


def validate_holdout(
    rows: list[dict[str, str]],
    by: str,
    *,
    catalog: Catalog,
    baseline: list[ValidationRow],
    extra: str | Path | None = None,
) -> tuple[list[ValidationRow], dict[str, dict[str, float]]]:
    """Every row predicted by a calibration refitted without its group.

    ``baseline`` is the validation with the shipped calibration: a group that holds no fit
    row refits to the shipped values, so its rows keep their baseline prediction. Returns the
    rows (``fitted`` is False throughout: nothing predicted was fitted) and, per refitted
    group, the refitted values.
    """
    key = group_of(by)
    benches = mp.load_benchmarks()
    pool = known_rows(extra)
    fitted = fitted_row_keys(catalog)
    deps: dict[str, tuple[dict[str, str], mp.Deployment]] = {}
    for r in pool:
        b = benches.get(r["model"].strip())
        d = mp.deployment_for(r, b, catalog) if b else None
        if isinstance(d, mp.Deployment):
            deps[mp.row_key(r)] = (r, d)
    fit_groups = {key(*deps[k]) for k in fitted if k in deps}
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        b = benches.get(r["model"].strip())
        d = mp.deployment_for(r, b, catalog) if b else None
        if isinstance(d, mp.Deployment):
            groups.setdefault(key(r, d), []).append(i)
    out = [replace(v, fitted=False, details=dict(v.details)) for v in baseline]
    refits: dict[str, dict[str, float]] = {}
    for g, idx in sorted(groups.items()):
        if g not in fit_groups:
            continue
        values = fit_engines(catalog, rows=pool, exclude=lambda r, d, g=g: key(r, d) == g)
        cat = with_engines(catalog, values, keep=set(values))
        refits[g] = {f"{e}@{rel}": v for (e, rel), v in values.items()}
        again = mp.validate_mlperf(rows=rows, catalog=cat, only=set(idx))
        for i in idx:
            out[i] = replace(again[i], fitted=False)
    for i, v in enumerate(out):
        if v.details:
            r = rows[i]
            d = deps.get(mp.row_key(r))
            v.details["holdout_group"] = key(*d) if d else None
    return out, refits


__all__ = [
    "HOLDOUT_GROUPS",
    "fit_engines",
    "fit_rows",
    "fitted_row_keys",
    "group_of",
    "known_rows",
    "validate_holdout",
    "with_engines",
    "write_engines",
]
