"""The power and energy lines of ``gigafleet train`` and ``serve``: labels and formatted
values of the numbers :mod:`gigafleet.energy.summary` computes (presentation only)."""

from __future__ import annotations

from typing import Any

from gigafleet.energy.power import J_PER_KWH


def _kw(w: float) -> str:
    return f"{w / 1e6:,.2f} MW" if w >= 1e6 else f"{w / 1e3:,.1f} kW"


def training_energy_rows(p: dict[str, Any]) -> list[tuple[str, str]]:
    """Label and value of each power/energy line of ``gigafleet train``."""
    rows = [
        ("GPU power (average / peak)", f"{p['gpu_power_avg_w']:,.0f} W / {p['gpu_power_peak_w']:,.0f} W"),
        (f"IT power per {p['system']} (average / peak)", f"{_kw(p['system_power_w'])} / {_kw(p['system_power_peak_w'])}"),
        ("job IT power (average / peak)", f"{_kw(p['it_power_w'])} / {_kw(p['it_power_peak_w'])}"),
        (f"facility power (PUE {p['pue']:.2f}, {p['cooling']})", f"{_kw(p['facility_power_w'])} / {_kw(p['facility_power_peak_w'])} peak"),
        ("energy per step (IT / facility)", f"{p['it_energy_j_per_step'] / J_PER_KWH:,.2f} kWh / {p['facility_energy_j_per_step'] / J_PER_KWH:,.2f} kWh"),
        ("tokens per joule (IT)", f"{p['tokens_per_j']:,.3f} ({p['j_per_token']:,.2f} J/token)"),
        ("model FLOP per joule (IT)", f"{p['flops_per_j'] / 1e9:,.1f} GFLOP/J"),
    ]  # fmt: skip
    if p["power_cap_w"] is not None:
        rows.insert(0, ("power cap (DVFS speed)", f"{p['power_cap_w']:,.0f} W ({100 * p['dvfs_speed']:.1f} % speed)"))  # fmt: skip
    if p["energy_to_train_j"] is not None:
        e = p["energy_to_train_j"]
        text = f"{e / 3.6e12:,.2f} GWh" if e >= 3.6e12 else f"{e / 3.6e9:,.1f} MWh"
        rows.append(("energy to train (facility)", text))
        rows.append(
            (
                f"carbon to train ({p['grid_gco2_per_kwh']:.0f} gCO2/kWh)",
                f"{p['carbon_kg'] / 1e3:,.0f} tCO2eq",
            )
        )
    return rows


def serving_energy_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """Label and value of each power/energy line of ``gigafleet serve``."""
    p, m = r["power"], r["metrics"]
    jpt = m["energy_j_per_output_token"]
    return [
        ("GPU power (busy / idle)", f"{p['gpu_busy_w']:,.0f} W / {p['gpu_idle_w']:,.0f} W"),
        ("IT power (average / peak)", f"{_kw(p['average_it_w'])} / {_kw(p['peak_it_w'])}"),
        (
            "energy per output token (IT)",
            f"{jpt:.3f} J ({1 / jpt if jpt > 0 else 0:,.2f} tokens/J)",
        ),
    ]
