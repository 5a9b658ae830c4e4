"""The demo flow end to end on the session's moto + osmem, orchestrated by the Prefect test server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flows.common import exported
from flows.demo import demo_flow, demo_settings, demo_summary


def test_demo_flow_reconciles_every_hop_and_detects_the_window(prefect_harness, settings, os_client) -> None:
    end = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with exported(settings):
        summary = demo_flow(
            hours=2,
            rate=0.5,
            seed=3,
            end=end,
            anomalies=["httpStatus@80m+15m[x10]"],
            detectors=["waf-http-status-5xx"],
            min_confidence=0.0,  # two hours: a model that has seen 80 minutes (confidence ~0.67) at the window
        )
    r = summary["records"]
    assert r["simulated"] > 1000
    assert r["simulated"] == r["s3_lines"] == r["kinesis"] == r["delivered"]
    assert r["delivered"] == r["indexed"] + r["set_aside"]
    assert r["searchable"] == r["indexed"]
    (window,) = summary["windows"]
    assert window["field"] == "httpStatus" and window["detected"], summary["windows"]
    assert window["max_grade"] > 0 and window["detectors"] == ["waf-http-status-5xx"]
    assert summary["alerts_sent"], "the detected window must raise an alert"
    assert summary["alerts_received"] == len(summary["alerts_sent"])
    assert summary["alerts_outside_windows"] == []
    assert summary["ok"], summary["problems"]
    # the detectors started 30 min in, their models warmed on those 30 minutes of traffic (detectors.warm_start)
    assert summary["detectors_from"] == "2026-11-20T10:30:00Z"
    (warm,) = summary["warm_start"]
    assert (warm["detector"], warm["series"], warm["intervals"]) == ("waf-http-status-5xx", 1, 30)
    assert summary["cold_start_minutes"] == {"waf-http-status-5xx": 0.0}  # min_confidence 0: the first result
    dashboard = Path(summary["dashboard"])
    assert dashboard.exists() and "<html" in dashboard.read_text()[:2000].lower()
    executive = Path(summary["executive"]["html"])  # the one-page KPI report (its PDF: tests/test_dashboard_report)
    assert executive.exists() and f"{r['indexed']:,}" in executive.read_text()
    assert set(summary["stage_seconds"]) >= {"simulate", "relay S3 → Kinesis", "deliver Kinesis → OpenSearch"}
    # the demo ran in its own namespace: the documents are in the demo's indices
    ns = demo_settings(settings)
    count = os_client.count(index=f"{ns.index_prefix}-*")["count"]
    assert count == r["indexed"]
    assert _latest_artifact("demo-summary").count("httpStatus") >= 1


def _latest_artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC, limit=1
        )
    assert arts, f"no {key} artifact"
    return str(arts[0].data)


def test_demo_flow_fails_its_check_when_a_window_is_missed(prefect_harness, settings, os_client) -> None:
    """An injected window that no detector watches is reported as not detected (so `make demo` exits non-zero)."""
    end = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with exported(settings):
        state = demo_flow(
            hours=2,
            rate=0.3,
            seed=4,
            end=end,
            anomalies=["country@80m+15m[x10]"],
            detectors=["waf-http-status-5xx"],
            return_state=True,
        )
    assert state.is_failed() and "not detected" in (state.message or "")
    summary = demo_summary(state)
    assert not summary["ok"]
    assert any("country window" in p and "not detected" in p for p in summary["problems"])
    assert summary["records"]["simulated"] == summary["records"]["indexed"] + summary["records"]["set_aside"]
