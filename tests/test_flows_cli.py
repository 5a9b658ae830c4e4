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
