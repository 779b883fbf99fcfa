"""The `tf_norms` checks judge correctly both ways.

A correct `normalization.py` gets full marks: the reference (reference/tf_nets
norms.py and cnn.py joined into one file, as a student submits it) and an
alternative written differently (tf_norms_alternatives/).  Each Bug below is
one realistic mistake and must cost points on its function and nowhere
unrelated, with a message that names it.  The starter grades to zero, with a
message per check, without crashing.  The static basic-ops rule is also tested
directly on source snippets (no worker).

Every submission is graded through the real pipeline (staging, sandboxed
worker, pytest plugin).  TensorFlow takes ~5 s to import in each worker, and a
training run ~3 s, so only the reference runs the four training checks;
planted bugs skip them (`-k 'not trains_'`).  About 80 s on two idle cores.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from grader import assignment as assignments

from .conftest import Bug, assert_bug_caught, assert_full_marks, grade

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports TensorFlow and trains a model; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.tf]

ASSIGNMENT = "tf_norms"
ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "assignments" / "tf_norms" / "starter" / "normalization.py"
ALTERNATIVES = Path(__file__).resolve().parent / "tf_norms_alternatives"
FILE = "normalization.py"
WITHOUT_TRAINING = "not trains_"
MODEL = "NormalizedCNN"

pytest.importorskip("tensorflow")


def reference_submission_text() -> str:
    """reference/tf_nets/norms.py and cnn.py as the one file a student submits."""
    norms = (ROOT / "reference" / "tf_nets" / "norms.py").read_text()
    cnn = (ROOT / "reference" / "tf_nets" / "cnn.py").read_text()
    cnn = cnn.replace("from __future__ import annotations\n", "")
    cnn = cnn.replace("from reference.tf_nets import norms\n", "")
    return norms + "\n\n" + re.sub(r"\bnorms\.", "", cnn)


def write_submission(text: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="grader-test-tf-norms-"))
    path = folder / FILE
    path.write_text(text)
    return path


def grade_text(text: str, **options):
    path = write_submission(text)
    try:
        return grade(path, ASSIGNMENT, **options)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def with_bug(bug: Bug) -> str:
    text = reference_submission_text()
    assert text.count(bug.old) == 1, f"bug {bug.name!r}: expected the text once, found {text.count(bug.old)}"
    return text.replace(bug.old, bug.new)


BN_BODY = ("    mean, variance = _mean_and_variance(x, _all_axes_but_last(x.shape.rank))\n"
           "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)")

# (bug, check that must lose its points, phrase its message must contain)
BUGS = [
    (Bug("batch norm: eps outside the square root", FILE, BN_BODY,
         "    mean, variance = _mean_and_variance(x, _all_axes_but_last(x.shape.rank))\n"
         "    return gamma * (x - mean) / (tf.sqrt(variance) + eps) + beta", "batch_norm"),
     "batch_norm/out", "outside the square root"),
    (Bug("batch norm: unbiased variance", FILE, BN_BODY,
         "    axes = _all_axes_but_last(x.shape.rank)\n"
         "    mean = tf.reduce_mean(x, axis=axes, keepdims=True)\n"
         "    count = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)\n"
         "    variance = tf.reduce_sum(tf.square(x - mean), axis=axes, keepdims=True) / (count - 1)\n"
         "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)", "batch_norm"),
     "batch_norm/out", "divided by N - 1"),
    (Bug("batch norm: conv maps averaged over the batch axis only", FILE, BN_BODY,
         "    mean, variance = _mean_and_variance(x, [0])\n"
         "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)", "batch_norm"),
     "batch_norm/out", "over the batch axis only"),
    (Bug("batch norm: the library does the work", FILE, BN_BODY,
         "    mean, variance = tf.nn.moments(x, axes=_all_axes_but_last(x.shape.rank))\n"
         "    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, eps)", "batch_norm"),
     "batch_norm/basic_ops", "tf.nn.moments"),
    (Bug("batch norm: statistics cut off the tape (right output, wrong dx)", FILE, BN_BODY,
         "    mean, variance = _mean_and_variance(tf.stop_gradient(x), _all_axes_but_last(x.shape.rank))\n"
         "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)", "batch_norm"),
     "batch_norm/gradients", "your output on this sample is right"),
    (Bug("layer norm over the batch axis", FILE,
         "_mean_and_variance(x, _all_axes_but_first(x.shape.rank))", "_mean_and_variance(x, [0])",
         "layer_norm"),
     "layer_norm/out", "which is batch normalization"),
    (Bug("weight norm without the square root", FILE,
         "length = tf.sqrt(tf.reduce_sum(tf.square(v), axis=axes, keepdims=True))",
         "length = tf.reduce_sum(tf.square(v), axis=axes, keepdims=True)", "weight_norm"),
     "weight_norm/out", "squared norm"),
    (Bug("evaluate runs the model in training mode", FILE,
         "tf.argmax(model(x[start:start + batch_size], training=False), axis=1)",
         "tf.argmax(model(x[start:start + batch_size], training=True), axis=1)", "evaluate"),
     "evaluate/test_mode", "not run the model in test mode"),
    (Bug("model never switched to running statistics at test time", FILE,
         "        if not training:\n            return batch_norm_inference(x, self.gamma, self.beta, "
         "self.moving_mean, self.moving_variance)\n", "", MODEL, ("evaluate",)),
     "NormalizedCNN/test_mode", "batch statistics at test time"),
]


@pytest.fixture(scope="module")
def reference_result():
    return grade_text(reference_submission_text())


def _check(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


def test_reference_gets_full_marks(reference_result):
    assert_full_marks(reference_result)
    assert len(reference_result.checks) == len(assignments.load(ASSIGNMENT).checks)


def test_training_runs_report_the_comparison_table(reference_result):
    last = _check(reference_result, "NormalizedCNN/trains_weight").details
    table = {row["normalization"]: row for row in last["comparison"]}
    assert set(table) == {"none", "batch", "layer", "weight"}
    assert table["none"]["vs_no_normalization"] == 0.0
    for option, row in table.items():
        assert row["test_accuracy"] >= row["threshold"], (option, row)
        assert row["vs_no_normalization"] == pytest.approx(
            row["test_accuracy"] - table["none"]["test_accuracy"], abs=1e-4)


# Bugs that must cost exactly these checks and no other.
ONLY = {"batch norm: the library does the work": {"batch_norm/basic_ops"},
        "batch norm: statistics cut off the tape (right output, wrong dx)": {"batch_norm/gradients"}}


@pytest.mark.parametrize("bug, check_id, phrase", BUGS, ids=[b.name for b, _, _ in BUGS])
def test_bug_is_caught(bug: Bug, check_id: str, phrase: str):
    result = grade_text(with_bug(bug), select=WITHOUT_TRAINING)
    assert_bug_caught(result, bug)
    check = _check(result, check_id)
    assert check.points < check.max_points, f"{check_id} kept its points"
    assert phrase in check.message + "\n" + check.hint, check.message
    if bug.name in ONLY:
        assert {c.id for c in result.checks if c.points < c.max_points} == ONLY[bug.name]


def test_bugs_cover_every_graded_function():
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded == {bug.target for bug, _, _ in BUGS}


@pytest.mark.parametrize("alternative", sorted(p.name for p in ALTERNATIVES.glob("*.py")))
def test_correct_alternative_gets_full_marks(alternative: str):
    text = reference_submission_text() + "\n\n" + (ALTERNATIVES / alternative).read_text()
    result = grade_text(text, select=WITHOUT_TRAINING)
    assert_full_marks(result)
    if alternative == "one_pass_variance.py":  # its layer_norm takes no eps
        assert _check(result, "layer_norm/out").details["skipped_samples"] == ["N=2, D=3, eps=0.1 passed explicitly"]


def _checks_module():
    assignments.load(ASSIGNMENT)  # loads checks.py as the grader does
    import sys
    return sys.modules[f"grader_assignment_checks_{ASSIGNMENT}"]


class _Signatures:
    """Just enough of a Student for the argument adapter: a signature and the conventions."""

    def __init__(self, signature: str):
        self._signature, self.conventions = signature, {"bn_eps": "1e-5"}

    def signature(self, module: str, name: str) -> str:
        return self._signature


@pytest.mark.parametrize("signature, default_sample, eps_sample", [
    ("(x, gamma, beta, eps=0.001)", ([], {}), ([], {"eps": 0.1})),
    ("(x, gamma, beta, epsilon)", ([], {"epsilon": 1e-5}), ([], {"epsilon": 0.1})),
    ("(x, gamma, beta)", ([], {}), None),
    ("(x, gamma, beta, training=True, *, eps=0.001)", ([], {}), ([], {"eps": 0.1})),
    ("(*args, **kwargs)", ([], {}), None),
])
def test_arguments_follow_the_students_signature(signature, default_sample, eps_sample):
    module = _checks_module()
    plain, with_eps = module.bn_samples()[0], module.bn_samples()[4]
    student = _Signatures(signature)
    assert module._extra_arguments(student, "batch_norm", plain) == default_sample
    assert module._extra_arguments(student, "batch_norm", with_eps) == eps_sample


def test_an_extra_required_parameter_is_named():
    module = _checks_module()
    with pytest.raises(module.CheckFailure, match="requires arguments .*training"):
        module._extra_arguments(_Signatures("(x, gamma, beta, eps, training)"), "batch_norm",
                                module.bn_samples()[0])


def test_starter_grades_to_zero_and_says_what_is_missing():
    result = grade(STARTER, ASSIGNMENT)
    assert result.status == "graded", result.message
    assert result.score == 0
    assert len(result.checks) == len(assignments.load(ASSIGNMENT).checks)
    for check in result.checks:
        assert check.status in ("failed", "error"), (check.id, check.status)
        assert "is not implemented yet" in check.message, (check.id, check.message)
        assert "internal grader error" not in check.message, check.id


# ------------------------------------------------------------ the static rule, on snippets

def _uses(source: str, function: str = "batch_norm"):
    return _checks_module().library_normalization_uses(source, function)


HEADER = "import tensorflow as tf\n"


@pytest.mark.parametrize("body, expected", [
    ("def batch_norm(x, g, b):\n    m, v = tf.nn.moments(x, axes=[0])\n    return g * (x - m) + b\n",
     ["tf.nn.moments"]),
    ("from tensorflow.nn import moments as mm\n"
     "def batch_norm(x, g, b):\n    m, v = mm(x, axes=[0])\n    return x\n", ["mm"]),
    ("def _stats(x):\n    return tf.nn.moments(x, [0])\n"
     "def batch_norm(x, g, b):\n    m, v = _stats(x)\n    return x\n", ["tf.nn.moments"]),
    ("BN = tf.keras.layers.BatchNormalization\n"
     "def batch_norm(x, g, b):\n    return BN()(x, training=True)\n", ["tf.keras.layers.BatchNormalization"]),
    ("def batch_norm(x, g, b):\n    return tf.compat.v1.layers.batch_normalization(x)\n",
     ["tf.compat.v1.layers.batch_normalization"]),
])
def test_static_rule_finds_library_normalization(body, expected):
    assert [name for _, name in _uses(HEADER + body)] == expected


@pytest.mark.parametrize("body", [
    # basic ops, tf.norm, a local variable and a helper named "normalized", reduce_variance
    "def _normalize(x):\n    return x / tf.norm(x)\n"
    "def batch_norm(x, g, b):\n    normalized = _normalize(x - tf.reduce_mean(x, 0))\n"
    "    return g * normalized * tf.math.reduce_variance(x) + b\n",
    # the library used elsewhere in the file, for the comparison the assignment asks for
    "def batch_norm(x, g, b):\n    return g * x + b\n"
    "def compare(x):\n    return tf.keras.layers.BatchNormalization()(x) - batch_norm(x, 1, 0)\n",
    # a local variable with the name of a module-level Keras layer
    "bn = tf.keras.layers.BatchNormalization()\n"
    "def batch_norm(x, g, b):\n    bn = tf.reduce_mean(x, 0)\n    return g * (x - bn) + b\n",
])
def test_static_rule_allows_basic_ops(body):
    assert _uses(HEADER + body) == []


def test_static_rule_needs_a_def():
    assert _uses(HEADER + "batch_norm = lambda x, g, b: x\n") is None
