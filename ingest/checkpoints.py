"""Where local delivery resumes: the last delivered sequence number per shard of a Kinesis stream, in
``<state_dir>/ingest/checkpoints/<stream>.json`` (one JSON object, written atomically)."""

from __future__ import annotations

import json
from pathlib import Path

from wafad.settings import Settings


class CheckpointStore:
    """Last delivered sequence number per shard, in one JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def save(self, shard_id: str, sequence_number: str) -> None:
        self.positions[shard_id] = sequence_number
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.positions, indent=1, sort_keys=True))
        tmp.replace(self.path)


def checkpoint_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / "ingest" / "checkpoints" / f"{settings.kinesis_stream}.json"
