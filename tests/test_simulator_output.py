"""Simulator output: WAF schema, S3 layout, determinism, ground truth, and the injected windows' statistics."""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from simulator import Scenario, parse_anomaly, simulate
from simulator.profile import NORMAL_BAD_RATE, diurnal
from wafad.catalogue import INDICATOR_FIELDS, SEED_FIELDS, indicators
from wafad.waf_schema import consistency_problems, parse_record, validate_record

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
ACCOUNT, REGION = "123456789012", "eu-west-2"
KEY = re.compile(
    r"AWSLogs/(?P<acct>\d{12})/WAFLogs/(?P<region>[\w-]+)/(?P<acl>[\w-]+)/(?P<y>\d{4})/(?P<mo>\d\d)/(?P<d>\d\d)/"
    r"(?P<h>\d\d)/(?P<mi>\d\d)/(?P=acct)_waflogs_(?P=region)_(?P=acl)_(?P=y)(?P=mo)(?P=d)T(?P=h)(?P=mi)Z_[0-9a-f]{8}"
    r"\.log\.gz$"
)


def run(tmp: Path, scenario: Scenario, **kw):
    return simulate(scenario, str(tmp), account=ACCOUNT, region=REGION, **kw)


def read_records(objects: list[str]) -> list[dict]:
    return [parse_record(line) for obj in objects for line in gzip.decompress(Path(obj).read_bytes()).splitlines()]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory):
    """One hour with an anomaly of every kind (small rate): the records and the summary."""
    tmp = tmp_path_factory.mktemp("mixed")
    specs = ["action@5m+5m[x8]", "httpSourceName@10m+5m", "httpStatus@15m+5m", "country@20m+5m", "httpMethod@25m+5m",
             "volume@30m+5m[x3]", "ip_flood@40m+5m[x3]", "uri_scan@50m+5m[x4]"]  # fmt: skip
    sc = Scenario(START, timedelta(hours=1), 5, [parse_anomaly(s, START) for s in specs], seed=11)
    summary = run(tmp, sc, labels_path=tmp / "labels.json")
    return summary, read_records(summary.objects), tmp


def test_every_record_passes_the_schema_and_consistency_checks(mixed) -> None:
    summary, records, _ = mixed
    assert len(records) == summary.records > 15000
    problems = {p for rec in records for p in validate_record(rec) + consistency_problems(rec)}
    assert problems == set()


def test_records_cover_the_schema_variety(mixed) -> None:
    _, records, _ = mixed
    seen = lambda key: {r.get(key) for r in records}  # noqa: E731
    assert seen("action") == {"ALLOW", "BLOCK", "CAPTCHA", "CHALLENGE"}
    assert seen("terminatingRuleType") == {"REGULAR", "RATE_BASED", "MANAGED_RULE_GROUP"}
    assert {"ALB", "APIGW", "CF", "-"} <= seen("httpSourceName")
    assert seen("responseCodeSent") == {None, 202, 405, 429}
    for r in records:
        if r["action"] == "ALLOW" and r["terminatingRuleId"] == "Default_Action":
            assert r["terminatingRuleType"] == "REGULAR"
        if r["action"] == "CAPTCHA":
            assert r["responseCodeSent"] == 405 and r["captchaResponse"]["failureReason"]
        if r["action"] == "CHALLENGE":
            assert r["responseCodeSent"] == 202 and r["challengeResponse"]["failureReason"]
        if r["action"] != "ALLOW":
            assert r["terminatingRuleId"] != "Default_Action"
        if r["terminatingRuleType"] == "RATE_BASED":
            assert r["rateBasedRuleList"][0]["limitValue"] == r["httpRequest"]["clientIp"]
    ips = {r["httpRequest"]["clientIp"] for r in records}
    assert any(":" in ip for ip in ips) and any("." in ip for ip in ips)
    assert all(isinstance(r["timestamp"], int) and isinstance(r["httpStatus"], int) for r in records)
    times = [r["timestamp"] for r in records]
    assert min(times) >= START.timestamp() * 1000 and max(times) < (START.timestamp() + 3600) * 1000


def test_object_layout_one_per_five_minutes(mixed) -> None:
    summary, _, tmp = mixed
    assert len(summary.objects) == 12
    for i, obj in enumerate(summary.objects):
        rel = Path(obj).relative_to(tmp).as_posix()
        m = KEY.match(rel)
        assert m, rel
        assert (m["acct"], m["region"], m["acl"]) == (ACCOUNT, REGION, "wafad-demo")
        block = START + timedelta(minutes=5 * i)
        assert (int(m["h"]), int(m["mi"])) == (block.hour, block.minute)
        lines = gzip.decompress(Path(obj).read_bytes()).splitlines()
        first, last = json.loads(lines[0])["timestamp"], json.loads(lines[-1])["timestamp"]
        assert block.timestamp() * 1000 <= first <= last < (block.timestamp() + 300) * 1000


def test_labels_file_is_the_ground_truth(mixed) -> None:
    summary, _, tmp = mixed
    labels = json.loads((tmp / "labels.json").read_text())
    assert labels == summary.labels and len(labels) == 8
    assert labels[0] == {"field": "action", "start": "2024-05-01T10:05:00Z", "end": "2024-05-01T10:10:00Z",
                         "intensity": 8.0}  # fmt: skip


def _window(records, labels, field):
    lab = next(x for x in labels if x["field"] == field)
    s = datetime.fromisoformat(lab["start"]).timestamp() * 1000
    e = datetime.fromisoformat(lab["end"]).timestamp() * 1000
    return [r for r in records if s <= r["timestamp"] < e]


def test_traffic_anomalies(mixed) -> None:
    summary, records, _ = mixed
    per_min = np.bincount([(r["timestamp"] // 1000 - int(START.timestamp())) // 60 for r in records], minlength=60)
    normal = np.median(per_min[:30])
    assert per_min[30:35].mean() > 2.5 * normal  # volume x3
    flood = _window(records, summary.labels, "ip_flood")
    (top_ip, top_n), *_ = Counter(r["httpRequest"]["clientIp"] for r in flood).most_common(1)
    assert top_n > 0.55 * len(flood)  # (k-1)/k = 2/3 of the window's traffic from one IP
    assert {r["action"] for r in flood if r["httpRequest"]["clientIp"] == top_ip} == {"ALLOW"}
    scan = _window(records, summary.labels, "uri_scan")
    scanner = [r for r in scan if r["httpRequest"]["headers"][1]["value"] == "Mozilla/5.0 zgrab/0.x"]
    assert len({r["httpRequest"]["clientIp"] for r in scanner}) == 1
    assert len({r["httpRequest"]["uri"] for r in scanner}) > 0.5 * len(scanner) > 100
    assert {r["httpStatus"] for r in scanner} == {403, 404}
    assert {r["action"] for r in scanner if r["httpStatus"] == 403} == {"BLOCK"}


def _indicator_matrix(records) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps, indicators as an (n, 5) 0/1 matrix in INDICATOR_FIELDS order)."""
    ts = np.array([r["timestamp"] for r in records], dtype=np.int64)
    ind = np.array([list(indicators(r).values()) for r in records], dtype=np.int64)
    assert list(indicators(records[0])) == list(INDICATOR_FIELDS)
    return ts, ind


def _z(bad: int, n: int, p: float) -> float:
    return (bad - n * p) / math.sqrt(n * p * (1 - p))


def test_each_seed_window_raises_only_its_own_field(tmp_path: Path) -> None:
    """Statistical (seeded): inside a field's window its bad fraction is ~k·p0; outside, and for other fields, p0."""
    k = 5.0
    fields = list(SEED_FIELDS)
    specs = [f"{f}@{5 + 15 * i}m+10m[x{k:g}]" for i, f in enumerate(fields)]
    sc = Scenario(START, timedelta(minutes=80), 8, [parse_anomaly(s, START) for s in specs], seed=3)
    summary = run(tmp_path, sc)
    ts, ind = _indicator_matrix(read_records(summary.objects))
    masks = {}
    for lab in summary.labels:
        s, e = (datetime.fromisoformat(lab[x]).timestamp() * 1000 for x in ("start", "end"))
        masks[lab["field"]] = (ts >= s) & (ts < e)
    outside = ~np.any(list(masks.values()), axis=0)
    for j, f in enumerate(fields):
        assert SEED_FIELDS[f][0] == INDICATOR_FIELDS[j]
        p0 = NORMAL_BAD_RATE[f]
        bad, n = int(ind[outside, j].sum()), int(outside.sum())
        assert abs(_z(bad, n, p0)) < 4.5, (f, "outside", bad / n, p0)
        inside = masks[f]
        bad, n = int(ind[inside, j].sum()), int(inside.sum())
        assert n > 4000
        assert abs(_z(bad, n, k * p0)) < 4.5 and bad / n > 3 * p0, (f, "inside", bad / n, k * p0)
        for jo, other in enumerate(fields):
            if other != f:
                bad = int(ind[inside, jo].sum())
                assert abs(_z(bad, n, NORMAL_BAD_RATE[other])) < 4.5, (f, other, bad / n, NORMAL_BAD_RATE[other])


def test_per_minute_counts_are_poisson_around_a_gentle_diurnal_curve(tmp_path: Path) -> None:
    start = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    sc = Scenario(start, timedelta(hours=3), 4, [], seed=5)
    summary = run(tmp_path, sc)
    ts = np.array([r["timestamp"] for r in read_records(summary.objects)])
    minutes = (ts // 1000 - int(start.timestamp())) // 60
    counts = np.bincount(minutes, minlength=180)
    expected = np.array([4 * 60 * np.mean(diurnal(start.timestamp() + 60 * m + np.arange(60))) for m in range(180)])
    assert abs(counts.sum() / expected.sum() - 1) < 0.03
    dispersion = np.mean((counts - expected) ** 2 / expected)
    assert 0.6 < dispersion < 1.5  # Poisson: variance ≈ mean
    day = diurnal(start.timestamp() + 60 * np.arange(24 * 60))
    assert day.min() > 0.69 and day.max() < 1.31 and np.abs(np.diff(day)).max() < 0.0015


def test_same_seed_same_bytes_and_blocks_are_independent(tmp_path: Path) -> None:
    anomalies = [parse_anomaly("httpStatus@7m+6m[x4]", START), parse_anomaly("uri_scan@2m+4m", START)]
    full = Scenario(START, timedelta(minutes=15), 6, anomalies, seed=42)
    a, b = run(tmp_path / "a", full), run(tmp_path / "b", full)
    rel = lambda s, root: [Path(o).relative_to(root).as_posix() for o in s.objects]  # noqa: E731
    assert rel(a, tmp_path / "a") == rel(b, tmp_path / "b")
    assert all(Path(x).read_bytes() == Path(y).read_bytes() for x, y in zip(a.objects, b.objects, strict=True))
    # the middle block alone (another scenario window, same seed and anomalies) is the same object
    middle = Scenario(START + timedelta(minutes=5), timedelta(minutes=5), 6, anomalies, seed=42)
    c = run(tmp_path / "c", middle)
    assert rel(c, tmp_path / "c") == rel(a, tmp_path / "a")[1:2]
    assert Path(c.objects[0]).read_bytes() == Path(a.objects[1]).read_bytes()
    other = run(tmp_path / "d", Scenario(START, timedelta(minutes=15), 6, anomalies, seed=43))
    assert Path(other.objects[0]).read_bytes() != Path(a.objects[0]).read_bytes()


def test_unaligned_window_and_progress(tmp_path: Path) -> None:
    start = START + timedelta(minutes=2, seconds=30)
    calls = []
    sc = Scenario(start, timedelta(minutes=6), 3, [], seed=1)
    summary = run(tmp_path, sc, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    ts = [r["timestamp"] for r in read_records(summary.objects)]
    assert min(ts) >= start.timestamp() * 1000 and max(ts) < (start.timestamp() + 360) * 1000
    assert len(ts) == summary.records
