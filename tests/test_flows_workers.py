"""`wafad serve --workers N` (``python -m deployments.serve --workers N``): prefect.yaml deployed to the process work
pool, two local workers sharing a backfill's hours without duplicates, and the workers' lifecycle (one that dies is
reported, `wafad stack down` stops the rest, the serve process then exits)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.common import exported, settings_env
from tasks.checks import indexed_count, list_log_objects, s3_line_count

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 21, 6, tzinfo=UTC)
HOURS = 4
END = START + timedelta(hours=HOURS)
DEPLOYMENT = "backfill/backfill-hourly-pool"


def _simulated_but_not_ingested(settings) -> dict[str, int]:
    """Four simulated hours in S3 whose S3 events were lost: only a backfill re-drive can index them."""
    from ingest.infra import ensure_ingest
    from simulator import Scenario, simulate
    from tasks.simulate import s3_log_url
    from wafad.clients import aws_client

    ensure_ingest(settings)
    sim = simulate(
        Scenario(start=START, duration=END - START, rate=0.08, seed=29), s3_log_url(settings),
        s3_client=aws_client("s3", settings),
    )  # fmt: skip
    sqs = aws_client("sqs", settings)
    sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=settings.s3_events_queue)["QueueUrl"])
    lines = s3_line_count(settings, list_log_objects(settings, START, END))
    assert sum(lines.values()) == sim.records > 0
    assert indexed_count(settings, START, END) == 0
    return lines


def _wait(predicate, what: str, proc: subprocess.Popen, log: Path, timeout_s: float = 240):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (value := predicate()) is not None:
            return value
        if proc.poll() is not None:
            pytest.fail(f"serve --workers exited with {proc.returncode} while waiting for {what}:\n{log.read_text()}")
        time.sleep(1)
    ps = subprocess.run(["ps", "-eo", "pid,pgid,etimes,stat,args"], capture_output=True, text=True).stdout
    procs = "\n".join(ln[:160] for ln in ps.splitlines() if "prefect" in ln)
    pytest.fail(f"no {what} within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}\nprocesses:\n{procs}")


def _deployment_runs(client, name: str) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    dep = client.read_deployment_by_name(name)
    return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])))


def _redriven(client, run_id) -> int:
    """The "re-driven" cell of the run's backfill-summary artifact."""
    [art] = [a for a in client.read_artifacts() if a.flow_run_id == run_id and a.key == "backfill-summary"]
    header, _, row = [ln for ln in str(art.data).splitlines() if ln.startswith("|")]
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    return int(cells[" re-driven "])


def test_two_workers_share_a_backfill_without_duplicates(prefect_harness, settings, os_client, tmp_path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.settings import PREFECT_API_URL

    from deployments.workers import running_workers
    from flows.backfill import FAILED_STATES, backfill_deployment, fan_out
    from ingest.events import event_id
    from wafad.cli import app

    with exported(settings):
        lines = _simulated_but_not_ingested(settings)
    hour_of = {key: _key_hour(key) for key in lines}
    env = {
        **os.environ,
        **settings_env(settings),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    log = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "deployments.serve", "--workers", "2", "--worker-limit", "1"]
    argv += ["--only", "backfill-hourly", "--paused"]
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: True if log.read_text().count(" online (pid ") == 2 else None, "two workers online", proc, log)
        workers = running_workers(settings)
        assert [w.index for w in workers] == [1, 2]
        with get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name(DEPLOYMENT)
            assert dep.work_pool_name == "wafad-process" and dep.paused
            assert dep.pull_steps == [
                {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $WAFAD_ROOT }}"}}
            ]  # resolved on each worker from its own environment
            # the hours' re-drive only: what is shared here is ingest (the detectors' historical runs are
            # tested in test_flows_backfill.py)
            client.update_deployment(dep.id, DeploymentUpdate(parameters={"detectors": False}))

        assert backfill_deployment() == DEPLOYMENT  # `wafad backfill` sends hours to the pool once it is deployed
        runs = fan_out(START, END, deployment=DEPLOYMENT)
        assert [r["name"] for r in runs] == [f"backfill-{START + timedelta(hours=h):%Y%m%dT%H}" for h in range(HOURS)]

        def all_final():
            with get_client(sync_client=True) as client:
                found = [client.read_flow_run(r["id"]) for r in runs]
            states = [fr.state.type.value for fr in found]
            return found if all(s == "COMPLETED" or s in FAILED_STATES for s in states) else None

        done = _wait(all_final, "final state for every hour", proc, log)
        assert [fr.state.type.value for fr in done] == ["COMPLETED"] * HOURS, [fr.state for fr in done]
        # both workers took part; each run's process was started by the worker named on it
        took = {fr.labels.get("prefect.worker.name") for fr in done}
        assert took == {w.name for w in workers}, took
        assert all(fr.infrastructure_pid for fr in done)

        with get_client(sync_client=True) as client:
            # every hour was re-driven by its own run: its objects, not another hour's
            for h, fr in enumerate(done):
                hour = START + timedelta(hours=h)
                assert _redriven(client, fr.id) == sum(1 for k in lines if hour_of[k] == hour)
            # every record once: exactly the S3 lines' event ids, in whichever daily index
            assert indexed_count(settings, START, END) == sum(lines.values())
            hits = os_client.search(
                index=f"{settings.index_prefix}-*", body={"size": 10_000, "_source": False, "query": {"match_all": {}}}
            )["hits"]["hits"]
            ids = [h["_id"] for h in hits]
            expected = {event_id(settings.bucket, k, n) for k, count in lines.items() for n in range(1, count + 1)}
            assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected

            # a second fan-out starts nothing new
            assert fan_out(START, END, deployment=DEPLOYMENT) == [{**r, "state": "COMPLETED"} for r in runs]
            assert len(_deployment_runs(client, DEPLOYMENT)) == HOURS

        # lifecycle: a worker that dies is reported; `wafad stack down` stops the other and serve exits 1
        os.killpg(workers[0].pid, signal.SIGKILL)
        _wait(lambda: True if "exited by itself" in log.read_text() else None, "the dead worker reported", proc, log)
        from typer.testing import CliRunner

        with exported(settings):
            result = CliRunner().invoke(app, ["stack", "down"])
        assert result.exit_code == 0 and workers[1].name in result.output, result.output
        assert proc.wait(timeout=60) == 1, log.read_text()
        assert running_workers(settings) == [] and not list((settings.state_dir / "stack").glob("worker-*.pid"))
        assert f"worker {workers[1].name} was stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        from deployments.workers import stop_workers

        stop_workers(settings)


def _key_hour(key: str) -> datetime:
    from flows.common import floor_hour
    from queries.source import key_time

    t = key_time(key)
    assert t is not None, key
    return floor_hour(t)


def test_serve_rejects_a_pool_deployment_it_does_not_know() -> None:
    from deployments.pool import PoolError, pool_deployment_names

    assert pool_deployment_names(["backfill-hourly", "demo-pool"]) == ["backfill-hourly-pool", "demo-pool"]
    assert "simulate-every-minute-pool" in pool_deployment_names()
    with pytest.raises(PoolError, match="unknown deployment"):
        pool_deployment_names(["simulate-every-hour"])


def test_serve_documents_the_worker_options() -> None:
    from typer.testing import CliRunner

    from wafad.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--workers" in result.output and "--worker-limit" in result.output
    assert CliRunner().invoke(app, ["serve", "--workers", "-1"]).exit_code == 2  # before anything starts
