"""The `tensorflow` checks judge correctly both ways.

The reference (reference/tf_nets/convnets.py, submitted as tf_convnets.py)
gets full marks; each Bug of assignments/tensorflow/mutants.py (which also
declares the solution) is one realistic mistake and must cost points on its
function and nowhere unrelated, with a message that names it; the starter
grades to zero, with a message per check, without crashing.

Every submission is graded through the real pipeline (staging, sandboxed
worker, pytest plugin), training check included (~2 s); one worker start
(TensorFlow import, ~5 s) per submission.  About 70 s on two idle cores.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from grader import assignment as assignments

from .conftest import (Bug, assert_bug_caught, assert_full_marks, assert_starter_scores_zero, grade,
                       load_mutants, solution_path)

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports TensorFlow and trains a model; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.tf]

ASSIGNMENT = "tensorflow"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE = solution_path(ASSIGNMENT)  # reference/tf_nets/convnets.py
STARTER = ROOT / "assignments" / "tensorflow" / "starter" / "tf_convnets.py"
FILE = "tf_convnets.py"

pytest.importorskip("tensorflow")

# Each bug of assignments/tensorflow/mutants.py (which `grade selftest` grades too): the
# check that must lose its points, and a phrase its message must contain.
EXPECTED = {
    "flatten: channels first before the reshape":
        ("flatten/out", "entries differ"),
    "barebones: second ReLU missing":
        ("three_layer_convnet/scores", "a ReLU is missing"),
    "init: std sqrt(1 / fan_in)":
        ("three_layer_convnet_init/kaiming", "0.707"),
    "init: first bias not zero":
        ("three_layer_convnet_init/kaiming", "conv_b1"),
    "subclass: no softmax":
        ("ThreeLayerConvNet/probabilities", "not passed through a softmax"),
    "sequential: first ReLU missing":
        ("three_layer_convnet_sequential/probabilities", "a ReLU is missing"),
    "functional: second ReLU missing":
        ("three_layer_convnet_functional/probabilities", "a ReLU is missing"),
    "sequential: first conv initialised to zeros":
        ("three_layer_convnet_sequential/trains", "test accuracy is"),
}
BUGS = [(bug, *EXPECTED[bug.name]) for bug in load_mutants(ASSIGNMENT)]


def grade_text(text: str):
    folder = Path(tempfile.mkdtemp(prefix="grader-test-tensorflow-"))
    try:
        (folder / FILE).write_text(text)
        return grade(folder / FILE, ASSIGNMENT)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


def test_reference_gets_full_marks():
    result = grade_text(REFERENCE.read_text())
    assert_full_marks(result)
    assert len(result.checks) == len(assignments.load(ASSIGNMENT).checks)
    trained = _check(result, "three_layer_convnet_sequential/trains").details
    assert trained["test_accuracy"] >= trained["threshold"]


@pytest.mark.parametrize("bug, check_id, phrase", BUGS, ids=[b.name for b, _, _ in BUGS])
def test_bug_is_caught(bug: Bug, check_id: str, phrase: str):
    text = REFERENCE.read_text()
    assert text.count(bug.old) == 1, f"bug {bug.name!r}: expected the text once, found {text.count(bug.old)}"
    result = grade_text(text.replace(bug.old, bug.new))
    assert_bug_caught(result, bug)
    check = _check(result, check_id)
    assert check.points < check.max_points, f"{check_id} kept its points"
    assert phrase in check.message + "\n" + check.hint, check.message


def test_bugs_cover_every_graded_function():
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded == {bug.target for bug, _, _ in BUGS}


def test_every_expectation_names_a_bug():
    assert set(EXPECTED) == {bug.name for bug, _, _ in BUGS}


def test_starter_grades_to_zero_and_says_what_is_missing():
    result = grade(STARTER, ASSIGNMENT)
    assert_starter_scores_zero(result, "is not implemented yet")
