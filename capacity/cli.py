"""``wafad capacity``: prints the sizing and monthly cost of a production deployment for a request rate.

Thin: the figures come from :func:`capacity.model.plan`; this module only formats them (rich tables, or one JSON
object with ``--json``). No network calls.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from capacity import prices as p
from capacity.model import CapacityError, CapacityPlan, Workload, plan


def _n(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def _usd(x: float) -> str:
    return f"${x:,.2f}"


def _table(title: str, rows: list[tuple[str, str, str]]) -> Table:
    t = Table("figure", "value", "from", title=title, title_justify="left")
    for row in rows:
        t.add_row(*row)
    return t


def tables(pl: CapacityPlan) -> list[Table]:
    """The rich tables for a plan, one per AWS part, then the costs."""
    w, k, fh, s3, os_, ad = pl.workload, pl.kinesis, pl.firehose, pl.s3, pl.opensearch, pl.ad
    out = [
        _table(
            "Workload",
            [
                ("records/s", _n(w.records_per_second), "--records-per-second (peak)"),
                ("bytes per record", _n(w.avg_bytes), "--avg-bytes (default measured on wafad simulate)"),
                ("MiB/s", _n(w.bytes_per_second / p.MIB, 2), "records/s x bytes"),
            ],
        ),
        _table(
            "Kinesis Data Streams",
            [
                ("KPL aggregation", "on" if k.aggregated else "off", "ingest/kpl.py, WAFAD_KINESIS_AGGREGATE"),
                ("lines per Kinesis record", _n(k.lines_per_kinesis_record), "~1 MiB aggregates"),
                ("Kinesis records/s", _n(k.kinesis_records_per_s, 1), "after aggregation"),
                ("MiB/s in", _n(k.bytes_per_s / p.MIB, 2), "lines + event id + keys"),
                ("shards by bytes", _n(k.shards_by_bytes), "1 MiB/s per shard"),
                ("shards by records", _n(k.shards_by_records), "1,000 records/s per shard"),
                ("shards", _n(k.shards), "the larger"),
                ("provisioned $/month", _usd(k.provisioned_month), "shard-hours + PUT payload units"),
                ("on-demand $/month", _usd(k.ondemand_month), "stream-hours + GB in + GB out"),
            ],
        ),
    ]
    for lam in (pl.relay, pl.transform):
        out.append(
            _table(
                f"Lambda {lam.function}",
                [
                    ("memory MB / CPU share", f"{lam.memory_mb} / {lam.cpu_share:.2f}", "1 vCPU at 1,769 MB"),
                    ("us per record (1 vCPU)", _n(lam.us_per_record, 1), "capacity/prices.py MEASURED or flag"),
                    ("invocations/s", _n(lam.invocations_per_s, 3), "per S3 object / per 1 MB buffer"),
                    ("records per invocation", _n(lam.records_per_invocation), ""),
                    ("duration s", _n(lam.duration_s, 2), f"timeout {lam.timeout_s} s"),
                    ("concurrency", _n(lam.concurrency, 2), "Little's law: rate x duration"),
                    ("$/month", _usd(lam.cost_month), "GB-s + requests, no free tier"),
                ],
            )
        )
    out += [
        _table(
            "Firehose",
            [
                ("Lambda buffer MB", _n(fh.lambda_buffer_mb, 1), "ingest/firehose_stream.py (0.2-3 MB)"),
                ("OpenSearch buffer MB", f"{fh.buffer_mb_configured} -> {fh.buffer_mb_suggested}", "now -> >= 10 s"),
                ("buffer interval s", _n(fh.buffer_interval_s), "0-900 s"),
                ("bulk requests/s", _n(fh.bulk_requests_per_s, 2), ""),
                ("docs per bulk", _n(fh.docs_per_bulk), ""),
                ("billed GiB/month", _n(fh.billed_gb_month), "Kinesis records, 5 KB rounding"),
                ("$/month", _usd(fh.cost_month), "tiered ingestion price"),
            ],
        ),
        _table(
            "S3 (raw gzip logs)",
            [
                ("gzip ratio", _n(s3.gzip_ratio, 2), "--gzip-ratio (measured on wafad simulate)"),
                ("GiB/day", _n(s3.gz_gib_per_day, 1), ""),
                ("stored GiB", _n(s3.stored_gib), "retention days"),
                ("objects/day", _n(s3.objects_per_day), "5-minute files of at most 75 MB"),
                ("$/month", _usd(s3.cost_month), "storage + PUT + GET"),
            ],
        ),
        _table(
            "OpenSearch",
            [
                ("doc bytes", _n(os_.doc_bytes), "after the transform"),
                ("primary GiB per daily index", _n(os_.primary_gib_per_day, 1), "+10 % index overhead"),
                ("primary shards per index", _n(os_.primaries_per_index), f"{_n(os_.shard_gib, 1)} GiB each"),
                ("indices kept / shards", f"{os_.indices_kept} / {_n(os_.shards_total)}", "retention + today"),
                ("stored GiB", _n(os_.store_gib), "with replicas"),
                ("data nodes", f"{os_.data_nodes} x {os_.instance}", "cheapest that fits"),
                ("volume GiB per node", _n(os_.volume_gib), "gp3, filled to 85 %"),
                ("master nodes", f"{os_.master_nodes} x {p.MASTER_INSTANCE}", "dedicated"),
                ("$/month", _usd(os_.cost_month), "instances + gp3"),
            ],
        ),
    ]
    nodes = Table("instance", "heap GiB", "nodes", "storage", "shards", "AD", "GiB/node", "data $/month",
                  title="Data nodes needed by storage, shard count and AD memory", title_justify="left")  # fmt: skip
    nodes.columns[0].no_wrap = True
    for o in os_.options:
        nodes.add_row(o.instance, _n(o.heap_gib), _n(o.nodes), _n(o.nodes_by_storage), _n(o.nodes_by_shards),
                      _n(o.nodes_by_ad), _n(o.volume_gib), _usd(o.cost_month))  # fmt: skip
    out.append(nodes)
    out.append(
        _table(
            "Anomaly Detection",
            [
                ("detectors", f"{ad.catalogue_detectors} of {ad.max_detectors}", "max_anomaly_detectors"),
                ("HC detectors", f"{ad.catalogue_hc_detectors} of {ad.max_hc_detectors}", "max_multi_entity_..."),
                ("model bytes per entity", _n(ad.model_bytes_per_entity), "AD's estimateTRCFModelSize"),
                ("models per node", _n(ad.models_per_node), f"{ad.ad_heap_share:.0%} of heap"),
                ("HC entities fit / needed", f"{_n(ad.hc_entities_fit)} / {_n(ad.hc_entities_needed)}", ""),
                ("dedicated cache per node", _n(ad.dedicated_cache_size), "dedicated_cache_size"),
            ],
        )
    )
    costs = Table("part", "$/month", title=f"Monthly cost, {p.REGION} list prices read {pl.prices_read}")
    for part, cost in pl.costs.items():
        costs.add_row(part, _usd(cost))
    costs.add_row("total", _usd(pl.total_month), style="bold")
    out.append(costs)
    return out


def register(app: typer.Typer) -> None:
    @app.command("capacity")
    def capacity(
        records_per_second: float = typer.Option(..., "--records-per-second", "-r", help="peak WAF requests/s"),
        avg_bytes: float = typer.Option(p.MEASURED["avg_record_bytes"], help="bytes per log line"),
        retention_days: int = typer.Option(14, help="days of daily indices and raw logs kept"),
        replicas: int = typer.Option(1, help="OpenSearch replicas per primary shard"),
        region: str = typer.Option(p.REGION, help="AWS region (prices are kept for us-east-1)"),
        memory_mb: int = typer.Option(512, help="Lambda memory size (ingest/lambda_functions.py: 512)"),
        arch: str = typer.Option("x86_64", help="Lambda architecture: x86_64 or arm64"),
        transform_us: float = typer.Option(p.MEASURED["transform_us_per_record"], help="transform CPU us/record"),
        relay_us: float = typer.Option(p.MEASURED["relay_us_per_record"], help="S3->Kinesis CPU us/line"),
        gzip_ratio: float = typer.Option(p.MEASURED["gzip_ratio"], help="raw / gzip size of the WAF logs"),
        aggregate: bool = typer.Option(True, help="KPL-aggregate lines into Kinesis records"),
        hc_entities: int = typer.Option(250, help="entities per HC detector (e.g. countries)"),
        hc_features: int = typer.Option(1, help="features of each HC detector"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object instead of tables"),
    ) -> None:
        """Size Kinesis, the Lambdas, Firehose, S3, OpenSearch and AD for a request rate, and price them."""
        try:
            workload = Workload(
                records_per_second, avg_bytes, retention_days, replicas, region, memory_mb, arch, transform_us,
                relay_us, gzip_ratio, aggregate, hc_entities, hc_features,
            )  # fmt: skip
        except CapacityError as exc:
            Console(stderr=True).print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        result = plan(workload)
        if as_json:
            print(json.dumps(asdict(result)))
            return
        console = Console()
        for table in tables(result):
            console.print(table)
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
