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
