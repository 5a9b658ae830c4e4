"""``backfill``: make one hour complete — re-drive its S3 objects that are not fully indexed, then run the
detectors' historical analysis over it.

The window is the hour before the run's scheduled slot (``prefect.runtime.flow_run.scheduled_start_time``
floored to the hour), or explicit ``start``/``end``. Everything is idempotent (deterministic document ids,
detector results keyed by window), and :func:`fan_out` starts one deployment run per hour with an
idempotency key, so one hour is never processed twice at once (work-pool workers share the hours).

A longer window is analysed hour by hour (:func:`detector_windows`: one historical analysis per hour, as the
hourly runs do), each hour, detector and entity a task on the flow's task runner (:mod:`tasks.detect`).
:func:`backfill_here` runs the whole range as one flow on :func:`flows.runners.task_runner` (Dask or serial): the
hours fan out over the cluster's workers, with the same documents whatever the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from flows.common import exported, floor_hour, hour_windows, md_table, scheduled_time
from tasks.common import BACKFILL_LIMIT, ensure_concurrency_limits, limited
from tasks.detect import fan_out_detectors
from tasks.ingest import deliver_task, relay_task
from tasks.redrive import clear_historical_results_task, list_objects_task, redrive_task, window_status_task
from wafad.settings import Settings, get_settings

DEPLOYMENT = "backfill/backfill-hourly"
#: the same flow deployed on the process work pool (deployments/prefect.yaml, ``wafad serve --workers N``)
POOL_DEPLOYMENT = "backfill/backfill-hourly-pool"
#: final states of a run that did not complete: :func:`fan_out` starts such an hour again
FAILED_STATES = ("FAILED", "CRASHED", "CANCELLED")


def backfill_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """Explicit ``[start, end)``, or the hour before the scheduled slot."""
    if start is not None and end is not None:
        if end <= start:
            raise ValueError(f"backfill window end {end} is not after start {start}")
        return start, end
    slot_end = floor_hour(end or scheduled_time())
    return slot_end - timedelta(hours=1), slot_end


def detector_windows(start: datetime, end: datetime, min_minutes: int = 32) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` in hours from ``start``; a last piece shorter than ``min_minutes`` (what a historical
    analysis needs) joins the hour before it."""
    out: list[tuple[datetime, datetime]] = []
    t = start
    while t < end:
        out.append((t, min(t + timedelta(hours=1), end)))
        t += timedelta(hours=1)
    if len(out) > 1 and out[-1][1] - out[-1][0] < timedelta(minutes=min_minutes):
        out[-2:] = [(out[-2][0], end)]
    return out


@flow(name="backfill", log_prints=True)
def backfill_flow(
    start: datetime | None = None,
    end: datetime | None = None,
    redrive: bool = True,
    detectors: bool = True,
    detector_names: list[str] | None = None,
) -> dict[str, Any]:
    """Complete one window: re-drive unindexed S3 objects, then the detectors' historical analysis."""
    from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact

    logger = get_run_logger()
    settings = get_settings()
    w0, w1 = backfill_window(start, end)
    logger.info("backfill window %s .. %s", w0.isoformat(), w1.isoformat())
    progress = create_progress_artifact(0.0, description=f"backfill {w0:%Y-%m-%d %H}:00 UTC")
    summary: dict[str, Any] = {"start": w0.isoformat(), "end": w1.isoformat()}
    ensure_concurrency_limits({BACKFILL_LIMIT: 1})
    # one backfill at a time; a killed one's slot is free at once locally, after its lease (60 s, the least Prefect
    # accepts) plus the server's repossessor pass elsewhere (see tasks.common.limited)
    with exported(settings), limited(BACKFILL_LIMIT, lease_duration=60):
        keys = list_objects_task(settings, w0, w1)
        status = window_status_task(settings, keys)
        incomplete = [s["key"] for s in status if not s["complete"]]
        summary.update(
            objects=len(keys),
            lines=sum(s["lines"] for s in status),
            set_aside=sum(s["set_aside"] for s in status),
            indexed_before=sum(s["indexed"] for s in status),
            incomplete=len(incomplete),
        )
        update_progress_artifact(progress, 25.0)
        if redrive and incomplete:
            if settings.is_local:
                relay_task(settings)  # first, whatever S3 events are still queued
            summary["redrive"] = redrive_task(settings, incomplete)
            if settings.is_local:
                summary["delivery"] = deliver_task(settings)
            status = window_status_task(settings, keys)
            summary["indexed_after"] = sum(s["indexed"] for s in status)
            summary["still_incomplete"] = [s["key"] for s in status if not s["complete"]]
        else:
            summary["indexed_after"] = summary["indexed_before"]
            summary["still_incomplete"] = incomplete if not redrive else []
        update_progress_artifact(progress, 60.0)
        if detectors:
            summary["cleared_results"] = clear_historical_results_task(settings, w0, w1)
            windows = detector_windows(w0, w1)
            logger.info("historical analysis of %d window(s) on %s", len(windows), type(runner_of_flow()).__name__)
            summary["detectors"] = fan_out_detectors(settings, windows, mode="historical", detectors=detector_names)
        update_progress_artifact(progress, 100.0)
    create_markdown_artifact(
        key="backfill-summary",
        markdown=f"# backfill {w0:%Y-%m-%d %H}:00–{w1:%H}:00 UTC\n\n"
        + md_table(
            ["objects", "lines", "set aside", "indexed before", "re-driven", "indexed after", "still incomplete"],
            [
                [
                    summary["objects"],
                    summary["lines"],
                    summary["set_aside"],
                    summary["indexed_before"],
                    summary["incomplete"] if redrive else 0,
                    summary["indexed_after"],
                    len(summary["still_incomplete"]),
                ]
            ],
        ),
        description="Backfill of one window",
    )
    if summary["still_incomplete"]:
        logger.warning("%d object(s) still not fully indexed (set aside records?)", len(summary["still_incomplete"]))
    return summary


def backfill_deployment(preferred: str | None = None) -> str:
    """Where hour runs go: ``preferred``, else the work pool's deployment when it exists, else the served one."""
    if preferred:
        return preferred
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(POOL_DEPLOYMENT)
        except ObjectNotFound:
            return DEPLOYMENT
    return POOL_DEPLOYMENT


def fan_out(
    start: datetime,
    end: datetime,
    *,
    wait: bool = False,
    deployment: str = DEPLOYMENT,
    stale_after_s: float | None = None,
) -> list[dict[str, str]]:
    """One run of the backfill deployment per hour of ``[start, end)``, keyed ``backfill-YYYYmmddTHH``.

    A second call for the same hour returns the run already there; an hour whose run failed or crashed gets a
    new run (key suffix ``-rN``) so it completes. So does an hour whose run is RUNNING but dead: no heartbeat for
    ``stale_after_s`` (default three heartbeat periods, ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``; never when
    heartbeats are off), as when its process was killed together with the runner that would have reported the
    crash. That run is set CRASHED first.
    """
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY
    from prefect.states import Crashed

    if stale_after_s is None and PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value():
        stale_after_s = 3.0 * PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()
    runs = []
    for h0, h1 in hour_windows(start, end):
        key = f"backfill-{h0:%Y%m%dT%H}"
        for attempt in range(10):
            idem = key if attempt == 0 else f"{key}-r{attempt}"
            fr = run_deployment(
                deployment,
                parameters={"start": h0.isoformat(), "end": h1.isoformat()},
                scheduled_time=h1,
                idempotency_key=idem,
                flow_run_name=idem,
                timeout=0,
            )
            state = fr.state.type.value if fr.state else None
            if state == "RUNNING" and stale_after_s is not None and not alive(fr, stale_after_s):
                with get_client(sync_client=True) as client:
                    client.set_flow_run_state(
                        fr.id, Crashed(message=f"no heartbeat for {stale_after_s:.0f} s: its process died"), force=True
                    )
                continue
            # an earlier run of this hour that failed, crashed or was cancelled: start a fresh one
            if state not in FAILED_STATES:
                break
        runs.append({"hour": f"{h0:%Y-%m-%dT%H}:00", "name": fr.name, "id": str(fr.id)})
    for run in runs:
        run["state"] = wait_for_run(run["id"]) if wait else run_state(run["id"])
    return runs


def failed_runs(runs: list[dict[str, str]]) -> list[dict[str, str]]:
    """The runs of :func:`fan_out` whose state is failed, crashed or cancelled."""
    return [r for r in runs if r["state"] in FAILED_STATES]


def backfill_here(
    start: datetime,
    end: datetime,
    *,
    settings: Settings | None = None,
    detector_names: list[str] | None = None,
    on_done: Callable[[str, dict[str, Any] | None], None] | None = None,
) -> bool:
    """Backfill the whole hours of ``[start, end)`` as one flow run in this process (no deployment), its hours,
    detectors and entities fanned out on ``settings``' task runner; ``on_done(state name, summary or None)`` at the
    end. Returns whether it completed."""
    from flows.runners import task_runner

    settings = settings or get_settings()
    windows = hour_windows(start, end)
    w0, w1 = windows[0][0], windows[-1][1]
    with exported(settings):  # Dask worker processes inherit the settings (the Lambda handlers read WAFAD_*)
        flow = backfill_flow.with_options(task_runner=task_runner(settings))
        state = flow(start=w0, end=w1, detector_names=detector_names, return_state=True)
    summary = state.result(raise_on_failure=False) if state.is_completed() else None
    if on_done is not None:
        on_done(state.name, summary if isinstance(summary, dict) else None)
    return state.is_completed()


def runner_of_flow() -> Any:
    """The task runner of the flow run in progress."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx.task_runner if ctx else None


def alive(fr: Any, stale_after_s: float) -> bool:
    """A flow run started or sent a heartbeat event within the last ``stale_after_s`` seconds."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    since = datetime.now(UTC) - timedelta(seconds=stale_after_s)
    started = fr.start_time or (fr.state.timestamp if fr.state else None)
    if started is not None and started > since:
        return True
    with get_client(sync_client=True) as client:
        page = client.read_events(
            EventFilter(
                occurred=EventOccurredFilter(since=since),
                event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{fr.id}"]),
            ),
            limit=1,
        )
    return bool(page.events)


def run_state(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        fr = client.read_flow_run(run_id)
    return fr.state.type.value if fr.state else "UNKNOWN"


def wait_for_run(run_id: str, timeout_s: float = 3600, poll_s: float = 2.0) -> str:
    """Poll a flow run until it is final; return its state type."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        state = run_state(run_id)
        if state == "COMPLETED" or state in FAILED_STATES or time.monotonic() > deadline:
            return state
        time.sleep(poll_s)
