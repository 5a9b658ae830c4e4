"""Small, realistic sample data for the dashboard: raw WAF documents and AD result documents.

Used by the dashboard tests and by ``wafad dashboard-sample`` to preview the page without running the
pipeline. Raw documents follow CONTRACTS.md (indicators from :func:`wafad.catalogue.indicators`); result
documents follow the AD result schema (``feature_data``, ``expected_values`` only when grade > 0, ``entity``
for the HC detector, ``task_id`` for historical runs). Deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from wafad.catalogue import DETECTORS, UNKNOWN_COUNTRY, indicators

#: The mapping the ingest template gives these fields (what the dashboard aggregates on).
RAW_MAPPING: dict[str, Any] = {
    "properties": {
        "@timestamp": {"type": "date"},
        "timestamp": {"type": "long"},
        "event_id": {"type": "keyword"},
        "action": {"type": "keyword"},
        "httpSourceName": {"type": "keyword"},
        "httpStatus": {"type": "short"},
        "terminatingRuleId": {"type": "keyword"},
        "action_bad": {"type": "byte"},
        "source_bad": {"type": "byte"},
        "status_bad": {"type": "byte"},
        "country_bad": {"type": "byte"},
        "method_bad": {"type": "byte"},
        "httpRequest": {
            "properties": {
                "clientIp": {"type": "ip"},
                "country": {"type": "keyword"},
                "uri": {"type": "keyword"},
                "args": {"type": "keyword"},
                "httpMethod": {"type": "keyword"},
                "headers": {"type": "object", "enabled": False},
            }
        },
    }
}

#: Script-injection payloads that set a marker if they ever run (used by the browser test).
XSS_MARKER = "wafadpwned"
XSS_PAYLOADS = (
    f"/search?q=<script>document.title='{XSS_MARKER}';document.body.setAttribute('data-{XSS_MARKER}','1')</script>",
    f"<img src=x onerror=\"document.title='{XSS_MARKER}';document.body.setAttribute('data-{XSS_MARKER}','2')\">",
    f"</script><svg onload=\"document.body.setAttribute('data-{XSS_MARKER}','3')\">",
    f"javascript:document.body.setAttribute('data-{XSS_MARKER}','4')",
    f"\"><iframe srcdoc=\"<script>parent.document.body.setAttribute('data-{XSS_MARKER}','5')</script>\">",
)

COUNTRIES = ("GB", "US", "IN", "GB", "US", "GB")
BAD_COUNTRIES = ("RU", "CN", UNKNOWN_COUNTRY, "KP")
URIS = ("/", "/index.html", "/api/orders", "/api/login", "/static/app.js", "/images/logo.png")


def _ip(rng: random.Random, pool: int = 40) -> str:
    n = rng.randrange(pool)
    return f"203.0.{113 + n // 250}.{n % 250 + 1}"


def raw_docs(
    start: datetime,
    minutes: int,
    *,
    per_minute: int = 20,
    anomalies: Sequence[tuple[str, int, int]] = (),
    payloads: Sequence[str] = (),
    payload_every: int = 97,
    seed: int = 7,
) -> Iterator[dict[str, Any]]:
    """Raw WAF documents, ``per_minute`` a minute; ``anomalies`` are (field, start_min, end_min) windows.

    Supported anomaly fields: action (more BLOCK), httpStatus (5xx), country (unknown countries),
    httpMethod, volume (x3 traffic). Each payload appears in the uri, the args and a header of a BLOCKed
    request.
    """
    rng = random.Random(seed)
    n = 0
    for minute in range(minutes):
        active = {f for f, a, b in anomalies if a <= minute < b}
        count = per_minute * (3 if "volume" in active else 1) + rng.randrange(-2, 3)
        for _ in range(max(count, 1)):
            ts = start + timedelta(minutes=minute, milliseconds=rng.randrange(60_000))
            action = "BLOCK" if rng.random() < (0.5 if "action" in active else 0.04) else "ALLOW"
            status = (
                503 if rng.random() < (0.6 if "httpStatus" in active else 0.02) else rng.choice((200, 200, 304, 404))
            )
            country = (
                rng.choice(BAD_COUNTRIES)
                if rng.random() < (0.6 if "country" in active else 0.03)
                else rng.choice(COUNTRIES)
            )
            method = (
                rng.choice(("PUT", "DELETE", "TRACE"))
                if "httpMethod" in active and rng.random() < 0.5
                else rng.choice(("GET", "GET", "POST"))
            )
            uri, args = rng.choice(URIS), ""
            headers = {"host": "shop.example.com", "user-agent": "Mozilla/5.0 (X11; Linux x86_64)", "accept": "*/*"}
            if payloads and n % payload_every == 5 % payload_every:
                p = payloads[(n // payload_every) % len(payloads)]
                uri, args, action = p, f"q={p}&id=1", "BLOCK"
                headers = {**headers, "user-agent": p, "referer": p, "x-forwarded-for": p}
            rec = {
                "timestamp": int(ts.timestamp() * 1000),
                "action": action,
                "httpSourceName": "ALB",
                "httpStatus": status,
                "terminatingRuleId": "Default_Action" if action == "ALLOW" else "AWS-AWSManagedRulesCommonRuleSet",
                "httpRequest": {
                    "clientIp": _ip(rng),
                    "country": country,
                    "uri": uri,
                    "args": args,
                    "httpMethod": method,
                    "headers": headers,
                },
            }
            n += 1
            eid = hashlib.sha1(f"{seed}-{n}".encode()).hexdigest()[:20]
            yield {
                **rec,
                "@timestamp": ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "event_id": eid,
                **indicators(rec),
            }


def _feature_value(docs_by_min: dict[int, list[dict[str, Any]]], minute: int, spec_name: str) -> float:
    spec = next(d for d in DETECTORS if d.name == spec_name)
    rows = docs_by_min.get(minute, [])
    feat = spec.features[0]
    if feat.agg == "value_count":
        return float(len(rows))
    return float(sum(r.get(feat.field, 0) for r in rows))


def result_docs(
    start: datetime,
    minutes: int,
    raw: Sequence[dict[str, Any]],
    *,
    anomalies: Sequence[tuple[str, int, int]] = (),
    detector_ids: dict[str, str] | None = None,
    historical_task: str | None = None,
    seed: int = 11,
) -> Iterator[dict[str, Any]]:
    """AD-schema result documents for every catalogue detector, one per minute, graded inside ``anomalies``.

    The grades are synthetic (a step inside the anomaly window, 1/16 multiples like the plugin's), but the
    feature values are the true sums of ``raw``.
    """
    rng = random.Random(seed)
    t0 = int(start.timestamp() * 1000)
    by_min: dict[int, list[dict[str, Any]]] = {}
    for d in raw:
        by_min.setdefault((d["timestamp"] - t0) // 60_000, []).append(d)
    ids = detector_ids or {}
    for spec in DETECTORS:
        det_id = ids.get(spec.name, spec.name)
        entities: list[str | None] = [None]
        if spec.is_high_cardinality:
            entities = ["GB", "US", "RU"]
        for entity in entities:
            for minute in range(minutes):
                ds, de = t0 + minute * 60_000, t0 + (minute + 1) * 60_000
                rows = by_min.get(minute, [])
                if entity is not None:
                    value = float(sum(1 for r in rows if r["httpRequest"]["country"] == entity))
                else:
                    value = _feature_value(by_min, minute, spec.name)
                in_window = any(f == spec.watches and a <= minute < b for f, a, b in anomalies)
                warm = minute >= 8
                grade = (rng.choice((10, 13, 16)) / 16) if in_window and warm and entity in (None, "RU") else 0.0
                doc: dict[str, Any] = {
                    "detector_id": det_id,
                    "schema_version": 7,
                    "data_start_time": ds,
                    "data_end_time": de,
                    "execution_start_time": de + 60_000,
                    "execution_end_time": de + 60_250,
                    "feature_data": [
                        {"feature_id": f"{det_id}-f0", "feature_name": spec.features[0].name, "data": value}
                    ],
                }
                if warm:
                    doc |= {
                        "anomaly_score": round((2.5 + rng.random()) if grade else rng.uniform(0.4, 1.2), 4),
                        "anomaly_grade": grade,
                        "confidence": round(min(0.99, 0.3 + minute / (minutes + 5)), 4),
                        "threshold": 1.9,
                    }
                if grade > 0:
                    doc |= {
                        "approx_anomaly_start_time": ds,
                        "relevant_attribution": [{"feature_id": f"{det_id}-f0", "data": 1.0}],
                        "expected_values": [
                            {
                                "likelihood": 1.0,
                                "value_list": [{"feature_id": f"{det_id}-f0", "data": round(value / 4, 1)}],
                            }
                        ],
                    }
                if entity is not None:
                    doc["entity"] = [{"name": spec.category_field, "value": entity}]
                    doc["model_id"] = f"{det_id}_entity_{entity}"
                if historical_task:
                    doc["task_id"] = historical_task
                yield doc


def index_window(
    client: Any,
    settings: Any,
    start: datetime,
    minutes: int,
    *,
    anomalies: Sequence[tuple[str, int, int]] = (),
    payloads: Sequence[str] = (),
    payload_every: int = 97,
    per_minute: int = 20,
    detector_ids: dict[str, str] | None = None,
    historical_task: str | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Index raw documents (daily index, template-like mapping) and AD results for a window; returns both."""
    from opensearchpy import helpers

    raw = list(
        raw_docs(
            start, minutes, per_minute=per_minute, anomalies=anomalies, payloads=payloads, payload_every=payload_every
        )
    )
    if not _ingest_template(client, settings):
        for day in sorted({d["@timestamp"][:10].replace("-", ".") for d in raw}):
            index = f"{settings.index_prefix}-{day}"
            if not client.indices.exists(index=index):
                client.indices.create(index=index, body={"mappings": RAW_MAPPING})
    actions = (
        {
            "_index": f"{settings.index_prefix}-{d['@timestamp'][:10].replace('-', '.')}",
            "_id": d["event_id"],
            "_source": d,
        }
        for d in raw
    )
    helpers.bulk(client, actions, refresh=True)
    results = list(
        result_docs(
            start, minutes, raw, anomalies=anomalies, detector_ids=detector_ids, historical_task=historical_task
        )
    )
    _ad_results_index(client, settings.results_index)
    helpers.bulk(client, ({"_index": settings.results_index, "_source": d} for d in results), refresh=True)
    return raw, results


def _ingest_template(client: Any, settings: Any) -> bool:
    """The ingest part's index template (the production mapping), when that part is importable."""
    try:
        from ingest.index_template import ensure_index_template
    except ImportError:
        return False
    ensure_index_template(client, settings)
    return True


def _ad_results_index(client: Any, index: str) -> None:
    """The results index with AD's result mapping (detectors part), else dynamic mapping."""
    try:
        from detectors.results import ensure_results_index
    except ImportError:
        return
    ensure_results_index(client, index)


def engine_detector_ids() -> dict[str, str]:
    """catalogue name -> the id the local engine gives it (names themselves if that part is missing)."""
    try:
        from detectors.local_engine import local_detector_id
    except ImportError:
        return {d.name: d.name for d in DETECTORS}
    return {d.name: local_detector_id(d.name) for d in DETECTORS}


def labels_for_window(
    start: datetime, anomalies: Sequence[tuple[str, int, int]], intensity: float = 5.0
) -> list[dict[str, Any]]:
    """Simulator-style labels (ISO-8601 UTC) for ``anomalies`` given in minutes from ``start``."""

    def at(minute: int) -> str:
        return (start + timedelta(minutes=minute)).astimezone(UTC).isoformat().replace("+00:00", "Z")

    return [{"field": f, "start": at(a), "end": at(b), "intensity": intensity} for f, a, b in anomalies]
