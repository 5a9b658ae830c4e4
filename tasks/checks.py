"""Reconciliation and scoring: records counted at every hop, injected windows against detections and alerts.

Plain functions first (tested directly), thin tasks at the end.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wafad.settings import Settings


# --- time helpers ---------------------------------------------------------------------------------
def parse_time(value: Any) -> datetime:
    """ISO-8601 string, epoch milliseconds or datetime → aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)
    if isinstance(value, str):
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000.0, tz=UTC)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    raise TypeError(f"not a time: {value!r}")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- records at every hop -------------------------------------------------------------------------
def count_object_lines(body: bytes) -> int:
    """Non-empty JSON lines in one (gzip) WAF log object."""
    data = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    return sum(1 for line in data.splitlines() if line.strip())


def s3_line_count(settings: Settings, keys: Iterable[str]) -> dict[str, int]:
    """Lines per S3 object (what the s3_to_kinesis handler must put on the stream)."""
    from wafad.clients import aws_client

    s3 = aws_client("s3", settings)
    out: dict[str, int] = {}
    for ref in keys:
        bucket, key = split_s3_ref(ref, settings.bucket)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        out[ref] = count_object_lines(body)
    return out


def split_s3_ref(ref: str, default_bucket: str) -> tuple[str, str]:
    """``s3://bucket/key`` or a bare key (in ``default_bucket``) → (bucket, key)."""
    if ref.startswith("s3://"):
        bucket, _, key = ref[5:].partition("/")
        return bucket, key
    return default_bucket, ref


def list_log_objects(settings: Settings, start: datetime, end: datetime) -> list[str]:
    """Keys under the log prefix whose WAF time path (``YYYY/MM/DD/HH/mm``) falls in ``[start, end)``."""
    from queries.source import key_time
    from wafad.clients import aws_client

    s3 = aws_client("s3", settings)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=settings.log_prefix):
        for obj in page.get("Contents", []):
            t = key_time(obj["Key"])
            if t is not None and start <= t < end:
                keys.append(obj["Key"])
    return sorted(keys)


def indexed_count(settings: Settings, start: datetime, end: datetime) -> int:
    """Documents in the daily indices with ``@timestamp`` in ``[start, end)``."""
    from wafad.clients import opensearch_client

    client = opensearch_client(settings)
    pattern = f"{settings.index_prefix}-*"
    client.indices.refresh(index=pattern, ignore_unavailable=True, allow_no_indices=True)
    body = {"query": {"range": {"@timestamp": {"gte": iso(start), "lt": iso(end)}}}}
    resp = client.count(index=pattern, body=body, ignore_unavailable=True, allow_no_indices=True)
    return int(resp["count"])


@dataclass
class Reconciliation:
    """Records at every hop; ``problems`` lists each hop that lost or invented records."""

    simulated: int
    s3_lines: int
    kinesis_put: int | None
    delivery_read: int
    indexed: int
    dropped: int
    processing_failed: int
    index_failed: int
    searchable: int
    problems: list[str] = field(default_factory=list)

    @property
    def set_aside(self) -> int:
        return self.dropped + self.processing_failed + self.index_failed


def reconcile(
    simulated: int, s3_lines: int, relay: Mapping[str, Any], delivery: Mapping[str, Any], searchable: int
) -> Reconciliation:
    """Compare the counts of each hop: simulator = S3 lines = Kinesis (+ set aside by the relay) = delivered =
    indexed + set aside."""
    kinesis_put = _first_int(relay, ("sent", "records", "put", "records_put", "kinesis_records"))
    relay_read = _first_int(relay, ("read",))
    relay_aside = _first_int(relay, ("dead_lettered",)) or 0
    rec = Reconciliation(
        simulated=simulated,
        s3_lines=s3_lines,
        kinesis_put=kinesis_put,
        delivery_read=int(delivery.get("read", 0)),
        indexed=int(delivery.get("indexed", 0)),
        dropped=int(delivery.get("dropped", 0)),
        processing_failed=int(delivery.get("processing_failed", 0)) + relay_aside,
        index_failed=int(delivery.get("index_failed", 0)),
        searchable=searchable,
    )
    if s3_lines != simulated:
        rec.problems.append(f"S3 holds {s3_lines} lines but the simulator wrote {simulated} records")
    if relay_read is not None and relay_read != s3_lines:
        rec.problems.append(f"the relay read {relay_read} lines of {s3_lines} S3 lines")
    if kinesis_put is not None and kinesis_put + relay_aside != s3_lines:
        rec.problems.append(
            f"s3_to_kinesis put {kinesis_put} records (+ {relay_aside} set aside) for {s3_lines} S3 lines"
        )
    for err in relay.get("errors") or []:
        rec.problems.append(f"relay error: {err}")
    upstream = kinesis_put if kinesis_put is not None else s3_lines
    if rec.delivery_read != upstream:
        rec.problems.append(f"delivery read {rec.delivery_read} Kinesis records, expected {upstream}")
    delivered_aside = rec.set_aside - relay_aside
    if rec.delivery_read != rec.indexed + delivered_aside:
        rec.problems.append(
            f"delivery read {rec.delivery_read} but indexed {rec.indexed} + set aside {delivered_aside} "
            f"= {rec.indexed + delivered_aside}"
        )
    if searchable != rec.indexed:
        rec.problems.append(f"OpenSearch holds {searchable} documents in the period, delivery indexed {rec.indexed}")
    return rec


def _first_int(report: Mapping[str, Any], names: Sequence[str]) -> int | None:
    for name in names:
        value = report.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


# --- detections against the injected windows ------------------------------------------------------
@dataclass(frozen=True)
class Detection:
    """One result document with grade > 0."""

    detector: str
    watches: str
    data_start: datetime
    data_end: datetime
    grade: float
    confidence: float
    entity: str | None = None


def fetch_detections(
    settings: Settings, start: datetime, end: datetime, detector_names: Mapping[str, str]
) -> list[Detection]:
    """Result docs with ``anomaly_grade > 0`` in ``[start, end)``; ``detector_names`` maps detector_id → name."""
    from opensearchpy import helpers

    from wafad.catalogue import DETECTORS_BY_NAME
    from wafad.clients import opensearch_client

    client = opensearch_client(settings)
    index = f"{settings.results_index}*"
    client.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    query = {
        "query": {
            "bool": {
                "filter": [
                    {"range": {"anomaly_grade": {"gt": 0}}},
                    {"range": {"data_end_time": {"gt": int(start.timestamp() * 1000)}}},
                    {"range": {"data_start_time": {"lt": int(end.timestamp() * 1000)}}},
                ]
            }
        }
    }
    out: list[Detection] = []
    for hit in helpers.scan(client, index=index, query=query, ignore_unavailable=True):
        doc = hit["_source"]
        name = detector_names.get(doc.get("detector_id", ""), doc.get("detector_name") or doc.get("detector_id", "?"))
        spec = DETECTORS_BY_NAME.get(name)
        entity = doc.get("entity")
        if isinstance(entity, list):
            entity = ",".join(str(e.get("value")) for e in entity if isinstance(e, dict))
        out.append(
            Detection(
                detector=name,
                watches=spec.watches if spec else "?",
                data_start=parse_time(doc["data_start_time"]),
                data_end=parse_time(doc["data_end_time"]),
                grade=float(doc.get("anomaly_grade") or 0.0),
                confidence=float(doc.get("confidence") or 0.0),
                entity=entity or None,
            )
        )
    return sorted(out, key=lambda d: (d.data_start, d.detector))


@dataclass
class WindowResult:
    field: str
    start: datetime
    end: datetime
    intensity: float
    detected: bool
    first_detection: datetime | None
    delay_minutes: float | None
    max_grade: float
    detectors: list[str]


@dataclass
class Scorecard:
    windows: list[WindowResult]
    alerts_outside: list[dict[str, Any]]
    detections_outside: int
    problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def alert_time(alert: Mapping[str, Any]) -> datetime | None:
    """When an alert's anomaly happened (the first time-like field an alert message carries)."""
    for key in (
        "window_start_ms",
        "data_start_time",
        "anomaly_start",
        "start",
        "started_at",
        "first_seen",
        "data_start",
        "time",
        "timestamp",
        "data_end_time",
    ):
        if alert.get(key) not in (None, ""):
            return parse_time(alert[key])
    return None


def score_windows(
    labels: Sequence[Mapping[str, Any]],
    detections: Sequence[Detection],
    alerts: Sequence[Mapping[str, Any]],
    *,
    lag: timedelta,
) -> Scorecard:
    """Each injected window: detected when a detector watching its field has grade > 0 inside it (or within ``lag``
    after its end); alerts whose time is outside every window (plus ``lag``) are false alerts."""
    windows: list[WindowResult] = []
    spans = [(parse_time(lb["start"]), parse_time(lb["end"]) + lag) for lb in labels]
    for label in labels:
        start, end = parse_time(label["start"]), parse_time(label["end"])
        hits = [
            d
            for d in detections
            if d.watches == label["field"] and d.data_end > start and d.data_start < end + lag and d.grade > 0
        ]
        first = min((d.data_start for d in hits), default=None)
        windows.append(
            WindowResult(
                field=str(label["field"]),
                start=start,
                end=end,
                intensity=float(label.get("intensity", 0.0)),
                detected=bool(hits),
                first_detection=first,
                delay_minutes=(max(first, start) - start).total_seconds() / 60 if first else None,
                max_grade=max((d.grade for d in hits), default=0.0),
                detectors=sorted({d.detector for d in hits}),
            )
        )

    def inside(t: datetime) -> bool:
        return any(s <= t < e for s, e in spans)

    alerts_outside = []
    for alert in alerts:
        t = alert_time(alert)
        if t is None or not inside(t):
            alerts_outside.append(dict(alert))
    detections_outside = sum(1 for d in detections if not any(d.data_end > s and d.data_start < e for s, e in spans))
    problems = [
        f"injected {w.field} window {iso(w.start)}..{iso(w.end)} was not detected" for w in windows if not w.detected
    ]
    problems += [
        f"alert outside the injected windows: {a.get('detector') or a.get('detector_name') or '?'} at "
        f"{iso(t) if (t := alert_time(a)) else 'unknown time'}"
        for a in alerts_outside
    ]
    return Scorecard(windows, alerts_outside, detections_outside, problems)
