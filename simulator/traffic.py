"""Draw the requests of one 5-minute block, vectorised with numpy.

Each block has its own random generator seeded from ``(seed, block start)``, so blocks can be generated
independently, in any order, and the same seed gives the same bytes. Per second the normal request count is
Poisson around ``rate × diurnal × volume anomalies``; flood and scan traffic add their own Poisson streams. Large
blocks are cut into chunks of whole seconds (at most about :data:`CHUNK_RECORDS` records) so memory stays bounded
whatever the rate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from simulator.anomalies import URI_SCAN_SHARE, AnomalyPlan
from simulator.profile import ACTION, COUNTRY, FIELDS, HTTP_VERSIONS, METHOD, SOURCE, STATUS, FieldProfile
from simulator.render import Chunk, Renderer
from simulator.rules import DECISION_INDEX, DECISIONS, FLOOD_DECISION, SCAN_DECISIONS
from simulator.shape import TrafficShape
from simulator.world import World, grouped_cdf, grouped_choice
from wafad.catalogue import ACTIONS

BLOCK_SECONDS = 300
CHUNK_RECORDS = 8192


class _FieldSampler:
    """Good / normal-bad / burst mixture for one seed field (see :mod:`simulator.anomalies`)."""

    def __init__(self, prof: FieldProfile) -> None:
        self.p0 = prof.bad_rate
        self.cdf = grouped_cdf([np.array([w for _, w in part]) for part in (prof.good, prof.bad, prof.burst)])

    def draw(self, u: np.ndarray, v: np.ndarray, q: np.ndarray | float, p0: np.ndarray | float | None = None):
        """Position in ``prof.values()`` per record (uniforms ``u``, ``v``), bad with probability ``q``.

        Group 0 (good) when ``u >= q``, 2 (burst) when ``u < q - min(q, p0)``, else 1 (normal bad)."""
        p0 = self.p0 if p0 is None else p0
        group = np.add(u < q, u < q - np.minimum(q, p0), dtype=np.int64)
        return grouped_choice(self.cdf, group, v)


def _positions_to(values: list, table: list) -> np.ndarray:
    index = {v: i for i, v in enumerate(table)}
    return np.array([index[v] for v in values], dtype=np.int64)


@dataclass
class BlockPlan:
    """Per-second expected counts for one block."""

    sec: np.ndarray  # epoch seconds
    normal: np.ndarray  # counts per second
    floods: list[np.ndarray]
    scans: list[np.ndarray]

    @property
    def total(self) -> int:
        return int(self.normal.sum() + sum(f.sum() for f in self.floods) + sum(s.sum() for s in self.scans))


class TrafficModel:
    """Everything needed to draw blocks for one scenario."""

    def __init__(
        self,
        world: World,
        renderer: Renderer,
        plan: AnomalyPlan,
        rate: float,
        seed: int,
        shape: TrafficShape | None = None,
    ) -> None:
        self.world, self.renderer, self.plan, self.rate, self.seed = world, renderer, plan, float(rate), int(seed)
        self.shape = shape or TrafficShape()
        self.samplers = {name: _FieldSampler(p) for name, p in FIELDS.items()}
        self.action_of = _positions_to([str(v) for v in ACTION.values()], list(ACTIONS))
        self.source_of = _positions_to([str(v) for v in SOURCE.values()], [s.name for s in world.sources])
        self.country_of = _positions_to([str(v) for v in COUNTRY.values()], world.countries)
        self.method_of = _positions_to([str(v) for v in METHOD.values()], renderer.methods)
        self.status_of = _positions_to([int(v) for v in STATUS.values()], renderer.statuses)
        normal = [i for i, d in enumerate(DECISIONS) if d.weight > 0]
        self.normal_decisions = np.array(
            sorted(normal, key=lambda i: ACTIONS.index(DECISIONS[i].action)), dtype=np.int64
        )
        self.decision_cdf = grouped_cdf(
            [
                np.array([DECISIONS[i].weight for i in self.normal_decisions if DECISIONS[i].action == a])
                for a in ACTIONS
            ]
        )
        self.decision_status = np.array(
            [renderer.status_index[d.status] if d.status is not None else -1 for d in DECISIONS], dtype=np.int64
        )
        self.allow_index = ACTIONS.index("ALLOW")
        self.version_cdf = grouped_cdf([np.array([w for _, w in HTTP_VERSIONS])])
        self.alb = [s.name for s in world.sources].index("ALB")
        self.scan_decisions = np.array([DECISION_INDEX[n] for n, _ in SCAN_DECISIONS], dtype=np.int64)
        self.scan_cdf = grouped_cdf([np.array([w for _, w in SCAN_DECISIONS])])
        self.flood_decision = DECISION_INDEX[FLOOD_DECISION]
        self.get_method = renderer.methods.index("GET")
        self.http11 = 0

    # --- planning -------------------------------------------------------------------------------------------
    def block_plan(self, rng: np.random.Generator, block_start: int, lo: int, hi: int) -> BlockPlan:
        """Counts per second for seconds ``[max(lo, block), min(hi, block + 300))``."""
        sec = np.arange(max(lo, block_start), min(hi, block_start + BLOCK_SECONDS), dtype=np.int64)
        lam = self.rate * self.shape.multiplier(sec + 0.5) * self.plan.volume_multiplier(sec)
        normal = rng.poisson(lam)
        floods = [rng.poisson(r) for r in self.plan.extra_rate(sec, self.plan.floods, lambda k: (k - 1) * self.rate)]
        scans = [
            rng.poisson(r) for r in self.plan.extra_rate(sec, self.plan.scans, lambda k: k * URI_SCAN_SHARE * self.rate)
        ]
        if self.shape.gaps:  # drawn first, then silenced: the rest of the run keeps its exact records
            silent = self.shape.silent(sec)
            for counts in (normal, *floods, *scans):
                counts[silent] = 0
        return BlockPlan(sec, normal, floods, scans)

    # --- drawing --------------------------------------------------------------------------------------------
    def _times(self, rng: np.random.Generator, sec: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Sorted epoch-ms timestamps: ``counts[i]`` uniform in second ``sec[i]``."""
        base = np.repeat(sec * 1000, counts)
        return np.sort(base + rng.integers(0, 1000, len(base)))

    def normal_chunk(self, rng: np.random.Generator, ts: np.ndarray) -> Chunk:
        """Normal traffic at (sorted) ``ts``: fields drawn independently, as :mod:`simulator.anomalies` says."""
        n = len(ts)
        s, plan = self.samplers, self.plan
        u = rng.random((14, n))
        q_action = plan.bad_probability("action", ts)
        action = self.action_of[s["action"].draw(u[0], u[1], q_action)]
        dec = self.normal_decisions[grouped_choice(self.decision_cdf, action, u[2])]
        src = self.source_of[s["httpSourceName"].draw(u[3], u[4], plan.bad_probability("httpSourceName", ts))]
        country = self.country_of[s["country"].draw(u[5], u[6], plan.bad_probability("country", ts))]
        meth = self.method_of[s["httpMethod"].draw(u[7], u[8], plan.bad_probability("httpMethod", ts))]
        # origin status: only ALLOWed requests reach the origin; keep the overall bad fraction at q (see anomalies)
        p_allow = np.maximum(1.0 - q_action, 1e-9)
        q_status = np.minimum(plan.bad_probability("httpStatus", ts) / p_allow, 1.0)
        p0_status = np.minimum(s["httpStatus"].p0 / p_allow, 1.0)
        status = self.status_of[s["httpStatus"].draw(u[9], u[10], q_status, p0_status)]
        answered = action != self.allow_index
        status[answered] = self.decision_status[dec[answered]]
        ip = grouped_choice(self.world.ip_group_cdf, country, u[11])
        uri = grouped_choice(self.world.uri_group_cdf, src, u[12])
        ver = np.searchsorted(self.version_cdf, u[13], side="right")
        return Chunk(ts, dec, src, ip, uri, ver, meth, status)

    def flood_chunk(self, rng: np.random.Generator, ts: np.ndarray, slot: int) -> Chunk:
        n = len(ts)
        ip = np.full(n, self.world.flood_ips[slot % len(self.world.flood_ips)], dtype=np.int64)
        src = np.full(n, self.alb, dtype=np.int64)
        uri = grouped_choice(self.world.uri_group_cdf, src, rng.random(n))
        return Chunk(
            ts, np.full(n, self.flood_decision, dtype=np.int64), src, ip, uri, np.full(n, self.http11, dtype=np.int64),
            np.full(n, self.get_method, dtype=np.int64), np.full(n, self.renderer.status_index[200], dtype=np.int64),
        )  # fmt: skip

    def scan_chunk(self, rng: np.random.Generator, ts: np.ndarray, slot: int) -> Chunk:
        n = len(ts)
        dec = self.scan_decisions[grouped_choice(self.scan_cdf, np.zeros(n, dtype=np.int64), rng.random(n))]
        status = self.decision_status[dec]
        status[status < 0] = self.renderer.status_index[404]
        ip = np.full(n, self.world.scan_ips[slot % len(self.world.scan_ips)], dtype=np.int64)
        uri = self.world.scan_uri_offset + rng.integers(0, self.world.n_scan_uris, n)
        return Chunk(
            ts, dec, np.full(n, self.alb, dtype=np.int64), ip, uri, np.full(n, self.http11, dtype=np.int64),
            np.full(n, self.get_method, dtype=np.int64), status,
        )  # fmt: skip

    # --- blocks ---------------------------------------------------------------------------------------------
    def block_rng(self, block_start: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(block_start), 0xB10C])

    def block_chunks(self, block_start: int, lo: int, hi: int) -> Iterator[tuple[int, memoryview]]:
        """(record count, JSON-lines memoryview) per chunk of the block starting at ``block_start`` (epoch s).

        Only seconds in ``[lo, hi)`` get records (the scenario's window)."""
        rng = self.block_rng(block_start)
        return self.chunks(rng, self.block_plan(rng, block_start, lo, hi))

    def chunks(self, rng: np.random.Generator, bp: BlockPlan) -> Iterator[tuple[int, memoryview]]:
        """Draw and render the records ``bp`` plans, in chunks of whole seconds (each view is valid until the
        generator resumes: compress or copy it right away)."""
        per_sec = bp.normal + sum(bp.floods, np.zeros_like(bp.normal)) + sum(bp.scans, np.zeros_like(bp.normal))
        cum = np.cumsum(per_sec)
        i = 0
        while i < len(bp.sec):
            base = cum[i - 1] if i else 0
            j = max(i + 1, int(np.searchsorted(cum, base + CHUNK_RECORDS, side="right")))
            sl = slice(i, j)
            parts = [self.normal_chunk(rng, self._times(rng, bp.sec[sl], bp.normal[sl]))]
            for (_s, _e, _k, slot), counts in zip(self.plan.floods, bp.floods, strict=True):
                if counts[sl].any():
                    parts.append(self.flood_chunk(rng, self._times(rng, bp.sec[sl], counts[sl]), slot))
            for (_s, _e, _k, slot), counts in zip(self.plan.scans, bp.scans, strict=True):
                if counts[sl].any():
                    parts.append(self.scan_chunk(rng, self._times(rng, bp.sec[sl], counts[sl]), slot))
            chunk = parts[0] if len(parts) == 1 else Chunk.concat(parts)  # sorted by timestamp
            if len(chunk):
                yield len(chunk), self.renderer.render_view(chunk, rng)
            i = j
