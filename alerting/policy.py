"""The alerting policy of one catalogue detector: the thresholds an incident must pass before it opens.

``detector_policy(spec, settings)`` is the one place the alerter, the executive report's replay and
``wafad evaluate`` get a detector's :class:`~alerting.incidents.AlertPolicy`, so all three count incidents the
same way, and the Alerting monitor bodies (:mod:`alerting.monitor`) carry the same grade and confidence gates.
The catalogue's :class:`~wafad.catalogue.AlertThresholds` give grade, confidence, significance and dispersion;
``WAFAD_ALERT_MIN_GRADE`` / ``WAFAD_ALERT_MIN_CONFIDENCE`` raise grade and confidence as floors, and the settings
give cooldown and quiet time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from alerting.incidents import AlertPolicy
from wafad.catalogue import AlertThresholds, DetectorSpec


def detector_policy(spec: DetectorSpec | None, settings: Any | None = None) -> AlertPolicy:
    """The policy for ``spec`` (``None``: the catalogue's default thresholds), with ``settings``' floors when given."""
    thresholds = spec.alert if spec is not None else AlertThresholds()
    base = AlertPolicy.from_settings(settings) if settings is not None else AlertPolicy()
    return dataclasses.replace(
        base,
        min_grade=max(thresholds.min_grade, base.min_grade),
        min_confidence=max(thresholds.min_confidence, base.min_confidence),
        significance=thresholds.significance,
        dispersion=thresholds.dispersion,
    )


def detector_policies(specs: Mapping[str, DetectorSpec], settings: Any | None = None) -> Callable[[str], AlertPolicy]:
    """detector id -> its policy (``specs``: detector id -> catalogue spec; unknown ids get the default)."""
    by_id = {det_id: detector_policy(spec, settings) for det_id, spec in specs.items()}
    default = detector_policy(None, settings)
    return lambda det_id: by_id.get(det_id, default)
