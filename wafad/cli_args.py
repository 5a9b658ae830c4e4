"""Argument parsers shared by the ``wafad`` sub-commands."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import typer

_RELATIVE = re.compile(r"^now(?:-(\d+)([smhd]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO-8601 time (UTC when no zone is given), ``now`` or ``now-<N>[smhd]``.

    >>> parse_when("2024-03-01T10:00Z").isoformat()
    '2024-03-01T10:00:00+00:00'
    >>> parse_when("now-2h", now=datetime(2024, 3, 1, 12, tzinfo=UTC)).hour
    10
    """
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(text.strip())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}) if m.group(1) else now
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO-8601 time, 'now' or 'now-2h'") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
