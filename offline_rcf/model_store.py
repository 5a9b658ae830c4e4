"""Model state that travels: forest checkpoints every worker can read and write, with optimistic versions.

The local AD engine's per-detector/per-entity models and the cross-check's seed ensembles are objects in S3
(locally the moto server's), under ``s3://<settings.bucket>/wafad-state/`` (``models/<detector_id>/<entity>.json.gz``,
``offline_rcf/<detector>/<entity>/<variant>.json.gz``), so a task on any Dask worker continues the model the last
task left, and a re-run after a killed worker reads what was last written.

Writes are conditional (S3 conditional writes): :meth:`ModelStore.put` with ``version=None`` creates the object
only if it does not exist (``IfNoneMatch="*"``) and with a version only if the object still has that ETag
(``IfMatch``). A writer whose base version is stale gets :class:`VersionConflict` and must re-read, so two workers
never interleave updates of the same model; :func:`update` is that read-modify-write loop. The local-folder
:class:`FolderModelStore` keeps the same contract with a lock file, for use without S3.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

STATE_PREFIX = "wafad-state/"
#: S3 answers a failed condition with 412; a concurrent conditional write to the same key with 409
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


class VersionConflict(RuntimeError):
    """The object changed since ``version`` was read (or exists though it was expected absent)."""

    def __init__(self, key: str, version: str | None) -> None:
        base = "absent" if version is None else f"at version {version}"
        super().__init__(f"model state {key!r} was changed by another writer (expected it {base}); re-read it")
        self.key = key
        self.version = version


@dataclass(frozen=True)
class Stored:
    """An object's bytes and the version (S3 ETag) they were read at."""

    data: bytes
    version: str


class ModelStore(Protocol):
    def get(self, key: str) -> Stored | None: ...

    def put(self, key: str, data: bytes, *, version: str | None) -> str: ...

    def describe(self, key: str) -> str: ...

    def count(self, prefix: str) -> int: ...


class S3ModelStore:
    """Objects under ``s3://bucket/prefix``; writes conditional on the version read (ETag)."""

    def __init__(self, s3: Any, bucket: str, prefix: str = STATE_PREFIX, *, create_bucket: bool = False) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.create_bucket = create_bucket

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def get(self, key: str) -> Stored | None:
        from botocore.exceptions import ClientError

        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchBucket", "404"):
                return None
            raise
        return Stored(obj["Body"].read(), obj["ETag"])

    def count(self, prefix: str) -> int:
        """How many objects have keys under ``prefix`` (0 when the bucket does not exist yet)."""
        from botocore.exceptions import ClientError

        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            return sum(page.get("KeyCount", 0) for page in pages)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                return 0
            raise

    def put(self, key: str, data: bytes, *, version: str | None) -> str:
        from botocore.exceptions import ClientError

        cond = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
        for attempt in (1, 2):
            try:
                return self.s3.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data, **cond)["ETag"]
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code"))
                if code in CONFLICT_CODES or (code == "NoSuchKey" and version is not None):
                    raise VersionConflict(key, version) from None
                if code == "NoSuchBucket" and self.create_bucket and attempt == 1:
                    self._create_bucket()
                    continue
                raise
        raise AssertionError("unreachable")

    def _create_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise


class FolderModelStore:
    """The same contract on a local folder (one machine only): version = content digest, writes under a lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self, key: str) -> str:
        return str(self.root / key)

    def count(self, prefix: str) -> int:
        base = self.root / prefix
        return (
            sum(1 for p in base.rglob("*") if p.is_file() and p.suffix not in (".lock", ".tmp")) if base.exists() else 0
        )

    def get(self, key: str) -> Stored | None:
        path = self.root / key
        if not path.exists():
            return None
        data = path.read_bytes()
        return Stored(data, _digest(data))

    def put(self, key: str, data: bytes, *, version: str | None) -> str:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(path.name + ".lock")):
            current = _digest(path.read_bytes()) if path.exists() else None
            if current != version:
                raise VersionConflict(key, version)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return _digest(data)


def _digest(data: bytes) -> str:
    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def model_store(settings: Any, *, s3: Any = None) -> S3ModelStore:
    """The store every worker shares: ``s3://<settings.bucket>/wafad-state/`` (the bucket is created locally)."""
    from wafad.clients import aws_client

    return S3ModelStore(s3 or aws_client("s3", settings), settings.bucket, create_bucket=bool(settings.is_local))


def update(store: ModelStore, key: str, change: Callable[[bytes | None], bytes], *, attempts: int = 5) -> str:
    """Read ``key``, write ``change(old bytes or None)`` at the version read; on a conflict read again and retry."""
    for _ in range(attempts - 1):
        current = store.get(key)
        try:
            return store.put(key, change(None if current is None else current.data), version=_version(current))
        except VersionConflict:
            continue
    current = store.get(key)
    return store.put(key, change(None if current is None else current.data), version=_version(current))


def _version(stored: Stored | None) -> str | None:
    return None if stored is None else stored.version


def pack_json(payload: Any) -> bytes:
    """gzip JSON bytes (mtime 0, so equal payloads give equal bytes)."""
    return gzip.compress(json.dumps(payload).encode("utf-8"), compresslevel=5, mtime=0)


def unpack_json(data: bytes) -> Any:
    return json.loads(gzip.decompress(data).decode("utf-8"))
