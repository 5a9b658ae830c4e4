"""TRCFDetector follows river's conventions: bare construction, parameters, clone, river's own estimator checks,
and saved files (current and previous format) load and continue the stream."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata

from offline_rcf import TRCFDetector
from offline_rcf.detector import STATE_FORMAT, STATE_FORMAT_V1
from offline_rcf.engine import ForestConfig, ad_profile

DATA = Path(__file__).parent / "data" / "offline_rcf"
N_FEATURES = 6  # river's feature checks drop 3 features at random
#: river checks that do not apply here, and why.
NOT_APPLICABLE = {
    # imports scikit-learn (not a dependency of wafad) for roc_auc_score; the same property is asserted by
    # test_scores_rank_anomalies_above_normal_points below with a rank statistic.
    "check_roc_auc": "needs scikit-learn",
}


def waf_like_stream(n: int, seed: int = 0) -> list[tuple[dict[str, float], bool]]:
    """(x, is_anomaly) pairs: Poisson counts per feature, with bursts on one feature now and then."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x = {f"f{j}": float(rng.poisson(3 + j)) for j in range(N_FEATURES)}
        anomalous = i >= 60 and i % 37 == 0
        if anomalous:
            x[f"f{i % N_FEATURES}"] += 60.0
        out.append((x, anomalous))
    return out


def _datasets(model, scale: int = 1):
    """Stands in for river's own datasets (CreditCard: a download, and scikit-learn, neither available)."""
    yield waf_like_stream(120 * scale)


@pytest.mark.parametrize("params", list(TRCFDetector._unit_test_params()), ids=lambda p: p.get("engine", "jvm"))
def test_river_estimator_checks(params, monkeypatch):
    import river.checks

    monkeypatch.setattr(river.checks, "_yield_datasets", _datasets)
    model = TRCFDetector(**params)
    ran = []
    for check in river.checks.yield_checks(model):
        if check.__name__ in NOT_APPLICABLE or check.__name__ in model._unit_test_skips():
            continue
        check(model.clone())
        ran.append(check.__name__)
    for expected in (
        "check_clone_is_idempotent",
        "check_repr_roundtrips_clone",
        "check_clone_with_new_params_applies",
        "check_get_params_matches_signature",
        "check_shuffle_features_no_impact",
        "check_disappearing_features",
        "check_pickling",
        "check_seeding_is_idempotent",
        "check_bounded_memory_growth",
    ):
        assert expected in ran


def test_bare_detector_scores_a_stream_with_ad_3x_defaults():
    det = TRCFDetector(seed=4)
    assert det.config_ is None and det._engine is None  # nothing built before the first point
    stream = waf_like_stream(200)
    scores = []
    for x, _ in stream:
        scores.append(det.score_one(x))
        det.learn_one(x)
    assert det.n_processed_ == 200
    assert det.config_ == ad_profile(N_FEATURES, seed=4)
    assert (det.config_.num_trees, det.config_.sample_size, det.config_.shingle_size) == (50, 256, 8)
    assert det.config_.time_decay == 1 / 2560 and det.config_.normalize and det.config_.output_after == 32
    assert det.feature_names_ == sorted(stream[0][0])
    assert all(np.isfinite(scores)) and max(scores) > 0


def test_scores_rank_anomalies_above_normal_points():
    """river's check_roc_auc, with the Mann-Whitney form of ROC AUC instead of scikit-learn."""
    det = TRCFDetector(seed=2)
    scores, labels = [], []
    for x, y in waf_like_stream(600, seed=3):
        scores.append(det.score_one(x))
        det.learn_one(x)
        labels.append(y)
    s, y = np.array(scores), np.array(labels)
    ranks = rankdata(s)
    n_pos, n_neg = y.sum(), (~y).sum()
    auc = (ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert auc > 0.8, auc  # river asks for >= 0.5


def test_parameters_repr_and_clone():
    det = TRCFDetector(engine="native", seed=3, shingle_size=4, recency_emphasis=1000, interval_seconds=300)
    text = repr(det)
    for part in ('engine="native"', "seed=3", "shingle_size=4", "recency_emphasis=1000", "interval_seconds=300"):
        assert part in text
    for x, _ in waf_like_stream(50):
        det.learn_one(x)
    assert det.config_ == ad_profile(N_FEATURES, shingle_size=4, recency_emphasis=1000, seed=3)
    fresh = det.clone()
    assert repr(fresh) == text and fresh.n_processed_ == 0 and fresh.config_ is None and fresh._engine is None
    assert det.clone({"seed": 9}).seed == 9


def test_config_stays_an_advanced_option():
    cfg = ad_profile(2, era="2.14")
    det = TRCFDetector(cfg, seed=5)
    assert det.config is cfg and det.config_ == dataclasses.replace(cfg, seed=5)
    assert TRCFDetector(cfg).config_ == cfg
    with pytest.raises(ValueError, match="shingle_size"):
        TRCFDetector(cfg, shingle_size=4)
    with pytest.raises(ValueError, match="mode"):
        TRCFDetector(mode="batch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="imputation"):
        TRCFDetector(imputation="MEAN")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="features"):
        TRCFDetector(cfg).process_one({"a": 1.0})
    assert TRCFDetector(imputation="ZERO", feature_names=["a"]).config_.imputation == "ZERO"


def test_feature_order_comes_from_names_not_from_dict_order():
    a, b = TRCFDetector(seed=1), TRCFDetector(seed=1)
    for x, _ in waf_like_stream(80):
        assert a.score_one(x) == b.score_one(dict(reversed(list(x.items()))))
    named = TRCFDetector(feature_names=["f5", "f0", "f1", "f2", "f3", "f4"], seed=1)
    named.process_one(waf_like_stream(1)[0][0])
    assert named.feature_names_ == ["f5", "f0", "f1", "f2", "f3", "f4"]


@pytest.mark.parametrize("engine", ["jvm", "native"])
def test_current_format_round_trip(engine, tmp_path):
    det = TRCFDetector(engine=engine, seed=8, shingle_size=2)
    det.save(tmp_path / "unfitted.json.gz")
    unfitted = TRCFDetector.load(tmp_path / "unfitted.json.gz")
    assert repr(unfitted) == repr(det) and unfitted.config_ is None
    stream = waf_like_stream(120)
    for x, _ in stream[:80]:
        det.learn_one(x)
    det.save(tmp_path / "det.json.gz")
    twin = TRCFDetector.load(tmp_path / "det.json.gz")
    assert repr(twin) == repr(det) and twin.config_ == det.config_ and twin.feature_names_ == det.feature_names_
    assert twin.n_processed_ == 80 and twin.last_t_ == det.last_t_
    copy = pickle.loads(pickle.dumps(det))
    for x, _ in stream[80:]:
        r = det.process_one(x)
        assert r == twin.process_one(x) == copy.process_one(x)
    assert json.loads(json.dumps(det.to_dict()))["format"] == STATE_FORMAT


@pytest.mark.parametrize("engine", ["jvm", "native"])
def test_files_saved_in_the_previous_format_still_load(engine):
    """Saved by the format-1 detector (before river parameters): 60 points of a tiny forest, then 5 more.

    The native engine's expected scores were re-recorded when its kernels dropped ``fastmath`` (cached and fresh
    compiles now agree bit for bit): they moved by ~3e-9 relative; grades and confidences did not change."""
    path = DATA / f"trcf-detector-v1-{engine}.json.gz"
    expected = json.loads((DATA / "trcf-detector-v1-next.json").read_text())[engine]
    det = TRCFDetector.load(path)
    assert det.engine == engine and det.n_processed_ == 60 and det.last_t_ == 1_700_000_000 + 60 * 60
    assert det.config == ForestConfig(base_dims=2, shingle_size=4, num_trees=5, sample_size=32, output_after=8, seed=3)
    assert det.config_ == det.config and det.feature_names == det.feature_names_ == ["a", "b"]
    for i, (score, grade, confidence) in enumerate(expected):
        r = det.process_one({"a": 3.0 + 10 * (i == 3), "b": 5.0})
        assert (r.score, r.grade, r.confidence) == pytest.approx((score, grade, confidence), rel=1e-9)
    assert STATE_FORMAT_V1 != STATE_FORMAT
    with pytest.raises(ValueError, match="format"):
        TRCFDetector.from_dict({"format": "wafad-trcf-detector/0"})
