"""Saved queries (``queries/*.sql``): listing them and filling in their ``{{placeholders}}``.

The SQL is written once for Athena and DuckDB. What "bad" means per seed field is never spelled out in a SQL file:
:func:`bad_conditions` generates it from :mod:`wafad.catalogue` (allow-lists, with the ``WAFAD_ALLOW_*`` overrides
the Firehose transform also honours, and ``STATUS_BAD_FROM``), as do the indicator columns built on it. Ground-truth
windows come from a labels file (``wafad simulate --labels FILE``, or the demo's ``labels.json``).

>>> bad_conditions({"action": frozenset({"ALLOW"}), "httpSourceName": frozenset(), "country": frozenset({"GB"}),
...                 "httpMethod": frozenset({"GET"})})["country"]
"(httpRequest.country IS NULL OR httpRequest.country NOT IN ('GB'))"
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from queries.schema import LOG_TIME_FORMAT
from queries.source import KEY_TIME_SLACK
from queries.sqltext import PLACEHOLDER, quote
from wafad.catalogue import SEED_FIELDS, STATUS_BAD_FROM, allow_lists_from_env

#: saved queries that need ground-truth windows (``--labels``)
NEEDS_LABELS = frozenset({"bad_share", "distribution"})


class SavedQueryError(ValueError):
    """Unknown saved query, missing parameter or unreadable labels: one clear line."""


def saved_names() -> dict[str, str]:
    """``{name: first comment line}`` of every saved query."""
    out = {}
    for f in sorted(resources.files("queries").iterdir(), key=lambda f: f.name):
        if f.name.endswith(".sql"):
            first = f.read_text(encoding="utf-8").splitlines()[0]
            out[f.name[:-4]] = first.lstrip("- ").strip()
    return out


def template(name: str) -> str:
    if name not in saved_names():
        raise SavedQueryError(f"no saved query {name!r}; saved queries: {', '.join(saved_names())}")
    return resources.files("queries").joinpath(f"{name}.sql").read_text(encoding="utf-8")


def bad_conditions(allow: Mapping[str, frozenset[str]] | None = None) -> dict[str, str]:
    """Per seed field, a SQL condition true when the record's value is bad (missing included), from the catalogue."""
    allow = allow_lists_from_env() if allow is None else allow
    out = {}
    for name, (_indicator, path) in SEED_FIELDS.items():
        if name == "httpStatus":
            out[name] = f"({path} IS NULL OR NOT ({path} >= 100 AND {path} < {STATUS_BAD_FROM}))"
        elif allow[name]:
            values = ", ".join(quote(v) for v in sorted(allow[name]))
            out[name] = f"({path} IS NULL OR {path} NOT IN ({values}))"
        else:
            out[name] = "TRUE"
    return out


def indicator_sql(allow: Mapping[str, frozenset[str]] | None = None) -> dict[str, str]:
    """The ``indicator_*`` placeholders: 0/1 columns named as the transform's indicator fields."""
    conds = bad_conditions(allow)
    inds = {name: ind for name, (ind, _path) in SEED_FIELDS.items()}
    return {
        "indicator_columns": ",\n    ".join(f"CASE WHEN {conds[n]} THEN 1 ELSE 0 END AS {inds[n]}" for n in inds),
        "indicator_sums": ",\n  ".join(f"sum({ind}) AS {ind}" for ind in inds.values()),
        "indicator_of_w_field": "CASE w.field " + " ".join(f"WHEN '{n}' THEN r.{i}" for n, i in inds.items()) + " END",
    }


@dataclass(frozen=True)
class Window:
    """One labelled anomaly (ground truth), times in epoch milliseconds."""

    field: str
    start_ms: int
    end_ms: int
    intensity: float


def read_labels(path: Path | str) -> list[Window]:
    """The windows of a labels file (``[{"field", "start", "end", "intensity"}]``, the simulator's format)."""
    from simulator.scenario import Anomaly, AnomalySpecError

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(raw, Mapping):  # a demo summary or {"labels": [...]}
            raw = raw.get("labels", raw)
        anomalies = [Anomaly.from_label(lab) for lab in raw]
    except FileNotFoundError:
        raise SavedQueryError(f"labels file {str(path)!r} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, AnomalySpecError) as exc:
        raise SavedQueryError(f"cannot read labels from {str(path)!r}: {exc}") from None
    return [
        Window(a.field, int(a.start.timestamp() * 1000), int(a.end.timestamp() * 1000), a.intensity) for a in anomalies
    ]


@dataclass(frozen=True)
class Params:
    """What a saved query is run with."""

    start: datetime
    end: datetime
    interval_minutes: int = 1
    limit: int = 10
    windows: Sequence[Window] = ()
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. segments, filled in by queries.distribution


def values(params: Params, allow: Mapping[str, frozenset[str]] | None = None) -> dict[str, str]:
    """Every placeholder's SQL text for ``params``."""
    if params.end <= params.start:
        raise SavedQueryError("--end must be after --start")
    if params.interval_minutes < 1 or params.limit < 1:
        raise SavedQueryError("--interval and --limit must be at least 1")
    seed_windows = [w for w in params.windows if w.field in SEED_FIELDS]
    out = {
        "in_window": (
            f"log_time >= '{(params.start - KEY_TIME_SLACK).astimezone(UTC).strftime(LOG_TIME_FORMAT)}'"
            f" AND log_time < '{(params.end + KEY_TIME_SLACK).astimezone(UTC).strftime(LOG_TIME_FORMAT)}'"
            f' AND "timestamp" >= {int(params.start.timestamp() * 1000)}'
            f' AND "timestamp" < {int(params.end.timestamp() * 1000)}'
        ),
        "interval_ms": str(params.interval_minutes * 60_000),
        "interval_s": str(params.interval_minutes * 60),
        "limit": str(params.limit),
        "windows": ", ".join(
            f"({quote(w.field)}, {w.start_ms}, {w.end_ms}, {float(w.intensity)!r})" for w in seed_windows
        ),
        **indicator_sql(allow),
    }
    out["indicator_records"] = (
        f'\n  SELECT\n    "timestamp" AS ts,\n    {out["indicator_columns"]}\n'
        f"  FROM waf_logs\n  WHERE {out['in_window']}\n"
    )
    out.update(params.extra)
    return out


def render(name: str, params: Params, allow: Mapping[str, frozenset[str]] | None = None) -> str:
    """Saved query ``name`` with its placeholders filled in: SQL for Athena and DuckDB alike."""
    text = template(name)
    vals = values(params, allow)
    used = {n for line in text.splitlines() if not line.lstrip().startswith("--") for n in PLACEHOLDER.findall(line)}
    if "windows" in used and not vals["windows"]:
        raise SavedQueryError(f"{name} needs labelled windows of a seed field: pass --labels FILE (simulator labels)")
    missing = sorted(u for u in used if u not in vals)
    if missing:
        raise SavedQueryError(f"{name} needs {', '.join(missing)}")
    return "\n".join(  # comment lines keep their placeholder names: they document them
        line if line.lstrip().startswith("--") else PLACEHOLDER.sub(lambda m: vals[m.group(1)], line)
        for line in text.splitlines()
    )
