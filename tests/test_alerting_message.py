"""Alert text: attacker-controlled strings stay inert; the message carries what the analyst needs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.message import FeatureLine, MessageInput, ascii_subject, inert, render_text, subject_for

ATTACKS = [
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "/login\r\nX-Injected: yes\n\nFAKE ALERT RESOLVED",
    "\x1b[2J\x1b[31mred\x1b[0m",
    "nul\x00byte",
    "bidi\u202egnp.exe",
    "zero\u200bwidth",
    "line\u2028separator",
    "\x9bC1-CSI",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_inert_removes_every_active_character(attack: str) -> None:
    out = inert(attack)
    assert "<" not in out and ">" not in out and '"' not in out
    assert all(ch.isprintable() for ch in out), repr(out)
    assert "\n" not in out and "\r" not in out and "\x1b" not in out


def test_inert_keeps_the_data_readable() -> None:
    assert inert("/search?q=<script>") == "/search?q=&lt;script&gt;"
    assert inert("a\nb") == "a\\x0ab"
    assert inert("\x1b[31m") == "\\x1b[31m"
    assert inert("\u202e") == "\\u202e"
    assert inert("onerror=alert(1)") == "onerror=alert(1)"  # harmless once no tag can open
    assert inert("x" * 500).endswith("…") and len(inert("x" * 500)) == 121
    assert inert(None) == ""


@given(st.text(max_size=300))
def test_inert_output_is_always_one_printable_line(text: str) -> None:
    out = inert(text)
    assert all(ch.isprintable() for ch in out)
    assert "<" not in out and ">" not in out
    assert len(out) <= 121 * 6  # bounded even when every character is escaped


def _message(**overrides) -> MessageInput:
    base = dict(
        kind="opened",
        detector="waf-http-status-5xx",
        description="Requests per interval with an origin status of 5xx or none",
        incident_key="det|httpRequest.country=FR|1767225600000",
        severity="high",
        entity={"httpRequest.country": "FR"},
        window_start_ms=1_767_225_600_000,
        window_end_ms=None,
        first_flagged_ms=1_767_225_660_000,
        anomalous_intervals=1,
        max_grade=1.0,
        confidence=0.93,
        score=3.2,
        features=[FeatureLine("status_bad", 57.0, 3.1, 1.0)],
        top={"URIs": [(a, 3) for a in ATTACKS], "countries": [("FR", 50)], "client IPs": [("203.0.113.9", 40)]},
        matching_requests=57,
        dashboard="file:///tmp/dash/index.html",
    )
    base.update(overrides)
    return MessageInput(**base)


def test_message_text_carries_the_facts_and_no_active_content() -> None:
    text = render_text(_message())
    assert "waf-http-status-5xx" in text and "severity high" in text
    assert "Window: 2026-01-01T00:00:00Z -> ongoing" in text
    assert "status_bad: 57 vs 3.1 (attribution 100%)" in text
    assert "Top attribution: status_bad (100%)" in text
    assert "Top countries: FR (50)" in text and "203.0.113.9 (40)" in text
    assert "Dashboard: file:///tmp/dash/index.html" in text
    assert "<script>" not in text and "<img" not in text and "\x1b" not in text and "\x00" not in text
    assert "&lt;script&gt;" in text
    # every attack string stays on the "Top URIs" line: nothing injected a line of its own
    assert not any(line.startswith(("X-Injected", "FAKE")) for line in text.splitlines())
    uri_lines = [line for line in text.splitlines() if line.startswith("Top URIs")]
    assert len(uri_lines) == 1
    assert all(ch.isprintable() for line in text.splitlines() for ch in line)


def test_subject_is_sns_safe() -> None:
    subject = subject_for(_message(entity={"httpRequest.country": "<b>\n\u202eFR"}))
    assert subject.startswith("wafad OPENED high: waf-http-status-5xx")
    assert len(subject) < 100 and all(32 <= ord(c) < 127 for c in subject)
    assert ascii_subject("é\nx") == "??x"
    resolved = render_text(_message(kind="resolved", window_end_ms=1_767_226_800_000))
    assert "-> 2026-01-01T00:20:00Z" in resolved and "resolved" in resolved
