"""The recommendation section of the scenario report: for each feed, the ranking model's
replica shape, tail latency, where its embedding lookups are served (HBM, host memory over
NVLink-C2C or PCIe, a far tier), what bounds it and its calibration status."""

from __future__ import annotations

import html
from typing import Any


def recsys_section(d: dict[str, Any]) -> str:
    """HTML for the recommendation services of a scenario result (empty without any)."""
    rows = [r for r in d.get("services", []) if r.get("kind") == "recommendation"]
    if not rows:
        return ""
    head = ("service", "model", "GPUs", "GPUs per replica", "p99", "requests/s per GPU",
            "lookups: HBM / host / far", "host link", "bound", "calibration")  # fmt: skip
    out = ["<h2>Recommendation</h2><table><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in head]
    out.append("</tr>")
    for r in rows:
        rep = r.get("replica") or {}
        t = rep.get("embedding_tiers") or {}
        cells = [
            r["workload"], r.get("model", ""), f"{r.get('gpus', 0):,.0f}",
            str(rep.get("gpus_per_replica", "-")),
            f"{1e3 * rep['p99_latency_s']:.1f} ms" if "p99_latency_s" in rep else "-",
            f"{rep['queries_per_s_per_gpu']:,.1f}" if "queries_per_s_per_gpu" in rep else "-",
            (f"{100 * t['hbm']:.1f}% / {100 * t['host']:.1f}% / {100 * t['far']:.1f}%"
             if t else "-"),
            str(t.get("host_link", "-")), str(rep.get("bound", "-")),
            str(rep.get("calibration", r.get("binding", "-"))),
        ]  # fmt: skip
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


__all__ = ["recsys_section"]
