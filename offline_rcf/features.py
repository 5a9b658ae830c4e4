"""Per-interval feature vectors exactly as an OpenSearch AD detector computes them.

Two sources, one result type (:class:`FeatureSeries`):

* OpenSearch: the detector's filter query and feature aggregations, many intervals per request — a
  ``date_range`` aggregation (AD's real-time query, ``from`` inclusive, ``to`` exclusive) for single-stream
  detectors, a paginated ``composite`` aggregation (``date_histogram`` × ``terms`` on the category field) for
  high-cardinality (HC) detectors, as AD's ``CompositeRetriever`` / batch query do.
* raw records in memory or files (:func:`features_from_records`), with the same semantics.

AD semantics (opensearch_ad.md §4.1-4.4): for an empty interval ``sum``/``value_count``/``cardinality`` are 0
(a real zero), ``avg``/``min``/``max`` have no value (NaN); ±Inf is NaN. In an HC detector an entity without
documents in an interval is absent: its row is NaN and its ``doc_count`` 0.

Grids (:func:`interval_grid`): ``aligned="epoch"`` — historical analysis, buckets ``t - t % interval``
between the floored start and end; ``aligned="job"`` — real time, execution windows ``start + k·interval``
(the job's schedule) shifted back by the window delay.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np

from wafad.catalogue import INDICATOR_FIELDS, TIME_FIELD, DetectorSpec, Feature, indicators

Aligned = Literal["epoch", "job"]
ZERO_WHEN_EMPTY = frozenset({"sum", "value_count", "cardinality"})
RANGES_PER_REQUEST = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COMPOSITE_PAGE_SIZE = 5000  # buckets per page (AD: page_size 1000 for one interval; we fetch many intervals)


@dataclass
class FeatureSeries:
    """Feature vectors of one detector (and entity) over consecutive intervals; NaN = no data."""

    data_start: np.ndarray  # int64 epoch ms
    data_end: np.ndarray  # int64 epoch ms
    values: np.ndarray  # float64 (n, n_features)
    feature_names: list[str]
    entity: dict[str, str] | None = None
    doc_count: np.ndarray | None = field(default=None)  # int64 documents per interval (0: empty / absent)

    def __post_init__(self) -> None:
        self.data_start = np.asarray(self.data_start, dtype=np.int64)
        self.data_end = np.asarray(self.data_end, dtype=np.int64)
        self.values = np.asarray(self.values, dtype=np.float64).reshape(len(self.data_start), len(self.feature_names))
        if self.doc_count is not None:
            self.doc_count = np.asarray(self.doc_count, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_start)

    @property
    def complete(self) -> np.ndarray:
        """Rows without NaN: the intervals a detector without imputation scores."""
        return ~np.isnan(self.values).any(axis=1)

    @property
    def data_end_seconds(self) -> np.ndarray:
        """TRCF timestamps: data_end in epoch seconds, as AD passes them."""
        return self.data_end // 1000

    def rows(self) -> Iterator[tuple[int, int, np.ndarray]]:
        for i in range(len(self)):
            yield int(self.data_start[i]), int(self.data_end[i]), self.values[i]

    def select(self, mask: np.ndarray) -> FeatureSeries:
        return FeatureSeries(
            self.data_start[mask],
            self.data_end[mask],
            self.values[mask],
            list(self.feature_names),
            self.entity,
            None if self.doc_count is None else self.doc_count[mask],
        )


# --- time helpers ---------------------------------------------------------------------------------
def to_epoch_ms(t: datetime | int | float | str) -> int:
    """Epoch milliseconds from a datetime (naive = UTC), an ISO-8601 string or epoch ms."""
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return (t - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(t, str):
        return to_epoch_ms(datetime.fromisoformat(t.replace("Z", "+00:00")))
    if isinstance(t, bool):
        raise TypeError(f"not a time: {t!r}")
    return int(t)


def _interval_ms(interval: timedelta | int) -> int:
    ms = int(interval.total_seconds() * 1000) if isinstance(interval, timedelta) else int(interval)
    if ms <= 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    return ms


def interval_grid(
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
) -> tuple[np.ndarray, np.ndarray]:
    """(data_start, data_end) in epoch ms of the intervals AD scores between ``start`` and ``end``.

    ``epoch``: historical analysis; buckets ``t - t % interval`` from floor(start) to floor(end) (AD's batch
    task has no window delay, so ``window_delay`` is not applied). ``job``: real time; the job fires at
    ``start + k·interval`` for every execution window [start + k·iv, start + (k+1)·iv) ending by ``end``,
    and queries that window shifted back by ``window_delay``.

    >>> s, e = interval_grid(90_000, 300_000, timedelta(minutes=1))
    >>> s.tolist(), e.tolist()
    ([60000, 120000, 180000, 240000], [120000, 180000, 240000, 300000])
    >>> s, e = interval_grid(90_000, 300_000, timedelta(minutes=1), aligned="job", window_delay=timedelta(minutes=2))
    >>> s.tolist()
    [-30000, 30000, 90000]
    """
    iv = _interval_ms(interval)
    s_ms, e_ms = to_epoch_ms(start), to_epoch_ms(end)
    if e_ms < s_ms:
        raise ValueError(f"end {end} is before start {start}")
    if aligned == "epoch":
        first, last = s_ms - s_ms % iv, e_ms - e_ms % iv
        starts = np.arange(first, last, iv, dtype=np.int64)
    elif aligned == "job":
        n = (e_ms - s_ms) // iv
        starts = s_ms + iv * np.arange(n, dtype=np.int64) - int(window_delay.total_seconds() * 1000)
    else:
        raise ValueError(f"aligned must be 'epoch' or 'job', got {aligned!r}")
    return starts, starts + iv


def _grid_is_regular(data_start: np.ndarray, data_end: np.ndarray) -> int | None:
    """The interval in ms when the windows are contiguous and equally long, else None."""
    if len(data_start) == 0:
        return None
    widths = data_end - data_start
    iv = int(widths[0])
    if iv <= 0 or np.any(widths != iv) or np.any(np.diff(data_start) != iv):
        return None
    return iv


# --- parsing aggregation values -------------------------------------------------------------------
def _agg_value(bucket: Mapping[str, Any], feature: Feature) -> float:
    agg = bucket.get(feature.name)
    value = agg.get("value") if isinstance(agg, Mapping) else None
    if value is None:
        return 0.0 if feature.agg in ZERO_WHEN_EMPTY and bucket.get("doc_count", 1) == 0 else math.nan
    value = float(value)
    return value if math.isfinite(value) else math.nan


def _feature_aggs(spec: DetectorSpec) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for f in spec.features:
        aggs.update(f.aggregation_query())
    return aggs


def _time_filtered_query(spec: DetectorSpec, start_ms: int, end_ms: int) -> dict[str, Any]:
    return {
        "bool": {
            "filter": [
                dict(spec.filter_query),
                {"range": {TIME_FIELD: {"gte": start_ms, "lt": end_ms, "format": "epoch_millis"}}},
            ]
        }
    }


# --- OpenSearch -------------------------------------------------------------------------------------
def features_for_windows(
    client: Any,
    spec: DetectorSpec,
    index: str,
    data_start: Sequence[int] | np.ndarray,
    data_end: Sequence[int] | np.ndarray,
    *,
    ranges_per_request: int = RANGES_PER_REQUEST,
) -> FeatureSeries:
    """Feature vectors for arbitrary windows [data_start, data_end) in epoch ms (AD's real-time query).

    One ``date_range`` aggregation per ``ranges_per_request`` windows, as ``SearchFeatureDao`` builds it.
    Use this with the windows of AD's own result documents (job-aligned, with the scheduler's jitter).
    """
    starts = np.asarray(data_start, dtype=np.int64)
    ends = np.asarray(data_end, dtype=np.int64)
    if starts.shape != ends.shape:
        raise ValueError("data_start and data_end differ in length")
    if np.any(ends <= starts):
        raise ValueError("every window needs data_end > data_start")
    values = np.full((len(starts), len(spec.features)), np.nan)
    counts = np.zeros(len(starts), dtype=np.int64)
    aggs = _feature_aggs(spec)
    for lo in range(0, len(starts), ranges_per_request):
        chunk = slice(lo, lo + ranges_per_request)
        s, e = starts[chunk], ends[chunk]
        body = {
            "size": 0,
            "query": _time_filtered_query(spec, int(s.min()), int(e.max())),
            "aggs": {
                "windows": {
                    "date_range": {
                        "field": TIME_FIELD,
                        "format": "epoch_millis",
                        "ranges": [{"from": int(a), "to": int(b)} for a, b in zip(s, e, strict=True)],
                    },
                    "aggs": aggs,
                }
            },
        }
        resp = client.search(index=index, body=body)
        by_window = {}
        for b in (resp.get("aggregations") or {}).get("windows", {}).get("buckets", []):
            by_window[(int(float(b["from"])), int(float(b["to"])))] = b
        for k in range(len(s)):
            b = by_window.get((int(s[k]), int(e[k])), {"doc_count": 0})
            counts[lo + k] = int(b.get("doc_count", 0))
            values[lo + k] = [_agg_value(b, f) for f in spec.features]
    return FeatureSeries(starts, ends, values, [f.name for f in spec.features], None, counts)


def feature_series(
    client: Any,
    spec: DetectorSpec,
    index: str,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
    ranges_per_request: int = RANGES_PER_REQUEST,
) -> FeatureSeries:
    """Single-stream feature vectors of ``spec`` over the intervals of :func:`interval_grid`.

    For an HC spec this is the total over all entities (the category field is ignored).
    """
    ds, de = interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    if len(ds) == 0:
        return _empty_series(spec)
    return features_for_windows(client, spec, index, ds, de, ranges_per_request=ranges_per_request)


def feature_series_by_entity(
    client: Any,
    spec: DetectorSpec,
    index: str,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
    page_size: int = COMPOSITE_PAGE_SIZE,
) -> dict[str, FeatureSeries]:
    """HC feature vectors per entity (keyed by the category value) over the :func:`interval_grid` intervals.

    A paginated ``composite`` aggregation of ``date_histogram`` (offset to the grid) × ``terms`` (category
    field). Every series has the full grid; intervals where the entity has no documents are NaN rows with
    ``doc_count`` 0 (AD: absent, no result unless the detector imputes).
    """
    if spec.category_field is None:
        raise ValueError(f"detector {spec.name!r} has no category field; use feature_series")
    ds, de = interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    if len(ds) == 0:
        return {}
    iv = _interval_ms(interval)
    offset = int(ds[0] % iv)
    sources = [
        {"t": {"date_histogram": {"field": TIME_FIELD, "fixed_interval": f"{iv}ms", "offset": f"{offset}ms"}}},
        {"e": {"terms": {"field": spec.category_field}}},
    ]
    body: dict[str, Any] = {
        "size": 0,
        "query": _time_filtered_query(spec, int(ds[0]), int(de[-1])),
        "aggs": {"entities": {"composite": {"size": page_size, "sources": sources}, "aggs": _feature_aggs(spec)}},
    }
    rows: dict[str, dict[int, Mapping[str, Any]]] = {}
    while True:
        resp = client.search(index=index, body=body)
        comp = (resp.get("aggregations") or {}).get("entities", {})
        buckets = comp.get("buckets", [])
        for b in buckets:
            rows.setdefault(str(b["key"]["e"]), {})[int(b["key"]["t"])] = b
        after = comp.get("after_key")
        if not buckets or after is None:
            break
        body["aggs"]["entities"]["composite"]["after"] = after
    return _series_per_entity(spec, ds, de, rows)


def _series_per_entity(
    spec: DetectorSpec, ds: np.ndarray, de: np.ndarray, rows: Mapping[str, Mapping[int, Mapping[str, Any]]]
) -> dict[str, FeatureSeries]:
    position = {int(t): i for i, t in enumerate(ds)}
    names = [f.name for f in spec.features]
    out: dict[str, FeatureSeries] = {}
    for value in sorted(rows):
        values = np.full((len(ds), len(names)), np.nan)
        counts = np.zeros(len(ds), dtype=np.int64)
        for t, b in rows[value].items():
            i = position.get(t)
            if i is None:
                continue
            counts[i] = int(b.get("doc_count", 0))
            values[i] = [_agg_value(b, f) for f in spec.features]
        assert spec.category_field is not None
        out[value] = FeatureSeries(ds, de, values, names, {spec.category_field: value}, counts)
    return out


def _empty_series(spec: DetectorSpec) -> FeatureSeries:
    names = [f.name for f in spec.features]
    return FeatureSeries(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(names))), names, None)


# --- raw records ------------------------------------------------------------------------------------
def load_records(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """WAF records (or indexed documents) from JSON-lines files, gzip or not, or JSON arrays/objects."""
    for p in paths:
        path = Path(p)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            text = fh.read()
        stripped = text.lstrip()
        if stripped.startswith("["):
            yield from json.loads(stripped)
            continue
        try:
            whole = json.loads(stripped) if stripped.startswith("{") else None
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict):
            yield whole
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON: {exc.msg}") from None


def _get_path(doc: Mapping[str, Any], dotted: str) -> Any:
    if dotted in doc:
        return doc[dotted]
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def record_time_ms(rec: Mapping[str, Any]) -> int:
    """A document's ``@timestamp`` or a raw WAF record's ``timestamp`` (epoch ms)."""
    t = rec.get(TIME_FIELD)
    if t is not None:
        return to_epoch_ms(t)
    t = rec.get("timestamp")
    if t is None:
        raise ValueError("record has neither @timestamp nor timestamp")
    return to_epoch_ms(t)


def _field_value(rec: Mapping[str, Any], name: str, cache: dict[str, int] | None) -> Any:
    value = _get_path(rec, name)
    if value is None and name in INDICATOR_FIELDS:
        return (cache if cache is not None else indicators(rec))[name]
    return value


def _matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """The subset of the query DSL a detector filter uses: match_all, term(s), range, exists, bool."""
    if not query:
        return True
    (kind, arg), *rest = query.items()
    if rest:
        raise ValueError(f"a query clause has one key, got {list(query)}")
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "bool":
        must = list(_as_list(arg.get("must"))) + list(_as_list(arg.get("filter")))
        if not all(_matches(doc, q) for q in must):
            return False
        if any(_matches(doc, q) for q in _as_list(arg.get("must_not"))):
            return False
        should = list(_as_list(arg.get("should")))
        need = int(arg.get("minimum_should_match", 1 if should and not must else 0))
        return sum(_matches(doc, q) for q in should) >= need
    if kind in ("term", "terms", "range", "exists"):
        (fname, cond), *_ = arg.items()
        value = _field_value(doc, fname if kind != "exists" else cond, None)
        if kind == "exists":
            return value is not None
        if kind == "term":
            target = cond.get("value") if isinstance(cond, Mapping) else cond
            return value == target or (value is not None and str(value) == str(target))
        if kind == "terms":
            return value is not None and str(value) in {str(c) for c in cond}
        if value is None:
            return False
        v = to_epoch_ms(value) if fname == TIME_FIELD else float(value)
        for op, bound in cond.items():
            if op in ("format", "time_zone", "boost"):
                continue
            b = to_epoch_ms(bound) if fname == TIME_FIELD else float(bound)
            if not {"gt": v > b, "gte": v >= b, "lt": v < b, "lte": v <= b}[op]:
                return False
        return True
    raise NotImplementedError(f"query clause {kind!r} is not supported for in-memory records")


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    return list(x) if isinstance(x, list) else [x]


def _numeric(value: Any) -> list[float]:
    out = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, bool):
            out.append(float(v))
        elif isinstance(v, (int, float, str)):
            try:
                out.append(float(v))
            except ValueError:
                continue
    return out


def _aggregate(feature: Feature, values: list[Any]) -> float:
    """One aggregation over the field values of the documents in an interval (None = field absent)."""
    present = [v for v in values if v is not None]
    if feature.agg == "value_count":
        return float(sum(len(v) if isinstance(v, list) else 1 for v in present))
    if feature.agg == "cardinality":
        flat = [x for v in present for x in (v if isinstance(v, list) else [v])]
        return float(len({json.dumps(x, sort_keys=True) for x in flat}))
    nums = [x for v in present for x in _numeric(v)]
    if feature.agg == "sum":
        return float(math.fsum(nums))
    if not nums:
        return math.nan
    if feature.agg == "avg":
        return math.fsum(nums) / len(nums)
    if feature.agg == "min":
        return min(nums)
    if feature.agg == "max":
        return max(nums)
    raise ValueError(f"unsupported aggregation {feature.agg!r}")


@dataclass
class _Doc:
    t: int
    entity: str | None
    fields: list[Any]


def _prepare(records: Iterable[Mapping[str, Any]], spec: DetectorSpec) -> list[_Doc]:
    docs: list[_Doc] = []
    needs_indicators = any(f.field in INDICATOR_FIELDS for f in spec.features)
    for n, rec in enumerate(records):
        if not _matches(rec, spec.filter_query):
            continue
        cache = indicators(rec) if needs_indicators and not all(f.field in rec for f in spec.features) else None
        fields = []
        for f in spec.features:
            value = _field_value(rec, f.field, cache)
            if value is None and f.field == "event_id":
                value = f"record-{n}"  # the Firehose transform gives every document an event_id
            fields.append(value)
        entity = None
        if spec.category_field is not None:
            raw = _get_path(rec, spec.category_field)
            entity = None if raw is None else str(raw)
        docs.append(_Doc(record_time_ms(rec), entity, fields))
    docs.sort(key=lambda d: d.t)
    return docs


def _series_from_docs(
    docs: list[_Doc], spec: DetectorSpec, ds: np.ndarray, de: np.ndarray, entity: dict[str, str] | None
) -> FeatureSeries:
    times = np.fromiter((d.t for d in docs), dtype=np.int64, count=len(docs))
    lo = np.searchsorted(times, ds, side="left")
    hi = np.searchsorted(times, de, side="left")
    values = np.full((len(ds), len(spec.features)), np.nan)
    for i in range(len(ds)):
        window = docs[lo[i] : hi[i]]
        values[i] = [_aggregate(f, [d.fields[j] for d in window]) for j, f in enumerate(spec.features)]
    return FeatureSeries(ds, de, values, [f.name for f in spec.features], entity, hi - lo)


def features_from_records(
    records: Iterable[Mapping[str, Any]] | Iterable[str | Path],
    spec: DetectorSpec,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
    windows: tuple[np.ndarray, np.ndarray] | None = None,
) -> FeatureSeries:
    """Single-stream features of ``spec`` from raw WAF records or indexed documents (or files of them).

    Indicator fields missing from a raw record are computed with ``wafad.catalogue.indicators``; records
    without ``event_id`` count as having one (the transform adds it). ``windows`` = (data_start, data_end)
    epoch ms overrides the grid.
    """
    docs = _prepare(_records(records), spec)
    ds, de = (
        windows
        if windows is not None
        else interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    )
    return _series_from_docs(docs, spec, np.asarray(ds, np.int64), np.asarray(de, np.int64), None)


def features_from_records_by_entity(
    records: Iterable[Mapping[str, Any]] | Iterable[str | Path],
    spec: DetectorSpec,
    start: datetime | int,
    end: datetime | int,
    interval: timedelta,
    *,
    aligned: Aligned = "epoch",
    window_delay: timedelta = timedelta(0),
) -> dict[str, FeatureSeries]:
    """HC features per entity from raw records, with the same absent-entity semantics as the composite query."""
    if spec.category_field is None:
        raise ValueError(f"detector {spec.name!r} has no category field; use features_from_records")
    docs = _prepare(_records(records), spec)
    ds, de = interval_grid(start, end, interval, aligned=aligned, window_delay=window_delay)
    out: dict[str, FeatureSeries] = {}
    by_entity: dict[str, list[_Doc]] = {}
    for d in docs:
        if d.entity is not None:  # composite terms sources skip documents without the field
            by_entity.setdefault(d.entity, []).append(d)
    for value in sorted(by_entity):
        s = _series_from_docs(by_entity[value], spec, ds, de, {spec.category_field: value})
        if not np.any(s.doc_count):
            continue  # no document inside the grid: the composite query never sees this entity
        assert s.doc_count is not None
        s.values[s.doc_count == 0] = np.nan  # absent from the composite aggregation
        out[value] = s
    return out


def _records(records: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    items = list(records) if not isinstance(records, (list, tuple)) else records
    if items and all(isinstance(r, (str, Path)) for r in items):
        yield from load_records(items)
    else:
        for r in items:
            if not isinstance(r, Mapping):
                raise TypeError(f"records must be mappings or file paths, got {type(r).__name__}")
            yield r
