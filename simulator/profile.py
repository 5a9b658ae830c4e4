"""The normal traffic profile: what an ordinary day on one web ACL looks like.

Every seed field has a *good* distribution (values the catalogue's ``DEFAULT_ALLOW`` / ``STATUS_BAD_FROM`` treat as
good), a *normal bad* distribution with a small total rate :data:`NORMAL_BAD_RATE` (so each detector's series has a
few bad requests per minute at demo rates, not mostly zeros), and a *burst* distribution: what the extra bad
requests of an injected anomaly look like (e.g. a country burst comes mostly from one or two countries).

The rate follows a gentle diurnal curve (:func:`diurnal`, ±:data:`DIURNAL_AMPLITUDE` over 24 h, peak at
:data:`DIURNAL_PEAK_HOUR` UTC), so a 1-minute volume detector does not see the day as an anomaly; counts per second
are Poisson around it.

Vocabularies come from :mod:`wafad.catalogue`; this module only weights them. Import-time checks make sure every
"good" value really is good and every "bad" value really is bad by the catalogue's definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wafad.catalogue import ACTIONS, DEFAULT_ALLOW, HTTP_METHODS, HTTP_SOURCES, STATUS_BAD_FROM, UNKNOWN_COUNTRY

DIURNAL_AMPLITUDE = 0.3
DIURNAL_PEAK_HOUR = 14.0

#: Normal fraction of bad requests per seed field (anomaly intensity k multiplies it, capped at 1).
NORMAL_BAD_RATE: dict[str, float] = {
    "action": 0.02,
    "httpSourceName": 0.015,
    "httpStatus": 0.015,
    "country": 0.025,
    "httpMethod": 0.015,
}


@dataclass(frozen=True)
class FieldProfile:
    """Good / normal-bad / burst value distributions of one seed field (weights are normalised on use)."""

    name: str
    good: tuple[tuple[str | int, float], ...]
    bad: tuple[tuple[str | int, float], ...]
    burst: tuple[tuple[str | int, float], ...]

    @property
    def bad_rate(self) -> float:
        return NORMAL_BAD_RATE[self.name]

    def values(self) -> list[str | int]:
        """The field's vocabulary in table order: good, then bad, then burst (duplicates allowed)."""
        return [v for v, _ in self.good] + [v for v, _ in self.bad] + [v for v, _ in self.burst]

    def cdfs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def cdf(pairs: tuple[tuple[str | int, float], ...]) -> np.ndarray:
            w = np.array([p for _, p in pairs], dtype=np.float64)
            c = np.cumsum(w / w.sum())
            c[-1] = 1.0
            return c

        return cdf(self.good), cdf(self.bad), cdf(self.burst)


ACTION = FieldProfile(
    "action",
    good=(("ALLOW", 1.0),),
    bad=(("BLOCK", 0.78), ("CAPTCHA", 0.12), ("CHALLENGE", 0.10)),
    burst=(("BLOCK", 0.90), ("CHALLENGE", 0.06), ("CAPTCHA", 0.04)),
)
SOURCE = FieldProfile(
    "httpSourceName",
    good=(("ALB", 0.62), ("APIGW", 0.30), ("CF", 0.08)),
    bad=(("APPSYNC", 0.45), ("COGNITOIDP", 0.25), ("APPRUNNER", 0.15), ("VERIFIED_ACCESS", 0.05), ("-", 0.10)),
    burst=(("-", 0.55), ("APPSYNC", 0.30), ("APPRUNNER", 0.15)),
)
#: httpStatus (the design's origin-status extension) for requests WAF let through (ALLOW).
STATUS = FieldProfile(
    "httpStatus",
    good=(
        (200, 0.78), (201, 0.02), (204, 0.02), (301, 0.015), (302, 0.03), (304, 0.06),
        (400, 0.01), (401, 0.015), (403, 0.01), (404, 0.04), (429, 0.01),
    ),
    bad=((500, 0.35), (502, 0.30), (503, 0.20), (504, 0.15)),
    burst=((503, 0.45), (502, 0.30), (504, 0.20), (500, 0.05)),
)  # fmt: skip
COUNTRY = FieldProfile(
    "country",
    good=(("US", 0.55), ("GB", 0.27), ("IN", 0.18)),
    bad=(
        ("DE", 0.16), ("FR", 0.11), ("CA", 0.12), ("NL", 0.07), ("IE", 0.06), ("AU", 0.08), ("JP", 0.06),
        ("BR", 0.07), ("SG", 0.06), ("ES", 0.05), ("IT", 0.05), ("SE", 0.03), (UNKNOWN_COUNTRY, 0.08),
    ),
    burst=(("CN", 0.40), ("RU", 0.30), ("VN", 0.12), ("KP", 0.03), (UNKNOWN_COUNTRY, 0.15)),
)  # fmt: skip
METHOD = FieldProfile(
    "httpMethod",
    good=(("GET", 0.80), ("POST", 0.17), ("HEAD", 0.03)),
    bad=(("OPTIONS", 0.60), ("PUT", 0.20), ("DELETE", 0.10), ("PATCH", 0.10)),
    burst=(("DELETE", 0.35), ("PUT", 0.30), ("PATCH", 0.15), ("TRACE", 0.12), ("CONNECT", 0.08)),
)  # fmt: skip

FIELDS: dict[str, FieldProfile] = {p.name: p for p in (ACTION, SOURCE, STATUS, COUNTRY, METHOD)}

#: httpStatus of requests WAF answered itself (the origin never saw them): what the client got.
STATUS_FOR_TERMINATING_ACTION = {"BLOCK": 403, "CAPTCHA": 405, "CHALLENGE": 202}

HTTP_VERSIONS = (("HTTP/1.1", 0.55), ("HTTP/2.0", 0.43), ("HTTP/1.0", 0.02))


def diurnal(
    epoch_s: np.ndarray | float, amplitude: float = DIURNAL_AMPLITUDE, peak_hour: float = DIURNAL_PEAK_HOUR
) -> np.ndarray | float:
    """Rate multiplier at ``epoch_s``: ``1 + A·cos(2π(h − peak)/24)``, smooth, mean 1 over a day.

    The defaults are normal traffic's; :class:`simulator.shape.TrafficShape` passes others."""
    hours = (np.asarray(epoch_s, dtype=np.float64) / 3600.0) % 24.0
    return 1.0 + amplitude * np.cos(2 * math.pi * (hours - peak_hour) / 24.0)


def _check_against_catalogue() -> None:
    known = {"action": set(ACTIONS), "httpSourceName": set(HTTP_SOURCES), "httpMethod": set(HTTP_METHODS)}
    for name, prof in FIELDS.items():
        for value, _ in prof.good:
            bad = value >= STATUS_BAD_FROM if name == "httpStatus" else value not in DEFAULT_ALLOW[name]
            assert not bad, f"profile: good {name} value {value!r} is bad by the catalogue"
        for value, _ in prof.bad + prof.burst:
            good = value < STATUS_BAD_FROM if name == "httpStatus" else value in DEFAULT_ALLOW[name]
            assert not good, f"profile: bad {name} value {value!r} is good by the catalogue"
            if name in known:
                assert value in known[name], f"profile: {name} value {value!r} is not in the catalogue vocabulary"


_check_against_catalogue()
