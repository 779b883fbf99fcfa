"""benchmarks/equivalent_tests.py: the notebook tests nbgrader and Otter run are our checks.

Each test is run here the way a notebook kernel runs it (exec in the namespace
the student's cells made), on the solution and on every kind of student.
"""

import numpy as np
import pytest

import equivalent_tests as eq

# kind -> the checks it must fail (and no others); the same list our grader's checks give
EXPECTED_FAILURES = {
    "correct": set(),
    "bug_db": {"affine_backward/db"},
    "bug_softmax_loss": {"softmax_loss/loss", "softmax_loss/loss_hidden",
                         "softmax_loss/wide_rows"},  # the advisory too (0 points)
    "bug_relu_backward": {"relu_backward/dx"},
    "bug_svm_correct_class": {"svm_loss/loss"},
    "unfinished_svm": {"svm_loss/loss", "svm_loss/dx"},
}


def run_tests(sources: dict) -> set:
    namespace = {"np": np}
    for source in sources.values():
        exec(source, namespace)
    failed = set()
    for test in eq.TESTS:
        try:
            exec(test.code, dict(namespace))
        except Exception:
            failed.add(test.check_id)
    return failed


def test_tests_mirror_the_rubric_and_split_hidden_checks():
    assert [t.check_id for t in eq.TESTS][:2] == ["affine_forward/out", "affine_forward/out_hidden"]
    assert eq.MAX_SCORE == 14
    assert {t.check_id for t in eq.TESTS if t.hidden} == {
        "affine_forward/out_hidden", "affine_backward/dx_hidden", "softmax_loss/loss_hidden"}


@pytest.mark.parametrize("kind", sorted(EXPECTED_FAILURES))
def test_each_kind_fails_exactly_its_own_tests(kind):
    student = next(s for s in eq.students(len(eq.KINDS)) if s.kind == kind)
    assert run_tests(student.sources) == EXPECTED_FAILURES[kind]


def test_students_cycle_through_the_kinds_with_distinct_code():
    students = eq.students(12)
    assert [s.kind for s in students[:len(eq.KINDS)]] == list(eq.KINDS)
    assert students[10].kind == eq.KINDS[0]
    assert len({s.sources["affine_forward"] for s in students}) == 12


def test_an_empty_class_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        eq.students(0)
