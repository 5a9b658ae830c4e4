"""Seed ensembles of the replica and their persistence per detector and entity.

A :class:`SeedEnsemble` is K ``TRCFDetector`` models (one per seed) fed the same intervals, plus the
per-interval scores and grades they produced. Saved as one object in a model store
(:mod:`offline_rcf.model_store`: S3 so every worker shares it, or a local folder) at :func:`ensemble_key`,
``offline_rcf/<detector>/<entity>/<variant>.json.gz`` (the meta data and each seed's model through the forest's
own state mappers), written only over the version it was read at (:meth:`SeedEnsemble.save_to`), so an hourly
cross-check continues the stream instead of re-warming and two checks never interleave their updates. The older
folder layout (``<state_dir>/offline_rcf/<detector>/<entity>/<variant>/``: ``seed-<k>.json.gz`` + ``meta.json``)
is still written and read by :meth:`SeedEnsemble.save` / :meth:`SeedEnsemble.load`.
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
from offline_rcf.model_store import ModelStore, pack_json, unpack_json
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


def ensemble_key(detector: str, entity: str | None = None, variant: str = "index") -> str:
    """The model-store key of the ensemble of ``detector`` (and HC ``entity``) for one input source."""
    return f"offline_rcf/{_safe(detector)}/{'_' if entity is None else _safe(entity)}/{variant}.json.gz"


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
    def save_to(self, store: ModelStore, key: str, version: str | None, *, keep: int = KEEP_INTERVALS) -> str:
        """Write the ensemble as one object if it is still at ``version`` (None: absent); raises VersionConflict."""
        models = {str(s): m.to_dict() for s, m in zip(self.seeds, self.models, strict=True)}
        payload = {**self._meta(keep), "models": models}
        return store.put(key, pack_json(payload), version=version)

    @classmethod
    def load_from(
        cls,
        store: ModelStore,
        key: str,
        config: ForestConfig,
        seeds: Sequence[int],
        *,
        engine: EngineName = "jvm",
        feature_names: Sequence[str] | None = None,
    ) -> tuple[SeedEnsemble | None, str | None]:
        """(the stored ensemble when built the same way, else None; the version read, None when absent)."""
        stored = store.get(key)
        if stored is None:
            return None, None
        meta = unpack_json(stored.data)
        if not _matches(meta, config, seeds, engine, feature_names):
            return None, stored.version
        models = [TRCFDetector.from_dict(meta["models"][str(int(s))]) for s in seeds]
        return cls._restored(meta, config, seeds, engine, feature_names, models), stored.version

    def save(self, folder: Path, *, keep: int = KEEP_INTERVALS) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for seed, model in zip(self.seeds, self.models, strict=True):
            model.save(folder / f"seed-{seed}.json.gz")
        tmp = folder / "meta.json.tmp"
        tmp.write_text(json.dumps(self._meta(keep)), encoding="utf-8")
        tmp.replace(folder / "meta.json")

    def _meta(self, keep: int) -> dict[str, Any]:
        ends = sorted(self.history)[-keep:]
        return {
            "format": META_FORMAT,
            "config": dataclasses.asdict(self.config),
            "seeds": self.seeds,
            "engine": self.engine,
            "feature_names": self.feature_names,
            "last_end_ms": self.last_end_ms,
            "history": [[e, *self.history[e][:1], self.history[e][1], self.history[e][2]] for e in ends],
        }

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
        if not _matches(meta, config, seeds, engine, feature_names):
            return None
        models = [TRCFDetector.load(folder / f"seed-{int(s)}.json.gz") for s in seeds]
        return cls._restored(meta, config, seeds, engine, feature_names, models)

    @classmethod
    def _restored(
        cls,
        meta: dict[str, Any],
        config: ForestConfig,
        seeds: Sequence[int],
        engine: EngineName,
        feature_names: Sequence[str] | None,
        models: list[TRCFDetector],
    ) -> SeedEnsemble:
        ens = cls.__new__(cls)
        ens.config = dataclasses.replace(config, seed=None)
        ens.seeds = [int(s) for s in seeds]
        ens.engine = engine
        ens.feature_names = list(feature_names) if feature_names is not None else None
        ens.models = models
        ens.history = {int(e): (int(s), list(sc), list(gr)) for e, s, sc, gr in meta["history"]}
        ens.last_end_ms = meta.get("last_end_ms")
        return ens


def _matches(
    meta: dict[str, Any],
    config: ForestConfig,
    seeds: Sequence[int],
    engine: EngineName,
    feature_names: Sequence[str] | None,
) -> bool:
    """Whether saved meta data describes an ensemble built with this config, seeds, engine and features."""
    return (
        meta.get("format") == META_FORMAT
        and meta.get("config") == dataclasses.asdict(dataclasses.replace(config, seed=None))
        and meta.get("seeds") == [int(s) for s in seeds]
        and meta.get("engine") == engine
        and meta.get("feature_names") == (list(feature_names) if feature_names is not None else None)
    )
