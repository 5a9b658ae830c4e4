"""The alerting policy of one catalogue detector: the thresholds an incident must pass before it opens.

``detector_policy(spec, settings)`` is the one place the alerter, the executive report's replay and
``wafad evaluate`` get a detector's :class:`~alerting.incidents.AlertPolicy`, so all three count incidents the
same way. Today it is the settings' policy for every detector.
"""

from __future__ import annotations

from typing import Any

from alerting.incidents import AlertPolicy
from wafad.catalogue import DetectorSpec


def detector_policy(spec: DetectorSpec | None, settings: Any | None = None) -> AlertPolicy:
    """The policy for ``spec`` (``None``: the default detector), from ``settings`` when given."""
    return AlertPolicy.from_settings(settings) if settings is not None else AlertPolicy()
