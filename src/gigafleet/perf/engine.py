"""What a serving engine adds to the roofline of one iteration: its kernels, its host work.

A serving iteration on the GPU is the roofline of :mod:`gigafleet.perf.inference`. What an
engine changes, and how (each term named after what it stands for):

* **Kernel efficiency** ``e_k``: the engine's GEMM and attention kernels reach ``e_k`` times
  the FLOP rate the training calibration gives the same hardware generation (fused FP8
  attention, tuned GEMM tiles, quantisation fused into neighbours). It divides the
  compute-bound terms only: memory traffic runs at the HBM efficiency of the roofline, so a
  memory-bound decode step (small batches, Interactive) does not inherit a compute fit.
  It is the one fitted number, per engine release (``serving.engines.<engine>.releases`` in
  catalog/data/calibration.yaml, each fitted on the MLPerf Offline rows named there, by
  ``gigafleet.validate.mlperf_fit``). A release without fitted rows uses the closest earlier
  one and says so; leave-one-round-out validation measures what that costs.
* **Host work per iteration** (scheduling, input preparation, sampling, detokenisation):
  ``h = h_iter + h_seq (D + 1)`` seconds for ``D`` running sequences. An engine whose
  scheduler overlaps the next iteration's host work with the current GPU work (TensorRT-LLM's
  overlap scheduler, SGLang's zero-overhead scheduler) costs ``max(t_gpu, h)``; one that
  does not costs ``t_gpu + h``. Multi-step scheduling (vLLM ``--num-scheduler-steps``)
  divides ``h`` by the steps.
* **Kernel launches**: the CPU enqueues ``k`` kernels per layer at ``LAUNCH_S`` each; the GPU
  can run no faster than they arrive, so an eager iteration costs ``max(t_gpu, k L LAUNCH_S)``.
  A captured CUDA graph (decode iterations in TensorRT-LLM, vLLM and SGLang) replays the
  whole iteration with one launch: no per-kernel cost. Iterations that prefill run eagerly.

The host and launch constants are estimates from the sources named on each; they matter for
small fast iterations (Interactive, decode of small models), not for MLPerf Offline, whose
iterations last 0.1-0.3 s.
"""

from __future__ import annotations

from dataclasses import dataclass

from gigafleet.catalog import Catalog
from gigafleet.catalog.params import EngineRelease
from gigafleet.enums import ENGINES
from gigafleet.errors import GigafleetError

#: CPU time to launch one CUDA kernel. Estimate: a few microseconds per launch is the common
#: figure (NVIDIA developer blog "Getting Started with CUDA Graphs", 2019: launch overheads of
#: microseconds per kernel, removed by graph replay); 4 us taken.
LAUNCH_S = 4e-6
#: Kernels per transformer layer in an eager iteration: norms, QKV, rotary, attention, output
#: projection, residuals, MLP or router + grouped experts. Estimate from the layer structure.
KERNELS_PER_LAYER = 12


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """One serving engine release: its fitted kernel efficiency and its host behaviour."""

    name: str
    release: str
    kernel_efficiency: float
    host_s_per_iteration: float
    host_s_per_sequence: float
    host_overlap: bool
    cuda_graphs: bool
    status: str  # "fitted on ...", "from release ...", "not applied"

    def host_time(self, num_seqs: int) -> float:
        """Host seconds of one iteration with ``num_seqs`` running sequences."""
        return self.host_s_per_iteration + self.host_s_per_sequence * (num_seqs + 1)


#: The bare roofline: no engine term at all (``engine=None``).
BARE = EngineProfile("none", "", 1.0, 0.0, 0.0, True, True, "not applied")

#: Host behaviour per engine (not fitted). Sources:
#: tensorrt-llm: C++ executor with in-flight batching; the overlap scheduler is on by default
#:   and hides host work behind the previous iteration at the cost of one extra step
#:   (nvidia.github.io/TensorRT-LLM torch/features/overlap_scheduler.html); CUDA graphs for
#:   generation (TensorRT-LLM tech blog 3: +22% end to end). Host seconds: estimate (a C++
#:   scheduler; about 1 ms per iteration and 2 us per sequence).
#: vllm: vLLM 0.5 spent 29% of a Llama-3-8B step on scheduling and 33% in the API server, the
#:   GPU 38% (blog.vllm.ai 2024-09-05, H100, 1 token per 13 ms at light load): about 8 ms of
#:   host per step; v0.6 multi-step scheduling spreads it over 10 steps, which the AMD MLPerf
#:   submissions use (ROCm blog "MI325X accelerates MLPerf Inference", 2025-04-02), so 0.8 ms
#:   per iteration is exposed; HIP/CUDA graphs for decode. Per sequence: estimate 5 us.
#: sglang: zero-overhead (overlapped) batch scheduler, "no single idle time on the GPU"
#:   (lmsys.org/blog/2024-12-04-sglang-v0-4); CUDA graphs. Host seconds: estimate as
#:   TensorRT-LLM.
HOST = {
    "tensorrt-llm": dict(host_s_per_iteration=1e-3, host_s_per_sequence=2e-6,
                         host_overlap=True, cuda_graphs=True),
    "vllm": dict(host_s_per_iteration=8e-4, host_s_per_sequence=5e-6,
                 host_overlap=False, cuda_graphs=True),
    "sglang": dict(host_s_per_iteration=1e-3, host_s_per_sequence=2e-6,
                   host_overlap=True, cuda_graphs=True),
}  # fmt: skip


def _release_key(release: str) -> tuple[int, ...]:
    """``v5.0`` -> (5, 0): releases are named after the MLPerf round that first used them."""
    try:
        return tuple(int(x) for x in release.lstrip("v").split("."))
    except ValueError:
        return (0,)


def releases_of(catalog: Catalog, engine: str) -> dict[str, EngineRelease]:
    """Fitted releases of ``engine`` (release name -> its calibration entry), oldest first."""
    eng = catalog.params.calibration.serving.engines.get(engine)
    rel = eng.releases if eng is not None else {}
    return dict(sorted(rel.items(), key=lambda kv: _release_key(kv[0])))


def engine_profile(
    catalog: Catalog, engine: str | None, release: str | None = None
) -> EngineProfile:
    """The profile of ``engine`` at ``release`` (default: its latest fitted release).

    A release with no fitted entry uses the latest fitted release before it (or the earliest
    after it when none is earlier) and its ``status`` says which. ``engine=None`` is the bare
    roofline.
    """
    if engine is None:
        return BARE
    if engine not in ENGINES:
        raise GigafleetError(
            f"unknown serving engine {engine!r}; allowed: {', '.join(ENGINES)}",
            field="engine",
            allowed=ENGINES,
        )
    host = HOST[engine]
    rels = releases_of(catalog, engine)
    if not rels:
        return EngineProfile(engine, release or "", 1.0, **host, status="uncalibrated")
    names = list(rels)
    if release is None:
        use = names[-1]
    elif release in rels:
        use = release
    else:
        earlier = [r for r in names if _release_key(r) < _release_key(release)]
        use = earlier[-1] if earlier else names[0]
    entry = rels[use]
    status = "fitted" if use == (release or use) else f"release {use}'s fit (no fit for {release})"
    return EngineProfile(engine, use, entry.kernel_efficiency, **host, status=status)


__all__ = [
    "BARE",
    "HOST",
    "KERNELS_PER_LAYER",
    "LAUNCH_S",
    "EngineProfile",
    "engine_profile",
    "releases_of",
]
