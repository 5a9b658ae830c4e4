"""AWS quotas, list prices and measured per-record costs that ``wafad capacity`` sizes with: ONE table, dated.

Every number has its source in a comment. Prices are us-east-1 on-demand list prices. The AWS pricing pages render
their price tables with JavaScript, and the stored copies read through the project's search tool hold the prose
but not the tables, so a price marked "(table not in the stored copy)" is the figure those pages list, as we read
it on PRICES_READ: check it against the page before you commit to a budget. A figure that could not be found
anywhere is marked ASSUMPTION.
"""

from __future__ import annotations

from typing import Final

#: When the prices below were read.
PRICES_READ: Final = "2026-12-04"
#: The only region whose prices are in the table.
REGION: Final = "us-east-1"
#: AWS bills a month as 730 hours (https://aws.amazon.com/kinesis/data-streams/pricing/ worked examples use 730).
HOURS_PER_MONTH: Final = 730.0
MIB: Final = 1024 * 1024
GIB: Final = 1024**3

QUOTAS: Final[dict[str, float]] = {
    # https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html and
    # https://docs.aws.amazon.com/streams/latest/dev/working-with-streams.html: "A shard supports 1 MB/s and 1000
    # records per second for writes" (PutRecords' API reference spells the byte limit as 1 MiB per second).
    "kinesis_shard_bytes_per_s": 1 * MIB,
    "kinesis_shard_records_per_s": 1000,
    # same quotas page: the largest data blob of one record, 1 MiB (ingest/kinesis_writer.py MAX_RECORD_BYTES).
    "kinesis_record_max_bytes": 1 * MIB,
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 1,000 concurrent executions per
    # Region by default (raisable), 900 s maximum timeout, 6 MB synchronous request/response payload.
    "lambda_concurrency_default": 1000,
    "lambda_timeout_max_s": 900,
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: "At 1,769 MB, a function has the
    # equivalent of one vCPU"; CPU is allocated in proportion to memory below that. The handlers are
    # single-threaded, so more memory than this buys no speed.
    "lambda_mb_per_vcpu": 1769,
    # https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html: the Lambda buffering size hint is
    # 0.2-3 MB (default 1 MB), interval 0-900 s (default 60 s); a Lambda invocation may run up to 5 minutes.
    "firehose_lambda_buffer_mb_min": 0.2,
    "firehose_lambda_buffer_mb_max": 3,
    "firehose_lambda_timeout_s": 300,
    # https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html: SizeInMBs 1-128 (default 5),
    # IntervalInSeconds 0-900 (default 300); "set [size] to a value greater than the amount of data you typically
    # ingest into the Firehose stream in 10 seconds". ASSUMPTION: the OpenSearch destination caps the size at
    # 100 MB (the Firehose console's range for OpenSearch; not found in the stored documentation).
    "firehose_buffer_mb_max_opensearch": 100,
    "firehose_buffer_seconds_of_ingest": 10,
    "firehose_buffer_interval_max_s": 900,
    # https://docs.aws.amazon.com/waf/latest/developerguide/logging-s3.html: WAF publishes a log file every
    # 5 minutes, at most 75 MB each (a new file starts when one fills). ASSUMPTION as to exact wording: the page
    # was not in the stored corpus; these are the figures it has stated since S3 logging launched.
    "waf_s3_file_interval_s": 300,
    "waf_s3_file_max_bytes": 75 * 1000 * 1000,
    # https://docs.aws.amazon.com/opensearch-service/latest/developerguide/bp-storage.html: index overhead ~10 % of
    # the source, Linux reserves 5 %, the service reserves 20 % of each instance's storage (at most 20 GiB).
    "os_index_overhead": 0.10,
    "os_linux_reserved": 0.05,
    "os_service_reserved": 0.20,
    "os_service_reserved_max_gib": 20,
    # https://docs.aws.amazon.com/opensearch-service/latest/developerguide/bp-sharding.html: shards of 10-30 GiB
    # for search, 30-50 GiB for logs; at most 25 shards per GiB of JVM heap.
    "os_shard_gib_min": 10,
    "os_shard_gib_max": 50,
    "os_shards_per_heap_gib": 25,
    # ASSUMPTION (developerguide/limits.html was not in the stored corpus): 80 data nodes per domain by default,
    # more on request; options needing more are shown but not chosen.
    "os_max_data_nodes": 80,
    # OpenSearch's cluster.routing.allocation.disk.watermark.low default (85 %): above it no new shard is placed.
    # https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/cluster-settings/
    "os_disk_watermark_low": 0.85,
    # https://docs.aws.amazon.com/opensearch-service/latest/developerguide/bp.html: JVM heap is half the instance
    # RAM, up to about 32 GiB (compressed object pointers).
    "os_heap_fraction": 0.5,
    "os_heap_max_gib": 32,
    # AD plugin settings, https://docs.opensearch.org/docs/observing-your-data/ad/settings and
    # ad/settings/AnomalyDetectorSettings.java (see /work/shared/notes/opensearch_ad.md section 10):
    "ad_max_detectors": 1000,  # plugins.anomaly_detection.max_anomaly_detectors (single-stream)
    "ad_max_hc_detectors": 10,  # plugins.anomaly_detection.max_multi_entity_anomaly_detectors
    "ad_max_features": 5,  # plugins.anomaly_detection.max_anomaly_features
    "ad_category_field_limit": 2,  # plugins.anomaly_detection.category_field_limit
    "ad_model_max_size_percent": 0.10,  # plugins.anomaly_detection.model_max_size_percent: AD's share of the heap
    "ad_dedicated_cache_size": 10,  # plugins.anomaly_detection.dedicated_cache_size: entity models kept per node
    "ad_max_entities_per_query": 1_000_000,  # plugins.anomaly_detection.max_entities_per_query
    "ad_top_entities_historical": 1000,  # max_top_entities_for_historical_analysis
}

#: AD's real-time forest (timeseries/settings/TimeSeriesSettings.java): 50 trees, 256 samples, shingle 8, and a
#: bounding-box cache of 0 in real time (REAL_TIME_BOUNDING_BOX_CACHE_RATIO).
AD_FOREST: Final = {"trees": 50, "samples": 256, "shingle": 8, "bounding_box_cache": 0.0}

PRICES: Final[dict[str, float]] = {
    # --- Kinesis Data Streams, https://aws.amazon.com/kinesis/data-streams/pricing/ (table not in the stored copy)
    "kinesis_shard_hour": 0.015,  # provisioned, per shard-hour
    "kinesis_put_payload_units_per_million": 0.014,  # provisioned: one unit per 25 KB (or part) of a record
    "kinesis_put_payload_unit_bytes": 25 * 1024,  # the page: "a 5KB record contains one PUT Payload Unit"
    "kinesis_ondemand_stream_hour": 0.04,  # on-demand, per stream-hour
    "kinesis_ondemand_gb_in": 0.08,  # on-demand data in, each record rounded up to 1 KB (stated on the page)
    "kinesis_ondemand_gb_out": 0.04,  # on-demand data retrieval (Firehose reading the stream)
    "kinesis_ondemand_round_bytes": 1024,
    # --- Lambda, https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html (stored copy:
    # "$0.20 per 1 million requests", "$0.00001667 for every GB-second") and https://aws.amazon.com/lambda/pricing/
    # (arm64 price: table not in the stored copy). Free tier (1M requests, 400,000 GB-s a month) not deducted.
    "lambda_request_per_million": 0.20,
    "lambda_gb_second_x86_64": 0.0000166667,
    "lambda_gb_second_arm64": 0.0000133334,
    # --- Amazon Data Firehose, https://aws.amazon.com/firehose/pricing/ (table not in the stored copy): ingestion
    # from a Kinesis data stream or Direct PUT per GB, each record rounded up to 5 KB; tiers per month below.
    # Delivery to a public OpenSearch endpoint has no extra charge (VPC delivery adds per-AZ-hour and per-GB fees,
    # not modelled).
    "firehose_round_bytes": 5 * 1024,
    # --- S3 Standard, https://aws.amazon.com/s3/pricing/ (table not in the stored copy)
    "s3_put_per_thousand": 0.005,  # PUT, COPY, POST, LIST
    "s3_get_per_thousand": 0.0004,  # GET, SELECT
    # --- OpenSearch Service, https://aws.amazon.com/opensearch-service/pricing/ (table not in the stored copy)
    "os_gp3_gb_month": 0.122,  # EBS gp3 storage per GB-month
}

#: Firehose ingestion tiers: (GB in the tier per month, price per GB); the last tier is open-ended.
FIREHOSE_TIERS: Final = ((500_000.0, 0.029), (1_500_000.0, 0.025), (3_000_000.0, 0.020), (float("inf"), 0.020))
#: S3 Standard storage tiers: first 50 TB, next 450 TB, over 500 TB (per GB-month).
S3_TIERS: Final = ((50_000.0, 0.023), (450_000.0, 0.022), (float("inf"), 0.021))

#: OpenSearch Service instance types: $/hour on demand (pricing page, table not in the stored copy), RAM GiB
#: (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/supported-instance-types.html) and the
#: largest gp3 volume per instance in GiB. ASSUMPTION for the volume sizes: the EBS volume-size quota table
#: (developerguide/limits.html) was not in the stored corpus; these are its gp2 limits doubled, as the gp3 launch
#: post says gp3 doubles them (https://aws.amazon.com/blogs/big-data/lower-your-amazon-opensearch-service-storage-cost-with-gp3-amazon-ebs-volumes).
INSTANCES: Final[dict[str, tuple[float, int, int]]] = {
    "m6g.large.search": (0.128, 8, 1024),
    "r6g.large.search": (0.167, 16, 2048),
    "r6g.xlarge.search": (0.335, 32, 3072),
    "r6g.2xlarge.search": (0.669, 64, 6144),
    "r6g.4xlarge.search": (1.339, 128, 12288),
    "r6g.8xlarge.search": (2.678, 256, 16384),
    "r6g.12xlarge.search": (4.018, 384, 24576),
}
#: Three dedicated master nodes, as AWS recommends for production domains
#: (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-dedicatedmasternodes.html).
MASTER_INSTANCE: Final = "m6g.large.search"
MASTER_COUNT: Final = 3

MEASURED: Final[dict[str, float]] = {
    # `python -c "import bench.bench_transform as b; b.main(repeats=7)"` on the project's 2-core dev machine,
    # 2026-12-04: wafad firehose_transform 50,911 records/s (median CPU time, 1 core) on 1,390 full-schema records
    # of ~3.4 KB -> 19.6 us per record. Override with --transform-us.
    "transform_us_per_record": 19.6,
    # ingest.s3_to_kinesis_core.ship_object over the two objects of `wafad simulate --start 2026-01-05T00:00:00Z
    # --duration 10m --rate 50 --seed 7` with in-memory S3/Kinesis stubs (gunzip, JSON check, event id, KPL
    # aggregation; no network): 44,900 lines/s CPU on 1 core -> 22.3 us per line. Override with --relay-us.
    "relay_us_per_record": 22.3,
    # same simulator sample: 22,052 lines, 43,591,395 bytes raw, 2,512,160 bytes gzip -> 1,977 B a line, 17.35x.
    "avg_record_bytes": 1977,
    "gzip_ratio": 17.35,
    # lambdas.firehose_transform.handler on 2,000 of those lines: documents 1,993 B against 1,978 B in (+0.8 %).
    "transform_growth": 1.008,
}
