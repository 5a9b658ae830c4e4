"""Features from osmem (AD's aggregation queries) equal features from the same records in memory."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from opensearchpy import helpers

from offline_rcf.feature_queries import feature_series, feature_series_by_entity, features_for_windows
from offline_rcf.record_features import features_from_records, features_from_records_by_entity
from offline_rcf.series import FeatureSeries, interval_grid
from wafad.catalogue import DETECTORS, DetectorSpec, Feature, get_detector, indicators

START = datetime(2024, 1, 1, 22, 30, tzinfo=UTC)  # crosses midnight: two daily indices
END = START + timedelta(hours=2)
MINUTE = timedelta(minutes=1)
QUIET = (START + timedelta(minutes=40), START + timedelta(minutes=47))  # no traffic at all
ACTIONS = ["ALLOW", "ALLOW", "ALLOW", "BLOCK"]
COUNTRIES = ["GB", "US", "IN", "FR", "-"]


def make_records(n: int = 2500, seed: int = 1) -> list[dict]:
    """Raw WAF-like records (epoch-ms ``timestamp``), a few on exact interval boundaries, none in QUIET."""
    rng = np.random.default_rng(seed)
    span = int((END - START).total_seconds() * 1000)
    t0 = int(START.timestamp() * 1000)
    times = t0 + rng.integers(0, span, n)
    times[:20] = t0 + 60_000 * rng.integers(1, 100, 20)  # boundaries: belong to the later interval
    q0, q1 = (int(q.timestamp() * 1000) for q in QUIET)
    times = times[(times < q0) | (times >= q1)]
    recs = []
    for t in times:
        rec = {
            "timestamp": int(t),
            "action": str(rng.choice(ACTIONS)),
            "httpSourceName": str(rng.choice(["ALB", "CF", "APPSYNC"])),
            "httpStatus": int(rng.choice([200, 200, 404, 503])),
            "httpRequest": {"country": str(rng.choice(COUNTRIES)), "httpMethod": str(rng.choice(["GET", "PUT"]))},
        }
        if rng.random() < 0.7 or rec["httpRequest"]["country"] != "FR":  # FR goes silent in some minutes
            recs.append(rec)
    return recs


def to_document(rec: dict, i: int) -> dict:
    t = datetime.fromtimestamp(rec["timestamp"] / 1000, tz=UTC)
    doc = {**rec, "@timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rec['timestamp'] % 1000:03d}Z"}
    doc["event_id"] = f"e{i}"
    doc.update(indicators(rec))
    return doc


MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event_id": {"type": "keyword"},
        **{f: {"type": "integer"} for f in ("action_bad", "source_bad", "status_bad", "country_bad", "method_bad")},
        "httpStatus": {"type": "short"},
        "action": {"type": "keyword"},
        "httpRequest": {"properties": {"country": {"type": "keyword"}, "httpMethod": {"type": "keyword"}}},
    }
}


@pytest.fixture
def indexed(settings, os_client):
    recs = make_records()
    actions = []
    for i, rec in enumerate(recs):
        doc = to_document(rec, i)
        index = f"{settings.index_prefix}-{doc['@timestamp'][:10].replace('-', '.')}"
        actions.append({"_index": index, "_id": doc["event_id"], "_source": doc})
    for index in {a["_index"] for a in actions}:
        os_client.indices.create(index=index, body={"mappings": MAPPING})
    helpers.bulk(os_client, actions, chunk_size=1000)
    os_client.indices.refresh(index=f"{settings.index_prefix}-*")
    return recs, f"{settings.index_prefix}-*"


def assert_same(a: FeatureSeries, b: FeatureSeries) -> None:
    np.testing.assert_array_equal(a.data_start, b.data_start)
    np.testing.assert_array_equal(a.data_end, b.data_end)
    np.testing.assert_array_equal(a.values, b.values)  # NaN == NaN here
    np.testing.assert_array_equal(a.doc_count, b.doc_count)
    assert a.feature_names == b.feature_names and a.entity == b.entity


AVG_SPEC = DetectorSpec(
    name="status-avg-max",
    description="avg and max of status_bad; blocked-only filter",
    features=(Feature("status_avg", "avg", "status_bad"), Feature("status_max", "max", "status_bad")),
    watches="httpStatus",
    filter_query={"bool": {"filter": [{"term": {"action": "BLOCK"}}]}},
)


def test_every_single_stream_detector_matches_in_memory(indexed, os_client):
    recs, pattern = indexed
    for spec in [d for d in DETECTORS if not d.is_high_cardinality]:
        for aligned, delay in (("epoch", timedelta(0)), ("job", timedelta(minutes=2))):
            start = START + timedelta(seconds=17)  # job schedules are not minute-aligned
            os_series = feature_series(
                os_client, spec, pattern, start, END, MINUTE, aligned=aligned, window_delay=delay
            )
            mem = features_from_records(recs, spec, start, END, MINUTE, aligned=aligned, window_delay=delay)
            assert_same(os_series, mem)
            assert len(os_series) >= 118
            assert os_series.values.sum() > 0


def test_empty_intervals_follow_ad_semantics(indexed, os_client):
    recs, pattern = indexed
    volume = feature_series(os_client, get_detector("waf-volume"), pattern, START, END, MINUTE)
    quiet = (volume.data_start >= int(QUIET[0].timestamp() * 1000)) & (
        volume.data_end <= int(QUIET[1].timestamp() * 1000)
    )
    assert quiet.sum() == 7
    assert np.all(volume.values[quiet] == 0) and np.all(volume.doc_count[quiet] == 0)  # count: a real zero
    assert volume.complete.all()
    avg = feature_series(os_client, AVG_SPEC, pattern, START, END, MINUTE, ranges_per_request=50)  # 3 requests
    assert np.isnan(avg.values[quiet]).all()  # avg/max of nothing: no data
    assert not avg.complete[quiet].any() and avg.complete[~quiet].sum() > 50
    assert_same(avg, features_from_records(recs, AVG_SPEC, START, END, MINUTE))


def test_boundaries_and_arbitrary_windows(indexed, os_client):
    recs, pattern = indexed
    spec = get_detector("waf-volume")
    t0 = int(START.timestamp() * 1000)
    starts = np.array([t0 + 60_000, t0 + 60_000 + 1, t0 + 600_123])
    ends = starts + np.array([60_000, 59_999, 120_000])
    got = features_for_windows(os_client, spec, pattern, starts, ends)
    times = np.array([r["timestamp"] for r in recs])
    expected = [np.count_nonzero((times >= s) & (times < e)) for s, e in zip(starts, ends, strict=True)]
    assert got.values[:, 0].tolist() == expected
    assert_same(got, features_from_records(recs, spec, 0, 0, MINUTE, windows=(starts, ends)))


def test_hc_entities_match_in_memory_and_absent_entities_are_nan(indexed, os_client):
    recs, pattern = indexed
    spec = get_detector("waf-country-hc")
    os_hc = feature_series_by_entity(os_client, spec, pattern, START, END, MINUTE, page_size=60)  # paginated
    mem_hc = features_from_records_by_entity(recs, spec, START, END, MINUTE)
    assert sorted(os_hc) == sorted(mem_hc) == sorted(COUNTRIES)
    for value in os_hc:
        assert_same(os_hc[value], mem_hc[value])
        assert os_hc[value].entity == {"httpRequest.country": value}
    fr = os_hc["FR"]
    assert (fr.doc_count == 0).sum() > 0 and np.isnan(fr.values[fr.doc_count == 0]).all()
    total = feature_series(os_client, spec, pattern, START, END, MINUTE)
    np.testing.assert_array_equal(sum(np.nan_to_num(s.values) for s in os_hc.values()), total.values)
    job = feature_series_by_entity(
        os_client, spec, pattern, START + timedelta(seconds=5), END, MINUTE, aligned="job", window_delay=MINUTE
    )
    mem_job = features_from_records_by_entity(
        recs, spec, START + timedelta(seconds=5), END, MINUTE, aligned="job", window_delay=MINUTE
    )
    for value in job:
        assert_same(job[value], mem_job[value])


def test_records_from_files(tmp_path):
    recs = make_records(300)
    path = tmp_path / "waf.log.gz"
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in recs)
    spec = get_detector("waf-block-action")
    from_file = features_from_records([path], spec, START, END, MINUTE)
    in_memory = features_from_records(recs, spec, START, END, MINUTE)
    assert_same(from_file, in_memory)
    assert from_file.values.sum() == sum(r["action"] != "ALLOW" for r in recs)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="before start"):
        interval_grid(END, START, MINUTE)
    with pytest.raises(ValueError, match="aligned"):
        interval_grid(START, END, MINUTE, aligned="hourly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="category"):
        features_from_records_by_entity([], get_detector("waf-volume"), START, END, MINUTE)
