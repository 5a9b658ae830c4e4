"""Lines of an S3 log object, streamed with bounded memory: gzip or plain, any size.

WAF writes gzip NDJSON objects of up to 75 MB; this reads them in chunks through an incremental gunzip
(multi-member aware, output capped per step so a zip bomb cannot blow memory up), one line at a time, never
holding more than one line (capped at ``max_line`` bytes) plus a chunk. Problems are yielded, not raised, so
the caller can set them aside with their reason:

- a line longer than ``max_line`` yields ``problem="oversize"`` with its first ``keep_bytes``, full size, sha256;
- a truncated or corrupt gzip stream yields ``problem="truncated"`` with the partial last line (possibly
  empty) and the decompressor's error, after every complete line before it.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"
MiB = 1024 * 1024
READ_SIZE = 256 * 1024
MAX_INFLATE_STEP = 4 * MiB


class StreamBroken(Exception):
    """The compressed stream is truncated or corrupt."""


@dataclass(frozen=True)
class Line:
    number: int  # 1-based physical line number in the (decompressed) object
    data: bytes  # without the trailing newline; only the first keep_bytes when oversize
    problem: str | None = None  # None | "oversize" | "truncated"
    detail: str = ""
    size: int = 0  # full size in bytes (differs from len(data) when oversize)
    sha256: str = ""  # of the full line, for oversize lines


def _gunzip_chunks(first: bytes, body: IO[bytes]) -> Iterator[bytes]:
    d = zlib.decompressobj(31)
    comp = first
    while True:
        if not comp:
            comp = body.read(READ_SIZE)
            if not comp:
                if not d.eof:
                    raise StreamBroken("gzip stream ended before its end-of-stream marker (truncated object)")
                return
        try:
            out = d.decompress(comp, MAX_INFLATE_STEP)
        except zlib.error as exc:
            raise StreamBroken(f"corrupt gzip data: {exc}") from None
        comp = d.unconsumed_tail
        if out:
            yield out
        if d.eof:
            rest = d.unused_data + comp
            if rest.strip(b"\x00"):  # another gzip member follows (concatenated gzip files)
                d = zlib.decompressobj(31)
                comp = rest
            else:
                comp = b""
                # drain: anything after the last member that is not padding is garbage
                tail = body.read(READ_SIZE)
                while tail:
                    if tail.strip(b"\x00"):
                        d = zlib.decompressobj(31)
                        comp = tail
                        break
                    tail = body.read(READ_SIZE)
                if not comp:
                    return


def _plain_chunks(first: bytes, body: IO[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    while chunk := body.read(READ_SIZE):
        yield chunk


def decompressed_chunks(body: IO[bytes]) -> Iterator[bytes]:
    """The object's bytes, gunzipped when it starts with the gzip magic."""
    first = body.read(2)
    while len(first) < 2:
        more = body.read(2 - len(first))
        if not more:
            break
        first += more
    if first[:2] == GZIP_MAGIC:
        return _gunzip_chunks(first, body)
    return _plain_chunks(first, body)


def iter_lines(body: IO[bytes], *, max_line: int = MiB, keep_bytes: int = 64 * 1024) -> Iterator[Line]:
    """Every non-blank line of ``body``, problems included (see the module docstring)."""
    buf = bytearray()
    number = 0
    oversize: tuple[bytes, int, object] | None = None  # (head, size so far, sha256) while skipping a long line
    chunks = decompressed_chunks(body)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            break
        except StreamBroken as exc:
            if oversize is not None:
                head, size, digest = oversize
                yield Line(number + 1, head, "truncated", f"{exc} (inside a line of {size}+ bytes)", size)
            else:
                yield Line(number + 1, bytes(buf), "truncated", str(exc), len(buf))
            return
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            piece = chunk[start:] if nl < 0 else chunk[start:nl]
            if oversize is not None:
                head, size, digest = oversize
                digest.update(piece)  # type: ignore[attr-defined]
                oversize = (head, size + len(piece), digest)
            else:
                buf += piece
                if len(buf) > max_line:
                    digest = hashlib.sha256(buf)
                    oversize = (bytes(buf[:keep_bytes]), len(buf), digest)
                    buf.clear()
            if nl < 0:
                break
            number += 1
            if oversize is not None:
                head, size, digest = oversize
                line_size = size - 1 if head.endswith(b"\r") and size <= keep_bytes else size
                yield Line(
                    number,
                    head,
                    "oversize",
                    f"line of {line_size} bytes exceeds {max_line}",
                    line_size,
                    digest.hexdigest(),  # type: ignore[attr-defined]
                )
                oversize = None
            else:
                line = bytes(buf).rstrip(b"\r")
                buf.clear()
                if line.strip():
                    yield Line(number, line, None, "", len(line))
            start = nl + 1
    if oversize is not None:
        head, size, digest = oversize
        yield Line(number + 1, head, "oversize", f"line of {size} bytes exceeds {max_line}", size, digest.hexdigest())  # type: ignore[attr-defined]
    elif buf.strip():
        yield Line(number + 1, bytes(buf).rstrip(b"\r"), None, "", len(buf))
