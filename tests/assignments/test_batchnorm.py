"""The `batchnorm` checks, proved both ways.

Correct code gets full marks: the reference, three alternative implementations
(tests/assignments/batchnorm_alternatives/), a zip of the reference under
another package name, and a course year whose bn_param defaults differ when
the conventions say so.  Broken code loses points: each Bug
(assignments/batchnorm/mutants.py, which `grade selftest` grades too) is one
realistic mistake in one graded function, and must cost points on that
function and on nothing unrelated; several must also say what the mistake is.
The starter code grades to zero with a message per check, without crashing.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.scoring.pipeline import grade_submission

from .conftest import (assert_starter_scores_zero, check_by_id, Bug, apply_bug, assert_bug_caught,
                       assert_edition_graded, assert_full_marks, copy_reference, grade, grade_bug,
                       load_mutants, reference_2017)

ASSIGNMENT = "batchnorm"
STARTER = Path(__file__).resolve().parents[2] / "assignments" / "batchnorm" / "starter"
ALTERNATIVES = Path(__file__).resolve().parent / "batchnorm_alternatives"
NET = "FullyConnectedNet.loss"

BUGS = load_mutants(ASSIGNMENT)

# What a student must read for some of the bugs: (check id, text in message or hint).
EXPECTED_MESSAGES = {
    "unbiased batch variance": ("batchnorm_forward/train_out", "divided by N - 1"),
    "eps outside the square root": ("batchnorm_forward/train_out", "outside the square root"),
    "batch statistics at test time": ("batchnorm_forward/test_mode", "batch's own mean and variance"),
    "sqrt(eps) added to the standard deviation": ("batchnorm_forward/train_out",
                                                  "sqrt(var) + sqrt(eps)"),
    "eps missing at test time": ("FullyConnectedNet/batchnorm_test_scores",
                                 "eps is missing from batchnorm's test mode"),
    "eps outside the square root at test time": ("FullyConnectedNet/batchnorm_test_scores",
                                                 "eps is added outside the square root in "
                                                 "batchnorm's test mode"),
    "beta subtracted and eps outside the square root at test time": (
        "batchnorm_forward/test_mode", "beta is subtracted: out = gamma * x_hat + beta, not gamma "
        "* x_hat - beta; and eps is added outside the square root"),
    "running averages updated at test time": ("batchnorm_forward/test_mode",
                                              "updated with the test batch in test mode"),
    "momentum weighs the batch statistic": ("batchnorm_forward/running_averages",
                                            "momentum weighs the batch statistic"),
    "running variance never stored": ("batchnorm_forward/running_averages", "was not updated"),
    "running variance averages var + eps": ("batchnorm_forward/running_averages",
                                            "running_var averages var + eps"),
    "dgamma not summed over the batch": ("batchnorm_backward/dgamma", "shape (D,)"),
    "gradient through the mean not divided by N": ("batchnorm_backward/dx", "not divided by N"),
    "variance branch of the graph forgotten": ("batchnorm_backward/dx", "flows through the variance"),
    "alt: dout not multiplied by gamma": ("batchnorm_backward_alt/dx", "not multiplied by gamma"),
    "alt: dbeta averaged instead of summed": ("batchnorm_backward_alt/dbeta", "factor of 1/N"),
    "layernorm over the batch axis": ("layernorm_forward/out", "which is batch normalization"),
    "layernorm ignores ln_param eps": ("layernorm_forward/out", "eps given in the param dict"),
    "layernorm backward sums over the batch axis": ("layernorm_backward/dx", "batch axis (axis=0)"),
    "net ends with a ReLU on the scores": ("FullyConnectedNet/batchnorm_test_scores",
                                           "a ReLU is applied where none belongs"),
    "net regularizes the hidden layers' weights only": ("FullyConnectedNet/batchnorm_loss",
                                                        "leaves out the last layer's weights W3"),
    "net never switches batchnorm to test mode": ("FullyConnectedNet/batchnorm_test_scores",
                                                  "batch's own mean and variance"),
    "net gives layer norm its own eps": ("FullyConnectedNet/layernorm_grads",
                                         "layernorm uses eps = 1e-7 or less"),
    "net initialises gamma to zeros": ("FullyConnectedNet/batchnorm_params", "gamma to ones"),
    "net normalizes with batch norm whatever normalization says": (
        "FullyConnectedNet/layernorm_loss", "computes the loss of normalization='batchnorm'"),
    "dbeta summed over every axis": ("batchnorm_backward/dbeta", "expected (5,)"),
    "layernorm backward: dbeta summed over the features": ("layernorm_backward/dbeta",
                                                           "expected (5,)"),
    "batchnorm ignores bn_param momentum": ("batchnorm_forward/running_averages",
                                            "bn_param['momentum'] is ignored"),
}


def test_reference_gets_full_marks(reference_copy):
    result = grade(reference_copy, ASSIGNMENT)
    assert_full_marks(result)
    assert len(result.checks) == len(assignments.load(ASSIGNMENT).checks)


def test_speed_of_the_alternative_backward_is_reported_not_graded(reference_copy):
    result = grade(reference_copy, ASSIGNMENT, select="batchnorm_backward_alt and dx")
    details = check_by_id(result, "batchnorm_backward_alt/dx").details
    assert details["speed_shape"] == [100, 500]
    assert details["batchnorm_backward_s"] > 0 and details["batchnorm_backward_alt_s"] > 0
    assert "reported, not graded" in details["speed"]


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_bug_is_caught(bug: Bug):
    result = grade_bug(bug, ASSIGNMENT)
    assert_bug_caught(result, bug)
    if bug.name in EXPECTED_MESSAGES:
        check_id, text = EXPECTED_MESSAGES[bug.name]
        check = check_by_id(result, check_id)
        assert check.points < check.max_points, f"{check_id} kept its points"
        assert text in check.message + "\n" + check.hint, check.message


def test_bugs_cover_every_graded_function():
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded == {bug.target for bug in BUGS}


def test_expected_messages_name_bugs():
    assert set(EXPECTED_MESSAGES) <= {bug.name for bug in BUGS}


def test_a_gradient_bug_costs_only_that_gradient():
    bug = next(b for b in BUGS if b.name == "dgamma not summed over the batch")
    result = grade_bug(bug, ASSIGNMENT)
    lost = {c.id for c in result.checks if c.points < c.max_points}
    assert lost == {"batchnorm_backward/dgamma"}


@pytest.mark.parametrize("alternative", sorted(p.name for p in ALTERNATIVES.glob("*.py")))
def test_correct_alternative_gets_full_marks(alternative: str):
    package = copy_reference()
    try:
        layers = package / "layers.py"
        layers.write_text(layers.read_text() + "\n\n" + (ALTERNATIVES / alternative).read_text())
        assert_full_marks(grade(package, ASSIGNMENT))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_starter_grades_to_zero_and_says_what_is_missing():
    result = grade(STARTER, ASSIGNMENT)
    assert_starter_scores_zero(result, "is not implemented yet")


def test_zip_of_a_differently_named_package_gets_full_marks():
    package = copy_reference("ece662")
    try:
        archive = package.parent / "submission.zip"
        with zipfile.ZipFile(archive, "w") as zipped:
            for path in sorted(package.rglob("*.py")):
                zipped.write(path, Path("ece662") / path.relative_to(package))
        assert_full_marks(grade(archive, ASSIGNMENT))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_conventions_decide_the_default_momentum():
    other_year = Bug("default momentum 0.99", "layers.py",
                     'momentum = bn_param.get("momentum", 0.9)',
                     'momentum = bn_param.get("momentum", 0.99)', "batchnorm_forward", (NET,))
    package = copy_reference()
    try:
        apply_bug(package, other_year)
        result = grade(package, ASSIGNMENT)
        assert_bug_caught(result, other_year)
        assert "default momentum looks like 0.99" in check_by_id(result, "batchnorm_forward/running_averages").message
        with_convention = assignments.load(ASSIGNMENT, {"bn_momentum": "0.99"})
        assert_full_marks(grade_submission(package, with_convention))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_a_backward_check_names_the_wrong_forward_first():
    """Note [Forward first] in grader/checks/builders.py: with the unbiased variance in
    batchnorm_forward, x_hat in the cache is wrong, so dgamma is, and its check says that
    the forward pass is wrong on the sample."""
    bug = next(b for b in BUGS if b.name == "unbiased batch variance")
    package = copy_reference()
    try:
        apply_bug(package, bug)
        result = grade(package, ASSIGNMENT, select="batchnorm_backward and dgamma")
        message = check_by_id(result, "batchnorm_backward/dgamma").message
        assert ("your `batchnorm_forward` is wrong on this sample too: fix it first; a correct "
                "backward of a wrong forward cannot match") in message, message
        assert "the bug is in the backward pass" not in message
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_a_2017_edition_package_is_graded_on_what_its_edition_assigns():
    """cs231n before 2018 had no layer normalization: under `edition=cs231n_2017` its package
    gets full marks out of 18.5; graded as the default edition it loses the layer norm checks,
    each naming the setting (Note [Assigned parts] in grader/scoring/assignment.py)."""
    layer_norm = {"layernorm_forward/out", "layernorm_forward/out_hidden", "layernorm_backward/dx",
                  "layernorm_backward/dgamma", "layernorm_backward/dbeta",
                  "layernorm_backward/dx_hidden"}
    networks = {f"FullyConnectedNet/layernorm_{b}" for b in ("loss", "grads", "norm_grads",
                                                             "test_scores", "all_hidden")}
    with reference_2017() as package:
        # this package's network still makes gamma and beta for layer norm (a 2017 one takes no
        # `normalization` at all and loses layernorm_params too)
        assert_edition_graded(package, ASSIGNMENT, "edition", "cs231n_2017",
                              layer_norm | networks | {"FullyConnectedNet/layernorm_params"}, 18.5,
                              lost=layer_norm | networks)


def test_a_network_with_its_own_layernorm_eps_is_named_in_its_test_scores():
    # Note [The network's own eps]: the test-time scores are off by about 1e-5 as well.
    bug = next(b for b in BUGS if b.name == "net gives layer norm its own eps")
    check = check_by_id(grade_bug(bug, ASSIGNMENT), "FullyConnectedNet/layernorm_test_scores")
    assert check.points < check.max_points
    assert "layernorm uses eps = 1e-7 or less" in check.message, check.message


def test_eps_in_the_running_variance_is_named_in_the_network_test_scores():
    # Note [eps in the running variance, seen from the network]: the test-time scores are a
    # few 1e-4 off; the message names batchnorm's running_var, not the network's test switch.
    bug = next(b for b in BUGS if b.name == "running variance averages var + eps")
    result = grade_bug(bug, ASSIGNMENT)
    check = check_by_id(result, "FullyConnectedNet/batchnorm_test_scores")
    assert check.points < check.max_points
    assert "running_var averages var + eps during training" in check.message, check.message
    # Note [A named cause replaces a hint that points elsewhere]: not "set the mode to 'test'"
    assert "mode is switched to 'test'; what batchnorm_forward computes" in check.hint, check.hint
    # the reference's own test scores are never told this (the variant equals nothing it returns)
    assert check_by_id(result, "batchnorm_forward/running_averages").points == 0


def test_gamma_along_the_batch_in_a_layer_as_wide_as_the_batch_is_named():
    """Note [gamma along the batch where a layer is as wide as the batch]: a batchnorm_forward
    that picks gamma's axis by its length (rows when len(gamma) == N) is right on its own
    samples and loses the hidden network, whose last hidden layer has as many units as the
    batch, with a message naming it."""
    bug = Bug("gamma by rows when square", "layers.py",
              "        out = gamma * x_hat + beta\n        batch_mean",
              "        out = (gamma[:, None] * x_hat + beta[:, None] if len(gamma) == x.shape[0]\n"
              "               else gamma * x_hat + beta)\n        batch_mean",
              "batchnorm_forward")
    result = grade_bug(bug, ASSIGNMENT)
    check = check_by_id(result, "FullyConnectedNet/batchnorm_all_hidden")
    assert check.points < check.max_points
    assert "in the hidden layer(s) of width 5" in check.message, check.message
    assert "gamma and beta scale each example (row) instead of each feature" in check.message
    # batchnorm_forward's own samples are not square
    assert check_by_id(result, "batchnorm_forward/train_out").points > 0


def test_beta_subtracted_at_test_time_is_named_by_the_network_too():
    """Note [beta subtracted at test time]: the network's test-time scores name both slips of
    the layer (they gave only numbers), and the check still fails."""
    bug = next(b for b in BUGS if b.name == "beta subtracted and eps outside the square root "
               "at test time")
    check = check_by_id(grade_bug(bug, ASSIGNMENT), "FullyConnectedNet/batchnorm_test_scores")
    assert check.points == 0 < check.max_points
    assert ("batchnorm's test mode is wrong (see batchnorm_forward's test_mode check): beta is "
            "subtracted") in check.message, check.message
    assert "and eps is added outside the square root" in check.message
