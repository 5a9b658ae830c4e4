"""The executive page as HTML: Jinja2 with autoescaping on everywhere (log strings are attacker-controlled).

The page carries a Content-Security-Policy that allows inline styles only: no script, no network, no frames.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from dashboard.executive.view import ExecutiveView

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(view: ExecutiveView) -> str:
    return environment().get_template("report.html").render(view=view)
