"""The alerting checkpoint under ``settings.state_dir``: incident state plus the results read so far."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerting.incidents import IncidentState

FORMAT = "wafad-alerts-checkpoint/1"


@dataclass
class Checkpoint:
    #: execution_end_time (epoch ms) of the newest result read; the next run reads from here (minus a margin)
    read_until_ms: int | None = None
    state: IncidentState = field(default_factory=IncidentState)
    last_pass: str | None = None  # ISO time of the last pass (informational)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "read_until_ms": self.read_until_ms,
            "last_pass": self.last_pass,
            "state": self.state.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        if data.get("format") != FORMAT:
            raise ValueError(f"not an alerting checkpoint (format {data.get('format')!r}, expected {FORMAT!r})")
        return cls(
            read_until_ms=data.get("read_until_ms"),
            state=IncidentState.from_dict(data.get("state") or {}),
            last_pass=data.get("last_pass"),
        )


def checkpoint_path(settings: Any) -> Path:
    """One checkpoint per results index, so runs against different indices never mix."""
    return Path(settings.state_dir) / "alerts" / f"checkpoint-{settings.results_index}.json"


def load_checkpoint(path: Path) -> Checkpoint:
    if not path.exists():
        return Checkpoint()
    try:
        return Checkpoint.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable alerting checkpoint {path}: {exc} (delete it to start over)") from exc


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write atomically (a crash never leaves half a checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(checkpoint.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
