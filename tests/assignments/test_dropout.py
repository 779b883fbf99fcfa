"""The `dropout` checks, proved both ways.

Correct code gets full marks: the reference, alternative implementations
(tests/assignments/dropout_alternatives/: np.random.binomial, a Generator with
a boolean mask), a network that names the keep probability `dropout` as the
course's notebook does, and code written for the older convention where p is
the DROP probability when graded with --convention dropout_p=drop.  Broken
code loses points: each Bug (assignments/dropout/mutants.py, which `grade
selftest` grades too) is one realistic mistake in one graded function, and
must cost points on that function and on nothing unrelated, and says what the
mistake is.  The starter code grades to zero
with a message per check, without crashing.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.scoring import assignment as assignments
from grader.scoring.pipeline import Options, grade_submission

from .conftest import (assert_starter_scores_zero, check_by_id, Bug, apply_bug, assert_bug_caught,
                       assert_edition_graded, assert_full_marks, copy_reference, grade, grade_bug,
                       grade_reference_with, load_mutants, reference_2017)

ASSIGNMENT = "dropout"
ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "assignments" / "dropout" / "starter"
ALTERNATIVES = Path(__file__).resolve().parent / "dropout_alternatives"
NET = "FullyConnectedNet.loss"
FC_NET = "classifiers/fc_net.py"

BUGS = load_mutants(ASSIGNMENT)

# What a student must read for some of the bugs: (check id, text in message or hint).
EXPECTED_MESSAGES = {
    "net regularizes the hidden layers' weights only": ("FullyConnectedNet.loss/dropout_gradients",
                                                        "the L2 penalty leaves out W2"),
    "p used as the drop probability": ("dropout_forward/train_fraction_zeroed",
                                       "probability of DROPPING a unit"),
    "forgot to divide by p (not inverted dropout)": ("dropout_forward/train_kept_values",
                                                     "not divided by the keep probability"),
    "dropout for 2-D x only": ("dropout_forward/train_kept_values", "works for 2-D x only"),
    "mask drawn from randn": ("dropout_forward/train_fraction_zeroed", "np.random.randn"),
    "dropout applied at test time": ("dropout_forward/test_mode_identity",
                                     "dropout is applied at test time"),
    "seed ignored": ("dropout_forward/seed_reproducible", "the seed is ignored"),
    "backward ignores the mask": ("dropout_backward/train_dx", "mask is not applied"),
    "backward draws a new mask": ("dropout_backward/train_dx", "instead of drawing a new one"),
    "backward forgets the 1/p scale": ("dropout_backward/train_dx", "misses the 1 / p scale"),
    "net ends with a ReLU on the scores": ("FullyConnectedNet.loss/test_time_no_dropout",
                                           "a ReLU is applied where none belongs"),
    "net never switches dropout to test mode": ("FullyConnectedNet.loss/test_time_no_dropout",
                                                "dropout_param['mode'] = 'test'"),
    "net never switches back to train mode": ("FullyConnectedNet.loss/train_dropout_applied",
                                              "none of its 300 units was dropped"),
    "net does not pass the seed on": ("FullyConnectedNet.loss/dropout_gradients",
                                      "masks are not fixed by the seed"),
    "net drops only after the first hidden layer": ("FullyConnectedNet.loss/train_dropout_applied",
                                                    "hidden layer 2 output"),
    "net backward skips dropout_backward": ("FullyConnectedNet.loss/dropout_gradients",
                                            "does not match your own loss"),
    "backward scales by p at test time": ("dropout_backward/test_dx",
                                          "off by a constant factor of 0.5"),
    "net calls dropout even when it is off": ("FullyConnectedNet.loss/no_dropout_matches_reference",
                                              "raised KeyError"),
    "net skips dropout when normalization is on": (
        "FullyConnectedNet.loss/dropout_with_normalization", "no unit is dropped"),
    "net backward skips dropout_backward when normalization is on": (
        "FullyConnectedNet.loss/dropout_with_normalization", "does not match your own loss"),
    "net leaves dropout in train mode at test time with batchnorm": (
        "FullyConnectedNet.loss/dropout_with_normalization", "dropout_param['mode'] = 'test'"),
}

# The keep probability named `dropout`, as in the course's notebook (no dropout_keep_ratio).
COURSE_KEYWORD = [
    (FC_NET, "seed: int | None = None, *, dropout_keep_ratio: float | None = None):",
     "seed: int | None = None):"),
    (FC_NET, "keep = _resolve_keep_ratio(dropout, dropout_keep_ratio)", "keep = dropout"),
]
# Older years: FullyConnectedNet(dropout=<drop probability>), 0 meaning no dropout.
DROP_KEYWORD = [
    (FC_NET, "dropout: float = 1,", "dropout: float = 0,"),
    *COURSE_KEYWORD,
    (FC_NET, "self.use_dropout = keep != 1", "self.use_dropout = keep > 0"),
]


def _checks_module():
    path = ROOT / "assignments" / ASSIGNMENT / "checks.py"
    spec = importlib.util.spec_from_file_location("dropout_checks_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _package_with(alternative: str | None, edits=()) -> Path:
    """A copy of the reference with an alternative dropout layer appended and `edits` applied."""
    package = copy_reference()
    if alternative:
        layers = package / "layers.py"
        layers.write_text(layers.read_text() + "\n\n" + (ALTERNATIVES / alternative).read_text())
    for number, (file, old, new) in enumerate(edits):
        apply_bug(package, Bug(f"edit {number}", file, old, new, target=""))
    return package


def test_reference_gets_full_marks(reference_copy):
    result = grade(reference_copy, ASSIGNMENT)
    assert_full_marks(result)
    assert len(result.checks) == len(assignments.load(ASSIGNMENT).checks)
    assert {c.visibility for c in result.checks} == {"visible", "hidden"}


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_bug_is_caught(bug: Bug):
    result = grade_bug(bug, ASSIGNMENT)
    assert_bug_caught(result, bug)
    check_id, text = EXPECTED_MESSAGES[bug.name]
    check = check_by_id(result, check_id)
    assert check.points < check.max_points, f"{check_id} kept its points"
    assert text in check.message + "\n" + check.hint, check.message + "\n" + check.hint


def test_bugs_cover_every_graded_function():
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded == {bug.target for bug in BUGS}


def test_every_bug_has_its_expected_message():
    assert set(EXPECTED_MESSAGES) == {bug.name for bug in BUGS}


def test_a_backward_bug_leaves_the_forward_checks_alone():
    bug = next(b for b in BUGS if b.name == "backward forgets the 1/p scale")
    result = grade_bug(bug, ASSIGNMENT)
    lost = {c.id for c in result.checks if c.points < c.max_points}
    assert lost == {"dropout_backward/train_dx", "dropout_backward/train_dx_hidden",
                    "FullyConnectedNet.loss/dropout_gradients",
                    "FullyConnectedNet.loss/dropout_gradients_hidden",
                    "FullyConnectedNet.loss/dropout_with_normalization"}


@pytest.mark.parametrize("alternative", sorted(p.name for p in ALTERNATIVES.glob("*.py")
                                               if p.name != "drop_convention.py"))
def test_correct_alternative_gets_full_marks(alternative: str):
    package = _package_with(alternative)
    try:
        assert_full_marks(grade(package, ASSIGNMENT))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_network_with_the_course_keyword_gets_full_marks():
    package = _package_with(None, COURSE_KEYWORD)
    try:
        assert_full_marks(grade(package, ASSIGNMENT))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_drop_probability_code_is_graded_by_the_convention():
    package = _package_with("drop_convention.py", DROP_KEYWORD)
    try:
        assert_full_marks(grade_submission(package, assignments.load(ASSIGNMENT,
                                                                     {"dropout_p": "drop"})))
        default = grade(package, ASSIGNMENT)
        lost = {c.function for c in default.checks if c.points < c.max_points}
        assert lost == {"dropout_forward", NET}
        fraction = check_by_id(default, "dropout_forward/train_fraction_zeroed")
        assert "--convention dropout_p=drop" in fraction.hint
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_keep_probability_code_fails_under_the_drop_convention(reference_copy):
    result = grade_submission(reference_copy, assignments.load(ASSIGNMENT, {"dropout_p": "drop"}))
    lost = {c.function for c in result.checks if c.points < c.max_points}
    assert "dropout_forward" in lost
    assert "probability of KEEPING a unit" in check_by_id(
        result, "dropout_forward/train_fraction_zeroed").hint


def test_convention_reaches_the_checks_through_the_cli():
    package = _package_with("drop_convention.py", DROP_KEYWORD)
    try:
        command = [sys.executable, "-m", "grader.cli", "check", str(package), "-a", ASSIGNMENT,
                   "--convention", "dropout_p=drop"]
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "score 20 / 20" in run.stdout, run.stdout
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_starter_grades_to_zero_and_says_what_is_missing():
    result = grade(STARTER, ASSIGNMENT)
    assert_starter_scores_zero(result, "is not implemented yet")


@pytest.mark.parametrize("n, keep", [(250_000, 0.25), (250_000, 0.7), (1800, 0.6), (300, 0.75),
                                     (200, 0.3)])
def test_kept_fraction_bounds_keep_the_stated_false_alarm_rate(n: int, keep: float):
    from scipy.stats import binom
    checks = _checks_module()
    lo, hi = checks.kept_fraction_bounds(n, keep)
    outside = binom.cdf(math.ceil(lo * n) - 1, n, keep) + binom.sf(math.floor(hi * n), n, keep)
    assert outside <= checks.FALSE_ALARM
    sigma = math.sqrt(keep * (1 - keep) / n)
    assert keep - 8 * sigma < lo < keep < hi < keep + 8 * sigma  # tight enough to mean something


# -- hostile: a loss agreeing with its own gradients is not enough (Note [The loss is a softmax
# loss]) -----------------------------------------------------------------------------------------

CONSTANT_LOSS_NET = '''

_Honest = FullyConnectedNet


class FullyConnectedNet(_Honest):
    """A constant loss (log C) with zero gradients: its gradients match its own loss."""

    def loss(self, X, y=None):
        if y is None:
            return _Honest.loss(self, X)
        C = self.params["W%d" % self.num_layers].shape[-1]
        return float(np.log(C)), {k: np.zeros_like(v) for k, v in self.params.items()}
'''


def test_dropout_gradients_are_not_judged_against_a_constant_loss():
    package = copy_reference()
    try:
        fc_net = package / FC_NET
        fc_net.write_text(fc_net.read_text() + CONSTANT_LOSS_NET)
        result = grade(package, ASSIGNMENT, select="dropout_gradients")
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    for check_id in (f"{NET}/dropout_gradients", f"{NET}/dropout_gradients_hidden"):
        check = check_by_id(result, check_id)
        assert check.status == "failed", (check_id, check.message)
        assert "do not belong together" in check.message


# -- Note [Directional error scale] in assignments/dropout/checks.py --------------------------

def test_directional_error_is_measured_against_the_gradients_size():
    checks = _checks_module()
    rng = np.random.default_rng(5)
    gradient = rng.uniform(1e-4, 5e-4, size=8) * rng.choice([-1.0, 1.0], size=8)
    direction = rng.standard_normal(8)
    direction -= (gradient @ direction) / (gradient @ gradient) * gradient  # <g, v> = 0 ...
    direction += 3e-7 * gradient / (gradient @ gradient)                    # ... then 3e-7
    projection = float(gradient @ direction)
    rounding = 1.7e-11  # the central difference's rounding seen on a correct solution
    assert abs(projection - 3e-7) < 1e-15
    # the old measure failed it; this one passes it with room to spare
    assert rounding / (2 * projection) > checks.DIRECTIONAL_TOLERANCE
    assert checks.directional_error(projection + rounding, projection, gradient) < 1e-7
    # wrong gradients along that same direction: one entry's sign flipped, one entry zero
    for entry in range(8):
        for wrong in (gradient * np.where(np.arange(8) == entry, -1.0, 1.0),
                      gradient * (np.arange(8) != entry)):
            assert checks.directional_error(projection, float(wrong @ direction), wrong) > 1e-3
    # a gradient 1 % too large, along the directions of 200 draws
    for seed in range(200):
        v = np.random.default_rng(seed).standard_normal(8)
        wrong = 1.01 * gradient
        assert checks.directional_error(gradient @ v, wrong @ v, wrong) > checks.DIRECTIONAL_TOLERANCE
    # a gradient of zeros, an inflated one, and one that is not a number all fail
    assert checks.directional_error(projection, 0.0, np.zeros(8)) > 0.1  # the 1e-6 floor: 0.3
    assert checks.directional_error(0.5, 0.0, np.zeros(8)) == 1.0
    assert checks.directional_error(projection, 1e6 * projection, 1e6 * gradient) > 1e-4
    nan = np.full(8, np.nan)
    assert not checks.directional_error(projection, float(np.sum(nan)), nan) <= 1.0


def test_the_solution_passes_under_the_secret_whose_direction_nearly_cancelled():
    # grads['beta1'] @ v was 3.1e-7 for |grads['beta1']| of about 8e-4 under this secret:
    # the solution lost 2 points before Note [Directional error scale]
    from grader.checks.questions import Questions
    asked = Questions("ec54cabe7a06437160ddeeb0", "course")
    package = copy_reference()
    try:
        result = grade_submission(package, assignments.load(ASSIGNMENT, None, asked),
                                  Options(select="dropout_with_normalization"))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    check = check_by_id(result, f"{NET}/dropout_with_normalization")
    assert check.status == "passed", check.message


# -- Note [One run of each large sample] in assignments/dropout/checks.py ---------------------

class _CountingStudent:
    """Stands in for a submission's worker: dropout_forward is `forward`, run here (trusted
    test code), and every call is counted."""

    def __init__(self, forward) -> None:
        self.forward, self.calls, self.shared, self.conventions = forward, 0, {}, {}

    def call(self, module: str, name: str, x, dropout_param, value_items=None):
        from grader.worker.client import CallResult, Ref
        self.calls += 1
        value = self.forward(x, dropout_param)
        if value_items is not None and type(value) in (tuple, list):  # as the worker sends it
            value = type(value)(v if i in value_items else None for i, v in enumerate(value))
        return CallResult(value, Ref(self.calls), 0.0)


def _inverted(x, param, scale=True):
    rng = np.random.RandomState(param.get("seed"))
    mask = rng.rand(*x.shape) < param["p"]
    out = x * mask / (param["p"] if scale else 1.0)
    return out, (param, mask)


def test_the_fraction_and_mean_checks_share_one_run_of_each_large_sample():
    checks = _checks_module()
    fraction, mean = (check_by_id_in(checks.CHECKS, f"dropout_forward/{name}")
                      for name in ("train_fraction_zeroed", "train_mean_preserved"))
    student = _CountingStudent(_inverted)
    fraction.run(student)
    assert student.calls == len(checks.LARGE_CASES)
    mean.run(student)
    assert student.calls == len(checks.LARGE_CASES)  # the mean check read the same outputs


def test_a_shared_run_still_fails_the_mean_check_of_a_forward_that_does_not_scale():
    checks = _checks_module()
    fraction, mean = (check_by_id_in(checks.CHECKS, f"dropout_forward/{name}")
                      for name in ("train_fraction_zeroed", "train_mean_preserved"))
    student = _CountingStudent(lambda x, param: _inverted(x, param, scale=False))
    fraction.run(student)  # the zeroed fraction is right: only the scale is missing
    with pytest.raises(checks.CheckFailure, match="mean of the train-time output"):
        mean.run(student)
    assert student.calls == len(checks.LARGE_CASES)


def check_by_id_in(registry, check_id: str):
    return next(check for check in registry if check.id == check_id)


def test_a_2017_edition_package_is_graded_on_what_its_edition_assigns():
    """cs231n before 2018 had no layer normalization: under `edition=cs231n_2017` its package
    gets full marks out of 18; graded as the default edition it loses dropout with layer norm,
    naming the setting (Note [Assigned parts] in grader/scoring/assignment.py)."""
    with reference_2017() as package:
        assert_edition_graded(package, ASSIGNMENT, "edition", "cs231n_2017",
                              {"FullyConnectedNet.loss/dropout_with_normalization"}, 18)


# -- imports: what the course's environment has costs nothing; what it lacks gets a hint --------
# (Note [What student code may import] in pyproject.toml, Note [Imports the grading environment
# lacks] in grader/checks/hints.py)

def test_imports_the_courses_environment_has_cost_nothing() -> None:
    # a debugging plot's import and the 2017 starter code's xrange, at the end of layers.py
    result = grade_reference_with("layers.py", "\nimport matplotlib.pyplot as plt\n"
                                  "from past.builtins import xrange\n", "dropout",
                                  select="dropout_forward")
    assert result.max_score > 0
    assert_full_marks(result)


@pytest.mark.parametrize("line, says", [
    ("from IPython.utils.sysinfo import num_cpus_gone",
     "The grading environment's `IPython.utils.sysinfo` has no `num_cpus_gone`"),
    ("import no_such_package_anywhere", "`no_such_package_anywhere` cannot be imported where "
                                        "your code runs"),
    ("from cs231n.layer_utils import no_such_sandwich", None),  # the student's own module
])
def test_an_import_the_environment_lacks_fails_the_file_with_a_hint(line, says) -> None:
    result = grade_reference_with("layers.py", f"\n{line}\n", "dropout", select="dropout_forward")
    assert result.checks and all(c.status == "error" and c.points == 0 for c in result.checks)
    for check in result.checks:
        assert "could not be imported" in check.message
        if says is None:
            assert "grade env create" not in check.hint
        else:
            assert check.hint.startswith(says) and "--worker-python" in check.hint


def test_a_network_without_layer_norm_is_told_which_normalization_it_was_built_with():
    """dropout_with_normalization on a FullyConnectedNet that makes gamma/beta for batch norm
    only: the failure names the normalization the grader asked for; the reference passes."""
    package = _package_with(None, [(FC_NET, "if self.normalization is not None and i < self.num_layers:",
                                    'if self.normalization == "batchnorm" and i < self.num_layers:')])
    check = check_by_id(grade(package, ASSIGNMENT), "FullyConnectedNet.loss/dropout_with_normalization")
    assert check.points < check.max_points
    assert "has no 'gamma1'" in check.message
    assert "(the network was built with normalization='layernorm')" in check.message, check.message


def test_a_mask_drawn_for_two_axes_is_named_on_other_shapes():
    """Note [Dropout written for 2-D x]: np.random.rand(x.shape[0], x.shape[1]) times a 4-D x
    raises a broadcast error, named; the same error on a 2-D x, or another error, is not."""
    from grader.worker.client import StudentError
    checks = _checks_module()
    broadcast = StudentError(type="ValueError", message="operands could not be broadcast "
                             "together with shapes (1,3,20,30) (1,3) ")
    assert "2-D x only" in checks.two_d_only(np.ones((1, 3, 20, 30)), broadcast)
    assert "(1, 3, 20, 30)" in checks.two_d_only(np.ones((1, 3, 20, 30)), broadcast)
    assert checks.two_d_only(np.ones((4, 5)), broadcast) == ""
    other = StudentError(type="KeyError", message="'seed'")
    assert checks.two_d_only(np.ones((4, 5, 6)), other) == ""


# The test-mode line of a real 2020 hand-in (our own mutant of the reference): two slips.
BN_TEST_SLIPPED = "out = gamma * (x - running_mean) / (np.sqrt(running_var) + eps) - beta"
BN_TEST_LINE = "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta"
RUNNING_VAR_LINE = 'bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var'


@pytest.mark.parametrize("old, new, says", [
    (BN_TEST_LINE, BN_TEST_SLIPPED,
     "beta is subtracted (gamma * x_hat - beta) and eps is added outside the square root"),
    (BN_TEST_LINE, "out = gamma * (x - running_mean) / np.sqrt(running_var + eps) - beta",
     "batchnorm's test mode is wrong: beta is subtracted (gamma * x_hat - beta); it must be"),
    (BN_TEST_LINE, "out = gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta",
     "batchnorm's test mode is wrong: eps is added outside the square root (sqrt(running_var) "
     "+ eps); it must be"),
    (RUNNING_VAR_LINE,
     'bn_param["running_var"] = momentum * running_var + (1 - momentum) * (batch_var + eps)',
     "running_var averages var + eps during training"),
], ids=["beta subtracted, eps outside", "beta subtracted", "eps outside the root at test",
        "eps in the running variance"])
def test_a_wrong_batchnorm_test_mode_is_named_in_the_dropout_network(old, new, says):
    """Note [A wrong batchnorm test mode under dropout]: a network whose dropout switch is
    right but whose batchnorm_forward has a test-time slip still fails the check, with a
    message naming batchnorm's layer instead of asking whether dropout runs at test time."""
    package = _package_with(None, [("layers.py", old, new)])
    try:
        result = grade(package, ASSIGNMENT, select="dropout_with_normalization")
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    check = check_by_id(result, f"{NET}/dropout_with_normalization")
    assert check.points == 0 < check.max_points
    assert says in check.message, check.message
    assert "the network's dropout at test time is right" in check.message
    # Note [A named cause replaces a hint that points elsewhere]: nor does the hint ask
    assert "is dropout applied at test time" not in check.hint, check.hint
    assert "batchnorm's test mode is not" in check.hint, check.hint


def test_a_penalty_without_the_last_layer_is_named_without_dropout():
    """Note [Which penalty the loss holds, without dropout]: with keep probability 1 the loss
    differs by the last layer's penalty only, and the message names it."""
    bug = next(b for b in BUGS if b.name == "net regularizes the hidden layers' weights only")
    check = check_by_id(grade_bug(bug, ASSIGNMENT), f"{NET}/no_dropout_matches_reference")
    assert check.points < check.max_points
    assert "the L2 penalty leaves out W2" in check.message, check.message
