"""`python -m deployments.serve` serves the deployments; one is run through the Prefect API and completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.common import exported, settings_env
from flows.ensure_infrastructure import ensure_infrastructure_flow

ROOT = Path(__file__).resolve().parents[1]


def _wait_for_deployment(name: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode}")
            try:
                client.read_deployment_by_name(name)
                return
            except ObjectNotFound:
                time.sleep(1)
    pytest.fail(f"deployment {name} did not appear within {timeout_s} s")


def test_served_deployment_runs_through_the_api(prefect_harness, settings, tmp_path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    from wafad.clients import aws_client

    env = {
        **os.environ,
        **settings_env(settings),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "deployments.serve", "--only", "ensure-infrastructure", "--only", "backfill-hourly"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_deployment("ensure-infrastructure/ensure-infrastructure", proc)
        _wait_for_deployment("backfill/backfill-hourly", proc)
        with get_client(sync_client=True) as client:
            backfill = client.read_deployment_by_name("backfill/backfill-hourly")
        assert [s.schedule.cron for s in backfill.schedules] == ["5 * * * *"]
        assert backfill.concurrency_limit == 1 or backfill.global_concurrency_limit is not None

        run = run_deployment(
            "ensure-infrastructure/ensure-infrastructure", parameters={"dashboards": False}, timeout=300
        )
        assert run.state is not None and run.state.is_completed(), (run.state, (tmp_path / "serve.log").read_text())
        # the run created the resources in the served process's settings
        aws_client("s3", settings).head_bucket(Bucket=settings.bucket)
        aws_client("sns", settings).get_topic_attributes(
            TopicArn=f"arn:aws:sns:{settings.aws_region}:{settings.aws_account_id}:{settings.sns_topic}"
        )
        with get_client(sync_client=True) as client:
            arts = client.read_artifacts()
        mine = [a for a in arts if a.flow_run_id == run.id and a.key == "ensure-infrastructure"]
        assert mine and "ensure-infrastructure (local)" in str(mine[0].data)

        # a second run creates nothing (ingest re-puts its index template every time and reports "updated")
        with exported(settings):
            again = ensure_infrastructure_flow(dashboards=False, return_state=True)
        assert again.is_completed()
        with get_client(sync_client=True) as client:
            arts = client.read_artifacts()
        second = [
            a for a in arts if a.flow_run_id == again.state_details.flow_run_id and a.key == "ensure-infrastructure"
        ]
        assert second, "no artifact from the second run"
        assert "created" not in str(second[0].data), second[0].data
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
