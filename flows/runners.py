"""The task runner for fan-out work: Prefect's own ``DaskTaskRunner`` (prefect-dask), never a home-made pool.

``task_runner(settings)`` gives, by ``WAFAD_TASK_RUNNER``:

* ``dask`` (default): ``WAFAD_DASK_ADDRESS`` set, the existing scheduler there (dask-kubernetes, Coiled, EMR,
  a ``dask scheduler`` on another machine); unset, a ``distributed.LocalCluster`` on this machine with one
  single-threaded worker process per core (``WAFAD_DASK_WORKERS`` overrides the count), started when the flow
  starts and closed when it ends. Forest models hold the GIL (numba/JPype), so processes, not threads. No web
  dashboard is opened, and the scheduler's own HTTP routes listen on a free loopback port, not 8787.
* ``serial``: Prefect's ``ThreadPoolTaskRunner`` with one thread, i.e. one task after another in this process.

Tasks on Dask workers report to the flow's Prefect API: Prefect hands each task the flow's settings, so when the
flow talks to a temporary (ephemeral) server, :class:`WafadDaskTaskRunner` puts that server's URL into those
settings before the cluster starts; otherwise every worker process would start a temporary server of its own.

Results must not depend on the runner: tasks take everything they need as arguments (settings included) and
write idempotently, so a task re-run on another worker after a worker died gives the same documents.

    flow.with_options(task_runner=task_runner(settings))(...)
"""

from __future__ import annotations

import os
from typing import Any

from prefect_dask import DaskTaskRunner

from wafad.settings import Settings

RUNNERS = ("dask", "serial")


class WafadDaskTaskRunner(DaskTaskRunner):
    """``DaskTaskRunner`` whose workers use the flow's Prefect API, even a temporary one."""

    def __enter__(self) -> WafadDaskTaskRunner:
        from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

        super().__enter__()
        if get_current_settings().api.url is None:
            url = ephemeral_api_url()
            if url is not None:  # entered before the cluster: the first task already carries it
                self._exit_stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
        return self


def ephemeral_api_url() -> str | None:
    """The URL of the temporary Prefect server this process started, None when there is none."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    return server.api_url if server.running else None


def with_runner(settings: Settings, runner: str | None = None, workers: int | None = None) -> Settings:
    """``settings`` with the task runner (``dask``/``serial``) and local worker count given on the command line."""
    if runner is not None and runner not in RUNNERS:
        raise ValueError(f"runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    update: dict[str, Any] = {}
    if runner is not None:
        update["task_runner"] = runner
    if workers is not None:
        update["dask_workers"] = workers
    return settings.model_copy(update=update) if update else settings


def local_worker_count(settings: Settings) -> int:
    """Worker processes of the local cluster: the setting, else the machine's cores (at least 1)."""
    return settings.dask_workers or max(1, os.cpu_count() or 1)


def task_runner(settings: Settings, *, workers: int | None = None) -> Any:
    """Prefect task runner for ``settings``; ``workers`` overrides the local cluster's size (``serial``: ignored)."""
    if settings.task_runner == "serial":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=1)
    if settings.dask_address:
        return WafadDaskTaskRunner(address=settings.dask_address)
    n = workers or local_worker_count(settings)
    return WafadDaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": n,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            # no web dashboard; the scheduler's HTTP routes (health, metrics) would still take port 8787 on every
            # interface without an address of their own: a free port on the loopback instead
            "dashboard_address": None,
            "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
        },
    )


def describe(settings: Settings, *, workers: int | None = None) -> str:
    """One line saying where fan-out work runs (for logs and the CLI)."""
    if settings.task_runner == "serial":
        return "serially in this process"
    if settings.dask_address:
        return f"on the Dask scheduler at {settings.dask_address}"
    return f"on a local Dask cluster of {workers or local_worker_count(settings)} worker processes"
