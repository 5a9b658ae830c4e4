"""The self-contained HTML dashboard: one file, inline CSS, inlined chart library and script, no network.

The page is rendered from Jinja2 templates (``dashboard/templates/*.html.j2``) with autoescaping on for
everything, so every string from the data (attacker-controlled uri, args, headers, user agent; detector names;
alert texts) is escaped by construction. The only text inlined unescaped is the project's own CSS and scripts
(:mod:`dashboard.assets`) and the JSON data block, escaped for its ``<script>`` context by
:func:`dashboard.safety.safe_json`. The page's script reads that block with ``JSON.parse`` and inserts data
with ``textContent`` only; the Content-Security-Policy allows exactly the inlined scripts (by hash) and no
network access at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from dashboard.assets import inline_scripts, page_css
from dashboard.chartspec import ChartRegistry
from dashboard.data.loader import DashboardData, load_dashboard_data
from dashboard.data.values import iso
from dashboard.safety import content_security_policy, safe_json
from dashboard.views.alerts import alerts
from dashboard.views.crosscheck import crosscheck
from dashboard.views.detectors import detectors
from dashboard.views.evaluation import evaluation
from dashboard.views.historical import historical
from dashboard.views.live import live
from dashboard.views.overview import overview
from dashboard.views.traffic import traffic
from wafad.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _script_json(value: Any) -> Markup:
    """Escape for a ``<script type="application/json">`` body (HTML entities would corrupt the JSON there)."""
    return Markup(safe_json(value))


@cache
def environment() -> jinja2.Environment:
    """The templates' environment: autoescaping for every template, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = iso
    env.filters["script_json"] = _script_json
    return env


def _nav(d: DashboardData) -> list[tuple[str, str]]:
    nav = [("overview", "Overview"), ("historical", "Historical"), ("live", "Live trends"), ("detectors", "Detectors")]
    if d.crosschecks:
        nav.append(("crosscheck", "Cross-check"))
    nav.append(("traffic", "Traffic"))
    if d.alerts or d.labels:
        nav.append(("alerts", "Alerts"))
    if d.evaluation:
        nav.append(("evaluation", "Evaluation"))
    return nav


def render_html(d: DashboardData) -> str:
    """The whole page for ``d`` (pure function: no I/O beyond reading the package's templates)."""
    reg = ChartRegistry()
    sections = {
        "overview": overview(d, reg),
        "historical": historical(d, reg),
        "live": live(d, reg),
        "detectors": detectors(d, reg),
        "crosscheck": crosscheck(d, reg),
        "traffic": traffic(d),
        "alerts": alerts(d),
        "evaluation": evaluation(d),
    }
    scripts = inline_scripts()
    payload = {
        "window": {"start": d.start_ms, "end": d.end_ms},
        "labels": len(d.labels),
        "charts": reg.specs(),
        "samples": d.raw.samples,
    }
    page = environment().get_template("page.html.j2")
    return (
        page.render(
            title=f"wafad dashboard {iso(d.start_ms)} → {iso(d.end_ms)}",
            start=iso(d.start_ms),
            end=iso(d.end_ms),
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            nav=_nav(d),
            csp=content_security_policy(scripts),
            # the project's own stylesheet and scripts (never data), inlined as they are: their hashes are in the CSP
            css=Markup(page_css()),
            scripts=[Markup(s) for s in scripts],
            data_json=_script_json(payload),
            **sections,
        )
        + "\n"
    )


def write_dashboard(
    settings: Settings,
    start: datetime | str | int,
    end: datetime | str | int,
    out: Path,
    *,
    labels: Iterable[Mapping[str, Any]] | None = None,
    alerts: Iterable[Mapping[str, Any]] | None = None,
    crosscheck: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    evaluation: Mapping[str, Any] | None = None,
) -> Path:
    """Query OpenSearch for [start, end) and write the self-contained dashboard to ``out``; returns ``out``."""
    data = load_dashboard_data(
        settings, start, end, labels=labels, alerts=alerts, crosscheck=crosscheck, evaluation=evaluation
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(out)
    return out


__all__ = ["render_html", "write_dashboard"]
