"""Fan-out on Dask through Prefect's DaskTaskRunner: the same documents and verdicts as the serial run.

A day of simulated WAF traffic is backfilled (24 hourly historical analyses of two detectors, one task per hour,
detector and series) serially, then on a ``distributed.LocalCluster`` of 2 worker processes, one of which is
SIGKILLed while the tasks run: distributed re-runs its work elsewhere and the indexed results are the same. An
HC cross-check (``waf-country-hc``, one task per entity) gives the same report on both runners.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psutil

from flows.common import exported
from flows.runners import with_runner

START = datetime(2026, 11, 18, 0, tzinfo=UTC)
END = START + timedelta(hours=24)
DETECTORS = ["waf-volume"]
#: what differs between two runs of the same work by design: when it ran
VOLATILE = ("execution_start_time", "execution_end_time")


def _results(os_client, settings, *, historical: bool) -> dict[str, dict]:
    os_client.indices.refresh(index=settings.results_index)
    cond = {"exists": {"field": "task_id"}}
    query = {"bool": {"filter": [cond]}} if historical else {"bool": {"must_not": [cond]}}
    hits = os_client.search(index=settings.results_index, body={"size": 10000, "query": query})["hits"]["hits"]
    return {h["_id"]: {k: v for k, v in h["_source"].items() if k not in VOLATILE} for h in hits}


def _historical_count(os_client, settings) -> int:
    if not os_client.indices.exists(index=settings.results_index):
        return 0
    os_client.indices.refresh(index=settings.results_index)
    return int(os_client.count(index=settings.results_index, body={"query": {"exists": {"field": "task_id"}}})["count"])


def _dask_workers() -> list[psutil.Process]:
    """This process's Dask worker processes (spawned by the LocalCluster's nannies)."""
    return [p for p in psutil.Process().children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]


def _in_the_index(settings, start: datetime, end: datetime, rate: float) -> int:
    from ingest.delivery import deliver
    from ingest.infra import ensure_ingest
    from ingest.s3_events import relay
    from simulator import Scenario, simulate
    from tasks.simulate import s3_log_url
    from wafad.clients import aws_client

    ensure_ingest(settings)
    sim = simulate(
        Scenario(start=start, duration=end - start, rate=rate, seed=5),
        s3_log_url(settings),
        s3_client=aws_client("s3", settings),
    )
    relay(settings)
    assert deliver(settings).indexed == sim.records
    return sim.records


def test_a_day_backfilled_on_dask_matches_serial_even_when_a_worker_dies(prefect_harness, settings, os_client) -> None:
    from flows.backfill import backfill_here

    serial = with_runner(settings, "serial")
    dask = with_runner(settings, "dask", 2)
    with exported(settings):
        _in_the_index(settings, START, END, 0.05)

    # --- a day's backfill, serially --------------------------------------------------------------------
    done: list[tuple[str, dict | None]] = []
    assert backfill_here(
        START, END, settings=serial, detector_names=DETECTORS, on_done=lambda s, m: done.append((s, m))
    )
    by_serial = _results(os_client, settings, historical=True)
    assert len(by_serial) == 24 * 60 * len(DETECTORS)
    serial_reports = [(r["start"], r["detector"], r["results_written"]) for r in done[0][1]["detectors"]]
    assert len(serial_reports) == 24 * len(DETECTORS)

    # --- the same on 2 Dask worker processes, one killed while the tasks run ----------------------------
    killed: list[int] = []
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(
            backfill_here, START, END, settings=dask, detector_names=DETECTORS, on_done=lambda s, m: done.append((s, m))
        )
        deadline = time.monotonic() + 240
        while not run.done() and time.monotonic() < deadline and not killed:
            workers = _dask_workers()
            if len(workers) == 2 and 0 < _historical_count(os_client, settings) < len(by_serial) // 2:
                workers[0].send_signal(signal.SIGKILL)
                killed.append(workers[0].pid)
            time.sleep(0.1)
        assert run.result(timeout=600)
    assert killed, "no worker was killed mid-run"
    assert done[1][0] == "Completed"
    by_dask = _results(os_client, settings, historical=True)
    assert by_dask.keys() == by_serial.keys()
    assert by_dask == by_serial
    assert [(r["start"], r["detector"], r["results_written"]) for r in done[1][1]["detectors"]] == serial_reports


def test_hc_crosscheck_per_entity_on_dask_matches_serial(prefect_harness, settings, os_client) -> None:
    from flows.crosscheck import crosscheck_flow
    from flows.runners import task_runner

    serial = with_runner(settings, "serial")
    dask = with_runner(settings, "dask", 2)
    with exported(settings):
        _in_the_index(settings, START, START + timedelta(hours=3), 0.3)
    from detectors.local_engine import LocalADEngine
    from wafad.catalogue import get_detector

    t0, t1 = START + timedelta(hours=1), START + timedelta(hours=3)
    hc = LocalADEngine(settings, os_client).run(get_detector("waf-country-hc"), t0, t1, mode="realtime")
    assert hc.entities >= 3
    reports = []
    for i, s in enumerate((serial, dask)):
        # each run its own model store (bucket), so the second does not continue the first's ensembles
        s = s.model_copy(update={"bucket": f"{settings.bucket}-xc{i}"})
        with exported(s):
            reports.append(crosscheck_flow.with_options(task_runner=task_runner(s))(t0, t1, ["waf-country-hc"]))
    a, b = (r["reports"][0] for r in reports)
    assert a["n_compared"] > 0 and len({str(i["entity"]) for i in a["intervals"]}) >= 3
    assert (a["verdict"], a["summary"], a["intervals"]) == (b["verdict"], b["summary"], b["intervals"])
