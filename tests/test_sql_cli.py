"""``wafad sql`` through typer's CliRunner: output formats, saved queries, and one clear line for every error."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from queries.cli import register
from simulator import Scenario, parse_anomaly, simulate
from tasks.simulate import s3_log_url
from wafad.clients import aws_client
from wafad.settings import Settings, get_settings

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
WINDOW = ["--start", "2024-06-01T08:00Z", "--end", "2024-06-01T08:10Z"]


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[typer.Typer, int]]:
    """The sql command with this test's settings, over 10 simulated minutes in its bucket; yields (app, records)."""
    env = {
        "WAFAD_TARGET": "local",
        "WAFAD_MOTO_PORT": str(settings.moto_port),
        "WAFAD_STATE_DIR": str(settings.state_dir),
        "WAFAD_BUCKET": settings.bucket,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    s3 = aws_client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    scenario = Scenario(T0, timedelta(minutes=10), 1, [parse_anomaly("action@2m+3m[x10]", T0)], seed=3)
    summary = simulate(scenario, s3_log_url(settings), s3_client=s3, labels_path=settings.state_dir / "labels.json")
    app = typer.Typer()
    register(app)
    app.command("noop", hidden=True)(lambda: None)  # more than one command: `sql` stays a sub-command
    yield app, summary.records
    get_settings.cache_clear()


def _sql(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, ["sql", *args])


def test_formats_table_csv_json(cli) -> None:
    app, records = cli
    q = "SELECT action, count(*) AS n FROM waf_logs GROUP BY action ORDER BY action"
    as_json = _sql(app, q, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert sum(r["n"] for r in rows) == records and {r["action"] for r in rows} >= {"ALLOW", "BLOCK"}
    as_csv = _sql(app, q, "-f", "csv")
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == [{k: str(v) for k, v in r.items()} for r in rows]
    table = _sql(app, q)
    assert table.exit_code == 0 and "ALLOW" in table.stdout and f"{len(rows)} rows" in table.stdout


def test_values_are_printed_as_data_not_markup(cli) -> None:
    app, _ = cli
    out = _sql(app, "SELECT '[red]x[/red]' AS v, [1, 2] AS l, {'a': 1} AS s FROM waf_logs LIMIT 1")
    assert out.exit_code == 0 and "[red]x[/red]" in out.stdout
    as_csv = _sql(app, "SELECT [1, 2] AS l, {'a': 'b'} AS s FROM waf_logs LIMIT 1", "-f", "csv")
    assert list(csv.reader(io.StringIO(as_csv.stdout)))[1] == ["[1, 2]", '{"a": "b"}']


def test_window_and_saved_queries(cli) -> None:
    app, records = cli
    whole = json.loads(_sql(app, "SELECT count(*) AS n FROM waf_logs", "-f", "json").stdout)[0]["n"]
    part = _sql(app, "SELECT count(*) AS n FROM waf_logs", "--start", "2024-06-01T08:02Z", "--end", "2024-06-01T08:04Z",
                "-f", "json")  # fmt: skip
    assert whole == records and 0 < json.loads(part.stdout)[0]["n"] < records / 3
    listed = _sql(app, "--list", "-f", "json")
    assert {r["name"] for r in json.loads(listed.stdout)} >= {"counts", "distribution", "top"}
    counts = _sql(app, "--saved", "bad_counts", *WINDOW, "--interval", "5", "-f", "json")
    assert counts.exit_code == 0, counts.output
    assert sum(r["requests"] for r in json.loads(counts.stdout)) == records
    labels = str(Path(get_settings().state_dir) / "labels.json")
    dist = _sql(app, "--saved", "distribution", *WINDOW, "--labels", labels)
    assert dist.exit_code == 0, dist.output
    assert "action: matches" in dist.stdout and "country: matches" in dist.stdout
    shown = _sql(app, "--saved", "top", *WINDOW, "--show-sql")
    assert shown.exit_code == 0 and "WHERE place <= 10" in shown.stdout and "{{" not in shown.stdout.split("\nWITH")[1]
    ddl = _sql(app, "--ddl")
    assert "CREATE EXTERNAL TABLE" in ddl.stdout and f"s3://{get_settings().bucket}/AWSLogs/" in ddl.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["SELEC nothing"], "error: Parser Error: syntax error"),
    (["SELECT nope FROM waf_logs"], "error: Binder Error"),
    (["SELECT 1", "--source", "s3://wafad-no-such-bucket/AWSLogs/"], "bucket 'wafad-no-such-bucket' does not exist"),
    (["SELECT 1", "--source", "s3://{bucket}/elsewhere/"], "no WAF log objects in s3://{bucket}/elsewhere/"),
    (["SELECT 1", "--start", "2030-01-01T00:00Z", "--end", "2030-01-02T00:00Z"], "in s3://{bucket}/AWSLogs/ between"),
    (["SELECT 1", "--source", "ftp://x/y"], "bad source 'ftp://x/y'"),
    (["SELECT 1", "--source", "/no/such/folder"], "folder '/no/such/folder' does not exist"),
    (["SELECT 1", "--start", "yesterday"], "is not an ISO-8601 time"),
    (["--saved", "nope", *WINDOW], "no saved query 'nope'"),
    (["--saved", "counts"], "saved query counts needs --start and --end"),
    (["--saved", "bad_share", *WINDOW], "bad_share needs the ground truth: --labels FILE"),
    (["--saved", "bad_share", *WINDOW, "--labels", "/no/labels.json"], "labels file '/no/labels.json' does not exist"),
    ([], "give either a SQL query or --saved NAME"),
    (["SELECT 1", "-f", "xml"], "--format must be one of table, csv, json"),
])  # fmt: skip
def test_errors_are_one_clear_line(cli, args: list[str], message: str) -> None:
    app, _ = cli
    bucket = get_settings().bucket
    out = _sql(app, *[a.replace("{bucket}", bucket) for a in args])
    assert out.exit_code == 1
    text = " ".join(out.output.split())  # rich may wrap a long line
    assert message.replace("{bucket}", bucket) in text, out.output
    assert "Traceback" not in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def test_a_distribution_that_does_not_match_exits_non_zero(cli, tmp_path: Path) -> None:
    app, _ = cli
    wrong = tmp_path / "labels.json"  # the action window was x10: claim x1.5 in the wrong place
    wrong.write_text(json.dumps([{"field": "action", "start": "2024-06-01T08:06:00Z", "end": "2024-06-01T08:09:00Z",
                                  "intensity": 1.5}]))  # fmt: skip
    out = _sql(app, "--saved", "distribution", *WINDOW, "--labels", str(wrong))
    assert out.exit_code == 1 and "action: does NOT match" in out.stdout
