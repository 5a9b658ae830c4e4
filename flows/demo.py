"""``demo``: the whole pipeline end to end on a simulated clock — what ``make demo`` runs.

    ensure infrastructure → simulate (S3) → relay S3 events → s3_to_kinesis → Kinesis
      → firehose_transform → OpenSearch → detectors → alerts (SNS → SQS) → cross-check → dashboard

Every hop is counted (simulator = S3 lines = Kinesis = indexed + set aside) and every injected window is scored
against the detector results; the summary's ``problems`` is empty only when nothing was lost, each window was
detected, and no alert fired outside the windows.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from dashboard.executive.report import write_demo_report
from flows.common import StageTimer, ensure_local_stack, exported, floor_hour, md_table
from flows.ensure_infrastructure import ensure_infrastructure
from tasks.alerts import process_alerts_task, read_inbox_task
from tasks.checks import Reconciliation, Scorecard, fetch_detections, iso, reconcile, score_windows
from tasks.counts import count_indexed_task, count_s3_lines_task, wait_for_indexed_task
from tasks.dashboard import write_dashboard_task
from tasks.detect import run_detectors_task
from tasks.infrastructure import ensure_concurrency_limits_task, reset_local_resources_task
from tasks.ingest import deliver_task, relay_task
from tasks.simulate import simulate_task
from tasks.warm_start import cold_start_task, warm_start_task
from wafad.catalogue import SEED_DETECTORS
from wafad.settings import Settings, get_settings

#: One window per seed field, after a 2 h warm-up, 55 min apart, 15 min each (offsets from the scenario start).
DEFAULT_ANOMALIES: tuple[str, ...] = (
    "action@130m+15m[x6]",
    "httpSourceName@185m+15m[x6]",
    "httpStatus@240m+15m[x6]",
    "country@295m+15m[x6]",
    "httpMethod@350m+15m[x6]",
)
DEMO_NAMESPACE = "demo"
#: The records summary, hop by hop: column title → key of ``summary["records"]``.
RECORD_COLUMNS = {
    "simulated": "simulated",
    "S3 lines": "s3_lines",
    "Kinesis": "kinesis",
    "delivered": "delivered",
    "indexed": "indexed",
    "set aside": "set_aside",
    "searchable": "searchable",
}
#: Mean requests/s: ~53k records over 7 h. Every window is detected at this rate; osmem indexes the ~2 KB WAF
#: documents at ~2-3 ms CPU each, which makes delivery the slowest stage, so the rate is set by the time budget.
DEMO_RATE = 2.5
#: moto's Kinesis appends in O(records already in the shard): more, shorter shards keep the relay near-linear
#: (measured: 33.6k records relayed at 918 rec/s with 64 shards, 694 rec/s with 8; 91k records with 8 shards
#: took over 10 minutes).
DEMO_LOCAL_SHARDS = 64
#: The detectors the demo runs: the five seed-field detectors and volume. The high-cardinality country detector
#: (``waf-country-hc``) is opt-in (``detectors=[...]``): ~5x slower, and noisy on sparse countries.
DEMO_DETECTORS: tuple[str, ...] = (*(d.name for d in SEED_DETECTORS), "waf-volume")
#: The detectors start this long after the traffic, warmed on all of it (``detectors.warm_start``): their results
#: from then on are those of a model that had watched from the start (AD's own cold start would see 40 intervals).
DETECTOR_START_AFTER = timedelta(minutes=30)
#: Alerts need this AD confidence (OpenSearch Alerting's default AD trigger uses 0.7 too). A young model flags
#: ordinary Poisson bursts: measured 7 BLOCKs vs 2 expected flagged at grade 1.0 with confidence 0.48, 11 minutes
#: after the detectors started; the first injected window (70 minutes after) is flagged with confidence 0.75.
DEMO_MIN_CONFIDENCE = 0.7


def demo_settings(base: Settings) -> Settings:
    """Locally the demo runs in its own namespace of resource names and state folder; on aws, as configured."""
    if not base.is_local:
        return base
    ns = DEMO_NAMESPACE
    return base.model_copy(
        update={
            "bucket": f"{base.bucket}-{ns}",
            "kinesis_stream": f"{base.kinesis_stream}-{ns}",
            "firehose_stream": f"{base.firehose_stream}-{ns}",
            # a prefix, not a suffix: "waf-logs-demo-*" would overlap the "waf-logs-*" index template
            "index_prefix": f"{ns}-{base.index_prefix}",
            "results_index": f"{base.results_index}-{ns}",
            "sns_topic": f"{base.sns_topic}-{ns}",
            "s3_events_queue": f"{base.s3_events_queue}-{ns}",
            "alerts_queue": f"{base.alerts_queue}-{ns}",
            "kinesis_shards": max(base.kinesis_shards, DEMO_LOCAL_SHARDS),
            "state_dir": (base.state_dir / ns).resolve(),
        }
    )


@task(name="score-windows", cache_policy=NO_CACHE)
def score_windows_task(
    settings: Settings,
    start: datetime,
    end: datetime,
    labels: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    detector_names: dict[str, str],
) -> dict[str, Any]:
    detections = fetch_detections(settings, start, end, detector_names | catalogue_ids(settings))
    lag = timedelta(minutes=settings.detector_interval_minutes * (settings.shingle_size + 2))
    card = score_windows(labels, detections, alerts, lag=lag)
    return card.to_dict() | {"detections": len(detections)}


@task(name="crosscheck", cache_policy=NO_CACHE)
def crosscheck_task(settings: Settings, start: datetime, end: datetime, detectors: list[str]) -> dict[str, Any]:
    from flows.crosscheck import crosscheck_report

    return crosscheck_report(settings, start, end, detectors)


def catalogue_ids(settings: Settings) -> dict[str, str]:
    """detector_id → catalogue name, as the alerting part resolves them (stable local ids, or AD plugin ids)."""
    from alerting.alerts import detector_catalogue_ids
    from wafad.clients import opensearch_client

    return {det_id: spec.name for det_id, spec in detector_catalogue_ids(settings, opensearch_client(settings)).items()}


def detector_names_from_reports(reports: list[dict[str, Any]]) -> dict[str, str]:
    """detector_id → catalogue name, from the detectors' run reports."""
    out: dict[str, str] = {}
    for r in reports:
        det_id = r.get("detector_id") or r.get("id")
        name = r.get("detector") or r.get("name") or r.get("detector_name")
        if isinstance(det_id, str) and isinstance(name, str):
            out[det_id] = name
    return out


@flow(name="demo", log_prints=True)
def demo_flow(
    hours: int = 7,
    rate: float = DEMO_RATE,
    seed: int = 7,
    end: datetime | None = None,
    anomalies: list[str] | None = None,
    crosscheck: bool = False,
    fresh: bool = True,
    detectors: list[str] | None = None,
    min_confidence: float = DEMO_MIN_CONFIDENCE,
) -> dict[str, Any]:
    """Run the pipeline over ``hours`` of simulated traffic ending at ``end`` (default: this UTC hour's start).

    Alerts need AD confidence ``min_confidence`` at least (or the configured ``alert_min_confidence`` if higher).
    """
    logger = get_run_logger()
    base = get_settings()
    timer = StageTimer()
    end = floor_hour(end or datetime.now(UTC))
    start = end - timedelta(hours=hours)
    specs = list(anomalies if anomalies is not None else DEFAULT_ANOMALIES)
    names = list(detectors or DEMO_DETECTORS)
    detect_from = min(start + DETECTOR_START_AFTER, end - timedelta(minutes=1))

    with timer("stack"):
        started = ensure_local_stack(base)
        if started:
            logger.info("local stack: %s", "; ".join(started))
    settings = demo_settings(base)
    settings = settings.model_copy(update={"alert_min_confidence": max(settings.alert_min_confidence, min_confidence)})
    if settings.is_local and fresh:
        shutil.rmtree(settings.state_dir, ignore_errors=True)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    labels_path = settings.state_dir / "labels.json"

    with exported(settings):
        if settings.is_local and fresh:
            with timer("reset"):
                reset_local_resources_task(settings)
        with timer("infrastructure"):
            ensure_infrastructure(settings)
            ensure_concurrency_limits_task()
        with timer("simulate"):
            sim = simulate_task(settings, start, end - start, rate, specs, seed, labels_path)
        with timer("count S3 lines"):
            s3_lines = count_s3_lines_task(settings, sim["objects"])
        if settings.is_local:  # moto runs neither the S3 trigger nor Firehose: the local stand-ins do
            with timer("relay S3 → Kinesis"):
                relay = relay_task(settings, expected_objects=len(sim["objects"]))
            with timer("deliver Kinesis → OpenSearch"):
                delivery = deliver_task(settings, expected=relay.get("sent"))
            with timer("count indexed"):
                searchable = count_indexed_task(settings, start, end)
        else:  # on AWS the S3 trigger, Lambda and Firehose deliver by themselves: wait for the documents
            with timer("wait for Firehose delivery"):
                searchable = wait_for_indexed_task(settings, start, end, sim["records"])
            relay = {}
            delivery = {"read": searchable, "indexed": searchable}
        rec = reconcile(sim["records"], s3_lines, relay, delivery, searchable)
        for p in rec.problems:
            logger.error("records: %s", p)

        with timer("detectors"):
            warmed = warm_start_task(settings, detect_from, names)  # local models warmed on the traffic so far
            # the local engine replays the past as real time; the AD plugin can only analyse the past historically
            mode = "realtime" if not settings.uses_ad_plugin else "historical"
            reports = run_detectors_task(settings, detect_from, end, mode=mode, detectors=names)
            cold_start = cold_start_task(settings, detect_from, detector_names_from_reports(reports))
        with timer("alerts"):
            sent = process_alerts_task(settings)
            # the SQS subscriber queue exists only locally (on AWS the topic's own subscribers receive them)
            received = read_inbox_task(settings) if settings.is_local else sent
        with timer("score windows"):
            card = score_windows_task(
                settings, detect_from, end, sim["labels"], sent, detector_names_from_reports(reports)
            )
        cross = None
        if crosscheck:
            with timer("crosscheck"):
                cross = crosscheck_task(settings, detect_from, end, names)
        with timer("dashboard"):
            dashboard = write_dashboard_task(
                settings,
                start,
                end,
                settings.state_dir / "dashboard.html",
                labels=sim["labels"],
                alerts=sent,
                crosscheck=cross,
            )
            executive = write_demo_report(settings, start, end, sent)  # the one-page KPI report (PDF with chromium)

    problems = list(rec.problems) + list(card["problems"])
    if len(received) != len(sent):
        problems.append(f"{len(sent)} alerts published to SNS but {len(received)} arrived through the subscription")
    summary = {
        "ok": not problems,
        "problems": problems,
        "target": settings.target,
        "period": {"start": iso(start), "end": iso(end), "hours": hours, "rate": rate, "seed": seed},
        "anomalies": specs,
        "detectors": names,
        "detectors_from": iso(detect_from),
        "warm_start": warmed,
        "cold_start_minutes": cold_start,  # from the detectors' start to confidence >= alert_min_confidence
        "records": _records_dict(rec),
        "relay": relay,
        "delivery": delivery,
        "windows": card["windows"],
        "detections": card["detections"],
        "detections_outside_windows": card["detections_outside"],
        "alerts_sent": sent,
        "alerts_received": len(received),
        "alerts_outside_windows": card["alerts_outside"],
        "crosscheck": cross,
        "dashboard": dashboard,
        "executive": executive,
        "labels": str(labels_path),
        "stage_seconds": timer.seconds,
        "total_seconds": timer.total,
        "settings": {k: str(v) for k, v in settings.redacted().items() if k in ("bucket", "index_prefix", "state_dir")},
    }
    (settings.state_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    _publish_artifacts(summary, rec, card)
    if problems:
        from prefect.states import Failed

        for p in problems[:20]:
            logger.error("demo check failed: %s", p)
        if len(problems) > 20:
            logger.error("... and %d more (see the demo-summary artifact)", len(problems) - 20)
        # the run shows as Failed in the UI; the summary stays readable as the state's result
        return Failed(message=f"{len(problems)} demo check(s) failed: {problems[0]}", data=summary)
    logger.info("demo: all records accounted for, all %d windows detected, no false alerts", len(card["windows"]))
    return summary


def demo_summary(state: Any) -> dict[str, Any]:
    """The summary from a finished demo run's state (Completed or checks-Failed); re-raises a crash."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    return result


def _records_dict(rec: Reconciliation) -> dict[str, Any]:
    return {
        "simulated": rec.simulated,
        "s3_lines": rec.s3_lines,
        "kinesis": rec.kinesis_put,
        "delivered": rec.delivery_read,
        "indexed": rec.indexed,
        "searchable": rec.searchable,
        "set_aside": rec.set_aside,
        "dropped": rec.dropped,
        "processing_failed": rec.processing_failed,
        "index_failed": rec.index_failed,
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """The run summary as markdown (the demo's artifact; also printed by ``wafad demo --markdown``)."""
    r = summary["records"]
    verdict = "✅ all checks passed" if summary["ok"] else "❌ " + "; ".join(summary["problems"])
    parts = [
        f"# wafad demo ({summary['target']})",
        f"**{verdict}**",
        f"Period {summary['period']['start']} → {summary['period']['end']}, "
        f"{summary['period']['rate']} req/s, seed {summary['period']['seed']}",
        f"Detectors from {summary['detectors_from']} (warmed on the traffic before), minutes to alerting "
        f"confidence: {', '.join(f'{k} {v}' for k, v in summary['cold_start_minutes'].items())}",
        "## Records",
        md_table(list(RECORD_COLUMNS), [[r[key] for key in RECORD_COLUMNS.values()]]),
        "## Injected windows",
        md_table(
            ["field", "window", "intensity", "detected", "first detection", "delay (min)", "max grade", "detectors"],
            [
                [
                    w["field"],
                    f"{w['start'][11:16]}–{w['end'][11:16]}",
                    w["intensity"],
                    "yes" if w["detected"] else "NO",
                    (w["first_detection"] or "-")[11:16] or "-",
                    "-" if w["delay_minutes"] is None else f"{w['delay_minutes']:.0f}",
                    f"{w['max_grade']:.2f}",
                    ", ".join(w["detectors"]),
                ]
                for w in summary["windows"]
            ],
        ),
        f"## Alerts: {len(summary['alerts_sent'])} sent, {summary['alerts_received']} received, "
        f"{len(summary['alerts_outside_windows'])} outside the windows",
        md_table(
            ["detector", "time", "grade"],
            [
                [
                    a.get("detector") or a.get("detector_name") or "?",
                    a.get("data_start_time") or a.get("start") or a.get("time") or "?",
                    a.get("grade") or a.get("anomaly_grade") or a.get("max_grade") or "",
                ]
                for a in summary["alerts_sent"]
            ],
        ),
        "## Stage times (s)",
        md_table(
            [*summary["stage_seconds"], "total"], [[*summary["stage_seconds"].values(), summary["total_seconds"]]]
        ),
        f"Dashboard: `{summary['dashboard']}`",
    ]
    return "\n\n".join(parts)


def _publish_artifacts(summary: dict[str, Any], rec: Reconciliation, card: dict[str, Any] | Scorecard) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(key="demo-summary", markdown=summary_markdown(summary), description="wafad demo summary")
    create_table_artifact(
        key="demo-windows",
        table=[
            {
                "field": w["field"],
                "start": w["start"],
                "end": w["end"],
                "detected": w["detected"],
                "first_detection": w["first_detection"],
                "max_grade": round(w["max_grade"], 3),
            }
            for w in summary["windows"]
        ],
        description="Injected anomaly windows and their detections",
    )


def write_summary_json(summary: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path
