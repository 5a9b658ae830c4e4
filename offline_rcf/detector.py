"""``TRCFDetector``: the AD model replica as a river anomaly detector (river's parameter conventions)."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from river.base import AnomalyDetector

from offline_rcf.engine import ADMode, Engine, EngineName, ForestConfig, Imputation, ScoreResult, ad_profile
from offline_rcf.engine_factory import check_engine_name, make_engine, restore_engine

STATE_FORMAT = "wafad-trcf-detector/2"
STATE_FORMAT_V1 = "wafad-trcf-detector/1"  # still read: config + learned names, no river parameters
#: The AD profile knobs and their defaults (AD 3.x real time); with ``config=`` they must stay at these.
PROFILE_DEFAULTS: dict[str, Any] = {
    "shingle_size": 8,
    "recency_emphasis": 2560,
    "mode": "realtime",
    "imputation": "PREVIOUS",
}


class TRCFDetector(AnomalyDetector):
    """AWS's ThresholdedRandomCutForest set up as the OpenSearch AD plugin sets up its models.

    One point per detection interval. ``process_one(x, t)`` scores then learns the point and returns the
    full :class:`~offline_rcf.engine.ScoreResult` (AD's ``anomaly_score``, ``anomaly_grade``, ``confidence``,
    ``threshold``, attribution and expected values); ``t`` is the interval's ``data_end_time`` in epoch
    seconds, as AD passes it (the forest imputes whole intervals when timestamps leave gaps).

    The forest scores and learns in one step, so ``score_one(x)`` processes ``x`` and a following
    ``learn_one(x)`` with the same ``x`` does nothing (river's score-then-learn loop feeds each point once).
    A point without any of the forest's features has no score (``score_one`` gives NaN, ``learn_one`` skips it,
    ``process_one`` raises), as AD writes no result for such an interval.
    Without ``t``, timestamps advance by ``interval_seconds``. The forest is built on the first point, with
    as many features as that point has.

    Parameters
    ----------
    config
        Advanced: the full builder settings (e.g. ``ad_profile(n, era="2.14")``); fixes the feature count.
        When given, the profile knobs below stay at their defaults; ``seed`` still applies on top.
    engine
        ``"jvm"`` (the jars, reference) or ``"native"`` (numpy engine).
    feature_names
        Order of the features in ``x``; else the sorted keys of the first ``x`` (a dict's order does not
        matter). Missing keys and NaN values are passed to the forest as missing (imputed).
    interval_seconds
        Step of the automatic timestamps.
    seed
        Random seed of the forest; None: not reproducible.
    shingle_size
        Consecutive intervals per forest point (AD's ``shingle_size``).
    recency_emphasis
        AD's recency emphasis: time decay 1/recency_emphasis.
    mode
        AD's model setup: ``"realtime"`` (the job), ``"historical"`` (batch task) or ``"preview"``.
    imputation
        How the forest fills missing values (AD's imputation option).

    Examples
    --------
    With no arguments it is AD 3.x's real-time model (50 trees, sample 256, shingle 8, output after 32):

    >>> import numpy as np
    >>> from offline_rcf import TRCFDetector
    >>> det = TRCFDetector(seed=7)
    >>> det
    TRCFDetector (
      config=None
      engine="jvm"
      feature_names=None
      interval_seconds=60
      seed=7
      shingle_size=8
      recency_emphasis=2560
      mode="realtime"
      imputation="PREVIOUS"
    )
    >>> rng = np.random.default_rng(0)
    >>> scores = []
    >>> for i in range(300):
    ...     x = {"errors": float(rng.poisson(2)), "blocked": float(rng.poisson(2))}
    ...     if 250 <= i < 260:
    ...         x["blocked"] = 80.0
    ...     scores.append(det.score_one(x))
    ...     det.learn_one(x)
    >>> det.feature_names_, det.config_.num_trees, det.config_.dimensions
    (['blocked', 'errors'], 50, 16)
    >>> 250 <= int(np.argmax(scores)) < 260
    True
    >>> det.clone().n_processed_, det.n_processed_
    (0, 300)

    ``process_one`` gives AD's whole result:

    >>> det = TRCFDetector(feature_names=["blocked", "errors"], seed=7)
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
    >>> det.process_one(x) == twin.process_one(x), repr(twin) == repr(det)
    (True, True)
    """

    def __init__(
        self,
        config: ForestConfig | None = None,
        engine: EngineName = "jvm",
        feature_names: Sequence[str] | None = None,
        interval_seconds: int = 60,
        *,
        seed: int | None = None,
        shingle_size: int = 8,
        recency_emphasis: int = 2560,
        mode: ADMode = "realtime",
        imputation: Imputation = "PREVIOUS",
    ) -> None:
        check_engine_name(engine)
        knobs = {"shingle_size": shingle_size, "recency_emphasis": recency_emphasis, "mode": mode}
        _check_knobs(config, {**knobs, "imputation": imputation})
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.config = config
        self.engine = engine
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.interval_seconds = interval_seconds
        self.seed = seed
        self.shingle_size = shingle_size
        self.recency_emphasis = recency_emphasis
        self.mode = mode
        self.imputation = imputation
        self.feature_names_: list[str] | None = self.feature_names
        self.config_: ForestConfig | None = None
        if config is not None:
            self.config_ = config if seed is None else dataclasses.replace(config, seed=seed)
            if feature_names is not None and len(feature_names) != config.base_dims:
                raise ValueError(f"{len(feature_names)} feature names for a forest of {config.base_dims} features")
        elif feature_names is not None:
            self.config_ = self._profile(len(feature_names))
        self._engine: Engine | None = None
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
        if not _all_missing(key):  # nothing to learn (AD skips such an interval)
            self._process_vector(key, None)

    def score_one(self, x: Mapping[str, Any] | Sequence[float]) -> float:
        key = self._vector(x)
        if self._pending is not None and self._pending[0] == _key(key):
            return self._pending[1].score
        if _all_missing(key):
            return math.nan  # none of the forest's features: AD writes no score
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
        """The engine (built on the first point, so constructing a detector does not start the JVM)."""
        if self._engine is None:
            if self.config_ is None:
                raise ValueError("the forest is built on the first point: its feature count is not known yet")
            self._engine = make_engine(self.config_, self.engine)
        return self._engine

    @classmethod
    def _unit_test_params(cls):
        yield {}  # unseeded: river's checks then also check that seeding makes it reproducible
        yield {"engine": "native", "shingle_size": 4}

    # --- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the river parameters, the forest's settings, learned names and the forest's own state."""
        params = self._get_params()
        params["config"] = None if self.config is None else dataclasses.asdict(self.config)
        return {
            "format": STATE_FORMAT,
            "params": params,
            "config": None if self.config_ is None else dataclasses.asdict(self.config_),
            "feature_names": self.feature_names_,
            "last_t": self.last_t_,
            "n_processed": self.n_processed_,
            "state": None if self.config_ is None else base64.b64encode(self.model.state()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TRCFDetector:
        """The detector :meth:`to_dict` wrote (this format or ``STATE_FORMAT_V1``)."""
        fmt = data.get("format")
        if fmt == STATE_FORMAT_V1:  # v1 kept the effective config and the learned names as parameters
            params: dict[str, Any] = {
                "config": ForestConfig(**data["config"]),
                "engine": data["engine"],
                "feature_names": data.get("feature_names"),
                "interval_seconds": int(data["interval_seconds"]),
            }
        elif fmt == STATE_FORMAT:
            params = dict(data["params"])
            params["config"] = None if params["config"] is None else ForestConfig(**params["config"])
        else:
            raise ValueError(f"not a saved TRCFDetector (format {fmt!r}, expected {STATE_FORMAT!r})")
        det = cls(**params)
        det.config_ = None if data["config"] is None else ForestConfig(**data["config"])
        det.feature_names_ = list(data["feature_names"]) if data.get("feature_names") is not None else None
        det.last_t_ = data.get("last_t")
        det.n_processed_ = int(data.get("n_processed", 0))
        if data.get("state") is not None and det.config_ is not None:
            det._engine = det._restore(base64.b64decode(data["state"]))
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
        self._engine = None if data is None else self._restore(data)

    def save(self, path: str | Path) -> None:
        """Write the detector (parameters + forest state) as gzip JSON; written atomically."""
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
    def _profile(self, n_features: int) -> ForestConfig:
        cfg = ad_profile(
            n_features,
            mode=self.mode,
            shingle_size=self.shingle_size,
            recency_emphasis=self.recency_emphasis,
            seed=self.seed,
        )
        return cfg if self.imputation == cfg.imputation else dataclasses.replace(cfg, imputation=self.imputation)

    def _restore(self, state: bytes) -> Engine:
        assert self.config_ is not None
        engine = restore_engine(self.config_, state, self.engine)
        if self.last_t_ is not None and hasattr(engine, "_last_ts"):
            engine._last_ts = self.last_t_  # type: ignore[attr-defined]
        return engine

    def _vector(self, x: Mapping[str, Any] | Sequence[float]) -> list[float]:
        if isinstance(x, Mapping):
            if self.feature_names_ is None:
                names = sorted(map(str, x))
                self._set_dims(len(names), "first point has {n} features, the forest expects {dims}")
                self.feature_names_ = names
            return [_as_float(x.get(name)) for name in self.feature_names_]
        values = [_as_float(v) for v in x]
        self._set_dims(len(values), "point has {n} values, the forest expects {dims}")
        return values

    def _set_dims(self, n: int, mismatch: str) -> None:
        if self.config_ is None:
            if n == 0:
                raise ValueError("a point needs at least one feature")
            self.config_ = self._profile(n)
        elif n != self.config_.base_dims:
            raise ValueError(mismatch.format(n=n, dims=self.config_.base_dims))

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


def _check_knobs(config: ForestConfig | None, knobs: Mapping[str, Any]) -> None:
    if config is not None:
        changed = sorted(k for k, v in knobs.items() if v != PROFILE_DEFAULTS[k])
        if changed:
            raise ValueError(f"give either config= or the profile parameters, not both ({', '.join(changed)})")
        return
    if knobs["shingle_size"] < 1 or knobs["recency_emphasis"] < 1:
        raise ValueError("shingle_size and recency_emphasis must be at least 1")
    if knobs["mode"] not in get_args(ADMode):
        raise ValueError(f"unknown mode {knobs['mode']!r}; use one of {get_args(ADMode)}")
    if knobs["imputation"] not in get_args(Imputation):
        raise ValueError(f"unknown imputation {knobs['imputation']!r}; use one of {get_args(Imputation)}")


def _as_float(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"feature value {v!r} is not a number") from None


def _all_missing(values: list[float]) -> bool:
    return all(math.isnan(v) for v in values)


def _key(values: list[float]) -> tuple[float, ...]:
    # NaN != NaN: map to None so a point with missing values still matches itself
    return tuple(None if math.isnan(v) else v for v in values)  # type: ignore[misc]
