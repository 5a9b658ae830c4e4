"""ensure_ingest on the real local stack (idempotent, S3 → SQS notifications delivered), the index template's
mappings for the fields others query, the ISM policy and the Firehose request for AWS."""

from __future__ import annotations

import json
from typing import Any

from ingest.firehose_stream import firehose_request
from ingest.index_template import template_body
from ingest.infra import ensure_ingest
from ingest.ism import policy_body
from wafad.catalogue import INDICATOR_FIELDS
from wafad.clients import aws_client
from wafad.settings import Settings


def _aws_settings() -> Settings:
    return Settings(_env_file=None, target="aws", opensearch_url="https://search-x.eu-west-1.es.amazonaws.com")


def test_ensure_ingest_is_idempotent_and_wires_s3_events(settings: Settings, os_client: Any) -> None:
    first = ensure_ingest(settings)
    assert first["bucket"] == "created" and first["s3_events_queue"] == "created"
    assert first["kinesis_stream"].startswith("created") and first["index_template"].startswith("created")
    second = ensure_ingest(settings)
    assert second["bucket"] == "exists" and second["s3_notification"] == "exists"
    assert second["kinesis_stream"] == "exists" and second["firehose_stream"] == "exists"
    assert second["index_template"] == "unchanged"
    shards = aws_client("kinesis", settings).list_shards(StreamName=settings.kinesis_stream)["Shards"]
    assert len(shards) == settings.kinesis_shards
    s3, sqs = aws_client("s3", settings), aws_client("sqs", settings)
    s3.put_object(Bucket=settings.bucket, Key=f"{settings.log_prefix}x/a b.log.gz", Body=b"x")
    s3.put_object(Bucket=settings.bucket, Key="dead-letter/not-watched.ndjson", Body=b"x")  # outside the prefix
    url = sqs.get_queue_url(QueueName=settings.s3_events_queue)["QueueUrl"]
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    created = [b for b in bodies if "Records" in b]
    assert len(created) == 1 and created[0]["Records"][0]["s3"]["object"]["key"].endswith("a+b.log.gz")
    template = os_client.indices.get_index_template(name=f"{settings.index_prefix}-template")
    assert template["index_templates"][0]["index_template"]["index_patterns"] == [f"{settings.index_prefix}-*"]


def test_template_maps_what_the_detectors_and_dashboards_query() -> None:
    for s in (Settings(_env_file=None), _aws_settings()):
        props = template_body(s)["template"]["mappings"]["properties"]
        req = props["httpRequest"]["properties"]
        assert props["@timestamp"]["type"] == "date" and props["event_id"]["type"] == "keyword"
        assert req["clientIp"]["type"] == "ip"
        assert req["country"]["type"] == req["uri"]["type"] == req["httpMethod"]["type"] == "keyword"
        assert props["action"]["type"] == props["httpSourceName"]["type"] == "keyword"
        assert props["httpStatus"]["type"] == "short"
        assert all(props[f]["type"] == "byte" for f in INDICATOR_FIELDS)
    aws = template_body(_aws_settings())["template"]["mappings"]
    assert aws["dynamic"] is False
    assert aws["properties"]["ruleGroupList"]["type"] == "flattened"
    assert aws["properties"]["httpRequest"]["properties"]["headers"]["type"] == "flattened"


def test_ism_policy_and_firehose_request_for_aws() -> None:
    s = _aws_settings()
    policy = policy_body(s, hot_days=2, delete_days=30)["policy"]
    assert [st["name"] for st in policy["states"]] == ["hot", "warm", "delete"]
    assert policy["ism_template"][0]["index_patterns"] == [f"{s.index_prefix}-*"]
    req = firehose_request(
        s, role_arn="arn:aws:iam::1:role/r", transform_lambda_arn="arn:aws:lambda:x:1:function:f", domain_arn=None
    )
    dest = req["AmazonopensearchserviceDestinationConfiguration"]
    assert req["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert dest["IndexRotationPeriod"] == "OneDay" and dest["IndexName"] == s.index_prefix
    assert dest["S3BackupMode"] == "FailedDocumentsOnly"
    params = {
        p["ParameterName"]: p["ParameterValue"] for p in dest["ProcessingConfiguration"]["Processors"][0]["Parameters"]
    }
    assert params["LambdaArn"].endswith(":function:f") and params["BufferSizeInMBs"] == "1"


def test_relay_and_deliver_say_what_to_do_before_ensure(settings: Settings) -> None:
    import pytest

    from ingest.delivery import deliver
    from ingest.s3_events import relay

    with pytest.raises(RuntimeError, match="ensure_ingest"):
        relay(settings)
    with pytest.raises(RuntimeError, match="ensure_ingest"):
        deliver(settings)


def test_relays_of_one_stream_run_one_at_a_time(settings: Settings) -> None:
    import threading

    from ingest.locks import exclusive
    from ingest.s3_events import relay

    ensure_ingest(settings)
    done = threading.Event()
    with exclusive(settings, "kinesis-writer"):  # another writer holds the stream
        worker = threading.Thread(target=lambda: (relay(settings), done.set()))
        worker.start()
        assert not done.wait(1.0), "a second Kinesis writer must wait"
    worker.join(60)
    assert done.is_set()
