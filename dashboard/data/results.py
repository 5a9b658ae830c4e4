"""AD result documents of one window (``settings.results_index``), grouped per detector and HC entity.

Detector ids are mapped back to catalogue names: the local engine's id functions, the AD plugin's detector list
in production, or the name found in the document itself.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dashboard.data.values import entity_key, num, to_ms
from wafad.catalogue import DETECTORS, DETECTORS_BY_NAME, DetectorSpec


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


def parse_result(doc: Mapping[str, Any]) -> ResultPoint:
    """Flatten one AD result document (AD schema §5.2-5.4); missing fields become None/empty."""
    id_to_name: dict[str, str] = {}
    features: dict[str, float | None] = {}
    for f in doc.get("feature_data") or []:
        if not isinstance(f, Mapping):
            continue
        name = str(f.get("feature_name") or f.get("feature_id") or "feature")
        id_to_name[str(f.get("feature_id", name))] = name
        features[name] = num(f.get("data"))
    expected: dict[str, float | None] = {}
    exp = doc.get("expected_values") or []
    if exp and isinstance(exp[0], Mapping):
        best = max(exp, key=lambda e: num(e.get("likelihood")) or 0.0)
        for v in best.get("value_list") or []:
            fid = str(v.get("feature_id", ""))
            expected[id_to_name.get(fid, fid)] = num(v.get("data"))
    attribution = {
        id_to_name.get(str(a.get("feature_id", "")), str(a.get("feature_id", ""))): num(a.get("data"))
        for a in doc.get("relevant_attribution") or []
        if isinstance(a, Mapping)
    }
    return ResultPoint(
        start=to_ms(doc["data_start_time"]),
        end=to_ms(doc["data_end_time"]),
        score=num(doc.get("anomaly_score")),
        grade=num(doc.get("anomaly_grade")),
        confidence=num(doc.get("confidence")),
        threshold=num(doc.get("threshold")),
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
        entity = entity_key(doc.get("entity"))
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
