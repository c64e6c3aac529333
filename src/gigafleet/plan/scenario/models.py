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
        self._ratings: dict[tuple[str, str], Any] = {}
        self._quotes: dict[tuple[str, int, str], Any] = {}

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

    def rating(self, pool: Pool):
        """Nameplate and expected peak of one system of ``pool`` (``energy/provisioning``)."""
        from gigafleet.energy.provisioning import system_rating

        key = (pool.system, pool.cooling)
        if key not in self._ratings:
            self._ratings[key] = system_rating(pool.system, cooling=pool.cooling,
                                               catalog=self.catalog)  # fmt: skip
        return self._ratings[key]

    def provisioned_it_w_per_gpu(self, pool: Pool) -> float:
        """IT watts provisioned per GPU of ``pool`` by the scenario's policy before any
        oversubscription: its system's nameplate (``rated``, and ``percentile`` before the
        draw is known) or expected peak (``peak``), with its share of the scale-out switches."""
        r = self.rating(pool)
        base = r.peak_w if self.scn.policies.power.provision_for == "peak" else r.rated_w
        return (base + r.switch_w) / pool.gpus_per_system

    def cloud_usd_per_gpu_hour(self, pool: Pool, month: int) -> float:
        """What a GPU-hour of a cloud ``pool`` costs at ``month``: the site's price if the
        scenario gives one, else the price catalog's for its system and provider kind."""
        if pool.price_usd_per_gpu_hour:
            return float(pool.price_usd_per_gpu_hour)
        return self.rent_quote(pool.system, month, kind=pool.cloud_kind).value

    def rent_quote(self, system: str, month: int, *, kind: str | None = None):
        """The catalog's price of renting ``system`` at ``month`` (provider kind: ``kind``,
        else the scenario's ``policies.rent_as``), with its basis."""
        from gigafleet.cost.prices import cloud_price

        kind = kind or self.scn.policies.rent_as
        key = (system, month, kind)
        if key not in self._quotes:
            self._quotes[key] = cloud_price(self.catalog.params.prices, system, kind=kind,
                                            month=month, catalog=self.catalog)  # fmt: skip
        return self._quotes[key]

    def inputs(self, pool: Pool):
        """Prices of ``pool``: the scenario's (site electricity, PUE, amortisation, the
        fleet entry's system price, the cloud price) over the catalog's (capital per
        system, network at the tiers the pool's ports need, facility per provisioned MW)."""
        from gigafleet.cost import cost_inputs
        from gigafleet.cost.prices import network_tiers

        if pool.index not in self._inputs:
            # a rented GPU has no capital cost to us: only its price counts
            price = 0.0 if pool.site_kind == "cloud" else pool.usd_per_gpu
            row = self.catalog.system(pool.system)
            ports = pool.num_systems * row.num_nics
            mid = self.scn.timeline.months()
            month = mid[len(mid) // 2] if mid else None
            try:
                self._inputs[pool.index] = cost_inputs(
                    pool.system, catalog=self.catalog, system_usd_per_gpu=price,
                    electricity_usd_per_mwh=pool.electricity_usd_per_mwh, pue=pool.pue,
                    hardware_amortization_years=self.scn.amortization_years,
                    cloud_usd_per_gpu_hour=pool.price_usd_per_gpu_hour,
                    facility_w_per_gpu=self.provisioned_it_w_per_gpu(pool),
                    network_tiers=network_tiers(ports), month=month,
                    cloud_kind=pool.cloud_kind if pool.site_kind == "cloud" else self.scn.policies.rent_as,
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

    def marginal_usd_per_gpu_hour(self, pool: Pool, it_w: float, month: int | None = None) -> float:
        """What one more busy GPU-hour costs: the rent in the cloud (at ``month``); on owned
        GPUs the electricity above their idle draw (their capital is spent, and they idle
        anyway)."""
        from gigafleet.cost import energy_usd_per_gpu_hour

        inp = self.inputs(pool)
        if pool.site_kind == "cloud":
            if month is not None:
                return self.cloud_usd_per_gpu_hour(pool, month)
            return inp.cloud_usd_per_gpu_hour
        above = max(it_w - self.idle_w_per_gpu(pool.system, pool.cooling), 0.0)
        return float(energy_usd_per_gpu_hour(above, inputs=inp))

    def full_usd_per_gpu_hour(self, pool: Pool, it_w: float, utilization: float = 1.0,
                              month: int | None = None) -> float:  # fmt: skip
        """Cost of a used GPU-hour: the rent (at ``month``), or the owned cost (capital,
        facility, maintenance spread over the used hours, plus electricity)."""
        from gigafleet.cost import owned_cost_per_gpu_hour

        inp = self.inputs(pool)
        if pool.site_kind == "cloud":
            if month is not None:
                return self.cloud_usd_per_gpu_hour(pool, month)
            return inp.cloud_usd_per_gpu_hour
        owned = owned_cost_per_gpu_hour(
            avg_power_w_per_gpu=it_w, inputs=inp, utilization=utilization
        )
        return float(owned.total_usd_per_gpu_hour)

    def own_vs_rent(
        self, pool: Pool, it_w: float, utilization: float, cloud_usd_per_gpu_hour: float,
        *, facility_w_per_gpu: float | None = None,
    ) -> dict[str, float]:  # fmt: skip
        """Owned cost per used GPU-hour of ``pool`` at ``utilization`` and at full use (the
        facility at ``facility_w_per_gpu`` if given: the provisioned share of an
        oversubscribed site), against renting it at ``cloud_usd_per_gpu_hour``, and the
        utilization above which owning is cheaper."""
        import dataclasses

        from gigafleet.cost import break_even_utilization, owned_cost_per_gpu_hour

        inp = dataclasses.replace(self.inputs(pool), cloud_usd_per_gpu_hour=cloud_usd_per_gpu_hour)
        if facility_w_per_gpu is not None:
            inp = dataclasses.replace(inp, facility_w_per_gpu=facility_w_per_gpu)

        def owned(u: float) -> float:
            return float(owned_cost_per_gpu_hour(avg_power_w_per_gpu=it_w, inputs=inp,
                                                 utilization=u).total_usd_per_gpu_hour)  # fmt: skip

        return {
            "owned_usd_per_gpu_hour": owned(utilization),
            "owned_usd_per_gpu_hour_full_use": owned(1.0),
            "cloud_usd_per_gpu_hour": cloud_usd_per_gpu_hour,
            "break_even_utilization": float(
                break_even_utilization(avg_power_w_per_gpu=it_w, inputs=inp)
            ),
        }
