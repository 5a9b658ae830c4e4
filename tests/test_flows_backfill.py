"""Backfill: a window with lost documents is completed, concurrent backfills of one hour neither double records
nor results, and the fan-out keys runs by hour."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from flows.backfill import backfill_flow, backfill_window
from flows.common import exported
from tasks.checks import indexed_count, list_log_objects
from tasks.simulate import s3_log_url

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _historical_results(os_client, settings, detector_id: str) -> list[dict]:
    os_client.indices.refresh(index=settings.results_index)
    body = {
        "size": 1000,
        "query": {
            "bool": {
                "filter": [
                    {"exists": {"field": "task_id"}},
                    {"term": {"detector_id": detector_id}},
                ]
            }
        },
    }
    return [h["_source"] for h in os_client.search(index=settings.results_index, body=body)["hits"]["hits"]]


def test_backfill_completes_a_damaged_window_once_even_when_run_twice_at_once(
    prefect_harness, settings, os_client, delivered_hour
) -> None:
    from detectors.local_engine import local_detector_id
    from ingest.events import event_id

    with exported(settings):
        records, keys, lines = delivered_hour(settings, HOUR)
        # a delivery killed mid-window: the documents of two objects never made it
        lost = [event_id(settings.bucket, key, n) for key in keys[3:5] for n in range(1, lines[key] + 1)]
        os_client.delete_by_query(
            index=f"{settings.index_prefix}-*", body={"query": {"ids": {"values": lost}}}, refresh=True
        )
        assert indexed_count(settings, HOUR, HOUR + timedelta(hours=1)) == records - len(lost)

        with ThreadPoolExecutor(2) as pool:
            runs = [
                pool.submit(backfill_flow, start=HOUR, end=HOUR + timedelta(hours=1), detector_names=["waf-volume"])
                for _ in range(2)
            ]
            summaries = [r.result(timeout=600) for r in runs]

    assert indexed_count(settings, HOUR, HOUR + timedelta(hours=1)) == records  # every record, once
    assert all(s["still_incomplete"] == [] for s in summaries)
    # the two runs took turns: exactly one found the damage and re-drove the two objects
    assert sorted(s["incomplete"] for s in summaries) == [0, 2]
    # one set of historical results for the hour: one result per interval
    docs = _historical_results(os_client, settings, local_detector_id("waf-volume"))
    starts = [d["data_start_time"] for d in docs]
    assert len(starts) == len(set(starts)) == 60
    assert len({d["task_id"] for d in docs}) == 1


def test_backfill_window_from_schedule_or_explicit() -> None:
    slot = datetime(2026, 11, 20, 11, 5, 12, tzinfo=UTC)
    assert backfill_window(None, slot) == (HOUR, HOUR + timedelta(hours=1))
    assert backfill_window(HOUR, HOUR + timedelta(hours=2)) == (HOUR, HOUR + timedelta(hours=2))


def test_set_aside_lines_do_not_leave_the_window_incomplete(prefect_harness, settings, os_client) -> None:
    """Lines the S3 → Kinesis stage dead-lettered for good are not expected in the index; a failed put still is."""
    import gzip
    import json

    from ingest.delivery import deliver
    from ingest.events import event_id
    from ingest.infra import ensure_ingest
    from ingest.s3_events import relay
    from simulator import Scenario, simulate
    from tasks.redrive import object_status
    from wafad.clients import aws_client

    s3 = aws_client("s3", settings)
    with exported(settings):
        ensure_ingest(settings)
        simulate(
            Scenario(start=HOUR, duration=timedelta(minutes=10), rate=0.05, seed=3),
            s3_log_url(settings),
            s3_client=s3,
        )
        key = list_log_objects(settings, HOUR, HOUR + timedelta(hours=1))[0]
        good = gzip.decompress(s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read()).splitlines()
        body = b"\n".join([*good, b"not json {", b"[1, 2]"]) + b"\n"
        s3.put_object(Bucket=settings.bucket, Key=key, Body=gzip.compress(body))
        relay(settings)
        assert deliver(settings).index_failed == 0

        st = object_status(settings, key)
        assert (st.lines, st.set_aside, st.indexed, st.complete) == (len(good) + 2, 2, len(good), True)
        summary = backfill_flow(start=HOUR, end=HOUR + timedelta(hours=1), detectors=False)
        assert summary["set_aside"] == 2
        assert summary["incomplete"] == 0 and summary["still_incomplete"] == []

        # a put that kept failing is dead-lettered too, but a re-drive can cure it: that line is still expected
        first = event_id(settings.bucket, key, 1)
        entry = {"reason": "kinesis_put_failed", "detail": "throttled", "line": 1, "event_id": first}
        prefix = f"{settings.dead_letter_prefix.rstrip('/')}/s3-to-kinesis/{settings.bucket}/{key}"
        s3.put_object(Bucket=settings.bucket, Key=f"{prefix}/put-failed.ndjson", Body=json.dumps(entry).encode())
        os_client.delete_by_query(
            index=f"{settings.index_prefix}-*", body={"query": {"ids": {"values": [first]}}}, refresh=True
        )
        st = object_status(settings, key)
        assert (st.set_aside, st.indexed, st.complete) == (2, len(good) - 1, False)
        summary = backfill_flow(start=HOUR, end=HOUR + timedelta(hours=1), detectors=False)
        assert summary["incomplete"] == 1 and summary["still_incomplete"] == []
        assert object_status(settings, key).complete


def test_fan_out_reruns_an_hour_whose_running_run_is_dead(prefect_harness) -> None:
    """A run left RUNNING by a killed process (no runner left to report the crash) is set CRASHED and re-run once it
    has been silent for ``stale_after_s``; a live one is left alone."""
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.states import Running

    from flows.backfill import fan_out

    name = f"kill-test-{uuid.uuid4().hex[:8]}"
    backfill_flow.to_deployment(name=name).apply()
    deployment = f"backfill/{name}"
    window = (HOUR, HOUR + timedelta(hours=1))
    [first] = fan_out(*window, deployment=deployment)
    assert first["name"] == "backfill-20261120T10" and first["state"] == "SCHEDULED"
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(first["id"], Running(), force=True)  # then its process is SIGKILLed

    # started a moment ago: alive, the same run is returned
    assert fan_out(*window, deployment=deployment, stale_after_s=600) == [{**first, "state": "RUNNING"}]
    time.sleep(1.5)
    [again] = fan_out(*window, deployment=deployment, stale_after_s=1)
    assert again["name"] == "backfill-20261120T10-r1" and again["state"] == "SCHEDULED"
    with get_client(sync_client=True) as client:
        dead = client.read_flow_run(first["id"])
    assert dead.state.type.value == "CRASHED" and "no heartbeat" in (dead.state.message or "")
    # the new run is the hour's run from now on
    assert fan_out(*window, deployment=deployment, stale_after_s=1) == [again]
