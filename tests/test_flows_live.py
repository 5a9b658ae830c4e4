"""The scheduled flows: live simulation (with the local ingest pump) and detect-and-alert, on a fixed slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.common import exported
from flows.detect_and_alert import detect_and_alert_flow
from flows.ensure_infrastructure import ensure_infrastructure_flow
from flows.simulate import simulate_flow
from tasks.checks import indexed_count

SLOT = datetime(2026, 11, 20, 9, 30, 20, tzinfo=UTC)


@pytest.fixture
def at_slot(monkeypatch: pytest.MonkeyPatch) -> datetime:
    import prefect.runtime.flow_run as rt

    monkeypatch.setitem(rt.FIELDS, "scheduled_start_time", lambda: SLOT)
    return SLOT


def test_simulate_then_detect_and_alert(prefect_harness, settings, os_client, at_slot) -> None:
    with exported(settings):
        infra = ensure_infrastructure_flow(dashboards=False, concurrency_limits=False)
        assert infra["changed"]  # a fresh namespace: resources were created
        live = simulate_flow(minutes=5, rate=2.0, anomaly="httpStatus[x8]")
        end = at_slot.replace(second=0)
        assert live["end"] == end.isoformat() and live["labels"][0]["field"] == "httpStatus"
        d = live["delivery"]
        assert live["records"] > 0 and d["read"] == live["records"] == d["indexed"] + d["dropped"]
        assert indexed_count(settings, end - timedelta(minutes=5), end) == d["indexed"]
        # the same slot again writes the same records (seed from the slot): nothing doubles
        again = simulate_flow(minutes=5, rate=2.0, anomaly="httpStatus[x8]")
        assert again["records"] == live["records"]
        assert indexed_count(settings, end - timedelta(minutes=5), end) == d["indexed"]

        out = detect_and_alert_flow(lookback_minutes=10)
    assert {r["detector"] for r in out["detectors"]} >= {"waf-http-status-5xx", "waf-volume"}
    assert out["end"] == (end - timedelta(minutes=settings.window_delay_minutes)).isoformat()
    assert isinstance(out["alerts"], list)
