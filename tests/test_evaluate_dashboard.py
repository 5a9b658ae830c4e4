"""The dashboard's evaluation section: shown from a real ``evaluate`` report, escaped, absent without one."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dashboard.render import write_dashboard
from evaluate import evaluate_profile
from wafad.settings import get_settings

START, END = "2026-06-01T12:00:00Z", "2026-06-01T12:10:00Z"
HOSTILE = '<img src=x onerror="alert(1)">'


def test_evaluation_section_from_a_report(settings, os_client, tmp_path: Path) -> None:
    report = json.loads(evaluate_profile("demo", days=0.1, seeds=(9004,), settings=get_settings()).to_json())
    report["runs"][0]["incidents"].append(
        {"detector": "waf-volume", "entity": HOSTILE, "start": START, "opened": START, "end": None, "false": True}
    )
    html = write_dashboard(settings, START, END, tmp_path / "d.html", evaluation=report).read_text()
    section = re.search(r'<section id="evaluation">(.*?)</section>', html, re.S)
    assert section is not None and 'href="#evaluation"' in html
    body = section.group(1)
    for name in report["detectors"]:
        assert f"<td>{name}</td>" in body
    assert "False incidents" in body and HOSTILE not in html and "&lt;img src=x" in body
    plain = write_dashboard(settings, START, END, tmp_path / "p.html").read_text()
    assert '<section id="evaluation">' not in plain
