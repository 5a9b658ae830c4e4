"""The dashboard's optional inputs: ground-truth labels, alerts sent and cross-check reports.

Tolerant of the shapes the pipeline writes (``alerting`` AlertMessage dicts, ``CrossCheckReport.to_dict()``,
wrappers holding lists of reports) and of ISO strings or epoch milliseconds for times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.data.values import entity_key, num, to_ms


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
                Label(str(lab.get("field", "?")), to_ms(lab["start"]), to_ms(lab["end"]), num(lab.get("intensity")))
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
                entity=entity if isinstance(entity, str) else entity_key(entity),
                detector_id=str(a.get("detector_id", "")),
                subject=str(a.get("subject", "")),
                max_grade=num(a.get("max_grade")),
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
                    ad_score=num(iv.get("ad_score")),
                    ad_grade=num(iv.get("ad_grade")),
                    band_low=num(iv.get("band_low")),
                    band_high=num(iv.get("band_high")),
                    grade_band_low=num(iv.get("grade_band_low")),
                    grade_band_high=num(iv.get("grade_band_high")),
                    agree=bool(agree) if agree is not None else None,
                    cause=str(iv.get("cause") or ""),
                    replica_score=num(iv.get("replica_score")),
                    entity=entity if isinstance(entity, str) else entity_key(entity),
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
                spearman=num(c.get("spearman")),
                precision=num(c.get("precision")),
                recall=num(c.get("recall")),
                intervals=intervals,
                summary=str(c.get("summary") or ""),
                agreement_rate=num(c.get("agreement_rate")),
            )
        )
    return out
