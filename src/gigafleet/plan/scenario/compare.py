"""Compare: two scenario results (``ScenarioResult.to_dict()``) side by side, figure by
figure, with the ratio B / A (what ``gigafleet compare`` prints)."""

from __future__ import annotations

from typing import Any


def fabric_notes(da: dict[str, Any], db: dict[str, Any]) -> list[dict[str, Any]]:
    """For each training run present in both, the fabric each side runs it on and why the
    fabric does or does not change its time (``perf/fabric``'s reasons per parallel
    dimension); a run on the same design on both sides gets no note."""
    notes = []
    tb = {r["workload"]: r for r in db["training"]}
    for r in da["training"]:
        o = tb.get(r["workload"])
        fa, fb = r.get("fabric"), (o or {}).get("fabric")
        if not fa or not fb or fa.get("design") == fb.get("design"):
            continue
        notes.append(
            {
                "workload": r["workload"],
                "a": fa.get("design") or fa.get("technology"),
                "b": fb.get("design") or fb.get("technology"),
                "days_ratio": o["days"] / r["days"] if r["days"] else None,
                "why_a": [e["reason"] for e in fa.get("effects", [])],
                "why_b": [e["reason"] for e in fb.get("effects", [])],
            }
        )
    return notes


def _flag(tag: dict[str, Any] | None) -> dict[str, Any]:
    return tag or {"tag": "", "why": []}


def compare_results(da: dict[str, Any], db: dict[str, Any]) -> list[dict[str, Any]]:
    """Headline totals, then each training run and service present in both; each figure
    with where it stands on each side (``tag_a``/``tag_b``: fitted, interpolated,
    extrapolated, and why), so a figure that rests on something never measured (TEE tolls
    on an unmeasured host, announced specs, a projected price) is flagged where it shows."""
    rows = []

    def add(name: str, x: float, y: float, ta: Any = None, tb: Any = None) -> None:
        ta, tb = _flag(ta), _flag(tb)
        rows.append({"figure": name, "a": x, "b": y, "ratio": y / x if x else None,
                     "tag_a": ta["tag"], "tag_b": tb["tag"],
                     "why": sorted({*ta["why"], *tb["why"]})})  # fmt: skip

    tags_a, tags_b = da.get("tags", {}), db.get("tags", {})
    for key, x in da["totals"].items():
        add(key, x, db["totals"].get(key, 0.0), tags_a.get(key), tags_b.get(key))
    tb = {r["workload"]: r for r in db["training"]}
    for r in da["training"]:
        if r["workload"] in tb:
            o = tb[r["workload"]]
            for key in ("days", "num_gpus", "mfu", "energy_gwh", "cost_usd", "tokens_per_it_joule"):
                add(f"{r['workload']}: {key}", r[key], o[key], r.get("basis"), o.get("basis"))
    sb = {r["workload"]: r for r in db["services"]}
    for r in da["services"]:
        o = sb.get(r["workload"])
        if o:
            for key in ("gpus", "slo_attainment", "facility_mw", "usd_per_million_tokens",
                        "facility_joules_per_token", "usd_per_billion_inferences"):  # fmt: skip
                if key in r and key in o:
                    add(f"{r['workload']}: {key}", r[key], o[key], r.get("basis"), o.get("basis"))
    return rows
