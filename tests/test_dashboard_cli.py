"""``wafad dashboard`` and ``wafad dashboard-objects`` through the real CLI, on the test stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboard.dashboards_objects.validate import validate_saved_objects
from dashboard.sample_data import index_window, labels_for_window
from wafad.catalogue import DETECTORS
from wafad.settings import get_settings

START = datetime(2026, 8, 3, 6, 0, tzinfo=UTC)


def test_dashboard_command_writes_the_page(settings, os_client, cli_env, tmp_path: Path) -> None:
    from wafad.cli import app

    anomalies = [("httpStatus", 5, 9)]
    index_window(os_client, settings, START, 12, anomalies=anomalies, per_minute=5)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(labels_for_window(START, anomalies)))
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(
        json.dumps(
            {"detector": "waf-http-status-5xx", "kind": "opened", "window_start": "2026-08-03T06:06:00Z", "text": "x"}
        )
        + "\n"
    )
    out = tmp_path / "page" / "dash.html"
    result = CliRunner().invoke(
        app,
        [
            "dashboard",
            "--start", "2026-08-03T06:00:00Z",
            "--end", "2026-08-03T06:12:00",
            "--out", str(out),
            "--labels", str(labels),
            "--alerts", str(alerts),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert 'id="detector-waf-http-status-5xx"' in html and "ground truth found 1/1" in html
    assert '<section id="alerts">' in html


def test_dashboard_command_rejects_bad_input(cli_env, tmp_path: Path) -> None:
    from wafad.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["dashboard", "--start", "now-1h", "--end", "now-2h", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "must be after" in result.output
    result = runner.invoke(app, ["dashboard", "--start", "yesterday", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "ISO-8601" in result.output
    result = runner.invoke(
        app,
        ["dashboard", "--start", "now-1h", "--labels", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x")],
    )
    assert result.exit_code != 0 and "does not exist" in result.output
    assert not (tmp_path / "x").exists()


def test_dashboard_objects_command(cli_env, settings, tmp_path: Path) -> None:
    from wafad.cli import app

    out = tmp_path / "objects.ndjson"
    result = CliRunner().invoke(app, ["dashboard-objects", "--out", str(out)])
    assert result.exit_code == 0, result.output
    objects = validate_saved_objects(out.read_text().splitlines())
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert f"{settings.index_prefix}-*" in titles


def test_dashboard_command_reads_the_demo_namespace(settings, os_client, cli_env, tmp_path: Path) -> None:
    from wafad.cli import app

    demo_module = pytest.importorskip("flows.demo")
    demo = demo_module.demo_settings(get_settings())
    assert demo.index_prefix != settings.index_prefix
    raw, _ = index_window(os_client, demo, START, 5, per_minute=4)
    try:
        out = tmp_path / "demo.html"
        args = ["dashboard", "--start", "2026-08-03T06:00:00Z", "--end", "2026-08-03T06:05:00Z", "--out", str(out)]
        assert CliRunner().invoke(app, [*args, "--demo"]).exit_code == 0
        html = out.read_text()
        assert f'<div class="v">{len(raw)}</div><div class="k">requests</div>' in html
        assert "no AD results in this window" not in html  # the demo's results index
        assert CliRunner().invoke(app, args).exit_code == 0
        assert out.read_text().count("no AD results in this window") == len(DETECTORS)
    finally:
        os_client.indices.delete(index=f"{demo.index_prefix}-*", ignore_unavailable=True)
        os_client.indices.delete(index=demo.results_index, ignore_unavailable=True)
