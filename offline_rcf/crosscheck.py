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

Fan-out: :func:`entity_groups` reads AD's results per entity, :func:`check_entity` checks one entity (a Prefect
task on any runner: :mod:`flows.crosscheck`), :func:`assemble` makes the report from the entities' parts, in entity
order; :func:`crosscheck` does the three in this process. Each entity's seed ensembles live in a model store
(:mod:`offline_rcf.model_store`; ``crosscheck_detector``: S3), written over the version read, so a check running
beside another one of the same entity re-reads and re-runs instead of interleaving their updates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
from offline_rcf.model_store import FolderModelStore, ModelStore, VersionConflict
from offline_rcf.series import FeatureSeries, to_epoch_ms
from offline_rcf.state import SeedEnsemble, ensemble_key
from wafad.catalogue import DetectorSpec

PRETRAIN_INTERVALS = 40  # AD's default cold-start history: NUM_MIN_SAMPLES + shingle
STATE_WRITE_ATTEMPTS = 3  # an entity whose ensemble another check saved meanwhile is checked again from it


@dataclass(frozen=True)
class EntityCheck:
    """One entity's part of a cross-check: its interval checks and the score/flag arrays the report pools."""

    key: str | None
    checks: list[IntervalCheck]
    ad_scores: np.ndarray
    replica_scores: np.ndarray
    ad_flags: np.ndarray
    replica_flags: np.ndarray


def _config(n_features: int, spec: DetectorSpec, opts: CrossCheckOptions):
    cfg = ad_profile(n_features, mode=opts.mode, shingle_size=opts.shingle_size)
    updates: dict[str, Any] = {"bbox_cache_fraction": opts.bbox_cache_fraction}
    if spec.imputation is not None:
        updates["imputation"] = spec.imputation
    return dataclasses.replace(cfg, **updates)


def _ensemble(
    opts: CrossCheckOptions,
    store: ModelStore | None,
    cfg: Any,
    names: list[str],
    key: str,
    first_end: int,
    stream_ends: np.ndarray,
) -> tuple[SeedEnsemble, str | None]:
    """The stored ensemble when it serves intervals from ``first_end`` on, else a fresh one; and the version read.

    Usable when its history already holds ``first_end``, or when it stopped inside the AD stream we read
    (``stream_ends``) before ``first_end``: then it continues without a gap.
    """
    version = None
    if store is not None:
        ens, version = SeedEnsemble.load_from(store, key, cfg, opts.seeds, engine=opts.engine, feature_names=names)
        last = None if ens is None else ens.last_end_ms
        continues = last is not None and last < first_end and (len(stream_ends) == 0 or last >= stream_ends[0])
        if ens is not None and (continues or ens.covers(first_end)):
            return ens, version
    return SeedEnsemble(cfg, opts.seeds, engine=opts.engine, feature_names=names), version


def check_entity(
    client: Any,
    spec: DetectorSpec,
    index_pattern: str,
    docs: Sequence[Mapping[str, Any]],
    start_ms: int,
    end_ms: int,
    opts: CrossCheckOptions,
    *,
    store: ModelStore | None = None,
    tick: Callable[[int], None] | None = None,
) -> EntityCheck:
    """Cross-check one entity's AD results (``docs``); its ensembles are read from and saved to ``store``."""
    for attempt in range(1, STATE_WRITE_ATTEMPTS + 1):
        try:
            checks, a, r, af, rf = _check_entity(client, spec, index_pattern, docs, start_ms, end_ms, opts, store, tick)
        except VersionConflict:
            if attempt == STATE_WRITE_ATTEMPTS:
                raise
            continue
        return EntityCheck(entity_key(docs[0]) if docs else None, checks, a, r, af, rf)
    raise AssertionError("unreachable")


def _check_entity(
    client: Any,
    spec: DetectorSpec,
    index_pattern: str,
    docs: Sequence[Mapping[str, Any]],
    start_ms: int,
    end_ms: int,
    opts: CrossCheckOptions,
    store: ModelStore | None,
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
    ent = None if not ad.entity else "|".join(ad.entity[k] for k in sorted(ad.entity))
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
    key_index, key_ad = (ensemble_key(spec.name, ent, v) for v in ("index", "ad"))
    ens_index, ver_index = _ensemble(opts, store, cfg, names, key_index, first_end, ad.data_end)
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
        ens_ad, ver_ad = _ensemble(opts, store, cfg, names, key_ad, first_end, ad.data_end)
        ens_ad.process(ad_view, scorable=ad_scored & ~np.isnan(ad.features).all(axis=1), progress=tick)
        s_ad, g_ad = ens_ad.results_for(ad.data_end[idx])
        if store is not None:
            ens_ad.save_to(store, key_ad, ver_ad)
    if store is not None:
        ens_index.save_to(store, key_index, ver_index)
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


def entity_groups(
    client: Any, results_index: str, detector_id: str, start_ms: int, end_ms: int, opts: CrossCheckOptions
) -> dict[str | None, list[Mapping[str, Any]]]:
    """AD's result documents for the check (with the history before ``start_ms`` it needs), by entity key."""
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
    return {k: groups[k] for k in sorted(groups, key=lambda k: k or "")}


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
    store: ModelStore | None = None,
) -> CrossCheckReport:
    """Cross-check AD's results for ``spec`` in [start, end] against the replica (see module docs).

    ``store``: where the seed ensembles persist (default: a folder store on ``options.state_dir`` when set).
    """
    opts = options or CrossCheckOptions()
    start_ms, end_ms = to_epoch_ms(start), to_epoch_ms(end)
    if end_ms <= start_ms:
        raise ValueError("end must be after start")
    if store is None and opts.state_dir is not None:
        store = FolderModelStore(Path(opts.state_dir))
    groups = entity_groups(client, results_index, detector_id, start_ms, end_ms, opts)
    total = (2 if opts.model_check else 1) * sum(len(g) for g in groups.values())
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    parts = [
        check_entity(client, spec, index_pattern, docs, start_ms, end_ms, opts, store=store, tick=tick)
        for docs in groups.values()
    ]
    return assemble(spec, detector_id, start_ms, end_ms, opts, parts)


def assemble(
    spec: DetectorSpec,
    detector_id: str,
    start_ms: int,
    end_ms: int,
    opts: CrossCheckOptions,
    parts: Sequence[EntityCheck],
) -> CrossCheckReport:
    """The report from the entities' parts (pooled in entity order, whatever order they finished in)."""
    parts = sorted(parts, key=lambda p: p.key or "")
    intervals = [c for p in parts for c in p.checks]
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
    ad_flags, rep_flags = [p.ad_flags for p in parts], [p.replica_flags for p in parts]
    a, r = np.concatenate([p.ad_scores for p in parts]), np.concatenate([p.replica_scores for p in parts])
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


def options_for(
    settings: Any,
    *,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    persist: bool = True,
    mode: ADMode = "realtime",
    engine: EngineName = "jvm",
    model_check: bool = False,
) -> CrossCheckOptions:
    """The cross-check options ``settings`` imply (``persist``: keep the ensembles, in the shared model store)."""
    return CrossCheckOptions(
        seeds=tuple(seeds),
        engine=engine,
        mode=mode,
        shingle_size=settings.shingle_size,
        state_dir=Path(settings.state_dir) if persist else None,
        window_delay_minutes=float(settings.window_delay_minutes),
        model_check=model_check,
        interval_ms=int(settings.detector_interval_minutes) * 60_000,
    )


def shared_store(settings: Any, opts: CrossCheckOptions) -> ModelStore | None:
    """Where ``crosscheck_detector`` keeps the ensembles: S3 (every worker reads it) when persisting, else nowhere."""
    from offline_rcf.model_store import model_store

    return model_store(settings) if opts.state_dir is not None else None


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
    opts = options_for(settings, seeds=seeds, persist=persist, mode=mode, engine=engine, model_check=model_check)
    return crosscheck(
        client,
        get_detector(name),
        detector_id=detector_id or resolve_detector_id(settings, client, name),
        start=start,
        end=end,
        results_index=settings.results_index,
        index_pattern=f"{settings.index_prefix}-*",
        options=opts,
        progress=progress,
        store=shared_store(settings, opts),
    )
