"""The Athena table ``waf_logs`` in the Glue catalogue, made from ``queries/athena/waf_logs.sql`` (idempotent).

Database: the bucket name with ``[^a-z0-9_]`` → ``_`` (``wafad-waf-logs`` → ``wafad_waf_logs``), so every bucket's
logs get their own. Location: WAF's key layout under the bucket's log prefix,
``s3://<bucket>/[prefix/]AWSLogs/<account>/WAFLogs/<region>/<webacl>/``, partitions projected from the date path
(``log_time`` = ``yyyy/MM/dd/HH/mm``: no crawler, no ``MSCK REPAIR``). The web ACL is ``settings.webacl_name``
(``WAFAD_WEBACL_NAME``; the simulator's by default).
"""

from __future__ import annotations

import re
from typing import Any

from queries.schema import TABLE_NAME, parse_ddl, render_ddl
from wafad.settings import Settings


def glue_database(settings: Settings) -> str:
    return re.sub(r"[^a-z0-9_]", "_", settings.bucket.lower())


def table_location(settings: Settings, webacl: str | None = None) -> str:
    prefix = settings.log_prefix if settings.log_prefix.endswith("AWSLogs/") else f"{settings.log_prefix}AWSLogs/"
    acl = webacl or settings.webacl_name
    return f"s3://{settings.bucket}/{prefix}{settings.aws_account_id}/WAFLogs/{settings.aws_region}/{acl}/"


def rendered_ddl(settings: Settings, webacl: str | None = None) -> str:
    """The DDL for these settings, ready for the Athena console."""
    return render_ddl(glue_database(settings), table_location(settings, webacl))


def table_input(settings: Settings, webacl: str | None = None) -> dict[str, Any]:
    """Glue ``TableInput`` for the DDL (names and types lower-cased, as Athena stores them)."""
    t = parse_ddl(rendered_ddl(settings, webacl))

    def cols(columns: Any) -> list[dict[str, str]]:
        return [
            {"Name": c.name.lower(), "Type": str(c.type).lower(), **({"Comment": c.comment} if c.comment else {})}
            for c in columns
        ]

    return {
        "Name": TABLE_NAME,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", **t.properties},
        "PartitionKeys": cols(t.partition_keys),
        "StorageDescriptor": {
            "Columns": cols(t.columns),
            "Location": table_location(settings, webacl),
            "InputFormat": t.input_format,
            "OutputFormat": t.output_format,
            "SerdeInfo": {"SerializationLibrary": t.serde, "Parameters": {"serialization.format": "1"}},
        },
    }


def _same(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    sd, want_sd = current.get("StorageDescriptor", {}), wanted["StorageDescriptor"]
    return (
        current.get("Parameters") == wanted["Parameters"]
        and current.get("PartitionKeys") == wanted["PartitionKeys"]
        and sd.get("Columns") == want_sd["Columns"]
        and sd.get("Location") == want_sd["Location"]
        and sd.get("SerdeInfo", {}).get("SerializationLibrary") == want_sd["SerdeInfo"]["SerializationLibrary"]
    )


def ensure_athena_table(settings: Settings, *, glue: Any = None) -> dict[str, str]:
    """Create the Glue database and the ``waf_logs`` table, or update the table when the DDL changed."""
    if glue is None:
        from wafad.clients import aws_client

        glue = aws_client("glue", settings)
    database = glue_database(settings)
    out: dict[str, str] = {}
    try:
        glue.get_database(Name=database)
        out["glue_database"] = "exists"
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database, "Description": "wafad: raw AWS WAF logs"})
        out["glue_database"] = "created"
    wanted = table_input(settings)
    try:
        current = glue.get_table(DatabaseName=database, Name=TABLE_NAME)["Table"]
    except glue.exceptions.EntityNotFoundException:
        glue.create_table(DatabaseName=database, TableInput=wanted)
        out["athena_table"] = f"created ({database}.{TABLE_NAME})"
        return out
    if _same(current, wanted):
        out["athena_table"] = "unchanged"
    else:
        glue.update_table(DatabaseName=database, TableInput=wanted)
        out["athena_table"] = f"updated ({database}.{TABLE_NAME})"
    return out
