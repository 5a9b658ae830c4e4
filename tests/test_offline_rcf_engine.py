"""The JVM engine and the river detector against AWS's real jars (JVM in-process)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from offline_rcf.engine import ad_profile
from offline_rcf.engine_factory import make_engine

ROOT = Path(__file__).resolve().parents[1]
N = 1000
T0 = 1_700_000_040
WINDOWS = ((300, 320, 0), (550, 570, 2), (800, 820, 4))  # (start, end, feature)
WARM_UP = 64
SHINGLE = 8


def waf_stream(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Five per-minute bad-request counters ~ Poisson(0.5); one feature jumps to Poisson(50) per window."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.5, size=(N, 5)).astype(np.float64)
    for s, e, f in WINDOWS:
        x[s:e, f] = rng.poisson(50, size=e - s)
    ts = T0 + 60 * np.arange(1, N + 1)
    return x, ts


def run_detector(x: np.ndarray, ts: np.ndarray, seed: int):
    from offline_rcf import TRCFDetector

    det = TRCFDetector(ad_profile(x.shape[1], seed=seed))
    return [det.process_one(row, int(t)) for row, t in zip(x, ts, strict=True)]


def run_raw_jars(x: np.ndarray, ts: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The builder chain of ADColdStart written out directly against the jars (rcf_eval.md appendix)."""
    import jrcf  # noqa: F401  (starts the JVM if the engine has not)
    from com.amazon.randomcutforest.config import ForestMode, ImputationMethod, Precision, TransformMethod
    from com.amazon.randomcutforest.parkservices import ThresholdedRandomCutForest
    from jpype.types import JArray, JDouble

    d = x.shape[1]
    ratio = JArray(JDouble)([0.2] * d)
    trcf = (
        ThresholdedRandomCutForest.builder()
        .dimensions(d * SHINGLE)
        .sampleSize(256)
        .numberOfTrees(50)
        .timeDecay(1 / 2560)
        .transformDecay(1 / 2560)
        .outputAfter(32)
        .initialAcceptFraction(0.125)
        .parallelExecutionEnabled(False)
        .compact(True)
        .precision(Precision.FLOAT_32)
        .boundingBoxCacheFraction(1.0)
        .shingleSize(SHINGLE)
        .internalShinglingEnabled(True)
        .anomalyRate(0.005)
        .transformMethod(TransformMethod.NORMALIZE)
        .alertOnce(True)
        .autoAdjust(True)
        .forestMode(ForestMode.STREAMING_IMPUTE)
        .imputationMethod(ImputationMethod.PREVIOUS)
        .ignoreNearExpectedFromAboveByRatio(ratio)
        .ignoreNearExpectedFromBelowByRatio(ratio)
        .randomSeed(seed)
        .build()
    )
    scores, grades = np.zeros(len(x)), np.zeros(len(x))
    for i in range(len(x)):
        desc = trcf.process(JArray(JDouble)(x[i]), int(ts[i]))
        scores[i], grades[i] = desc.getRCFScore(), desc.getAnomalyGrade()
    return scores, grades


@pytest.fixture(scope="module")
def stream() -> tuple[np.ndarray, np.ndarray]:
    return waf_stream()


@pytest.fixture(scope="module")
def results(stream):
    x, ts = stream
    return run_detector(x, ts, seed=42)


def test_flags_every_window_and_names_the_feature(results):
    grades = np.array([r.grade for r in results])
    for s, e, f in WINDOWS:
        hits = np.flatnonzero(grades[s : e + SHINGLE] > 0) + s
        assert len(hits), f"window {s}-{e} not flagged"
        first = results[hits[0]]
        assert first.attribution is not None and int(np.argmax(first.attribution)) == f
        assert first.expected is not None and len(first.expected) == 5


def test_quiet_on_clean_stretches_after_warm_up(results):
    grades = np.array([r.grade for r in results])
    zone = np.zeros(N, dtype=bool)
    for s, e, _ in WINDOWS:
        zone[s : e + SHINGLE] = True
    clean = np.flatnonzero(~zone)
    false_alarms = int(np.count_nonzero(grades[clean[clean >= WARM_UP]] > 0))
    assert false_alarms <= 3, f"{false_alarms} flags on clean intervals"
    assert all(r.grade == 0 and r.score == 0 for r in results[:20]), "scored before the forest was ready"


def test_result_fields_follow_ad_mapping(results):
    for r in results:
        assert r.grade >= 0 and 0 <= r.confidence <= 1
        if r.grade > 0:
            assert r.attribution is not None and sum(r.attribution) == pytest.approx(1.0)
            assert r.grade <= 1
        else:
            assert r.attribution is None and r.expected is None
    assert results[-1].total_updates > N - 50
    assert results[-1].confidence > 0.9


def test_same_profile_and_seed_matches_the_raw_jars_exactly(stream, results):
    x, ts = stream
    raw_scores, raw_grades = run_raw_jars(x[:400], ts[:400], seed=42)
    scores = np.array([r.score for r in results[:400]])
    grades = np.array([r.grade for r in results[:400]])
    np.testing.assert_array_equal(scores, raw_scores)
    np.testing.assert_array_equal(grades, np.maximum(raw_grades, 0))


def test_other_seed_of_the_raw_jars_correlates(stream, results):
    x, ts = stream
    raw_scores, _ = run_raw_jars(x, ts, seed=43)
    scores = np.array([r.score for r in results])
    rho = spearmanr(scores[WARM_UP:], raw_scores[WARM_UP:]).statistic
    assert rho > 0.9, rho
    assert not np.array_equal(scores, raw_scores)


def test_state_round_trip_continues_identically(stream, tmp_path):
    from offline_rcf import TRCFDetector

    x, ts = stream
    det = TRCFDetector(ad_profile(5, seed=3), feature_names=[f"f{i}" for i in range(5)])
    half = 350
    for i in range(half):
        det.process_one(dict(zip(det.feature_names, x[i], strict=True)), int(ts[i]))
    det.save(tmp_path / "det.json.gz")
    twin = TRCFDetector.load(tmp_path / "det.json.gz")
    assert twin.n_processed_ == half and twin.last_t_ == int(ts[half - 1]) and twin.feature_names == det.feature_names
    for i in range(half, half + 250):
        point = dict(zip(det.feature_names, x[i], strict=True))
        assert det.process_one(point, int(ts[i])) == twin.process_one(point, int(ts[i])), i
    with pytest.raises(ValueError, match="increase"):
        twin.process_one(x[0], int(ts[0]))


def test_engine_state_bytes_round_trip(stream):
    from offline_rcf.jvm import JVMEngine

    x, ts = stream
    cfg = ad_profile(5, seed=11)
    eng = make_engine(cfg, "jvm")
    for i in range(200):
        eng.process(x[i], int(ts[i]))
    copy = JVMEngine.from_state(cfg, eng.state())
    for i in range(200, 300):
        assert eng.process(x[i], int(ts[i])) == copy.process(x[i], int(ts[i]))
    with pytest.raises(ValueError, match="state"):
        JVMEngine.from_state(cfg, b"{not json")


def test_missing_values_are_imputed_not_rejected(stream):
    from offline_rcf import TRCFDetector

    x, ts = stream
    det = TRCFDetector(ad_profile(5, seed=5))
    for i in range(100):
        row = x[i].copy()
        if i % 10 == 0:
            row[1] = np.nan
        r = det.process_one(row, int(ts[i]))
        assert np.isfinite(r.score)
    with pytest.raises(ValueError, match="every feature is missing"):
        det.process_one([np.nan] * 5, int(ts[100]))
    with pytest.raises(ValueError, match="5"):
        det.process_one([1.0, 2.0], int(ts[101]))


def test_river_score_then_learn_feeds_each_point_once(stream):
    from offline_rcf import TRCFDetector

    x, _ = stream
    a = TRCFDetector(ad_profile(5, seed=9))
    b = TRCFDetector(ad_profile(5, seed=9))
    for i in range(120):
        point = {f"f{j}": v for j, v in enumerate(x[i])}
        score = a.score_one(point)
        a.learn_one(point)
        assert score == b.process_one(point).score
    assert a.n_processed_ == b.n_processed_ == 120


def test_import_is_light_and_missing_java_is_explained():
    code = (
        "import sys, offline_rcf, offline_rcf.engine\n"
        "assert 'jpype' not in sys.modules and 'river' not in sys.modules, 'heavy import'\n"
        "import jpype\n"
        "def nojava(*a, **k):\n"
        "    raise jpype.JVMNotFoundException('no JVM shared library file (libjvm.so) found')\n"
        "jpype.getDefaultJVMPath = nojava\n"
        "from offline_rcf.jvm import JavaUnavailableError, ensure_jvm\n"
        "try:\n"
        "    ensure_jvm()\n"
        "except JavaUnavailableError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "apt-get install openjdk-17-jre-headless" in out.stdout


def test_bad_config_and_inputs_are_rejected():
    from offline_rcf import TRCFDetector

    with pytest.raises(ValueError, match="engine"):
        TRCFDetector(ad_profile(2), engine="gpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="feature names"):
        TRCFDetector(ad_profile(2), feature_names=["a"])
    det = TRCFDetector(replace(ad_profile(2), seed=1))
    with pytest.raises(ValueError, match="not a number"):
        det.process_one({"a": "x", "b": 1})


def test_native_engine_round_trips_through_the_detector(stream, tmp_path):
    from offline_rcf import TRCFDetector

    x, ts = stream
    det = TRCFDetector(ad_profile(5, seed=3), engine="native")
    for i in range(150):
        det.process_one(x[i], int(ts[i]))
    det.save(tmp_path / "native.json.gz")
    twin = TRCFDetector.load(tmp_path / "native.json.gz")
    assert twin.engine == "native"
    for i in range(150, 200):
        assert det.process_one(x[i], int(ts[i])) == twin.process_one(x[i], int(ts[i]))


def test_river_estimator_checks_and_pickling_mid_stream(stream):
    import pickle

    from river.checks import common

    from offline_rcf import TRCFDetector

    det = TRCFDetector(ad_profile(5, seed=13))
    for check in (
        common.check_repr,
        common.check_clone_is_idempotent,
        common.check_init_has_default_params_for_tests,
        common.check_doc,
        common.check_pickling_supports_roundtrip,
        common.check_clone_with_new_params_applies,
        common.check_get_params_matches_signature,
    ):
        check(det)
    x, ts = stream
    for i in range(100):
        det.process_one(x[i], int(ts[i]))
    copy = pickle.loads(pickle.dumps(det))
    fresh = det.clone()
    assert fresh.n_processed_ == 0 and fresh.config == det.config
    for i in range(100, 160):
        assert det.process_one(x[i], int(ts[i])) == copy.process_one(x[i], int(ts[i]))
