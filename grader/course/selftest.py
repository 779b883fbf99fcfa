"""`grade selftest --assignment NAME`: show that an assignment's checks tell right from wrong.

Not to be confused with `grade selfcheck` (grader/course/selfcheck.py), which checks the
reference library against the course's published values.  This command checks
the assignment built on it: its checks, rubric, starter code and fixtures
(grader/course/mutants.py), all graded through the real pipeline.

# Note [What selftest proves]
Three things, each by grading a submission as `grade check` would:
- the solution gets full marks (the checks accept correct code);
- the starter code scores zero and is graded (status `graded`, no internal
  grader error): a student who has written nothing gets a message per check,
  not a crash;
- every mutant (Note [Mutants]) loses points on its target function, and on
  no function outside its target and `may_affect` (an advisory mutant instead
  fails an advisory check of its target and costs no points at all; a mutant of
  code the course provides, whose checks are all advisories, fails one of them
  and costs points only in `may_affect`: Note [Course-provided parts] in
  grader/scoring/assignment.py);
and, from the mutants' results, that every check has at least one failing
fixture: a mutant that makes it lose points.  A check no mutant fails is
listed as "no failing fixture": nothing shows it can fail at all.  Any of
these not holding makes the exit status 1; a bad command (unknown assignment,
unreadable mutants file) makes it 2.  `--quick` grades the solution and the
starter only.

# Note [Grading the fixtures]
The fixtures are written to one temporary folder first (a copy of the solution
per mutant, the bug planted in it), then graded by `grade batch`'s job
processes (grader/batch/run.py: a process per submission, several at once, and
its crash attribution: a fixture that kills its grading process costs only its
own result).  Each mutant is graded alone, so each check's failures are
attributed to exactly one mutant; the assignment tests may plant several bugs
in one copy to save time (their Note [Bundled bugs]), selftest does not.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ..checks.hints import RESTORED_NOTE_START
from ..scoring import assignment as assignments
from . import mutants
from ..checks import questions
from ..submission.discover import Submission
from ..scoring.result import CheckResult, SubmissionResult

REFERENCE_ID, STARTER_ID = "reference", "starter"
NO_FIXTURE = "no failing fixture"


@dataclass(frozen=True)
class Fixture:
    """One submission selftest grades: the solution, the starter or a mutant."""
    id: str                         # job id and label: "reference", "starter", "mutant-03"
    path: Path | None               # what is graded; None when it could not be made
    bug: mutants.Bug | None = None
    problem: str = ""               # why it could not be made (then it is not graded)


@dataclass
class Selftest:
    """The fixtures, their results, and what does not hold (Note [What selftest proves])."""
    assignment: assignments.Assignment
    fixtures: list[Fixture]
    results: dict[str, SubmissionResult] = field(default_factory=dict)
    quick: bool = False
    seconds: float = 0.0

    @property
    def mutants(self) -> list[Fixture]:
        return [f for f in self.fixtures if f.bug is not None]

    def failing_fixtures(self) -> dict[str, list[int]]:
        """check id -> numbers (1-based) of the mutants that make it fail."""
        table: dict[str, list[int]] = {c.id: [] for c in self.assignment.checks}
        for number, fixture in enumerate(self.mutants, start=1):
            result = self.results.get(fixture.id)
            if result is None or result.status != "graded":
                continue
            for check in result.checks:
                if _fails(check) and check.id in table:
                    table[check.id].append(number)
        return table

    def mutant_problem(self, fixture: Fixture) -> str:
        """What is wrong with one mutant's verdict; empty when it did what it should."""
        if fixture.problem:
            return fixture.problem
        result = self.results.get(fixture.id)
        if result is None:
            return "not graded"
        if result.status != "graded":
            return f"could not be graded: {_first_line(result.message)}"
        bug = fixture.bug
        lost = {c.function for c in result.checks if c.points < c.max_points}
        if bug.advisory:  # Note [Mutants]: advice never costs points
            advised = [c for c in result.checks if c.function == bug.target and c.max_points == 0
                       and c.status == "failed"]
            if not advised:
                return f"no advisory check of {bug.target} failed"
            return f"an advisory mistake cost points in {', '.join(sorted(lost))}" if lost else ""
        if bug.target not in lost:
            targets = [c for c in result.checks if c.function == bug.target]
            if targets and all(c.max_points == 0 for c in targets):
                # The course's own code (Note [Course-provided parts] in
                # grader/scoring/assignment.py): its advisories must catch the bug, and
                # only what is built on it may lose points.
                if not any(c.status == "failed" for c in targets):
                    return f"no advisory check of {bug.target} (the course's code) failed"
            else:
                return f"{bug.target} kept full marks"
        unrelated = sorted(lost - {bug.target, *bug.may_affect})
        if unrelated:
            return f"also cost points in {', '.join(unrelated)} (not in its may_affect)"
        return ""

    def problems(self) -> list[str]:
        """Everything that does not hold, one line each; none: the selftest passed."""
        found = []
        reference = self.results.get(REFERENCE_ID)
        if reference is None:
            found.append("the reference solution was not graded")
        elif reference.status != "graded":
            found.append(f"the reference solution could not be graded: "
                         f"{_first_line(reference.message)}")
        elif reference.score != reference.max_score or any(c.status != "passed"
                                                           for c in reference.checks):
            lost = [c.id for c in reference.checks if c.status != "passed"]
            found.append(f"the reference solution lost points ({reference.score:g} / "
                         f"{reference.max_score:g}) on {', '.join(lost)}")
        if reference is not None and reference.status == "graded":
            # The solution is written for the NumPy the worker runs: a note that it uses names or
            # forms that NumPy removed is the note's mistake (Note [A form is in the call's own
            # arguments] in grader/checks/hints.py), which students would get too.
            found.extend(f"the reference solution got a NumPy-version note: {_first_line(note)}"
                         for note in reference.notes if note.startswith(RESTORED_NOTE_START))
        starter_fixture = next(f for f in self.fixtures if f.id == STARTER_ID)
        starter = self.results.get(STARTER_ID)
        if starter_fixture.problem:
            found.append(f"the starter code: {starter_fixture.problem}")
        elif starter is None:
            found.append("the starter code was not graded")
        elif starter.status != "graded":
            found.append(f"the starter code could not be graded (it must be, with zero points): "
                         f"{_first_line(starter.message)}")
        else:
            if starter.score != 0:
                passed = [c.id for c in starter.checks if c.points > 0]
                found.append(f"the starter code scored {starter.score:g}, not 0 "
                             f"(points on {', '.join(passed)})")
            internal = [c.id for c in starter.checks if "internal grader error" in c.message]
            if internal:
                found.append(f"the starter code met an internal grader error in "
                             f"{', '.join(internal)}")
        if self.quick:
            return found
        for number, fixture in enumerate(self.mutants, start=1):
            problem = self.mutant_problem(fixture)
            if problem:
                found.append(f"mutant {number} ({fixture.bug.name}): {problem}")
        orphans = [check for check, numbers in self.failing_fixtures().items() if not numbers]
        if orphans:
            found.append(f"{len(orphans)} check{'s' if len(orphans) != 1 else ''} "
                         f"{'have' if len(orphans) != 1 else 'has'} {NO_FIXTURE}: "
                         f"{', '.join(orphans)}")
        return found


def _fails(check: CheckResult) -> bool:
    return check.points < check.max_points or check.status in ("failed", "error", "timeout")


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "no reason given"


# -- making and grading the fixtures -------------------------------------------------------------

def prepare(assignment: assignments.Assignment, fixtures: mutants.Fixtures, folder: Path,
            quick: bool = False) -> list[Fixture]:
    """The submissions to grade, written under `folder`; Note [Grading the fixtures]."""
    made = [Fixture(REFERENCE_ID, mutants.copy_solution(fixtures.solution,
                                                        _fresh(folder, REFERENCE_ID)))]
    starter = assignment.folder / "starter"
    made.append(Fixture(STARTER_ID, starter) if starter.exists() else
                Fixture(STARTER_ID, None, problem=f"{starter} does not exist"))
    if quick:
        return made
    graded = {c.function for c in assignment.checks}
    for number, bug in enumerate(fixtures.mutants, start=1):
        fixture_id = f"mutant-{number:02d}"
        if bug.target not in graded:
            made.append(Fixture(fixture_id, None, bug, f"its target {bug.target!r} is not a graded "
                                                       f"function of {assignment.id}"))
            continue
        try:
            path = mutants.make_mutant(fixtures.solution, bug, _fresh(folder, fixture_id))
        except (mutants.MutantError, OSError) as exc:
            made.append(Fixture(fixture_id, None, bug, str(exc)))
            continue
        made.append(Fixture(fixture_id, path, bug))
    return made


def _fresh(folder: Path, name: str) -> Path:
    path = folder / name
    path.mkdir()
    return path


def grade_fixtures(selftest: Selftest, workers: int, sandbox: str | None = None,
                   stream: TextIO = sys.stderr) -> None:
    """Grade every fixture that could be made, `workers` at a time, into selftest.results."""
    from ..batch.job import JobSpec, grade_job
    from ..batch.run import Progress, schedule_locally

    todo = [Submission(f.id, f.id, f.path) for f in selftest.fixtures if f.path is not None]
    spec = JobSpec(selftest.assignment.id, dict(selftest.assignment.conventions),
                   str(assignments.ASSIGNMENTS_DIR), str(assignments.RUBRICS_DIR),
                   sandbox, None, None, secret=selftest.assignment.questions.secret,
                   questions_source=selftest.assignment.questions.source)
    progress = Progress(len(todo), stream)

    def keep(submission: Submission, result: SubmissionResult, failure: str = "") -> None:
        selftest.results[submission.id] = result
        progress(result)

    def failed(submission: Submission, why: str) -> SubmissionResult:
        return SubmissionResult(selftest.assignment.id, submission.id, "error", 0.0,
                                selftest.assignment.rubric.max_score(), 0.0, {}, message=why)

    try:
        schedule_locally(todo, min(workers, max(len(todo), 1)), spec, grade_job, keep, failed, progress)
    finally:
        progress.close()


# -- the report ----------------------------------------------------------------------------------

def render(selftest: Selftest) -> str:
    """The table `grade selftest` prints: fixtures, then checks and the mutants failing them."""
    a = selftest.assignment
    reference = selftest.results.get(REFERENCE_ID)
    sandbox = reference.environment.get("sandbox", "") if reference else ""
    graded = len(selftest.results)
    lines = [f"selftest {a.id}: {graded} submission{'s' if graded != 1 else ''} graded in "
             f"{selftest.seconds:.1f}s" + (f" (sandbox: {sandbox})" if sandbox else ""), ""]
    lines += [_fixture_line("reference", selftest.results.get(REFERENCE_ID), "full marks",
                            lambda r: r.score == r.max_score
                            and all(c.status == "passed" for c in r.checks)),
              _fixture_line("starter", selftest.results.get(STARTER_ID),
                            "zero, graded without crashing", lambda r: r.score == 0)]
    if selftest.quick:
        return "\n".join(lines)
    fixtures = selftest.mutants
    lines += ["", f"mutants ({len(fixtures)}; each must lose points on its target)"]
    if not fixtures:
        lines.append("  none declared in the assignment's mutants.py")
    width = max((len(f.bug.name) for f in fixtures), default=0)
    for number, fixture in enumerate(fixtures, start=1):
        problem = selftest.mutant_problem(fixture)
        verdict = problem or _lost_on_target(fixture, selftest.results[fixture.id])
        lines.append(f"  {'ok' if not problem else 'FAIL':4} {number:>3}  "
                     f"{fixture.bug.name:<{width}}  {verdict}")
    table = selftest.failing_fixtures()
    width = max((len(check) for check in table), default=0)
    lines += ["", "checks and the mutants that make them fail"]
    for check, numbers in table.items():
        lines.append(f"  {'ok' if numbers else 'FAIL':4} {check:<{width}}  "
                     + (" ".join(map(str, numbers)) if numbers else NO_FIXTURE))
    return "\n".join(lines)


def _fixture_line(label: str, result: SubmissionResult | None, expected: str, holds) -> str:
    if result is None:
        return f"  FAIL {label:<9}  not graded"
    if result.status != "graded":
        return f"  FAIL {label:<9}  could not be graded: {_first_line(result.message)}"
    ok = holds(result)
    return (f"  {'ok' if ok else 'FAIL':4} {label:<9}  {result.score:g} / {result.max_score:g}"
            f"  ({'' if ok else 'expected '}{expected})")


def _lost_on_target(fixture: Fixture, result: SubmissionResult) -> str:
    if fixture.bug.advisory:
        return f"{fixture.bug.target} advised, no points lost"
    lost = sum(c.max_points - c.points for c in result.checks if c.function == fixture.bug.target)
    return f"{fixture.bug.target} -{lost:g}"


# -- the command -------------------------------------------------------------------------------

def run_selftest(assignment_id: str, quick: bool = False, workers: int | None = None,
                 sandbox: str | None = None, out: TextIO = sys.stdout,
                 err: TextIO = sys.stderr, secret: str | None = None) -> int:
    """`grade selftest`: 0 when everything in Note [What selftest proves] holds, 1 when
    something does not, 2 when the command is wrong."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        print(f"grade: --workers must be at least 1, not {workers}", file=err)
        return 2
    try:
        asked = questions.PUBLIC  # Note [Fresh questions] in grader/checks/questions.py
        if secret is not None:
            secret = questions.new_secret() if secret == "random" else secret
            asked = questions.Questions(questions.valid_secret(secret, "--secret"), "selftest")
            print(f"questions: drawn from the secret {secret}", file=err)
        assignment = assignments.load(assignment_id, None, asked)
        fixtures = mutants.load(assignment.id, assignment.folder)
    except (assignments.AssignmentError, mutants.MutantError, ValueError) as exc:
        print(f"grade: {exc}", file=err)
        return 2
    start = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="grader-selftest-"))
    try:
        selftest = Selftest(assignment, prepare(assignment, fixtures, folder, quick), quick=quick)
        grade_fixtures(selftest, workers, sandbox, err)
    except KeyboardInterrupt:
        print("grade: selftest interrupted; nothing was proved", file=err)
        return 130  # Note [Command errors] in grader/cli.py
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    selftest.seconds = time.monotonic() - start
    print(render(selftest), file=out)
    problems = selftest.problems()
    if problems:
        print(f"\nselftest FAILED ({len(problems)} problem{'s' if len(problems) != 1 else ''}):",
              file=out)
        for problem in problems:
            print(f"  - {problem}", file=out)
        return 1
    what = "the solution gets full marks and the starter zero" if quick else (
        "the solution gets full marks, the starter zero, every mutant loses points on its "
        "target and every check has a failing fixture")
    print(f"\nselftest passed: {what}", file=out)
    return 0
