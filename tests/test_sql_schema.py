"""The Athena DDL (queries/athena/waf_logs.sql): every field of the real samples has a column, Glue gets it
idempotently, and DuckDB reads the samples through the same columns."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from queries.engine import query
from queries.glue import ensure_athena_table, glue_database, rendered_ddl, table_location
from queries.schema import HiveType, parse_ddl, parse_type, table
from wafad.clients import aws_client
from wafad.settings import Settings

_JSON_TYPES = {"string": (str,), "int": (int,), "bigint": (int,), "boolean": (bool,), "double": (int, float)}


def unmapped(value: Any, hive: HiveType, path: str) -> list[str]:
    """Fields of a JSON value with no column (exact spelling, as DuckDB's reader needs) or a clashing type."""
    if value is None:
        return []
    if hive.kind == "struct":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__} where the DDL has a struct"]
        fields = dict(zip(hive.fields, hive.children, strict=True))
        out = []
        for key, v in value.items():
            out += unmapped(v, fields[key], f"{path}.{key}") if key in fields else [f"{path}.{key}: no column"]
        return out
    if hive.kind == "array":
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__} where the DDL has an array"]
        return [p for item in value for p in unmapped(item, hive.children[0], f"{path}[]")]
    ok = isinstance(value, _JSON_TYPES[hive.kind]) and not (isinstance(value, bool) and hive.kind != "boolean")
    return [] if ok else [f"{path}: {value!r} is not {hive.kind}"]


def _record_type() -> HiveType:
    cols = table().columns
    return HiveType("struct", tuple(c.type for c in cols), tuple(c.name for c in cols))


def test_every_field_of_every_real_sample_has_a_ddl_column(waf_samples: list[Path]) -> None:
    assert len(waf_samples) >= 7
    record = _record_type()
    for path in waf_samples:
        problems = unmapped(json.loads(path.read_text()), record, "")
        assert not problems, f"{path.name}: {problems}"


def test_the_mapping_check_catches_a_missing_column() -> None:
    record = _record_type()
    assert unmapped({"httpRequest": {"clientIp": "1.1.1.1", "newField": 1}}, record, "") == [
        ".httpRequest.newField: no column"
    ]
    assert unmapped({"timestamp": "soon"}, record, "") == [".timestamp: 'soon' is not bigint"]


def test_simulated_records_fit_the_ddl_too(tmp_path: Path) -> None:
    from simulator import Scenario, parse_anomaly, simulate

    start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    specs = ["ip_flood@0m+5m[x3]", "uri_scan@5m+5m[x5]", "action@0m+10m[x10]"]
    summary = simulate(
        Scenario(start, timedelta(minutes=10), 2, [parse_anomaly(s, start) for s in specs], 5), str(tmp_path)
    )
    record = _record_type()
    for obj in summary.objects:
        for line in gzip.decompress(Path(obj).read_bytes()).splitlines():
            assert not unmapped(json.loads(line), record, "")


def test_ddl_shape_partition_projection_and_extension() -> None:
    t = table()
    names = [c.name for c in t.columns]
    assert names[:6] == ["timestamp", "formatVersion", "webaclId", "terminatingRuleId", "terminatingRuleType", "action"]
    assert {"httpRequest", "ruleGroupList", "nonTerminatingMatchingRules", "rateBasedRuleList", "labels"} <= set(names)
    assert str(next(c.type for c in t.columns if c.name == "httpStatus")) == "int"
    headers = next(c.type for c in t.columns if c.name == "httpRequest")
    assert str(headers.children[headers.fields.index("headers")]).startswith("array<struct<name:string,value:string")
    assert [c.name for c in t.partition_keys] == ["log_time"]
    props = t.properties
    assert props["projection.enabled"] == "true" and props["projection.log_time.format"] == "yyyy/MM/dd/HH/mm"
    assert props["storage.location.template"].endswith("${log_time}")
    assert t.serde == "org.openx.data.jsonserde.JsonSerDe"
    assert str(parse_type("array<struct<a:int,b:array<string>>>")) == "array<struct<a:int,b:array<string>>>"


def test_rendered_ddl_names_the_bucket_layout(settings: Settings) -> None:
    ddl = rendered_ddl(settings)
    location = f"s3://{settings.bucket}/AWSLogs/{settings.aws_account_id}/WAFLogs/{settings.aws_region}/wafad-demo/"
    assert table_location(settings) == location
    assert f"LOCATION '{location}'" in ddl and f"'{location}${{log_time}}'" in ddl and "{{" not in ddl
    assert parse_ddl(ddl).columns == table().columns


def test_glue_table_on_aws_target_is_idempotent(aws_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    aws = aws_settings
    database = glue_database(aws)
    first = ensure_athena_table(aws)
    assert first == {"glue_database": "created", "athena_table": f"created ({database}.waf_logs)"}
    assert ensure_athena_table(aws) == {"glue_database": "exists", "athena_table": "unchanged"}
    got = aws_client("glue", aws).get_table(DatabaseName=database, Name="waf_logs")["Table"]
    sd = got["StorageDescriptor"]
    assert [c["Name"] for c in sd["Columns"]] == [c.name.lower() for c in table().columns]
    assert {c["Name"]: c["Type"] for c in sd["Columns"]}["httpstatus"] == "int"
    assert [k["Name"] for k in got["PartitionKeys"]] == ["log_time"]
    assert got["Parameters"]["projection.log_time.type"] == "date"
    assert got["Parameters"]["storage.location.template"] == table_location(aws) + "${log_time}"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    from flows.ensure_infrastructure import _changes

    assert _changes(ensure_athena_table(aws)) == {}  # what ensure-infrastructure reports as "nothing changed"
    monkeypatch.setenv("WAFAD_WEBACL_NAME", "prod-acl")  # another web ACL (from the environment): the location changes
    prod = aws.model_copy(update={"webacl_name": Settings(_env_file=None).webacl_name})
    assert prod.webacl_name == "prod-acl"
    assert ensure_athena_table(prod)["athena_table"] == f"updated ({database}.waf_logs)"
    assert ensure_athena_table(prod)["athena_table"] == "unchanged"


def test_duckdb_reads_the_real_samples_through_the_ddl_columns(settings: Settings, waf_samples: list[Path]) -> None:
    result = query(
        settings,
        'SELECT "timestamp", action, httpRequest.clientIp, len(httpRequest.headers), responseCodeSent, '
        "len(ruleGroupList), labels[1].name, captchaResponse.failureReason FROM waf_logs ORDER BY 1, 2",
        source=str(waf_samples[0].parent),
    )
    expected = []
    for path in waf_samples:
        rec = json.loads(path.read_text())
        expected.append((
            rec["timestamp"], rec["action"], rec["httpRequest"]["clientIp"], len(rec["httpRequest"]["headers"]),
            rec.get("responseCodeSent"), len(rec["ruleGroupList"]), (rec.get("labels") or [{}])[0].get("name"),
            (rec.get("captchaResponse") or {}).get("failureReason"),
        ))  # fmt: skip
    assert sorted(result.rows, key=repr) == sorted(expected, key=repr)


def test_doctests() -> None:
    import doctest

    import queries.saved
    import queries.schema
    import queries.sqltext

    for module in (queries.schema, queries.saved, queries.sqltext):
        assert doctest.testmod(module).failed == 0


def test_default_web_acl_is_the_simulators(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.world import WEBACL_NAME

    monkeypatch.delenv("WAFAD_WEBACL_NAME", raising=False)
    assert Settings(_env_file=None).webacl_name == WEBACL_NAME
