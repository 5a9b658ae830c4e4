"""The evaluation's counting on hand-labelled cases: recall, delays, false incidents, precision, grade level."""

from __future__ import annotations

import pytest

from alerting.incidents import AlertPolicy
from detectors.results import ResultInput, result_document
from evaluate.metrics import DetectorRun, RunInput, Span, Window, tally_detector, tally_overall
from evaluate.replay import IncidentSpan, cold_start_minutes, graded_intervals, replay_incidents

M = 60_000  # one minute, the interval


def inc(name: str, start: int, opened: int, end: int | None) -> IncidentSpan:
    return IncidentSpan(name, None, start * M, opened * M, None if end is None else end * M, 1.0)


def hand_run() -> RunInput:
    windows = [
        Window("action", 60 * M, 75 * M),
        Window("action", 300 * M, 310 * M),
        Window("httpStatus", 500 * M, 520 * M),
    ]
    a = DetectorRun(
        frozenset({"action"}),
        [inc("a", 61, 63, 80), inc("a", 900, 902, 910), inc("a", 312, 315, 330)],  # W1 +3, false, W2 +15 (grace edge)
        [(61 * M, 62 * M), (62 * M, 63 * M), (901 * M, 902 * M)],
        cold_start_min=0.0,
    )
    b = DetectorRun(
        frozenset({"httpStatus"}),
        [inc("b", 40, 42, 50), inc("b", 1000, 1001, None)],  # both false (the second still open at the end)
        [(100 * M, 101 * M), (519 * M, 520 * M)],
        cold_start_min=4.0,
    )
    shape = [Span("burst", 995 * M, 1030 * M)]
    return RunInput(windows, {"a": a, "b": b}, 0, 1440 * M, M, grace_intervals=5, shape=shape)


def test_detector_counts_by_construction() -> None:
    run = hand_run()
    a = tally_detector(run, "a").metrics()
    assert (a["windows"], a["caught"], a["recall"]) == (2, 2, 1.0)
    assert (a["delay_median_min"], a["delay_max_min"]) == (9.0, 15.0)
    assert (a["incidents"], a["false_incidents"], a["false_incidents_per_day"], a["precision"]) == (3, 1, 1.0, 0.6667)
    assert a["recall_fast"] == 0.5  # only W1 within 5 intervals of its start
    assert (a["grade_recall"], a["grade_intervals_in"], a["grade_intervals_out"]) == (0.5, 2, 1)
    b = tally_detector(run, "b").metrics()
    assert (b["windows"], b["caught"], b["recall"], b["delay_median_min"]) == (1, 0, 0.0, None)
    assert (b["incidents"], b["false_incidents"], b["precision"], b["false_in_bursts"]) == (2, 2, 0.0, 1)
    assert (b["grade_recall"], b["grade_intervals_in"], b["grade_intervals_out"]) == (1.0, 1, 1)


def test_overall_and_merge_across_runs() -> None:
    run = hand_run()
    o = tally_overall(run).metrics()
    assert (o["windows"], o["caught"], o["recall"]) == (3, 2, 0.6667)
    assert (o["incidents"], o["false_incidents"], o["false_incidents_per_day"], o["precision"]) == (5, 3, 3.0, 0.4)
    assert o["grade_recall"] == 0.6667 and o["cold_start_min"] == 4.0
    two = tally_overall(run).merge(tally_overall(run)).metrics()
    assert (two["windows"], two["false_incidents_per_day"], two["days"]) == (6, 3.0, 2.0)


def _doc(minute: int, grade: float, actual: float, expected: float = 1.0, score: float = 1.0) -> dict:
    return result_document(
        detector_id="det",
        feature_names=["bad"],
        result=ResultInput(
            minute * M, (minute + 1) * M, [actual], score=score, grade=grade, confidence=0.9, threshold=1.0,
            expected=[expected] if grade > 0 else None,
        ),
        interval_ms=M,
        execution_start_ms=0,
        execution_end_ms=0,
    )  # fmt: skip


def test_incidents_from_hand_made_results() -> None:
    docs = [_doc(m, 0.0, 1.0) for m in range(40)]
    docs[10] = _doc(10, 0.8, 10.0)  # flagged: pending
    docs[11] = _doc(11, 0.7, 9.0)  # confirmed: opens at the end of this interval (minute 12)
    docs[30] = _doc(30, 0.9, 8.0)  # a blip: back to normal for two intervals, never opens
    policy = AlertPolicy(cooldown_ms=10 * M, confirm_intervals=2)
    spans = replay_incidents("det", list(reversed(docs)), policy)  # any order
    assert spans == [IncidentSpan("det", None, 10 * M, 12 * M, 12 * M, 0.8)]
    run = RunInput(
        [Window("action", 9 * M, 15 * M)], {"det": DetectorRun(frozenset({"action"}), spans, [])}, 0, 40 * M, M
    )
    m = tally_detector(run, "det").metrics()
    assert (m["recall"], m["delay_median_min"], m["false_incidents"]) == (1.0, 3.0, 0)
    assert graded_intervals(docs) == [(10 * M, 11 * M), (11 * M, 12 * M), (30 * M, 31 * M)]


@pytest.mark.parametrize(("first_ready", "expected"), [(3, 0.0), (7, 3.0), (None, None)])
def test_cold_start(first_ready: int | None, expected: float | None) -> None:
    docs = [_doc(m, 0.0, 1.0, score=0.0 if first_ready is None or m < first_ready else 0.5) for m in range(10)]
    assert cold_start_minutes(docs, detector_start_ms=5 * M) == expected
