"""The examples in offline_rcf's docstrings run (river-style doctests; the detector's uses the real jars)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "offline_rcf.detector",
    "offline_rcf.engine",
    "offline_rcf.engine_factory",
    "offline_rcf.series",
    "offline_rcf.record_query",
    "offline_rcf.crosscheck_stats",
    "offline_rcf.crosscheck_report",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
