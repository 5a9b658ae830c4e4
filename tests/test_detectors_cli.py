"""``wafad detectors ...`` and ``wafad alerts ...`` through typer against the local stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import typer
from opensearchpy import helpers
from typer.testing import CliRunner

from alerting.cli import register as register_alerts
from detectors.cli import register as register_detectors
from ingest.index_template import ensure_index_template
from wafad.catalogue import DETECTORS, indicators

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def cli(cli_env, os_client):
    app = typer.Typer()
    register_detectors(app)
    register_alerts(app)
    return app


def _index(os_client, settings, minutes: int) -> None:
    ensure_index_template(os_client, settings)  # the ingest part's real mappings
    prefix = settings.index_prefix
    docs = []
    for m in range(minutes):
        for k in range(5):
            rec = {
                "action": "ALLOW",
                "httpSourceName": "ALB",
                "httpStatus": 200,
                "httpRequest": {"country": "GB", "clientIp": "198.51.100.1", "uri": "/", "httpMethod": "GET"},
            }
            ts = T0 + timedelta(minutes=m, seconds=k * 10)
            docs.append(
                {
                    "_index": f"{prefix}-2026.01.01",
                    "_id": f"{m}-{k}",
                    "event_id": f"{m}-{k}",
                    "@timestamp": ts.isoformat(timespec="milliseconds"),
                    **rec,
                    **indicators(rec),
                }
            )
    helpers.bulk(os_client, docs, refresh=True)


def test_detectors_and_alerts_commands(cli, settings, os_client) -> None:
    runner = CliRunner()
    _index(os_client, settings, 45)
    out = runner.invoke(cli, ["detectors", "ensure"])
    assert out.exit_code == 0, out.output
    assert all(spec.name in out.output for spec in DETECTORS) and "local" in out.output

    out = runner.invoke(
        cli,
        [
            "detectors",
            "run",
            "--start",
            "2026-01-01T00:00Z",
            "--end",
            "2026-01-01T00:45Z",
            "-d",
            "waf-volume",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    reports = json.loads(out.stdout)
    assert [(r["detector"], r["results_written"], r["engine"]) for r in reports] == [("waf-volume", 45, "local")]

    out = runner.invoke(cli, ["detectors", "status"])
    assert out.exit_code == 0 and "waf-volume" in out.output
    from detectors.status import detector_statuses

    models = {r["name"]: r["models"] for r in detector_statuses(settings, os_client)}
    assert models["waf-volume"] == 1 and models["waf-block-action"] == 0  # the saved model, in the model store

    out = runner.invoke(
        cli,
        [
            "detectors",
            "results",
            "-d",
            "waf-volume",
            "--start",
            "2026-01-01T00:00Z",
            "--end",
            "2026-01-01T01:00Z",
            "--json",
            "--limit",
            "5",
        ],
    )
    assert out.exit_code == 0, out.output
    docs = json.loads(out.stdout)
    assert len(docs) == 5 and docs[-1]["feature_data"][0]["data"] == 5.0

    out = runner.invoke(cli, ["detectors", "run", "-d", "no-such-detector"])
    assert out.exit_code != 0 and "unknown detector" in out.output

    out = runner.invoke(cli, ["alerts", "run", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == []  # steady traffic
    out = runner.invoke(cli, ["alerts", "inbox", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout) == []
