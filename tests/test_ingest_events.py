"""Event shapes the S3 → Kinesis handler accepts, and the streaming line reader (gzip, truncation, oversize,
bounded memory)."""

from __future__ import annotations

import gzip
import io
import json
import os
import tracemalloc
import zlib
from collections.abc import Iterator

from ingest.events import event_id, parse_s3_event, sqs_event
from ingest.s3_lines import iter_lines
from ingest.s3_to_kinesis_core import with_event_id

S3_RECORD = {
    "eventVersion": "2.1",
    "eventSource": "aws:s3",
    "eventName": "ObjectCreated:Put",
    "s3": {"bucket": {"name": "logs"}, "object": {"key": "AWSLogs/a+b%2Bc%C3%A9.log.gz", "size": 10}},
}


def test_s3_event_shapes_all_name_the_same_object() -> None:
    direct = {"Records": [S3_RECORD]}
    sns = {"Type": "Notification", "Message": json.dumps(direct)}
    in_sqs = sqs_event(
        [{"MessageId": "m1", "ReceiptHandle": "h", "Body": json.dumps(direct)}], queue_arn="arn:q", region="us-east-1"
    )
    sns_in_sqs = sqs_event(
        [{"MessageId": "m2", "ReceiptHandle": "h", "Body": json.dumps(sns)}], queue_arn="arn:q", region="us-east-1"
    )
    eventbridge = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "logs"}, "object": {"key": "AWSLogs/a b+cé.log.gz", "size": 10}},
    }
    sns_lambda = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(direct)}}]}
    for event in (direct, in_sqs, sns_in_sqs, eventbridge, sns_lambda):
        parsed = parse_s3_event(event)
        assert [(o.bucket, o.key) for o in parsed.objects] == [("logs", "AWSLogs/a b+cé.log.gz")], event
    assert parse_s3_event(in_sqs).objects[0].message_id == "m1"


def test_test_events_and_deletes_are_skipped_and_bad_bodies_reported() -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "logs"}
    delete = {"Records": [{**S3_RECORD, "eventName": "ObjectRemoved:Delete"}]}
    event = sqs_event(
        [
            {"MessageId": "t", "ReceiptHandle": "h", "Body": json.dumps(test_event)},
            {"MessageId": "d", "ReceiptHandle": "h", "Body": json.dumps(delete)},
            {"MessageId": "x", "ReceiptHandle": "h", "Body": "{not json"},
            {"MessageId": "y", "ReceiptHandle": "h", "Body": json.dumps({"hello": 1})},
        ],
        queue_arn="arn:q",
        region="us-east-1",
    )
    parsed = parse_s3_event(event)
    assert parsed.objects == []
    assert len(parsed.skipped) == 2
    assert set(parsed.invalid) == {"x", "y"}


def test_event_id_is_deterministic_and_distinct() -> None:
    a = event_id("b", "k", 1)
    assert a == event_id("b", "k", 1) and len(a) == 32
    assert (
        len({event_id("b", "k", n) for n in range(1, 1001)} | {event_id("b", "k2", 1), event_id("b2", "k", 1)}) == 1002
    )


def test_event_id_is_spliced_without_touching_the_record() -> None:
    raw = b'  {"a": "\\u00e9", "n": 1.50}  '
    out = with_event_id(raw, json.loads(raw), "e1")
    assert out == b'{"event_id":"e1","a": "\\u00e9", "n": 1.50}'
    assert json.loads(with_event_id(b'{"event_id":"x"}', {"event_id": "x"}, "e2"))["event_id"] == "e2"
    assert json.loads(with_event_id(b"{}", {}, "e3")) == {"event_id": "e3"}


def test_truncated_and_corrupt_gzip_keep_every_complete_line() -> None:
    lines = [json.dumps({"i": i, "pad": os.urandom(20).hex()}).encode() for i in range(3000)]
    blob = gzip.compress(b"\n".join(lines) + b"\n")
    for cut in (len(blob) // 3, len(blob) - 4, 30):
        truncated = blob[:cut]
        text = zlib.decompressobj(31).decompress(truncated)
        out = list(iter_lines(io.BytesIO(truncated)))
        good = [x for x in out if x.problem is None]
        assert [x.data for x in good] == text.split(b"\n")[:-1]
        assert out[-1].problem == "truncated" and out[-1].data == text.split(b"\n")[-1]
        assert out[-1].number == len(good) + 1
    corrupt = bytearray(blob)
    corrupt[len(blob) // 2 : len(blob) // 2 + 64] = b"\x00" * 64
    out = list(iter_lines(io.BytesIO(bytes(corrupt))))
    assert out[-1].problem == "truncated" and "corrupt" in out[-1].detail
    assert all(x.problem is None for x in out[:-1])


def test_oversize_lines_concatenated_members_and_plain_text() -> None:
    big = b'{"x":"' + b"y" * (3 * 1024 * 1024) + b'"}'
    blob = gzip.compress(b'{"a":1}\r\n' + big + b"\n\n") + gzip.compress(b'{"b":2}')
    out = list(iter_lines(io.BytesIO(blob), max_line=1024 * 1024, keep_bytes=100))
    assert [(x.number, x.problem) for x in out] == [(1, None), (2, "oversize"), (4, None)]
    assert out[0].data == b'{"a":1}' and out[1].size == len(big) and len(out[1].data) == 100
    plain = list(iter_lines(io.BytesIO(b'{"a":1}\n{"b":2}')))
    assert [x.data for x in plain] == [b'{"a":1}', b'{"b":2}']


class GzipStream(io.RawIOBase):
    """A gzip object of ``total`` uncompressed bytes, generated on the fly (never held in memory)."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.lines = 0
        self._comp = zlib.compressobj(1, zlib.DEFLATED, 31)
        self._buf = b""
        self._chunks = self._gen()

    def _gen(self) -> Iterator[bytes]:
        line = json.dumps({"timestamp": 1700000000000, "uri": "/x" * 400}).encode() + b"\n"
        block = line * 256
        while self.remaining > 0:
            self.remaining -= len(block)
            self.lines += 256
            yield self._comp.compress(block)
        yield self._comp.flush()

    def read(self, n: int = -1) -> bytes:
        while len(self._buf) < n:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


def test_a_75_mb_object_streams_in_bounded_memory() -> None:
    stream = GzipStream(75 * 1024 * 1024)
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_lines(stream))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == stream.lines > 90_000
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_kpl_aggregates_round_trip_and_reject_tampering() -> None:
    from ingest import kpl

    users = [(event_id("b", "k", n), json.dumps({"n": n, "s": "é" * n}).encode()) for n in range(1, 300)]
    users.append(users[0])  # a repeated partition key is stored once in the key table
    blob = kpl.aggregate(users)
    assert kpl.is_aggregated(blob)
    assert kpl.deaggregate(blob) == users
    tampered = bytearray(blob)
    tampered[40] ^= 0xFF
    for bad in (bytes(tampered), blob[:-3], b'{"plain": "json"}'):
        try:
            kpl.deaggregate(bad)
        except kpl.NotAggregated:
            continue
        raise AssertionError("a damaged or plain record must not de-aggregate")
