"""One alerting pass: new AD results since the checkpoint -> incidents -> SNS messages.

Delivery is at-least-once: the checkpoint is saved only after every message of the pass was published, so a
failed pass is repeated in full by the next one (a message may repeat; none is lost).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerting.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from alerting.context import WindowContext, window_context
from alerting.incidents import (
    Incident,
    IncidentEvent,
    advance,
    expected_values,
    severity,
)
from alerting.message import FeatureLine, MessageInput, render_text, subject_for
from alerting.policy import detector_policies
from alerting.publish import AlertMessage, publish
from wafad.catalogue import DETECTORS, DetectorSpec

#: results whose execution ended this long before the checkpoint are read again (writers are not atomic)
REREAD_MARGIN_MS = 10 * 60_000


def detector_catalogue_ids(settings: Any, os_client: Any) -> dict[str, DetectorSpec]:
    """detector_id -> catalogue spec: stable local ids, or the AD plugin's ids looked up by name."""
    from detectors.results import stable_detector_id

    out = {stable_detector_id(spec.name): spec for spec in DETECTORS}
    if settings.uses_ad_plugin:
        from detectors.ad_client import ADClient
        from detectors.errors import ADError

        client = ADClient(os_client)
        for spec in DETECTORS:
            try:
                ref = client.find_by_name(spec.name)
            except ADError:
                continue
            if ref is not None:
                out[ref.id] = spec
    return out


def dashboard_link(settings: Any) -> str:
    if settings.dashboard_url:
        return str(settings.dashboard_url)
    return (Path(settings.state_dir) / "dashboard.html").resolve().as_uri()  # where the demo writes it


def _feature_lines(peak: Mapping[str, Any]) -> list[FeatureLine]:
    expected = expected_values(peak)
    attribution = {str(a["feature_id"]): float(a["data"]) for a in peak.get("relevant_attribution") or []}
    return [
        FeatureLine(
            name=str(f.get("feature_name") or f.get("feature_id")),
            actual=float(f["data"]) if f.get("data") is not None else None,
            expected=expected.get(str(f.get("feature_id"))),
            attribution=attribution.get(str(f.get("feature_id"))),
        )
        for f in peak.get("feature_data") or []
    ]


def build_message(
    event: IncidentEvent,
    spec: DetectorSpec | None,
    context: WindowContext,
    *,
    dashboard: str | None,
) -> AlertMessage:
    inc: Incident = event.incident
    name = spec.name if spec else inc.detector_id
    grade = inc.max_grade
    sev = severity(grade)
    minput = MessageInput(
        kind=event.kind,
        detector=name,
        description=spec.description if spec else "",
        incident_key=inc.key,
        severity=sev,
        entity=inc.entity,
        window_start_ms=inc.start_ms,
        window_end_ms=inc.end_ms if event.kind == "resolved" else None,
        first_flagged_ms=inc.first_flagged_end_ms,
        anomalous_intervals=inc.anomalous_intervals,
        max_grade=grade,
        confidence=inc.peak.get("confidence"),
        score=inc.peak.get("anomaly_score"),
        features=_feature_lines(inc.peak),
        top=context.top,
        matching_requests=None if context.error else context.matching_requests,
        dashboard=dashboard,
        why=inc.why,
    )
    return AlertMessage(
        kind=event.kind,
        incident_key=inc.key,
        detector=name,
        detector_id=inc.detector_id,
        entity=inc.entity,
        severity=sev,
        subject=subject_for(minput),
        text=render_text(minput),
        window_start_ms=inc.start_ms,
        window_end_ms=minput.window_end_ms,
        max_grade=grade,
    )


def process_alerts(
    settings: Any,
    *,
    now: datetime | None = None,
    os_client: Any = None,
    on_message: Callable[[AlertMessage], None] | None = None,
) -> list[AlertMessage]:
    """Read new results since the checkpoint, open/resolve incidents, publish to SNS; returns what was sent.

    Results are selected by the checkpoint (their ``execution_end_time``), never by ``now``: a scheduled or
    back-filled pass whose slot lies in the past still sees every result written since the last pass. ``now``
    (default: the wall clock) is accepted for the flows' symmetry and only recorded in the checkpoint.
    """
    from alerting.infra import ensure_alerting
    from detectors.results import search_result_docs
    from wafad.clients import aws_client, opensearch_client

    now = now or datetime.now(UTC)
    os_client = os_client or opensearch_client(settings)
    topic_arn, _queue = ensure_alerting(settings)
    sns = aws_client("sns", settings)
    path = checkpoint_path(settings)
    checkpoint = load_checkpoint(path)

    start = checkpoint.read_until_ms - REREAD_MARGIN_MS if checkpoint.read_until_ms is not None else None
    docs = search_result_docs(
        os_client,
        settings.results_index,
        start_ms=start,
        time_field="execution_end_time",
        realtime=True,
    )
    specs = detector_catalogue_ids(settings, os_client) if docs else {}
    events = advance(checkpoint.state, docs, detector_policies(specs, settings))
    dashboard = dashboard_link(settings)
    interval_ms = int(settings.detector_interval_minutes) * 60_000
    sent: list[AlertMessage] = []
    for event in events:
        inc = event.incident
        spec = specs.get(inc.detector_id)
        so_far = max(inc.last_anomalous_end_ms, inc.last_deviating_end_ms)
        end_ms = (inc.end_ms if event.kind == "resolved" else so_far) or inc.start_ms + interval_ms
        context = window_context(os_client, f"{settings.index_prefix}-*", spec, inc.start_ms, end_ms, inc.entity)
        message = build_message(event, spec, context, dashboard=dashboard)
        message_id = publish(sns, topic_arn, message)
        sent_message = AlertMessage(**{**message.to_dict(), "message_id": message_id})
        sent.append(sent_message)
        if on_message:
            on_message(sent_message)
    if docs:
        newest = max(int(d.get("execution_end_time") or 0) for d in docs)
        checkpoint.read_until_ms = max(newest, checkpoint.read_until_ms or 0)
    checkpoint.last_pass = now.isoformat()
    save_checkpoint(path, checkpoint)
    return sent


def summarize(messages: Sequence[AlertMessage]) -> dict[str, int]:
    out = {"opened": 0, "resolved": 0}
    for m in messages:
        out[m.kind] = out.get(m.kind, 0) + 1
    return out
