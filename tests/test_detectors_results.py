"""AD result documents: builder rules (AnomalyResult.toXContent) and a round trip through osmem."""

from __future__ import annotations

import math

from detectors.results import (
    RESULT_MAPPING,
    SCHEMA_VERSION,
    ResultInput,
    document_id,
    ensure_results_index,
    model_id,
    result_document,
    search_result_docs,
    stable_detector_id,
    write_results,
)

MIN = 60_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z


def _doc(i: int, *, grade: float = 0.0, task_id: str | None = None, entity=None, error: str | None = None):
    scored = error is None
    return result_document(
        detector_id="det",
        feature_names=["requests"],
        result=ResultInput(
            data_start_ms=T0 + i * MIN,
            data_end_ms=T0 + (i + 1) * MIN,
            values=[float(i)] if scored else [math.nan],
            score=1.5 if scored else None,
            grade=grade if scored else None,
            confidence=0.9 if scored else None,
            threshold=1.2 if scored else None,
            attribution=[1.0],
            expected=[3.0],
            past_values=[40.0],
            relative_index=-2 if grade > 0 else 0,
            error=error,
        ),
        interval_ms=MIN,
        execution_start_ms=T0 + (i + 3) * MIN,
        execution_end_ms=T0 + (i + 3) * MIN + 50,
        entity=entity,
        task_id=task_id,
    )


def test_ids_are_stable_and_ad_shaped() -> None:
    assert stable_detector_id("waf-volume") == stable_detector_id("waf-volume")
    assert stable_detector_id("waf-volume") != stable_detector_id("waf-country-hc")
    assert len(stable_detector_id("waf-volume")) == 20
    assert model_id("det", None) == "det_model_rcf_0"
    assert model_id("det", {"httpRequest.country": "GB"}).startswith("det_entity_")
    assert model_id("det", {"httpRequest.country": "GB"}) != model_id("det", {"httpRequest.country": "FR"})


def test_document_follows_ad_serialisation_rules() -> None:
    plain = _doc(1)
    assert plain["schema_version"] == SCHEMA_VERSION
    assert plain["feature_data"][0]["feature_name"] == "requests"
    assert plain["model_id"] == "det_model_rcf_0"
    for absent in ("approx_anomaly_start_time", "relevant_attribution", "expected_values", "past_values", "task_id"):
        assert absent not in plain
    anomalous = _doc(5, grade=0.8125, task_id="task-1", entity={"httpRequest.country": "FR"})
    assert anomalous["approx_anomaly_start_time"] == T0 + 3 * MIN  # data_start + relative_index * interval
    assert anomalous["relevant_attribution"][0]["data"] == 1.0
    assert anomalous["expected_values"][0]["value_list"][0]["data"] == 3.0
    assert anomalous["past_values"][0]["data"] == 40.0
    assert anomalous["entity"] == [{"name": "httpRequest.country", "value": "FR"}]
    assert anomalous["task_id"] == "task-1"
    no_data = _doc(2, error="No data in current window")
    assert no_data["feature_data"] == [] and no_data["error"].startswith("No data")
    for absent in ("anomaly_score", "anomaly_grade", "confidence", "threshold", "model_id"):
        assert absent not in no_data


def test_round_trip_through_osmem(os_client, settings) -> None:
    index = settings.results_index
    assert ensure_results_index(os_client, index) is True
    assert ensure_results_index(os_client, index) is False
    mapping = os_client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["properties"]["feature_data"]["type"] == "nested"
    assert set(RESULT_MAPPING["properties"]) <= set(mapping["properties"])
    docs = [_doc(i, grade=0.5 if i == 4 else 0.0) for i in range(6)]
    docs += [_doc(i, task_id="hist-1") for i in range(3)]
    docs.append(_doc(7, error="No data in current window"))
    assert write_results(os_client, index, docs) == len(docs)
    assert write_results(os_client, index, docs[:2]) == 2  # same ids: replaced, not duplicated
    os_client.indices.refresh(index=index)
    assert os_client.count(index=index)["count"] == len(docs)
    realtime = search_result_docs(os_client, index, detector_id="det", page_size=4)
    assert [d["data_start_time"] for d in realtime] == [T0 + i * MIN for i in (0, 1, 2, 3, 4, 5, 7)]
    historical = search_result_docs(os_client, index, task_id="hist-1")
    assert len(historical) == 3 and all(d["task_id"] == "hist-1" for d in historical)
    window = search_result_docs(os_client, index, start_ms=T0 + 3 * MIN, end_ms=T0 + 5 * MIN)
    assert [d["data_end_time"] for d in window] == [T0 + 3 * MIN, T0 + 4 * MIN, T0 + 5 * MIN]
    assert len({document_id(d) for d in docs}) == len(docs)
    assert search_result_docs(os_client, index + "-missing") == []
