"""Cross-check against AD result documents planted in osmem (real jars, real osmem)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from opensearchpy import helpers

from detectors.results import ResultInput, ensure_results_index, result_document, stable_detector_id, write_results
from offline_rcf import TRCFDetector
from offline_rcf.crosscheck import crosscheck, crosscheck_detector
from offline_rcf.crosscheck_options import CrossCheckOptions
from offline_rcf.crosscheck_stats import precision_recall
from offline_rcf.engine import ad_profile
from offline_rcf.model_store import model_store, unpack_json
from offline_rcf.record_features import features_from_records
from offline_rcf.series import interval_grid
from offline_rcf.state import ensemble_key
from wafad.catalogue import get_detector

T0 = datetime(2024, 3, 1, 0, 0, 17, tzinfo=UTC)  # job schedule: not minute-aligned
N = 260
MINUTE = timedelta(minutes=1)
DELAY = timedelta(minutes=2)
LATE = range(120, 160)  # intervals whose documents arrived 5 minutes late (after AD scored them)
BURST = range(200, 210)  # a real volume anomaly
SEEDS = (11, 22, 33)
SPEC = get_detector("waf-volume")


def windows() -> tuple[np.ndarray, np.ndarray]:
    return interval_grid(T0, T0 + N * MINUTE, MINUTE, aligned="job", window_delay=DELAY)


def make_records(seed: int = 3) -> list[dict]:
    """Per-minute WAF records (Poisson 6, 30 in the burst) with an arrival time (ingestion lag)."""
    rng = np.random.default_rng(seed)
    ds, de = windows()
    recs = []
    for k in range(N):
        n = rng.poisson(30 if k in BURST else 6)
        for t in rng.integers(ds[k], de[k], n):
            lag = 300_000 if k in LATE and rng.random() < 0.7 else 20_000
            recs.append({"timestamp": int(t), "arrival": int(t) + lag, "action": "ALLOW"})
    return recs


def index_records(os_client, settings, recs: list[dict]) -> str:
    index = f"{settings.index_prefix}-2024.03.01"
    os_client.indices.create(
        index=index,
        body={"mappings": {"properties": {"@timestamp": {"type": "date"}, "event_id": {"type": "keyword"}}}},
    )
    actions = [
        {
            "_index": index,
            "_id": f"e{i}",
            "_source": {
                "@timestamp": datetime.fromtimestamp(r["timestamp"] / 1000, tz=UTC).isoformat(timespec="milliseconds"),
                "event_id": f"e{i}",
            },
        }
        for i, r in enumerate(recs)
    ]
    helpers.bulk(os_client, actions, chunk_size=1000)
    os_client.indices.refresh(index=index)
    return f"{settings.index_prefix}-*"


def plant_ad_results(os_client, settings, recs: list[dict], detector_id: str, *, late: bool, seed: int = 7) -> None:
    """Results as the local AD engine writes them: features seen at scoring time, a model with its own seed."""
    ds, de = windows()
    delay_ms = int(DELAY.total_seconds() * 1000)
    offset = int(ds[0]) % 60_000

    def scored_at(t: int) -> int:  # the job run that queried t's window: data_end + window delay
        return ((t - offset) // 60_000 + 1) * 60_000 + offset + delay_ms

    seen = [r for r in recs if not late or r["arrival"] <= scored_at(r["timestamp"])]
    feats = features_from_records(seen, SPEC, 0, 0, MINUTE, windows=(ds, de))
    det = TRCFDetector(ad_profile(1, seed=seed))
    docs = []
    for k in range(N):
        r = det.process_one(feats.values[k], int(de[k]) // 1000)
        docs.append(
            result_document(
                detector_id=detector_id,
                feature_names=feats.feature_names,
                result=ResultInput(
                    int(ds[k]),
                    int(de[k]),
                    feats.values[k],
                    score=r.score,
                    grade=r.grade,
                    confidence=r.confidence,
                    threshold=r.threshold,
                    attribution=r.attribution,
                    expected=r.expected,
                    past_values=r.past_values,
                    relative_index=r.relative_index,
                ),
                interval_ms=60_000,
                execution_start_ms=int(de[k]) + delay_ms,
                execution_end_ms=int(de[k]) + delay_ms + 40,
            )
        )
    ensure_results_index(os_client, settings.results_index)
    write_results(os_client, settings.results_index, docs)
    os_client.indices.refresh(index=settings.results_index)


def run(os_client, settings, pattern: str, detector_id: str, **kw):
    opts = CrossCheckOptions(seeds=SEEDS, shingle_size=8, window_delay_minutes=2, **kw)
    return crosscheck(
        os_client,
        SPEC,
        detector_id=detector_id,
        start=T0,
        end=T0 + N * MINUTE,
        results_index=settings.results_index,
        index_pattern=pattern,
        options=opts,
    )


@pytest.fixture
def stream(settings, os_client):
    recs = make_records()
    return recs, index_records(os_client, settings, recs)


def test_identical_inputs_are_consistent(settings, os_client, stream):
    recs, pattern = stream
    plant_ad_results(os_client, settings, recs, "det-same", late=False)
    report = run(os_client, settings, pattern, "det-same")
    out = report.to_dict()
    assert out["verdict"] == "consistent", out["summary"]
    assert len(out["intervals"]) == N - 2  # the first two job windows start before T0 (window delay)
    assert out["n_late_data"] == 0 and out["n_missing_results"] == 0
    assert out["spearman"] is not None and out["spearman"] > 0.8
    assert not any(i.cause and i.cause.startswith(("late data", "data")) for i in report.intervals)
    burst = [i for i in report.intervals if i.ad_grade and i.ad_grade > 0]
    assert burst, "the planted AD run flagged nothing"
    json.dumps(out)  # the dashboard gets plain JSON
    keys = {"data_start_time", "data_end_time", "ad_score", "ad_grade", "band_low", "band_high"}
    assert keys | {"grade_band_low", "grade_band_high", "agree", "cause"} <= set(out["intervals"][0])


def test_late_data_is_caught_with_its_cause(settings, os_client, stream):
    recs, pattern = stream
    plant_ad_results(os_client, settings, recs, "det-late", late=True)
    ds, _ = windows()
    gone = {"range": {"data_start_time": {"gte": int(ds[60]), "lte": int(ds[62]), "format": "epoch_millis"}}}
    os_client.delete_by_query(index=settings.results_index, body={"query": gone}, refresh=True)  # job was down
    report = run(os_client, settings, pattern, "det-late", model_check=True)
    late_starts = {int(ds[k]) for k in LATE}
    flagged_late = [i for i in report.intervals if i.late_data]
    assert {i.data_start_time for i in flagged_late} >= late_starts  # every incomplete interval is noticed
    bad = report.disagreements
    assert bad, report.summary
    in_region = [i for i in bad if int(ds[LATE.start]) <= i.data_start_time <= int(ds[LATE.stop - 1]) + 7 * 60_000]
    assert len(in_region) >= 5
    assert all(i.cause.startswith("late data") for i in in_region), [i.cause for i in in_region][:3]
    assert "window delay 2 min is shorter than the ingestion lag" in in_region[0].cause
    assert "index now" in in_region[0].cause
    assert report.verdict == "inconsistent", report.summary
    assert "data changed after AD scored" in report.summary
    assert report.to_dict()["n_missing_results"] == 3 and "3 intervals have no AD result" in report.summary


def test_state_persists_and_the_next_check_continues_the_stream(settings, os_client, stream):
    recs, _ = stream
    name = SPEC.name
    plant_ad_results(os_client, settings, recs, stable_detector_id(name), late=False)
    mid = T0 + 150 * MINUTE
    ticks: list[int] = []
    first = crosscheck_detector(settings, name, T0, mid, client=os_client, seeds=SEEDS)
    # the ensemble is in the shared model store (S3), one object with every seed's model
    saved = model_store(settings).get(ensemble_key(name, None, "index"))
    assert saved is not None and set(unpack_json(saved.data)["models"]) == {str(s) for s in SEEDS}
    second = crosscheck_detector(
        settings, name, mid, T0 + N * MINUTE, client=os_client, seeds=SEEDS, progress=lambda d, t: ticks.append(d)
    )
    assert ticks and ticks[-1] <= N - 150 + 2, "the second check re-ran intervals it had already seen"
    fresh = crosscheck_detector(settings, name, mid, T0 + N * MINUTE, client=os_client, seeds=SEEDS, persist=False)
    assert [i.to_dict() for i in second.intervals] == [i.to_dict() for i in fresh.intervals]
    assert first.intervals[-1].data_end_time <= second.intervals[0].data_end_time
    assert second.verdict == fresh.verdict == "consistent"


def test_no_results_and_precision_recall():
    assert precision_recall(np.array([0, 0]), np.array([0, 0])) == (None, None)
    p, r = precision_recall(np.array([1, 0, 0, 0, 1, 0]), np.array([0, 1, 0, 0, 0, 0]), tolerance=1)
    assert (p, r) == (0.5, 1.0)


def test_missing_detector_results_give_insufficient_data(settings, os_client):
    report = crosscheck(
        os_client,
        SPEC,
        detector_id="nobody",
        start=T0,
        end=T0 + 10 * MINUTE,
        results_index=settings.results_index,
        index_pattern=f"{settings.index_prefix}-*",
    )
    assert report.verdict == "insufficient_data" and report.to_dict()["intervals"] == []


def test_cli_writes_the_report(settings, os_client, stream, monkeypatch, tmp_path):
    import typer
    from typer.testing import CliRunner

    from offline_rcf.cli import register
    from wafad.settings import get_settings

    recs, _ = stream
    plant_ad_results(os_client, settings, recs, stable_detector_id(SPEC.name), late=True)
    env = {
        "WAFAD_TARGET": "local",
        "WAFAD_OSMEM_PORT": str(settings.osmem_port),
        "WAFAD_INDEX_PREFIX": settings.index_prefix,
        "WAFAD_RESULTS_INDEX": settings.results_index,
        "WAFAD_STATE_DIR": str(settings.state_dir),
        "WAFAD_SHINGLE_SIZE": "8",
        "WAFAD_WINDOW_DELAY_MINUTES": "2",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # keep typer in multi-command mode
    out = tmp_path / "report.json"
    args = ["crosscheck", "-d", SPEC.name, "--start", T0.isoformat(), "--end", (T0 + N * MINUTE).isoformat()]
    try:
        result = CliRunner().invoke(app, [*args, "--seeds", "2", "--no-persist", "--out", str(out)])
        bad = CliRunner().invoke(app, ["crosscheck", "-d", "no-such-detector"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output  # inconsistent
    report = json.loads(out.read_text())
    assert report["detector"] == SPEC.name and report["verdict"] == "inconsistent"
    assert any(i["cause"] and i["cause"].startswith("late data") for i in report["intervals"])
    assert bad.exit_code != 0 and "unknown detector" in bad.output


def test_hc_detector_is_checked_per_entity(settings, os_client):
    spec = get_detector("waf-country-hc")
    n = 120
    ds, de = interval_grid(T0, T0 + n * MINUTE, MINUTE, aligned="job", window_delay=DELAY)
    rng = np.random.default_rng(5)
    recs = []
    for k in range(len(ds)):
        for country, rate in (("GB", 8), ("FR", 3)):
            recs += [
                {"timestamp": int(t), "httpRequest": {"country": country}}
                for t in rng.integers(ds[k], de[k], rng.poisson(rate))
            ]
    index = f"{settings.index_prefix}-2024.03.01"
    mapping = {
        "@timestamp": {"type": "date"},
        "event_id": {"type": "keyword"},
        "httpRequest": {"properties": {"country": {"type": "keyword"}}},
    }
    os_client.indices.create(index=index, body={"mappings": {"properties": mapping}})
    helpers.bulk(
        os_client,
        (
            {
                "_index": index,
                "_source": {
                    "@timestamp": datetime.fromtimestamp(r["timestamp"] / 1000, tz=UTC).isoformat(
                        timespec="milliseconds"
                    ),
                    "event_id": f"e{i}",
                    **r,
                },
            }
            for i, r in enumerate(recs)
        ),
    )
    os_client.indices.refresh(index=index)
    docs = []
    for country in ("GB", "FR"):
        mine = [r for r in recs if r["httpRequest"]["country"] == country]
        feats = features_from_records(mine, spec, 0, 0, MINUTE, windows=(ds, de))
        det = TRCFDetector(ad_profile(1, seed=9))
        for k in range(len(ds)):
            r = det.process_one(feats.values[k], int(de[k]) // 1000)
            docs.append(
                result_document(
                    detector_id="det-hc",
                    feature_names=feats.feature_names,
                    result=ResultInput(
                        int(ds[k]),
                        int(de[k]),
                        feats.values[k],
                        score=r.score,
                        grade=r.grade,
                        confidence=r.confidence,
                        threshold=r.threshold,
                    ),
                    interval_ms=60_000,
                    execution_start_ms=int(de[k]) + 120_000,
                    execution_end_ms=int(de[k]) + 120_050,
                    entity={spec.category_field: country},
                )
            )
    ensure_results_index(os_client, settings.results_index)
    write_results(os_client, settings.results_index, docs)
    os_client.indices.refresh(index=settings.results_index)
    report = crosscheck(
        os_client,
        spec,
        detector_id="det-hc",
        start=T0,
        end=T0 + n * MINUTE,
        results_index=settings.results_index,
        index_pattern=f"{settings.index_prefix}-*",
        options=CrossCheckOptions(seeds=SEEDS, state_dir=settings.state_dir),
    )
    entities = {i.entity[spec.category_field] for i in report.intervals}
    assert entities == {"GB", "FR"}
    assert len(report.intervals) == 2 * (n - 2)
    assert report.verdict == "consistent", report.summary
    assert report.to_dict()["n_late_data"] == 0
    assert (settings.state_dir / ensemble_key(spec.name, "FR", "index")).exists()  # options.state_dir: a folder store


def test_the_local_ad_engine_realtime_and_historical_is_consistent_with_the_replica(settings, os_client, stream):
    from detectors.local_engine import LocalADEngine

    start = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)  # cold start on the hour before, as AD does
    end = T0 + N * MINUTE
    LocalADEngine(settings, os_client).run(SPEC, start, end, mode="realtime")
    os_client.indices.refresh(index=settings.results_index)
    report = crosscheck_detector(settings, SPEC.name, start, end, client=os_client, seeds=SEEDS, persist=False)
    assert report.verdict == "consistent", (report.summary, [i.cause for i in report.disagreements][:5])
    assert len(report.intervals) >= 150
    LocalADEngine(settings, os_client).run(SPEC, start, end, mode="historical")
    os_client.indices.refresh(index=settings.results_index)
    hist = crosscheck_detector(
        settings, SPEC.name, start, end, client=os_client, seeds=SEEDS, persist=False, mode="historical"
    )
    assert hist.verdict == "consistent", (hist.summary, [i.cause for i in hist.disagreements][:5])
    assert len(hist.intervals) >= 150
