"""Does the detector the cluster holds match the catalogue's body? AD echoes bodies back normalised (``boost:
1.0`` added to queries, enums in other cases, extra feature keys), so both sides are normalised first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Detector fields that define behaviour; ``ensure`` compares only these.
COMPARED_FIELDS = (
    "name",
    "description",
    "time_field",
    "indices",
    "filter_query",
    "feature_attributes",
    "detection_interval",
    "window_delay",
    "shingle_size",
    "category_field",
    "imputation_option",
    "result_index",
    "frequency",
    "history",
    "recency_emphasis",
    "rules",
)
#: AD refuses to change these on update.
IMMUTABLE_FIELDS = ("category_field", "result_index")


def _strip_defaults(value: Any) -> Any:
    """Normalise an echoed body: drop ``boost: 1.0`` that AD's query serialisation adds, upper-case enums."""
    if isinstance(value, Mapping):
        return {k: _strip_defaults(v) for k, v in value.items() if not (k == "boost" and v in (1, 1.0))}
    if isinstance(value, list):
        return [_strip_defaults(v) for v in value]
    return value


def _comparable(body: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        if key not in body:
            continue
        value = _strip_defaults(body[key])
        if key == "feature_attributes" and isinstance(value, list):
            value = [
                {k: f.get(k) for k in ("feature_name", "feature_enabled", "aggregation_query")}
                for f in value
                if isinstance(f, Mapping)
            ]
        elif key in ("detection_interval", "window_delay", "frequency") and isinstance(value, Mapping):
            period = value.get("period", {})
            value = {"interval": period.get("interval"), "unit": str(period.get("unit", "")).upper()}
        elif key == "imputation_option" and isinstance(value, Mapping):
            value = {"method": str(value.get("method", "")).upper(), "default_fill": value.get("default_fill")}
        out[key] = value
    return out


def body_differs(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> list[str]:
    """Fields of ``desired`` whose value differs from the detector the cluster holds (after normalisation)."""
    keys = tuple(k for k in COMPARED_FIELDS if k in desired)
    want, have = _comparable(desired, keys), _comparable(existing, keys)
    return [k for k in keys if want.get(k) != have.get(k)]
