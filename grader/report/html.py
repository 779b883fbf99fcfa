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
import hashlib
from collections import OrderedDict
from pathlib import Path

import jinja2

from .atomic import write_atomic
from .charts import view as chart_view
from .fix_first import fix_order
from .text import writable
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


REPORT = "report.html.j2"
COMPILED = Path(__file__).resolve().parent / "compiled"  # Note [Template compiled ahead]


@functools.lru_cache(maxsize=None)
def _template() -> jinja2.Template:
    """report.html.j2, compiled once per process (Note [Compiled once]), or loaded as compiled
    ahead for this very source, Jinja and Python (Note [Template compiled ahead])."""
    env = _environment()
    env.bytecode_cache = _StoredOnly(str(COMPILED), _pattern(env))
    return env.get_template(REPORT)


# Note [Template compiled ahead]
# Note [Compiled once] made the template's compilation once per process, but `grade check` is
# a process of its own each time: Jinja lexed, parsed and generated Python for report.html.j2
# and Python compiled that, on every run, after the verdict was printed (40-90 ms of the
# command, most of writing the report).  `make bytecode` now does it ahead
# (`compile_ahead`), as it compiles the grader's own modules, into Jinja's own bytecode cache
# (`jinja2.FileSystemBytecodeCache`) in grader/report/compiled/.  Jinja keys an entry by the
# template's name, checks it against a checksum of the template's source and drops it when
# Jinja's or Python's version differs, so an edited template, another Jinja or another Python
# never uses a stale one; the file name also carries a hash of the Environment's options,
# which Jinja does not check.  At run time the cache is only read (`_StoredOnly`): a checkout
# without `make bytecode` (a student's wheel) compiles the template as before and writes
# nothing, as no grade command writes into the grader's own folder.  The file is the
# grader's own, as trusted as its .pyc files.
class _StoredOnly(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache, read and never written (Note [Template compiled ahead])."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        pass


def _pattern(env: jinja2.Environment) -> str:
    """Cache file names for `env`'s options (Note [Template compiled ahead])."""
    options = repr((env.autoescape, env.undefined.__name__, env.trim_blocks, env.lstrip_blocks,
                    env.block_start_string, env.variable_start_string, env.comment_start_string,
                    env.line_statement_prefix, env.keep_trailing_newline, env.newline_sequence))
    return f"report-{hashlib.sha256(options.encode()).hexdigest()[:16]}-%s.cache"


def compile_ahead() -> Path:
    """Compile report.html.j2 into grader/report/compiled/ for this source, Jinja and Python
    (`make bytecode`; Note [Template compiled ahead]); older ones are removed."""
    COMPILED.mkdir(exist_ok=True)
    for old in COMPILED.glob("report-*"):
        old.unlink()
    env = _environment()
    env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(COMPILED), _pattern(env))
    env.get_template(REPORT)
    [path] = COMPILED.glob("report-*.cache")
    return path


def render_html(result: SubmissionResult) -> str:
    functions: OrderedDict[str, list] = OrderedDict()
    for check in result.checks:
        functions.setdefault(check.function, []).append(check)
    anchors = {function: f"f{at}" for at, function in enumerate(functions, 1)}
    whole = [(f, checks) for f, checks in functions.items()
             if all(c.status in ("passed", "skipped") for c in checks)]
    percent = round(100 * result.score / result.max_score) if result.max_score else 0
    passed = sum(1 for c in result.checks if c.status == "passed")
    return writable(_template().render(  # Note [Names that are not UTF-8 in what is written]
        r=result, percent=percent, passed=passed, anchors=anchors, fixes=fix_order(result),
        failed_functions=[(f, c) for f, c in functions.items() if (f, c) not in whole],
        passed_functions=whole,
        public_only=any(n.startswith(PUBLIC_ONLY_PREFIX) for n in result.notes)))


def write_html(result: SubmissionResult, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_html(result))  # Note [Every report written whole] in grader/report/atomic.py
