"""The `tensorflow` checks judge correctly both ways.

The reference (reference/tf_nets/convnets.py, submitted as tf_convnets.py)
gets full marks; each Bug below is one realistic mistake and must cost points
on its function and nowhere unrelated, with a message that names it; the
starter grades to zero, with a message per check, without crashing.

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

from .conftest import Bug, assert_bug_caught, assert_full_marks, grade

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports TensorFlow and trains a model; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.tf]

ASSIGNMENT = "tensorflow"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "tf_nets" / "convnets.py"
STARTER = ROOT / "assignments" / "tensorflow" / "starter" / "tf_convnets.py"
FILE = "tf_convnets.py"

pytest.importorskip("tensorflow")

# (bug, check that must lose its points, phrase its message must contain)
BUGS = [
    (Bug("flatten: channels first before the reshape", FILE,
         "    return tf.reshape(x, (tf.shape(x)[0], -1))",
         "    if len(x.shape) == 4:\n        x = tf.transpose(x, [0, 3, 1, 2])\n"
         "    return tf.reshape(x, (tf.shape(x)[0], -1))", "flatten", ("three_layer_convnet",)),
     "flatten/out", "entries differ"),
    (Bug("barebones: second ReLU missing", FILE,
         'h2 = tf.nn.relu(tf.nn.conv2d(h1, conv_w2, strides=1, padding="SAME") + conv_b2)',
         'h2 = tf.nn.conv2d(h1, conv_w2, strides=1, padding="SAME") + conv_b2', "three_layer_convnet"),
     "three_layer_convnet/scores", "a ReLU is missing"),
    (Bug("init: std sqrt(1 / fan_in)", FILE, "return draw * math.sqrt(2.0 / fan_in)",
         "return draw * math.sqrt(1.0 / fan_in)", "three_layer_convnet_init"),
     "three_layer_convnet_init/kaiming", "0.707"),
    (Bug("init: first bias not zero", FILE, "tf.Variable(tf.zeros((channel_1,))),",
         "tf.Variable(tf.ones((channel_1,))),", "three_layer_convnet_init"),
     "three_layer_convnet_init/kaiming", "conv_b1"),
    (Bug("subclass: no softmax", FILE, "return self.softmax(self.fc(self.flatten(x)))",
         "return self.fc(self.flatten(x))", "ThreeLayerConvNet"),
     "ThreeLayerConvNet/probabilities", "not passed through a softmax"),
    (Bug("sequential: first ReLU missing", FILE,
         "        _conv1(channel_1, seed),\n        tf.keras.layers.ReLU(),\n",
         "        _conv1(channel_1, seed),\n", "three_layer_convnet_sequential"),
     "three_layer_convnet_sequential/probabilities", "a ReLU is missing"),
    (Bug("functional: second ReLU missing", FILE,
         "x = tf.keras.layers.ReLU()(_conv2(channel_2, seed)(x))", "x = _conv2(channel_2, seed)(x)",
         "three_layer_convnet_functional"),
     "three_layer_convnet_functional/probabilities", "a ReLU is missing"),
]


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


def test_starter_grades_to_zero_and_says_what_is_missing():
    result = grade(STARTER, ASSIGNMENT)
    assert result.status == "graded", result.message
    assert result.score == 0
    for check in result.checks:
        assert check.status in ("failed", "error"), (check.id, check.status)
        assert "is not implemented yet" in check.message, (check.id, check.message)
        assert "internal grader error" not in check.message, check.id
