"""``TRCFDetector``: the AD model replica as a river anomaly detector."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from river.base import AnomalyDetector

from offline_rcf.engine import Engine, EngineName, ForestConfig, ScoreResult, make_engine, restore_engine

STATE_FORMAT = "wafad-trcf-detector/1"


def _validate_engine_name(engine: str) -> None:
    if engine not in ("jvm", "native"):
        raise ValueError(f"unknown engine {engine!r}; use 'jvm' or 'native'")


class TRCFDetector(AnomalyDetector):
    """AWS's ThresholdedRandomCutForest set up as the OpenSearch AD plugin sets up its models.

    One point per detection interval. ``process_one(x, t)`` scores then learns the point and returns the
    full :class:`~offline_rcf.engine.ScoreResult` (AD's ``anomaly_score``, ``anomaly_grade``, ``confidence``,
    ``threshold``, attribution and expected values); ``t`` is the interval's ``data_end_time`` in epoch
    seconds, as AD passes it (the forest imputes whole intervals when timestamps leave gaps).

    The forest scores and learns in one step, so ``score_one(x)`` processes ``x`` and a following
    ``learn_one(x)`` with the same ``x`` does nothing (river's score-then-learn loop feeds each point once).
    Without ``t``, timestamps advance by ``interval_seconds``.

    Parameters
    ----------
    config
        Builder settings, usually ``ad_profile(n_features, ...)``.
    engine
        ``"jvm"`` (the jars, reference) or ``"native"`` (numpy engine).
    feature_names
        Order of the features in ``x``; taken from the first ``x`` when not given. Missing keys and NaN
        values are passed to the forest as missing (imputed).
    interval_seconds
        Step of the automatic timestamps.

    Examples
    --------
    >>> import numpy as np
    >>> from offline_rcf import TRCFDetector
    >>> from offline_rcf.engine import ad_profile
    >>> det = TRCFDetector(ad_profile(2, seed=7), feature_names=["blocked", "errors"])
    >>> rng = np.random.default_rng(0)
    >>> flagged = []
    >>> for i in range(300):
    ...     x = {"blocked": float(rng.poisson(2)), "errors": float(rng.poisson(2))}
    ...     if 250 <= i < 260:
    ...         x["blocked"] = 80.0
    ...     result = det.process_one(x, t=1_700_000_000 + 60 * (i + 1))
    ...     if result.grade > 0:
    ...         flagged.append(i)
    >>> any(250 <= i < 268 for i in flagged)
    True
    >>> result.confidence > 0.7, det.n_processed_
    (True, 300)

    river's score-then-learn loop feeds each point once:

    >>> x = {"blocked": 2.0, "errors": 1.0}
    >>> score = det.score_one(x)
    >>> det.learn_one(x)
    >>> det.n_processed_
    301

    The state round-trips through the forest's own mappers and continues identically:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.json.gz"
    >>> det.save(path)
    >>> twin = TRCFDetector.load(path)
    >>> det.process_one(x) == twin.process_one(x)
    True
    """

    def __init__(
        self,
        config: ForestConfig,
        engine: EngineName = "jvm",
        feature_names: Sequence[str] | None = None,
        interval_seconds: int = 60,
    ) -> None:
        _validate_engine_name(engine)
        if feature_names is not None and len(feature_names) != config.base_dims:
            raise ValueError(f"{len(feature_names)} feature names for a forest of {config.base_dims} features")
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.config = config
        self.engine = engine
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.interval_seconds = interval_seconds
        self._engine: Engine | None = None
        self._names: list[str] | None = self.feature_names
        self._pending: tuple[tuple[float, ...], ScoreResult] | None = None
        self.last_: ScoreResult | None = None
        self.last_t_: int | None = None
        self.n_processed_ = 0

    # --- river interface -------------------------------------------------------------------------
    def learn_one(self, x: Mapping[str, Any] | Sequence[float]) -> None:
        key = self._vector(x)
        if self._pending is not None and self._pending[0] == _key(key):
            self._pending = None  # already learned by score_one
            return
        self._pending = None
        self._process_vector(key, None)

    def score_one(self, x: Mapping[str, Any] | Sequence[float]) -> float:
        key = self._vector(x)
        if self._pending is not None and self._pending[0] == _key(key):
            return self._pending[1].score
        result = self._process_vector(key, None)
        self._pending = (_key(key), result)
        return result.score

    # --- AD interface ----------------------------------------------------------------------------
    def process_one(self, x: Mapping[str, Any] | Sequence[float], t: int | None = None) -> ScoreResult:
        """Score then learn one interval; ``t`` = data_end in epoch seconds (increasing)."""
        self._pending = None
        return self._process_vector(self._vector(x), t)

    @property
    def model(self) -> Engine:
        """The engine (built on first use, so constructing a detector does not start the JVM)."""
        if self._engine is None:
            self._engine = make_engine(self.config, self.engine)
        return self._engine

    # --- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "engine": self.engine,
            "config": dataclasses.asdict(self.config),
            "feature_names": self._names,
            "interval_seconds": self.interval_seconds,
            "last_t": self.last_t_,
            "n_processed": self.n_processed_,
            "state": base64.b64encode(self.model.state()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TRCFDetector:
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"not a saved TRCFDetector (format {data.get('format')!r}, expected {STATE_FORMAT!r})")
        config = ForestConfig(**data["config"])
        det = cls(config, engine=data["engine"], interval_seconds=int(data["interval_seconds"]))
        det._names = list(data["feature_names"]) if data.get("feature_names") is not None else None
        det.feature_names = det._names
        det._engine = restore_engine(config, base64.b64decode(data["state"]), det.engine)
        det.last_t_ = data.get("last_t")
        det.n_processed_ = int(data.get("n_processed", 0))
        if det.last_t_ is not None and hasattr(det._engine, "_last_ts"):
            det._engine._last_ts = det.last_t_  # type: ignore[attr-defined]
        return det

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (and deepcopy) through the forest's own state: JVM objects do not pickle."""
        state = self.__dict__.copy()
        engine = state.pop("_engine")
        state["_engine_state"] = None if engine is None else engine.state()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        data = state.pop("_engine_state", None)
        self.__dict__.update(state)
        self._engine = None if data is None else restore_engine(self.config, data, self.engine)
        if self._engine is not None and self.last_t_ is not None and hasattr(self._engine, "_last_ts"):
            self._engine._last_ts = self.last_t_  # type: ignore[attr-defined]

    def save(self, path: str | Path) -> None:
        """Write the detector (config + forest state) as gzip JSON; written atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as fh:
            json.dump(self.to_dict(), fh)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> TRCFDetector:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no saved detector at {path}")
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))

    # --- internals -------------------------------------------------------------------------------
    def _vector(self, x: Mapping[str, Any] | Sequence[float]) -> list[float]:
        dims = self.config.base_dims
        if isinstance(x, Mapping):
            if self._names is None:
                if len(x) != dims:
                    raise ValueError(f"first point has {len(x)} features, the forest expects {dims}")
                self._names = [str(k) for k in x]
            return [_as_float(x.get(name)) for name in self._names]
        values = [_as_float(v) for v in x]
        if len(values) != dims:
            raise ValueError(f"point has {len(values)} values, the forest expects {dims}")
        return values

    def _process_vector(self, values: list[float], t: int | None) -> ScoreResult:
        if t is None:
            t = (self.last_t_ or 0) + self.interval_seconds
        t = int(t)
        if self.last_t_ is not None and t <= self.last_t_:
            raise ValueError(f"timestamps must increase: t={t} after {self.last_t_}")
        result = self.model.process(values, t)
        self.last_t_ = t
        self.last_ = result
        self.n_processed_ += 1
        return result

    @classmethod
    def _unit_test_params(cls):
        from offline_rcf.engine import ad_profile

        yield {"config": ad_profile(2, seed=1)}


def _as_float(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"feature value {v!r} is not a number") from None


def _key(values: list[float]) -> tuple[float, ...]:
    # NaN != NaN: map to None so a point with missing values still matches itself
    return tuple(None if math.isnan(v) else v for v in values)  # type: ignore[misc]
