"""One writer per Kinesis stream, one reader per checkpoint file: an exclusive lock file in ``state_dir``.

moto silently loses records when two writers put to the same stream at once, and two delivery loops on the same
checkpoints would do the work twice. :func:`exclusive` serialises them across threads and processes (flock).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wafad.settings import Settings

_thread_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def lock_path(settings: Settings, name: str) -> Path:
    return Path(settings.state_dir) / "ingest" / "locks" / f"{name}-{settings.kinesis_stream}.lock"


@contextmanager
def exclusive(settings: Settings, name: str) -> Iterator[None]:
    """Hold the ``name`` lock of this stream (blocking until it is free)."""
    path = lock_path(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _guard:
        tlock = _thread_locks.setdefault(str(path.resolve()), threading.Lock())
    with tlock, path.open("a") as fh:  # flock is per open file: threads need their own lock too
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
