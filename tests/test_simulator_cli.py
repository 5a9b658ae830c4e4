"""``wafad simulate`` and ``wafad simulate-toggle`` through typer's runner."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from simulator.cli import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_backfill_writes_objects_and_labels(app: typer.Typer, tmp_path: Path) -> None:
    out, labels = tmp_path / "out", tmp_path / "truth.json"
    args = ["simulate", "--start", "2024-05-01T10:00:00Z", "--duration", "10m", "--rate", "3", "--seed", "7",
            "--anomaly", "httpStatus@2m+3m[x5]", "-a", "volume@6m+1m[x2]",
            "--out", str(out), "--labels", str(labels)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    files = sorted(out.rglob("*.log.gz"))
    assert len(files) == 2
    n = sum(len(gzip.decompress(f.read_bytes()).splitlines()) for f in files)
    assert f"wrote {n:,} records in 2 objects" in result.output.replace("\n", " ")
    assert [x["field"] for x in json.loads(labels.read_text())] == ["httpStatus", "volume"]
    again = tmp_path / "again"
    assert CliRunner().invoke(app, [*args[:-4], "--out", str(again)]).exit_code == 0  # same seed, same bytes
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in sorted(again.rglob("*.log.gz"))]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--anomaly", "status@2m+3m"], "unknown field 'status'"),
        (["--anomaly", "httpStatus@2m"], "missing +DURATION"),
        (["--anomaly", "httpStatus@2m+3m[x0]"], "intensity must be in"),
        (["--duration", "ten minutes"], "--duration"),
        (["--start", "yesterday"], "--start"),
        (["--rate", "0"], "--rate must be a positive number"),
        (["--firehose", "s"], "use it with --live"),
    ],
)
def test_bad_input_is_reported_clearly(app: typer.Typer, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["simulate", "--duration", "5m", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not list(tmp_path.rglob("*.log.gz"))


def test_out_is_required(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["simulate", "--duration", "5m"])
    assert result.exit_code == 2 and "--out is required" in result.output


def test_toggle_command(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    runner = CliRunner()
    assert runner.invoke(app, ["simulate-toggle", "httpStatus[x4]", "--toggle-file", str(path)]).exit_code == 0
    assert runner.invoke(app, ["simulate-toggle", "country", "--toggle-file", str(path)]).exit_code == 0
    body = json.loads(path.read_text())
    assert body == {"anomalies": [{"field": "country", "intensity": 5.0}, {"field": "httpStatus", "intensity": 4.0}]}
    result = runner.invoke(app, ["simulate-toggle", "--off", "httpStatus", "--toggle-file", str(path)])
    assert result.exit_code == 0 and "country x5" in result.output
    bad = runner.invoke(app, ["simulate-toggle", "nope", "--toggle-file", str(path)])
    assert bad.exit_code == 2 and "unknown anomaly field 'nope'" in " ".join(bad.output.split())


def test_scenario_from_options_backfill_ends_now_and_live_starts_now() -> None:
    from datetime import UTC, datetime, timedelta

    from simulator.scenario import scenario_from_options

    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    back = scenario_from_options(None, "1h30m", 3, ["country@10m+5m[x4]"], 11, now=now)
    assert (back.start, back.end, back.rate, back.seed) == (now - timedelta(minutes=90), now, 3, 11)
    assert back.labels() == [{"field": "country", "start": "2024-05-01T08:40:00Z", "end": "2024-05-01T08:45:00Z",
                              "intensity": 4.0}]  # fmt: skip
    live = scenario_from_options(None, "10m", 1, live=True, now=now)
    assert (live.start, live.anomalies) == (now, [])
    fixed = scenario_from_options("2024-05-01T12:00:00Z", "5m", 1, live=True, now=now)
    assert fixed.start == datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("args", "message"), [
    (("yesterday", "5m", 1), "--start: not an ISO-8601 time: 'yesterday'"),
    ((None, "ten minutes", 1), "--duration: not a duration: 'ten minutes'"),
    ((None, "0m", 1), "--duration must be positive"),
    ((None, "5m", -1), "--rate must be a positive number"),
])  # fmt: skip
def test_scenario_from_options_names_the_bad_option(args: tuple, message: str) -> None:
    from simulator.scenario import AnomalySpecError, scenario_from_options

    with pytest.raises(AnomalySpecError) as err:
        scenario_from_options(*args)
    assert str(err.value).startswith(message)


def test_parse_toggle() -> None:
    from simulator.live import parse_toggle
    from simulator.scenario import DEFAULT_INTENSITY, AnomalySpecError

    assert parse_toggle(" httpStatus[x4] ") == ("httpStatus", 4.0)
    assert parse_toggle("country[ *2.5 ]") == ("country", 2.5)
    assert parse_toggle("volume") == ("volume", DEFAULT_INTENSITY)
    for bad in ("http-status", "country[x]", "country[x1.2.3]", "country x4"):
        with pytest.raises(AnomalySpecError, match="expected FIELD or FIELD"):
            parse_toggle(bad)


def test_doctests() -> None:
    import doctest

    import simulator.live
    import simulator.scenario

    for module in (simulator.scenario, simulator.live):
        assert doctest.testmod(module).failed == 0
