"""Where the local AD engine keeps its real-time models: the shared model store (S3), one object per series.

Key ``models/<results_index>/<detector_id>/<single | entity-<digest>>.json.gz`` in :mod:`offline_rcf.model_store`
(gzip JSON of ``TRCFDetector.to_dict()``): a model belongs with the results it wrote, so two engines writing to
different results indices keep different models. A model written before the store existed (or by a warm start) in
``<state_dir>/models/`` is read from there when the store has none; it is then saved to the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from offline_rcf.model_store import ModelStore, pack_json, unpack_json


def entity_file(entity: Mapping[str, str] | None) -> str:
    """The file name stem of one series' model: ``single``, or ``entity-<digest of the entity>``."""
    if not entity:
        return "single"
    key = "|".join(f"{k}={entity[k]}" for k in sorted(entity))
    return "entity-" + hashlib.sha1(key.encode()).hexdigest()[:20]


def model_key(det_id: str, entity: Mapping[str, str] | None, results_index: str) -> str:
    return f"models/{results_index}/{det_id}/{entity_file(entity)}.json.gz"


def load_model(store: ModelStore, key: str, legacy_path: Path | None = None) -> tuple[Any, str | None]:
    """(the saved detector or None, the version it was read at: None when it is not in the store)."""
    from offline_rcf import TRCFDetector

    stored = store.get(key)
    if stored is not None:
        return TRCFDetector.from_dict(unpack_json(stored.data)), stored.version
    if legacy_path is not None and legacy_path.exists():
        return TRCFDetector.load(legacy_path), None
    return None, None


def save_model(store: ModelStore, key: str, det: Any, version: str | None) -> str:
    """Write ``det`` if the stored model is still at ``version`` (None: absent); raises ``VersionConflict``."""
    return store.put(key, pack_json(det.to_dict()), version=version)
