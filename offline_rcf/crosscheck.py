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

The parts: :mod:`~offline_rcf.ad_results` (reading AD's results), :mod:`~offline_rcf.crosscheck_stats` (seed
band, Spearman, precision/recall), :mod:`~offline_rcf.crosscheck_causes` (per-interval judgement and cause),
:mod:`~offline_rcf.crosscheck_report` (report and verdict); this module runs the replica and puts them together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from offline_rcf.ad_results import ad_series, entity_key, read_ad_results, time_ms
from offline_rcf.crosscheck_causes import judge_interval
from offline_rcf.crosscheck_options import DEFAULT_SEEDS, CrossCheckOptions
from offline_rcf.crosscheck_report import CrossCheckReport, IntervalCheck, missing_intervals, verdict
from offline_rcf.crosscheck_stats import features_differ, precision_recall, spearman
from offline_rcf.engine import ADMode, EngineName, ad_profile
from offline_rcf.feature_queries import features_for_windows
from offline_rcf.series import FeatureSeries, to_epoch_ms
from offline_rcf.state import SeedEnsemble, ensemble_dir
from wafad.catalogue import DetectorSpec

PRETRAIN_INTERVALS = 40  # AD's default cold-start history: NUM_MIN_SAMPLES + shingle


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
    ad = ad_series(docs, names)
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
    differs = features_differ(ad.features, now.values) & ad_scored
    shingle = max(1, opts.shingle_size)
    checks: list[IntervalCheck] = []
    delay = opts.window_delay_minutes
    for k, i in enumerate(idx):
        checks.append(
            judge_interval(
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
        first = time_ms(docs[0]["data_start_time"])
        iv = max(1, time_ms(docs[0]["data_end_time"]) - first)
        earliest = start_ms - opts.history_intervals * iv
        docs = [d for d in docs if time_ms(d["data_end_time"]) > earliest]
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for d in docs:
        groups.setdefault(entity_key(d), []).append(d)
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
    rho = spearman(a[both], r[both])
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
    report.verdict, report.summary = verdict(report, opts)
    return report


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
