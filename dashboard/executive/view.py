"""The view model of the executive page: formatted KPIs with their week-over-week change, and short tables.

Everything here is plain data for the template (strings and numbers); escaping is the template's job. A change
reads ``+12.5%`` / ``-3.0%`` against the period of the same length one week earlier, ``no data`` when that
period has no traffic (or, for the time to resolve, no resolved incident), and ``new (0 before)`` when the earlier
value was zero.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dashboard.executive.incidents import IncidentRow
from dashboard.executive.kpis import PeriodKpis
from wafad.catalogue import DETECTORS

NO_DATA = "no data"
MAX_INCIDENTS = 8  # rows on the page (one A4 page); the rest are counted
_WATCHES = {d.name: d.watches for d in DETECTORS}


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    change: str
    trend: str  # up | down | flat | none (for the arrow and colour)
    note: str = ""


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ExecutiveView:
    title: str
    period: str
    previous: str
    generated: str
    kpis: list[Kpi]
    blocked_countries: list[Row]
    countries: list[Row]
    sources: list[Row]
    blocked_uris: list[Row]
    incidents: list[Row]
    more_incidents: int
    notes: list[str] = field(default_factory=list)


def change(current: float | None, previous: float | None) -> tuple[str, str]:
    """(text, trend) of ``current`` against ``previous``."""
    if current is None or previous is None:
        return NO_DATA, "none"
    if previous == 0:
        return ("+0%", "flat") if current == 0 else ("new (0 before)", "up")
    pct = (current - previous) / previous * 100
    if abs(pct) < 0.05:
        return "+0%", "flat"
    return f"{pct:+.1f}%", "up" if pct > 0 else "down"


def percent(part: float | None) -> str:
    return "–" if part is None else f"{part * 100:.1f}%"


def duration(ms: float | None) -> str:
    """``45 min``, ``2 h 05 min``, ``–`` for None."""
    if ms is None:
        return "–"
    minutes = round(ms / 60_000)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _time(ms: int | None) -> str:
    return "open" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%d %H:%M")


def _kpi(label: str, value: str, cur: float | None, prev: float | None, note: str = "") -> Kpi:
    text, trend = change(cur, prev)
    return Kpi(label, value, text, trend, note)


def _kpis(cur: PeriodKpis, prev: PeriodKpis) -> list[Kpi]:
    def earlier(value: float | None) -> float | None:
        return value if prev.has_data else None

    t, p = cur.traffic, prev.traffic
    anomalous, prev_anomalous = sum(cur.anomalous.values()), sum(prev.anomalous.values())
    return [
        _kpi("Requests", f"{t.total:,}", t.total, earlier(p.total)),
        _kpi("Blocked share", percent(t.blocked_share), t.blocked_share, earlier(p.blocked_share),
             f"{t.blocked:,} requests blocked"),
        _kpi("Incidents opened", str(len(cur.opened)), len(cur.opened), earlier(len(prev.opened))),
        _kpi("Incidents resolved", str(len(cur.resolved)), len(cur.resolved), earlier(len(prev.resolved))),
        _kpi("Mean time to resolve", duration(cur.mean_time_to_resolve_ms), cur.mean_time_to_resolve_ms,
             earlier(prev.mean_time_to_resolve_ms)),
        _kpi("Anomalous intervals", f"{anomalous:,}", anomalous, earlier(prev_anomalous),
             "detector results with anomaly grade > 0"),
    ]  # fmt: skip


def _shares(pairs: list[tuple[str, int]], whole: int) -> list[Row]:
    return [Row((key, f"{n:,}", percent(n / whole if whole else None))) for key, n in pairs]


def _sources(cur: PeriodKpis) -> list[Row]:
    opened = Counter(r.detector for r in cur.opened)
    names = sorted(set(opened) | set(cur.anomalous), key=lambda n: (-opened[n], -cur.anomalous.get(n, 0), n))
    return [Row((n, _WATCHES.get(n, ""), str(opened[n]), f"{cur.anomalous.get(n, 0):,}")) for n in names]


def _incident_row(r: IncidentRow) -> Row:
    took = duration(r.duration_ms) if r.end_ms is not None else "ongoing"
    return Row((r.detector, r.entity or r.field, r.severity, _time(r.start_ms), _time(r.end_ms), took))


def build_view(cur: PeriodKpis, prev: PeriodKpis, *, notes: list[str] | None = None) -> ExecutiveView:
    t = cur.traffic
    incidents = sorted(dict.fromkeys([*cur.opened, *cur.resolved]), key=lambda r: r.start_ms)
    return ExecutiveView(
        title="WAF security summary",
        period=cur.period.label,
        previous=prev.period.label,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        kpis=_kpis(cur, prev),
        blocked_countries=_shares(t.top_blocked_countries, t.blocked),
        countries=_shares(t.top_countries, t.total),
        sources=_sources(cur),
        blocked_uris=[Row((uri, f"{n:,}")) for uri, n in t.top_blocked_uris],
        incidents=[_incident_row(r) for r in incidents[:MAX_INCIDENTS]],
        more_incidents=max(0, len(incidents) - MAX_INCIDENTS),
        notes=list(notes or []),
    )
