"""The native engine against the AWS jars (JVM reference engine) on the same seeded streams."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import spearmanr

from offline_rcf.engine import ad_profile
from offline_rcf.native import NativeEngine
from offline_rcf.native.compare import flagged_intervals, interval_f1, lagged_flag_f1, poisson_stream, run

jvm = pytest.importorskip("offline_rcf.jvm")

SHINGLE = 8
WARMUP = 64


@pytest.fixture(scope="module", params=[7, 11], ids=lambda s: f"stream{s}")
def both(request):
    stream = poisson_stream(2000, seed=request.param)
    cfg = replace(ad_profile(5, seed=request.param), bbox_cache_fraction=1.0)  # same results as 0, faster
    ref = run(jvm.JVMEngine(cfg), stream)
    nat = run(NativeEngine(cfg), stream)
    return stream, ref, nat


def _arr(results, field):
    return np.array([getattr(r, field) for r in results])


def test_scores_rank_like_reference(both):
    _, ref, nat = both
    rho = spearmanr(_arr(ref, "score")[WARMUP:], _arr(nat, "score")[WARMUP:]).statistic
    print(f"spearman={rho:.3f}")
    assert rho >= 0.9


def test_anomalous_intervals_match_reference(both):
    stream, ref, nat = both
    ref_iv = flagged_intervals(_arr(ref, "grade"), stream.windows, SHINGLE)
    nat_iv = flagged_intervals(_arr(nat, "grade"), stream.windows, SHINGLE)
    f1 = interval_f1(ref_iv, nat_iv, SHINGLE)
    flag_f1 = lagged_flag_f1(_arr(ref, "grade"), _arr(nat, "grade"), SHINGLE)
    print(f"interval_f1={f1:.3f} flag_f1={flag_f1:.3f} ref={ref_iv} native={nat_iv}")
    assert len(ref_iv) >= len(stream.windows) // 2  # the stream is detectable at all
    assert f1 >= 0.9


def test_first_score_and_confidence_match_reference(both):
    _, ref, nat = both
    first_ref = int(np.flatnonzero(_arr(ref, "score"))[0])
    first_nat = int(np.flatnonzero(_arr(nat, "score"))[0])
    assert first_nat == first_ref == 25  # forest outputAfter max(10, 32) - 8 + 1 = 25
    np.testing.assert_allclose(_arr(nat, "confidence"), _arr(ref, "confidence"), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(_arr(nat, "total_updates"), _arr(ref, "total_updates"))


def test_grades_are_sixteenths_like_reference(both):
    _, ref, nat = both
    for results in (ref, nat):
        g = _arr(results, "grade")
        assert np.all((g >= 0) & (g <= 1))
        np.testing.assert_allclose(g * 16, np.round(g * 16), atol=1e-6)
    assert set(np.round(_arr(nat, "grade") * 16)) <= set(range(17))


def test_threshold_warmup_matches_reference(both):
    """Before the thresholder has 10 scores the threshold is the initial 1.5 in both engines."""
    _, ref, nat = both
    for results in (ref, nat):
        th = _arr(results, "threshold")
        first = int(np.flatnonzero(_arr(results, "score"))[0])
        np.testing.assert_allclose(th[first : first + 10], 1.5)


PROFILES = {
    "realtime-previous": ad_profile(5, seed=5),
    "realtime-linear": replace(ad_profile(5, seed=5), imputation="LINEAR"),
    "era-2.14": ad_profile(5, era="2.14", seed=5),
}


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_missing_values_and_gaps_like_reference(profile):
    """Imputation bookkeeping (valuesSeen, data quality, imputed updates) matches through NaNs and timestamp gaps."""
    stream = poisson_stream(300, seed=3)
    keep = np.ones(len(stream.X), dtype=bool)
    keep[[50, 51, 120, 200, 201, 202, 260]] = False  # timestamp gaps of 1-3 intervals
    X = stream.X.copy()
    X[[60, 61, 150], [1, 3, 0]] = np.nan  # missing features
    cfg = replace(profile, bbox_cache_fraction=1.0)
    ref_engine, nat_engine = jvm.JVMEngine(cfg), NativeEngine(cfg)
    ref, nat = [], []
    for i in np.flatnonzero(keep):
        ref.append(ref_engine.process(X[i], int(stream.ts[i])))
        nat.append(nat_engine.process(X[i], int(stream.ts[i])))
    np.testing.assert_allclose(_arr(nat, "confidence"), _arr(ref, "confidence"), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(_arr(nat, "total_updates"), _arr(ref, "total_updates"))
    assert int(np.flatnonzero(_arr(nat, "score"))[0]) == int(np.flatnonzero(_arr(ref, "score"))[0])


def test_standard_mode_like_reference():
    """Shingle 1 (ForestMode.STANDARD): first score at input 32 and the same confidence curve."""
    stream = poisson_stream(300, seed=2)
    cfg = replace(ad_profile(5, seed=4, shingle_size=1), bbox_cache_fraction=1.0)
    ref = run(jvm.JVMEngine(cfg), stream)
    nat = run(NativeEngine(cfg), stream)
    assert int(np.flatnonzero(_arr(nat, "score"))[0]) == int(np.flatnonzero(_arr(ref, "score"))[0]) == 32
    np.testing.assert_allclose(_arr(nat, "confidence"), _arr(ref, "confidence"), rtol=1e-9, atol=1e-12)
