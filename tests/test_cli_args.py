"""Arguments every ``wafad`` sub-command parses the same way."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest
import typer

import wafad.cli_args
from wafad.cli_args import parse_when

NOW = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)


def test_doctests() -> None:
    assert doctest.testmod(wafad.cli_args).failed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("now-90m", NOW - timedelta(minutes=90)),
        ("now-8h", NOW - timedelta(hours=8)),
        ("now-2d", NOW - timedelta(days=2)),
        ("2026-08-03T06:00:00", datetime(2026, 8, 3, 6, tzinfo=UTC)),  # naive means UTC
        ("2026-08-03T08:00:00+02:00", datetime(2026, 8, 3, 6, tzinfo=UTC)),
        ("2026-08-03T06:00Z", datetime(2026, 8, 3, 6, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["now+1h", "yesterday", "2026-13-01"])
def test_bad_times_are_rejected_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="ISO-8601"):
        parse_when(text, now=NOW)
