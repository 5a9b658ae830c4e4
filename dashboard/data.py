"""What the dashboard shows, read from OpenSearch for one time window.

Two sources:

* AD result documents in ``settings.results_index`` (the plugin's custom result index in production, the local
  engine's index locally), grouped per detector (and entity for the high-cardinality detector);
* raw WAF documents in ``<index_prefix>-*``: per-interval indicator sums, action / status / unknown-country
  breakdowns, top countries / IPs / URIs, and a sample of suspicious requests.

Also the parsing of the optional inputs (labels, alerts, cross-check), tolerant of ISO strings or epoch ms.
Nothing here formats HTML: :mod:`dashboard.render` does, and escapes everything.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wafad.catalogue import (
    CLIENT_IP_FIELD,
    COUNTRY_FIELD,
    DETECTORS,
    DETECTORS_BY_NAME,
    INDICATOR_FIELDS,
    TIME_FIELD,
    URI_FIELD,
    DetectorSpec,
)
from wafad.settings import Settings

LIVE_MINUTES = 30  # the live-trend view: the most recent minutes of the window
MAX_BUCKETS = 720  # histogram buckets for the whole window; coarser intervals beyond this
NICE_INTERVALS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
SAMPLE_SOURCE_FIELDS = [
    TIME_FIELD,
    "action",
    "httpStatus",
    "httpSourceName",
    "terminatingRuleId",
    "httpRequest.clientIp",
    "httpRequest.country",
    "httpRequest.httpMethod",
    "httpRequest.uri",
    "httpRequest.args",
    "httpRequest.headers",
    *INDICATOR_FIELDS,
]


# --- time parsing ----------------------------------------------------------------------------------
def to_ms(value: Any) -> int:
    """Epoch milliseconds from a datetime, an ISO-8601 string or a number (seconds if it looks like seconds)."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return int(value * 1000) if abs(value) < 1e11 else int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return to_ms(int(text))
        return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))
    raise ValueError(f"not a time: {value!r}")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# --- AD results ------------------------------------------------------------------------------------
@dataclass
class ResultPoint:
    """One AD result document, flattened."""

    start: int
    end: int
    score: float | None
    grade: float | None
    confidence: float | None
    threshold: float | None
    features: dict[str, float | None]
    expected: dict[str, float | None]
    attribution: dict[str, float | None]
    error: str | None = None
    historical: bool = False
    executed: int = 0  # execution_end_time (epoch ms), 0 when absent


@dataclass
class DetectorResults:
    """All results of one detector (one entity for an HC detector) in the window, in time order."""

    name: str
    detector_id: str
    spec: DetectorSpec | None
    entity: str | None = None
    realtime: list[ResultPoint] = field(default_factory=list)
    historical: list[ResultPoint] = field(default_factory=list)

    @property
    def points(self) -> list[ResultPoint]:
        """Real-time results when there are any, else the historical run's."""
        return self.realtime or self.historical

    @property
    def source(self) -> str:
        return "real-time" if self.realtime else "historical"

    @property
    def anomalies(self) -> list[ResultPoint]:
        return [p for p in self.points if (p.grade or 0) > 0]

    @property
    def max_grade(self) -> float:
        return max((p.grade or 0.0 for p in self.points), default=0.0)

    @property
    def feature_names(self) -> list[str]:
        names: list[str] = []
        for p in self.points:
            for n in p.features:
                if n not in names:
                    names.append(n)
        if not names and self.spec:
            names = [f.name for f in self.spec.features]
        return names


def _entity_key(entity: Any) -> str | None:
    if isinstance(entity, list) and entity:
        parts = [f"{e.get('name', '')}={e.get('value', '')}" for e in entity if isinstance(e, Mapping)]
        return ", ".join(parts) or None
    if isinstance(entity, Mapping) and entity:
        return ", ".join(f"{k}={v}" for k, v in entity.items())
    return None


def parse_result(doc: Mapping[str, Any]) -> ResultPoint:
    """Flatten one AD result document (AD schema §5.2-5.4); missing fields become None/empty."""
    id_to_name: dict[str, str] = {}
    features: dict[str, float | None] = {}
    for f in doc.get("feature_data") or []:
        if not isinstance(f, Mapping):
            continue
        name = str(f.get("feature_name") or f.get("feature_id") or "feature")
        id_to_name[str(f.get("feature_id", name))] = name
        features[name] = _num(f.get("data"))
    expected: dict[str, float | None] = {}
    exp = doc.get("expected_values") or []
    if exp and isinstance(exp[0], Mapping):
        best = max(exp, key=lambda e: _num(e.get("likelihood")) or 0.0)
        for v in best.get("value_list") or []:
            fid = str(v.get("feature_id", ""))
            expected[id_to_name.get(fid, fid)] = _num(v.get("data"))
    attribution = {
        id_to_name.get(str(a.get("feature_id", "")), str(a.get("feature_id", ""))): _num(a.get("data"))
        for a in doc.get("relevant_attribution") or []
        if isinstance(a, Mapping)
    }
    return ResultPoint(
        start=to_ms(doc["data_start_time"]),
        end=to_ms(doc["data_end_time"]),
        score=_num(doc.get("anomaly_score")),
        grade=_num(doc.get("anomaly_grade")),
        confidence=_num(doc.get("confidence")),
        threshold=_num(doc.get("threshold")),
        features=features,
        expected=expected,
        attribution=attribution,
        error=str(doc["error"]) if doc.get("error") else None,
        historical=bool(doc.get("task_id")),
        executed=_executed(doc),
    )


def _executed(doc: Mapping[str, Any]) -> int:
    try:
        return to_ms(doc.get("execution_end_time") or 0)
    except (ValueError, TypeError):
        return 0


def latest_per_interval(points: Iterable[ResultPoint]) -> list[ResultPoint]:
    """One result per interval start, the most recently executed (AD may write an interval twice: cold-start
    training results, retries, a re-run of the local engine), in time order."""
    best: dict[int, ResultPoint] = {}
    for p in points:
        if p.start not in best or p.executed >= best[p.start].executed:
            best[p.start] = p
    return [best[t] for t in sorted(best)]


def _engine_id_functions() -> list[Any]:
    """Id-derivation functions the local engine may expose (it names ids after catalogue names)."""
    fns = []
    for mod_name in ("detectors.local_engine", "detectors.results"):
        try:
            mod = importlib.import_module(mod_name)
        except Exception:  # not built yet, or failing to import: name matching still works
            continue
        for attr in ("local_detector_id", "stable_detector_id"):
            fn = getattr(mod, attr, None)
            if callable(fn):
                fns.append(fn)
    return fns


def detector_id_map(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """detector id -> catalogue name, from the local engine's id function(s) plus ``extra``."""
    out: dict[str, str] = {}
    for fn in _engine_id_functions():
        for spec in DETECTORS:
            with contextlib.suppress(Exception):
                out[str(fn(spec.name))] = spec.name
    out.update(extra or {})
    return out


def resolve_detector_name(doc: Mapping[str, Any], id_map: Mapping[str, str]) -> str:
    """The catalogue name for a result document, else its detector id."""
    for key in ("detector_name", "name"):
        name = doc.get(key)
        if isinstance(name, str) and name in DETECTORS_BY_NAME:
            return name
    det_id = str(doc.get("detector_id", "unknown"))
    if det_id in id_map:
        return id_map[det_id]
    if det_id in DETECTORS_BY_NAME:
        return det_id
    matches = [n for n in DETECTORS_BY_NAME if n in det_id]
    if matches:
        return max(matches, key=len)
    return det_id


def plugin_detector_names(client: Any) -> dict[str, str]:
    """detector id -> name from the AD plugin (production); empty when there is no plugin (osmem)."""
    try:
        resp = client.transport.perform_request(
            "POST",
            "/_plugins/_anomaly_detection/detectors/_search",
            body={"query": {"match_all": {}}, "size": 1000},
        )
    except Exception:
        return {}
    out = {}
    for hit in (resp or {}).get("hits", {}).get("hits", []):
        name = (hit.get("_source") or {}).get("name")
        if name:
            out[str(hit.get("_id"))] = str(name)
    return out


def fetch_results(
    client: Any, index: str, start_ms: int, end_ms: int, *, id_map: Mapping[str, str] | None = None
) -> list[DetectorResults]:
    """AD results whose data interval ends in (start, end], grouped per detector (and HC entity).

    ``id_map`` (detector id -> catalogue name) defaults to the local engine's ids.
    """
    from opensearchpy import NotFoundError
    from opensearchpy.helpers import scan

    query = {"query": {"range": {"data_end_time": {"gt": start_ms, "lte": end_ms}}}}
    groups: dict[tuple[str, str | None], DetectorResults] = {}
    id_map = detector_id_map() if id_map is None else dict(id_map)
    try:
        docs = list(scan(client, index=index, query=query, size=2000, preserve_order=False))
    except NotFoundError:
        return []
    for hit in docs:
        doc = hit.get("_source") or {}
        if "data_start_time" not in doc or "data_end_time" not in doc:
            continue
        name = resolve_detector_name(doc, id_map)
        entity = _entity_key(doc.get("entity"))
        key = (name, entity)
        if key not in groups:
            groups[key] = DetectorResults(
                name=name,
                detector_id=str(doc.get("detector_id", name)),
                spec=DETECTORS_BY_NAME.get(name),
                entity=entity,
            )
        point = parse_result(doc)
        (groups[key].historical if point.historical else groups[key].realtime).append(point)
    order = {spec.name: i for i, spec in enumerate(DETECTORS)}
    out = sorted(groups.values(), key=lambda g: (order.get(g.name, len(order)), g.name, g.entity or ""))
    for g in out:
        g.realtime = latest_per_interval(g.realtime)
        g.historical = latest_per_interval(g.historical)
    return out


# --- raw documents ---------------------------------------------------------------------------------
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


def fetch_samples(client: Any, index: str, time_range: Mapping[str, Any], size: int) -> list[dict[str, Any]]:
    """The latest requests with any bad indicator (attacker-controlled strings kept as plain data)."""
    body = {
        "size": size,
        "sort": [{TIME_FIELD: {"order": "desc"}}],
        "_source": SAMPLE_SOURCE_FIELDS,
        "query": {
            "bool": {
                "filter": [time_range],
                "should": [{"term": {ind: 1}} for ind in ("action_bad", "status_bad", "method_bad", "source_bad")],
                "minimum_should_match": 1,
            }
        },
    }
    resp = client.search(index=index, body=body, params={"ignore_unavailable": "true"})
    return [sample_row(h.get("_source") or {}) for h in resp.get("hits", {}).get("hits", [])]


def sample_row(src: Mapping[str, Any]) -> dict[str, Any]:
    """A flat, JSON-safe row of one raw document for the requests table (values stay unescaped data)."""
    req = src.get("httpRequest") if isinstance(src.get("httpRequest"), Mapping) else {}
    headers = req.get("headers") or {}
    if isinstance(headers, list):  # raw WAF shape [{name, value}]
        headers = {str(h.get("name", "")).lower(): h.get("value") for h in headers if isinstance(h, Mapping)}
    if not isinstance(headers, Mapping):
        headers = {}
    return {
        "time": str(src.get(TIME_FIELD, "")),
        "action": str(src.get("action", "")),
        "status": str(src.get("httpStatus", "")),
        "ip": str(req.get("clientIp", "")),
        "country": str(req.get("country", "")),
        "method": str(req.get("httpMethod", "")),
        "uri": str(req.get("uri", "")),
        "args": str(req.get("args", "")),
        "user_agent": str(headers.get("user-agent", "")),
        "headers": "; ".join(f"{k}: {v}" for k, v in headers.items() if k != "user-agent"),
        "rule": str(src.get("terminatingRuleId", "")),
    }


# --- optional inputs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Label:
    field: str
    start: int
    end: int
    intensity: float | None


def parse_labels(labels: Iterable[Mapping[str, Any]] | None) -> list[Label]:
    out = []
    for lab in labels or []:
        try:
            out.append(
                Label(str(lab.get("field", "?")), to_ms(lab["start"]), to_ms(lab["end"]), _num(lab.get("intensity")))
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"bad label {dict(lab)!r}: {exc}") from None
    return out


@dataclass(frozen=True)
class Alert:
    detector: str
    kind: str
    window_start: int | None
    window_end: int | None
    severity: str
    text: str
    entity: str | None = None
    detector_id: str = ""
    subject: str = ""
    max_grade: float | None = None


def _first(d: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if d.get(k) not in (None, ""):
            return d[k]
    return None


def parse_alerts(alerts: Iterable[Mapping[str, Any]] | None) -> list[Alert]:
    """Alerts as the demo passes them (``alerting`` AlertMessage dicts: ``window_start_ms`` …) or as the
    contract names them (``window_start`` ISO/epoch)."""
    out = []
    for a in alerts or []:
        ws = _first(a, "window_start", "window_start_ms")
        we = _first(a, "window_end", "window_end_ms")
        entity = a.get("entity")
        out.append(
            Alert(
                detector=str(a.get("detector", "")),
                kind=str(a.get("kind", "")),
                window_start=to_ms(ws) if ws is not None else None,
                window_end=to_ms(we) if we is not None else None,
                severity=str(a.get("severity", "")),
                text=str(a.get("text", "")),
                entity=entity if isinstance(entity, str) else _entity_key(entity),
                detector_id=str(a.get("detector_id", "")),
                subject=str(a.get("subject", "")),
                max_grade=_num(a.get("max_grade")),
            )
        )
    return out


@dataclass
class CrossCheckInterval:
    start: int
    end: int
    ad_score: float | None
    ad_grade: float | None
    band_low: float | None
    band_high: float | None
    grade_band_low: float | None
    grade_band_high: float | None
    agree: bool | None
    cause: str
    replica_score: float | None = None
    entity: str | None = None
    compared: bool = True


@dataclass
class CrossCheck:
    detector: str
    start: int | None
    end: int | None
    verdict: str
    spearman: float | None
    precision: float | None
    recall: float | None
    intervals: list[CrossCheckInterval]
    summary: str = ""
    agreement_rate: float | None = None

    @property
    def agreement(self) -> float | None:
        if self.agreement_rate is not None:
            return self.agreement_rate
        known = [i.agree for i in self.intervals if i.agree is not None and i.compared]
        return sum(1 for a in known if a) / len(known) if known else None

    @property
    def disagreements(self) -> list[CrossCheckInterval]:
        return [i for i in self.intervals if i.agree is False and i.compared]


def _crosscheck_items(crosscheck: Any) -> list[Mapping[str, Any]]:
    """One report, a list of them, or a wrapper holding them under ``reports``/``detectors``/``results``."""
    if not crosscheck:
        return []
    if isinstance(crosscheck, Mapping):
        if "intervals" in crosscheck or "verdict" in crosscheck:
            return [crosscheck]
        for key in ("reports", "detectors", "results", "crosschecks"):
            inner = crosscheck.get(key)
            if isinstance(inner, list | Mapping):
                return _crosscheck_items(inner if isinstance(inner, list) else list(inner.values()))
        return [v for v in crosscheck.values() if isinstance(v, Mapping) and "intervals" in v]
    out: list[Mapping[str, Any]] = []
    for item in crosscheck:
        out.extend(_crosscheck_items(item))
    return out


def parse_crosscheck(crosscheck: Any) -> list[CrossCheck]:
    out = []
    for c in _crosscheck_items(crosscheck):
        intervals = []
        for iv in c.get("intervals") or []:
            agree = iv.get("agree")
            entity = iv.get("entity")
            intervals.append(
                CrossCheckInterval(
                    start=to_ms(iv["data_start_time"]),
                    end=to_ms(iv.get("data_end_time", iv["data_start_time"])),
                    ad_score=_num(iv.get("ad_score")),
                    ad_grade=_num(iv.get("ad_grade")),
                    band_low=_num(iv.get("band_low")),
                    band_high=_num(iv.get("band_high")),
                    grade_band_low=_num(iv.get("grade_band_low")),
                    grade_band_high=_num(iv.get("grade_band_high")),
                    agree=bool(agree) if agree is not None else None,
                    cause=str(iv.get("cause") or ""),
                    replica_score=_num(iv.get("replica_score")),
                    entity=entity if isinstance(entity, str) else _entity_key(entity),
                    compared=bool(iv.get("compared", True)),
                )
            )
        intervals.sort(key=lambda i: (i.entity or "", i.start))
        out.append(
            CrossCheck(
                detector=str(c.get("detector", "?")),
                start=to_ms(c["start"]) if c.get("start") else None,
                end=to_ms(c["end"]) if c.get("end") else None,
                verdict=str(c.get("verdict", "")),
                spearman=_num(c.get("spearman")),
                precision=_num(c.get("precision")),
                recall=_num(c.get("recall")),
                intervals=intervals,
                summary=str(c.get("summary") or ""),
                agreement_rate=_num(c.get("agreement_rate")),
            )
        )
    return out


# --- everything for one window ---------------------------------------------------------------------
@dataclass
class DashboardData:
    start_ms: int
    end_ms: int
    settings_summary: dict[str, str]
    results: list[DetectorResults]
    raw: RawSummary
    labels: list[Label]
    alerts: list[Alert]
    crosschecks: list[CrossCheck]


def load_dashboard_data(
    settings: Settings,
    start: datetime | str | int,
    end: datetime | str | int,
    *,
    labels: Iterable[Mapping[str, Any]] | None = None,
    alerts: Iterable[Mapping[str, Any]] | None = None,
    crosscheck: Any = None,
    client: Any = None,
) -> DashboardData:
    """Query OpenSearch for the window and parse the optional inputs."""
    from wafad.clients import opensearch_client

    start_ms, end_ms = to_ms(start), to_ms(end)
    if end_ms <= start_ms:
        raise ValueError(f"the window ends ({iso(end_ms)}) before it starts ({iso(start_ms)})")
    client = client or opensearch_client(settings)
    id_map = detector_id_map(plugin_detector_names(client) if settings.uses_ad_plugin else None)
    results = fetch_results(client, settings.results_index, start_ms, end_ms, id_map=id_map)
    interval = bucket_interval_ms(start_ms, end_ms, settings.detector_interval_minutes)
    raw = fetch_raw_summary(client, f"{settings.index_prefix}-*", start_ms, end_ms, interval_ms=interval)
    return DashboardData(
        start_ms=start_ms,
        end_ms=end_ms,
        settings_summary={
            "target": settings.target,
            "raw index": f"{settings.index_prefix}-*",
            "results index": settings.results_index,
            "detector interval": f"{settings.detector_interval_minutes} min",
            "engine": "AD plugin" if settings.uses_ad_plugin else "local engine (offline_rcf)",
        },
        results=results,
        raw=raw,
        labels=parse_labels(labels),
        alerts=parse_alerts(alerts),
        crosschecks=parse_crosscheck(crosscheck),
    )
