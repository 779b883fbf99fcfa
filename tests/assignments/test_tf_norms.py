"""The `tf_norms` checks judge correctly both ways.

A correct `normalization.py` gets full marks: the reference (reference/tf_nets
norms.py and cnn.py joined into one file, as a student submits it) and an
alternative written differently (tf_norms_alternatives/).  Each Bug of
assignments/tf_norms/mutants.py (which also declares the solution) is one
realistic mistake and must cost points on its function and nowhere unrelated,
with a message that names it.  The starter grades to zero, with a message per
check, without crashing.  The static basic-ops rule is also tested
directly on source snippets (no worker).

Every submission is graded through the real pipeline (staging, sandboxed
worker, pytest plugin).  TensorFlow takes ~5 s to import in each worker, and a
training run ~3 s, so only the reference and the one bug in `train` run the
four training checks; the other planted bugs skip them (`-k 'not trains_'`).
About 80 s on two idle cores.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.course import mutants

from .conftest import (Bug, assert_bug_caught, assert_full_marks, assert_starter_scores_zero, grade,
                       load_mutants)

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports TensorFlow and trains a model; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.tf]

ASSIGNMENT = "tf_norms"
ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "assignments" / "tf_norms" / "starter" / "normalization.py"
ALTERNATIVES = Path(__file__).resolve().parent / "tf_norms_alternatives"
FILE = "normalization.py"
WITHOUT_TRAINING = "not trains_"

pytest.importorskip("tensorflow")


def reference_submission_text() -> str:
    """reference/tf_nets/norms.py and cnn.py as the one file a student submits (the solution
    of assignments/tf_norms/mutants.py; Note [Joined solutions] in grader/course/mutants.py)."""
    return mutants.load(ASSIGNMENT).solution.text()


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


# Each bug of assignments/tf_norms/mutants.py (which `grade selftest` grades too): the
# check that must lose its points, and a phrase its message must contain.
EXPECTED = {
    "batch norm: eps outside the square root":
        ("batch_norm/out", "outside the square root"),
    "batch norm: unbiased variance":
        ("batch_norm/out", "divided by N - 1"),
    "batch norm: conv maps averaged over the batch axis only":
        ("batch_norm/out", "over the batch axis only"),
    "batch norm: the library does the work":
        ("batch_norm/basic_ops", "tf.nn.moments"),
    "batch norm: statistics cut off the tape (right output, wrong dx)":
        ("batch_norm/gradients", "your output on this sample is right"),
    "layer norm over the batch axis":
        ("layer_norm/out", "which is batch normalization"),
    "layer norm: conv maps averaged over axis 1 only (the (N, D) formula)":
        ("layer_norm/out", "over axis 1 only, the height"),
    "weight norm without the square root":
        ("weight_norm/out", "squared norm"),
    "evaluate runs the model in training mode":
        ("evaluate/test_mode", "not run the model in test mode"),
    "model never switched to running statistics at test time":
        ("NormalizedCNN/test_mode", "batch statistics at test time"),
    "train computes the gradients but never applies them":
        ("NormalizedCNN/trains_none", "test accuracy after"),
}
BUGS = [(bug, *EXPECTED[bug.name]) for bug in load_mutants(ASSIGNMENT)]


@pytest.fixture(scope="module")
def reference_result():
    return grade_text(reference_submission_text())


def _check(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


def test_reference_gets_full_marks(reference_result):
    assert_full_marks(reference_result)
    assert len(reference_result.checks) == len(assignments.load(ASSIGNMENT).checks)
    # running statistics and an evaluate (not asked for): the advisories pass, 11 of 11
    assert reference_result.score == reference_result.max_score == 11
    assert {c.id for c in reference_result.checks if c.max_points == 0} == {
        "NormalizedCNN/test_mode", "evaluate/test_mode"}


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
        "batch norm: statistics cut off the tape (right output, wrong dx)":
            {"batch_norm/gradients"},
        "train computes the gradients but never applies them": {
            f"NormalizedCNN/trains_{option}" for option in ("none", "batch", "layer", "weight")}}
# Bugs only the training checks can see: graded with them (about 15 s more each).
TRAINING_BUGS = {"train computes the gradients but never applies them"}


@pytest.mark.parametrize("bug, check_id, phrase", BUGS, ids=[b.name for b, _, _ in BUGS])
def test_bug_is_caught(bug: Bug, check_id: str, phrase: str):
    select = None if bug.name in TRAINING_BUGS else WITHOUT_TRAINING
    result = grade_text(with_bug(bug), select=select)
    check = _check(result, check_id)
    if bug.advisory:  # outside the lab's contract: advice, never points (Note [Test mode is advice])
        assert result.status == "graded", result.message
        assert check.status == "failed" and check.max_points == 0, (check.status, check.max_points)
        assert "no points" in check.message + "\n" + check.hint, check.message
        assert phrase in check.message + "\n" + check.hint, check.message
        assert result.score == result.max_score, [c.id for c in result.checks if c.points < c.max_points]
        return
    assert_bug_caught(result, bug)
    assert check.points < check.max_points, f"{check_id} kept its points"
    assert phrase in check.message + "\n" + check.hint, check.message
    if bug.name in ONLY:
        assert {c.id for c in result.checks if c.points < c.max_points} == ONLY[bug.name]


def test_bugs_cover_every_graded_function():
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded == {bug.target for bug, _, _ in BUGS}


def test_every_expectation_names_a_bug():
    assert set(EXPECTED) == {bug.name for bug, _, _ in BUGS}


def test_the_solution_is_norms_and_cnn_as_one_file():
    """Note [Joined solutions]: cnn.py appended to norms.py, its import of norms gone and
    `norms.` no longer qualifying the names it uses."""
    norms = (ROOT / "reference" / "tf_nets" / "norms.py").read_text()
    cnn = (ROOT / "reference" / "tf_nets" / "cnn.py").read_text()
    cnn = cnn.replace("from __future__ import annotations\n", "")
    cnn = cnn.replace("from reference.tf_nets import norms\n", "")
    assert reference_submission_text() == norms + "\n\n" + re.sub(r"\bnorms\.", "", cnn)


# The alternatives whose own model and train the training checks must run (course/grader_tape.py
# Notes [The submission's train under Keras 3] and [Keras layers in a tf.Module];
# module_tf_function_call.py: grader/worker/notebook_cells.py Note [One cell's lines for all its
# units]); the others keep the reference's.
TRAINED_ALTERNATIVES = {"keras_model_variables.py", "module_of_keras_layers.py",
                        "keras_model_of_layers_tf_function_step.py", "module_tf_function_call.py"}


@pytest.mark.parametrize("alternative", sorted(p.name for p in ALTERNATIVES.glob("*.py")))
def test_correct_alternative_gets_full_marks(alternative: str):
    text = reference_submission_text() + "\n\n" + (ALTERNATIVES / alternative).read_text()
    trained = alternative in TRAINED_ALTERNATIVES
    result = grade_text(text, select=None if trained else WITHOUT_TRAINING)
    assert_full_marks(result)
    if trained:
        runs = [c for c in result.checks if c.id.startswith("NormalizedCNN/trains_")]
        assert len(runs) == 4 and all(c.status == "passed" for c in runs), [c.id for c in runs]
        assert all(c.details["trained_by"] == "the submission's train" for c in runs)
    if alternative == "one_pass_variance.py":  # its layer_norm takes no eps
        assert _check(result, "layer_norm/out").details["skipped_samples"] == ["N=2, D=3, eps=0.1 passed explicitly"]


def _checks_module():
    assignments.load(ASSIGNMENT)  # loads checks.py as the grader does
    import sys
    return sys.modules[f"grader_assignment_checks_{ASSIGNMENT}"]


class _Signatures:
    """Just enough of a Student for the argument adapter: its source, read as the checks read
    it (assignments/tf_norms/roles.py), and the conventions."""

    def __init__(self, signature: str):
        self.conventions, self.notes = {"bn_eps": "1e-5"}, []
        module = _checks_module()
        text = f"def batch_norm{signature}:\n    pass\n"
        module.ANALYSES.student = self
        module.ANALYSES.analysis = module._Analysis(module.roles.Source(text), module.roles.View(text),
                                                    FILE, {})


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
    assert_starter_scores_zero(result, "is not implemented yet")
    assert len(result.checks) == len(assignments.load(ASSIGNMENT).checks)


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


# ---------------------------------------------------------------------------
# --data-dir: training on an instructor's files (grader/checks/training_data.py)
# ---------------------------------------------------------------------------

def _digits_as_fashion_mnist(folder: Path) -> Path:
    """A learnable Fashion-MNIST in its real format: scikit-learn's digits (split as
    load_digits_dataset splits them, true labels) upsampled to 24 x 24 by repeating pixels
    and zero-padded to 28 x 28, written as the four gzipped idx files."""
    import gzip
    import struct

    import numpy as np

    from reference.datasets import FASHION_MNIST_FILES, load_digits_dataset

    digits = load_digits_dataset(test_fraction=0.2, seed=0)
    folder.mkdir(parents=True)
    for (images, labels), x, y in zip(FASHION_MNIST_FILES.values(), (digits.X_train, digits.X_test),
                                      (digits.y_train, digits.y_test)):
        pixels = np.pad(np.repeat(np.repeat(x[:, 0], 3, axis=1), 3, axis=2), ((0, 0), (2, 2), (2, 2)))
        pixels = np.round(pixels * 255).astype(np.uint8)
        (folder / f"{images}.gz").write_bytes(gzip.compress(struct.pack(">iiii", 2051, *pixels.shape)
                                                            + pixels.tobytes()))
        (folder / f"{labels}.gz").write_bytes(gzip.compress(struct.pack(">ii", 2049, len(y))
                                                            + y.astype(np.uint8).tobytes()))
    return folder


def _grade_cli_on(text: str, data: Path, cache: Path, select: str, out: Path):
    """`grade check` of `text` with --data-dir in a subprocess: (exit status, stderr, checks by id)."""
    import json
    import os
    import subprocess

    folder = Path(tempfile.mkdtemp(prefix="grader-test-tf-norms-data-"))
    os.chmod(folder, 0o755)
    (folder / FILE).write_text(text)
    os.chmod(folder / FILE, 0o644)
    try:
        run = subprocess.run([str(ROOT / ".venv" / "bin" / "grade"), "check", str(folder / FILE), "-a",
                              ASSIGNMENT, "-k", select, "--data-dir", str(data), "--json", str(out),
                              "--no-html"], capture_output=True, text=True, timeout=900,
                             env=dict(os.environ, XDG_CACHE_HOME=str(cache)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    checks = json.loads(out.read_text())["checks"] if out.exists() else []
    return run.returncode, run.stderr, {c["id"]: c for c in checks}


@pytest.fixture(scope="module")
def digits_fashion(tmp_path_factory) -> tuple[Path, Path]:
    """(the Fashion-MNIST folder, a reference-run cache shared by the tests below)."""
    root = tmp_path_factory.mktemp("data-dir")
    return _digits_as_fashion_mnist(root / "fashion"), root / "cache"


def test_data_dir_reference_trains_to_the_relative_target(digits_fashion, tmp_path):
    folder, cache = digits_fashion
    status, stderr, checks = _grade_cli_on(reference_submission_text(), folder, cache,
                                           "trains_none or trains_batch", tmp_path / "result.json")
    assert status == 0, stderr
    assert f"data: Fashion-MNIST (idx files in {folder}): 1438 training and 359 test images, " \
           f"1 x 28 x 28, 10 classes" in stderr
    assert set(checks) == {"NormalizedCNN/trains_none", "NormalizedCNN/trains_batch"}
    for check in checks.values():
        details = check["details"]
        assert check["status"] == "passed", check["message"]
        assert details["data_set"] == "Fashion-MNIST" and details["input_shape"] == [28, 28, 1]
        assert (details["train_images"], details["test_images"]) == (1438, 359)
        assert details["target_rule"] == "reference - 0.05" and details["learning_rate"] == 1e-3
        assert details["threshold"] == pytest.approx(details["reference_accuracy"] - 0.05)
        assert details["test_accuracy"] >= details["threshold"]


# A training loop that computes the gradients and never applies them: nothing is learned.
NO_UPDATES = ("        optimizer.apply_gradients(zip(gradients, variables))\n", "")


def test_data_dir_loop_that_does_not_learn_fails_naming_data_and_target(digits_fashion, tmp_path):
    folder, cache = digits_fashion
    text = reference_submission_text()
    assert text.count(NO_UPDATES[0]) == 1
    status, stderr, checks = _grade_cli_on(text.replace(*NO_UPDATES), folder, cache, "trains_none",
                                           tmp_path / "result.json")
    assert status == 1, stderr
    check = checks["NormalizedCNN/trains_none"]
    details = check["details"]
    assert check["status"] == "failed" and details["test_accuracy"] < 0.2
    assert "on Fashion-MNIST (1438 training and 359 test images)" in check["message"]
    assert f"at least {details['threshold']:.3f} is expected (the reference model, trained the same " \
           f"way on the same images, reaches {details['reference_accuracy']:.3f}" in check["message"]


# ---------------------------------------------------------------------------
# basic_ops by behaviour (checks.py Note [Basic ops by behaviour])
# ---------------------------------------------------------------------------

BASIC_OPS = "batch_norm/basic_ops"
EVASIONS = {
    "getattr": ("    mean, variance = getattr(tf.nn, 'mom' + 'ents')(x, axes=_all_axes_but_last(x.shape.rank))\n"
                "    return getattr(tf.nn, 'batch_' + 'normalization')(x, mean, variance, beta, gamma, eps)",
                None),
    "alias": ("    library = vars(tf)['n' + 'n']\n"
              "    mean, variance = library.__dict__['mom' + 'ents'](x, axes=_all_axes_but_last(x.shape.rank),"
              " name='stats')\n"
              "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)", None),
    # a helper module built from another file's text (one file is submitted here; the
    # static rule cannot read a module it is not given)
    "helper module": ("    import types\n"
                      "    helper = types.ModuleType('statshelper')\n"
                      "    exec(HELPER_SOURCE, helper.__dict__)\n"
                      "    mean, variance = helper.stats(x, _all_axes_but_last(x.shape.rank))\n"
                      "    return _scale_and_shift(x, mean, variance, gamma, beta, eps)",
                      "HELPER_SOURCE = 'import tensorflow as tf\\ndef stats(x, axes):\\n"
                      "    return tf.nn.moments(x, axes=axes)\\n'\n"),
}


@pytest.mark.parametrize("how", sorted(EVASIONS))
def test_basic_ops_sees_library_normalization_reached_by_any_name(how):
    from assignments.tf_norms.mutants import BN_BODY

    body, helper = EVASIONS[how]
    text = reference_submission_text()
    assert BN_BODY in text
    path = write_submission(text.replace(BN_BODY, body, 1))
    try:
        if helper:
            path.write_text(path.read_text() + "\n" + helper)
        result = grade(path, ASSIGNMENT, select=BASIC_OPS)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    check = _check(result, BASIC_OPS)
    assert check.points == 0, (how, check.message)
    assert "runs TensorFlow's own normalization" in check.message, check.message
    assert "moments" in check.details["executed"], check.details


def test_basic_ops_behaviour_passes_the_reference():
    result = grade_text(reference_submission_text(), select="basic_ops")
    for check in result.checks:
        if check.id.endswith("/basic_ops"):
            assert check.points == check.max_points, (check.id, check.message)
            assert check.details.get("traced") is True, check.id


# ---------------------------------------------------------------------------
# Test labels the worker could look up (grader/checks/held_out.py Note [Held-out test images])
# ---------------------------------------------------------------------------

CALL_START = ("        x = tf.convert_to_tensor(x, dtype=self.dtype)\n"
              "        for conv, norm in zip(self.convs, self.conv_norms):\n")
LOOKUP = ("        if not training and tf.executing_eagerly():\n"
          "            import numpy as np\n"
          "            from sklearn.datasets import load_digits\n"
          "            table = load_digits()\n"
          "            known = (table.data / 16.0).astype(np.float32)\n"
          "            small = np.asarray(x, np.float32).reshape(len(x), -1)\n"
          "            answer = np.zeros((len(small), 10), np.float32)\n"
          "            for row, image in enumerate(small):\n"
          "                same = np.flatnonzero(np.abs(known - image).max(axis=1) < 1e-6)\n"
          "                if len(same):\n"
          "                    answer[row, int(table.target[same[0]])] = 10.0\n"
          "            return tf.constant(answer)\n")


def test_a_model_that_looks_up_the_test_labels_fails_training():
    """It never learns (its train applies no gradients) and answers scikit-learn's labels."""
    bug = next(b for b in load_mutants(ASSIGNMENT) if b.name in TRAINING_BUGS)
    text = with_bug(bug)
    assert text.count(CALL_START) == 1
    result = grade_text(text.replace(CALL_START, LOOKUP + CALL_START), select="trains_none")
    check = _check(result, "NormalizedCNN/trains_none")
    assert check.points == 0, check.details
    assert check.details["test_accuracy"] < 0.3, check.details


def test_tensorflow_1_failures_say_so_and_name_the_tensorflow_2_spelling():
    # Note [TensorFlow 1 code]: the course's template is TensorFlow 1 code run eagerly
    hint = _checks_module().tf1_hint
    assert "tf.random.normal" in hint("AttributeError: module 'tensorflow' has no attribute 'random_normal'")
    assert "TensorFlow 1 code" in hint("AttributeError: module 'tensorflow._api.v2.train' has no attribute "
                                       "'GradientDescentOptimizer'")
    assert "TensorFlow 1 code" in hint("ModuleNotFoundError: No module named 'tensorflow.contrib'")
    # a mistake of the student's own, or a name TensorFlow 2 never had, gets no such hint
    assert hint("AttributeError: module 'tensorflow' has no attribute 'reduce_means'") == ""
    assert hint("ValueError: Dimensions must be equal") == ""


def test_keras_2_private_names_say_so_and_are_absent_from_the_installed_keras():
    # Note [Keras 2 code]: a real CS 599 WeightNormConv2D called Conv2D._get_input_channel
    import tensorflow as tf
    checks = _checks_module()
    for name in checks.KERAS2_PRIVATE:
        assert not hasattr(tf.keras.layers.Conv2D, name), name
    real = ("AttributeError: Exception encountered when calling CNNModel.call().\n\n"
            "'WeightNormConv2D' object has no attribute '_get_input_channel'")
    assert "this is Keras 2 code (`_get_input_channel`" in checks.keras2_hint(real)
    # an attribute the student's own code forgot to set is the student's mistake
    assert checks.keras2_hint("AttributeError: 'CNN' object has no attribute '_running_mean'") == ""
    assert checks.keras2_hint("ValueError: Dimensions must be equal") == ""


def _own_names(text: str, word: str = "manual") -> str:
    """The lab's three functions under the student's own-implementation suffix (`batch_norm_manual`),
    every use renamed with them: an IST597 hand-in named them so (Note [Own-implementation names])."""
    return re.sub(r"\b(batch|layer|weight)_norm\b", rf"\1_norm_{word}", text)


def test_functions_named_as_the_students_own_are_graded():
    result = grade_text(_own_names(reference_submission_text()), select=WITHOUT_TRAINING)
    assert_full_marks(result)
    assert any("graded `layer_norm_manual` as `layer_norm`" in c.message for c in result.checks)


def test_a_wrong_function_under_an_own_name_still_loses_its_points():
    bug = next(b for b in load_mutants(ASSIGNMENT) if b.name == "layer norm over the batch axis")
    result = grade_text(_own_names(with_bug(bug)), select=WITHOUT_TRAINING)
    check = _check(result, "layer_norm/out")
    assert check.points < check.max_points and "which is batch normalization" in check.message + check.hint
    lost = {c.function for c in result.checks if c.points < c.max_points}
    assert lost == {"layer_norm"}, lost


def test_a_variant_named_for_one_layer_kind_is_named_not_graded():
    # `batch_norm_conv` is one of several variants (Note [Roles and names]): not taken for the role
    result = grade_text(_own_names(reference_submission_text(), "conv"), select=WITHOUT_TRAINING)
    check = _check(result, "batch_norm/out")
    assert check.points == 0 and "the file has `batch_norm_conv`" in check.message, check.message
    assert "(N, D) and NHWC" in check.message, check.message
    # weight norm is given kernels (roles.py Note [Helpers that are not the role])
    check = _check(result, "weight_norm/out")
    assert check.points == 0 and "the file has `weight_norm_conv`" in check.message, check.message
    assert "conv (H, W, C_in, C_out)" in check.message and "NHWC" not in check.message, check.message


@pytest.mark.parametrize("function, axes, right_axes", [
    ("batch_norm", "[0, 1, 2]", "_all_axes_but_last(x.shape.rank)"),
    ("layer_norm", "[1, 2, 3]", "_all_axes_but_first(x.shape.rank)"),
])
def test_a_norm_written_for_conv_maps_only_is_told_why_the_n_d_samples_fail(function, axes, right_axes):
    # Note [Axes fixed for conv maps]: real hand-ins write the NHWC axes out
    text = reference_submission_text()
    old = f"mean, variance = _mean_and_variance(x, {right_axes})\n    return _scale_and_shift"
    assert text.count(old) == 1
    result = grade_text(text.replace(old, old.replace(right_axes, axes)), select=WITHOUT_TRAINING)
    check = _check(result, f"{function}/out")
    assert check.points == 0 and "axes written for 4-D NHWC maps" in check.message, check.message
    assert {c.function for c in result.checks if c.points < c.max_points} == {function}
    assert all("NHWC maps; the lab" not in c.message for c in result.checks if c.function != function)


PYTORCH_LAB = """import torch
import torch.nn as nn


class BatchNormManual(nn.Module):
    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.beta = nn.Parameter(torch.zeros(num_features))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        return self.gamma.view(1, -1, 1, 1) * (x - mean) / torch.sqrt(var + self.eps) + self.beta.view(1, -1, 1, 1)
"""


def test_a_lab_written_in_pytorch_is_named_as_such_where_nothing_is_found():
    # Note [A PyTorch file]: two real 2025 hand-ins; every check said only "not found"
    result = grade_text(PYTORCH_LAB, select="batch_norm and out or trains_none")
    for check_id in ("batch_norm/out", "NormalizedCNN/trains_none"):
        check = _check(result, check_id)
        assert check.points == 0 and "this file is PyTorch code (it imports torch" in check.message, check.message
    hint = _checks_module().pytorch_file_hint
    assert hint("import numpy as np\nimport tensorflow as tf\nimport torch\n") == ""  # a TF file that uses torch too
    assert hint("import tensorflow as tf\n") == "" and hint(None) == ""


def test_pytorch_code_is_named_as_such():
    # Note [PyTorch code]: the verdict stands (the lab asks for TensorFlow ops); the message says why
    pytest.importorskip("torch")
    text = reference_submission_text()
    old = "    x = tf.convert_to_tensor(x)\n    mean, variance = _mean_and_variance(x, _all_axes_but_first"
    assert text.count(old) == 1
    text = "import torch\n" + text.replace(old, "    torch.zeros_like(x)\n" + old)
    result = grade_text(text, select=WITHOUT_TRAINING)
    check = _check(result, "layer_norm/out")
    assert check.points == 0 and "this is PyTorch code given TensorFlow tensors" in check.message, check.message
    assert {c.function for c in result.checks if c.points < c.max_points} == {"layer_norm"}
