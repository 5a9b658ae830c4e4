"""``evaluate`` end to end on real components: the simulator, features from its raw records, the local engine's
scoring (native engine), the alerter's incident logic. Seeds here are the tests' own."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise

import numpy as np
import pytest

from evaluate import PROFILES, ProfileError, draw_scenario, evaluate_profile
from evaluate.features import FeatureAccumulator
from evaluate.records import scenario_records
from evaluate.report import HEADLINE
from offline_rcf.record_features import features_from_records, features_from_records_by_entity
from offline_rcf.series import to_epoch_ms
from wafad.catalogue import get_detector
from wafad.settings import get_settings

TEST_SEEDS = (9001,)


def test_features_match_offline_rcf_on_raw_records() -> None:
    draw = draw_scenario("subtle", 9002, days=0.05)
    sc = draw.scenario
    specs = [get_detector(n) for n in ("waf-block-action", "waf-volume", "waf-country-hc")]
    start, end = to_epoch_ms(sc.start), to_epoch_ms(sc.end)
    acc = FeatureAccumulator(specs, start, end, 60_000)
    records = []
    for block in scenario_records(sc, account="123456789012", region="eu-west-1"):
        acc.add(block)
        records += block
    assert records
    for spec in specs[:2]:
        ref = features_from_records(records, spec, start, end, timedelta(minutes=1))
        got = acc.series(spec)[""]
        np.testing.assert_array_equal(got.data_start, ref.data_start)
        np.testing.assert_array_equal(got.values, ref.values)
        np.testing.assert_array_equal(got.doc_count, ref.doc_count)
    ref_hc = features_from_records_by_entity(records, specs[2], start, end, timedelta(minutes=1))
    got_hc = acc.series(specs[2])
    assert sorted(got_hc) == sorted(ref_hc) and len(got_hc) > 3
    for value, ref in ref_hc.items():
        np.testing.assert_array_equal(got_hc[value].values, ref.values)
        assert got_hc[value].entity == ref.entity


def test_each_seed_draws_its_own_windows() -> None:
    a, b = draw_scenario("subtle", 1, days=1), draw_scenario("subtle", 2, days=1)
    assert [x.label() for x in a.scenario.anomalies] != [x.label() for x in b.scenario.anomalies]
    assert [x.label() for x in a.scenario.anomalies] == [
        x.label() for x in draw_scenario("subtle", 1).scenario.anomalies
    ]
    for draw in (a, b):
        for w in draw.scenario.anomalies:
            assert draw.detector_start <= w.start and w.end <= draw.scenario.end
            assert 2.0 <= w.intensity <= 4.0 and timedelta(minutes=10) <= w.end - w.start <= timedelta(minutes=20)
    rep = draw_scenario("repeats", 3, days=1).scenario.anomalies
    assert any(
        x.field == y.field and timedelta(hours=1) <= y.start - x.end <= timedelta(hours=3) for x, y in pairwise(rep)
    )
    assert draw_scenario("bursts", 4, days=1).scenario.shape.bursts
    assert draw_scenario("gaps", 5, days=1).scenario.shape.gaps
    with pytest.raises(ProfileError, match="known profiles: demo, subtle"):
        draw_scenario("nope", 1)
    assert set(PROFILES) == {"demo", "subtle", "repeats", "diurnal", "bursts", "gaps"}


def test_short_real_run_catches_x6_windows() -> None:
    report = evaluate_profile("demo", days=0.25, seeds=TEST_SEEDS, settings=get_settings())
    data = json.loads(report.to_json())
    for block in (data["overall"], *data["per_detector"].values()):
        assert set(HEADLINE) <= set(block)
    assert report.overall["windows"] == 2  # 8 windows a day, a quarter of a day
    assert report.overall["recall"] == 1.0, report.runs[0]["windows"]
    assert report.overall["delay_max_min"] <= 20
    assert 0 <= report.overall["false_incidents_per_day"] < 40
    assert report.overall["cold_start_min"] is not None and report.overall["cold_start_min"] <= 1
    run = report.runs[0]
    assert run["seed"] == TEST_SEEDS[0] and len(run["windows"]) == 2
    for w in run["windows"]:
        assert w["intensity"] == 6.0 and w["caught_by"]
    assert {i["detector"] for i in run["incidents"] if not i["false"]} <= set(report.detectors)
