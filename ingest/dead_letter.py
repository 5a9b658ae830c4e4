"""Records set aside with a reason, written to S3 as NDJSON (spooled to disk while an object is read).

One dead-letter object per source object and run: ``<prefix><stage>/<bucket>/<key>/<digest>.ndjson``, where the
digest is of the content, so a replay that sets aside the same records writes the same key (no duplicates) and
a run that sets aside different ones does not overwrite the first.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from typing import Any

from ingest import jsoncodec

KEEP_DATA_BYTES = 256 * 1024


def data_fields(data: bytes) -> dict[str, Any]:
    """The record's bytes as text when they are UTF-8, base64 otherwise (capped at KEEP_DATA_BYTES)."""
    kept = data[:KEEP_DATA_BYTES]
    out: dict[str, Any] = {"truncated_data": len(data) > KEEP_DATA_BYTES}
    try:
        out["data"] = kept.decode("utf-8")
    except UnicodeDecodeError:
        out["data"] = base64.b64encode(kept).decode("ascii")
        out["data_encoding"] = "base64"
    return out


class DeadLetterWriter:
    """Collects entries for one source object; :meth:`close` uploads them (if any) and returns the S3 key."""

    def __init__(self, s3: Any, bucket: str, key_prefix: str) -> None:
        self._s3 = s3
        self.bucket = bucket
        self.key_prefix = key_prefix.rstrip("/")
        self._file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed in close()
        self._digest = hashlib.sha256()
        self.count = 0
        self.reasons: dict[str, int] = {}

    def add(self, reason: str, detail: str, data: bytes = b"", **fields: Any) -> None:
        entry = {"reason": reason, "detail": detail, **fields, **data_fields(data)}
        line = jsoncodec.dumps(entry) + b"\n"
        self._file.write(line)
        self._digest.update(line)
        self.count += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def close(self) -> str | None:
        try:
            if not self.count:
                return None
            key = f"{self.key_prefix}/{self._digest.hexdigest()[:16]}.ndjson"
            self._file.seek(0)
            self._s3.upload_fileobj(self._file, self.bucket, key, ExtraArgs={"ContentType": "application/x-ndjson"})
            return key
        finally:
            self._file.close()
