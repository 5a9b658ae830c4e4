"""Every saved query over simulated logs in the local S3, each figure checked against a count made in Python from the
same records (read back from S3 with gzip + json, independently of DuckDB)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from queries.distribution import check, render_distribution
from queries.engine import open_waf_logs, run
from queries.run import distribution_counts, render_saved, run_saved, saved_params
from queries.saved import Params, SavedQueryError, read_labels, render, saved_names
from queries.source import default_source, list_objects
from simulator import Scenario, parse_anomaly, simulate
from tasks.simulate import s3_log_url
from wafad.catalogue import SEED_FIELDS, indicators
from wafad.clients import aws_client
from wafad.settings import Settings

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
SPECS = ["country@10m+6m[x8]", "httpStatus@14m+5m[x10]", "httpMethod@22m+4m[x6]"]
START, END = T0 + timedelta(minutes=3, seconds=20), T0 + timedelta(minutes=29)  # not on 5-minute boundaries


@dataclass
class Sim:
    settings: Settings
    labels: Path
    records: list[dict[str, Any]]  # every record, as Python read it back
    objects: int

    def window(self) -> list[dict[str, Any]]:
        lo, hi = int(START.timestamp() * 1000), int(END.timestamp() * 1000)
        return [r for r in self.records if lo <= r["timestamp"] < hi]


@pytest.fixture(scope="module")
def sim(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    settings = stack_settings.model_copy(update={"bucket": f"wafad-sqltest-{uuid.uuid4().hex[:8]}"})
    s3 = aws_client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    labels = tmp_path_factory.mktemp("sql") / "labels.json"
    scenario = Scenario(T0, timedelta(minutes=35), 4, [parse_anomaly(s, T0) for s in SPECS], seed=17)
    summary = simulate(scenario, s3_log_url(settings), s3_client=s3, labels_path=labels)
    records = []
    for url in summary.objects:
        body = s3.get_object(Bucket=settings.bucket, Key=url.split("/", 3)[3])["Body"].read()
        records += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    assert len(records) == summary.records
    yield Sim(settings, labels, records, len(summary.objects))


def _run(sim: Sim, sql: str) -> list[dict[str, Any]]:
    with open_waf_logs(sim.settings, None, START, END) as con:
        result = run(con, sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def _interval(ts_ms: int, minutes: int) -> datetime:
    step = minutes * 60_000
    return datetime.fromtimestamp(ts_ms // step * step / 1000, UTC).replace(tzinfo=None)


def test_there_is_a_saved_query_for_each_ask() -> None:
    assert set(saved_names()) == {"counts", "bad_counts", "top", "bad_share", "distribution"}


def test_a_window_reads_only_the_objects_that_can_hold_it(sim: Sim) -> None:
    src = default_source(sim.settings)
    everything = list_objects(src, sim.settings)
    window = list_objects(src, sim.settings, T0 + timedelta(minutes=12), T0 + timedelta(minutes=14))
    assert len(everything) == sim.objects == 7
    # 10:15 only for the 5 minutes of slack a real WAF delivery has between a folder's time and its records
    assert [k.split("/")[-2] for k in window] == ["10", "15"]


def test_counts_per_interval_by_field(sim: Sim) -> None:
    got = _run(sim, render("counts", Params(START, END, interval_minutes=2)))
    expected: Counter = Counter()
    for r in sim.window():
        t, req, status = _interval(r["timestamp"], 2), r["httpRequest"], r.get("httpStatus")
        expected[(t, "action", r["action"])] += 1
        expected[(t, "httpSourceName", r["httpSourceName"])] += 1
        expected[(t, "httpStatus", "none" if status is None else f"{str(status)[0]}xx")] += 1
        expected[(t, "country", req["country"])] += 1
        expected[(t, "httpMethod", req["httpMethod"])] += 1
    assert {(g["interval_start"], g["field"], g["value"]): g["requests"] for g in got} == dict(expected)
    assert [(g["interval_start"], g["field"], g["value"]) for g in got] == sorted(expected)


def test_bad_counts_per_interval_match_the_catalogue_indicators(sim: Sim) -> None:
    got = _run(sim, render("bad_counts", Params(START, END, interval_minutes=1)))
    expected: dict[datetime, Counter] = defaultdict(Counter)
    for r in sim.window():
        row = expected[_interval(r["timestamp"], 1)]
        row["requests"] += 1
        row.update(indicators(r))
    assert len(got) == len(expected) == 26
    for g in got:
        want = expected[g.pop("interval_start")]
        assert g == {k: want[k] for k in g}


def test_top_client_ips_and_uris_in_the_window(sim: Sim) -> None:
    got = _run(sim, render("top", Params(START, END, limit=7)))
    for dimension, key, other in (("client_ip", "clientIp", "uri"), ("uri", "uri", "clientIp")):
        requests: Counter = Counter()
        not_allowed: Counter = Counter()
        distinct: dict[str, set[str]] = defaultdict(set)
        for r in sim.window():
            v = r["httpRequest"][key]
            requests[v] += 1
            not_allowed[v] += r["action"] != "ALLOW"
            distinct[v].add(r["httpRequest"][other])
        top = sorted(requests, key=lambda v: (-requests[v], v))[:7]
        rows = [g for g in got if g["dimension"] == dimension]
        assert [(g["place"], g["value"]) for g in rows] == list(enumerate(top, 1))
        for g in rows:
            v = g["value"]
            assert (g["requests"], g["not_allowed"], g["distinct_others"]) == (
                requests[v], not_allowed[v], len(distinct[v]),
            )  # fmt: skip
    assert len(got) == 14


def test_bad_share_inside_and_outside_each_labelled_window(sim: Sim) -> None:
    windows = read_labels(sim.labels)
    got = _run(sim, render("bad_share", Params(START, END, windows=windows)))
    assert [g["field"] for g in got] == ["country", "httpStatus", "httpMethod"]
    for g, w in zip(got, windows, strict=True):
        ind = SEED_FIELDS[w.field][0]
        inside = [r for r in sim.window() if w.start_ms <= r["timestamp"] < w.end_ms]
        outside = [r for r in sim.window() if not w.start_ms <= r["timestamp"] < w.end_ms]
        bad_in, bad_out = (sum(indicators(r)[ind] for r in rs) for rs in (inside, outside))
        assert g["window_start"] == datetime.fromtimestamp(w.start_ms / 1000, UTC).replace(tzinfo=None)
        assert g["intensity"] == w.intensity
        assert (g["requests_inside"], g["bad_inside"], g["requests_outside"], g["bad_outside"]) == (
            len(inside), bad_in, len(outside), bad_out,
        )  # fmt: skip
        assert g["share_inside"] == round(bad_in / len(inside), 4)
        assert g["share_outside"] == round(bad_out / len(outside), 4)
        assert g["share_inside"] > 3 * g["share_outside"]  # the anomaly is there


def _distribution(sim: Sim, windows: list) -> tuple[list[dict[str, Any]], dict[str, str], list[dict[str, Any]]]:
    sql, segs = render_distribution(Params(START, END, windows=windows))
    with open_waf_logs(sim.settings, None, START, END) as con:
        result = run(con, sql)
    rows, verdicts = check(segs, distribution_counts(result))
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows], verdicts, rows


def test_distribution_counts_and_verdicts_match_the_ground_truth(sim: Sim) -> None:
    windows = read_labels(sim.labels)
    got, verdicts, rows = _distribution(sim, windows)
    for g in got:
        ind = SEED_FIELDS[g["field"]][0]
        seg = [r for r in sim.window() if g["segment_start_ms"] <= r["timestamp"] < g["segment_end_ms"]]
        assert (g["requests"], g["bad"]) == (len(seg), sum(indicators(r)[ind] for r in seg))
    # 5 fields: 3 with a window inside the query window (3 segments each), 2 without (1 segment)
    assert len(got) == 3 * 3 + 2
    assert verdicts == dict.fromkeys(SEED_FIELDS, "matches")
    country = [r for r in rows if r["field"] == "country" and r["intensity_asked"] == 8.0]
    assert len(country) == 1 and 5 < country[0]["intensity_seen"] < 11


def test_distribution_says_when_the_data_is_not_what_was_asked(sim: Sim) -> None:
    from dataclasses import replace

    windows = read_labels(sim.labels)
    wrong = [replace(w, intensity=2.0) if w.field == "country" else w for w in windows]  # it was 8
    _got, verdicts, _rows = _distribution(sim, wrong)
    assert verdicts["country"].startswith("does NOT match")
    assert all(v == "matches" for f, v in verdicts.items() if f != "country")


def test_run_saved_is_the_rendered_query_and_the_ground_truth_check(sim: Sim, tmp_path: Path) -> None:
    params = saved_params("bad_counts", START, END, interval_minutes=5)
    assert (params.interval_minutes, params.limit, params.windows) == (5, 10, ())
    counts = run_saved(sim.settings, "bad_counts", params)
    assert [dict(zip(counts.columns, r, strict=True)) for r in counts.rows] == _run(sim, render("bad_counts", params))
    assert counts.verdicts == {} and not counts.mismatch
    assert render_saved("bad_counts", params) == (render("bad_counts", params), [])

    dist = run_saved(sim.settings, "distribution", saved_params("distribution", START, END, labels=sim.labels))
    assert dist.verdicts == dict.fromkeys(SEED_FIELDS, "matches") and not dist.mismatch
    rows = [dict(zip(dist.columns, r, strict=True)) for r in dist.rows]
    assert len(rows) == 3 * 3 + 2 and sum(r["requests"] for r in rows) == len(SEED_FIELDS) * len(sim.window())
    assert {r["verdict"] for r in rows} == {"ok"}

    wrong = tmp_path / "labels.json"  # the country window was x8
    wrong.write_text(json.dumps([{**lab, "intensity": 2.0} if lab["field"] == "country" else lab
                                 for lab in json.loads(sim.labels.read_text())]))  # fmt: skip
    bad = run_saved(sim.settings, "distribution", saved_params("distribution", START, END, labels=wrong))
    assert bad.mismatch and bad.verdicts["country"].startswith("does NOT match")


@pytest.mark.parametrize(("name", "start", "labels", "message"), [
    ("nope", START, None, "no saved query 'nope'"),
    ("counts", None, None, "saved query counts needs --start and --end"),
    ("bad_share", START, None, "bad_share needs the ground truth: --labels FILE"),
    ("distribution", START, Path("/no/labels.json"), "labels file '/no/labels.json' does not exist"),
])  # fmt: skip
def test_saved_params_say_what_is_missing(name: str, start: datetime | None, labels: Path | None, message: str) -> None:
    with pytest.raises(SavedQueryError, match=message):
        saved_params(name, start, END, labels=labels)
