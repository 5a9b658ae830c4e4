"""Where ``wafad sql`` reads the raw logs from: ``s3://bucket/prefix`` (the local moto S3 by default) or a folder.

DuckDB's S3 support lives in its ``httpfs`` extension, which the duckdb wheel does not bundle: DuckDB would download
it from the extension repository at run time (a network call outside PyPI, and no package of it matches the
duckdb version we install). So wafad reads S3 with boto3 instead (:func:`fetch_objects`): it lists the keys,
keeps those whose WAF date path (``.../YYYY/MM/DD/HH/mm/...``) can hold records of the asked window, and streams
each object, still gzip-compressed, into a temporary folder that mirrors the keys (bounded memory, a few threads),
where DuckDB's built-in JSON reader reads them. The folder is removed when the query is done.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wafad.settings import Settings

#: WAF writes an object every 5 minutes: a folder's time is within this of its records' times (either way).
KEY_TIME_SLACK = timedelta(minutes=5)
_DATE_PATH = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{2})/")
LOG_SUFFIXES = (".gz", ".log", ".json", ".jsonl", ".ndjson")


class SourceError(RuntimeError):
    """No data where the user pointed (missing bucket or folder, no objects, unreachable S3): one clear line."""


@dataclass(frozen=True)
class Source:
    """``kind`` is ``s3`` (``bucket`` + ``prefix``) or ``dir`` (``prefix`` is the folder)."""

    kind: str
    prefix: str
    bucket: str | None = None

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.kind == "s3" else self.prefix


def default_source(settings: Settings) -> Source:
    return Source("s3", settings.log_prefix, settings.bucket)


def parse_source(text: str | None, settings: Settings) -> Source:
    """``s3://bucket[/prefix]`` or a folder path; ``None`` means the configured bucket and log prefix."""
    if not text:
        return default_source(settings)
    if text.startswith("s3://"):
        bucket, _, prefix = text[5:].partition("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
            raise SourceError(f"bad S3 source {text!r}: expected s3://bucket[/prefix]")
        return Source("s3", prefix, bucket)
    if "://" in text:
        raise SourceError(f"bad source {text!r}: expected s3://bucket[/prefix] or a folder")
    return Source("dir", text)


def key_time(key: str) -> datetime | None:
    """The UTC time of a key's WAF date path, or ``None`` when it has none."""
    m = _DATE_PATH.search("/" + key.replace("\\", "/"))
    if not m:
        return None
    try:
        return datetime(*(int(g) for g in m.groups()), tzinfo=UTC)
    except ValueError:
        return None


def in_window(key: str, start: datetime | None, end: datetime | None) -> bool:
    """Whether the object at ``key`` can hold records in ``[start, end)`` (keys without a date path: yes)."""
    t = key_time(key)
    if t is None:
        return True
    if start is not None and t < start - KEY_TIME_SLACK:
        return False
    return not (end is not None and t >= end + KEY_TIME_SLACK)


def _s3_keys(s3: Any, source: Source) -> Iterator[str]:
    from botocore.exceptions import ClientError, EndpointConnectionError

    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(LOG_SUFFIXES):
                    yield obj["Key"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404"):
            raise SourceError(f"bucket {source.bucket!r} does not exist") from None
        raise SourceError(f"cannot list {source}: {code or exc}") from None
    except EndpointConnectionError:
        hint = " (is the local stack up? wafad stack up)" if "127.0.0.1" in s3.meta.endpoint_url else ""
        raise SourceError(f"cannot reach S3 at {s3.meta.endpoint_url}{hint}") from None


def list_objects(
    source: Source, settings: Settings, start: datetime | None = None, end: datetime | None = None, *, s3: Any = None
) -> list[str]:
    """The source's log objects (keys, or file paths) that can hold records of ``[start, end)``, sorted."""
    if source.kind == "dir":
        root = Path(source.prefix)
        if not root.is_dir():
            raise SourceError(f"folder {source.prefix!r} does not exist")
        files = (str(p) for p in root.rglob("*") if p.is_file() and p.name.endswith(LOG_SUFFIXES))
        return sorted(f for f in files if in_window(f, start, end))
    if s3 is None:
        from wafad.clients import aws_client

        s3 = aws_client("s3", settings)
    return sorted(k for k in _s3_keys(s3, source) if in_window(k, start, end))


def fetch_objects(source: Source, keys: list[str], into: Path, settings: Settings, *, s3: Any = None) -> list[Path]:
    """Download ``keys`` (compressed, streamed) to ``into/<key>``; folder sources are read in place."""
    if source.kind == "dir":
        return [Path(k) for k in keys]
    if s3 is None:
        from wafad.clients import aws_client

        s3 = aws_client("s3", settings)

    def one(key: str) -> Path:
        path = (into / key).resolve()
        if not path.is_relative_to(into.resolve()):  # a key is data: never let it write outside the folder
            raise SourceError(f"refusing S3 key {key[:80]!r}: it points outside the download folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(source.bucket, key, str(path))
        return path

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, keys))
