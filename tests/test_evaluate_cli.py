"""``wafad evaluate`` on the command line: --json's last line, --out files, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from wafad.cli import app

runner = CliRunner()


def test_json_last_line_and_out_files(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["evaluate", "--profile", "demo", "--days", "0.1", "--seed", "9003", "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["profile"] == "demo" and last["seeds"] == [9003]
    for block in (last["overall"], *last["per_detector"].values()):
        assert {"recall", "false_incidents_per_day", "precision", "delay_median_min", "delay_max_min"} <= set(block)
    page = out.read_text()
    assert "<table>" in page and "waf-block-action" in page and "<script" not in page


def test_unknown_profile_lists_the_known_ones() -> None:
    result = runner.invoke(app, ["evaluate", "--profile", "nope"])
    assert result.exit_code == 1
    assert "unknown profile 'nope'" in result.output and "demo, subtle, repeats, diurnal, bursts, gaps" in result.output


def test_bad_arguments_exit_1() -> None:
    for args in (["--days", "0"], ["--out", "x.pdf"], ["--detector", "waf-nope"], ["--engine", "gpu"]):
        result = runner.invoke(app, ["evaluate", "--profile", "demo", "--days", "0.05", *args])
        assert result.exit_code == 1, (args, result.output)
        assert "error:" in result.output
