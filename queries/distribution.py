"""``wafad sql --saved distribution``: does each seed field's bad rate match what the simulator was asked for?

Ground truth is the labels file (what :mod:`simulator.anomalies` promises): inside a window of intensity ``k`` on
a seed field, each record's value is bad (by the catalogue's *default* allow-lists, which the simulator's profile
is built on) with probability ``q = min(1, k · p0)``, ``p0`` being the field's normal bad rate
(:data:`simulator.profile.NORMAL_BAD_RATE`); overlapping windows multiply. Outside every window ``q = p0``.

The query window is cut, per field, into segments where ``q`` is constant (:func:`segments`); the saved query
``distribution.sql`` counts requests ``n`` and bad values ``x`` per segment in SQL, and :func:`check` compares.

Tolerance: records are drawn independently, so given ``n`` the bad count is exactly ``Binomial(n, q)``. A segment
matches when ``x`` lies in the central binomial interval of probability ``1 − α/m`` (``α`` = 0.001, ``m`` = the
number of segments checked: Bonferroni). So correct data is reported as a mismatch in at most 0.1 % of runs,
whatever the sizes; and the interval is exact, not a normal approximation, which matters at small ``n·q``. With a
few hundred requests per window, an intensity off by a factor of two (or a window that never happened) lies far
outside it.

Segments overlapping an ``ip_flood`` or ``uri_scan`` window are not checked: those add requests from another mix
(all-good, or mostly-blocked scans), so the share is no longer ``q`` (``volume`` keeps every share and is fine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from queries.saved import Params, Window, render
from wafad.catalogue import DEFAULT_ALLOW, SEED_FIELDS

ALPHA = 0.001
MIXING_ANOMALIES = ("ip_flood", "uri_scan")


@dataclass(frozen=True)
class Segment:
    field: str
    start_ms: int
    end_ms: int
    intensity: float  # product of the field's windows covering the segment (1 = normal)
    mixed_by: tuple[str, ...] = ()  # traffic anomalies that change the mix here


def normal_bad_rate(field: str) -> float:
    from simulator.profile import NORMAL_BAD_RATE

    return NORMAL_BAD_RATE[field]


def segments(windows: Sequence[Window], start_ms: int, end_ms: int) -> list[Segment]:
    """Per seed field, ``[start_ms, end_ms)`` cut where a window of that field or a mixing anomaly starts or ends."""
    out = []
    for name in SEED_FIELDS:
        relevant = [w for w in windows if w.field == name or w.field in MIXING_ANOMALIES]
        cuts = {start_ms, end_ms} | {t for w in relevant for t in (w.start_ms, w.end_ms) if start_ms < t < end_ms}
        edges = sorted(cuts)
        for a, b in pairwise(edges):
            k = 1.0
            mixed: list[str] = []
            for w in relevant:
                if w.start_ms <= a and b <= w.end_ms:
                    if w.field == name:
                        k *= w.intensity
                    elif w.field not in mixed:
                        mixed.append(w.field)
            out.append(Segment(name, a, b, k, tuple(mixed)))
    return out


def segments_sql(segs: Sequence[Segment]) -> str:
    return ", ".join(f"('{s.field}', {s.start_ms}, {s.end_ms})" for s in segs)


def render_distribution(params: Params) -> tuple[str, list[Segment]]:
    """The ``distribution`` query for ``params`` (with its segments), bad meaning the simulator's default lists."""
    segs = segments(params.windows, int(params.start.timestamp() * 1000), int(params.end.timestamp() * 1000))
    filled = Params(params.start, params.end, params.interval_minutes, params.limit, params.windows,
                    {"segments": segments_sql(segs)})  # fmt: skip
    return render("distribution", filled, allow=DEFAULT_ALLOW), segs


def _iso(ms: int) -> str:
    from simulator.scenario import iso

    return iso(datetime.fromtimestamp(ms / 1000, UTC))


def check(segs: Sequence[Segment], counts: dict[tuple[str, int, int], tuple[int, int]], alpha: float = ALPHA):
    """Rows (dicts) of the comparison, and ``{field: verdict}``. ``counts[(field, start, end)] = (n, bad)``."""
    from scipy.stats import binom

    checked = [s for s in segs if not s.mixed_by and counts.get((s.field, s.start_ms, s.end_ms), (0, 0))[0] > 0]
    m = max(1, len(checked))
    rows: list[dict[str, Any]] = []
    failed: dict[str, list[str]] = {name: [] for name in SEED_FIELDS}
    seen: dict[str, int] = dict.fromkeys(SEED_FIELDS, 0)
    for s in segs:
        n, bad = counts.get((s.field, s.start_ms, s.end_ms), (0, 0))
        p0 = normal_bad_rate(s.field)
        q = min(1.0, p0 * s.intensity)
        row: dict[str, Any] = {
            "field": s.field, "segment_start": _iso(s.start_ms), "segment_end": _iso(s.end_ms),
            "intensity_asked": s.intensity, "requests": n, "bad": bad,
            "share": round(bad / n, 4) if n else None, "expected_share": round(q, 4),
            "intensity_seen": round(bad / n / p0, 2) if n else None, "allowed_bad": None,
        }  # fmt: skip
        if s.mixed_by:
            row["verdict"] = f"not checked ({', '.join(s.mixed_by)} changes the mix)"
        elif not n:
            row["verdict"] = "no data"
        else:
            lo, hi = (int(v) for v in binom.interval(1 - alpha / m, n, q))
            row["allowed_bad"] = f"{lo}–{hi}"
            seen[s.field] += 1
            row["verdict"] = "ok" if lo <= bad <= hi else "MISMATCH"
            if row["verdict"] != "ok":
                failed[s.field].append(f"{row['segment_start']}: {bad}/{n} bad, expected {lo}–{hi}")
        rows.append(row)
    verdicts = {
        name: ("matches" if not failed[name] else "does NOT match: " + "; ".join(failed[name]))
        if seen[name]
        else "not checked (no data)"
        for name in SEED_FIELDS
    }
    return rows, verdicts
