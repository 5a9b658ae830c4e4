"""`wafad capacity`: the model's figures against examples computed by hand (the arithmetic is in the comments), the
edge cases, and the JSON output against the tables."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from capacity import prices as p
from capacity.model import CapacityError, Workload, kinesis_plan, plan, relay_plan, s3_plan, transform_plan
from capacity.opensearch import trcf_model_bytes, usable_gib, volume_for
from wafad.cli import app

#: 1,000 records/s of 1,500 bytes, one replica, 14 days, Lambdas at 512 MB: the running example.
W = Workload(1000, avg_bytes=1500)


def test_kinesis_shards_by_bytes_and_records() -> None:
    # Not aggregated: each line gets the 46-byte event id ('"event_id":"' + 32 hex + '",') and a 32-byte key:
    # 1,000 x (1,500 + 46 + 32) = 1,578,000 B/s = 1.50 MiB/s -> 2 shards by bytes; 1,000 records/s -> 1; so 2.
    k = kinesis_plan(Workload(1000, avg_bytes=1500, aggregate=False))
    assert k.bytes_per_s == 1_578_000
    assert (k.shards_by_bytes, k.shards_by_records, k.shards) == (2, 1, 2)
    # Aggregated (KPL): a line costs 1,546 + 32 (key) + 24 (framing) = 1,602 B inside an aggregate of at most
    # 1 MiB - 4 KiB = 1,044,480 B -> floor(1,044,480 / 1,602) = 651 lines per record, 1,000 / 651 = 1.536 records/s;
    # 1,602,000 + 1.536 x 32 B/s = 1.53 MiB/s -> still 2 shards by bytes, 1 by records.
    k = kinesis_plan(W)
    assert k.lines_per_kinesis_record == 651
    assert k.kinesis_records_per_s == pytest.approx(1000 / 651)
    assert (k.shards_by_bytes, k.shards_by_records, k.shards) == (2, 1, 2)
    # 10,000 small lines of 100 B, not aggregated: 10,000 x 178 B = 1.70 MiB/s -> 2 by bytes, but 10 by records.
    k = kinesis_plan(Workload(10_000, avg_bytes=100, aggregate=False))
    assert (k.shards_by_bytes, k.shards_by_records, k.shards) == (2, 10, 10)
    # ... and aggregation turns that into 2 shards: records/s are no longer the limit.
    assert kinesis_plan(Workload(10_000, avg_bytes=100)).shards == 2


def test_kinesis_costs() -> None:
    # Provisioned: 2 shards x $0.015 x 730 h = $21.90; each ~1,042,932 B record is ceil(/25,600) = 41 PUT payload
    # units: 1.536 records/s x 41 x 2,628,000 s = 165.5 M units x $0.014 / M = $2.317 -> $24.22.
    k = kinesis_plan(W)
    assert k.provisioned_month == pytest.approx(21.90 + (1000 / 651) * 41 * 2_628_000 / 1e6 * 0.014)
    assert k.provisioned_month == pytest.approx(24.22, abs=0.01)
    # On-demand: $0.04 x 730 = $29.20 a stream, + GB in (each record rounded up to 1 KiB: 1,043,456 B x 1.536/s
    # x 2,628,000 s = 3,919 GiB x $0.08 = $313.5) + GB out (1,602,049 B/s x 2,628,000 s = 3,921 GiB x $0.04 = $156.8).
    assert k.ondemand_month == pytest.approx(29.20 + 313.5 + 156.8, abs=0.5)


def test_lambda_concurrency_by_littles_law() -> None:
    # Transform at 512 MB: CPU share 512 / 1,769 = 0.2894; concurrency = 1,000 records/s x 19.6 us / 0.2894
    # = 0.0677; one invocation per 1 MiB: 1,500,000 / 1,048,576 = 1.431 /s, so 699 records and 0.0473 s each.
    t = transform_plan(W)
    assert t.cpu_share == pytest.approx(0.28943, abs=1e-5)
    assert t.concurrency == pytest.approx(0.0677, abs=1e-4)
    assert t.invocations_per_s == pytest.approx(1.4305, abs=1e-4)
    assert t.duration_s == pytest.approx(0.0473, abs=1e-4)
    # Cost: 0.0677 x 2,628,000 s x 0.5 GB = 88,984 GB-s x $0.0000166667 = $1.483, + 3.759 M requests x $0.20 = $0.752.
    assert t.cost_month == pytest.approx(1.483 + 0.752, abs=0.005)
    # At 1,769 MB the function has a whole vCPU: 100,000 records/s x 19.6 us = 1.96 concurrent executions.
    assert transform_plan(Workload(100_000, avg_bytes=1500, lambda_memory_mb=1769)).concurrency == pytest.approx(1.96)
    # S3 -> Kinesis: 1,000 x 1,500 B x 300 s / 17.35 = 25.9 MB of gzip per 5 minutes, under 75 MB: one object,
    # 300,000 lines of 22.3 us / 0.2894 = 23.1 s; 1/300 invocations/s x 23.1 s = 0.077 concurrent.
    r = relay_plan(W)
    assert r.invocations_per_s == pytest.approx(1 / 300)
    assert r.records_per_invocation == 300_000
    assert r.duration_s == pytest.approx(23.11, abs=0.01)
    assert r.concurrency == pytest.approx(0.0770, abs=1e-4)
    # 10x the rate: 259 MB per 5 minutes -> ceil(259 / 75) = 4 objects, 750,000 lines each, 57.8 s each.
    r10 = relay_plan(Workload(10_000, avg_bytes=1500))
    assert r10.invocations_per_s == pytest.approx(4 / 300)
    assert r10.duration_s == pytest.approx(750_000 * 22.3e-6 / (512 / 1769), rel=1e-9)


def test_index_size_shards_and_nodes() -> None:
    # Documents: 1,500 B x 1.008 (the transform's added fields) = 1,512 B; a day: 1,000 x 86,400 x 1,512 B x 1.1
    # (index overhead) = 143.7 GB = 133.8 GiB -> ceil(133.8 / 50) = 3 primaries of 44.6 GiB.
    os_ = plan(W).opensearch
    assert os_.primary_gib_per_day == pytest.approx(1000 * 86400 * 1512 * 1.1 / 2**30)
    assert os_.primary_gib_per_day == pytest.approx(133.83, abs=0.01)
    assert os_.primaries_per_index == 3
    assert os_.shard_gib == pytest.approx(44.61, abs=0.01)
    # Kept: 14 days + today = 15 indices, x 2 copies: 4,014.9 GiB and 3 x 2 x 15 = 90 shards.
    assert os_.store_gib == pytest.approx(133.83 * 2 * 15, abs=0.2)
    assert os_.shards_total == 90
    # r6g.large: a 2,048 GiB volume holds 2,048 x 0.95 - 20 = 1,925.6 GiB, filled to 85 % = 1,636.8 GiB -> 4,014.9 /
    # 1,636.8 = 2.45 -> 3 nodes by storage; 90 shards / (25 x 8 GiB heap) -> 1; at least replicas + 1 = 2: 3 nodes.
    large = next(o for o in os_.options if o.instance == "r6g.large.search")
    assert (large.nodes_by_storage, large.nodes_by_shards, large.nodes) == (3, 1, 3)
    # Each holds 1,338.3 GiB: / 0.85 = 1,574.5, + 20 GiB reserved, / 0.95 -> a 1,679 GiB volume; cost
    # 3 x ($0.167 x 730 + 1,679 x $0.122) = 3 x ($121.91 + $204.84) = $980.24.
    assert large.volume_gib == 1679
    assert large.cost_month == pytest.approx(980.24, abs=0.01)
    assert usable_gib(100) == pytest.approx(75)  # small volumes: 5 % + 20 % reserved
    assert volume_for(63.75) == 100  # 63.75 / 0.85 = 75 usable -> 100 GiB
    # The domain's price adds three m6g.large masters: 3 x $0.128 x 730 = $280.32.
    best = next(o for o in os_.options if o.instance == os_.instance)
    assert os_.cost_month == pytest.approx(best.cost_month + 280.32)
    assert best.cost_month == min(o.cost_month for o in os_.options if o.nodes <= 80)


def test_ad_limits_and_entity_models() -> None:
    # AD's estimateTRCFModelSize for 1 feature x shingle 8 = dimension 8, 50 trees, 256 samples, no box cache:
    # 152 + 4x8x0.18x256x50 (73,728) + 64x8 (512) + 4x256x50 (51,200; 8 x 12,801 >= 65,535 so 4-byte points)
    # + 4x8 (32) + 256x50 (12,800) + 50 x (10x256+208 + 8x256 + 352 = 5,168) (258,400) + 3,944 = 400,768 bytes.
    assert trcf_model_bytes(1) == 400_768
    ad = plan(W).ad
    assert ad.model_bytes_per_entity == 400_768
    # r6g.large: 16 GiB RAM, heap 8 GiB, AD's 10 % = 858,993,459 B / 400,768 = 2,143 models per node.
    if plan(W).opensearch.instance == "r6g.large.search":
        assert ad.models_per_node == 2143
    assert ad.max_hc_detectors == 10 and ad.max_detectors == 1000
    assert ad.hc_entities_fit == ad.models_per_node * plan(W).opensearch.data_nodes
    # A million entities cannot fit a 3-node domain's AD share: the plan grows nodes for AD memory.
    big = plan(Workload(1000, avg_bytes=1500, hc_entities=100_000))
    assert big.ad.hc_entities_fit >= big.ad.hc_entities_needed
    assert max(o.nodes_by_ad for o in big.opensearch.options) > 1


def test_s3_and_total() -> None:
    # gzip per day: 1,000 x 1,500 B x 86,400 / 17.35 = 7.47 GB = 6.96 GiB; 14 days = 97.4 GiB x $0.023 = $2.24,
    # + 288 objects a day x 30.4 days = 8,755 PUTs ($0.044) and GETs ($0.0035).
    s3 = s3_plan(W)
    assert s3.gz_gib_per_day == pytest.approx(1000 * 1500 * 86400 / 17.35 / 2**30)
    assert s3.objects_per_day == 288
    assert s3.cost_month == pytest.approx(s3.stored_gib * 0.023 + 8.7552 * 0.005 + 8.7552 * 0.0004)
    pl = plan(W)
    assert pl.total_month == pytest.approx(sum(pl.costs.values()))
    assert set(pl.costs) >= {"s3", "opensearch", "firehose", "lambda s3_to_kinesis", "lambda firehose_transform"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "0"], "--records-per-second must be a positive number"),
        (["-r", "-5"], "--records-per-second must be a positive number"),
        (["-r", "1000", "--avg-bytes", "0"], "--avg-bytes must be a positive number"),
        (["-r", "1000", "--retention-days", "0"], "--retention-days must be at least 1"),
        (["-r", "1000", "--region", "eu-west-1"], "no prices for region 'eu-west-1'"),
        (["-r", "1000", "--memory-mb", "64"], "--memory-mb must be 128..10240"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["capacity", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    with pytest.raises(CapacityError):
        Workload(0)


def test_json_parses_and_matches_the_tables() -> None:
    runner = CliRunner()
    as_json = runner.invoke(app, ["capacity", "-r", "10000", "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["workload"]["records_per_second"] == 10000
    assert data["prices_read"] == p.PRICES_READ
    assert data["kinesis"]["shards"] == plan(Workload(10000)).kinesis.shards
    tables = runner.invoke(app, ["capacity", "-r", "10000"], env={"COLUMNS": "200"})
    assert tables.exit_code == 0, tables.output
    text = tables.output
    assert f"${data['total_month']:,.2f}" in text
    assert f"{data['opensearch']['data_nodes']} x {data['opensearch']['instance']}" in text
    for part, cost in data["costs"].items():
        assert part in text and f"${cost:,.2f}" in text
    assert f"{data['ad']['hc_entities_fit']:,}" in text
