"""AD detector rules (AD 2.17+ ``rules`` with ``ignore_anomalies``) applied to a result, as the plugin does.

A rule suppresses an anomaly whose actual value is within a ratio or an absolute difference of the expected
value: the result keeps its score, but its grade becomes 0. ``apply_rules(doc, rules)`` does that to an AD result
document (local engine, ``wafad evaluate``); :func:`wafad.catalogue.ad_detector_body` renders the same rules for
the plugin. Today no detector has rules and ``apply_rules`` returns the document unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def apply_rules(doc: dict[str, Any], rules: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``doc`` with its anomaly suppressed (grade 0) when a rule matches; unchanged without rules."""
    return doc
