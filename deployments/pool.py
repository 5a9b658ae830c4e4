"""The process work pool ``wafad-process`` and the ``prefect.yaml`` deployments on it.

:func:`ensure_work_pool` creates the pool when it is missing (idempotent); :func:`deploy` runs ``prefect deploy`` on
``deployments/prefect.yaml`` and pauses or resumes the schedules. The yaml's pull step changes into
``{{ $WAFAD_ROOT }}``: :func:`deploy` leaves that template unresolved, so each worker resolves it from its own
environment and machines may keep their checkout at different paths.

Prefect must point at the right server (``PREFECT_API_URL``) before these run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = Path(__file__).with_name("prefect.yaml")
POOL = "wafad-process"
#: pool deployments are named like the served ones plus this suffix (a deployment is identified by flow + name)
POOL_SUFFIX = "-pool"


class PoolError(RuntimeError):
    """The pool or its deployments could not be set up; the message says why."""


def pool_deployment_names(only: list[str] | None = None) -> list[str]:
    """The ``prefect.yaml`` deployment names, or those of ``only`` (served names or pool names both accepted)."""
    import yaml

    declared = [d["name"] for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]]
    if not only:
        return declared
    wanted = [n if n.endswith(POOL_SUFFIX) else n + POOL_SUFFIX for n in only]
    unknown = [n for n in wanted if n not in declared]
    if unknown:
        raise PoolError(f"unknown deployment(s) {unknown}; {PREFECT_YAML.name} declares: {', '.join(declared)}")
    return wanted


def ensure_work_pool(pool: str = POOL) -> bool:
    """Create the process work pool unless it exists; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
            return False
        except ObjectNotFound:
            pass
        template = ProcessWorker.get_default_base_job_template()
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process", base_job_template=template))
        except ObjectAlreadyExists:  # created meanwhile by another process
            return False
    return True


def deploy(
    names: list[str] | None = None, *, paused: bool = False, pool: str = POOL, timeout_s: float = 600
) -> list[str]:
    """``prefect deploy`` the yaml's deployments (all, or ``names``) to ``pool``; set their schedules paused or
    active; return their full names (``flow/deployment``)."""
    names = pool_deployment_names(names)
    argv = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--prefect-file", str(PREFECT_YAML)]
    for name in names:
        argv += ["--name", name]
    env = {k: v for k, v in os.environ.items() if k != "WAFAD_ROOT"}  # keep {{ $WAFAD_ROOT }} for the workers
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    try:
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise PoolError(f"prefect deploy did not finish within {timeout_s:.0f} s") from None
    if done.returncode != 0:
        lines = [ln.strip(" │╭╮╰╯─") for ln in (done.stdout + done.stderr).splitlines()]
        last = next((ln for ln in reversed(lines) if ln), "no output")
        raise PoolError(f"prefect deploy failed (exit {done.returncode}): {last}")
    return set_paused(names, paused, pool=pool)


def set_paused(names: list[str], paused: bool, *, pool: str = POOL) -> list[str]:
    """Pause or resume the schedules of these pool deployments; return their full names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        WorkPoolFilter,
        WorkPoolFilterName,
    )

    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=names)),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
        )
        missing = sorted(set(names) - {d.name for d in found})
        if missing:
            raise PoolError(f"prefect deploy reported success but {missing} are not on pool {pool}")
        full = []
        for dep in found:
            (client.pause_deployment if paused else client.resume_deployment)(dep.id)
            full.append(f"{client.read_flow(dep.flow_id).name}/{dep.name}")
    return sorted(full)
