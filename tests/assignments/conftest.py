"""Helpers for the assignment tests: grade the reference, grade mutated copies of it.

A *bug* is a textual edit of one reference file (a realistic student mistake);
`grade_bug` applies it to a fresh copy of the reference package and grades the
copy through the real pipeline (worker, sandbox, pytest plugin).  The bugs
themselves, the `Bug` class and `apply_bug` live with the assignments, where
`grade selftest` finds them too (Note [Mutants] in grader/course/mutants.py); this
module re-exports them under the names the tests have always used.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.course import mutants
from grader.course.mutants import Bug, Solution, apply_bug  # noqa: F401  (re-exported for the tests)
from grader.scoring.pipeline import Options, grade_submission
from grader.scoring.result import SubmissionResult

REFERENCE_PACKAGE = mutants.REFERENCE / "cs231n"


def copy_reference(package_name: str = "cs231n") -> Path:
    """A fresh copy of the reference package (reference/cs231n) named `package_name`."""
    root = Path(tempfile.mkdtemp(prefix="grader-test-ref-"))
    return mutants.copy_solution(Solution(REFERENCE_PACKAGE), root, package_name)


def load_mutants(assignment_id: str) -> list[Bug]:
    """The assignment's bugs, from assignments/<id>/mutants.py."""
    return list(mutants.load(assignment_id).mutants)


def solution_path(assignment_id: str) -> Path:
    """Where the assignment's solution file or package is (its mutants.py SOLUTION)."""
    return Path(mutants.load(assignment_id).solution.path)


def grade(path: Path, assignment_id: str, **options) -> SubmissionResult:
    return grade_submission(Path(path), assignments.load(assignment_id), Options(**options))


def grade_reference_with(file: str, source: str, assignment_id: str,
                         select: str) -> SubmissionResult:
    """The reference package with `source` appended to its `file` (a hostile subclass, say),
    graded on the checks `select` picks."""
    package = copy_reference()
    try:
        target = package / file
        target.write_text(target.read_text() + source)
        return grade(package, assignment_id, select=select)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def grade_bug(bug: Bug, assignment_id: str) -> SubmissionResult:
    package = copy_reference()
    try:
        apply_bug(package, bug)
        return grade(package, assignment_id)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def catching(result: SubmissionResult, target: str) -> list:
    """The target's checks that caught a bug: those that lost points, or, for code the course
    provides (every check of it an advisory: Note [Course-provided parts] in
    grader/scoring/assignment.py), those that failed."""
    checks = [c for c in result.checks if c.function == target]
    if checks and all(c.max_points == 0 for c in checks):
        return [c for c in checks if c.status == "failed"]
    return [c for c in checks if c.points < c.max_points]


def assert_bug_caught(result: SubmissionResult, bug: Bug) -> None:
    """The target lost points (or, the course's own code, failed its advisories), nothing
    unrelated lost any, and every lost point says why."""
    assert result.status == "graded", result.message
    lost = [c for c in result.checks if c.points < c.max_points]
    lost_functions = {c.function for c in lost}
    assert catching(result, bug.target), (
        f"bug {bug.name!r} was not caught: {bug.target} kept full marks")
    unrelated = lost_functions - {bug.target, *bug.may_affect}
    assert not unrelated, f"bug {bug.name!r} also cost points in {sorted(unrelated)}"
    for check in lost:
        assert check.message.strip(), f"{check.id} lost points without a message"


def bundle(bugs, names: tuple[str, ...]) -> list:
    """The (bug, phrase) pairs whose bug name starts with one of `names`."""
    return [(bug, phrase) for bug, phrase in bugs if any(bug.name.startswith(n) for n in names)]


def assert_bundles_partition(bugs, bundles) -> None:
    """Every bug is in exactly one bundle, and no bundle has two bugs with the same target."""
    counts = {bug.name: sum(any(bug.name.startswith(n) for n in names) for names in bundles)
              for bug, _ in bugs}
    assert all(count == 1 for count in counts.values()), counts
    for names in bundles:
        targets = [bug.target for bug, _ in bundle(bugs, names)]
        assert len(targets) == len(set(targets)), names


def assert_bundle_caught(result: SubmissionResult, planted: list) -> None:
    """Each (bug, phrase) of a bundle graded together: its target lost points (any target
    of the bundle may), every lost point is a failure, and a failing check of the target
    says the phrase."""
    targets = {bug.target for bug, _ in planted}
    lost = [c for c in result.checks if c.points < c.max_points]
    assert all(c.status == "failed" for c in lost), {c.id: (c.status, c.message) for c in lost}
    allowed = targets | {f for bug, _ in planted for f in bug.may_affect}
    for bug, phrase in planted:
        assert_bug_caught(result, Bug(bug.name, bug.file, bug.old, bug.new, bug.target,
                                      tuple(allowed - {bug.target})))
        caught = catching(result, bug.target)
        assert any(phrase in c.message for c in caught), (
            f"no failing check of {bug.target} says {phrase!r}:\n"
            + "\n---\n".join(c.message for c in caught))


def assert_starter_scores_zero(result: SubmissionResult, says: str,
                               statuses: tuple[str, ...] = ("failed", "error")) -> None:
    """The starter code is graded (no crash), scores zero, and every check says `says`."""
    assert result.status == "graded", result.message
    assert result.score == 0
    for check in result.checks:
        assert check.status in statuses, (check.id, check.status, check.message)
        assert says in check.message, (check.id, check.message)
        assert "internal grader error" not in check.message, check.id


def grade_file_with_bugs(solution: Path, file: str, assignment_id: str, bugs,
                         select: str | None = None,
                         conventions: dict | None = None) -> SubmissionResult:
    """Grade a copy of the single-file `solution` (saved as `file`) with `bugs` applied."""
    folder = Path(tempfile.mkdtemp(prefix=f"grader-test-{assignment_id}-"))
    try:
        shutil.copy(solution, folder / file)
        for bug in bugs:
            apply_bug(folder, bug)
        return grade_submission(folder / file, assignments.load(assignment_id, conventions),
                                Options(select=select))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_definition(path: Path, name: str) -> None:
    """Delete the top-level function or class `name` from the module at `path` (and from its
    __all__), as an edition of the course that does not assign it hands the module in (Note
    [Assigned parts] in grader/scoring/assignment.py)."""
    import ast
    source = path.read_text()
    node = next(n for n in ast.parse(source).body if getattr(n, "name", None) == name)
    lines = source.splitlines(keepends=True)
    del lines[node.lineno - 1:node.end_lineno]
    path.write_text("".join(lines).replace(f'"{name}", ', ""))


@contextlib.contextmanager
def reference_2017():
    """A copy of the reference as cs231n's editions before 2018 had it: no layer norm and no
    group norm in layers.py (nor in the network helpers that name them)."""
    package = copy_reference()
    try:
        for name in ("layernorm_forward", "layernorm_backward", "spatial_groupnorm_forward",
                     "spatial_groupnorm_backward"):
            remove_definition(package / "layers.py", name)
        utils = package / "layer_utils.py"
        utils.write_text(utils.read_text().replace(" layernorm_backward, layernorm_forward,", "")
                         .replace('    "layernorm": (layernorm_forward, layernorm_backward),\n', ""))
        yield package
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def assert_edition_graded(package: Path, assignment_id: str, convention: str, value: str,
                          left_out: set[str], max_score: float,
                          lost: set[str] | None = None) -> None:
    """`package`, which lacks what edition `value` does not assign, gets full marks out of
    `max_score` under it, and under the default edition loses exactly the checks `lost` (all of
    `left_out` unless said); each one lost because a function is not found says how its course
    grades it, and then so does a note of the result (Note [Assigned parts])."""
    result = grade_submission(package, assignments.load(assignment_id, {convention: value}))
    assert_full_marks(result)
    assert result.max_score == max_score
    assert not {c.id for c in result.checks} & left_out
    classic = grade(package, assignment_id)
    lost = left_out if lost is None else lost
    assert {c.id for c in classic.checks if c.points < c.max_points} == lost
    setting = f"--convention {convention}={value}"
    missing = [check for check in classic.checks if check.id in lost and check.cause == "missing"]
    for check in missing:
        assert setting in check.hint, (check.id, check.hint)
    assert any(setting in note for note in classic.notes) == bool(missing), classic.notes


def check_by_id(result: SubmissionResult, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


def assert_full_marks(result: SubmissionResult) -> None:
    assert result.status == "graded", result.message
    failing = {c.id: c.message for c in result.checks if c.status != "passed"}
    assert not failing, failing
    assert result.score == result.max_score


@pytest.fixture(scope="module")
def reference_copy():
    package = copy_reference()
    yield package
    shutil.rmtree(package.parent, ignore_errors=True)
