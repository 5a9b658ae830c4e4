"""Shared fixtures: one real local stack (moto server + osmem-server) and one Prefect test server per session.

Services run on free loopback ports in a temporary state folder, so tests never touch a developer's own
``wafad stack`` and several test sessions can run side by side. Each test gets :func:`settings` with its own
resource names, so tests share the servers without sharing state.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from wafad.settings import Settings
from wafad.stack import LocalStack, free_port

SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "waf_samples"
SAMPLES_DIR = Path(__file__).resolve().parent / "data" / "waf_samples"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a session-wide local stack, started on free ports and stopped at the end."""
    base = Settings(
        _env_file=None,
        target="local",
        state_dir=tmp_path_factory.mktemp("wafad-state"),
        moto_port=free_port(),
        osmem_port=free_port(),
        prefect_port=free_port(),
    )
    stack = LocalStack(base)
    stack.up()
    try:
        yield base
    finally:
        stack.down()


@pytest.fixture
def settings(stack_settings: Settings, tmp_path: Path) -> Settings:
    """Per-test settings on the shared stack, with unique resource names and a private state folder."""
    tag = uuid.uuid4().hex[:8]
    return stack_settings.model_copy(
        update={
            "state_dir": tmp_path / "state",
            "bucket": f"wafad-test-{tag}",
            "kinesis_stream": f"wafad-test-{tag}",
            "firehose_stream": f"wafad-test-{tag}",
            "index_prefix": f"waf-test-{tag}",
            "results_index": f"opensearch-ad-plugin-result-test-{tag}",
            "sns_topic": f"wafad-test-{tag}",
            "s3_events_queue": f"wafad-test-s3-{tag}",
            "alerts_queue": f"wafad-test-alerts-{tag}",
            "kinesis_shards": 2,
        }
    )


@pytest.fixture
def aws_settings(settings: Settings) -> Settings:
    """``settings`` on the ``aws`` target, its AWS endpoints still the session's moto (and osmem) servers."""
    from pydantic import SecretStr

    return settings.model_copy(
        update={
            "target": "aws",
            "aws_endpoint_url": settings.moto_url,
            "opensearch_url": settings.osmem_url,
            "aws_access_key_id": settings.aws_access_key_id or SecretStr("testing"),
            "aws_secret_access_key": settings.aws_secret_access_key or SecretStr("testing"),
        }
    )


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """``settings`` as the ``WAFAD_*`` environment of a CLI command run in-process (``get_settings()`` sees them)."""
    from flows.common import settings_env
    from wafad.settings import get_settings

    env = {
        **settings_env(settings),
        "WAFAD_MOTO_PORT": str(settings.moto_port),
        "WAFAD_OSMEM_PORT": str(settings.osmem_port),
        "WAFAD_PREFECT_PORT": str(settings.prefect_port),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WAFAD_DETECTOR_ENGINE", raising=False)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


@pytest.fixture
def delivered_hour():
    """``make(settings, start) -> (records, keys, lines)``: one simulated hour in S3, relayed and delivered, every
    record indexed; ``keys`` are the hour's S3 objects and ``lines`` their line counts (adding up to ``records``)."""
    from datetime import timedelta

    from ingest.delivery import deliver
    from ingest.infra import ensure_ingest
    from ingest.s3_events import relay
    from simulator import Scenario, simulate
    from tasks.checks import list_log_objects, s3_line_count
    from tasks.simulate import s3_log_url
    from wafad.clients import aws_client

    def make(settings: Settings, start: datetime) -> tuple[int, list[str], dict[str, int]]:
        end = start + timedelta(hours=1)
        ensure_ingest(settings)
        sim = simulate(
            Scenario(start=start, duration=end - start, rate=0.4, seed=11),
            s3_log_url(settings),
            s3_client=aws_client("s3", settings),
        )
        relay(settings)
        assert deliver(settings).indexed == sim.records
        keys = list_log_objects(settings, start, end)
        lines = s3_line_count(settings, keys)
        assert sum(lines.values()) == sim.records
        return sim.records, keys, lines

    return make


@pytest.fixture
def os_client(settings: Settings):
    from wafad.clients import opensearch_client

    client = opensearch_client(settings)
    yield client
    # free osmem memory: drop this test's indices
    for pattern in (f"{settings.index_prefix}*", f"{settings.results_index}*"):
        with contextlib.suppress(Exception):
            client.indices.delete(index=pattern, ignore_unavailable=True)


@pytest.fixture(scope="session")
def waf_samples() -> list[Path]:
    """The real published WAF records (vendored copy of ../shared/waf_samples)."""
    files = sorted(SAMPLES_DIR.glob("*.json"))
    assert files, f"no samples in {SAMPLES_DIR}"
    return files


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One Prefect test server for the whole session (about 20 s to start); request it only where needed."""
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(
            updates={
                PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                PREFECT_RESULTS_LOCAL_STORAGE_PATH: tmp_path_factory.mktemp("prefect-results"),
            }
        ),
    ):
        yield
