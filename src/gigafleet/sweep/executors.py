"""One interface over where tasks run: a local process pool, a Dask or a Ray cluster.

``submit_all(fn, args_list)`` yields results as tasks finish. Dask and Ray are optional
extras (``pip install gigafleet[dask]`` / ``[ray]``); their imports happen only here.
Workers must see the output folder (a shared filesystem on a real cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gigafleet.errors import GigafleetError
from gigafleet.sweep.spec import Executor


def run_tasks(ex: Executor, fn: Callable[..., Any], tasks: list[tuple[Any, ...]]) -> Iterator[Any]:
    """Run ``fn(*task)`` for every task on the chosen executor; yield results as they finish."""
    if not tasks:
        return iter(())
    if ex.kind == "local":
        return _local(ex, fn, tasks)
    if ex.kind == "dask":
        return _dask(ex, fn, tasks)
    return _ray(ex, fn, tasks)


def _local(ex: Executor, fn, tasks):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")  # no forked state; same behaviour on every platform
    with ProcessPoolExecutor(max_workers=min(ex.workers, len(tasks)), mp_context=ctx) as pool:
        futures = [pool.submit(fn, *t) for t in tasks]
        for f in as_completed(futures):
            yield f.result()


def _dask(ex: Executor, fn, tasks):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise GigafleetError(
            "the Dask executor needs dask.distributed: pip install 'gigafleet[dask]'",
            field="executor.kind",
        ) from None
    # No address: an in-process cluster (threads), useful for tests and small sweeps.
    client = (
        Client(ex.address)
        if ex.address
        else Client(processes=False, n_workers=1, threads_per_worker=ex.workers)
    )
    try:
        futures = [client.submit(fn, *t, pure=False) for t in tasks]
        for f in as_completed(futures):
            yield f.result()
    finally:
        client.close()


def _ray(ex: Executor, fn, tasks):
    try:
        import ray
    except ImportError:
        raise GigafleetError(
            "the Ray executor needs ray: pip install 'gigafleet[ray]'", field="executor.kind"
        ) from None
    started = False
    if not ray.is_initialized():
        ray.init(
            address=ex.address, num_cpus=None if ex.address else ex.workers, include_dashboard=False
        )
        started = True
    try:
        remote = ray.remote(fn)
        pending = [remote.remote(*t) for t in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()
