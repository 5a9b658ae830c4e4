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
