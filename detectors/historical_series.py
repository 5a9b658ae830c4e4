"""AD's historical analysis of one series (the local engine's batch mode): a fresh model, every interval scored.

Intervals without documents are "No data" error documents unless the detector imputes (ZERO: scored with zeros,
``feature_imputed``); an HC entity's empty intervals before its first document get nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wafad.catalogue import DetectorSpec


def historical_documents(engine: Any, spec: DetectorSpec, det_id: str, fs: Any, task_id: str) -> list[dict[str, Any]]:
    """The result documents of AD's historical analysis of one series: a fresh batch model over every interval."""
    det = engine._new_detector(spec, "historical", fs.entity)
    docs: list[dict[str, Any]] = []
    values = np.array(fs.values, dtype=np.float64)
    counts = fs.doc_count if fs.doc_count is not None else np.ones(len(fs), dtype=np.int64)
    for i in range(len(fs)):
        row = values[i]
        absent = int(counts[i]) == 0 or np.isnan(row).all()  # composite buckets skip empty intervals
        if absent:
            if spec.imputation == "ZERO" and det.n_processed_ > 0:
                docs.append(
                    engine._score(
                        det, spec, det_id, fs, i, np.zeros_like(row), imputed=[True] * len(row), task_id=task_id
                    )
                )
            elif spec.imputation is None and (not spec.is_high_cardinality or det.n_processed_ > 0):
                docs.append(engine._error_doc(spec, det_id, fs, i, "No data in current detection window", task_id))
            continue
        missing = np.isnan(row)
        if missing.any() and spec.imputation == "ZERO":
            row = np.where(missing, 0.0, row)
        docs.append(
            engine._score(
                det, spec, det_id, fs, i, row, imputed=list(missing) if missing.any() else None, task_id=task_id
            )
        )
    return docs
