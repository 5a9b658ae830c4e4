"""Cross-check: is the detector telling the truth about this data?

Reads AD's result documents for a detector and window, recomputes every interval's features from the index
as it is now, runs the replica with K seeds on them (and on the features AD recorded), and reports per
interval whether AD's score and grade fall inside the replica's seed-ensemble band, the overall agreement
(Spearman of scores, precision/recall of anomalous intervals), a verdict, and a likely cause for every
disagreement:

* ``late data`` — the feature values AD recorded (``feature_data``) differ from what the index holds now for
  this interval or one inside its shingle: data arrived after AD scored it (window delay shorter than the
  ingestion lag);
* ``model`` — same inputs, but AD's score/grade is outside the seed band: the model state differs (restart,
  other cold-start history, another AD release or profile);
* ``no data`` — one side scored an interval the other could not.

The band is the min..max over seeds widened by ``score_tolerance`` (relative) and ``score_floor``
(absolute): with K seeds a further seed lands outside the raw min..max with probability 2/(K+1).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from offline_rcf.engine import ADMode, EngineName, ad_profile
from offline_rcf.features import FeatureSeries, features_for_windows, to_epoch_ms
from offline_rcf.state import SeedEnsemble, ensemble_dir
from wafad.catalogue import DetectorSpec

Verdict = Literal["consistent", "inconsistent", "insufficient_data"]
DEFAULT_SEEDS = (101, 202, 303, 404, 505)
PRETRAIN_INTERVALS = 40  # AD's default cold-start history: NUM_MIN_SAMPLES + shingle
MIN_COMPARED = 10


@dataclass
class IntervalCheck:
    """One interval: AD's result against the replica's seed band."""

    data_start_time: int  # epoch ms
    data_end_time: int
    ad_score: float | None
    ad_grade: float | None
    band_low: float | None
    band_high: float | None
    grade_band_low: float | None
    grade_band_high: float | None
    agree: bool
    cause: str | None = None
    compared: bool = True
    entity: dict[str, str] | None = None
    ad_features: list[float | None] = field(default_factory=list)
    index_features: list[float | None] = field(default_factory=list)
    replica_score: float | None = None  # median over seeds
    late_data: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class CrossCheckReport:
    detector: str
    detector_id: str
    start: datetime
    end: datetime
    verdict: Verdict
    spearman: float | None
    precision: float | None
    recall: float | None
    intervals: list[IntervalCheck]
    seeds: list[int]
    feature_names: list[str]
    summary: str = ""
    window_delay_minutes: float | None = None
    missing_results: int = 0  # single stream: intervals inside the window with no AD result at all

    @property
    def disagreements(self) -> list[IntervalCheck]:
        return [i for i in self.intervals if not i.agree]

    @property
    def agreement_rate(self) -> float | None:
        compared = [i for i in self.intervals if i.compared]
        return None if not compared else sum(i.agree for i in compared) / len(compared)

    def to_dict(self) -> dict[str, Any]:
        compared = [i for i in self.intervals if i.compared]
        return {
            "detector": self.detector,
            "detector_id": self.detector_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "verdict": self.verdict,
            "summary": self.summary,
            "spearman": _jsonable(self.spearman),
            "precision": _jsonable(self.precision),
            "recall": _jsonable(self.recall),
            "agreement_rate": _jsonable(self.agreement_rate),
            "n_intervals": len(self.intervals),
            "n_compared": len(compared),
            "n_disagree": len(self.disagreements),
            "n_late_data": sum(i.late_data for i in self.intervals),
            "n_missing_results": self.missing_results,
            "seeds": self.seeds,
            "feature_names": self.feature_names,
            "window_delay_minutes": self.window_delay_minutes,
            "intervals": [i.to_dict() for i in self.intervals],
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.floating):
        return _jsonable(float(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


# --- reading AD results -------------------------------------------------------------------------------
def read_ad_results(
    client: Any,
    results_index: str,
    detector_id: str,
    start_ms: int | None,
    end_ms: int,
    *,
    mode: ADMode = "realtime",
    page_size: int = 5000,
) -> list[dict[str, Any]]:
    """AD result documents of ``detector_id`` with data_end_time in [start_ms, end_ms], oldest first.

    ``realtime``: documents without ``task_id``; ``historical``: documents of the latest historical task.
    """
    rng: dict[str, Any] = {"lte": int(end_ms), "format": "epoch_millis"}
    if start_ms is not None:
        rng["gte"] = int(start_ms)
    query: dict[str, Any] = {
        "bool": {"filter": [{"term": {"detector_id": detector_id}}, {"range": {"data_end_time": rng}}]}
    }
    if mode == "historical":
        query["bool"]["filter"].append({"exists": {"field": "task_id"}})
    else:
        query["bool"]["must_not"] = [{"exists": {"field": "task_id"}}]
    if not client.indices.exists(index=results_index):
        return []
    docs: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": page_size,
            "query": query,
            "sort": [{"data_end_time": "asc"}, {"data_start_time": "asc"}, {"execution_end_time": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=results_index, body=body)["hits"]["hits"]
        docs.extend(h["_source"] for h in hits)
        if len(hits) < page_size:
            break
        after = hits[-1]["sort"]
    if mode == "historical" and docs:
        latest = max(docs, key=lambda d: _ms(d.get("execution_end_time", 0)))["task_id"]
        docs = [d for d in docs if d.get("task_id") == latest]
    return docs


def _ms(v: Any) -> int:
    return to_epoch_ms(v) if v is not None else 0


def _entity_key(doc: Mapping[str, Any]) -> str | None:
    ent = doc.get("entity") or []
    if not ent:
        return None
    return "|".join(f"{e['value']}" for e in sorted(ent, key=lambda e: e["name"]))


@dataclass
class _ADSeries:
    data_start: np.ndarray
    data_end: np.ndarray
    score: np.ndarray  # NaN: no score (error / no data)
    grade: np.ndarray
    features: np.ndarray  # (n, f) NaN where AD recorded none
    error: list[str | None]
    entity: dict[str, str] | None


def _ad_series(docs: Sequence[Mapping[str, Any]], feature_names: Sequence[str]) -> _ADSeries:
    by_end: dict[int, Mapping[str, Any]] = {}
    for d in docs:  # a re-run interval replaces the earlier document
        by_end[_ms(d["data_end_time"])] = d
    ends = sorted(by_end)
    rows = [by_end[e] for e in ends]
    feats = np.full((len(rows), len(feature_names)), np.nan)
    pos = {n: j for j, n in enumerate(feature_names)}
    for i, d in enumerate(rows):
        for fd in d.get("feature_data") or []:
            j = pos.get(fd.get("feature_name"))
            if j is not None and fd.get("data") is not None:
                feats[i, j] = float(fd["data"])
    ent = rows[0].get("entity") if rows else None
    return _ADSeries(
        data_start=np.array([_ms(d["data_start_time"]) for d in rows], dtype=np.int64),
        data_end=np.array(ends, dtype=np.int64),
        score=np.array([float(d.get("anomaly_score", math.nan)) for d in rows]),
        grade=np.array([float(d.get("anomaly_grade", math.nan)) for d in rows]),
        features=feats,
        error=[d.get("error") for d in rows],
        entity={e["name"]: e["value"] for e in ent} if ent else None,
    )


# --- comparison ------------------------------------------------------------------------------------------
def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(a[ok], b[ok]).statistic)


def _matched(flags: np.ndarray, other: np.ndarray, tolerance: int) -> int:
    hits = 0
    for i in np.flatnonzero(flags):
        lo, hi = max(0, i - tolerance), min(len(other), i + tolerance + 1)
        hits += bool(other[lo:hi].any())
    return hits


def precision_recall(
    ad_flags: np.ndarray, replica_flags: np.ndarray, tolerance: int = 2
) -> tuple[float | None, float | None]:
    """Anomalous intervals, AD against the replica (reference), matched within ``tolerance`` intervals.

    >>> precision_recall(np.array([0, 1, 0, 0, 0, 1]), np.array([0, 0, 1, 0, 0, 0]), tolerance=1)
    (0.5, 1.0)
    """
    ad_flags, replica_flags = np.asarray(ad_flags, bool), np.asarray(replica_flags, bool)
    n_ad, n_rep = int(ad_flags.sum()), int(replica_flags.sum())
    precision = _matched(ad_flags, replica_flags, tolerance) / n_ad if n_ad else None
    recall = _matched(replica_flags, ad_flags, tolerance) / n_rep if n_rep else None
    return precision, recall


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: any feature where AD's recorded value and the index value differ (AD rounds to 3 dp)."""
    both_nan = np.isnan(a) & np.isnan(b)
    close = np.isclose(a, b, rtol=1e-6, atol=1e-3)
    return ~(both_nan | close).all(axis=1)


def _fmt(v: float) -> str:
    return "none" if not math.isfinite(v) else (f"{v:.0f}" if float(v).is_integer() else f"{v:.3g}")


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class CrossCheckOptions:
    seeds: Sequence[int] = DEFAULT_SEEDS
    engine: EngineName = "jvm"
    mode: ADMode = "realtime"
    shingle_size: int = 8
    score_tolerance: float = 0.15
    score_floor: float = 0.05
    match_tolerance: int = 2
    min_agreement: float = 0.9
    min_spearman: float = 0.7
    history_intervals: int = 10_000  # how far before ``start`` the replica replays AD's stream
    state_dir: Path | None = None  # persist the seed ensembles here (continue the stream next time)
    window_delay_minutes: float | None = None  # for the late-data message
    model_check: bool = False  # also run the seeds on AD's recorded features (2x work; sharper causes)
    interval_ms: int | None = None  # the detector interval, to bound the results query (else read from the docs)
    bbox_cache_fraction: float = 1.0


def _config(n_features: int, spec: DetectorSpec, opts: CrossCheckOptions):
    cfg = ad_profile(n_features, mode=opts.mode, shingle_size=opts.shingle_size)
    updates: dict[str, Any] = {"bbox_cache_fraction": opts.bbox_cache_fraction}
    if spec.imputation is not None:
        updates["imputation"] = spec.imputation
    return dataclasses.replace(cfg, **updates)


def _ensemble(
    opts: CrossCheckOptions,
    cfg: Any,
    names: list[str],
    detector: str,
    entity: str | None,
    variant: str,
    first_end: int,
    stream_ends: np.ndarray,
) -> tuple[SeedEnsemble, Path | None]:
    """The persisted ensemble when it serves intervals from ``first_end`` on, else a fresh one.

    Usable when its history already holds ``first_end``, or when it stopped inside the AD stream we read
    (``stream_ends``) before ``first_end``: then it continues without a gap.
    """
    folder = None if opts.state_dir is None else ensemble_dir(opts.state_dir, detector, entity, variant)
    if folder is not None:
        ens = SeedEnsemble.load(folder, cfg, opts.seeds, engine=opts.engine, feature_names=names)
        last = None if ens is None else ens.last_end_ms
        continues = last is not None and last < first_end and (len(stream_ends) == 0 or last >= stream_ends[0])
        if ens is not None and (continues or ens.covers(first_end)):
            return ens, folder
    return SeedEnsemble(cfg, opts.seeds, engine=opts.engine, feature_names=names), folder


def _check_entity(
    client: Any,
    spec: DetectorSpec,
    index_pattern: str,
    docs: Sequence[Mapping[str, Any]],
    start_ms: int,
    end_ms: int,
    opts: CrossCheckOptions,
    tick: Callable[[int], None] | None,
) -> tuple[list[IntervalCheck], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    names = [f.name for f in spec.features]
    ad = _ad_series(docs, names)
    ent_spec = spec
    if ad.entity and spec.category_field:
        value = ad.entity.get(spec.category_field)
        ent_spec = dataclasses.replace(
            spec,
            filter_query={"bool": {"filter": [dict(spec.filter_query), {"term": {spec.category_field: value}}]}},
        )
    entity_key = None if not ad.entity else "|".join(ad.entity[k] for k in sorted(ad.entity))
    now = features_for_windows(client, ent_spec, index_pattern, ad.data_start, ad.data_end)
    cfg = _config(len(names), spec, opts)
    idx = np.flatnonzero((ad.data_start >= start_ms) & (ad.data_end <= end_ms))
    first_end = int(ad.data_end[idx[0]]) if len(idx) else int(ad.data_end[-1]) + 1
    imputes = spec.imputation is not None
    ad_scored = np.isfinite(ad.score)

    # the replica on the index as it is now (AD would not score intervals with missing features unless it imputes)
    index_ok = np.ones(len(now), bool) if imputes else now.complete
    index_ok &= ~np.isnan(now.values).all(axis=1) | imputes
    if opts.mode == "historical" and not imputes and now.doc_count is not None:
        index_ok &= now.doc_count > 0  # the batch task's composite query has no bucket for an empty interval
    ens_index, dir_index = _ensemble(opts, cfg, names, spec.name, entity_key, "index", first_end, ad.data_end)
    fresh = ens_index.last_end_ms is None
    if fresh and ad_scored.any() and ad.score[np.argmax(ad_scored)] > 0:
        # AD's model was already trained when it wrote its first result: cold-start the replica the same way
        iv = int(ad.data_end[0] - ad.data_start[0])
        ps = int(ad.data_start[0]) - iv * np.arange(PRETRAIN_INTERVALS, 0, -1, dtype=np.int64)
        pre = features_for_windows(client, ent_spec, index_pattern, ps, ps + iv)
        ens_index.process(pre, scorable=None if imputes else pre.complete)
    ens_index.process(now, scorable=index_ok, progress=tick)

    s_now, g_now = ens_index.results_for(ad.data_end[idx])
    s_ad = g_ad = np.full_like(s_now, np.nan)
    if opts.model_check:  # the replica on the features AD recorded: separates "model differs" from "data differs"
        ad_view = FeatureSeries(ad.data_start, ad.data_end, ad.features, names, ad.entity)
        ens_ad, dir_ad = _ensemble(opts, cfg, names, spec.name, entity_key, "ad", first_end, ad.data_end)
        ens_ad.process(ad_view, scorable=ad_scored & ~np.isnan(ad.features).all(axis=1), progress=tick)
        s_ad, g_ad = ens_ad.results_for(ad.data_end[idx])
        if dir_ad is not None:
            ens_ad.save(dir_ad)
    if dir_index is not None:
        ens_index.save(dir_index)
    differs = _differs(ad.features, now.values) & ad_scored
    shingle = max(1, opts.shingle_size)
    checks: list[IntervalCheck] = []
    delay = opts.window_delay_minutes
    for k, i in enumerate(idx):
        checks.append(
            _judge(
                ad,
                now,
                int(i),
                s_now[k],
                g_now[k],
                s_ad[k],
                g_ad[k],
                differs[max(0, i - shingle + 1) : i + 1],
                max(0, i - shingle + 1),
                bool(differs[max(0, i - 8 * shingle) : max(0, i - shingle + 1)].any()),
                opts,
                delay,
            )
        )
    med = np.array([np.nanmedian(s) if np.isfinite(s).any() else np.nan for s in s_now])
    rep_flag = np.array([np.isfinite(g).any() and np.nanmedian(g) > 0 for g in g_now])
    ad_flag = np.nan_to_num(ad.grade[idx]) > 0
    return checks, ad.score[idx], med, ad_flag, rep_flag


def _band(scores: np.ndarray, opts: CrossCheckOptions) -> tuple[float, float]:
    lo, hi = float(np.nanmin(scores)), float(np.nanmax(scores))
    return max(0.0, lo * (1 - opts.score_tolerance) - opts.score_floor), hi * (
        1 + opts.score_tolerance
    ) + opts.score_floor


def _in(v: float, lo: float, hi: float) -> bool:
    return lo - 1e-12 <= v <= hi + 1e-12


def _lag(delay: float | None) -> str:
    if delay is None:
        return "window delay shorter than the ingestion lag"
    return f"window delay {delay:g} min is shorter than the ingestion lag"


def _judge(
    ad: _ADSeries,
    now: FeatureSeries,
    i: int,
    s_now: np.ndarray,
    g_now: np.ndarray,
    s_ad: np.ndarray,
    g_ad: np.ndarray,
    differs_window: np.ndarray,
    window_first: int,
    earlier_mismatch: bool,
    opts: CrossCheckOptions,
    delay: float | None,
) -> IntervalCheck:
    ad_score = float(ad.score[i]) if math.isfinite(ad.score[i]) else None
    ad_grade = float(ad.grade[i]) if math.isfinite(ad.grade[i]) else None
    base = IntervalCheck(
        data_start_time=int(ad.data_start[i]),
        data_end_time=int(ad.data_end[i]),
        ad_score=ad_score,
        ad_grade=ad_grade,
        band_low=None,
        band_high=None,
        grade_band_low=None,
        grade_band_high=None,
        agree=True,
        entity=ad.entity,
        ad_features=[None if not math.isfinite(v) else float(v) for v in ad.features[i]],
        index_features=[None if not math.isfinite(v) else float(v) for v in now.values[i]],
    )
    late = bool(differs_window.any())
    base.late_data = late
    replica_scored = bool(np.isfinite(s_now).all())
    if replica_scored:
        base.band_low, base.band_high = _band(s_now, opts)
        base.grade_band_low, base.grade_band_high = float(np.min(g_now)), float(np.max(g_now))
        base.replica_score = float(np.median(s_now))
    if ad_score is None and not replica_scored:
        base.compared = False
        base.cause = f"neither scored: {ad.error[i]}" if ad.error[i] else "neither scored"
        return base
    if ad_score is None:
        base.agree = False
        docs_now = int(now.doc_count[i]) if now.doc_count is not None else 0
        if docs_now > 0:
            base.late_data = True
            base.cause = (
                f"late data: AD wrote no score ({ad.error[i] or 'no score'}) but the index now holds {docs_now} "
                f"documents for the interval; data arrived after AD scored it ({_lag(delay)})"
            )
        else:
            base.cause = f"no data: AD wrote no score ({ad.error[i] or 'no score'}) but the replica scored it"
        return base
    if not replica_scored:
        base.agree = False
        base.cause = "no data: AD scored this interval but the index now has no complete feature vector for it"
        return base
    assert ad_grade is not None
    if np.all(s_now == 0) and ad_score == 0:
        base.compared = False
        base.cause = "not compared: neither model ready yet (warm-up)"
        return base
    score_ok = _in(ad_score, base.band_low, base.band_high)  # type: ignore[arg-type]
    grade_ok = _in(ad_grade, base.grade_band_low, base.grade_band_high)  # type: ignore[arg-type]
    base.agree = score_ok and grade_ok
    if base.agree:
        return base
    what = ", ".join(
        x
        for x in (
            None if score_ok else f"score {ad_score:.3f} outside [{base.band_low:.3f}, {base.band_high:.3f}]",
            None
            if grade_ok
            else f"grade {ad_grade:.3f} outside [{base.grade_band_low:.3f}, {base.grade_band_high:.3f}]",
        )
        if x
    )
    if late:
        j = window_first + int(np.flatnonzero(differs_window)[-1])
        diffs = [
            f"{n}={_fmt(a)} (index now {_fmt(b)})"
            for n, a, b in zip(now.feature_names, ad.features[j], now.values[j], strict=True)
            if not (np.isclose(a, b, atol=1e-3) or (np.isnan(a) and np.isnan(b)))
        ]
        base.cause = (
            f"late data: AD scored the interval starting {_utc(int(ad.data_start[j]))} with "
            f"{', '.join(diffs)}; data arrived after AD scored it ({_lag(delay)}); {what}"
        )
        return base
    if np.isfinite(s_ad).all():  # the replica on AD's own inputs agrees with AD: the data, not the model
        data_explains = _in(ad_score, *_band(s_ad, opts)) and _in(ad_grade, float(np.min(g_ad)), float(np.max(g_ad)))
    else:
        data_explains = earlier_mismatch
    if data_explains:
        base.cause = f"data: inputs differ earlier in the stream (late data before this shingle); {what}"
    else:
        base.cause = (
            "model: same inputs, AD's result is outside the replica's seed band (model state differs: restart, "
            f"other cold-start history, another AD release or profile); {what}"
        )
    return base


def crosscheck(
    client: Any,
    spec: DetectorSpec,
    *,
    detector_id: str,
    start: datetime | int,
    end: datetime | int,
    results_index: str,
    index_pattern: str,
    options: CrossCheckOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CrossCheckReport:
    """Cross-check AD's results for ``spec`` in [start, end] against the replica (see module docs)."""
    opts = options or CrossCheckOptions()
    start_ms, end_ms = to_epoch_ms(start), to_epoch_ms(end)
    if end_ms <= start_ms:
        raise ValueError("end must be after start")
    since = None if opts.interval_ms is None else start_ms - opts.history_intervals * opts.interval_ms
    docs = read_ad_results(client, results_index, detector_id, since, end_ms, mode=opts.mode)
    if docs:
        first = _ms(docs[0]["data_start_time"])
        iv = max(1, _ms(docs[0]["data_end_time"]) - first)
        earliest = start_ms - opts.history_intervals * iv
        docs = [d for d in docs if _ms(d["data_end_time"]) > earliest]
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for d in docs:
        groups.setdefault(_entity_key(d), []).append(d)
    total = (2 if opts.model_check else 1) * len(docs)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    intervals: list[IntervalCheck] = []
    ad_scores, rep_scores, ad_flags, rep_flags = [], [], [], []
    for key in sorted(groups, key=lambda k: k or ""):
        checks, a, r, af, rf = _check_entity(client, spec, index_pattern, groups[key], start_ms, end_ms, opts, tick)
        intervals.extend(checks)
        ad_scores.append(a)
        rep_scores.append(r)
        ad_flags.append(af)
        rep_flags.append(rf)
    names = [f.name for f in spec.features]
    start_dt = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    end_dt = datetime.fromtimestamp(end_ms / 1000, tz=UTC)
    if not intervals:
        return CrossCheckReport(
            spec.name,
            detector_id,
            start_dt,
            end_dt,
            "insufficient_data",
            None,
            None,
            None,
            [],
            list(opts.seeds),
            names,
            summary="no AD results for this detector in the window",
            window_delay_minutes=opts.window_delay_minutes,
        )
    cat = np.concatenate
    a, r = cat(ad_scores), cat(rep_scores)
    both = np.isfinite(a) & np.isfinite(r) & ((a > 0) | (r > 0))
    rho = _spearman(a[both], r[both])
    precision, recall = (None, None)
    pr = [precision_recall(af, rf, opts.match_tolerance) for af, rf in zip(ad_flags, rep_flags, strict=True)]
    n_ad, n_rep = int(sum(x.sum() for x in ad_flags)), int(sum(x.sum() for x in rep_flags))
    if n_ad:
        precision = sum((p or 0) * x.sum() for (p, _), x in zip(pr, ad_flags, strict=True)) / n_ad
    if n_rep:
        recall = sum((q or 0) * x.sum() for (_, q), x in zip(pr, rep_flags, strict=True)) / n_rep
    report = CrossCheckReport(
        spec.name,
        detector_id,
        start_dt,
        end_dt,
        "insufficient_data",
        rho,
        precision,
        recall,
        intervals,
        list(opts.seeds),
        names,
        window_delay_minutes=opts.window_delay_minutes,
        missing_results=0 if spec.is_high_cardinality else missing_intervals(intervals),
    )
    report.verdict, report.summary = _verdict(report, opts)
    return report


def missing_intervals(intervals: Sequence[IntervalCheck]) -> int:
    """Intervals between the first and last checked one that have no AD result (gaps in the grid).

    >>> iv = [IntervalCheck(s, s + 60, 1.0, 0.0, 0, 2, 0, 0, True) for s in (0, 60, 240, 300)]
    >>> missing_intervals(iv)
    2
    """
    if len(intervals) < 2:
        return 0
    starts = np.array(sorted(i.data_start_time for i in intervals), dtype=np.int64)
    iv = int(np.median(np.array([i.data_end_time - i.data_start_time for i in intervals])))
    if iv <= 0:
        return 0
    gaps = np.diff(starts)
    return int(sum(round(g / iv) - 1 for g in gaps if g > 1.5 * iv))


def _verdict(report: CrossCheckReport, opts: CrossCheckOptions) -> tuple[Verdict, str]:
    compared = [i for i in report.intervals if i.compared]
    if len(compared) < MIN_COMPARED:
        return "insufficient_data", f"only {len(compared)} intervals could be compared (need {MIN_COMPARED})"
    rate = report.agreement_rate or 0.0
    bad = report.disagreements
    late = sum(1 for i in bad if i.cause and i.cause.startswith(("late data", "no data", "data")))
    model = sum(1 for i in bad if i.cause and i.cause.startswith("model"))
    rho_ok = report.spearman is None or report.spearman >= opts.min_spearman
    text = (
        f"{rate:.0%} of {len(compared)} intervals inside the {len(report.seeds)}-seed band"
        + (f", Spearman {report.spearman:.2f}" if report.spearman is not None else "")
        + (f"; {late} disagree because the data changed after AD scored them" if late else "")
        + (f"; {model} disagree on identical inputs" if model else "")
        + (
            f"; {report.missing_results} intervals have no AD result (job not running, or zero-grade results "
            "dropped under indexing pressure)"
            if report.missing_results
            else ""
        )
    )
    if late >= max(2, math.ceil(0.01 * len(compared))):  # seeds never make inputs differ: systematic
        return "inconsistent", text
    if rate >= opts.min_agreement and rho_ok:
        return "consistent", text
    return "inconsistent", text


# --- settings-level entry point ------------------------------------------------------------------------
def resolve_detector_id(settings: Any, client: Any, name: str) -> str:
    """The AD detector id of catalogue detector ``name``: from the plugin, or the local engine's stable id."""
    if settings.uses_ad_plugin:
        from detectors.ad_client import ADClient

        ref = ADClient(client).find_by_name(name)
        if ref is None:
            raise LookupError(f"no AD detector named {name!r} on {settings.effective_opensearch_url}")
        return ref.id
    from detectors.results import stable_detector_id

    return stable_detector_id(name)


def crosscheck_detector(
    settings: Any,
    name: str,
    start: datetime,
    end: datetime,
    *,
    client: Any = None,
    detector_id: str | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    persist: bool = True,
    mode: ADMode = "realtime",
    engine: EngineName = "jvm",
    model_check: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CrossCheckReport:
    """:func:`crosscheck` for catalogue detector ``name`` with everything taken from ``settings``."""
    from wafad.catalogue import get_detector

    if client is None:
        from wafad.clients import opensearch_client

        client = opensearch_client(settings)
    spec = get_detector(name)
    opts = CrossCheckOptions(
        seeds=tuple(seeds),
        engine=engine,
        mode=mode,
        shingle_size=settings.shingle_size,
        state_dir=Path(settings.state_dir) if persist else None,
        window_delay_minutes=float(settings.window_delay_minutes),
        model_check=model_check,
        interval_ms=int(settings.detector_interval_minutes) * 60_000,
    )
    return crosscheck(
        client,
        spec,
        detector_id=detector_id or resolve_detector_id(settings, client, name),
        start=start,
        end=end,
        results_index=settings.results_index,
        index_pattern=f"{settings.index_prefix}-*",
        options=opts,
        progress=progress,
    )
