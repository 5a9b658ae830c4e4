"""Killing a backfill process mid-window (SIGKILL, not an exception) and running it again completes the window with
nothing lost or doubled (issue 7).

The backfill runs as its own OS process, ``wafad backfill --direct``, against the test stack and the test Prefect
server. The test watches the index and the detector results from outside and kills the process group the moment
the window is half done: some of the re-driven documents indexed and some not (or, if delivery slipped by between
two polls, some detectors' historical results written and the others not). The re-run must then find the window
incomplete, wait for no slot of the dead run, index every S3 record exactly once and leave exactly one set of
historical results.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.backfill import backfill_flow
from flows.common import exported, settings_env
from tasks.checks import indexed_count

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = HOUR + timedelta(hours=1)
SHARDS = 8  # delivery indexes shard by shard: the re-driven documents arrive in steps a poll can catch


def _indexed_ids(os_client, settings) -> list[str]:
    os_client.indices.refresh(index=f"{settings.index_prefix}-*")
    body = {"size": 10000, "_source": False, "query": {"match_all": {}}}
    hits = os_client.search(index=f"{settings.index_prefix}-*", body=body)["hits"]["hits"]
    return [h["_id"] for h in hits]


def _historical_results(os_client, settings) -> list[dict]:
    if not os_client.indices.exists(index=settings.results_index):
        return []
    os_client.indices.refresh(index=settings.results_index)
    body = {"size": 10000, "query": {"exists": {"field": "task_id"}}}
    return [h["_source"] for h in os_client.search(index=settings.results_index, body=body)["hits"]["hits"]]


def _historical_count(os_client, settings) -> int:
    if not os_client.indices.exists(index=settings.results_index):
        return 0
    os_client.indices.refresh(index=settings.results_index)
    return int(os_client.count(index=settings.results_index, body={"query": {"exists": {"field": "task_id"}}})["count"])


def _flow_run_state(name: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
    return ",".join(r.state.type.value if r.state else "?" for r in runs)


def _backfill_process(settings, log: Path) -> subprocess.Popen:
    """``wafad backfill --direct`` for the hour, in its own process group, on the test stack and Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        **settings_env(settings),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
    }
    wafad = Path(sys.executable).with_name("wafad")
    argv = [str(wafad), "backfill", "--start", HOUR.isoformat(), "--end", END.isoformat(), "--direct"]
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_backfill_killed_mid_window_then_rerun_completes_it_once(
    prefect_harness, settings, os_client, tmp_path, delivered_hour
) -> None:
    from ingest.events import event_id
    from wafad.catalogue import DETECTORS

    settings = settings.model_copy(update={"kinesis_shards": SHARDS})
    with exported(settings):
        records, keys, lines = delivered_hour(settings, HOUR)
        expected_ids = {event_id(settings.bucket, key, n) for key in keys for n in range(1, lines[key] + 1)}
        # an earlier delivery lost every other object's documents: the backfill has half the window to re-drive
        lost = [event_id(settings.bucket, key, n) for key in keys[::2] for n in range(1, lines[key] + 1)]
        os_client.delete_by_query(
            index=f"{settings.index_prefix}-*", body={"query": {"ids": {"values": lost}}}, refresh=True
        )
        damaged = records - len(lost)
        assert indexed_count(settings, HOUR, END) == damaged

        # --- the backfill process, killed mid-window ----------------------------------------------------
        log = tmp_path / "killed-backfill.log"
        proc = _backfill_process(settings, log)
        started = time.monotonic()
        at_kill: dict[str, int | float | str] = {}
        try:
            while proc.poll() is None and time.monotonic() - started < 120:
                indexed = indexed_count(settings, HOUR, END)
                results = _historical_count(os_client, settings)
                if damaged < indexed < records:
                    at_kill.update(stage="delivering")
                elif indexed == records and results > 0:
                    at_kill.update(stage="historical analysis")  # delivery slipped between two polls
                if at_kill:
                    os.killpg(proc.pid, signal.SIGKILL)
                    at_kill.update(indexed=indexed, results=results, after_s=round(time.monotonic() - started, 2))
                    break
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        output = log.read_text(errors="replace")
        assert at_kill, f"the backfill was never seen mid-window (exit {proc.returncode}):\n{output[-3000:]}"
        assert proc.returncode == -signal.SIGKILL, output[-3000:]
        # after the kill (and whatever request it had in flight), the window is really half done
        time.sleep(0.5)
        indexed_after_kill = indexed_count(settings, HOUR, END)
        results_after_kill = _historical_count(os_client, settings)
        print(
            f"\nkilled after {at_kill['after_s']} s while {at_kill['stage']}: {at_kill['indexed']} of {records} "
            f"indexed ({damaged} before), {at_kill['results']} historical results; "
            f"after the kill {indexed_after_kill} indexed, {results_after_kill} results"
        )
        if at_kill["stage"] == "delivering":
            assert damaged < indexed_after_kill < records
            assert results_after_kill == 0
        run = re.search(r"Beginning flow run '([^']+)' for flow 'backfill'", output)
        assert run, output[-3000:]
        print(f"the killed flow run {run.group(1)!r} is left {_flow_run_state(run.group(1))} on the server")

        # --- run it again -------------------------------------------------------------------------------
        rerun_started = time.monotonic()
        summary = backfill_flow(start=HOUR, end=END)
        rerun_s = time.monotonic() - rerun_started

    shown = ("objects", "lines", "indexed_before", "incomplete", "indexed_after", "still_incomplete", "cleared_results")
    print(f"re-run: {rerun_s:.1f} s, { ({k: summary.get(k) for k in shown}) }")
    # the re-run found what the kill left undone, and it did not wait for the dead run's slot
    if at_kill["stage"] == "delivering":
        assert summary["indexed_before"] == indexed_after_kill < records
        assert summary["incomplete"] > 0
    assert rerun_s < 60  # waiting out a 60 s lease (the least Prefect grants) would take longer
    assert summary["still_incomplete"] == []
    assert summary["indexed_after"] == records
    # every S3 record indexed exactly once: the documents are the records' event ids, none missing, none extra
    ids = _indexed_ids(os_client, settings)
    assert len(ids) == len(set(ids)) == records
    assert set(ids) == expected_ids
    assert indexed_count(settings, HOUR, END) == records
    # one set of historical results: per detector a single task id and one result per interval (and entity)
    docs = _historical_results(os_client, settings)
    by_detector: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        by_detector[d["detector_id"]].append(d)
    assert len(by_detector) == len(DETECTORS)
    for detector_id, results in by_detector.items():
        assert len({d["task_id"] for d in results}) == 1, detector_id
        keyed = Counter((d["data_start_time"], str(d.get("entity"))) for d in results)
        assert max(keyed.values()) == 1, detector_id
        assert len({d["data_start_time"] for d in results}) == 60, detector_id
    assert {r["detector"] for r in summary["detectors"]} == {d.name for d in DETECTORS}
    assert sum(r["results_written"] for r in summary["detectors"]) == len(docs)
    if at_kill["stage"] == "historical analysis":  # the killed run had written part of the results
        assert 0 < results_after_kill < len(docs)
        assert summary["cleared_results"] == results_after_kill
