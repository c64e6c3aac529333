"""The models a scenario leans on: power, reliability and cost of a pool.

``Models`` chains the pure models of ``energy/`` (IT watts per GPU by phase, serving power),
``reliability/`` (failure-inclusive training wall time) and ``cost/`` (cost inputs, marginal
and full cost of a GPU-hour, own against rent). It is the composition of
perf + energy + reliability + cost that the CLI's ``train``/``serve`` chain also performs;
it is to be shared with that chain (a ``pipelines/`` layer) rather than kept here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gigafleet.catalog import Catalog
from gigafleet.errors import GigafleetError
from gigafleet.plan.scenario.pools import Pool
from gigafleet.spec.scenario import Scenario


class Models:
    """Power, reliability and cost of a pool, from the pure models of ``energy/``,
    ``reliability/`` and ``cost/``."""

    def __init__(self, catalog: Catalog, scn: Scenario):
        """Models of ``scn``'s pools from ``catalog`` (cost inputs are kept per pool)."""
        self.catalog = catalog
        self.scn = scn
        self.warnings: list[str] = []
        self._inputs: dict[int, Any] = {}

    def it_w_per_gpu(
        self, system: str, *, compute_frac: float, memory_frac: float, comm_frac: float = 0.0,
        cooling: str | None = None,
    ) -> float:  # fmt: skip
        """IT watts per GPU of ``system`` (GPU, host, NIC and switch shares) while each GPU
        spends these fractions of its time in each phase (the rest idle)."""
        from gigafleet.energy import accelerator_power_w, system_power_w

        row = self.catalog.system(system)
        gpu = accelerator_power_w(
            row.accelerator, compute_frac=compute_frac, memory_frac=memory_frac,
            comm_frac=comm_frac, catalog=self.catalog,
        )  # fmt: skip
        busy = compute_frac + memory_frac + comm_frac
        res = system_power_w(
            row, gpu_power_w=gpu, host_load=busy, cooling=cooling, catalog=self.catalog
        )
        return float(np.asarray(res.per_gpu_w))

    def idle_w_per_gpu(self, system: str, cooling: str | None = None) -> float:
        """IT watts per GPU of ``system`` with nothing to do."""
        return self.it_w_per_gpu(system, compute_frac=0.0, memory_frac=0.0, cooling=cooling)

    def serving_w_per_gpu(self, replica: Any, *, prompt_tokens: float, output_tokens: float,
                          batch: int, cooling: str | None = None) -> float:  # fmt: skip
        """IT watts per busy GPU of a serving ``replica`` at this batch and these lengths."""
        from gigafleet.energy import serving_power

        sp = serving_power(
            replica, prompt_tokens=prompt_tokens, output_tokens=output_tokens, batch=batch,
            cooling=cooling, catalog=self.catalog,
        )  # fmt: skip
        return sp.busy_w / replica.num_gpus

    def training_wall(self, *, model: str, num_gpus: int, ideal_s: float, system: str) -> dict:
        """Failure-inclusive wall time: Daly's checkpoint interval at the job's failure rate."""
        from gigafleet.perf.arch import arch_costs
        from gigafleet.reliability import effective_training_time

        params = float(arch_costs(self.catalog.model(model)).params_total)
        rel = effective_training_time(
            ideal_s, num_gpus, num_params=params, system=system, catalog=self.catalog
        )
        return {
            "wall_s": float(rel.wall_time_s),
            "ett": float(rel.ett),
            "interruptions_per_day": float(rel.failures_per_day),
            "mtbf_h": float(rel.mtbf_s) / 3600,
            "checkpoint_interval_s": float(rel.checkpoint_interval_s),
            "expected_failures": float(rel.expected_failures),
        }

    def inputs(self, pool: Pool):
        """Prices of ``pool``: the scenario's (site electricity, PUE, amortisation, the
        fleet entry's system price, the cloud price) over the shipped defaults."""
        from gigafleet.cost import cost_inputs

        if pool.index not in self._inputs:
            # a rented GPU has no capital cost to us: only its price counts
            price = 0.0 if pool.site_kind == "cloud" else pool.usd_per_gpu
            try:
                self._inputs[pool.index] = cost_inputs(
                    pool.system, catalog=self.catalog, system_usd_per_gpu=price,
                    electricity_usd_per_mwh=pool.electricity_usd_per_mwh, pue=pool.pue,
                    hardware_amortization_years=self.scn.amortization_years,
                    cloud_usd_per_gpu_hour=pool.price_usd_per_gpu_hour,
                )  # fmt: skip
            except GigafleetError as exc:
                if exc.field != "system_usd_per_gpu":
                    raise
                err = GigafleetError(
                    f"no sourced server price for {pool.accelerator} ({pool.system} at "
                    f"{pool.site}); give usd_per_gpu in this fleet entry",
                    field=f"sites.{pool.where[1]}.fleet.{pool.where[3]}.usd_per_gpu",
                )
                err.loc = pool.where
                raise err from None
        return self._inputs[pool.index]

    def marginal_usd_per_gpu_hour(self, pool: Pool, it_w: float) -> float:
        """What one more busy GPU-hour costs: the rent in the cloud; on owned GPUs the
        electricity above their idle draw (their capital is spent, and they idle anyway)."""
        from gigafleet.cost import energy_usd_per_gpu_hour

        inp = self.inputs(pool)
        if pool.site_kind == "cloud":
            return inp.cloud_usd_per_gpu_hour
        above = max(it_w - self.idle_w_per_gpu(pool.system, pool.cooling), 0.0)
        return float(energy_usd_per_gpu_hour(above, inputs=inp))

    def full_usd_per_gpu_hour(self, pool: Pool, it_w: float, utilization: float = 1.0) -> float:
        """Cost of a used GPU-hour: the rent, or the owned cost (capital, facility,
        maintenance spread over the used hours, plus electricity)."""
        from gigafleet.cost import owned_cost_per_gpu_hour

        inp = self.inputs(pool)
        if pool.site_kind == "cloud":
            return inp.cloud_usd_per_gpu_hour
        owned = owned_cost_per_gpu_hour(
            avg_power_w_per_gpu=it_w, inputs=inp, utilization=utilization
        )
        return float(owned.total_usd_per_gpu_hour)

    def own_vs_rent(
        self, pool: Pool, it_w: float, utilization: float, cloud_usd_per_gpu_hour: float | None
    ) -> dict[str, float]:
        """Owned cost per used GPU-hour of ``pool`` at ``utilization`` and at full use,
        the cloud price (``cloud_usd_per_gpu_hour`` if given, else the catalog's), and the
        utilization above which owning is cheaper."""
        import dataclasses

        from gigafleet.cost import break_even_utilization

        inp = self.inputs(pool)
        if cloud_usd_per_gpu_hour:
            inp = dataclasses.replace(inp, cloud_usd_per_gpu_hour=cloud_usd_per_gpu_hour)
        return {
            "owned_usd_per_gpu_hour": self.full_usd_per_gpu_hour(pool, it_w, utilization),
            "owned_usd_per_gpu_hour_full_use": self.full_usd_per_gpu_hour(pool, it_w, 1.0),
            "cloud_usd_per_gpu_hour": inp.cloud_usd_per_gpu_hour,
            "break_even_utilization": float(
                break_even_utilization(avg_power_w_per_gpu=it_w, inputs=inp)
            ),
        }
