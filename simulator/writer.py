"""Where records go: gzip JSON-lines objects in WAF's S3 key layout, to a local folder or ``s3://bucket/prefix``.

Key: ``[prefix/]AWSLogs/<account>/WAFLogs/<region>/<webacl>/YYYY/MM/DD/HH/mm/
<account>_waflogs_<region>_<webacl>_<YYYYMMDDTHHmmZ>_<hash>.log.gz``, one object per 5 minutes (a new part, with
its own hash, past :data:`MAX_OBJECT_BYTES` compressed, like WAF's 75 MB limit). The hash is derived from the seed,
block and part, so the same seed gives the same keys. Gzip has mtime 0 and is made with ISA-L (``isal``) at level 1
when installed (fast), else zlib level 1: output is byte-identical for a seed on a given installation.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

try:  # ISA-L's deflate is ~6x faster than zlib's at a similar ratio
    from isal import isal_zlib as _zlib

    COMPRESSOR = "isal"
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    import zlib as _zlib

    COMPRESSOR = "zlib"

GZIP_LEVEL = 1
MAX_OBJECT_BYTES = 64 * 1024 * 1024


def gzip_compressor() -> Any:
    """A streaming gzip compressor (header mtime 0, so output depends on the data only)."""
    return _zlib.compressobj(GZIP_LEVEL, _zlib.DEFLATED, 31)


def object_key(account: str, region: str, webacl: str, block_start: datetime, digest: str, prefix: str = "") -> str:
    """WAF's S3 key for the 5-minute block starting at ``block_start``."""
    t = block_start.astimezone(UTC)
    stamp = t.strftime("%Y%m%dT%H%MZ")
    folder = f"AWSLogs/{account}/WAFLogs/{region}/{webacl}/{t:%Y/%m/%d/%H/%M}"
    name = f"{account}_waflogs_{region}_{webacl}_{stamp}_{digest}.log.gz"
    return f"{prefix}{folder}/{name}"


def key_hash(seed: int, webacl: str, block_start: int, part: int) -> str:
    return hashlib.sha256(f"{seed}:{webacl}:{block_start}:{part}".encode()).hexdigest()[:8]


def parse_out(out: str) -> tuple[str, str | None, str]:
    """``("s3", bucket, prefix)`` for ``s3://bucket/prefix``, else ``("local", None, folder)``."""
    if out.startswith("s3://"):
        rest = out[5:]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"bad S3 destination {out!r}: expected s3://bucket[/prefix]")
        prefix = prefix.strip("/")
        return "s3", bucket, f"{prefix}/" if prefix else ""
    return "local", None, out


class Sink(Protocol):
    def put(self, key: str, body: bytes | Path) -> str: ...


class LocalSink:
    """Writes objects under a folder; each file appears atomically (temp file + rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, key: str, body: bytes | Path) -> str:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, Path):
            os.replace(body, path)
        else:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, path)
        return str(path)


class S3Sink:
    """``put_object`` per object (they are small); returns ``s3://bucket/key``."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def put(self, key: str, body: bytes | Path) -> str:
        data = body.read_bytes() if isinstance(body, Path) else body
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", ContentEncoding="gzip"
        )
        return f"s3://{self.bucket}/{key}"


class ObjectWriter:
    """Streams one block's chunks into gzip objects, starting a new part past ``max_bytes`` compressed."""

    def __init__(self, sink: Sink, key_for: Callable[[int], str], max_bytes: int = MAX_OBJECT_BYTES) -> None:
        self.sink, self.key_for, self.max_bytes = sink, key_for, max_bytes
        self.objects: list[str] = []
        self._part = 0
        self._comp: Any = None
        self._buf: list[bytes] = []
        self._size = 0
        self._spool: Any = None

    def write(self, data: bytes) -> None:
        if self._comp is None:
            self._comp = gzip_compressor()
            self._buf, self._size = [], 0
            if isinstance(self.sink, LocalSink):  # stream straight to a temp file on disk
                folder = self.sink.root
                folder.mkdir(parents=True, exist_ok=True)
                self._spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
                    dir=folder, prefix=".part-", suffix=".tmp", delete=False
                )
        out = self._comp.compress(data)
        if out:
            self._emit(out)
        if self._size >= self.max_bytes:
            self.close()

    def _emit(self, out: bytes) -> None:
        self._size += len(out)
        if self._spool is not None:
            self._spool.write(out)
        else:
            self._buf.append(out)

    def abort(self) -> None:
        """Drop the object being written (after an error): no partial object and no temp file is left."""
        if self._spool is not None:
            self._spool.close()
            Path(self._spool.name).unlink(missing_ok=True)
        self._comp, self._buf, self._spool = None, [], None

    def close(self) -> None:
        """Finish the current object (if any) and hand it to the sink."""
        if self._comp is None:
            return
        self._emit(self._comp.flush())
        key = self.key_for(self._part)
        if self._spool is not None:
            self._spool.close()
            self.objects.append(self.sink.put(key, Path(self._spool.name)))
        else:
            self.objects.append(self.sink.put(key, b"".join(self._buf)))
        self._comp, self._buf, self._spool = None, [], None
        self._part += 1
