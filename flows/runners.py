"""The task runner for fan-out work: Prefect's own ``DaskTaskRunner`` (prefect-dask), never a home-made pool.

``task_runner(settings)`` gives, by ``WAFAD_TASK_RUNNER``:

* ``dask`` (default): ``WAFAD_DASK_ADDRESS`` set, the existing scheduler there (dask-kubernetes, Coiled, EMR,
  a ``dask scheduler`` on another machine); unset, a ``distributed.LocalCluster`` on this machine with one
  single-threaded worker process per core (``WAFAD_DASK_WORKERS`` overrides the count), started when the flow
  starts and closed when it ends. Forest models hold the GIL (numba/JPype), so processes, not threads.
* ``serial``: Prefect's ``ThreadPoolTaskRunner`` with one thread, i.e. one task after another in this process.

Results must not depend on the runner: tasks take everything they need as arguments (settings included) and
write idempotently, so a task re-run on another worker after a worker died gives the same documents.

    flow.with_options(task_runner=task_runner(settings))(...)
"""

from __future__ import annotations

import os
from typing import Any

from wafad.settings import Settings


def local_worker_count(settings: Settings) -> int:
    """Worker processes of the local cluster: the setting, else the machine's cores (at least 1)."""
    return settings.dask_workers or max(1, os.cpu_count() or 1)


def task_runner(settings: Settings, *, workers: int | None = None) -> Any:
    """Prefect task runner for ``settings``; ``workers`` overrides the local cluster's size (``serial``: ignored)."""
    if settings.task_runner == "serial":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=1)
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    n = workers or local_worker_count(settings)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": n,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,  # no web UI port opened by the flow
            "host": "127.0.0.1",
        },
    )


def describe(settings: Settings, *, workers: int | None = None) -> str:
    """One line saying where fan-out work runs (for logs and the CLI)."""
    if settings.task_runner == "serial":
        return "serially in this process"
    if settings.dask_address:
        return f"on the Dask scheduler at {settings.dask_address}"
    return f"on a local Dask cluster of {workers or local_worker_count(settings)} worker processes"
