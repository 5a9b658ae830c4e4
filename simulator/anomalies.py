"""What an anomaly of intensity ``k`` does (the ground truth means exactly this).

Seed fields (``action``, ``httpSourceName``, ``httpStatus``, ``country``, ``httpMethod``)
    Inside ``[start, end)`` the probability that a normal request's field is *bad* (by the catalogue's
    ``DEFAULT_ALLOW`` / ``STATUS_BAD_FROM``) is ``q = min(1, k · p0)``, ``p0`` being the field's normal bad rate
    (:data:`simulator.profile.NORMAL_BAD_RATE`). So the expected per-minute sum of that field's indicator is ``k``
    times its normal level (``k < 1`` makes it quieter). The extra ``q − p0`` bad requests take the field's *burst*
    values (e.g. mostly ``CN``/``RU`` for ``country``, ``503``/``502`` for ``httpStatus``); the normal ``p0`` keep
    the normal bad mix. Overlapping windows on the same field multiply their intensities (still capped at 1).
    Every other field keeps its distribution: fields are drawn independently, except ``httpStatus`` which is the
    origin's status only for ALLOWed requests (WAF answered the others: 403/405/202/429), and whose bad probability
    among ALLOWed requests is ``q / P(ALLOW)`` so that its overall bad fraction stays ``q`` whatever ``action`` does.

``volume``
    The normal request rate is multiplied by ``k`` (all fields keep their distributions, so every indicator *sum*
    scales by ``k`` too; a ``k < 1`` is an outage-like drop).

``ip_flood``
    One IPv4 address (a US hosting address, user agent ``python-requests``) adds ``(k − 1) × rate`` requests/s of
    ALLOWed ``GET`` traffic to the ALB: total volume ``k``-fold, a share ``(k − 1)/k`` from that one IP. All its
    seed fields are good (ALLOW, ALB, 200, US, GET), so the seed indicators' sums do not move; the web ACL's
    rate-based rule counts it (``rateBasedRuleList`` and a COUNT in ``nonTerminatingMatchingRules``).

``uri_scan``
    One IPv4 address adds ``k × URI_SCAN_SHARE × rate`` requests/s walking many distinct URIs (``/.env``,
    ``/wp-admin/setup.php``, …): ~35 % reach the origin (ALLOW, 404) and ~65 % are BLOCKed by a managed rule
    (known-bad-inputs / core rule set, 403). Its other seed fields are good (ALB, US, GET), so it shows up in the
    ``action`` indicator (and URI/IP cardinality), not in the others.

Several anomalies may overlap. Windows are applied at millisecond precision for field anomalies and per second
for rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.profile import NORMAL_BAD_RATE
from simulator.scenario import Anomaly
from wafad.catalogue import SEED_FIELDS

URI_SCAN_SHARE = 0.1


def _ms(a: Anomaly) -> tuple[int, int]:
    return int(a.start.timestamp() * 1000), int(a.end.timestamp() * 1000)


@dataclass(frozen=True)
class AnomalyPlan:
    """The scenario's anomalies, in the form the block generator uses."""

    field_windows: dict[str, list[tuple[int, int, float]]]  # seed field -> [(start_ms, end_ms, k)]
    volume: list[tuple[int, int, float]]
    floods: list[tuple[int, int, float, int]]  # (start_ms, end_ms, k, slot)
    scans: list[tuple[int, int, float, int]]

    @classmethod
    def from_anomalies(cls, anomalies: list[Anomaly]) -> AnomalyPlan:
        fields: dict[str, list[tuple[int, int, float]]] = {f: [] for f in SEED_FIELDS}
        volume, floods, scans = [], [], []
        for a in anomalies:
            s, e = _ms(a)
            if a.field in fields:
                fields[a.field].append((s, e, a.intensity))
            elif a.field == "volume":
                volume.append((s, e, a.intensity))
            elif a.field == "ip_flood":
                floods.append((s, e, a.intensity, len(floods)))
            else:
                scans.append((s, e, a.intensity, len(scans)))
        return cls(fields, volume, floods, scans)

    def bad_probability(self, field: str, ts_ms: np.ndarray) -> np.ndarray | float:
        """``q`` per record for a seed field at sorted ``ts_ms`` (a plain float when no window touches them)."""
        p0 = NORMAL_BAD_RATE[field]
        if not len(ts_ms):
            return p0
        first, last = int(ts_ms[0]), int(ts_ms[-1])
        windows = [(s, e, k) for s, e, k in self.field_windows[field] if s <= last and e > first]
        if not windows:
            return p0
        q = np.full(len(ts_ms), p0, dtype=np.float64)
        for s, e, k in windows:
            q[(ts_ms >= s) & (ts_ms < e)] *= k
        return np.minimum(q, 1.0, out=q)

    def volume_multiplier(self, sec_starts: np.ndarray) -> np.ndarray:
        """Normal-rate multiplier per second (``sec_starts`` in epoch seconds)."""
        mult = np.ones(len(sec_starts), dtype=np.float64)
        ms = sec_starts * 1000
        for s, e, k in self.volume:
            mult[(ms >= s) & (ms < e)] *= k
        return mult

    @staticmethod
    def extra_rate(sec_starts: np.ndarray, windows: list[tuple[int, int, float, int]], per_k) -> list[np.ndarray]:
        """Per window, the extra requests/s in each second (0 outside it)."""
        ms = sec_starts * 1000
        return [np.where((ms >= s) & (ms < e), per_k(k), 0.0) for s, e, k, _slot in windows]
