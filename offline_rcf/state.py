"""Seed ensembles of the replica and their persistence per detector and entity.

A :class:`SeedEnsemble` is K ``TRCFDetector`` models (one per seed) fed the same intervals, plus the
per-interval scores and grades they produced. Saved under
``<state_dir>/offline_rcf/<detector>/<entity>/<variant>/`` (one ``seed-<k>.json.gz`` per model — the forest's
own state mappers — and ``meta.json``), so an hourly cross-check continues the stream instead of re-warming.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from offline_rcf.detector import TRCFDetector
from offline_rcf.engine import EngineName, ForestConfig
from offline_rcf.series import FeatureSeries

META_FORMAT = "wafad-seed-ensemble/1"
KEEP_INTERVALS = 20_000


def _safe(part: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._") or "_"
    if clean != part:  # keep distinct names distinct after cleaning
        clean = f"{clean[:60]}-{hashlib.sha1(part.encode('utf-8')).hexdigest()[:8]}"
    return clean


def ensemble_dir(state_dir: Path, detector: str, entity: str | None = None, variant: str = "index") -> Path:
    """Where the ensemble of ``detector`` (and HC ``entity``) lives; ``variant`` separates input sources."""
    return Path(state_dir) / "offline_rcf" / _safe(detector) / ("_" if entity is None else _safe(entity)) / variant


class SeedEnsemble:
    """K seeded replicas of one model, processing the same intervals in time order."""

    def __init__(
        self,
        config: ForestConfig,
        seeds: Sequence[int],
        *,
        engine: EngineName = "jvm",
        feature_names: Sequence[str] | None = None,
    ) -> None:
        if not seeds:
            raise ValueError("a seed ensemble needs at least one seed")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct, got {list(seeds)}")
        self.config = dataclasses.replace(config, seed=None)
        self.seeds = [int(s) for s in seeds]
        self.engine = engine
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.models = [
            TRCFDetector(self.config, engine=engine, feature_names=self.feature_names, seed=s) for s in self.seeds
        ]
        # data_end ms -> (data_start ms, scores[K], grades[K])
        self.history: dict[int, tuple[int, list[float], list[float]]] = {}
        self.last_end_ms: int | None = None

    def process(
        self,
        series: FeatureSeries,
        *,
        scorable: np.ndarray | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Feed the rows after the last processed one (``scorable`` masks rows AD would not score).

        Returns how many intervals were processed.
        """
        mask = np.ones(len(series), dtype=bool) if scorable is None else np.asarray(scorable, dtype=bool)
        done = 0
        for i in range(len(series)):
            end = int(series.data_end[i])
            if not mask[i] or (self.last_end_ms is not None and end <= self.last_end_ms):
                continue
            t = end // 1000
            row = series.values[i]
            results = [m.process_one(row, t) for m in self.models]
            self.history[end] = (int(series.data_start[i]), [r.score for r in results], [r.grade for r in results])
            self.last_end_ms = end
            done += 1
            if progress is not None:
                progress(1)
        return done

    def results_for(self, data_end: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores, grades), each (n, K), for the given interval ends; NaN where not processed."""
        ends = np.asarray(data_end, dtype=np.int64)
        scores = np.full((len(ends), len(self.seeds)), np.nan)
        grades = np.full((len(ends), len(self.seeds)), np.nan)
        for i, e in enumerate(ends):
            hit = self.history.get(int(e))
            if hit is not None:
                scores[i], grades[i] = hit[1], hit[2]
        return scores, grades

    def covers(self, first_end_ms: int) -> bool:
        """Whether the history still holds results from ``first_end_ms`` on (else re-run from scratch)."""
        return bool(self.history) and min(self.history) <= first_end_ms

    # --- persistence -----------------------------------------------------------------------------
    def save(self, folder: Path, *, keep: int = KEEP_INTERVALS) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for seed, model in zip(self.seeds, self.models, strict=True):
            model.save(folder / f"seed-{seed}.json.gz")
        ends = sorted(self.history)[-keep:]
        meta: dict[str, Any] = {
            "format": META_FORMAT,
            "config": dataclasses.asdict(self.config),
            "seeds": self.seeds,
            "engine": self.engine,
            "feature_names": self.feature_names,
            "last_end_ms": self.last_end_ms,
            "history": [[e, *self.history[e][:1], self.history[e][1], self.history[e][2]] for e in ends],
        }
        tmp = folder / "meta.json.tmp"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        tmp.replace(folder / "meta.json")

    @classmethod
    def load(
        cls,
        folder: Path,
        config: ForestConfig,
        seeds: Sequence[int],
        *,
        engine: EngineName = "jvm",
        feature_names: Sequence[str] | None = None,
    ) -> SeedEnsemble | None:
        """The saved ensemble when it was built with the same config, seeds, engine and features, else None."""
        folder = Path(folder)
        meta_path = folder / "meta.json"
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
        wanted = dataclasses.asdict(dataclasses.replace(config, seed=None))
        names = list(feature_names) if feature_names is not None else None
        if (
            meta.get("format") != META_FORMAT
            or meta.get("config") != wanted
            or meta.get("seeds") != [int(s) for s in seeds]
            or meta.get("engine") != engine
            or meta.get("feature_names") != names
        ):
            return None
        ens = cls.__new__(cls)
        ens.config = dataclasses.replace(config, seed=None)
        ens.seeds = [int(s) for s in seeds]
        ens.engine = engine
        ens.feature_names = names
        ens.models = [TRCFDetector.load(folder / f"seed-{s}.json.gz") for s in ens.seeds]
        ens.history = {int(e): (int(s), list(sc), list(gr)) for e, s, sc, gr in meta["history"]}
        ens.last_end_ms = meta.get("last_end_ms")
        return ens
