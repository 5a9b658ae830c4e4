"""The Prefect commands are registered on `wafad` and validate their input before touching any server."""

from __future__ import annotations

from typer.testing import CliRunner

from wafad.cli import app

runner = CliRunner()


def test_commands_are_registered() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "serve", "backfill"):
        assert command in result.output


def test_backfill_rejects_an_empty_range() -> None:
    result = runner.invoke(app, ["backfill", "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T09:00:00Z"])
    assert result.exit_code == 2
    assert "--end must be after --start" in result.output


def test_demo_help_documents_the_scenario_options() -> None:
    result = runner.invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    for option in ("--hours", "--rate", "--anomaly", "--detector", "--crosscheck"):
        assert option in result.output


def _isolated_prefect_env(monkeypatch, settings) -> None:
    """Every variable prefect_environment may set, restored after the test."""
    from wafad.stack import prefect_env

    for key in {*prefect_env(settings), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"}:
        monkeypatch.delenv(key, raising=False)


def test_prefect_environment_picks_the_server(monkeypatch, tmp_path) -> None:
    import os

    from flows.prefect_server import prefect_environment
    from wafad.settings import Settings
    from wafad.stack import free_port

    settings = Settings(_env_file=None, state_dir=tmp_path, prefect_port=free_port())  # no server runs there
    _isolated_prefect_env(monkeypatch, settings)
    said = prefect_environment(settings, allow_ephemeral=True)
    assert said.startswith("a temporary Prefect server")
    assert os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] == "true" and "PREFECT_API_URL" not in os.environ
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "prefect").resolve())

    _isolated_prefect_env(monkeypatch, settings)
    assert prefect_environment(settings, allow_ephemeral=False) == f"Prefect server {settings.prefect_api_url}"
    assert os.environ["PREFECT_API_URL"] == settings.prefect_api_url
    assert os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] == "false"

    monkeypatch.setenv("PREFECT_API_URL", "http://elsewhere:4200/api")
    said = prefect_environment(settings, allow_ephemeral=False)
    assert said == "Prefect server http://elsewhere:4200/api (PREFECT_API_URL)"


def test_demo_summary_is_printed_as_tables() -> None:
    from rich.console import Console

    from flows.demo import RECORD_COLUMNS
    from flows.demo_report import print_demo_summary

    window = {"field": "httpStatus", "start": "2024-05-01T10:20:00Z", "end": "2024-05-01T10:30:00Z",
              "intensity": 5.0, "detected": True, "first_detection": "2024-05-01T10:23:00Z", "delay_minutes": 3.0,
              "max_grade": 0.87, "detectors": ["waf-http-status-5xx"]}  # fmt: skip
    summary = {
        "records": {key: 1234 for key in RECORD_COLUMNS.values()},
        "windows": [window, {**window, "field": "country", "detected": False, "first_detection": None,
                             "delay_minutes": None, "max_grade": 0.0, "detectors": []}],
        "detections": 9, "detections_outside_windows": 0, "detectors_from": "the local engine",
        "alerts_sent": [{"subject": "wafad: waf-http-status-5xx opened"}], "alerts_received": 1,
        "alerts_outside_windows": [], "total_seconds": 12.5, "stage_seconds": {"simulate": 2.25},
        "dashboard": "/tmp/dash.html", "executive": {"html": "/tmp/x.html", "pdf": "/tmp/x.pdf"},
        "target": "local", "ok": False, "problems": ["window country not detected"],
    }  # fmt: skip
    console = Console(record=True, width=200)
    print_demo_summary(summary, console)
    text = console.export_text()
    assert "1,234" in text and "10:20–10:30" in text and "x5" in text and "3 min" in text and "0.87" in text
    assert "NO" in text and "waf-http-status-5xx opened" in text and "simulate" in text and "2.2" in text
    assert "executive report: /tmp/x.pdf" in text
    assert "12.5 s" in text and "/tmp/dash.html" in text and "wafad stack down" in text
    assert "problem: window country not detected" in text and "demo passed" not in text
