"""The student's HTML report, rendered from the grader.result/1 document alone.

A self-contained page (inline CSS, no scripts, no network) built by a Jinja
template in templates/; this module only prepares the view (checks grouped by
function, totals) and never recomputes a verdict.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import jinja2

from .charts import view as chart_view
from .result import SubmissionResult

TEMPLATES = Path(__file__).resolve().parent / "templates"  # the repository's templates/ (a link)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["chart_view"] = chart_view  # Note [Charts] in grader/charts.py
    return env


def render_html(result: SubmissionResult) -> str:
    functions: OrderedDict[str, list] = OrderedDict()
    for check in result.checks:
        functions.setdefault(check.function, []).append(check)
    percent = round(100 * result.score / result.max_score) if result.max_score else 0
    passed = sum(1 for c in result.checks if c.status == "passed")
    return _environment().get_template("report.html.j2").render(
        r=result, functions=list(functions.items()), percent=percent, passed=passed)


def write_html(result: SubmissionResult, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
