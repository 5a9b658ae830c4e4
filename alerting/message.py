"""Alert text: attacker-controlled strings made inert, and the opened/resolved message bodies.

Raw WAF fields (URI, args, headers, user agent, even IPs and countries from a spoofed record) are data. Before
they reach an alert they pass :func:`inert`: control characters (newlines, ANSI escapes, NUL, bidi overrides,
zero-width characters) become visible ``\\xNN``/``\\uNNNN`` escapes, HTML metacharacters become entities (mail and
chat subscribers may render HTML), and the result is truncated. The message is plain text built only from
inert pieces and numbers.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_FIELD_CHARS = 120
MAX_SUBJECT_CHARS = 99  # SNS subject limit is 100 ASCII characters
MAX_MESSAGE_CHARS = 64_000


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(value: Any, max_chars: int = MAX_FIELD_CHARS) -> str:
    """``value`` as a single line that no terminal, HTML renderer or log parser will interpret.

    >>> inert('<script>alert(1)</script>')
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> inert('a\\nb\\x1b[31mred')
    'a\\\\x0ab\\\\x1b[31mred'
    >>> inert('x' * 10, max_chars=4)
    'xxxx…'
    """
    text = "" if value is None else str(value)
    truncated = len(text) > max_chars
    text = text[:max_chars]
    out = []
    for ch in text:
        # not printable: C0/C1 controls (\n, \r, \t, ESC, NUL, DEL), format characters (bidi overrides,
        # zero-width), line/paragraph separators, spaces other than " ", private/unassigned code points
        if not ch.isprintable():
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    escaped = html.escape("".join(out), quote=True)
    return escaped + ("…" if truncated else "")


def ascii_subject(text: str) -> str:
    """An SNS subject: printable ASCII only, one line, at most 99 characters."""
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return cleaned[:MAX_SUBJECT_CHARS]


def fmt_time(ms: int | None) -> str:
    if ms is None:
        return "?"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


@dataclass(frozen=True)
class FeatureLine:
    name: str
    actual: float | None
    expected: float | None
    attribution: float | None


@dataclass(frozen=True)
class MessageInput:
    """Everything an alert message says, already reduced to plain values."""

    kind: str  # "opened" | "resolved"
    detector: str
    description: str
    incident_key: str
    severity: str
    entity: Mapping[str, str] | None
    window_start_ms: int
    window_end_ms: int | None  # None: still ongoing
    first_flagged_ms: int
    anomalous_intervals: int
    max_grade: float
    confidence: float | None
    score: float | None
    features: Sequence[FeatureLine]
    top: Mapping[str, Sequence[tuple[str, int]]] = field(default_factory=dict)  # label -> [(value, count)]
    matching_requests: int | None = None
    dashboard: str | None = None
    why: Mapping[str, Any] = field(default_factory=dict)  # why it opened (alerting.incidents.Incident.why)


def entity_text(entity: Mapping[str, str] | None) -> str:
    if not entity:
        return ""
    return ", ".join(f"{inert(k, 60)}={inert(v, 60)}" for k, v in entity.items())


def subject_for(m: MessageInput) -> str:
    ent = f" [{entity_text(m.entity)}]" if m.entity else ""
    verb = "OPENED" if m.kind == "opened" else "RESOLVED"
    return ascii_subject(f"wafad {verb} {m.severity}: {m.detector}{ent}")


def why_line(why: Mapping[str, Any]) -> str:
    """Why the incident opened, from numbers only: grade, confidence and the counts' p-value."""
    sig = why.get("significance")
    gate = f" (significance {fmt_number(float(sig))})" if sig is not None else ""
    return (
        f"Opened on: grade {float(why.get('grade') or 0.0):.3f}, confidence {fmt_number(_num(why.get('confidence')))}, "
        f"p-value {float(why['p_value']):.2g}{gate} for {fmt_number(_num(why.get('actual')))} vs "
        f"{fmt_number(_num(why.get('expected')))} expected over {int(why.get('intervals') or 1)} interval(s), "
        f"dispersion {fmt_number(_num(why.get('dispersion')))}"
    )


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def render_text(m: MessageInput) -> str:
    """The plain-text body of an opened/resolved alert."""
    verb = "opened" if m.kind == "opened" else "resolved"
    lines = [f"Anomaly incident {verb}: {inert(m.detector)} (severity {m.severity})", inert(m.description, 200)]
    if m.entity:
        lines.append(f"Entity: {entity_text(m.entity)}")
    end = fmt_time(m.window_end_ms) if m.window_end_ms is not None else "ongoing"
    lines.append(f"Window: {fmt_time(m.window_start_ms)} -> {end} (UTC)")
    lines.append(
        f"First flagged interval ending: {fmt_time(m.first_flagged_ms)}; anomalous intervals: {m.anomalous_intervals}"
    )
    lines.append(
        f"Max anomaly grade: {m.max_grade:.3f}; confidence: {fmt_number(m.confidence)}; score: {fmt_number(m.score)}"
    )
    if m.why.get("p_value") is not None:
        lines.append(why_line(m.why))
    if m.features:
        lines.append("Features at the peak (actual vs expected):")
        for f in m.features:
            attr = f" (attribution {f.attribution:.0%})" if f.attribution is not None else ""
            lines.append(f"  - {inert(f.name, 60)}: {fmt_number(f.actual)} vs {fmt_number(f.expected)}{attr}")
        ranked = [f for f in m.features if f.attribution is not None]
        if ranked:
            best = max(ranked, key=lambda f: f.attribution or 0.0)
            lines.append(f"Top attribution: {inert(best.name, 60)} ({(best.attribution or 0.0):.0%})")
    if m.matching_requests is not None:
        lines.append(f"Matching requests in the window: {m.matching_requests}")
    for label, buckets in m.top.items():
        shown = ", ".join(f"{inert(value)} ({count})" for value, count in buckets) or "none"
        lines.append(f"Top {label}: {shown}")
    if m.dashboard:
        lines.append(f"Dashboard: {inert(m.dashboard, 300)}")
    lines.append(f"Incident: {inert(m.incident_key, 200)}")
    text = "\n".join(lines)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"
