"""The capacity and cost model: plain functions from a workload (:class:`Workload`) to dataclasses, one per AWS part.

Every figure comes from :mod:`capacity.prices` (quotas, list prices, measured per-record costs) and the arithmetic
here, which the tests check against hand-computed examples. Rates are the peak you size for; costs assume that rate
all month (730 hours). Lambda CPU is allocated in proportion to memory (1 vCPU at 1,769 MB) and the handlers are
single-threaded, so a per-record cost measured on one core is divided by ``min(1, memory / 1769)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from capacity import prices as p
from capacity.opensearch import ADPlan, OpenSearchPlan, ad_model_bytes, ad_plan, ceil_exact, opensearch_plan
from ingest import kpl
from ingest.kinesis_writer import MAX_AGGREGATE_BYTES

SECONDS_PER_MONTH = p.HOURS_PER_MONTH * 3600
#: ``{"event_id":"<32 hex>",`` spliced into each line by the S3 -> Kinesis Lambda (ingest.s3_to_kinesis_core).
EVENT_ID_BYTES = len('"event_id":"",') + 32
PARTITION_KEY_BYTES = 32  # the partition key is the event id
FIREHOSE_LAMBDA_BUFFER_MB = 1.0  # ingest/firehose_stream.py: BufferSizeInMBs 1, BufferIntervalInSeconds 60
FIREHOSE_LAMBDA_INTERVAL_S = 60
FIREHOSE_OS_BUFFER_MB = 5  # ingest/firehose_stream.py: BufferingHints SizeInMBs 5, IntervalInSeconds 60
FIREHOSE_OS_INTERVAL_S = 60
LAMBDA_TIMEOUTS_S = {"s3_to_kinesis": 300, "firehose_transform": 120}  # ingest/lambda_functions.py


class CapacityError(ValueError):
    """A workload the model cannot size (bad input); the message is one line for the user."""


@dataclass(frozen=True)
class Workload:
    records_per_second: float
    avg_bytes: float = p.MEASURED["avg_record_bytes"]
    retention_days: int = 14
    replicas: int = 1
    region: str = p.REGION
    lambda_memory_mb: int = 512
    arch: str = "x86_64"
    transform_us: float = p.MEASURED["transform_us_per_record"]
    relay_us: float = p.MEASURED["relay_us_per_record"]
    gzip_ratio: float = p.MEASURED["gzip_ratio"]
    aggregate: bool = True
    hc_entities: int = 250
    features_per_hc_detector: int = 1

    def __post_init__(self) -> None:
        checks = {
            "--records-per-second": self.records_per_second,
            "--avg-bytes": self.avg_bytes,
            "--memory-mb": self.lambda_memory_mb,
            "--transform-us": self.transform_us,
            "--relay-us": self.relay_us,
            "--gzip-ratio": self.gzip_ratio,
        }
        for flag, value in checks.items():
            if not value > 0 or math.isinf(value):
                raise CapacityError(f"{flag} must be a positive number, got {value}")
        if self.retention_days < 1:
            raise CapacityError(f"--retention-days must be at least 1, got {self.retention_days}")
        if self.replicas < 0:
            raise CapacityError(f"--replicas must be 0 or more, got {self.replicas}")
        if self.hc_entities < 0:
            raise CapacityError(f"--hc-entities must be 0 or more, got {self.hc_entities}")
        if not 1 <= self.features_per_hc_detector <= p.QUOTAS["ad_max_features"]:
            raise CapacityError(f"--hc-features must be 1..{p.QUOTAS['ad_max_features']:.0f}")
        if self.avg_bytes + EVENT_ID_BYTES + PARTITION_KEY_BYTES > p.QUOTAS["kinesis_record_max_bytes"]:
            raise CapacityError(f"--avg-bytes {self.avg_bytes:.0f} does not fit a 1 MiB Kinesis record")
        if not 128 <= self.lambda_memory_mb <= 10240:
            raise CapacityError(f"--memory-mb must be 128..10240 (Lambda's range), got {self.lambda_memory_mb}")
        if self.arch not in ("x86_64", "arm64"):
            raise CapacityError(f"--arch must be x86_64 or arm64, got {self.arch!r}")
        if self.region != p.REGION:
            raise CapacityError(
                f"no prices for region {self.region!r}: the table in capacity/prices.py holds {p.REGION} only"
            )

    @property
    def bytes_per_second(self) -> float:
        return self.records_per_second * self.avg_bytes


@dataclass
class KinesisPlan:
    aggregated: bool
    user_bytes_per_record: float  # a line with its event id, as it goes on the stream
    lines_per_kinesis_record: int
    kinesis_records_per_s: float
    bytes_per_s: float  # data + partition keys, what the 1 MB/s shard limit counts
    shards_by_bytes: int
    shards_by_records: int
    shards: int
    provisioned_month: float
    ondemand_month: float


def kinesis_plan(w: Workload) -> KinesisPlan:
    user = w.avg_bytes + EVENT_ID_BYTES
    if w.aggregate:
        per_line = kpl.record_overhead(math.ceil(user), "k" * PARTITION_KEY_BYTES) + (user - math.ceil(user))
        lines = max(1, int(MAX_AGGREGATE_BYTES // per_line))
        rec_s = w.records_per_second / lines
        bytes_s = w.records_per_second * per_line + rec_s * PARTITION_KEY_BYTES
    else:
        lines = 1
        rec_s = w.records_per_second
        bytes_s = w.records_per_second * (user + PARTITION_KEY_BYTES)
    by_bytes = ceil_exact(bytes_s / p.QUOTAS["kinesis_shard_bytes_per_s"])
    by_records = ceil_exact(rec_s / p.QUOTAS["kinesis_shard_records_per_s"])
    shards = max(1, by_bytes, by_records)
    record_bytes = bytes_s / rec_s
    units = math.ceil(record_bytes / p.PRICES["kinesis_put_payload_unit_bytes"])
    provisioned = shards * p.PRICES["kinesis_shard_hour"] * p.HOURS_PER_MONTH + (
        rec_s * units * SECONDS_PER_MONTH / 1e6 * p.PRICES["kinesis_put_payload_units_per_million"]
    )
    rounded = (
        math.ceil(record_bytes / p.PRICES["kinesis_ondemand_round_bytes"]) * p.PRICES["kinesis_ondemand_round_bytes"]
    )
    gb_in = rec_s * rounded * SECONDS_PER_MONTH / p.GIB
    gb_out = bytes_s * SECONDS_PER_MONTH / p.GIB
    ondemand = (
        p.PRICES["kinesis_ondemand_stream_hour"] * p.HOURS_PER_MONTH
        + gb_in * p.PRICES["kinesis_ondemand_gb_in"]
        + gb_out * p.PRICES["kinesis_ondemand_gb_out"]
    )
    return KinesisPlan(w.aggregate, user, lines, rec_s, bytes_s, by_bytes, by_records, shards, provisioned, ondemand)


@dataclass
class LambdaPlan:
    function: str
    memory_mb: int
    us_per_record: float  # at one full vCPU, from capacity.prices.MEASURED or the flag
    cpu_share: float
    invocations_per_s: float
    records_per_invocation: float
    duration_s: float
    concurrency: float  # Little's law: invocations/s x duration = records/s x effective cost per record
    timeout_s: int
    cost_month: float
    warnings: list[str] = field(default_factory=list)


def _lambda(w: Workload, name: str, us: float, invocations_per_s: float) -> LambdaPlan:
    share = min(1.0, w.lambda_memory_mb / p.QUOTAS["lambda_mb_per_vcpu"])
    per_inv = w.records_per_second / invocations_per_s
    duration = per_inv * us / 1e6 / share
    concurrency = invocations_per_s * duration
    gb_s = invocations_per_s * SECONDS_PER_MONTH * duration * w.lambda_memory_mb / 1024
    cost = gb_s * p.PRICES[f"lambda_gb_second_{w.arch}"] + (
        invocations_per_s * SECONDS_PER_MONTH / 1e6 * p.PRICES["lambda_request_per_million"]
    )
    timeout = LAMBDA_TIMEOUTS_S[name]
    warnings = []
    if duration > timeout:
        warnings.append(f"{name}: {duration:.0f} s per invocation exceeds its {timeout} s timeout")
    if concurrency > p.QUOTAS["lambda_concurrency_default"] / 2:
        warnings.append(f"{name}: concurrency {concurrency:.0f} is over half the default 1,000 per Region quota")
    return LambdaPlan(
        name, w.lambda_memory_mb, us, share, invocations_per_s, per_inv, duration, concurrency, timeout, cost, warnings
    )


def s3_objects_per_interval(w: Workload) -> int:
    """WAF log files per 5-minute interval: a new file when one reaches 75 MB (at least one per interval)."""
    gz = w.bytes_per_second * p.QUOTAS["waf_s3_file_interval_s"] / w.gzip_ratio
    return max(1, ceil_exact(gz / p.QUOTAS["waf_s3_file_max_bytes"]))


def relay_plan(w: Workload) -> LambdaPlan:
    """The S3 -> Kinesis Lambda: one invocation per WAF log object (CPU only: PutRecords round trips come on top)."""
    inv_s = s3_objects_per_interval(w) / p.QUOTAS["waf_s3_file_interval_s"]
    return _lambda(w, "s3_to_kinesis", w.relay_us, inv_s)


def transform_plan(w: Workload) -> LambdaPlan:
    """The Firehose transform Lambda: one invocation per 1 MB buffer, or per 60 s when less arrives."""
    buffer_bytes = FIREHOSE_LAMBDA_BUFFER_MB * p.MIB
    inv_s = max(w.bytes_per_second / buffer_bytes, 1 / FIREHOSE_LAMBDA_INTERVAL_S)
    return _lambda(w, "firehose_transform", w.transform_us, inv_s)


@dataclass
class FirehosePlan:
    lambda_buffer_mb: float
    buffer_mb_configured: int
    buffer_mb_suggested: int  # >= 10 s of ingest (BufferingHints guidance), within the OpenSearch destination's range
    buffer_interval_s: int
    bulk_requests_per_s: float
    docs_per_bulk: float
    billed_gb_month: float
    billed_gb_month_if_per_line: float  # if Firehose rounded each de-aggregated line up to 5 KB instead
    cost_month: float


def tiered(amount: float, tiers: tuple[tuple[float, float], ...]) -> float:
    """Cost of ``amount`` units through (units in tier, price per unit) tiers."""
    cost, left = 0.0, amount
    for size, price in tiers:
        take = min(left, size)
        cost += take * price
        left -= take
        if left <= 0:
            break
    return cost


def firehose_plan(w: Workload, kinesis: KinesisPlan) -> FirehosePlan:
    out_bytes_s = w.bytes_per_second * p.MEASURED["transform_growth"]
    suggested = min(
        p.QUOTAS["firehose_buffer_mb_max_opensearch"],
        max(FIREHOSE_OS_BUFFER_MB, ceil_exact(out_bytes_s * p.QUOTAS["firehose_buffer_seconds_of_ingest"] / p.MIB)),
    )
    bulk_s = max(out_bytes_s / (suggested * p.MIB), 1 / FIREHOSE_OS_INTERVAL_S)
    rnd = p.PRICES["firehose_round_bytes"]
    record_bytes = kinesis.bytes_per_s / kinesis.kinesis_records_per_s
    billed = kinesis.kinesis_records_per_s * math.ceil(record_bytes / rnd) * rnd * SECONDS_PER_MONTH / p.GIB
    per_line = w.records_per_second * math.ceil(w.avg_bytes / rnd) * rnd * SECONDS_PER_MONTH / p.GIB
    return FirehosePlan(
        FIREHOSE_LAMBDA_BUFFER_MB,
        FIREHOSE_OS_BUFFER_MB,
        int(suggested),
        FIREHOSE_OS_INTERVAL_S,
        bulk_s,
        w.records_per_second / bulk_s,
        billed,
        per_line,
        tiered(billed, p.FIREHOSE_TIERS),
    )


@dataclass
class S3Plan:
    gzip_ratio: float
    gz_gib_per_day: float
    stored_gib: float  # steady state: retention days of raw logs
    objects_per_day: int
    cost_month: float


def s3_plan(w: Workload) -> S3Plan:
    gz_day = w.bytes_per_second * 86400 / w.gzip_ratio / p.GIB
    stored = gz_day * w.retention_days
    objects = s3_objects_per_interval(w) * (86400 // p.QUOTAS["waf_s3_file_interval_s"])
    requests = objects * 30.4 / 1000  # a month of objects: one PUT (WAF) and one GET (the Lambda) each
    cost = (
        tiered(stored, p.S3_TIERS)
        + requests * p.PRICES["s3_put_per_thousand"]
        + requests * p.PRICES["s3_get_per_thousand"]
    )
    return S3Plan(w.gzip_ratio, gz_day, stored, int(objects), cost)


@dataclass
class CapacityPlan:
    workload: Workload
    kinesis: KinesisPlan
    relay: LambdaPlan
    transform: LambdaPlan
    firehose: FirehosePlan
    s3: S3Plan
    opensearch: OpenSearchPlan
    ad: ADPlan
    costs: dict[str, float]
    total_month: float
    prices_read: str = p.PRICES_READ
    warnings: list[str] = field(default_factory=list)


def plan(w: Workload) -> CapacityPlan:
    """Size every part for the workload and price it."""
    kinesis = kinesis_plan(w)
    relay, transform = relay_plan(w), transform_plan(w)
    firehose, s3 = firehose_plan(w, kinesis), s3_plan(w)
    doc_bytes = w.avg_bytes * p.MEASURED["transform_growth"]
    ad_bytes = ad_model_bytes(w.hc_entities, w.features_per_hc_detector)
    os_plan = opensearch_plan(w.records_per_second, doc_bytes, w.retention_days, w.replicas, ad_bytes)
    ad = ad_plan(os_plan, w.hc_entities, w.features_per_hc_detector)
    mode = "provisioned" if kinesis.provisioned_month <= kinesis.ondemand_month else "on-demand"
    costs = {
        f"kinesis ({mode})": min(kinesis.provisioned_month, kinesis.ondemand_month),
        "lambda s3_to_kinesis": relay.cost_month,
        "lambda firehose_transform": transform.cost_month,
        "firehose": firehose.cost_month,
        "s3": s3.cost_month,
        "opensearch": os_plan.cost_month,
    }
    warnings = [*relay.warnings, *transform.warnings, *os_plan.warnings, *ad.warnings]
    return CapacityPlan(
        w, kinesis, relay, transform, firehose, s3, os_plan, ad, costs, sum(costs.values()), warnings=warnings
    )
