"""`grade selftest` (grader/course/selftest.py): the solution gets full marks, the starter
zero, every mutant loses points on its target, every check has a failing fixture.

Most tests build a copy of the tiny test assignment (tests/grader/data: three functions, a 2 s
call timeout) with its own solution, starter and mutants.py, and run the real CLI's main() in a
subprocess with that assignments folder in place of the course's (as test_cli.py does).  The
last ones run `.venv/bin/grade selftest` on the course's fc_nets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.checks import hints
from grader.course.mutants import Bug
from grader.scoring.result import CheckResult, SubmissionResult
from grader.course.selftest import Fixture, Selftest

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).resolve().parents[1] / "data"
GRADE = ROOT / ".venv" / "bin" / "grade"
WITH_DIRS = ("import sys; from pathlib import Path; import grader.scoring.assignment as a; "
             "a.ASSIGNMENTS_DIR = Path(sys.argv[1]); a.RUBRICS_DIR = Path(sys.argv[2]); "
             "from grader.cli import main; sys.exit(main(sys.argv[3:]))")

LAYERS = """import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
"""
OPTIM = """def sgd(w, dw, config=None):
    config = config or {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
"""
STARTER_LAYERS = """def relu_forward(x):
    raise NotImplementedError("relu_forward")


def affine_forward(x, w, b):
    raise NotImplementedError("affine_forward")
"""
STARTER_OPTIM = """def sgd(w, dw, config=None):
    raise NotImplementedError("sgd")
"""
RELU = 'Bug("relu keeps negatives", "layers.py", "np.maximum(0, x), x", "x, x", "relu_forward")'
SGD = ('Bug("sgd climbs the gradient", "optim.py", \'w - config["learning_rate"] * dw\', '
       '\'w + config["learning_rate"] * dw\', "sgd")')
AFFINE = ('Bug("affine forgets the bias", "layers.py", "@ w + b, (x, w, b)", "@ w, (x, w, b)", '
          '"affine_forward")')


def make_assignment(root: Path, bugs=(RELU, SGD, AFFINE), layers: str = LAYERS,
                    starter: dict[str, str] | None = None) -> Path:
    """root/assignments/tiny (the tiny checks, a solution, a starter, mutants.py) and
    root/rubrics/tiny.yml; returns root."""
    folder = root / "assignments" / "tiny"
    (folder / "solution").mkdir(parents=True)
    (folder / "starter").mkdir()
    (root / "rubrics").mkdir()
    for name in ("checks.py", "manifest.yml"):
        shutil.copyfile(DATA / "assignments" / "tiny" / name, folder / name)
    shutil.copyfile(DATA / "rubrics" / "tiny.yml", root / "rubrics" / "tiny.yml")
    (folder / "solution" / "layers.py").write_text(layers)
    (folder / "solution" / "optim.py").write_text(OPTIM)
    starter = {"layers.py": STARTER_LAYERS, "optim.py": STARTER_OPTIM} if starter is None else starter
    for name, text in starter.items():
        (folder / "starter" / name).write_text(text)
    (folder / "mutants.py").write_text(
        "from grader.course.mutants import Bug, Solution\n\nSOLUTION = Solution(\"solution\")\n"
        "MUTANTS = [\n" + "".join(f"    {bug},\n" for bug in bugs) + "]\n")
    return root


def selftest(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITH_DIRS, str(root / "assignments"),
                           str(root / "rubrics"), "selftest", "-a", "tiny", "-j", "2", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def table_row(stdout: str, check_id: str) -> str:
    match = re.search(rf"^  (ok|FAIL) +{re.escape(check_id)} +(.*)$", stdout, re.MULTILINE)
    assert match, stdout
    return f"{match.group(1)} {match.group(2)}"


# -- through the CLI, on the tiny assignment -------------------------------------------------------

def test_selftest_passes_when_everything_holds(tmp_path):
    run = selftest(make_assignment(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "selftest tiny: 5 submissions graded" in run.stdout
    assert re.search(r"^  ok +reference +4 / 4 ", run.stdout, re.MULTILINE), run.stdout
    assert re.search(r"^  ok +starter +0 / 4 ", run.stdout, re.MULTILINE), run.stdout
    assert re.search(r"^  ok +1  relu keeps negatives +relu_forward -1$", run.stdout, re.MULTILINE)
    assert table_row(run.stdout, "relu_forward/out") == "ok 1"
    assert table_row(run.stdout, "sgd/next_w") == "ok 2"
    assert table_row(run.stdout, "affine_forward/out") == "ok 3"
    assert "selftest passed" in run.stdout
    assert "[5/5]" in run.stderr  # the progress, one line per graded submission off a terminal


def test_a_check_without_a_failing_fixture_fails_the_selftest(tmp_path):
    run = selftest(make_assignment(tmp_path, bugs=(RELU, SGD)))
    assert run.returncode == 1, run.stdout + run.stderr
    assert table_row(run.stdout, "affine_forward/out") == "FAIL no failing fixture"
    assert table_row(run.stdout, "relu_forward/out") == "ok 1"
    assert "selftest FAILED (1 problem):" in run.stdout
    assert "  - 1 check has no failing fixture: affine_forward/out" in run.stdout


def test_a_reference_that_loses_points_fails_the_selftest(tmp_path):
    run = selftest(make_assignment(tmp_path, layers=LAYERS.replace("np.maximum(0, x), x",
                                                                   "np.abs(x), x")))
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"^  FAIL reference +3 / 4  \(expected full marks\)$", run.stdout,
                     re.MULTILINE), run.stdout
    assert "  - the reference solution lost points (3 / 4) on relu_forward/out" in run.stdout


def test_a_starter_that_cannot_be_graded_fails_the_selftest(tmp_path):
    run = selftest(make_assignment(tmp_path, starter={"README.txt": "nothing here yet"}), "--quick")
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"^  FAIL starter +could not be graded: ", run.stdout, re.MULTILINE), run.stdout
    assert "  - the starter code could not be graded (it must be, with zero points): " in run.stdout
    assert re.search(r"^  ok +reference +4 / 4", run.stdout, re.MULTILINE), run.stdout


def test_mutants_that_prove_nothing_are_named(tmp_path):
    """A mutant that keeps its target's points, one whose text is not in the solution and
    one whose target is not graded: each is a problem of its own, and the others still count."""
    harmless = 'Bug("a no-op", "optim.py", "def sgd", "def sgd", "sgd")'
    missing = 'Bug("text not there", "layers.py", "np.minimum", "np.maximum", "relu_forward")'
    stranger = 'Bug("unknown target", "layers.py", "np.maximum", "np.minimum", "softmax_loss")'
    run = selftest(make_assignment(tmp_path, bugs=(RELU, SGD, AFFINE, harmless, missing, stranger)))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "selftest FAILED (3 problems):" in run.stdout
    assert "  - mutant 4 (a no-op): sgd kept full marks" in run.stdout
    assert ("  - mutant 5 (text not there): bug 'text not there': expected the text once in "
            "layers.py, found 0") in run.stdout
    assert ("  - mutant 6 (unknown target): its target 'softmax_loss' is not a graded function "
            "of tiny") in run.stdout
    assert table_row(run.stdout, "sgd/next_w") == "ok 2"
    assert "selftest tiny: 6 submissions graded" in run.stdout  # mutants 5 and 6 could not be made


@pytest.mark.parametrize("change, args, message", [
    (None, ("-a", "nope"), "grade: unknown assignment 'nope'"),
    ("no mutants file", (), "mutants.py not found"),
    (None, ("-j", "0"), "grade: --workers must be at least 1, not 0"),
])
def test_a_wrong_command_exits_2_with_a_message(tmp_path, change, args, message):
    root = make_assignment(tmp_path)
    if change == "no mutants file":
        (root / "assignments" / "tiny" / "mutants.py").unlink()
    run = selftest(root, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


# -- the verdicts, on results made up here ----------------------------------------------------------

def _result(name: str, points: dict[str, tuple[float, float]], status: str = "graded",
            message: str = "", checks_message: str = "wrong") -> SubmissionResult:
    checks = tuple(CheckResult(check_id, check_id.split("/")[0], check_id,
                               "passed" if got == most else "failed", got, most, "visible",
                               "" if got == most else checks_message)
                   for check_id, (got, most) in points.items())
    return SubmissionResult("tiny", name, status, sum(p for p, _ in points.values()),
                            sum(m for _, m in points.values()), 0.1, {}, checks, message=message)


@pytest.fixture
def tiny(monkeypatch) -> assignments.Assignment:
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", DATA / "assignments")
    monkeypatch.setattr(assignments, "RUBRICS_DIR", DATA / "rubrics")
    return assignments.load("tiny")


FULL = {"relu_forward/out": (1, 1), "sgd/next_w": (1, 1), "affine_forward/out": (2, 2)}
ZERO = {"relu_forward/out": (0, 1), "sgd/next_w": (0, 1), "affine_forward/out": (0, 2)}


def _selftest(tiny, starter: SubmissionResult, mutant: SubmissionResult, bug: Bug) -> Selftest:
    test = Selftest(tiny, [Fixture("reference", Path("r")), Fixture("starter", Path("s")),
                           Fixture("mutant-01", Path("m"), bug)])
    test.results = {"reference": _result("reference", FULL), "starter": starter,
                    "mutant-01": mutant}
    return test


def test_a_starter_that_scores_points_is_a_problem(tiny):
    starter = _result("starter", {**ZERO, "relu_forward/out": (1, 1)})
    mutant = _result("mutant-01", {**FULL, "relu_forward/out": (0, 1)})
    test = _selftest(tiny, starter, mutant, Bug("b", "layers.py", "x", "y", "relu_forward"))
    assert "the starter code scored 1, not 0 (points on relu_forward/out)" in test.problems()


def test_a_numpy_version_note_on_the_solution_is_a_problem(tiny):
    """The solution runs under the worker's NumPy: a note that it uses removed names is the
    note's mistake (Note [A form is in the call's own arguments] in grader/checks/hints.py)."""
    import dataclasses
    starter = _result("starter", ZERO)
    mutant = _result("mutant-01", {**FULL, "relu_forward/out": (0, 1)})
    test = _selftest(tiny, starter, mutant, Bug("b", "layers.py", "x", "y", "relu_forward"))
    before = test.problems()
    note = hints.restored_numpy_note({"layers": "y = np.sum(x for x in a)\n"}, "2.4.6")
    test.results["reference"] = dataclasses.replace(
        test.results["reference"], notes=("used the course's solver.py in place of the submitted one", note))
    assert test.problems() == [f"the reference solution got a NumPy-version note: {note}", *before]


def test_an_internal_grader_error_in_the_starter_is_a_problem(tiny):
    starter = _result("starter", ZERO, checks_message="internal grader error (KeyError: 'x')")
    mutant = _result("mutant-01", {**FULL, "relu_forward/out": (0, 1)})
    test = _selftest(tiny, starter, mutant, Bug("b", "layers.py", "x", "y", "relu_forward"))
    assert ("the starter code met an internal grader error in relu_forward/out, sgd/next_w, "
            "affine_forward/out") in test.problems()


def test_a_mutant_that_costs_points_outside_its_may_affect_is_a_problem(tiny):
    mutant = _result("mutant-01", {**FULL, "relu_forward/out": (0, 1), "sgd/next_w": (0, 1)})
    bug = Bug("b", "layers.py", "x", "y", "relu_forward")
    test = _selftest(tiny, _result("starter", ZERO), mutant, bug)
    assert test.mutant_problem(test.mutants[0]) == "also cost points in sgd (not in its may_affect)"
    allowed = _selftest(tiny, _result("starter", ZERO), mutant,
                        Bug("b", "layers.py", "x", "y", "relu_forward", ("sgd",)))
    assert allowed.mutant_problem(allowed.mutants[0]) == ""
    assert allowed.failing_fixtures() == {"relu_forward/out": [1], "sgd/next_w": [1],
                                          "affine_forward/out": []}


def test_a_mutant_that_could_not_be_graded_is_a_problem(tiny):
    mutant = _result("mutant-01", {}, status="error", message="the worker could not start\nmore")
    test = _selftest(tiny, _result("starter", ZERO), mutant,
                     Bug("b", "layers.py", "x", "y", "relu_forward"))
    assert test.mutant_problem(test.mutants[0]) == "could not be graded: the worker could not start"


def test_checks_are_listed_in_the_registry_order(tiny):
    mutant = _result("mutant-01", {**FULL, "affine_forward/out": (0, 2)})
    test = _selftest(tiny, _result("starter", ZERO), mutant,
                     Bug("b", "layers.py", "x", "y", "affine_forward"))
    assert list(test.failing_fixtures()) == [c.id for c in tiny.checks]
    assert test.failing_fixtures()["affine_forward/out"] == [1]


# -- the real `grade` command on a course assignment ----------------------------------------------

def test_grade_selftest_quick_on_fc_nets():
    run = subprocess.run([str(GRADE), "selftest", "--assignment", "fc_nets", "--quick"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^  ok +reference +42 / 42 ", run.stdout, re.MULTILINE), run.stdout
    assert re.search(r"^  ok +starter +0 / 42 ", run.stdout, re.MULTILINE), run.stdout
    assert "selftest fc_nets: 2 submissions graded" in run.stdout  # no mutant
    assert "mutants" not in run.stdout and "failing fixture" not in run.stdout
    assert "selftest passed: the solution gets full marks and the starter zero" in run.stdout


@pytest.mark.slow
def test_grade_selftest_on_fc_nets_finds_a_failing_fixture_for_every_check():
    """About 20 s on two idle cores: 29 mutants, the solution and the starter."""
    run = subprocess.run([str(GRADE), "selftest", "--assignment", "fc_nets"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    checks = assignments.load("fc_nets").checks
    for check in checks:
        assert re.search(rf"^  ok +{re.escape(check.id)} +\d", run.stdout, re.MULTILINE), (
            check.id, run.stdout)
    assert "no failing fixture" not in run.stdout
    assert "selftest passed" in run.stdout


def test_an_advisory_mutant_must_fail_an_advisory_of_its_target_and_cost_nothing(tiny):
    import dataclasses
    bug = Bug("b", "layers.py", "x", "y", "relu_forward", advisory=True)
    advice = CheckResult("relu_forward/advice", "relu_forward", "t", "failed", 0.0, 0.0, "visible",
                         "advice")
    quiet = dataclasses.replace(advice, status="passed", message="")

    def verdict(points, extra):
        mutant = _result("mutant-01", points)
        mutant = dataclasses.replace(mutant, checks=mutant.checks + (extra,))
        test = _selftest(tiny, _result("starter", ZERO), mutant, bug)
        return test.mutant_problem(test.mutants[0])

    assert verdict(FULL, advice) == ""
    assert verdict(FULL, quiet) == "no advisory check of relu_forward failed"
    assert verdict({**FULL, "sgd/next_w": (0, 1)}, advice) == "an advisory mistake cost points in sgd"
