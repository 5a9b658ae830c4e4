"""Cause diagnosis of a cross-check: one interval's AD result against the replica's seed band, and why they
disagree when they do (``late data``, ``data``, ``model``, ``no data``; see :mod:`offline_rcf.crosscheck`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from offline_rcf.ad_results import ADSeries
from offline_rcf.crosscheck_options import CrossCheckOptions
from offline_rcf.crosscheck_report import IntervalCheck
from offline_rcf.crosscheck_stats import in_band, seed_band
from offline_rcf.series import FeatureSeries


def _fmt(v: float) -> str:
    return "none" if not math.isfinite(v) else (f"{v:.0f}" if float(v).is_integer() else f"{v:.3g}")


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _lag(delay: float | None) -> str:
    if delay is None:
        return "window delay shorter than the ingestion lag"
    return f"window delay {delay:g} min is shorter than the ingestion lag"


def judge_interval(
    ad: ADSeries,
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
        base.band_low, base.band_high = seed_band(s_now, opts)
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
    score_ok = in_band(ad_score, base.band_low, base.band_high)  # type: ignore[arg-type]
    grade_ok = in_band(ad_grade, base.grade_band_low, base.grade_band_high)  # type: ignore[arg-type]
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
        data_explains = in_band(ad_score, *seed_band(s_ad, opts)) and in_band(
            ad_grade, float(np.min(g_ad)), float(np.max(g_ad))
        )
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
