"""Exports (grader/course/export.py) and `grade export` (grader/cli.py), each format checked
against its published specification.  About 3 s (the CLI runs in subprocesses).

Specifications, and what is checked:
- Gradescope: "Autograder Specifications", Output format (gradescope-autograders.readthedocs.io
  /en/latest/specs/): top-level `score` (number), `execution_time` (number, seconds), `output`
  (string), `visibility` and `stdout_visibility` (one of hidden, after_due_date,
  after_published, visible), `tests` (list); each test: `name` (string), `score` and
  `max_score` (numbers), `status` ("passed" or "failed"), `output` (string), `visibility`.
  Tests that carry points must not be `hidden` ("should only be used for tests which don't
  contribute points to the total").  The file must be plain JSON (no NaN or Infinity).
- JUnit XML: no official schema; consumers follow the Jenkins xunit plugin's junit-10.xsd
  (its rules are applied by validate_junit_10 below; no <testsuites skipped>; timestamps are
  when each submission was graded): <testsuites> of <testsuite> with name, tests,
  failures, errors, skipped, time, timestamp (ISO 8601 without zone), hostname; children
  <properties> (first) then <testcase> with name, classname, time; a testcase holds at most
  one of <failure>/<error>/<skipped>, failure and error with message and type; counts agree.
- Canvas: "How do I import grades in the Gradebook?" (Canvas Instructor Guide): CSV header
  Student, ID, SIS User ID, SIS Login ID, Section, then assignment columns "Name (id)"; a
  "Points Possible" row under the header gives each assignment's points.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.course import export
from grader.scoring.result import CheckResult, SubmissionResult

GRADE = Path(sys.executable).with_name("grade")
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
SECRET = "SECRET hidden inputs x=[1,2,3]"


def results() -> list[tuple[str, SubmissionResult]]:
    checks = (
        CheckResult("affine_forward/out", "affine_forward", "out matches", "passed", 2, 2, duration_s=0.01),
        CheckResult("affine_backward/db", "affine_backward", "db matches", "failed", 0, 1,
                    message="db: 3 of 3 entries differ\nworst at db[2]", hint="sum over axis 0",
                    details={"max_abs_error": float("inf")}, cause="wrong"),
        CheckResult("affine_backward/dx_hidden", "affine_backward", "dx (hidden samples)", "failed",
                    0, 1.5, visibility="hidden", message=SECRET, hint="SECRET HINT",
                    cause="not_implemented"),
        CheckResult("relu_forward/out", "relu_forward", "relu", "timeout", 0, 1,
                    message="timed out: no reply within 20 s", duration_s=20.0, cause="timeout"),
        CheckResult("relu_backward/dx", "relu_backward", "relu back", "failed", 0, 1,
                    message="`relu_backward` raised IndexError", cause="raised"),
        CheckResult("gpu/speed", "gpu", "speed", "skipped", 0, 0, message="needs a GPU"),
    )
    ben = SubmissionResult("fc_nets", "ben", "graded", 2.0, 6.5, 21.5, {"sandbox": "bwrap"}, checks,
                           notes=("supplied the course's solver.py",))
    ada = SubmissionResult("fc_nets", "ada", "graded", 6.5, 6.5, 1.25, {}, tuple(
        CheckResult(c.id, c.function, c.title, "passed", c.max_points, c.max_points,
                    visibility=c.visibility) for c in checks))
    dee = SubmissionResult("fc_nets", "dee", "error", 0.0, 6.5, 0.5, {},
                           message="no Python files found in dee.zip")
    return [("ada", ada), ("ben", ben), ("dee", dee)]


@pytest.fixture
def out_dir(tmp_path) -> Path:
    for sid, r in results():
        r.write(tmp_path / "results" / f"{sid}.json")
    return tmp_path


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


# -- load ----------------------------------------------------------------------------------------

def test_load_accepts_out_dir_folder_or_file(out_dir) -> None:
    assert [sid for sid, _ in export.load(out_dir)] == ["ada", "ben", "dee"]
    assert [sid for sid, _ in export.load(out_dir / "results")] == ["ada", "ben", "dee"]
    assert [sid for sid, _ in export.load(out_dir / "results" / "ben.json")] == ["ben"]
    with pytest.raises(export.ExportError, match="does not exist"):
        export.load(out_dir / "nope")
    (out_dir / "results" / "bad.json").write_text("[]")
    with pytest.raises(export.ExportError, match="bad.json: not a readable grading result"):
        export.load(out_dir)


def test_load_reads_every_readable_result_and_names_the_damaged_ones(out_dir) -> None:
    """Note [A damaged result costs only itself]: one damaged file cost the whole export."""
    (out_dir / "results" / "bad.json").write_text("[]")
    (out_dir / "results" / "cut.json").write_text((out_dir / "results" / "ben.json").read_text()[:90])
    unreadable: list = []
    assert [sid for sid, _ in export.load(out_dir, unreadable)] == ["ada", "ben", "dee"]
    assert [(file.name, why.split(" (")[0]) for file, why in unreadable] == [
        ("bad.json", "not a grader.result/1 document"), ("cut.json", why_cut(unreadable))]
    with pytest.raises(export.ExportError, match="ben.json: not a readable"):  # a file given alone
        (out_dir / "results" / "ben.json").write_text("{")
        export.load(out_dir / "results" / "ben.json", [])
    for name in ("ada", "ben", "dee"):
        (out_dir / "results" / f"{name}.json").unlink()
    with pytest.raises(export.ExportError, match=r"no readable result in .*: bad.json \(not a "):
        export.load(out_dir, [])


def why_cut(unreadable) -> str:
    why = dict((file.name, reason) for file, reason in unreadable)["cut.json"]
    assert why.startswith(("Unterminated string", "Expecting")), why  # json's own words
    return why.split(" (")[0]


# -- plain CSV -----------------------------------------------------------------------------------

def test_csv_has_totals_and_one_column_per_check() -> None:
    rows = list(csv.DictReader(io.StringIO(export.to_csv(results()))))
    assert [r["submission"] for r in rows] == ["ada", "ben", "dee"]
    ben = rows[1]
    assert (ben["status"], ben["score"], ben["max_score"], ben["percent"]) == ("graded", "2", "6.5", "30.77")
    assert (ben["checks_passed"], ben["checks"]) == ("1", "6")
    assert ben["causes"] == "wrong:1 raised:1 not_implemented:1 timeout:1"  # Note [Causes in exports]
    assert rows[0]["causes"] == rows[2]["causes"] == ""
    assert ben["affine_forward/out"] == "2" and ben["affine_backward/dx_hidden"] == "0"
    assert rows[2]["message"] == "no Python files found in dee.zip" and rows[2]["affine_forward/out"] == ""


def test_csv_leaves_the_score_of_an_ungraded_submission_blank() -> None:
    """Note [An ungraded submission has no score]: dee (no files) was score 0, percent 0, the
    number a spreadsheet averages and an LMS posts, while the Canvas export left it blank."""
    rows = list(csv.DictReader(io.StringIO(export.to_csv(results()))))
    dee = rows[2]
    assert (dee["status"], dee["score"], dee["max_score"], dee["percent"]) == ("error", "", "6.5", "")
    assert (rows[0]["score"], rows[0]["percent"]) == ("6.5", "100.0")


# -- Canvas --------------------------------------------------------------------------------------

def test_canvas_gradebook_layout() -> None:
    rows = list(csv.reader(io.StringIO(export.to_canvas(results(), "Fully-connected nets"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Fully-connected nets (fc_nets)"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][1:5] == ["", "", "", ""]
    assert rows[1][5] == "6.5"
    warnings: list[str] = []
    rows = list(csv.reader(io.StringIO(export.to_canvas(results(), "Fully-connected nets",
                                                        warnings=warnings))))
    # dee could not be graded: blank, never a 0 that looks like a grade, and said
    assert rows[2:] == [["ada", "", "", "ada", "", "6.5"], ["ben", "", "", "ben", "", "2"],
                        ["dee", "", "", "dee", "", ""]]
    assert all(len(row) == 6 for row in rows)
    assert warnings == [
        "3 rows have no Canvas ID: their SIS Login ID is the submission id (ada, ben, dee); give "
        "--roster to match them by the course's ids",
        "not graded, its cell left blank: dee (no Python files found in dee.zip)"]


def test_canvas_id_comes_from_the_downloads_file_names(tmp_path) -> None:
    """A Canvas bulk download graded by `grade batch`: the user id in the files' names is the ID,
    and nothing is invented as a SIS Login ID."""
    import sqlite3
    connection = sqlite3.connect(tmp_path / "gradebook.sqlite")
    connection.execute("CREATE TABLE submissions (id TEXT PRIMARY KEY, source TEXT NOT NULL, "
                       "content_hash TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL)")
    connection.executemany("INSERT INTO submissions VALUES (?,?,?,?,?)", [
        ("ben", "/d/okaforben_late_4417_90001_layers.py; /d/okaforben_late_4417_90001_optim.py",
         "h", "ben okafor", ""),
        ("ada", "/d/ada.zip", "h", "", "")])
    connection.commit()
    connection.close()
    found = export.identities(tmp_path)
    assert found == {"ben": {"Student": "ben okafor", "ID": "4417"},
                     "ada": {"Student": "ada", "ID": ""}}
    warnings: list[str] = []
    rows = list(csv.reader(io.StringIO(export.to_canvas(results(), "T", None, found, warnings))))
    assert rows[3] == ["ben okafor", "4417", "", "", "", "2"]
    assert rows[2] == ["ada", "", "", "ada", "", "6.5"]
    assert "(ada, dee)" in warnings[0]


def test_canvas_roster_maps_submissions_to_students(tmp_path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("submission,Student,ID,SIS User ID,SIS Login ID,Section\n"
                      "ben,\"Okafor, Ben\",1234,S99,bokafor,Lab 2\n")
    roster.write_text(roster.read_text() + "zed,Zed,77,S1,zed,Lab 1\n")
    warnings: list[str] = []
    rows = list(csv.reader(io.StringIO(export.to_canvas(results(), "T", export.read_roster(roster),
                                                        warnings=warnings))))
    assert rows[3] == ["Okafor, Ben", "1234", "S99", "bokafor", "Lab 2", "2"]
    assert rows[2] == ["ada", "", "", "ada", "", "6.5"]   # not on the roster: the id as login
    assert "2 submissions are not on the roster: ada, dee" in warnings
    assert "1 roster students have no result: zed" in warnings
    (tmp_path / "bad.csv").write_text("name,ID\nben,1\n")
    with pytest.raises(export.ExportError, match="needs a 'submission' column"):
        export.read_roster(tmp_path / "bad.csv")


# -- Gradescope ----------------------------------------------------------------------------------

def test_gradescope_results_follow_the_specification() -> None:
    ben = dict(results())["ben"]
    data = strict_json(export.gradescope_json(ben))
    assert set(data) == {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
    assert isinstance(data["score"], (int, float)) and data["score"] == 2
    assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] == 21.5
    assert isinstance(data["output"], str) and "1 of 6 checks passed" in data["output"]
    assert "supplied the course's solver.py" in data["output"]
    assert data["visibility"] in VISIBILITIES and data["stdout_visibility"] in VISIBILITIES
    assert isinstance(data["tests"], list) and len(data["tests"]) == 6
    for test in data["tests"]:
        assert {"name", "status", "output", "visibility"} <= set(test)
        assert isinstance(test["name"], str) and test["name"]
        if "advice" in test["tags"]:  # an informational check: no score information at all
            assert not {"score", "max_score"} & set(test)
            continue
        assert all(isinstance(test[k], (int, float)) and not isinstance(test[k], bool)
                   for k in ("score", "max_score"))
        assert test["status"] in ("passed", "failed") and isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITIES
        if test["max_score"] > 0:
            assert test["visibility"] != "hidden"
    assert math.isclose(sum(t.get("score", 0) for t in data["tests"]), data["score"])
    by_name = {t["name"].split("[")[-1].rstrip("]"): t for t in data["tests"]}
    assert by_name["affine_backward/db"]["output"] == ("db: 3 of 3 entries differ\nworst at db[2]\n"
                                                       "Hint: sum over axis 0")
    assert (by_name["affine_forward/out"]["status"], by_name["affine_forward/out"]["output"]) == ("passed", "")
    assert [t["status"] for t in data["tests"]] == ["passed"] + ["failed"] * 5


def test_gradescope_gives_advice_as_an_informational_check_not_a_forged_pass() -> None:
    """Note [Advice on Gradescope] in grader/course/export.py: a failing 0-point advisory was a
    "failed" 0 / 0 test among those that cost points, while JUnit and the CI job summary give it
    as advice.  Gradescope documents no neutral status, and 0 / 0 without one shows as passed."""
    advice = CheckResult("softmax_loss/underflow", "softmax_loss", "stable for large scores",
                         "failed", 0, 0, message="loss is inf for scores of 1000",
                         hint="subtract the row's max", cause="wrong")
    kept = CheckResult("affine_forward/out", "affine_forward", "out matches", "passed", 2, 2)
    fine = CheckResult("svm_loss/loss", "svm_loss", "svm loss", "passed", 0, 0)
    ada = SubmissionResult("fc_nets", "ada", "graded", 2.0, 2.0, 1.0, {}, (kept, advice, fine))
    data = strict_json(export.gradescope_json(ada))
    assert data["score"] == 2
    assert data["output"] == ("2 of 3 checks passed. 1 of those that did not is advice: no points, "
                              "it costs nothing.")
    kept_test, advice_test, fine_test = data["tests"]
    assert (kept_test["score"], kept_test["max_score"], kept_test["status"]) == (2, 2, "passed")
    assert advice_test == {
        "name": "stable for large scores (advice, no points, it costs nothing) "
                "[softmax_loss/underflow]",
        "status": "failed",  # honest: it did not pass, and Gradescope has no neutral status
        "output": "Advice (no points, it costs nothing): loss is inf for scores of 1000\n"
                  "Hint: subtract the row's max",
        "visibility": "visible", "tags": ["softmax_loss", "failed", "wrong", "advice"]}
    assert (fine_test["status"], fine_test["output"], "score" in fine_test) == ("passed", "", False)
    assert fine_test["name"] == "svm loss (advice, no points, it costs nothing) [svm_loss/loss]"


def test_gradescope_never_shows_hidden_messages() -> None:
    ben = dict(results())["ben"]
    text = export.gradescope_json(ben)
    assert "SECRET" not in text
    hidden = strict_json(text)["tests"][2]
    assert hidden["visibility"] == "after_published" and hidden["output"] == export.HIDDEN_OUTPUT
    later = strict_json(export.gradescope_json(ben, "after_due_date"))
    assert later["tests"][2]["visibility"] == "after_due_date"
    with pytest.raises(export.ExportError):
        export.to_gradescope(ben, "sometimes")


def test_gradescope_for_an_ungraded_submission() -> None:
    data = strict_json(export.gradescope_json(dict(results())["dee"]))
    assert data["score"] == 0 and data["tests"] == []
    assert data["output"] == "This submission could not be graded: no Python files found in dee.zip"


# -- JUnit XML -----------------------------------------------------------------------------------

# The rules of the Jenkins xunit plugin's junit-10.xsd (jenkinsci/xunit-plugin,
# src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd), as data: each
# element's attributes (required, optional) and the children it may hold.  No XSD validator is
# installed here, so the test applies them itself.
JUNIT_10 = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
    "testsuite": ({"group", "time", "skipped", "timestamp", "hostname", "id", "package", "file",
                   "log", "url"}, {"name", "tests", "failures", "errors"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}),
    "properties": (set(), set(), {"property"}),
    "property": (set(), {"name", "value"}, set()),
    "testcase": ({"time", "classname", "group"}, {"name"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": ({"type", "message"}, set(), set()),
    "error": ({"type", "message"}, set(), set()),
    "skipped": ({"type", "message"}, set(), set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}
SUREFIRE_TIME = r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?"


def validate_junit_10(element: ET.Element) -> None:
    import re
    optional, required, children = JUNIT_10[element.tag]
    attributes = set(element.attrib)
    assert required <= attributes, f"<{element.tag}> lacks {required - attributes}"
    assert attributes <= optional | required, f"<{element.tag}> may not have {attributes - optional - required}"
    if element.tag in ("testsuites", "testsuite") and "time" in element.attrib:
        assert re.fullmatch(SUREFIRE_TIME, element.get("time")), element.get("time")
    for child in element:
        assert child.tag in children, f"<{child.tag}> inside <{element.tag}>"
        validate_junit_10(child)


def test_junit_is_valid_against_junit_10_xsd() -> None:
    validate_junit_10(ET.fromstring(export.to_junit(results())))
    bad = ET.fromstring('<testsuites skipped="1"><testsuite name="a" tests="0" failures="0" '
                        'errors="0"/></testsuites>')
    with pytest.raises(AssertionError, match="may not have"):
        validate_junit_10(bad)


def test_junit_timestamps_are_when_each_submission_was_graded(out_dir) -> None:
    import os
    for sid, day in (("ada", 1), ("ben", 2), ("dee", 3)):
        stamp = datetime(2026, 3, day, 12, 30).timestamp()
        os.utime(out_dir / "results" / f"{sid}.json", (stamp, stamp))
    times = export.grading_times(out_dir)
    expected = {sid: datetime.fromtimestamp(datetime(2026, 3, day, 12, 30).timestamp(),
                                            timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
                for sid, day in (("ada", 1), ("ben", 2), ("dee", 3))}
    assert times == expected
    root = ET.fromstring(export.to_junit(export.load(out_dir), times))
    assert {s.get("name"): s.get("timestamp") for s in root} == expected
    done = grade("export", str(out_dir), "--format", "junit")
    assert done.returncode == 0, done.stderr
    assert {s.get("name"): s.get("timestamp") for s in ET.fromstring(done.stdout)} == expected


def test_junit_structure_follows_junit_10_xsd() -> None:
    root = ET.fromstring(export.to_junit(results()))
    assert root.tag == "testsuites"
    suites = list(root)
    assert [s.tag for s in suites] == ["testsuite"] * 3
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in suites:
        assert {"name", "tests", "failures", "errors", "skipped", "time", "timestamp",
                "hostname"} <= set(suite.attrib)
        datetime.strptime(suite.get("timestamp"), "%Y-%m-%dT%H:%M:%S")
        float(suite.get("time"))
        children = [c.tag for c in suite]
        assert children[0] == "properties" and set(children[1:]) == {"testcase"}
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        counted = {"failures": 0, "errors": 0, "skipped": 0}
        for case in cases:
            assert {"name", "classname", "time"} <= set(case.attrib)
            float(case.get("time"))
            outcome = [c.tag for c in case]
            assert len(outcome) <= 1 and set(outcome) <= {"failure", "error", "skipped"}
            for child in case:
                if child.tag in ("failure", "error"):
                    assert child.get("message") and child.get("type")
                counted[{"failure": "failures", "error": "errors", "skipped": "skipped"}[child.tag]] += 1
        for key, value in counted.items():
            assert int(suite.get(key)) == value
        for key in totals:
            totals[key] += int(suite.get(key))
    assert {k: int(root.get(k)) for k in totals} == totals and "skipped" not in root.attrib
    assert math.isclose(float(root.get("time")), 21.5 + 1.25 + 0.5)


def test_junit_outcomes_and_hidden_checks() -> None:
    text = export.to_junit(results())
    assert "SECRET" not in text
    ben = ET.fromstring(text).find("testsuite[@name='ben']")
    outcome = {c.get("name"): (c[0].tag, c[0].get("type")) if len(c) else None
               for c in ben.findall("testcase")}
    assert outcome == {"affine_forward/out": None, "affine_backward/db": ("failure", "WrongAnswer"),
                       "affine_backward/dx_hidden": ("failure", "WrongAnswer"),
                       "relu_forward/out": ("error", "Timeout"),
                       "relu_backward/dx": ("failure", "StudentException"),
                       "gpu/speed": ("skipped", None)}
    db = ben.find("testcase[@name='affine_backward/db']/failure")
    tags = {t["name"]: t["tags"] for t in export.to_gradescope(dict(results())["ben"])["tests"]}
    assert tags["db matches [affine_backward/db]"] == ["affine_backward", "failed", "wrong"]
    assert tags["dx (hidden samples) [affine_backward/dx_hidden]"] == ["affine_backward", "failed"]
    # a result written before causes existed keeps the plain types
    old = SubmissionResult("fc_nets", "old", "graded", 0, 1, 1.0, {}, (CheckResult(
        "relu_backward/dx", "relu_backward", "relu back", "error", 0, 1, message="raised"),))
    assert ET.fromstring(export.to_junit([("old", old)])).find(".//error").get("type") == "Error"
    assert db.get("message") == "db: 3 of 3 entries differ" and "Hint: sum over axis 0" in db.text
    props = {p.get("name"): p.get("value") for p in ben.find("properties")}
    assert props == {"assignment": "fc_nets", "status": "graded", "score": "2", "max_score": "6.5"}
    dee = ET.fromstring(text).find("testsuite[@name='dee']")
    assert [c.get("name") for c in dee.findall("testcase")] == ["grading"]
    assert dee.find("testcase/error").get("message") == "no Python files found in dee.zip"
    # Note [An ungraded submission has no score]: no "score 0" property for a suite not graded
    props = {p.get("name"): p.get("value") for p in dee.find("properties")}
    assert props == {"assignment": "fc_nets", "status": "error", "max_score": "6.5"}


# -- the command line ----------------------------------------------------------------------------

def grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADE), *args], capture_output=True, text=True, timeout=120)


def test_cli_writes_each_format(out_dir, tmp_path) -> None:
    done = grade("export", str(out_dir), "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("submission,assignment,status,score")
    done = grade("export", str(out_dir), "--format", "canvas", "-o", str(tmp_path / "c.csv"))
    assert done.returncode == 0, done.stderr
    assert "grade: warning: not graded, its cell left blank: dee" in done.stderr
    assert "give --roster" in done.stderr
    done = grade("export", str(out_dir), "--format", "gradescope", "-o", str(tmp_path))
    assert ("grade: warning: not graded, its Gradescope score is 0 with the reason: dee (no Python "
            "files found in dee.zip)") in done.stderr
    done = grade("export", str(out_dir), "--format", "csv", "-o", str(tmp_path / "plain.csv"))
    assert done.returncode == 0, done.stderr  # Note [An ungraded submission has no score]
    assert done.stderr == ("grade: warning: not graded, its score left blank: dee (no Python "
                           "files found in dee.zip)\n")
    header = (tmp_path / "c.csv").read_text().splitlines()[0]
    assert header.endswith(",\"Fully-connected networks, losses and update rules (fc_nets)\"")
    done = grade("export", str(out_dir), "--format", "junit", "-o", str(tmp_path / "j.xml"))
    assert done.returncode == 0 and ET.parse(tmp_path / "j.xml").getroot().tag == "testsuites"


def test_cli_gradescope_one_file_or_one_per_submission(out_dir, tmp_path) -> None:
    done = grade("export", str(out_dir / "results" / "ben.json"), "--format", "gradescope",
                 "--output", str(tmp_path / "gs" / "results.json"))
    assert done.returncode == 0, done.stderr
    assert strict_json((tmp_path / "gs" / "results.json").read_text())["score"] == 2
    done = grade("export", str(out_dir), "--format", "gradescope")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out_dir / "gradescope").iterdir()) == ["ada.json", "ben.json", "dee.json"]


@pytest.mark.parametrize("format", ["csv", "canvas", "gradescope", "junit"])
def test_cli_exports_the_rest_names_each_damaged_result_and_exits_1(out_dir, tmp_path, format) -> None:
    """Note [A damaged result costs only itself] in grader/course/export.py: `grade export`
    stopped at the first damaged file (exit 2, no export), so one file cost the class's grades."""
    (out_dir / "results" / "carl.json").write_text('{"schema": "grader.result/1", "assig')
    (out_dir / "results" / "eve.json").write_text('{"schema": "grader.result/1", "assignment": '
                                                   '"fc_nets", "submission": "eve", "status": '
                                                   '"graded", "score": "6", "max_score": 6.5, '
                                                   '"duration_s": 1, "environment": {}}')
    target = tmp_path / ("gs" if format == "gradescope" else f"export.{format}")
    done = grade("export", str(out_dir), "--format", format, "-o", str(target))
    assert done.returncode == 1, done.stderr
    said = [line for line in done.stderr.splitlines() if "warning" not in line and "wrote" not in line]
    assert said == [
        "grade: carl: results/carl.json is not a readable grading result (Unterminated string "
        "starting at: line 1 column 31 (char 30)); left out of the export",
        "grade: eve: results/eve.json is not a readable grading result (score is '6', not a "
        "number); left out of the export",
        "grade: 2 of 5 result files could not be read and are not in the export (named above); "
        "the other 3 are; grade those submissions again (grade batch) or restore the files"]
    if format == "gradescope":
        assert sorted(p.name for p in target.iterdir()) == ["ada.json", "ben.json", "dee.json"]
        return
    text = target.read_text()
    for name in ("ada", "ben", "dee"):
        assert name in text
    assert "carl" not in text and "eve" not in text


def test_cli_errors_exit_2(tmp_path) -> None:
    done = grade("export", str(tmp_path / "nothing"), "--format", "csv")
    assert done.returncode == 2 and "does not exist" in done.stderr
    done = grade("export", str(tmp_path), "--format", "pdf")
    assert done.returncode == 2 and "invalid choice" in done.stderr
    assert "export" in grade("--help").stdout


def test_junit_gives_advice_without_a_failure(tmp_path) -> None:
    """Note [Advice in JUnit]: a 0-point check that fails was a <failure>, so a course repository's
    test report went red for a student with every point (and `grade check` exit status 0)."""
    checks = (CheckResult("softmax_loss/underflow", "softmax_loss", "no underflow", "failed", 0, 0,
                          message="loss: 1 of 1 entries differ (max abs error inf)", cause="wrong"),
              CheckResult("affine_forward/out", "affine_forward", "out", "passed", 2, 2))
    SubmissionResult("fc_nets", "ada", "graded", 2.0, 2.0, 1.0, {}, checks).write(
        tmp_path / "results" / "ada.json")
    done = grade("export", str(tmp_path), "--format", "junit", "-o", str(tmp_path / "j.xml"))
    assert done.returncode == 0, done.stderr
    root = ET.parse(tmp_path / "j.xml").getroot()
    validate_junit_10(root)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "0")
    case = root.find(".//testcase[@name='softmax_loss/underflow']")
    assert [child.tag for child in case] == ["system-out"]
    assert case[0].text == "advice (0 points, costs nothing): loss: 1 of 1 entries differ (max abs error inf)"


@pytest.mark.parametrize("format", ["csv", "junit"])
def test_cli_writes_a_message_that_names_a_non_utf8_folder(tmp_path, format) -> None:
    """Note [Names that are not UTF-8 in what is written] in grader/report/text.py: a message
    naming a folder called "caf\\xe9" (a lone surrogate once read) ended `grade export -o` in a
    UnicodeEncodeError traceback, and its standard output too where that is strict UTF-8."""
    SubmissionResult("fc_nets", "caf", "error", 0, 42, 0.1, {},
                     message="no Python files found in caf\udce9").write(tmp_path / "results" / "caf.json")
    done = grade("export", str(tmp_path), "--format", format, "-o", str(tmp_path / "out.txt"))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "no Python files found in caf?" in (tmp_path / "out.txt").read_text()
    done = subprocess.run([str(GRADE), "export", str(tmp_path), "--format", format],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_cli_a_roster_that_cannot_be_read_is_one_line_naming_the_flag(out_dir, tmp_path) -> None:
    """Note [Command errors] in grader/cli.py: a missing roster said Python's "[Errno 2] No such
    file or directory: '...'"."""
    done = grade("export", str(out_dir), "--format", "canvas", "--roster", str(tmp_path / "roster.csv"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"grade: --roster {tmp_path / 'roster.csv'}: No such file or directory\n"


@pytest.mark.parametrize("target", ["gs.json", "taken.csv"])
def test_cli_several_gradescope_results_to_one_file_is_an_error(out_dir, tmp_path, target) -> None:
    """Note [Several Gradescope results need a folder] in grader/cli.py: `-o gs.json` made a
    folder named gs.json; an existing file failed with an OSError."""
    (tmp_path / "taken.csv").write_text("kept\n")
    done = grade("export", str(out_dir), "--format", "gradescope", "-o", str(tmp_path / target))
    assert done.returncode == 2, done.stderr
    assert (f"grade: -o {tmp_path / target}: 3 results make 3 Gradescope files (one "
            f"<submission>.json each), and -o names one file; give -o a folder") in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # that line alone: no warning for a file not written
    assert not (tmp_path / "gs.json").exists()
    assert (tmp_path / "taken.csv").read_text() == "kept\n"
    done = grade("export", str(out_dir), "--format", "gradescope", "-o", str(tmp_path / "gs"))
    assert done.returncode == 0, done.stderr  # a new name without .json is the folder, as before
    assert sorted(p.name for p in (tmp_path / "gs").iterdir()) == ["ada.json", "ben.json", "dee.json"]
