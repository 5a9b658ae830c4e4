"""A high-cardinality workload for the scale bench: per-entity request counts scored like ``waf-country-hc``.

Each entity (a country) gets its own seeded Poisson count stream (rates spread over two orders of magnitude, a
few 4x bursts) and its own native forest with the catalogue detector's config (one feature, shingle 8, zero
imputation, AD real-time profile, bounding-box cache 1.0). :func:`score_entities` is the plain function; the
Prefect task and flow around it fan chunks of entities out through :func:`flows.runners.task_runner`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np

from offline_rcf.engine import ForestConfig, ad_profile
from wafad.catalogue import get_detector

DETECTOR = "waf-country-hc"
TS0 = 1_700_000_040


def entity_config(entity: int) -> ForestConfig:
    """The HC detector's forest for one entity, seeded by the entity like the local engine seeds its models."""
    spec = get_detector(DETECTOR)
    seed = int.from_bytes(hashlib.sha256(f"{DETECTOR}/{entity}".encode()).digest()[:4], "big")
    cfg = ad_profile(len(spec.features), seed=seed)
    return dataclasses.replace(cfg, imputation=spec.imputation or "PREVIOUS", bbox_cache_fraction=1.0)


def entity_counts(entity: int, intervals: int) -> np.ndarray:
    """Requests per interval of one entity: Poisson around an entity rate, with a 4x burst every 400 intervals."""
    rng = np.random.default_rng(entity)
    rate = float(np.exp(rng.uniform(np.log(0.5), np.log(80.0))))
    x = rng.poisson(rate, size=intervals).astype(np.float64)
    for start in range(int(rng.integers(150, 400)), intervals - 15, 400):
        x[start : start + 15] = rng.poisson(4 * rate + 2, size=15)
    return x


def score_entities(entities: list[int], intervals: int) -> list[dict[str, Any]]:
    """Score each entity's stream from scratch; one summary per entity (points, flagged, score sum)."""
    from offline_rcf.native import NativeEngine

    out = []
    for entity in entities:
        engine = NativeEngine(entity_config(entity))
        x = entity_counts(entity, intervals)
        flagged, total = 0, 0.0
        for i in range(intervals):
            r = engine.process(x[i : i + 1], TS0 + 60 * i)
            flagged += r.grade > 0
            total += r.score
        out.append({"entity": entity, "points": intervals, "flagged": int(flagged), "score_sum": total})
    return out


def chunks(entities: int, size: int) -> list[list[int]]:
    """``range(entities)`` cut into lists of at most ``size``."""
    return [list(range(i, min(i + size, entities))) for i in range(0, entities, size)]


def start_prefect() -> None:
    """Run an empty flow so that a temporary Prefect server is up before anything is timed."""
    from prefect import flow

    flow(name="bench-scale-warm-up", persist_result=False)(lambda: None)()


def run_flow(entities: int, intervals: int, chunk: int, runner: Any) -> list[dict[str, Any]]:
    """The Prefect flow: one task per chunk of entities, on ``runner``; summaries in entity order."""
    from prefect import flow, task

    score = task(score_entities, name="score-entities", retries=1)

    @flow(name="bench-scale-hc", task_runner=runner, log_prints=False, persist_result=False)
    def hc(parts: list[list[int]], n: int) -> list[dict[str, Any]]:
        futures = [score.submit(part, n) for part in parts]
        return [row for f in futures for row in f.result()]

    return hc(chunks(entities, chunk), intervals)
