"""Place services: after training, the services share what is left, period by period,
through one integer program (HiGHS) in whole replicas: ``n[w,p]`` replicas of ``g[w,p]``
GPUs of pool ``p`` for service ``w``,

    minimise   sum c[w,p] g n[w,p]       (after minimising sum u[w] / D[w] first)
    subject to sum_p cap[w,p] g n[w,p] + u[w] >= D[w]          (peak demand, or unmet u)
               sum_w g n[w,p] <= GPUs of p in service            (inventory)
               sum_{w,p at s} P[w,p] g n[w,p] <= cap_s - idle_s - training_s   (site power)

where ``c`` is the hourly cost of a busy GPU (for owned GPUs the electricity above their
idle draw, for cloud ones the period's price) and ``P`` its facility power above idle (installed
GPUs draw their idle power whether used or not). Policies remove pairs (TEE work off
non-TEE sites, residency, cloud bursting). Unmet demand is explained by the constraint that
binds (``binding_service``).
"""

from __future__ import annotations

import numpy as np

from gigafleet.plan.scenario.pools import binding, eligible
from gigafleet.plan.scenario.size import fit_for
from gigafleet.plan.scenario.state import ScenarioState
from gigafleet.plan.scenario.workloads import peak_demand
from gigafleet.spec.scenario import AdapterRefresh, PrivateService, month_text

#: Weight of unmet (normalised) demand in the placement program's first phase.
UNMET_PENALTY = 1e9


def service_options(state: ScenarioState) -> None:
    """What each pool offers each service (the program's coefficients): capacity, facility
    power over idle and marginal and full cost per busy GPU, GPUs per replica; and, where a
    pool cannot take the service, why (``state.why_not``)."""
    scn, models, idle_w = state.scn, state.models, state.idle_w
    for w, svc in enumerate(state.services):
        private = isinstance(svc, PrivateService)
        training = isinstance(svc, AdapterRefresh)  # fine-tuning follows the training policy
        for p, pool in enumerate(state.pools):
            reason = eligible(scn, svc.name, pool, private=private, training=training)
            if reason:
                state.why_not[w].append(reason)
                continue
            f = fit_for(state, svc, pool)
            if f.capacity_per_gpu <= 0:
                state.why_not[w].append(f.reason or "memory")
                continue
            state.cap[w, p] = f.capacity_per_gpu
            state.rep_gpus[w, p] = f.detail.get("gpus_per_replica", 1)
            state.power[w, p] = f.power_w_per_gpu * pool.pue - idle_w[p]  # over idle
            state.cost[w, p] = models.marginal_usd_per_gpu_hour(pool, f.power_w_per_gpu)
            state.full[w, p] = models.full_usd_per_gpu_hour(pool, f.power_w_per_gpu)


def place_services(state: ScenarioState) -> None:
    """One program per period over the GPUs training left and each site's power budget (its
    cap less the idle draw and training); fills ``state.demand``, ``state.placed`` and
    ``state.unmet``, and warns once per site whose idle fleet and training exceed its cap."""
    scn, pools, sites, site_names = state.scn, state.pools, state.sites, state.site_names
    cap, power, cost, rep_gpus = state.cap, state.power, state.cost, state.rep_gpus
    idle_site, training_power = state.idle_site, state.training_power
    demand, placed, unmet = state.demand, state.placed, state.unmet
    num_w = len(state.services)
    over_cap: set[str] = set()
    for k, m in enumerate(state.months):
        state.say(f"placing {month_text(m)}")
        inv = np.array(
            [max(pool.num_gpus - state.reserved[k, pool.index], 0.0) if pool.active(m) else 0.0
             for pool in pools]
        )  # fmt: skip
        demand[k] = [peak_demand(s, m) for s in state.services]
        budget = state.cap_w - idle_site[k] - training_power[k]
        for i, n in enumerate(site_names):
            if budget[i] < 0 and n not in over_cap:
                over_cap.add(n)
                state.warnings.append(
                    f"power: site {n} draws {(idle_site[k, i] + training_power[k, i]) / 1e6:,.0f} MW "
                    f"from {month_text(m)} (idle fleet and training), over its "
                    f"{sites[n].power_mw * scn.policies.power_cap_fraction:,.0f} MW cap"
                )
        live = demand[k] > 0
        # rent moves along its price trajectory: the period's price for cloud pools
        cost_k = cost.copy()
        for pool in pools:
            if pool.site_kind == "cloud" and pool.active(m):
                cost_k[:, pool.index] = np.where(
                    cap[:, pool.index] > 0, state.models.cloud_usd_per_gpu_hour(pool, m), 0.0
                )
        if num_w and live.any():
            whole, _ = solve_placement(
                cost_k[live], cap[live] * (inv > 0), power[live], demand[k][live], inv,
                state.site_of, budget, rep_gpus[live],
            )  # fmt: skip
            placed[k][live] = whole
            served = np.sum(whole * cap[live], axis=1)
            unmet[k][live] = np.maximum(demand[k][live] - served, 0.0)


# ---- the program ----------------------------------------------------------------------------


def _quiet_highs(highspy):
    """A HiGHS instance; its C++ banner (printed once per process on stdout) is kept off the
    terminal, where it would break ``--json`` output."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def _run_mip(h, highspy) -> None:
    """Solve; an optimal placement, or a feasible one at the time limit, else an error."""
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return
    if status == highspy.HighsModelStatus.kTimeLimit and h.getInfo().primal_solution_status == 2:
        return  # a feasible placement; the caller is told it may not be the cheapest
    raise RuntimeError(f"placement program not solved: {h.modelStatusToString(status)}")


def solve_placement(cost, cap, power, demand, inventory, site_of, site_budget, rep_gpus):
    """The placement program (module docstring) with HiGHS, in whole replicas: ``n[w, p]``
    integer replicas of ``rep_gpus[w, p]`` GPUs each (``x = g n``). Returns x[w, p] (GPUs)
    and u[w] (unmet demand)."""
    import highspy

    num_w, num_p = cap.shape
    pairs = [(w, p) for w in range(num_w) for p in range(num_p) if cap[w, p] > 0]
    col = {pair: i for i, pair in enumerate(pairs)}
    g = {pair: float(rep_gpus[pair]) for pair in pairs}
    h = _quiet_highs(highspy)
    h.setOptionValue("mip_rel_gap", 1e-4)
    h.setOptionValue("time_limit", 30.0)
    inf = highspy.kHighsInf
    for pair in pairs:  # replicas
        h.addVar(0.0, inf)
        h.changeColCost(col[pair], float(cost[pair]) * g[pair])
        h.changeColIntegrality(col[pair], highspy.HighsVarType.kInteger)
    u0 = len(pairs)
    # unmet demand as a share of the service's demand (u = share x D): every service weighs
    # alike, and no coefficient falls below the solver's smallest (1/D would, past D = 1e9)
    scale = np.maximum(np.asarray(demand, dtype=float), 1e-12)
    for w in range(num_w):
        h.addVar(0.0, inf)
        h.changeColCost(u0 + w, UNMET_PENALTY)

    def row(lo: float, hi: float, idx: list[int], val: list[float]) -> None:
        if idx:
            h.addRow(lo, hi, len(idx), np.array(idx, dtype=np.int32), np.array(val, dtype=float))

    for w in range(num_w):  # capacity + unmet >= demand
        mine = [pr for pr in pairs if pr[0] == w]
        row(float(demand[w]), inf, [col[pr] for pr in mine] + [u0 + w],
            [float(cap[pr]) * g[pr] for pr in mine] + [float(scale[w])])  # fmt: skip
    for p in range(num_p):  # inventory
        mine = [pr for pr in pairs if pr[1] == p]
        row(-inf, float(inventory[p]), [col[pr] for pr in mine], [g[pr] for pr in mine])
    for s, budget in enumerate(site_budget):  # facility power above the idle draw
        mine = [pr for pr in pairs if site_of[pr[1]] == s]
        row(-inf, float(max(budget, 0.0)), [col[pr] for pr in mine],
            [float(power[pr]) * g[pr] for pr in mine])  # fmt: skip
    # Two phases, so the penalty's scale does not swamp the cost: least unmet demand first,
    # then the least cost that keeps it.
    costs = list(h.getLp().col_cost_)
    for i in range(u0):
        h.changeColCost(i, 0.0)
    _run_mip(h, highspy)
    unmet_share = float(h.getInfo().objective_function_value) / UNMET_PENALTY
    row(-inf, unmet_share * (1 + 1e-6) + 1e-9, list(range(u0, u0 + num_w)), [1.0] * num_w)
    for i in range(h.getNumCol()):
        h.changeColCost(i, costs[i] if i < u0 else 0.0)
    _run_mip(h, highspy)
    sol = np.asarray(h.getSolution().col_value)
    x = np.zeros((num_w, num_p))
    for pair, i in col.items():
        x[pair] = round(sol[i]) * g[pair]
    return x, sol[u0 : u0 + num_w] * scale


# ---- what binds -----------------------------------------------------------------------------


def binding_service(state: ScenarioState, w: int, k: int) -> str:
    """Why service ``w`` is short in period ``k``: power at its sites' caps, else its pools
    full (less than a replica free), with the rules that kept it off the other pools
    (``state.periods[k]`` gives the sites' draw and free GPUs)."""
    pools, cap, rep_gpus = state.pools, state.cap, state.rep_gpus
    placed, reasons = state.placed[k], state.why_not[w]
    usable = [p for p in range(len(pools)) if cap[w, p] > 0]
    if not usable:
        return binding(reasons) if reasons else "GPUs: no pool in service"
    site_rows = {r["site"]: r for r in state.periods[k]["sites"]}
    capped = sorted(
        {pools[p].site for p in usable
         if site_rows[pools[p].site]["facility_mw"] >= 0.99 * site_rows[pools[p].site]["cap_mw"]}
    )  # fmt: skip
    full = [
        p for p in usable
        if site_rows[pools[p].site]["free_gpus"].get(pools[p].system, 0) < 2 * rep_gpus[w, p]
    ]  # fmt: skip
    also = sorted(set(reasons))
    also_txt = f" (elsewhere: {'; '.join(also)})" if also else ""
    if capped:
        return f"power: sites at their cap: {', '.join(capped)}{also_txt}"
    if len(full) == len(usable):
        n = sum(placed[:, p].sum() for p in usable)
        return f"GPUs: all {n:,.0f} eligible GPUs are in use{also_txt}"
    return binding(reasons) if reasons else "GPUs: eligible pools are full or not in service"
