"""Typed views of the AWS event shapes the ingest handlers receive and produce.

In the style of AWS Lambda Powertools' event source data classes (a thin read-only wrapper over the raw
dict with typed properties), without depending on it: these modules are packaged into the Lambda zips, which
carry only the standard library, boto3 and wafad's own pure-Python modules.

Shapes covered:

- S3 event notifications, delivered directly, in an SQS message body, in an SNS envelope (also inside SQS),
  or as an EventBridge ``Object Created`` event; keys are URL-decoded (``unquote_plus``), and the
  ``s3:TestEvent`` S3 sends when a notification configuration is set is recognised and skipped;
- the Firehose data-transformation request (DirectPut and Kinesis-stream source, with
  ``kinesisRecordMetadata``) and its response.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from ingest import jsoncodec

FIREHOSE_RESULTS = ("Ok", "Dropped", "ProcessingFailed")
#: Lambda's synchronous invocation payload limit, for the request and for the response.
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024


class EventShapeError(ValueError):
    """The event is not one of the shapes this handler accepts."""


class DictWrapper(Mapping[str, Any]):
    """Read-only access to a raw event dict, as Powertools' ``DictWrapper``."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise EventShapeError(f"expected a JSON object, got {type(data).__name__}")
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def raw_event(self) -> Mapping[str, Any]:
        return self._data


# --- deterministic event ids -----------------------------------------------------------------------


def event_id(bucket: str, key: str, line_number: int) -> str:
    """The document id of line ``line_number`` (1-based) of ``s3://bucket/key``: stable across re-deliveries."""
    digest = hashlib.sha256(f"s3://{bucket}/{key}#{line_number}".encode()).hexdigest()
    return digest[:32]


# --- S3 notifications ------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3ObjectRef:
    """One object an event says was created; ``key`` is already URL-decoded."""

    bucket: str
    key: str
    size: int | None = None
    sequencer: str | None = None
    message_id: str | None = None  # the SQS message it came in, for partial batch failures


@dataclass(frozen=True)
class S3EventParse:
    objects: list[S3ObjectRef]
    skipped: list[str]  # test events, non-create events: what and why
    invalid: dict[str, str] = field(default_factory=dict)  # SQS message id -> why its body is not an event


class S3EventRecord(DictWrapper):
    """One entry of an S3 notification's ``Records``."""

    @property
    def event_name(self) -> str:
        return str(self.get("eventName", ""))

    @property
    def bucket_name(self) -> str:
        return str(self["s3"]["bucket"]["name"])

    @property
    def object_key(self) -> str:
        return unquote_plus(str(self["s3"]["object"]["key"]), encoding="utf-8")

    @property
    def object_size(self) -> int | None:
        size = self["s3"]["object"].get("size")
        return size if isinstance(size, int) else None

    @property
    def sequencer(self) -> str | None:
        return self["s3"]["object"].get("sequencer")


class SQSRecord(DictWrapper):
    @property
    def message_id(self) -> str:
        return str(self["messageId"])

    @property
    def receipt_handle(self) -> str | None:
        return self.get("receiptHandle")

    @property
    def body(self) -> str:
        return str(self.get("body", ""))

    @property
    def json_body(self) -> Any:
        return jsoncodec.loads(self.body)


def _is_sqs_event(event: Mapping[str, Any]) -> bool:
    recs = event.get("Records")
    return (
        isinstance(recs, list)
        and bool(recs)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in recs)
    )


def _from_s3_records(records: list[Any], message_id: str | None, out: S3EventParse) -> None:
    for raw in records:
        rec = S3EventRecord(raw)
        if not rec.event_name.startswith("ObjectCreated:"):
            out.skipped.append(f"{rec.event_name or 'unnamed event'} (not an object creation)")
            continue
        try:
            out.objects.append(S3ObjectRef(rec.bucket_name, rec.object_key, rec.object_size, rec.sequencer, message_id))
        except (KeyError, TypeError) as exc:
            raise EventShapeError(f"S3 record without bucket/object: missing {exc}") from None


def _from_payload(payload: Any, message_id: str | None, out: S3EventParse) -> None:
    """An S3 notification, SNS envelope or EventBridge event (possibly the body of an SQS message)."""
    if not isinstance(payload, Mapping):
        raise EventShapeError(f"expected an event object, got {type(payload).__name__}")
    if payload.get("Event") == "s3:TestEvent":
        out.skipped.append(f"s3:TestEvent for bucket {payload.get('Bucket')!r}")
        return
    if payload.get("Type") == "Notification" and "Message" in payload:  # SNS envelope
        try:
            inner = jsoncodec.loads(payload["Message"])
        except jsoncodec.JSONError as exc:
            raise EventShapeError(f"SNS message is not JSON: {exc}") from None
        _from_payload(inner, message_id, out)
        return
    if payload.get("source") == "aws.s3" and "detail" in payload:  # EventBridge
        detail = payload["detail"]
        if payload.get("detail-type") != "Object Created":
            out.skipped.append(f"EventBridge {payload.get('detail-type')!r} (not an object creation)")
            return
        try:
            key = str(detail["object"]["key"])
            out.objects.append(
                S3ObjectRef(
                    str(detail["bucket"]["name"]),
                    key,  # EventBridge keys are not URL-encoded
                    detail["object"].get("size"),
                    detail["object"].get("sequencer"),
                    message_id,
                )
            )
        except (KeyError, TypeError) as exc:
            raise EventShapeError(f"EventBridge event without bucket/object: missing {exc}") from None
        return
    records = payload.get("Records")
    if isinstance(records, list):
        sns = [r for r in records if isinstance(r, Mapping) and r.get("EventSource") == "aws:sns"]
        if sns:  # SNS → Lambda event
            for r in sns:
                _from_payload({"Type": "Notification", "Message": r["Sns"]["Message"]}, message_id, out)
            return
        _from_s3_records(records, message_id, out)
        return
    raise EventShapeError("not an S3 notification, SNS envelope, EventBridge event or SQS batch")


def parse_s3_event(event: Mapping[str, Any]) -> S3EventParse:
    """Every created object an event names, whatever the envelope."""
    out = S3EventParse([], [], {})
    if _is_sqs_event(event):
        for raw in event["Records"]:
            msg = SQSRecord(raw)
            try:
                body = msg.json_body
            except jsoncodec.JSONError as exc:
                out.invalid[msg.message_id] = f"body is not JSON: {exc}"
                continue
            try:
                _from_payload(body, msg.message_id, out)
            except EventShapeError as exc:
                out.invalid[msg.message_id] = str(exc)
        return out
    _from_payload(event, None, out)
    return out


def sqs_event(messages: list[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The exact SQS → Lambda event for messages from ``receive_message``."""
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attrs.get("SentTimestamp", "0"),
                    "SenderId": attrs.get("SenderId", ""),
                    "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp", "0"),
                },
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


# --- Firehose data transformation ----------------------------------------------------------------


class KinesisRecordMetadata(DictWrapper):
    @property
    def shard_id(self) -> str:
        return str(self.get("shardId", ""))

    @property
    def partition_key(self) -> str:
        return str(self.get("partitionKey", ""))

    @property
    def sequence_number(self) -> str:
        return str(self.get("sequenceNumber", ""))

    @property
    def approximate_arrival_timestamp(self) -> int | None:
        """Epoch ms; AWS documents both a number and an ISO string here, so both are read."""
        value = self.get("approximateArrivalTimestamp")
        return _epoch_ms(value)


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value:
        if value.isdigit():
            return int(value)
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


class FirehoseRecord(DictWrapper):
    @property
    def record_id(self) -> str:
        return str(self["recordId"])

    @property
    def data(self) -> str:
        """The base64 payload as sent."""
        return str(self["data"])

    @property
    def data_as_bytes(self) -> bytes:
        try:
            return base64.b64decode(self["data"], validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise EventShapeError(f"record {self.get('recordId')!r}: data is not base64: {exc}") from None

    @property
    def approximate_arrival_timestamp(self) -> int | None:
        return _epoch_ms(self.get("approximateArrivalTimestamp"))

    @property
    def kinesis_record_metadata(self) -> KinesisRecordMetadata | None:
        meta = self.get("kinesisRecordMetadata")
        return KinesisRecordMetadata(meta) if isinstance(meta, Mapping) else None


class FirehoseEvent(DictWrapper):
    """The Firehose data-transformation request."""

    @property
    def invocation_id(self) -> str:
        return str(self.get("invocationId", ""))

    @property
    def delivery_stream_arn(self) -> str:
        return str(self.get("deliveryStreamArn", ""))

    @property
    def source_kinesis_stream_arn(self) -> str | None:
        return self.get("sourceKinesisStreamArn")

    @property
    def region(self) -> str:
        return str(self.get("region", ""))

    @property
    def records(self) -> list[FirehoseRecord]:
        recs = self.get("records")
        if not isinstance(recs, list):
            raise EventShapeError("Firehose event without a records list")
        return [FirehoseRecord(r) for r in recs]


def firehose_response_record(record_id: str, result: str, data: bytes) -> dict[str, str]:
    """One entry of the Firehose transformation response."""
    return {"recordId": record_id, "result": result, "data": base64.b64encode(data).decode("ascii")}


def validate_firehose_response(request_ids: list[str], response: Any) -> list[Mapping[str, Any]]:
    """The response's records, in request order, or :class:`EventShapeError` saying how the contract is broken
    (Firehose treats such a response as a failed invocation)."""
    if not isinstance(response, Mapping) or not isinstance(response.get("records"), list):
        raise EventShapeError("response is not an object with a records list")
    by_id: dict[str, Mapping[str, Any]] = {}
    for rec in response["records"]:
        if not isinstance(rec, Mapping) or not isinstance(rec.get("recordId"), str):
            raise EventShapeError("response record without a recordId")
        rid = rec["recordId"]
        if rid in by_id:
            raise EventShapeError(f"recordId {rid!r} returned twice")
        if rec.get("result") not in FIREHOSE_RESULTS:
            raise EventShapeError(f"recordId {rid!r}: result {rec.get('result')!r} is not one of {FIREHOSE_RESULTS}")
        if rec["result"] == "Ok" and not isinstance(rec.get("data"), str):
            raise EventShapeError(f"recordId {rid!r}: Ok without base64 data")
        by_id[rid] = rec
    missing = [rid for rid in request_ids if rid not in by_id]
    extra = set(by_id) - set(request_ids)
    if missing or extra:
        raise EventShapeError(
            f"response recordIds do not match the request: {len(missing)} missing, {len(extra)} extra"
        )
    return [by_id[rid] for rid in request_ids]
