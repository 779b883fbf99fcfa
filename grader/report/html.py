"""The student's HTML report, rendered from the grader.result/1 document alone.

A self-contained page (inline CSS, no scripts, no network) built by a Jinja
template in templates/; this module only prepares the view (checks grouped by
function, totals, the fix-first list of grader/report/fix_first.py) and never recomputes
a verdict.

# Note [Report layout]
A student looks at the top of the page and at little else, on a phone as often as
not, so the page opens with what to do: the score (with a "public checks only"
banner beside it in a student release, so a full score there is not mistaken for
the course's grade), then the failures in fix order (Note [Fix order] in
grader/report/fix_first.py), one line of diagnosis and one of hint each, each linking to
its function's details below.  The details follow, failed functions open and in
the assignment's order; the functions that passed every check are folded into one
<details> at the end of them, so no passed check stands between a student and the
first failure.  The notes (stand-ins used, time limits) come last.

# Note [Compiled once]
Jinja turns a template into Python source and compiles it: 35 ms for report.html.j2, about
nine tenths of rendering a report, which a batch paid once per submission when each call
built its own Environment.  The Environment and the compiled template are made once per
process, when the first report is rendered, and reused: a Template is immutable and holds
no state between renders, so a page depends on its result alone, as before.  Reports of a
batch are rendered in the batch process itself (grader/batch/run.py), so one compilation
serves the whole batch.  A changed template file is not
reloaded by a running process (`auto_reload=False`); every command is a new one.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from pathlib import Path

import jinja2

from .charts import view as chart_view
from .fix_first import fix_order
from ..scoring.result import SubmissionResult

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"  # the repository's templates/ (a link)
# The first note of a student release's result (grader/course/release.py PUBLIC_ONLY), read by its
# prefix so that rendering a report never imports the release builder.
PUBLIC_ONLY_PREFIX = "public checks only:"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.globals["chart_view"] = chart_view  # Note [Charts] in grader/report/charts.py
    return env


@functools.lru_cache(maxsize=None)
def _template() -> jinja2.Template:
    """report.html.j2, compiled once per process (Note [Compiled once])."""
    return _environment().get_template("report.html.j2")


def render_html(result: SubmissionResult) -> str:
    functions: OrderedDict[str, list] = OrderedDict()
    for check in result.checks:
        functions.setdefault(check.function, []).append(check)
    anchors = {function: f"f{at}" for at, function in enumerate(functions, 1)}
    whole = [(f, checks) for f, checks in functions.items()
             if all(c.status in ("passed", "skipped") for c in checks)]
    percent = round(100 * result.score / result.max_score) if result.max_score else 0
    passed = sum(1 for c in result.checks if c.status == "passed")
    return _template().render(
        r=result, percent=percent, passed=passed, anchors=anchors, fixes=fix_order(result),
        failed_functions=[(f, c) for f, c in functions.items() if (f, c) not in whole],
        passed_functions=whole,
        public_only=any(n.startswith(PUBLIC_ONLY_PREFIX) for n in result.notes))


def write_html(result: SubmissionResult, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
