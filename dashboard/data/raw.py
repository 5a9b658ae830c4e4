"""Aggregates of the raw WAF documents (``<index_prefix>-*``) over one window, in one aggregation request.

Per-interval request counts and indicator sums, the action / HTTP status / unknown-country breakdowns, and the
top countries / client IPs / URIs. The sample of suspicious requests comes from :mod:`dashboard.data.samples`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dashboard.data.samples import fetch_samples
from wafad.catalogue import CLIENT_IP_FIELD, COUNTRY_FIELD, INDICATOR_FIELDS, TIME_FIELD, URI_FIELD

LIVE_MINUTES = 30  # the live-trend view: the most recent minutes of the window
MAX_BUCKETS = 720  # histogram buckets for the whole window; coarser intervals beyond this
NICE_INTERVALS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)


@dataclass
class RawSummary:
    """Aggregates of the raw WAF documents over the window, one bucket per ``interval_ms``."""

    interval_ms: int
    times: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    indicators: dict[str, list[float]] = field(default_factory=dict)
    by_action: dict[str, list[int]] = field(default_factory=dict)
    by_status: dict[str, list[int]] = field(default_factory=dict)
    unknown_countries: dict[str, list[int]] = field(default_factory=dict)
    top_countries: list[tuple[str, int, int]] = field(default_factory=list)  # (country, requests, bad-country)
    top_ips: list[tuple[str, int]] = field(default_factory=list)
    top_uris: list[tuple[str, int]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    doc_count: int = 0
    live_start_ms: int = 0  # by_status covers [live_start_ms, end) only

    def series(self, values: Sequence[float | int]) -> list[tuple[int, float | int]]:
        return list(zip(self.times, values, strict=False))


STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "none")


def bucket_interval_ms(start_ms: int, end_ms: int, detector_minutes: int) -> int:
    """The detector interval, coarsened to a round value when the window would need too many buckets."""
    span_min = max((end_ms - start_ms) / 60_000, 1)
    for m in NICE_INTERVALS_MIN:
        if m >= detector_minutes and span_min / m <= MAX_BUCKETS:
            return m * 60_000
    return NICE_INTERVALS_MIN[-1] * 60_000


def _keyword_field(client: Any, index: str, fld: str) -> str:
    """``fld`` when it is aggregatable as mapped, else its ``.keyword`` sub-field (dynamic text mappings)."""
    try:
        mapping = client.indices.get_field_mapping(index=index, fields=[fld, f"{fld}.keyword"])
    except Exception:
        return fld
    for body in (mapping or {}).values():
        fields = body.get("mappings", {})
        typ = next(iter((fields.get(fld) or {}).get("mapping", {}).values()), {}).get("type")
        if typ == "text" and f"{fld}.keyword" in fields:
            return f"{fld}.keyword"
        if typ:
            return fld
    return fld


def _histogram(interval_ms: int, first: int, last: int) -> dict[str, Any]:
    return {
        "date_histogram": {
            "field": TIME_FIELD,
            "fixed_interval": f"{interval_ms // 1000}s",
            "min_doc_count": 0,
            "extended_bounds": {"min": first, "max": last},
        }
    }


def raw_summary_query(
    start_ms: int, end_ms: int, interval_ms: int, *, live_start_ms: int, country: str, uri: str, action: str
) -> dict[str, Any]:
    """The one aggregation request behind :class:`RawSummary`.

    Only the request count per interval and the three tops read every document; the indicator series and
    breakdowns are histograms over the (small) filtered subsets, and the status classes cover the live window
    only. Sub-aggregations under a histogram of every document are what makes a slow backend slow.
    """
    first = start_ms - start_ms % interval_ms
    last = max(first, end_ms - 1 - (end_ms - 1) % interval_ms)
    hist = _histogram(interval_ms, first, last)
    live_first = live_start_ms - live_start_ms % interval_ms
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"range": {TIME_FIELD: {"gte": start_ms, "lt": end_ms, "format": "epoch_millis"}}},
        "aggs": {
            "t": hist,
            **{f"ind_{ind}": {"filter": {"term": {ind: 1}}, "aggs": {"t": hist}} for ind in INDICATOR_FIELDS},
            "bad_action": {
                "filter": {"term": {"action_bad": 1}},
                "aggs": {"t": {**hist, "aggs": {"a": {"terms": {"field": action, "size": 6, "missing": "(none)"}}}}},
            },
            "unknown": {
                "filter": {"term": {"country_bad": 1}},
                "aggs": {
                    "t": {**hist, "aggs": {"c": {"terms": {"field": country, "size": 6, "missing": "(none)"}}}},
                    "top": {"terms": {"field": country, "size": 50, "missing": "(none)"}},
                },
            },
            "live": {
                "filter": {"range": {TIME_FIELD: {"gte": live_start_ms, "format": "epoch_millis"}}},
                "aggs": {
                    "t": {
                        **_histogram(interval_ms, live_first, last),
                        "aggs": {
                            "status": {
                                "range": {
                                    "field": "httpStatus",
                                    "ranges": [
                                        {"key": "2xx", "from": 200, "to": 300},
                                        {"key": "3xx", "from": 300, "to": 400},
                                        {"key": "4xx", "from": 400, "to": 500},
                                        {"key": "5xx", "from": 500, "to": 600},
                                    ],
                                }
                            },
                            "no_status": {"missing": {"field": "httpStatus"}},
                        },
                    }
                },
            },
            "countries": {"terms": {"field": country, "size": 10, "missing": "(none)"}},
            "ips": {"terms": {"field": CLIENT_IP_FIELD, "size": 10}},
            "uris": {"terms": {"field": uri, "size": 10}},
        },
    }


ALLOWED_ACTIONS = "allow-listed"  # the by_action series of requests whose action is good (action_bad = 0)


def fetch_raw_summary(
    client: Any,
    index: str,
    start_ms: int,
    end_ms: int,
    *,
    interval_ms: int,
    samples: int = 25,
    live_minutes: int = LIVE_MINUTES,
) -> RawSummary:
    """One aggregation request for series and tops, one search for the sample of suspicious requests."""
    from opensearchpy import NotFoundError

    summary = RawSummary(interval_ms=interval_ms)
    first = start_ms - start_ms % interval_ms
    summary.times = list(range(first, end_ms, interval_ms))
    n = len(summary.times)
    summary.total = [0] * n
    summary.indicators = {ind: [0.0] * n for ind in INDICATOR_FIELDS}
    summary.live_start_ms = max(start_ms, end_ms - live_minutes * 60_000)
    body = raw_summary_query(
        start_ms,
        end_ms,
        interval_ms,
        live_start_ms=summary.live_start_ms,
        country=_keyword_field(client, index, COUNTRY_FIELD),
        uri=_keyword_field(client, index, URI_FIELD),
        action=_keyword_field(client, index, "action"),
    )
    try:
        resp = client.search(index=index, body=body, params={"ignore_unavailable": "true"})
    except NotFoundError:
        return summary
    total = resp.get("hits", {}).get("total", {})
    summary.doc_count = int(total.get("value", 0) if isinstance(total, Mapping) else total or 0)
    aggs = resp.get("aggregations") or {}
    pos = {t: i for i, t in enumerate(summary.times)}

    def buckets(node: Mapping[str, Any] | None) -> Iterator[tuple[int, Mapping[str, Any]]]:
        for bucket in (node or {}).get("buckets", []):
            i = pos.get(int(bucket["key"]))
            if i is not None:
                yield i, bucket

    for i, b in buckets(aggs.get("t")):
        summary.total[i] = int(b.get("doc_count", 0))
    for ind in INDICATOR_FIELDS:
        for i, b in buckets((aggs.get(f"ind_{ind}") or {}).get("t")):
            summary.indicators[ind][i] = float(b.get("doc_count", 0))
    by_action: dict[str, list[int]] = {}
    for i, b in buckets((aggs.get("bad_action") or {}).get("t")):
        for ab in (b.get("a") or {}).get("buckets", []):
            by_action.setdefault(str(ab["key"]), [0] * n)[i] = int(ab["doc_count"])
    allowed = [int(t - bad) for t, bad in zip(summary.total, summary.indicators["action_bad"], strict=True)]
    summary.by_action = {ALLOWED_ACTIONS: allowed, **dict(sorted(by_action.items(), key=lambda kv: -sum(kv[1])))}
    by_status: dict[str, list[int]] = {k: [0] * n for k in STATUS_CLASSES}
    for i, b in buckets((aggs.get("live") or {}).get("t")):
        for sb in (b.get("status") or {}).get("buckets", []):
            key = str(sb.get("key"))
            if key in by_status:
                by_status[key][i] = int(sb.get("doc_count", 0))
        by_status["none"][i] = int((b.get("no_status") or {}).get("doc_count", 0))
    summary.by_status = by_status
    unknown: dict[str, list[int]] = {}
    unknown_node = aggs.get("unknown") or {}
    for i, b in buckets(unknown_node.get("t")):
        for cb in (b.get("c") or {}).get("buckets", []):
            unknown.setdefault(str(cb["key"]), [0] * n)[i] = int(cb["doc_count"])
    summary.unknown_countries = dict(sorted(unknown.items(), key=lambda kv: -sum(kv[1]))[:6])
    bad_by_country = {str(b["key"]): int(b["doc_count"]) for b in (unknown_node.get("top") or {}).get("buckets", [])}
    summary.top_countries = [
        (str(b["key"]), int(b["doc_count"]), bad_by_country.get(str(b["key"]), 0))
        for b in aggs.get("countries", {}).get("buckets", [])
    ]
    summary.top_ips = [
        (str(b.get("key_as_string", b["key"])), int(b["doc_count"])) for b in aggs.get("ips", {}).get("buckets", [])
    ]
    summary.top_uris = [(str(b["key"]), int(b["doc_count"])) for b in aggs.get("uris", {}).get("buckets", [])]
    if samples:
        time_range = {"range": {TIME_FIELD: {"gte": start_ms, "lt": end_ms, "format": "epoch_millis"}}}
        summary.samples = fetch_samples(client, index, time_range, samples)
    return summary
