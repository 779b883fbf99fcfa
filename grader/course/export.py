"""Exports of grading results to other systems: CSV, Canvas, Gradescope, JUnit XML.

Every format is rendered from grader.result/1 documents alone (a batch's
OUT_DIR/results/*.json, or one result file) and never recomputes a verdict;
`grade export` (grader/cli.py) is the command line for this module.

# Note [Exports keep hidden checks hidden]
Gradescope output and JUnit XML can reach students (Gradescope shows test
output; a course repository's CI shows JUnit failures), so a hidden check's
message and hint never go into them, unless the rubric says `hidden_details:
true` (Note [Hidden checks] in grader/scoring/result.py): a failed hidden check says only
HIDDEN_OUTPUT.  On Gradescope a hidden check is `after_published` by default:
its score counts and shows once grades are published, while Gradescope's own
`hidden` visibility is meant for tests worth no points (its specification:
"Test cases with visibility set to hidden ... should only be used for tests
which don't contribute points to the total").

# Note [Canvas gradebook import]
Canvas imports a gradebook CSV whose header is Student, ID, SIS User ID, SIS
Login ID, Section, then one column per assignment named "<name> (<id>)"; the
row below the header whose first cell is "Points Possible" (Canvas writes it
indented with spaces in its own exports) gives each column's points, and a new
column creates a new assignment.  Canvas matches a row to a student by ID, SIS
User ID or SIS Login ID.  Where each row's identity comes from, first found:
  1. a roster CSV (`--roster`: a `submission` column plus any of the Canvas
     identity columns);
  2. a Canvas bulk download graded by `grade batch`: the Canvas user id is in
     the downloaded files' names (Note [Canvas names] in grader/submission/discover.py),
     read back from OUT_DIR/gradebook.sqlite (`identities`), and written as ID;
  3. otherwise the submission id as Student and SIS Login ID, which is what
     courses that collect submissions by login name need, with a warning.
Every guess is a warning (`warnings`): a submission the roster does not list, a
roster student without a result, a row matched by the submission id only.  A
submission that could not be graded leaves its cell blank (Canvas leaves a
blank cell's grade as it is) with a warning, never a 0 that looks like a grade
(Note [An ungraded submission has no score]).

# Note [JUnit XML]
JUnit XML has no official specification; consumers (Jenkins, GitLab, GitHub
test reporters) follow the Jenkins xunit plugin's junit-10.xsd, which pytest's
`junit_family=xunit2` also targets.  So: <testsuites> holding one <testsuite>
per submission (name, tests, failures, errors, skipped, time, timestamp without
a time zone: when it was graded, UTC, from the batch's gradebook or the result
file's time, `grading_times`), hostname), its <properties> (score, status) first, then one
<testcase> (name, classname, time) per check with at most one <failure> (wrong
answer), <error> (error or timeout) or <skipped> child.  Per-testcase properties
are not in that schema, so points stay in the suite's properties and in the
other formats; <testsuites> has no `skipped` in that schema (its suites do).  A submission that could not be graded is one <testcase> named
`grading` with an <error>.

# Note [Advice in JUnit]
A check the rubric gives 0 points only advises (Note [Advisory checks] in
grader/scoring/assignment.py): it never costs points and never changes `grade check`'s exit
status.  As a <failure> it turned a course repository's test report red (Jenkins, GitLab
and the GitHub actions that read JUnit count failures) for a student with every point,
whose job had passed.  So a 0-point check that did not pass is a <testcase> without an outcome, its
advice in the case's <system-out> ("advice (0 points, costs nothing): ..."), which the
schema allows there and the reporters show beside the case; the CSV, the Gradescope
results and the reports still give its status.

# Note [A damaged result costs only itself]
A batch's folder of results is a class's grades; one file in it damaged (cut short by a full
disk, edited by hand: Note [A damaged result file] in grader/scoring/result.py) made `grade
export` stop at it, with a message naming it and no export at all, so every other student's
grade waited on one file.  Now every format is written from the files that can be read, and
each one that cannot is named on stderr with why ("carl: results/carl.json is not a readable
grading result (...); left out of the export"), then counted in a last line, and the exit
status is 1: a script sees that the export is not the whole class, a person sees which
student is missing and why, and nothing is left out silently.  The export's files hold the
readable results only, never a made-up row for the damaged one (a blank or 0 in Canvas or
Gradescope would look like a grade).  With no readable result, or one file given alone that
cannot be read, there is nothing to export: exit 2, as before.

# Note [Advice on Gradescope]
A 0-point check only advises (Note [Advisory checks] in grader/scoring/assignment.py);
JUnit and the CI job summary show a failing one as advice (Note [Advice in JUnit], Note
[Advice in the job summary] in grader/course/ci.py), but Gradescope's results.json gave it
as any failure: "failed", 0 / 0, beside the checks that cost points.  Gradescope's
specification ("Autograder Specifications", Output format and "Test case status",
gradescope/autograder_samples docs/specs.md) has two statuses only, "passed" and "failed",
and no neutral one; without a status a test is passing when its score is its max_score,
which 0 / 0 always is, so leaving the status out would forge a pass.  What the
specification does offer is a test without score information, "an informational check
with a passing or failing status".  So an advisory is such a test: no score and no
max_score (it never counts toward the total, which the top-level score gives), its honest
status (failed when it did not pass), "(advice, no points, it costs nothing)" in its name
(before the "[id]" that ends every test's name), its output starting "Advice (no points, it costs nothing): ", the tag "advice", and
the top-level output saying how many of the checks that did not pass are advice.  A hidden
advisory keeps HIDDEN_OUTPUT after that prefix (Note [Exports keep hidden checks hidden]).

# Note [An ungraded submission has no score]
A submission that could not be graded (no files, a corrupt zip, an empty folder, another
version of the course: Note [Submission statuses] in grader/scoring/result.py) holds score 0
in its result, but that 0 is not a grade the student earned on any check.  The exports did
not agree on it: the Canvas import left its cell blank with a warning, while the batch's
grades.csv and `grade export --format csv` wrote 0 (and 0 percent), the very number a
spreadsheet sums, averages and pastes into an LMS.  What an instructor needs is to see such
a submission, not a number: every gradebook-like export now leaves its score blank, with
the status and the first line of why beside it, and says so:
  - grades.csv (`grade batch`) and `grade export --format csv`: `score` (and `percent`)
    blank, `status` error or other_version, `message` why; the check columns are blank
    already, since no check ran.  `grade export --format csv` warns on stderr for each
    ("not graded, its score left blank: eve (...)"), as the Canvas export does, and
    `grade batch` lists each one under "not graded:" at its end;
  - Canvas: the cell blank (Canvas keeps a blank cell's grade as it is, so nothing is
    posted) and a warning (Note [Canvas gradebook import]);
  - JUnit XML: no `score` property on that suite, its one <testcase> an <error> saying why;
  - the student's HTML report said "could not be graded" under a tab titled "(0/42)"; the
    title now says "(not graded)" (grader/templates/report.html.j2), and the class dashboard's
    table of all submissions shows "– / 42" and "–" where it showed "0 / 42" and "0%" (its
    mean, median and histogram counted graded submissions only already);
  - Gradescope is the exception: its results.json must carry a score for the upload, and the
    student sees the reason beside it and can upload again, so it is 0 with the reason, and
    `grade export --format gradescope` warns for each one.
So no export posts a silent 0, and none skips a student silently: the row is there, blank,
with its reason.

# Note [Causes in exports]
A check's `cause` (Note [Causes] in grader/scoring/result.py) goes where each format has
a place for it: the CSV's `causes` column counts them per submission
("not_implemented:2 wrong:1", in the order of CAUSES), JUnit's `type` of a
<failure> or <error> names it (JUNIT_TYPES), and Gradescope's `tags` carry it
beside the function and status.  A hidden check whose message is not shown
keeps the plain type and tags (Note [Exports keep hidden checks hidden]);
results written before causes existed export as before.
"""

from __future__ import annotations

import csv
import io
import json
import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from ..scoring.result import CAUSES, SubmissionResult, read_result

FORMATS = ("csv", "canvas", "gradescope", "junit")
HIDDEN_OUTPUT = "This is a hidden check: its inputs and messages are not shown."
ADVICE = "no points, it costs nothing"  # Note [Advice on Gradescope]
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "    Points Possible"
GRADESCOPE_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
JUNIT_TYPES = {"wrong": "WrongAnswer", "raised": "StudentException",
               "not_implemented": "NotImplemented", "missing": "Missing",
               "import_error": "ImportError", "timeout": "Timeout", "crashed": "Crashed",
               "internal": "GraderError"}  # Note [Causes in exports]


class ExportError(Exception):
    """The input cannot be exported (nothing found, unreadable result, bad roster)."""


def load(path: Path, unreadable: list[tuple[Path, str]] | None = None
         ) -> list[tuple[str, SubmissionResult]]:
    """(id, result) from one result JSON file, or from OUT_DIR/results/*.json (or DIR/*.json).
    `unreadable`: where a damaged file of a folder goes, as (file, why), while the others are
    read (Note [A damaged result costs only itself]); without it, the first one is an
    ExportError.  One file given alone that cannot be read is always an ExportError."""
    path = Path(path)
    if path.is_file():
        files = [path]
    elif (path / "results").is_dir():
        files = sorted((path / "results").glob("*.json"))
    elif path.is_dir():
        files = sorted(path.glob("*.json"))
    else:
        raise ExportError(f"{path} does not exist")
    if not files:
        raise ExportError(f"no result files (*.json) in {path}")
    loaded, damaged = [], []
    for file in files:
        try:  # Note [A damaged result file] in grader/scoring/result.py
            loaded.append((file.stem, read_result(file)))
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if unreadable is None or path.is_file():
                raise ExportError(f"{file}: not a readable grading result ({why})") from None
            damaged.append((file, why))
    if not loaded:
        raise ExportError(f"no readable result in {path}: " + "; ".join(
            f"{file.name} ({why})" for file, why in damaged))
    if unreadable is not None:
        unreadable.extend(damaged)
    return loaded


def _number(value: float) -> float | int:
    """Points as JSON/CSV numbers: 2 rather than 2.0, and never NaN or infinity."""
    if not math.isfinite(value):
        return 0
    return int(value) if float(value).is_integer() else round(float(value), 6)


# -- plain CSV -----------------------------------------------------------------------------------

def to_csv(results: list[tuple[str, SubmissionResult]]) -> str:
    """One row per submission: totals, then the points of every check (one column each); a
    submission not graded has a blank score (Note [An ungraded submission has no score])."""
    check_ids = list(dict.fromkeys(c.id for _, r in results for c in r.checks))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", "assignment", "status", "score", "max_score", "percent",
                     "checks_passed", "checks", "duration_s", "message", "causes", *check_ids])
    for sid, r in results:
        points = {c.id: _number(c.points) for c in r.checks}
        # blank when not graded: Note [An ungraded submission has no score]
        percent = r.score_cell(lambda score: round(100 * score / r.max_score, 2)
                               if r.max_score else 0)
        writer.writerow([sid, r.assignment, r.status, r.score_cell(_number),
                         _number(r.max_score), percent,
                         sum(c.status == "passed" for c in r.checks), len(r.checks),
                         r.duration_s, r.message.splitlines()[0] if r.message else "",
                         _cause_counts(r), *[points.get(i, "") for i in check_ids]])
    return out.getvalue()


def _cause_counts(result: SubmissionResult) -> str:
    """"not_implemented:2 wrong:1": how many checks did not pass for each cause (Note [Causes in
    exports])."""
    counts = {cause: sum(c.cause == cause for c in result.checks) for cause in CAUSES}
    return " ".join(f"{cause}:{n}" for cause, n in counts.items() if n)


# -- Canvas (Note [Canvas gradebook import]) -----------------------------------------------------

def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """submission id -> Canvas identity columns, from a CSV with a `submission` column."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "submission" not in reader.fieldnames:
            raise ExportError(f"{path}: a roster needs a 'submission' column "
                              f"(and any of {', '.join(CANVAS_IDENTITY)})")
        return {row["submission"]: {k: row.get(k) or "" for k in CANVAS_IDENTITY} for row in reader}


def to_canvas(results: list[tuple[str, SubmissionResult]], title: str,
              roster: dict[str, dict[str, str]] | None = None,
              identities: dict[str, dict[str, str]] | None = None,
              warnings: list[str] | None = None) -> str:
    """A Canvas gradebook import CSV with one assignment column; Note [Canvas gradebook import].
    What it had to guess is appended to `warnings`."""
    assignment_id = results[0][1].assignment if results else ""
    column = f"{title} ({assignment_id})"
    max_score = max((r.max_score for _, r in results), default=0.0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_IDENTITY, column])
    writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", _number(max_score)])
    not_on_roster, by_id_only, blank = [], [], []
    for sid, r in results:
        if roster is not None and sid in roster:
            who = roster[sid]
        else:
            found = (identities or {}).get(sid) or {}
            who = {"Student": found.get("Student") or sid, "ID": found.get("ID", "")}
            if not who["ID"]:
                who["SIS Login ID"] = sid
                by_id_only.append(sid)
            if roster is not None:
                not_on_roster.append(sid)
        if r.status != "graded":
            blank.append(f"{sid} ({(r.message.splitlines() or ['not graded'])[0]})")
        writer.writerow([*[who.get(k, "") for k in CANVAS_IDENTITY], r.score_cell(_number)])
    if warnings is not None:
        if not_on_roster:
            warnings.append(f"{len(not_on_roster)} submissions are not on the roster: "
                            f"{', '.join(not_on_roster)}")
        missing = sorted(set(roster or {}) - {sid for sid, _ in results})
        if missing:
            warnings.append(f"{len(missing)} roster students have no result: {', '.join(missing)}")
        if by_id_only:
            warnings.append(f"{len(by_id_only)} rows have no Canvas ID: their SIS Login ID is the "
                            f"submission id ({', '.join(by_id_only)}); give --roster to match "
                            f"them by the course's ids")
        warnings += [f"not graded, its cell left blank: {b}" for b in blank]
    return out.getvalue()


def identities(path: Path) -> dict[str, dict[str, str]]:
    """submission id -> {"Student", "ID"} from a batch's gradebook (OUT_DIR/gradebook.sqlite),
    where the download named them: the Canvas user id of Note [Canvas gradebook import]."""
    from ..submission.discover import CANVAS_NAME
    rows = _gradebook_rows(Path(path), "SELECT id, source, name FROM submissions")
    found = {}
    for sid, source, name in rows:
        users = {m["user"] for part in str(source).split("; ")
                 if (m := CANVAS_NAME.match(Path(part).name))}
        found[sid] = {"Student": name or sid, "ID": users.pop() if len(users) == 1 else ""}
    return found


def grading_times(path: Path) -> dict[str, str]:
    """submission id -> when it was graded (UTC, `2026-12-06T05:07:00`): the batch run that
    graded it (OUT_DIR/gradebook.sqlite), else the result file's time (Note [JUnit XML])."""
    path = Path(path)
    times = {}
    files = [path] if path.is_file() else sorted(
        (path / "results" if (path / "results").is_dir() else path).glob("*.json"))
    for file in files:
        times[file.stem] = _utc(datetime.fromtimestamp(file.stat().st_mtime, timezone.utc))
    for sid, stamp in _gradebook_rows(path, "SELECT r.submission_id, COALESCE(n.finished, "
                                            "n.started) FROM results r JOIN runs n ON "
                                            "r.run_id = n.id"):
        try:
            times[sid] = _utc(datetime.fromisoformat(stamp))
        except (TypeError, ValueError):
            pass
    return times


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _gradebook_rows(path: Path, query: str) -> list[tuple]:
    database = path / "gradebook.sqlite"
    if not database.is_file():
        return []
    import sqlite3
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return connection.execute(query).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return []


# -- Gradescope (Note [Exports keep hidden checks hidden]) ----------------------------------------

def _check_output(check) -> str:
    if check.status == "passed":
        return ""
    if not check.shows_message:  # Note [Hidden checks] in grader/scoring/result.py
        return HIDDEN_OUTPUT
    text = check.message
    if check.hint:
        text += f"\nHint: {check.hint}"
    return text.strip()


def to_gradescope(result: SubmissionResult, hidden_visibility: str = "after_published") -> dict:
    """Gradescope's autograder results.json for one submission."""
    if hidden_visibility not in GRADESCOPE_VISIBILITY:
        raise ExportError(f"hidden visibility must be one of {', '.join(GRADESCOPE_VISIBILITY)}")
    if result.status != "graded":
        output = f"This submission could not be graded: {result.message}"
    else:
        passed = sum(c.status == "passed" for c in result.checks)
        output = f"{passed} of {len(result.checks)} checks passed."
        advice = sum(c.status != "passed" and c.max_points == 0 for c in result.checks)
        if advice:  # Note [Advice on Gradescope]
            output += (f" {advice} of those that did not {'is' if advice == 1 else 'are'} "
                       f"advice: {ADVICE}.")
    if result.notes:
        output += "\n" + "\n".join(f"Note: {n}" for n in result.notes)
    tests = []
    for c in result.checks:
        test = {"name": f"{c.title} [{c.id}]", "score": _number(c.points),
                "max_score": _number(c.max_points),
                "status": "passed" if c.status == "passed" else "failed",
                "output": _check_output(c),
                "visibility": "visible" if c.visibility == "visible" else hidden_visibility,
                "tags": [c.function, c.status, *([c.cause] if c.cause and c.shows_message else [])]}
        if c.max_points == 0:  # Note [Advice on Gradescope]
            del test["score"], test["max_score"]
            test["name"] = f"{c.title} (advice, {ADVICE}) [{c.id}]"  # the id last, as for every test
            test["tags"].append("advice")
            if c.status != "passed":
                test["output"] = f"Advice ({ADVICE}): {test['output']}"
        tests.append(test)
    return {"score": _number(result.score), "execution_time": round(result.duration_s, 3),
            "output": output, "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def gradescope_json(result: SubmissionResult, hidden_visibility: str = "after_published") -> str:
    return json.dumps(to_gradescope(result, hidden_visibility), indent=2, allow_nan=False) + "\n"


# -- JUnit XML -----------------------------------------------------------------------------------

def _junit_case(suite: ET.Element, result: SubmissionResult, check) -> str:
    case = ET.SubElement(suite, "testcase", name=check.id,
                         classname=f"{result.assignment}.{result.submission}.{check.function}",
                         time=f"{check.duration_s:.3f}")
    text = _check_output(check)
    first = text.splitlines()[0] if text else check.status
    cause = JUNIT_TYPES.get(check.cause or "") if check.shows_message else None
    if check.max_points == 0 and check.status in ("failed", "error", "timeout"):  # Note [Advice in JUnit]
        ET.SubElement(case, "system-out").text = f"advice (0 points, costs nothing): {text}"
        return "advice"
    if check.status == "failed":
        ET.SubElement(case, "failure", message=first, type=cause or "WrongAnswer").text = text
    elif check.status in ("error", "timeout"):
        ET.SubElement(case, "error", message=first, type=cause or (
            "Timeout" if check.status == "timeout" else "Error")).text = text
    elif check.status == "skipped":
        ET.SubElement(case, "skipped", message=check.message if check.shows_message else "")
    return check.status


def to_junit(results: list[tuple[str, SubmissionResult]],
             timestamps: dict[str, str] | None = None) -> str:
    """JUnit XML: one <testsuite> per submission, one <testcase> per check; Note [JUnit XML].
    `timestamps`: when each was graded (`grading_times`); now for those it does not name."""
    root = ET.Element("testsuites", name=results[0][1].assignment if results else "grade")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    now = _utc(datetime.now(timezone.utc))
    for sid, r in results:
        suite = ET.SubElement(root, "testsuite", name=sid, timestamp=(timestamps or {}).get(sid, now),
                              hostname="localhost", time=f"{r.duration_s:.3f}")
        props = ET.SubElement(suite, "properties")
        # no score for a submission not graded: Note [An ungraded submission has no score]
        score = [("score", f"{r.score:g}")] if r.status == "graded" else []
        for name, value in (("assignment", r.assignment), ("status", r.status), *score,
                            ("max_score", f"{r.max_score:g}")):
            ET.SubElement(props, "property", name=name, value=value)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if r.status != "graded":
            case = ET.SubElement(suite, "testcase", name="grading", classname=f"{r.assignment}.{sid}",
                                 time=f"{r.duration_s:.3f}")
            ET.SubElement(case, "error", message=(r.message.splitlines() or ["not graded"])[0],
                          type="NotGraded").text = r.message
            counts["tests"], counts["errors"] = 1, 1
        for c in r.checks:
            status = _junit_case(suite, r, c)
            counts["tests"] += 1
            counts["failures"] += status == "failed"
            counts["errors"] += status in ("error", "timeout")
            counts["skipped"] += status == "skipped"
        for key, value in counts.items():
            suite.set(key, str(value))
            if key in totals:
                totals[key] += value
        total_time += r.duration_s
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
