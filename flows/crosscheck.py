"""``crosscheck``: compare the detectors' results with ``offline_rcf`` scoring the same features (daily, on demand).

The work fans out on the flow's task runner (:mod:`flows.runners`): per detector one task reads AD's results by
entity, then one task per entity runs its K-seed ensembles (``offline_rcf.crosscheck.check_entity``, ensembles in
the shared model store), and the report is assembled in entity order, so it is the same on any runner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE

from flows.common import exported, floor_hour, scheduled_time
from tasks.common import retrying
from wafad.settings import Settings, get_settings


def crosscheck_report(
    settings: Settings, start: datetime, end: datetime, detectors: list[str] | None = None
) -> dict[str, Any]:
    """``{"reports": [...]}``: offline_rcf's cross-check of each detector's results in ``[start, end)``, here."""
    from offline_rcf.crosscheck import crosscheck_detector
    from wafad.catalogue import DETECTORS

    names = detectors or [d.name for d in DETECTORS]
    return {"reports": [crosscheck_detector(settings, name, start, end).to_dict() for name in names]}


@task(name="crosscheck-groups", cache_policy=NO_CACHE, task_run_name="crosscheck-groups-{name}", **retrying())
def entity_groups_task(settings: Settings, name: str, start: datetime, end: datetime, options: Any) -> tuple[str, Any]:
    """(detector id, AD's results in the window by entity) for detector ``name``."""
    from offline_rcf.crosscheck import entity_groups, resolve_detector_id
    from offline_rcf.series import to_epoch_ms
    from wafad.clients import opensearch_client

    client = opensearch_client(settings)
    det_id = resolve_detector_id(settings, client, name)
    groups = entity_groups(client, settings.results_index, det_id, to_epoch_ms(start), to_epoch_ms(end), options)
    return det_id, groups


@task(name="crosscheck-entity", cache_policy=NO_CACHE, task_run_name="crosscheck-{name}-{key}", **retrying())
def check_entity_task(
    settings: Settings, name: str, key: str, docs: list[Any], start: datetime, end: datetime, options: Any
) -> Any:
    """One entity's cross-check (its seed ensembles continued from, and saved to, the shared model store)."""
    from offline_rcf.crosscheck import check_entity, shared_store
    from offline_rcf.series import to_epoch_ms
    from wafad.catalogue import get_detector
    from wafad.clients import opensearch_client

    return check_entity(
        opensearch_client(settings),
        get_detector(name),
        f"{settings.index_prefix}-*",
        docs,
        to_epoch_ms(start),
        to_epoch_ms(end),
        options,
        store=shared_store(settings, options),
    )


def fan_out_crosscheck(
    settings: Settings, start: datetime, end: datetime, detectors: list[str] | None = None, **opts: Any
) -> dict[str, Any]:
    """Inside a flow: ``crosscheck_report``'s reports, with one task per detector and entity on the task runner."""
    return {"reports": [r.to_dict() for r in fanned_reports(settings, start, end, detectors, **opts)]}


def fanned_reports(
    settings: Settings,
    start: datetime,
    end: datetime,
    detectors: list[str] | None = None,
    *,
    seeds: list[int] | None = None,
    persist: bool = True,
    mode: str = "realtime",
    engine: str = "jvm",
    model_check: bool = False,
) -> list[Any]:
    """Inside a flow: the ``CrossCheckReport`` of each detector, one task per detector and entity."""
    from offline_rcf.crosscheck import assemble, options_for
    from offline_rcf.crosscheck_options import DEFAULT_SEEDS
    from offline_rcf.series import to_epoch_ms
    from wafad.catalogue import DETECTORS, get_detector

    opts = options_for(
        settings,
        seeds=seeds or DEFAULT_SEEDS,
        persist=persist,
        mode=mode,  # type: ignore[arg-type]
        engine=engine,  # type: ignore[arg-type]
        model_check=model_check,
    )
    names = detectors or [d.name for d in DETECTORS]
    planned = [(n, entity_groups_task.submit(settings, n, start, end, opts)) for n in names]
    fanned = []
    for name, plan in planned:
        det_id, groups = plan.result()
        keys = [k or "_" for k in groups]
        parts = check_entity_task.map(
            unmapped(settings),
            unmapped(name),
            keys,
            list(groups.values()),
            unmapped(start),
            unmapped(end),
            unmapped(opts),
        )
        fanned.append((name, det_id, parts))
    reports = []
    for name, det_id, parts in fanned:
        report = assemble(
            get_detector(name), det_id, to_epoch_ms(start), to_epoch_ms(end), opts, [p.result() for p in parts]
        )
        reports.append(report)
    return reports


@flow(name="crosscheck-fan-out", log_prints=True)
def crosscheck_reports_flow(start: datetime, end: datetime, detectors: list[str], opts: dict[str, Any]) -> list[Any]:
    """The reports themselves (not their dicts), for the command line; settings from the environment."""
    return fanned_reports(get_settings(), start, end, detectors, **opts)


def crosscheck_on_runner(
    settings: Settings, detectors: list[str], start: datetime, end: datetime, **opts: Any
) -> list[Any]:
    """``wafad crosscheck`` on ``settings``' task runner: the reports (``CrossCheckReport``), one per detector."""
    from flows.runners import task_runner

    with exported(settings):  # Dask worker processes inherit the settings
        flow_ = crosscheck_reports_flow.with_options(task_runner=task_runner(settings))
        return flow_(start, end, detectors, opts)


AGREEMENT_COLUMNS = (
    "detector",
    "verdict",
    "agreement_rate",
    "spearman",
    "precision",
    "recall",
    "n_compared",
    "n_disagree",
    "summary",
)


def agreement_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per detector: verdict, agreement rate, rank correlation, precision/recall."""
    return [{k: r.get(k) for k in AGREEMENT_COLUMNS} for r in report.get("reports", [])]


@flow(name="crosscheck", log_prints=True)
def crosscheck_flow(
    start: datetime | None = None,
    end: datetime | None = None,
    detectors: list[str] | None = None,
    seeds: list[int] | None = None,
    persist: bool = True,
    mode: str = "realtime",
    engine: str = "jvm",
    model_check: bool = False,
) -> dict[str, Any]:
    """The day before the scheduled slot (or explicit ``start``/``end``); options as ``wafad crosscheck``'s."""
    from prefect.artifacts import create_table_artifact

    settings = get_settings()
    if start is None or end is None:
        end = floor_hour(scheduled_time()).replace(hour=0)
        start = end - timedelta(days=1)
    with exported(settings):
        report = fan_out_crosscheck(
            settings,
            start,
            end,
            detectors,
            seeds=seeds,
            persist=persist,
            mode=mode,
            engine=engine,
            model_check=model_check,
        )
    create_table_artifact(
        key="crosscheck-agreement",
        table=agreement_rows(report) or [{"note": "no detector results in the window"}],
        description=f"Detector vs offline_rcf agreement {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} UTC",
    )
    get_run_logger().info("cross-check %s .. %s done", start, end)
    return report
