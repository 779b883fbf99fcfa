"""The class dashboard: OUT_DIR/summary.html, built from OUT_DIR/results/*.json alone.

`grade batch` calls `write_dashboard(out_dir, assignment)` after grading; running
this module (`python -m grader.report.dashboard OUT_DIR -a ASSIGNMENT`) re-renders the
page from the saved results, and with `--submissions DIR` also recomputes the
similar-code list (grader/batch/similarity.py) first.

# Note [Dashboard view]
This module only counts what the results already say (how many checks passed,
which messages recur, how long grading took) and hands the template plain
numbers; the template draws the pictures (inline SVG) and nothing is
recomputed from code.  The page is for course staff, yet it keeps the rule the
student pages keep: a hidden check's message never appears, only "hidden check
failed", since staff pages get forwarded and screenshotted.

# Note [Grouping failures]
The same mistake gives slightly different messages in different submissions
(another sample, another error size), so messages are compared by their first
line with the sample prefix and every number blanked out.  A wrong answer
(`failed`) is grouped per function and known-bug signature, since it is about
that function's code; an error or timeout (a missing file, a syntax error, a
crash) is grouped across checks, since one cause fails many checks at once and
would otherwise fill the list.  Each group counts distinct submissions, names
the checks it covers and shows one real first line as its example.  A hidden
check's failures form one group per check, shown as "hidden check failed".

# Note [Causes on the dashboard]
"Why" comes from each check's `cause` (Note [Causes] in grader/scoring/result.py), never
from its message: per function and cause, the number of distinct submissions
with a visible check of that function not passing for that cause, as a sentence
("12 submissions raise NotImplementedError in `conv_backward_naive`"), most
submissions first.  Hidden checks are left out (Note [Dashboard view]), and so
are results written before causes existed (their cause is null).

# Note [Failure snippets]
A group shows one real first line of its messages, less the sample label (which may
hold brackets of its own: `without_sample` in grader/report/fix_first.py), cut at a word
boundary to SNIPPET_CHARS with an ellipsis, never inside a word or a number.  A group
is labelled by its members' most common status (a hidden check's group holds
failures and errors alike), and the "looks like" lines of a message, one per
gradient of a model, are listed once each.

# Note [Heat map]
"Which function did the class get wrong" at a glance: one row per submission, one
column per function in the assignment's order, each cell the share of that
function's points the submission got (all, some, none; hatched when the
submission could not be graded), with the status and cause of the first check that
did not pass in its tooltip.  The counts come from the results only; a few lines of
plain JavaScript in the template sort the rows by any column (no library, nothing
loaded), and without JavaScript the table still reads, in the submissions' order.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import OrderedDict, defaultdict
from pathlib import Path

import jinja2

from .atomic import write_atomic
from .fix_first import without_sample
from .text import writable
from ..scoring.result import SubmissionResult, read_result

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"  # the repository's templates/ (a link)

HISTOGRAM_BINS = 10
TOP_FAILURES = 15
SLOWEST = 10
HIDDEN_FAILED = "hidden check failed"
SNIPPET_CHARS = 160
STATUS_ORDER = ("failed", "error", "timeout", "skipped", "passed")


def load_results(out_dir: Path) -> tuple[list[tuple[str, SubmissionResult]], list[tuple[str, str]]]:
    """(id, result) for every readable results/<id>.json, and (file, why) for the others."""
    loaded, unreadable = [], []
    for path in sorted((Path(out_dir) / "results").glob("*.json")):
        try:  # Note [A damaged result file] in grader/scoring/result.py
            loaded.append((path.stem, read_result(path)))
        except (OSError, ValueError) as exc:
            unreadable.append((f"results/{path.name}", f"{type(exc).__name__}: {exc}"))
    return loaded, unreadable


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _histogram(graded: list[SubmissionResult]) -> list[dict]:
    counts = [0] * HISTOGRAM_BINS
    for r in graded:
        share = r.score / r.max_score if r.max_score else 0.0
        counts[min(int(share * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    width = 100 // HISTOGRAM_BINS
    return [{"low": i * width, "high": (i + 1) * width, "count": n} for i, n in enumerate(counts)]


_ON_SAMPLE = re.compile(r" on sample '[^']*'")
# `\d+(?:\.\d*)?`, not `\d+\.?\d*` (two quantifiers over the same digits: quadratic on a
# long run of them); Note [Linear-time text] in grader/submission/notebook.py.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?(?![\w.])|\b(?:nan|inf)\b",
                     re.IGNORECASE)


def failure_key(message: str) -> str:
    """The first line of `message` with the sample and all numbers blanked; Note [Grouping failures]."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = _ON_SAMPLE.sub("", without_sample(first))
    return _NUMBER.sub("#", first)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """`text` cut at a word boundary to at most `limit` characters plus an ellipsis (Note
    [Failure snippets]); a single word longer than that is cut where it must be."""
    if len(text) <= limit:
        return text
    cut = text[:limit + 1].rsplit(None, 1)[0] if " " in text[:limit + 1] else text[:limit]
    return cut.rstrip(" ,;:(") + " …"


def _first_line(message: str) -> str:
    stripped = message.strip()
    return snippet(without_sample(stripped.splitlines()[0])) if stripped else ""


def _looks_like(message: str) -> list[str]:
    """The message's "looks like" lines, each once (Note [Failure snippets])."""
    lines = (line.strip() for line in message.splitlines())
    return list(dict.fromkeys(line[len("looks like: "):] for line in lines
                              if line.startswith("looks like: ")))


def _check_rates(graded: list[tuple[str, SubmissionResult]]) -> tuple[list[dict], list[dict]]:
    """Pass rates per check and per function, in the order the checks first appear."""
    checks: OrderedDict[str, dict] = OrderedDict()
    functions: OrderedDict[str, dict] = OrderedDict()
    for _, result in graded:
        whole_function: dict[str, bool] = {}
        for c in result.checks:
            row = checks.setdefault(c.id, {"id": c.id, "function": c.function, "title": c.title,
                                           "hidden": c.visibility != "visible", "passed": 0,
                                           "total": 0, "statuses": defaultdict(int)})
            row["total"] += 1
            row["passed"] += c.status == "passed"
            row["statuses"][c.status] += 1
            whole_function[c.function] = whole_function.get(c.function, True) and c.status == "passed"
        for function, all_passed in whole_function.items():
            row = functions.setdefault(function, {"function": function, "passed": 0, "total": 0})
            row["total"] += 1
            row["passed"] += all_passed
    for row in [*checks.values(), *functions.values()]:
        row["rate"] = _percent(row["passed"], row["total"])
    for row in checks.values():
        row["statuses"] = {k: v for k, v in sorted(row["statuses"].items()) if k != "passed"}
    return list(functions.values()), list(checks.values())


def _common_failures(graded: list[tuple[str, SubmissionResult]]) -> list[dict]:
    """Recurring failures, most submissions first; Note [Grouping failures]."""
    groups: dict[tuple, dict] = {}
    for sid, result in graded:
        for c in result.checks:
            if c.status == "passed":
                continue
            hidden = c.visibility != "visible"
            if hidden:
                key = ("hidden", c.id)
            elif c.status == "failed":  # a wrong answer: about this function's code
                key = ("failed", c.function, failure_key(c.message), tuple(_looks_like(c.message)))
            else:                       # missing file, crash, timeout: about the submission
                key = (c.status, failure_key(c.message))
            group = groups.get(key)
            if group is None:
                group = groups[key] = {
                    "status": c.status, "hidden": hidden,
                    "example": HIDDEN_FAILED if hidden else _first_line(c.message),
                    "looks_like": [] if hidden else _looks_like(c.message),
                    "checks": [], "hints": [], "submissions": [], "statuses": defaultdict(int)}
            group["statuses"][c.status] += 1
            if c.id not in group["checks"]:
                group["checks"].append(c.id)
            if not hidden and c.hint and c.hint not in group["hints"]:
                group["hints"].append(c.hint)
            if sid not in group["submissions"]:
                group["submissions"].append(sid)
    for group in groups.values():
        group["count"] = len(group["submissions"])
        statuses = group.pop("statuses")  # the most common, ties in CHECK order (Note [Failure snippets])
        group["status"] = max(statuses, key=lambda s: (statuses[s], -STATUS_ORDER.index(s)))
        group["hint"] = group["hints"][0] if len(group["hints"]) == 1 else ""
    ranked = sorted(groups.values(),
                    key=lambda g: (-g["count"], -len(g["checks"]), g["hidden"], g["checks"][0]))
    return ranked[:TOP_FAILURES]


# cause -> (verb for one submission, verb for several); Note [Causes on the dashboard]
CAUSE_VERBS = {
    "not_implemented": ("raises NotImplementedError in", "raise NotImplementedError in"),
    "raised": ("raises an exception in", "raise an exception in"),
    "missing": ("lacks", "lack"),
    "import_error": ("cannot import the file holding", "cannot import the file holding"),
    "timeout": ("runs out of time in", "run out of time in"),
    "crashed": ("crashes the worker in", "crash the worker in"),
    "wrong": ("gets wrong answers from", "get wrong answers from"),
    "internal": ("hits a grader error in", "hit a grader error in"),
}


def _causes(graded: list[tuple[str, SubmissionResult]]) -> list[dict]:
    """Submissions per function and cause, most first; Note [Causes on the dashboard]."""
    groups: dict[tuple[str, str], list[str]] = {}
    for sid, result in graded:
        for c in result.checks:
            if c.status == "passed" or c.visibility != "visible" or c.cause not in CAUSE_VERBS:
                continue
            who = groups.setdefault((c.function, c.cause), [])
            if sid not in who:
                who.append(sid)
    rows = [{"function": function, "cause": cause, "count": len(who), "submissions": who,
             "verb": CAUSE_VERBS[cause][len(who) != 1]}
            for (function, cause), who in groups.items()]
    return sorted(rows, key=lambda r: (-r["count"], r["function"], r["cause"]))


def _heat_map(loaded: list[tuple[str, SubmissionResult]], functions: list[str],
              reports: dict[str, str]) -> dict:
    """Submissions x functions, each cell the share of the function's points; Note [Heat map]."""
    rows = []
    for sid, r in loaded:
        by_function: dict[str, list] = {}
        for c in r.checks:
            by_function.setdefault(c.function, []).append(c)
        cells = []
        for function in functions:
            checks = by_function.get(function, [])
            got, total = sum(c.points for c in checks), sum(c.max_points for c in checks)
            if r.status != "graded" or not checks:
                cells.append({"state": "none", "share": -1, "title": f"{sid}: {function}: "
                              + ("not graded" if r.status != "graded" else "not checked")})
                continue
            share = got / total if total else float(all(c.status == "passed" for c in checks))
            first = next((c for c in checks if c.status != "passed"), None)
            why = f"; first failure: {first.status}" + (f" ({first.cause})" if first.cause else "") \
                if first else ""
            cells.append({"state": "full" if share >= 1 else "some" if share > 0 else "zero",
                          "share": round(share, 4),
                          "title": f"{sid}: {function}: {got:g} of {total:g} points{why}"})
        rows.append({"id": sid, "report": reports.get(sid, ""), "status": r.status,
                     "percent": _percent(r.score, r.max_score) if r.status == "graded" else -1,
                     "cells": cells})
    return {"functions": functions, "rows": rows}


def _slowest(loaded: list[tuple[str, SubmissionResult]]) -> list[dict]:
    rows = []
    for sid, r in sorted(loaded, key=lambda item: (-item[1].duration_s, item[0]))[:SLOWEST]:
        slow = max(r.checks, key=lambda c: c.duration_s, default=None)
        rows.append({"id": sid, "duration_s": r.duration_s, "status": r.status,
                     "slowest_check": slow.id if slow else "",
                     "slowest_check_s": slow.duration_s if slow else 0.0,
                     "timeouts": sum(c.status == "timeout" for c in r.checks)})
    return rows


def _similarity(out_dir: Path) -> dict | None:
    path = Path(out_dir) / "similarity.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"error": f"similarity.json cannot be read ({exc})", "pairs": []}
    return data if isinstance(data, dict) else {"error": "similarity.json is not an object", "pairs": []}


def build_view(out_dir: Path, assignment, results: tuple | None = None) -> dict:
    """Everything the template shows, as plain data; Note [Dashboard view].  `results`:
    load_results(out_dir) made already (Note [Results read once at the end] in
    grader/batch/run.py)."""
    out_dir = Path(out_dir)
    loaded, unreadable = results if results is not None else load_results(out_dir)
    graded = [(sid, r) for sid, r in loaded if r.status == "graded"]
    scores = [r.score for _, r in graded]
    max_score = max((r.max_score for _, r in loaded), default=assignment.rubric.max_score())
    functions, checks = _check_rates(graded)
    submissions = []
    for sid, r in loaded:
        submissions.append({
            "id": sid, "name": r.submission, "status": r.status, "score": r.score,
            "max_score": r.max_score, "percent": _percent(r.score, r.max_score),
            "passed": sum(c.status == "passed" for c in r.checks), "checks": len(r.checks),
            "duration_s": r.duration_s,
            "report": f"reports/{sid}.html" if (out_dir / "reports" / f"{sid}.html").exists() else ""})
    return {
        "assignment": {"id": assignment.id, "title": assignment.title},
        "max_score": max_score,
        "counts": {"total": len(loaded) + len(unreadable), "graded": len(graded),
                   "errors": len(loaded) - len(graded) + len(unreadable)},
        "stats": {"mean": round(statistics.fmean(scores), 2) if scores else None,
                  "median": round(statistics.median(scores), 2) if scores else None,
                  "full_marks": sum(1 for _, r in graded if r.score >= r.max_score)},
        "histogram": _histogram([r for _, r in graded]),
        "functions": functions, "checks": checks,
        "failures": _common_failures(graded),
        "causes": _causes(graded),
        "slowest": _slowest(loaded),
        "ungraded": [{"id": sid, "message": r.message or "no reason recorded",
                      "report": f"reports/{sid}.html" if (out_dir / "reports" / f"{sid}.html").exists()
                      else ""} for sid, r in loaded if r.status != "graded"]
                    + [{"id": name, "message": why, "report": ""} for name, why in unreadable],
        "submissions": submissions,
        "reports": {s["id"]: s["report"] for s in submissions},
        "heat_map": _heat_map(loaded, _function_order(loaded, assignment),
                              {s["id"]: s["report"] for s in submissions}),
        "similarity": _similarity(out_dir),
    }


def _function_order(loaded, assignment) -> list[str]:
    """The functions in the assignment's order, then any other function a result names."""
    graded = {c.function for _, r in loaded for c in r.checks}
    names = [c.function for c in getattr(assignment, "checks", ()) if c.function in graded]
    return list(dict.fromkeys(names + sorted(graded)))


def render_dashboard(out_dir: Path, assignment, results: tuple | None = None) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True)
    return writable(environment.get_template("dashboard.html.j2").render(  # Note [Names that are not UTF-8 in what is written]
        v=build_view(out_dir, assignment, results)))


def write_dashboard(out_dir: Path, assignment, results: tuple | None = None) -> Path:
    """Render OUT_DIR/summary.html from OUT_DIR/results/*.json (`results`: as load_results
    read them already); returns its path."""
    path = Path(out_dir) / "summary.html"
    html = render_dashboard(out_dir, assignment, results)
    write_atomic(path, html)  # Note [Atomic writes leave nothing behind] in grader/report/atomic.py
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.report.dashboard",
        description="Re-render OUT_DIR/summary.html from OUT_DIR/results/*.json.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--assignment", "-a", required=True)
    parser.add_argument("--submissions", type=Path, metavar="DIR",
                        help="also recompute OUT_DIR/similarity.json from the submissions in DIR "
                             "(each folder, .zip or .py in it is one submission, named by its stem)")
    args = parser.parse_args(argv)
    from ..scoring import assignment as assignments
    try:
        assignment = assignments.load(args.assignment)
    except assignments.AssignmentError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    if args.submissions:
        from ..batch.similarity import write_similarity
        found = {p.stem: p for p in sorted(args.submissions.iterdir())
                 if p.is_dir() or p.suffix in (".zip", ".py", ".ipynb")}
        print(f"similarity: {write_similarity(args.out_dir, found, assignment)}")
    print(f"dashboard: {write_dashboard(args.out_dir, assignment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
