"""The training planner: the ranking, the explanation, the Pareto front, costs and power limits."""

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.training import estimate_training
from gigafleet.plan.training import pareto_front, plan_training


def test_plan_ranks_feasible_strategies_by_objective():
    plan = plan_training(
        "llama3-70b", "dgx-h100", num_gpus=64, seq_len=8192, global_batch=256, precisions=("fp8",)
    )
    step = plan.metrics["step_time_s"]
    assert plan.num_feasible > 10
    assert np.all(plan.feasible[plan.order])
    assert np.all(np.diff(step[plan.order]) >= 0)
    # every feasible strategy is ranked, and the best is at least as fast as a hand-picked one
    assert plan.order.size == plan.num_feasible
    hand = estimate_training("llama3-70b", "dgx-h100", num_gpus=64, seq_len=8192, global_batch=256,
                             tp=4, pp=8, vp=5, precision="fp8")  # fmt: skip
    assert step[plan.order[0]] <= hand.item("step_time_s") * (1 + 1e-9)
    assert "it avoids" in plan.why()


def test_energy_objective_and_pareto_front():
    kw = dict(num_gpus=[512, 1024], seq_len=8192, global_batch=512, precisions=("fp8",))
    t = plan_training("llama3-70b", "dgx-h100", objective="time", **kw)
    e = plan_training("llama3-70b", "dgx-h100", objective="energy", **kw)
    energy = e.metrics["energy_j_per_step"]
    assert energy[e.order[0]] == pytest.approx(energy[e.feasible].min())
    assert t.metrics["step_time_s"][t.order[0]] <= t.metrics["step_time_s"][e.order[0]]
    front = t.pareto
    ft, fe = t.metrics["step_time_s"][front], energy[front]
    assert np.all(np.diff(ft) >= 0) and np.all(np.diff(fe) < 0)  # faster costs more energy along it
    # no feasible strategy beats a front point on both time and energy
    step, feas = t.metrics["step_time_s"], t.feasible
    for i in front:
        dominated = feas & (step < step[i] - 1e-12) & (energy < energy[i] - 1e-9)
        assert not np.any(dominated)


def test_pareto_front_small():
    time = np.array([1.0, 2.0, 3.0, 1.5])
    energy = np.array([5.0, 3.0, 4.0, 6.0])
    assert list(pareto_front(time, energy)) == [0, 1]


def test_cost_objective_needs_a_price():
    # no sourced server price for B200: the error asks for one
    with pytest.raises(GigafleetError, match="price per GPU-hour"):
        plan_training(
            "llama3-8b", "dgx-b200", num_gpus=8, seq_len=8192, global_batch=64, objective="cost"
        )
    # H100 has a sourced default: the owned cost per GPU-hour is used
    owned = plan_training(
        "llama3-8b", "dgx-h100", num_gpus=[8, 16], seq_len=8192, global_batch=64, objective="cost"
    )
    oc = owned.metrics["cost_usd_per_step"]
    assert np.all(np.isfinite(oc[owned.feasible])) and oc[owned.order[0]] > 0
    p = plan_training("llama3-8b", "dgx-h100", num_gpus=[8, 16], seq_len=8192, global_batch=64,
                      objective="cost", gpu_hour_usd=2.0)  # fmt: skip
    c = p.metrics["cost_usd_per_step"]
    assert c[p.order[0]] == pytest.approx(c[p.feasible].min())


def test_gpu_count_no_strategy_can_use():
    with pytest.raises(GigafleetError, match="no strategy can use 1000 GPUs"):
        plan_training("llama3-70b", "dgx-h100", num_gpus=1000, seq_len=8192, global_batch=1024)


def test_unsupported_precision():
    with pytest.raises(GigafleetError, match="does not support fp4"):
        plan_training(
            "llama3-8b", "dgx-h100", num_gpus=8, seq_len=8192, global_batch=64, precisions=("fp4",)
        )


def test_plan_power_cap_and_site_limit():
    from gigafleet.plan.training import plan_training

    kw = dict(num_gpus=64, seq_len=8192, global_batch=256)
    free = plan_training("llama3-70b", "dgx-h100", **kw)
    capped = plan_training("llama3-70b", "dgx-h100", power_cap_w=400.0, **kw)
    f = free.feasible
    assert np.all(capped.metrics["step_time_s"][f] > free.metrics["step_time_s"][f])
    assert np.all(capped.metrics["tokens_per_s"][f] < free.metrics["tokens_per_s"][f])
    # every strategy on the same GPUs peaks alike: the limit picks between GPU counts
    kw["num_gpus"] = [32, 64]
    free = plan_training("llama3-70b", "dgx-h100", **kw)
    peak = free.metrics["facility_power_peak_w"][free.feasible]
    limit = float(peak.min() + peak.max()) / 2 / 1e6
    limited = plan_training("llama3-70b", "dgx-h100", site_power_mw=limit, **kw)
    assert 0 < limited.num_feasible < free.num_feasible
    assert limited.info["num_over_site_power"] == free.num_feasible - limited.num_feasible
    assert np.all(limited.metrics["facility_power_peak_w"][limited.feasible] <= limit * 1e6)
    with pytest.raises(GigafleetError, match="site_power_mw"):
        plan_training("llama3-70b", "dgx-h100", site_power_mw=0.0, **kw)


def test_planner_plans_lora(catalog):
    """A frozen 70B base fits 8 GPUs where full training fits none; on a model both fit,
    LoRA's best step is faster (no weight-gradient GEMMs, no base optimizer)."""
    kw = dict(num_gpus=8, seq_len=8192, global_batch=8, precisions=("bf16",), catalog=catalog)
    assert plan_training("llama2-70b", "dgx-h100", **kw).num_feasible == 0
    lo70 = plan_training("llama2-70b", "dgx-h100", workload="lora", lora_rank=16, **kw)
    assert lo70.num_feasible > 0
    pre = plan_training("llama3-8b", "dgx-h100", **kw)
    lo = plan_training("llama3-8b", "dgx-h100", workload="lora", lora_rank=16, **kw)
    best = lambda p: p.row(int(p.order[0]))["step_time_s"]  # noqa: E731
    assert best(lo) < 0.85 * best(pre)


def _loop_front(time, energy):
    """The Pareto front by the plain loop (what the vectorised one must equal)."""
    order = np.lexsort((energy, time))
    front, best = [], np.inf
    for i in order:
        if energy[i] < best:
            front.append(i)
            best = energy[i]
    return np.array(front, dtype=int)


def test_pareto_front_equals_the_loop_with_ties_and_nan():
    rng = np.random.default_rng(1)
    for t in range(100):
        n = int(rng.integers(0, 60))
        time, energy = rng.integers(0, 6, n).astype(float), rng.integers(0, 6, n).astype(float)
        if n and t % 2:
            energy[rng.integers(0, n, 3)] = np.nan
        assert np.array_equal(pareto_front(time, energy), _loop_front(time, energy))


@pytest.mark.parametrize("objective", ["time", "energy"])
def test_chunks_and_top_k_give_the_full_plans_rows(monkeypatch, catalog, objective):
    """Chunked evaluation is the one-call evaluation bit for bit; a top-k plan (streamed
    chunk by chunk) keeps the full plan's best rows, Pareto front and counts."""
    import gigafleet.plan.training as training

    kw = dict(num_gpus=[32, 64], seq_len=8192, global_batch=64, precisions=("fp8",),
              objective=objective, catalog=catalog, site_power_mw=0.08)  # fmt: skip
    monkeypatch.setattr(training, "CHUNK", 1 << 40)
    whole = plan_training("llama3-70b", "gb200-nvl72", **kw)
    monkeypatch.setattr(training, "CHUNK", 997)
    full = plan_training("llama3-70b", "gb200-nvl72", **kw)
    for part in ("strategies", "metrics", "breakdown"):
        for k, v in getattr(whole, part).items():
            assert np.array_equal(v, getattr(full, part)[k], equal_nan=True), k
    assert np.array_equal(whole.order, full.order) and np.array_equal(whole.pareto, full.pareto)
    assert full.info["num_over_site_power"] > 0
    for k in (1, 7):
        top = plan_training("llama3-70b", "gb200-nvl72", top_k=k, **kw)
        assert (top.num_considered, top.num_feasible) == (full.num_considered, full.num_feasible)
        assert top.info["num_over_site_power"] == full.info["num_over_site_power"]
        assert [top.row(int(i)) for i in top.order] == [full.row(int(i)) for i in full.order[:k]]
        assert [top.row(int(i)) for i in top.pareto] == [full.row(int(i)) for i in full.pareto]
        med = plan_training("llama3-70b", "gb200-nvl72", top_k=k, median=True, **kw)
        assert med.why() == full.why() and med.num_feasible > 2


def test_smallest_is_the_stable_sorts_first_k_with_ties_and_nan():
    from gigafleet.plan.training import _smallest

    rng = np.random.default_rng(2)
    for t in range(200):
        n = int(rng.integers(1, 50))
        v = rng.integers(0, 5, n).astype(float)
        if t % 3 == 0:
            v[rng.integers(0, n, 4)] = np.nan
        k = int(rng.integers(1, n + 3))
        assert np.array_equal(_smallest(v, k), np.argsort(v, kind="stable")[:k])


def test_one_run_length_and_gpu_count_share_one_ett(catalog):
    """Without tokens every strategy of one GPU count has the same ETT: computed once, the
    same number as computed for each."""
    from gigafleet.plan.training import _cost_per_step, arch_row_params
    from gigafleet.reliability import effective_training_time

    model = catalog.model("llama3-70b")
    n = np.full(50, 1024.0)
    step = np.linspace(1.0, 3.0, 50)
    _, ett = _cost_per_step(model, "dgx-h100", n, step, step * 1e6, gpu_hour_usd=2.0,
                            train_tokens=None, tokens_per_s=1e6 / step, catalog=catalog,
                            needed=True, pue=1.2)  # fmt: skip
    each = effective_training_time(np.full(50, 30 * 86400.0), n, catalog=catalog,
                                   num_params=arch_row_params(model), system="dgx-h100").ett  # fmt: skip
    assert np.array_equal(ett, each) and ett.shape == (50,)
