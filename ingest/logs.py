"""Structured JSON log lines (one object per line, as CloudWatch Logs Insights likes them)."""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger("wafad.ingest")


def log_json(message: str, **fields: Any) -> None:
    """Log ``{"message": ..., **fields}`` as one JSON line at INFO."""
    logger.info(json.dumps({"message": message, **fields}, default=str, sort_keys=True))
