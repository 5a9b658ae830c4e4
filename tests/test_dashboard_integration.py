"""The dashboard over what the other parts really write: the local AD engine's results and offline_rcf's cross-check."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.render import write_dashboard
from dashboard.sample_data import labels_for_window, raw_docs
from wafad.catalogue import get_detector

START = datetime(2026, 9, 7, 3, 0, tzinfo=UTC)
MINUTES = 90
SCORED_FROM = START + timedelta(minutes=45)  # the engine trains on the 40 intervals before
ANOMALIES = [("httpStatus", 70, 78)]

pytestmark = pytest.mark.slow


def test_dashboard_over_local_engine_results_and_crosscheck(settings, os_client, tmp_path: Path) -> None:
    local_engine = pytest.importorskip("detectors.local_engine")
    crosscheck_mod = pytest.importorskip("offline_rcf.crosscheck")
    from opensearchpy import helpers

    from dashboard.sample_data import _ingest_template

    _ingest_template(os_client, settings)
    raw = list(raw_docs(START, MINUTES, per_minute=6, anomalies=ANOMALIES))
    helpers.bulk(
        os_client,
        ({"_index": f"{settings.index_prefix}-2026.09.07", "_id": d["event_id"], "_source": d} for d in raw),
        refresh=True,
    )
    spec = get_detector("waf-http-status-5xx")
    engine = local_engine.LocalADEngine(settings, os_client, engine="native")
    report = engine.run(spec, SCORED_FROM, START + timedelta(minutes=MINUTES))
    assert report.results_written > 0
    os_client.indices.refresh(index=settings.results_index)
    cross = crosscheck_mod.crosscheck_detector(
        settings, spec.name, SCORED_FROM, START + timedelta(minutes=MINUTES), client=os_client, engine="native",
        persist=False, seeds=(1, 2, 3),
    )  # fmt: skip

    out = write_dashboard(
        settings,
        SCORED_FROM,
        START + timedelta(minutes=MINUTES),
        tmp_path / "dash.html",
        labels=labels_for_window(START, ANOMALIES),
        crosscheck={"reports": [cross.to_dict()]},
    )
    html = out.read_text(encoding="utf-8")
    panel = html.split('id="detector-waf-http-status-5xx"')[1].split('<div class="detector')[0]
    # the engine's random-looking id is shown under the catalogue name, with one result per minute
    assert '<div class="v">45</div><div class="k">intervals</div>' in panel
    assert "no AD results in this window" not in panel
    block = re.search(r'<script type="application/json" id="wafad-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    charts = json.loads(block)["charts"]
    feature = charts[re.search(r'<div class="chart-host" id="([^"]+)"', panel).group(1)]  # type: ignore[union-attr]
    line = next(s for s in feature["series"] if s["label"] == "status_bad (actual)")["data"]["v"]
    assert sum(v is not None for v in line) >= 40
    section = html.split('<section id="crosscheck">')[1].split("</section>")[0]
    assert "waf-http-status-5xx" in section and cross.verdict in section
    cross_ids = re.findall(r'<div class="chart-host" id="([^"]+)"', section)
    bands = [s for cid in cross_ids for s in charts[cid]["series"] if s["kind"] == "band"]
    assert bands and any(v is not None for b in bands for v in b["upper"]["v"])
