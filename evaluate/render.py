"""The evaluation report for people: a rich table, markdown, and HTML (Jinja2, autoescape)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from evaluate.report import EvaluationReport

#: (column title, metrics key, format)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("windows", "windows", "d"),
    ("recall", "recall", "pct"),
    ("delay med (min)", "delay_median_min", ".1f"),
    ("delay max (min)", "delay_max_min", ".1f"),
    ("incidents", "incidents", "d"),
    ("false/day", "false_incidents_per_day", ".2f"),
    ("precision", "precision", "pct"),
    ("grade>0 recall", "grade_recall", "pct"),
    ("grade>0 out/day", "grade_false_per_day", ".1f"),
    ("cold start (min)", "cold_start_min", ".0f"),
)


def cell(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    if fmt == "pct":
        return f"{100 * float(value):.0f} %"
    if fmt == "d":
        return str(int(value))
    return format(float(value), fmt)


def rows(report: EvaluationReport) -> list[list[str]]:
    """One row per detector, then "all": the detector name and the :data:`COLUMNS` cells."""
    out = [[name, *(cell(m.get(k), f) for _t, k, f in COLUMNS)] for name, m in report.per_detector.items()]
    out.append(["all", *(cell(report.overall.get(k), f) for _t, k, f in COLUMNS)])
    return out


def title(report: EvaluationReport) -> str:
    seeds = ", ".join(str(s) for s in report.seeds)
    return (
        f"profile {report.profile} ({report.description}): {report.days:g} day(s) x seeds {seeds}, "
        f"engine {report.engine}, grace {report.grace_intervals} intervals"
    )


def rich_table(report: EvaluationReport) -> Table:
    table = Table("detector", *(t for t, _k, _f in COLUMNS), title=title(report))
    for row in rows(report):
        table.add_row(*row, style="bold" if row[0] == "all" else None)
    return table


def markdown(report: EvaluationReport) -> str:
    head = ["detector", *(t for t, _k, _f in COLUMNS)]
    lines = [f"# Detection quality: {title(report)}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * len(head))
    lines += ["| " + " | ".join(r) + " |" for r in rows(report)]
    return "\n".join(lines) + "\n"


def html(report: EvaluationReport) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(default=True))
    head = ["detector", *(t for t, _k, _f in COLUMNS)]
    return env.get_template("report.html.j2").render(title=title(report), head=head, rows=rows(report), report=report)


def write(report: EvaluationReport, out: Path) -> Path:
    """Write ``out`` by its suffix: ``.md``, ``.html`` or ``.json`` (``ValueError`` for anything else)."""
    suffix = out.suffix.lower()
    text = {".md": markdown, ".html": html, ".json": lambda r: r.to_json() + "\n"}.get(suffix)
    if text is None:
        raise ValueError(f"--out {out}: expected a .md, .html or .json file")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text(report), encoding="utf-8")
    return out
