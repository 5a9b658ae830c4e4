"""Every deployment with its schedule, served from one process (``wafad serve`` / ``python -m deployments.serve``).

| deployment | flow | schedule |
|---|---|---|
| ``simulate/simulate-every-minute`` | live simulation (+ local ingest pump) | every minute |
| ``backfill/backfill-hourly`` | complete the previous hour | hourly at :05, one run at a time |
| ``detect-and-alert/detect-and-alert`` | detectors + alerts | every detector interval |
| ``crosscheck/crosscheck-daily`` | detectors vs offline_rcf | daily 00:30 UTC |
| ``ensure-infrastructure/ensure-infrastructure`` | idempotent resources | on demand |
| ``demo/demo`` | the end-to-end demo | on demand |

The ``prefect.yaml`` next to this file declares the same flows for a process work pool, with names ending in
``-pool`` (a deployment is identified by flow + name, so the two mechanisms must not share names).
:func:`serve_on_pool` (``wafad serve --workers N``) deploys those instead and runs them on N local workers.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wafad.settings import Settings

DEPLOYMENT_NAMES = (
    "simulate-every-minute",
    "backfill-hourly",
    "detect-and-alert",
    "crosscheck-daily",
    "ensure-infrastructure",
    "demo",
)


def build_deployments(only: list[str] | None = None, paused: bool = False) -> list[Any]:
    """The RunnerDeployments to serve (``only``: a subset by deployment name)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    from flows.backfill import backfill_flow
    from flows.crosscheck import crosscheck_flow
    from flows.demo import demo_flow
    from flows.detect_and_alert import detect_and_alert_flow
    from flows.ensure_infrastructure import ensure_infrastructure_flow
    from flows.simulate import simulate_flow
    from wafad.settings import get_settings

    settings = get_settings()
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
    skip_if_busy = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    tags = ["wafad", settings.target]
    specs: dict[str, Any] = {
        "simulate-every-minute": lambda: simulate_flow.to_deployment(
            name="simulate-every-minute",
            interval=timedelta(minutes=1),
            parameters={"minutes": 1, "rate": 4.0, "anomaly": None},
            concurrency_limit=skip_if_busy,
            paused=paused,
            tags=tags,
            description="Live simulation of the last minute (anomaly toggle: parameter `anomaly`)",
        ),
        "backfill-hourly": lambda: backfill_flow.to_deployment(
            name="backfill-hourly",
            cron="5 * * * *",
            concurrency_limit=one_at_a_time,
            paused=paused,
            tags=tags,
            description="Complete the previous hour: re-drive unindexed S3 objects, historical detector analysis",
        ),
        "detect-and-alert": lambda: detect_and_alert_flow.to_deployment(
            name="detect-and-alert",
            interval=timedelta(minutes=settings.detector_interval_minutes),
            concurrency_limit=skip_if_busy,
            paused=paused,
            tags=tags,
            description="Run the detectors up to the latest complete interval and send alerts",
        ),
        "crosscheck-daily": lambda: crosscheck_flow.to_deployment(
            name="crosscheck-daily",
            cron="30 0 * * *",
            concurrency_limit=one_at_a_time,
            paused=paused,
            tags=tags,
            description="Compare detector results with offline_rcf for the previous day",
        ),
        "ensure-infrastructure": lambda: ensure_infrastructure_flow.to_deployment(
            name="ensure-infrastructure",
            concurrency_limit=one_at_a_time,
            tags=tags,
            description="Create or verify every resource (idempotent)",
        ),
        "demo": lambda: demo_flow.to_deployment(
            name="demo", concurrency_limit=skip_if_busy, tags=tags, description="The end-to-end demo"
        ),
    }
    names = list(only) if only else list(DEPLOYMENT_NAMES)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"unknown deployment(s) {unknown}; known: {', '.join(DEPLOYMENT_NAMES)}")
    return [specs[n]() for n in names]


def serve_all(only: list[str] | None = None, paused: bool = False, limit: int = 4, ensure: bool = False) -> None:
    """Create the concurrency limits (and with ``ensure`` the infrastructure, as a flow run), then serve the
    deployments until interrupted."""
    from prefect import serve

    from tasks.common import ensure_concurrency_limits

    ensure_concurrency_limits()
    if ensure:  # before the schedules start: a simulate run must not create indices without the template
        from flows.ensure_infrastructure import ensure_infrastructure_flow

        ensure_infrastructure_flow()
    serve(*build_deployments(only, paused), limit=limit)


def serve_on_pool(
    settings: Settings,
    workers: int,
    *,
    only: list[str] | None = None,
    paused: bool = False,
    ensure: bool = False,
    limit: int | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """The concurrency limits (and with ``ensure`` the infrastructure), the work pool, its deployments and
    ``workers`` local workers; then wait until interrupted (Ctrl-C, SIGTERM) and stop the workers. Returns the exit
    code: 0, or 1 when a worker exited by itself."""
    from deployments.pool import POOL, deploy, ensure_work_pool, pool_deployment_names
    from deployments.workers import start_workers, stop_workers, wait_ready, watch_workers
    from tasks.common import ensure_concurrency_limits

    names = pool_deployment_names(only)  # a typo fails here, before anything is created
    ensure_concurrency_limits()
    if ensure:
        from flows.ensure_infrastructure import ensure_infrastructure_flow

        ensure_infrastructure_flow()
    say(f"work pool {POOL}: {'created' if ensure_work_pool() else 'exists'}")
    deployed = deploy(names, paused=paused)
    say(f"deployed {len(deployed)}{' (paused)' if paused else ''}: {', '.join(deployed)}")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        pool_workers, _ = start_workers(settings, workers, limit=limit)
        wait_ready(pool_workers)
        for w in pool_workers:
            say(f"worker {w.name} online (pid {w.pid}, log {w.log})")
        say("Ctrl-C (or `wafad stack down`) stops the workers")
        return 1 if watch_workers(settings, pool_workers, say) else 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        for name in stop_workers(settings):
            say(f"stopped {name}")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="serve only this deployment (repeatable)")
    parser.add_argument("--paused", action="store_true", help="create the schedules paused")
    parser.add_argument("--ensure", action="store_true", help="run ensure-infrastructure before serving")
    parser.add_argument("--workers", type=int, default=0, help="deploy prefect.yaml and run N local workers instead")
    parser.add_argument("--worker-limit", type=int, default=2, help="flow runs at a time per worker")
    args = parser.parse_args(argv)
    if args.workers:
        from wafad.settings import get_settings

        options = {"only": args.only, "paused": args.paused, "ensure": args.ensure, "limit": args.worker_limit}
        raise SystemExit(serve_on_pool(get_settings(), args.workers, **options))
    serve_all(only=args.only, paused=args.paused, ensure=args.ensure)


if __name__ == "__main__":
    main()
