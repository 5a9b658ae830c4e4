"""Live mode: traffic on the wall clock, with anomalies that can be switched on and off while it runs.

Every second the records of the second that just ended are drawn (same profile and anomaly semantics as a
backfill, a random generator per second) and sent on:

* to objects (a folder or ``s3://bucket/prefix``) in WAF's key layout: the current 5-minute object is written every
  ``flush_seconds`` as a new part (WAF itself delivers every 5 minutes; shorter flushes make demos quicker);
* and/or straight to a Firehose delivery stream (``put_record_batch``, at most 500 records / 4 MiB per call, one
  WAF record per Firehose record, as WAF does; failed records are retried).

The anomaly toggle is a small JSON file (:func:`set_toggle`, :func:`clear_toggle`, ``wafad simulate-toggle``),
polled each second: ``{"anomalies": [{"field": "httpStatus", "intensity": 5}]}``. A field switched on starts an
anomaly at that second; switched off (or changed) ends it. Ground truth (scheduled ``--anomaly`` windows plus the
toggled ones) is rewritten to ``labels_path`` whenever it changes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from simulator.anomalies import AnomalyPlan
from simulator.backfill import SimulationSummary, _account_region, model_for, write_labels
from simulator.scenario import ANOMALY_FIELDS, DEFAULT_INTENSITY, Anomaly, AnomalySpecError, Scenario
from simulator.traffic import BLOCK_SECONDS
from simulator.world import WEBACL_NAME
from simulator.writer import LocalSink, ObjectWriter, S3Sink, key_hash, object_key, parse_out

log = logging.getLogger(__name__)

FIREHOSE_MAX_RECORDS = 500
FIREHOSE_MAX_BYTES = 4 * 1024 * 1024
FIREHOSE_RETRIES = 5
_OPEN_END = datetime(9999, 1, 1, tzinfo=UTC)


def default_toggle_path(state_dir: Path | None = None) -> Path:
    """``<state_dir>/simulator/anomaly-toggle.json`` (the settings' ``state_dir`` by default)."""
    if state_dir is None:
        from wafad.settings import get_settings

        state_dir = get_settings().state_dir
    return Path(state_dir) / "simulator" / "anomaly-toggle.json"


def read_toggles(path: Path) -> dict[str, float]:
    """The anomalies switched on in the toggle file: ``{field: intensity}`` (missing file = none)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    items = data.get("anomalies", []) if isinstance(data, dict) else data
    out: dict[str, float] = {}
    for item in items:
        name, k = item["field"], float(item.get("intensity", DEFAULT_INTENSITY))
        if name not in ANOMALY_FIELDS:
            raise AnomalySpecError(f"toggle file {path}: unknown field {name!r}; expected one of {ANOMALY_FIELDS}")
        Anomaly(name, _OPEN_END - timedelta(seconds=1), _OPEN_END, k)  # validates the intensity
        out[name] = k
    return out


def _write_toggles(path: Path, toggles: dict[str, float]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    body = {"anomalies": [{"field": f, "intensity": k} for f, k in sorted(toggles.items())]}
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: the simulator never reads half a file


def set_toggle(path: Path, field_name: str, intensity: float = DEFAULT_INTENSITY) -> dict[str, float]:
    """Switch an anomaly on (or change its intensity); returns what is on now."""
    Anomaly(field_name, _OPEN_END - timedelta(seconds=1), _OPEN_END, intensity)  # validate
    toggles = read_toggles(path) | {field_name: float(intensity)}
    _write_toggles(path, toggles)
    return toggles


def clear_toggle(path: Path, field_name: str | None = None) -> dict[str, float]:
    """Switch one anomaly (or all) off; returns what is still on."""
    toggles = {} if field_name is None else {f: k for f, k in read_toggles(path).items() if f != field_name}
    _write_toggles(path, toggles)
    return toggles


_TOGGLE_SPEC = re.compile(r"([A-Za-z_]+)(?:\[\s*[xX*]?\s*([0-9.]+)\s*\])?")


def parse_toggle(spec: str) -> tuple[str, float]:
    """``FIELD`` or ``FIELD[xK]`` (``wafad simulate-toggle``) as ``(field, K)``, K :data:`DEFAULT_INTENSITY` if absent.

    >>> parse_toggle("httpStatus[x4]"), parse_toggle("country")
    (('httpStatus', 4.0), ('country', 5.0))
    """
    m = _TOGGLE_SPEC.fullmatch(spec.strip())
    try:
        k = float(m.group(2)) if m and m.group(2) else DEFAULT_INTENSITY
    except ValueError:  # e.g. [x1.2.3]
        m = None
    if not m:
        raise AnomalySpecError(f"bad toggle {spec!r}: expected FIELD or FIELD[xK], e.g. httpStatus[x5]")
    return m.group(1), k


@dataclass
class LiveStatus:
    """Progress of a live run (passed to the ``progress`` callback each second)."""

    second: int  # epoch second just generated
    records: int
    sent_to_firehose: int
    objects: int
    active: dict[str, float]


class FirehoseSender:
    """``put_record_batch`` in batches of <= 500 records and <= 4 MiB, retrying failed records."""

    def __init__(self, client: Any, stream: str) -> None:
        self.client, self.stream = client, stream
        self.sent = 0
        self.failed = 0

    def send(self, lines: list[bytes]) -> None:
        batch: list[bytes] = []
        size = 0
        for line in lines:
            if batch and (len(batch) == FIREHOSE_MAX_RECORDS or size + len(line) > FIREHOSE_MAX_BYTES):
                self._put(batch)
                batch, size = [], 0
            batch.append(line)
            size += len(line)
        if batch:
            self._put(batch)

    def _put(self, batch: list[bytes]) -> None:
        pending = batch
        for attempt in range(FIREHOSE_RETRIES):
            resp = self.client.put_record_batch(
                DeliveryStreamName=self.stream, Records=[{"Data": data} for data in pending]
            )
            if not resp.get("FailedPutCount"):
                self.sent += len(pending)
                return
            results = resp["RequestResponses"]
            retry = [d for d, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            self.sent += len(pending) - len(retry)
            pending = retry
            time.sleep(min(0.1 * 2**attempt, 2.0))
        self.failed += len(pending)
        log.warning("firehose %s: %d records failed after %d attempts", self.stream, len(pending), FIREHOSE_RETRIES)


@dataclass
class _Toggled:
    field: str
    start: datetime
    intensity: float
    end: datetime | None = None


@dataclass
class _LiveState:
    scheduled: list[Anomaly]
    toggled: list[_Toggled] = field(default_factory=list)
    active: dict[str, float] = field(default_factory=dict)

    def update(self, toggles: dict[str, float], at: datetime) -> bool:
        """Apply the toggle file's content at time ``at``; True when anything changed."""
        if toggles == self.active:
            return False
        for t in self.toggled:
            if t.end is None and toggles.get(t.field) != t.intensity:
                t.end = at
        for name, k in toggles.items():
            if self.active.get(name) != k:
                self.toggled.append(_Toggled(name, at, k))
        self.active = dict(toggles)
        return True

    def anomalies(self) -> list[Anomaly]:
        toggled = [Anomaly(t.field, t.start, t.end or _OPEN_END, t.intensity) for t in self.toggled if t.end != t.start]
        return self.scheduled + toggled

    def labels(self, run_start: datetime, now: datetime) -> list[dict[str, Any]]:
        """Ground truth so far: scheduled windows and toggled ones (an open one ends ``now`` for now)."""
        out = []
        for a in self.scheduled + [
            Anomaly(t.field, t.start, t.end or now, t.intensity) for t in self.toggled if (t.end or now) > t.start
        ]:
            start, end = max(a.start, run_start), min(a.end, now)
            if start < end:
                out.append(Anomaly(a.field, start, end, a.intensity).label())
        return sorted(out, key=lambda x: (x["start"], x["field"]))


def run_live(
    scenario: Scenario,
    out: str | None = None,
    *,
    firehose_stream: str | None = None,
    s3_client: Any = None,
    firehose_client: Any = None,
    toggle_path: Path | None = None,
    labels_path: Path | None = None,
    flush_seconds: int = 60,
    progress: Callable[[LiveStatus], None] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    account: str | None = None,
    region: str | None = None,
    webacl: str = WEBACL_NAME,
) -> SimulationSummary:
    """Run ``scenario`` on the wall clock from its ``start`` for its ``duration`` (or until ``stop`` is set).

    ``scenario.start`` should be about now (the CLI uses the current second); scheduled anomalies are relative to
    it as in a backfill. Records go to ``out`` (objects) and/or ``firehose_stream``; at least one is needed.
    """
    if out is None and firehose_stream is None:
        raise ValueError("live mode needs an output: a folder / s3:// destination, a Firehose stream, or both")
    if account is None or region is None:
        acc, reg = _account_region()
        account, region = account or acc, region or reg
    sink = None
    prefix = ""
    if out is not None:
        kind, bucket, prefix = parse_out(out)
        if kind == "s3":
            if s3_client is None:
                from wafad.clients import aws_client

                s3_client = aws_client("s3")
            sink = S3Sink(s3_client, bucket)  # type: ignore[arg-type]
        else:
            sink, prefix = LocalSink(prefix), ""
    sender = None
    if firehose_stream is not None:
        if firehose_client is None:
            from wafad.clients import aws_client

            firehose_client = aws_client("firehose")
        sender = FirehoseSender(firehose_client, firehose_stream)

    model = model_for(scenario, account, region, webacl)
    state = _LiveState(list(scenario.anomalies))
    run_start = scenario.start
    first = int(run_start.timestamp())
    last = first + int(scenario.duration.total_seconds())
    run_tag = int(clock() * 1000)  # keys of separate live runs never collide
    records = 0
    objects: list[str] = []
    writer: ObjectWriter | None = None
    writer_block = -1
    writer_opened = 0
    labels_written: list[dict[str, Any]] | None = None

    def new_writer(block: int) -> ObjectWriter:
        when = datetime.fromtimestamp(block, UTC)
        tag = f"{run_tag}:{len(objects)}"

        def key_for(part: int) -> str:
            digest = key_hash(scenario.seed, f"{webacl}:{tag}", block, part)
            return object_key(account, region, webacl, when, digest, prefix)

        return ObjectWriter(sink, key_for)  # type: ignore[arg-type]

    def close_writer() -> None:
        nonlocal writer
        if writer is not None:
            writer.close()
            objects.extend(writer.objects)
            writer = None

    def save_labels(now: datetime) -> None:
        nonlocal labels_written
        labels = state.labels(run_start, now)
        if labels_path is not None and labels != labels_written:
            write_labels(labels_path, labels)
        labels_written = labels

    next_sec = first
    try:
        while next_sec < last and not (stop is not None and stop.is_set()):
            now = clock()
            if now < next_sec + 1:
                sleep(min(next_sec + 1 - now, 1.0))
                continue
            upto = min(int(now), last)
            if toggle_path is not None:
                try:
                    toggles = read_toggles(toggle_path)
                except (ValueError, KeyError, TypeError, AnomalySpecError) as exc:
                    log.warning("ignoring the anomaly toggle file: %s", exc)
                    toggles = state.active
                if state.update(toggles, datetime.fromtimestamp(next_sec, UTC)):
                    model.plan = AnomalyPlan.from_anomalies(state.anomalies())
            for sec in range(next_sec, upto):
                rng = np.random.default_rng([scenario.seed, sec, 0x11FE])
                block = sec - sec % BLOCK_SECONDS
                bp = model.block_plan(rng, block, sec, sec + 1)
                lines: list[bytes] = []
                for count, data in model.chunks(rng, bp):
                    records += count
                    if sink is not None:
                        if writer is None or block != writer_block:
                            close_writer()
                            writer, writer_block, writer_opened = new_writer(block), block, sec
                        writer.write(data)
                    if sender is not None:
                        lines.extend(bytes(data).splitlines())
                if sender is not None and lines:
                    sender.send(lines)
                if writer is not None and sec + 1 - writer_opened >= flush_seconds:
                    close_writer()
            next_sec = upto
            save_labels(datetime.fromtimestamp(next_sec, UTC))
            if progress is not None:
                progress(LiveStatus(next_sec, records, sender.sent if sender else 0, len(objects), dict(state.active)))
    finally:  # what was generated is delivered and labelled, also on Ctrl-C or a stop
        close_writer()
        save_labels(datetime.fromtimestamp(max(next_sec, first), UTC))
    return SimulationSummary(records=records, objects=objects, labels=labels_written or [])
