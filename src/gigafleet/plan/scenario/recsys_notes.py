"""Why a recommendation service costs what it does on each side of a comparison: where its
lookups are served (HBM, host memory over NVLink-C2C or PCIe, a far tier), what bounds its
batch, and the items each GPU ranks (what ``gigafleet compare`` prints under the figures).
This is where a Grace-hosted system (cold rows over NVLink-C2C) and an x86-hosted one (over
PCIe) differ for recommendation."""

from __future__ import annotations

from typing import Any


def _side(r: dict[str, Any]) -> dict[str, Any]:
    d = r.get("replica") or {}
    tiers = d.get("embedding_tiers") or {}
    systems = sorted({p["system"] for p in r.get("placement", [])})
    gpus = r.get("gpus") or 0.0
    return {
        "systems": systems,
        "host_link": tiers.get("host_link"),
        "hbm_share": tiers.get("hbm"),
        "host_share": tiers.get("host"),
        "far_share": tiers.get("far"),
        "bound": d.get("bound"),
        "gpus_per_replica": d.get("gpus_per_replica"),
        "items_per_s_per_gpu": (r["capacity"] / gpus) if gpus else None,
        "unit_time_s": d.get("unit_time_s") or {},
        "calibration": d.get("calibration"),
    }


def recsys_notes(da: dict[str, Any], db: dict[str, Any]) -> list[dict[str, Any]]:
    """For each recommendation service in both results, each side's embedding tiers, host
    link, bound and items per GPU, and the ratio of items per GPU (B / A)."""
    sb = {r["workload"]: r for r in db["services"] if r.get("kind") == "recommendation"}
    notes = []
    for r in da["services"]:
        o = sb.get(r["workload"])
        if r.get("kind") != "recommendation" or o is None:
            continue
        a, b = _side(r), _side(o)
        ratio = (b["items_per_s_per_gpu"] / a["items_per_s_per_gpu"]
                 if a["items_per_s_per_gpu"] and b["items_per_s_per_gpu"] else None)  # fmt: skip
        notes.append({"workload": r["workload"], "a": a, "b": b, "items_per_gpu_ratio": ratio})
    return notes


def describe(side: dict[str, Any]) -> str:
    """One line: systems, host link, tier shares, busiest resource, items per GPU."""
    if side["hbm_share"] is None:
        return f"{', '.join(side['systems']) or 'not placed'}"
    busy = ", ".join(f"{k} {1e3 * v:.3g} ms" for k, v in side["unit_time_s"].items())
    ipg = side["items_per_s_per_gpu"]
    return (
        f"{', '.join(side['systems'])}: lookups {100 * side['hbm_share']:.1f}% from HBM, "
        f"{100 * side['host_share']:.1f}% from host memory over {side['host_link']}, "
        f"{100 * side['far_share']:.1f}% far; replicas of {side['gpus_per_replica']} GPUs "
        f"bound by {side['bound']} ({busy} per request); "
        f"{ipg:,.0f} items/s per GPU" + ("" if ipg else "")
    )


__all__ = ["describe", "recsys_notes"]
