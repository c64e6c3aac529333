"""Serving-plan speed: DeepSeek-V3 on a GB200 NVL72 domain with wide expert parallelism, on
one core (the case of the serving issue: 100 requests/s, 2,000 in / 600 out, TTFT 2 s, TPOT
50 ms).

    python benchmarks/bench_plan_serve.py [--model deepseek-v3] [--system gb200-nvl72] [--rate 100]

Reports the replica shapes sized in closed form, the candidates simulated, the best
deployment and the wall time (target: under 10 s), plus the closed-form sizing alone
(what a fleet sizer calls per service and pool).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from gigafleet.catalog import load_catalog  # noqa: E402
from gigafleet.plan.serving import plan_serving, serving_capacity  # noqa: E402
from gigafleet.spec.serving import ServeJob  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="deepseek-v3")
    ap.add_argument("--system", default="gb200-nvl72")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    catalog = load_catalog()
    job = ServeJob.model_validate(dict(
        model=args.model, system=args.system, precision="fp8",
        traffic=dict(rate_per_s=args.rate, prompt_tokens=2000, output_tokens=600),
        slo=dict(ttft_s=2.0, tpot_s=0.05),
    ))  # fmt: skip
    best = closed = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        plan = plan_serving(job, catalog=catalog)
        best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        cap = serving_capacity(job, catalog=catalog)
        closed = min(closed, time.perf_counter() - t0)
    b = plan["best"]
    print(f"model={args.model} system={args.system} rate={args.rate:g} req/s")
    print(
        f"shapes={plan['num_shapes']} closed_form={plan['num_closed_form']} "
        f"simulated={len(plan['candidates'])} best={b['replicas']} x {b['shape']} "
        f"gpus={b['gpus']} output_tokens_per_s_per_gpu={b['output_tokens_per_s_per_gpu']:,.0f}"
    )
    print(
        f"closed form alone: {cap['shape'].describe()} "
        f"{cap['output_tokens_per_s_per_gpu']:,.0f} output tokens/s per GPU in {closed:.3f} s"
    )
    print(f"plan serve seconds={best:.2f}; target under 10 s: "
          f"{'met' if best < 10 else 'MISSED'} (ratio {10 / best:.1f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
