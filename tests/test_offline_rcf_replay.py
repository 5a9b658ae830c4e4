"""Offline replay of a catalogue detector over raw WAF record files (no OpenSearch), through the CLI."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import numpy as np
import typer
from typer.testing import CliRunner

from offline_rcf.cli import register
from offline_rcf.replay import score_records
from wafad.catalogue import get_detector

T0 = int(datetime(2024, 5, 1, tzinfo=UTC).timestamp() * 1000)
N = 420
BURST = range(300, 312)  # origin 5xx burst


def write_logs(folder, seed: int = 4) -> list[dict]:
    rng = np.random.default_rng(seed)
    recs = []
    for k in range(N):
        for t in T0 + k * 60_000 + rng.integers(0, 60_000, rng.poisson(5)):
            bad = rng.random() < (0.6 if k in BURST else 0.02)
            recs.append(
                {
                    "timestamp": int(t),
                    "action": "ALLOW",
                    "httpStatus": 503 if bad else 200,
                    "httpRequest": {"country": str(rng.choice(["GB", "US"])), "httpMethod": "GET"},
                }
            )
    folder.mkdir(parents=True)
    for part in range(0, N, 60):  # one object per hour, as gzip JSON lines
        chunk = [r for r in recs if T0 + part * 60_000 <= r["timestamp"] < T0 + (part + 60) * 60_000]
        with gzip.open(folder / f"waf_{part:04d}.log.gz", "wt") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in chunk)
    return recs


def test_cli_replica_flags_the_burst_from_log_files(tmp_path):
    write_logs(tmp_path / "logs")
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["replica", str(tmp_path / "logs"), "-d", "waf-http-status-5xx", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    flagged = [(r["data_start_time"] - T0) // 60_000 for r in rows]
    assert any(k in BURST for k in flagged), flagged
    outside = [k for k in flagged if not (BURST.start <= k < BURST.stop + 8) and k >= 64]
    assert len(outside) <= 2, outside
    assert all(r["anomaly_grade"] > 0 and r["relevant_attribution"] for r in rows)
    missing = CliRunner().invoke(app, ["replica", str(tmp_path / "nope"), "-d", "waf-http-status-5xx"])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_hc_replay_scores_each_entity_and_imputes_zero_for_silence(tmp_path):
    recs = write_logs(tmp_path / "logs")
    recs = [
        r for r in recs if not (r["httpRequest"]["country"] == "US" and 200 <= (r["timestamp"] - T0) // 60_000 < 230)
    ]
    flood = range(350, 360)  # GB only: a request flood
    rng = np.random.default_rng(9)
    recs += [
        {"timestamp": int(t), "httpRequest": {"country": "GB"}}
        for k in flood
        for t in T0 + k * 60_000 + rng.integers(0, 60_000, 60)
    ]
    rows = score_records(recs, get_detector("waf-country-hc"))
    by_entity: dict[str, list[dict]] = {}
    for r in rows:
        by_entity.setdefault(r["entity"]["httpRequest.country"], []).append(r)
    assert set(by_entity) == {"GB", "US"}
    assert len(by_entity["GB"]) == N
    silent = [r for r in by_entity["US"] if 200 <= (r["data_start_time"] - T0) // 60_000 < 230]
    assert len(silent) == 30 and all(r["features"]["requests"] == 0 for r in silent)  # ZERO imputation
    flagged = {
        c: [(r["data_start_time"] - T0) // 60_000 for r in v if r["anomaly_grade"] > 0] for c, v in by_entity.items()
    }
    assert any(k in flood for k in flagged["GB"]), flagged
    assert not any(k in flood for k in flagged["US"]), flagged
