"""The `cnn` checks judge correctly both ways: full marks for correct code (the
reference, its zip, alternative implementations), points lost, with the right
message, for realistic student mistakes, and a clean zero for the starter code.

Every submission is graded through the real pipeline (staging, sandboxed
worker, pytest plugin), as `grade check` does.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.checks.questions import Questions
from grader.scoring import assignment as assignments
from grader.scoring.pipeline import Options, grade_submission

from .conftest import (assert_starter_scores_zero, Bug, apply_bug, assert_bug_caught, check_by_id,
                       assert_full_marks, copy_reference, grade, grade_bug, grade_reference_with,
                       load_mutants, assert_edition_graded, catching, reference_2017)

ASSIGNMENT = "cnn"
ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "assignments" / "cnn" / "starter" / "cs231n"
ALTERNATIVES = Path(__file__).resolve().parent / "cnn_alternatives"
MODEL = "ThreeLayerConvNet.loss"

# One real mistake each, spread over every graded function (assignments/cnn/mutants.py,
# which `grade selftest` grades too), with a phrase the failing check's message must
# contain (the known-bug signature naming it; empty: none is asked for).
PHRASES = {
    "conv: windows ignore the stride": "instead of by `stride`",
    "conv: filters flipped (convolution, not correlation)": "filters are flipped",
    "conv: padding forgotten": "padding is missing",
    "conv backward: dw from the last image only": "last image only",
    "conv: pads by 1 whatever pad is": "zero-padded by 1 whatever conv_param['pad'] is",
    "conv backward: crops dx by 1 whatever pad is": "cropped by 1 on each side whatever",
    "conv backward: window rows and columns swapped": "height and width swapped",
    "conv backward: dx keeps the padding": "still includes the padding",
    "conv backward: crops with pad:-pad, empty when pad is 0": "pad:-pad is 0:0",
    "conv backward: pad:-pad crop copied into dx, raises when pad is 0": "pad:-pad is 0:0",
    "conv: caches the pad:-pad crop of x_pad, empty when pad is 0":
        "cached an empty array (cache[0], shape (1, 2, 0, 0)) though no input is empty",
    "conv backward: db summed over the batch only": "summed over the batch only",
    "max pool: windows step by the pool size": "step by the pool size instead of by `stride`",
    "max pool: windows the size of the stride": "each window is stride x stride",
    "max pool: columns counted by the rows": "the loop over columns runs over range(H_out)",
    "max pool: windows counted to the input's edge": "a window at every stride-th column",
    "max pool backward: gradient to the whole window": "whole pooling window",
    "max pool backward: overlapping windows overwrite": "overwrite each other",
    "max pool backward: a shared maximum's dout replaced, not added": "share their maximum",
    "max pool backward: windows counted as H // pool_height": "only H // pool_height by W // "
                                                               "pool_width windows",
    "conv_relu_forward: ReLU missing": "ReLU is missing",
    "conv_relu_backward: ReLU skipped": "backward pass is skipped",
    "conv_relu_pool_forward: pools the pre-ReLU map": "ReLU is missing",
    "conv_relu_pool_backward: ReLU skipped": "ReLU's backward pass is skipped",
    "ThreeLayerConvNet: W2 not scaled by weight_scale": "standard deviation",
    "ThreeLayerConvNet: dtype ignored (parameters stay float32)": "has dtype float32",
    "ThreeLayerConvNet: penalty reg * sum(W**2)": "the penalty is reg * sum(W**2)",
    "ThreeLayerConvNet: regularization gradient missing": "regularization gradient is missing",
    "ThreeLayerConvNet: W3 not squared in the penalty": "sums W3 itself, not its squares",
    "ThreeLayerConvNet: penalty continued on lines of their own": "holds W1 only, not W2 and W3",
    "ThreeLayerConvNet: penalty names W3 twice, W1 never": "holds W3 twice and W1 not at all",
    "ThreeLayerConvNet: reg * np.sum(W) added to the gradient": "reg * np.sum(W1), one number",
    "spatial batchnorm: reshape without transposing": "without moving the channels last",
    "spatial batchnorm: unbiased running variance": "unbiased batch variance",
    "spatial batchnorm: bn_param eps ignored": "bn_param['eps'] = 0.001 is ignored",
    "spatial batchnorm: eps outside the square root at test time": "adds eps outside the square root",
    "spatial batchnorm: beta subtracted and eps outside the square root at test time":
        "subtracts beta: out = gamma * x_hat + beta, not - beta; and eps is added outside",
    "spatial batchnorm: running variance averages var + eps": "running_var averages var + eps",
    "spatial batchnorm backward: dx not transposed back": "without transposing the channels back",
    "group norm: statistics per channel": "statistics are per channel",
    "group norm: statistics per pixel": "statistics are per pixel",
    "group norm backward: dgamma copies dbeta's formula, in (C,)": "shape (6,) accepted",
    "group norm backward: no gradient through mean and variance": "mean and variance is missing",
    "group norm backward: dgamma from x, not x_hat": "dgamma sums dout * x, the input",
    "ThreeLayerConvNet: loss summed over the batch":
        "summed over the batch (N = 20) instead of averaged",
    "ThreeLayerConvNet: backward starts from the scores": "",
    "spatial batchnorm backward: dgamma and dbeta swapped": "the bug is in the backward pass",
    "group norm backward: dbeta not summed over the batch": "expected (1, 6, 1, 1)",
}
BUGS = [(bug, PHRASES[bug.name]) for bug in load_mutants(ASSIGNMENT)]


# Where the directional note must say which pass is wrong (check id, phrase).
NOTES = {
    "max pool backward: gradient to the whole window":
        ("max_pool_backward_naive/dx", "the bug is in the backward pass"),
    # The backward pass is the exact gradient of this wrong forward pass.
    "group norm: statistics per channel":
        ("spatial_groupnorm_backward/dx", "IS consistent with your own `spatial_groupnorm_forward`"),
}


def test_every_graded_function_has_a_bug() -> None:
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    targets = {bug.target for bug, _ in BUGS}
    assert graded <= targets, sorted(graded - targets)


def test_every_phrase_names_a_bug() -> None:
    assert set(PHRASES) == {bug.name for bug, _ in BUGS}


def test_reference_gets_full_marks(reference_copy) -> None:
    assert_full_marks(grade(reference_copy, ASSIGNMENT))


def test_zip_of_reference_gets_full_marks(reference_copy) -> None:
    folder = Path(tempfile.mkdtemp(prefix="grader-test-zip-"))
    try:
        archive = folder / "submission.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for path in sorted(reference_copy.rglob("*.py")):
                zf.write(path, Path("hw2") / path.relative_to(reference_copy.parent))
        assert_full_marks(grade(archive, ASSIGNMENT))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("bug, phrase", BUGS, ids=[bug.name for bug, _ in BUGS])
def test_bug_is_caught(bug: Bug, phrase: str) -> None:
    result = grade_bug(bug, ASSIGNMENT)
    assert_bug_caught(result, bug)
    lost = [c for c in result.checks if c.points < c.max_points]
    assert all(c.status == "failed" for c in lost), {c.id: (c.status, c.message) for c in lost}
    if phrase:
        caught = catching(result, bug.target)  # the course's sandwiches: their advisories
        assert any(phrase in c.message for c in caught), (
            f"no failing check of {bug.target} says {phrase!r}:\n"
            + "\n---\n".join(c.message for c in caught))
    if bug.name in NOTES:
        check_id, note = NOTES[bug.name]
        message = next(c.message for c in result.checks if c.id == check_id)
        assert note in message, message


# Note [A running variance far from eps] in checks.py: the slip's verdict does not depend on
# the draw (with the old samples, variance near 16, most of these secrets passed it).
RUNNING_SECRETS = tuple(f"running-variance-secret-{n}" for n in range(5))


def test_eps_in_the_running_variance_fails_under_every_secret_and_the_reference_passes() -> None:
    bug = next(b for b in load_mutants(ASSIGNMENT) if "averages var + eps" in b.name)
    slipped, reference = copy_reference(), copy_reference()
    try:
        apply_bug(slipped, bug)
        for secret in RUNNING_SECRETS:
            asked = assignments.load(ASSIGNMENT, asked=Questions(secret))
            options = Options(select="running_stats")
            wrong = check_by_id(grade_submission(slipped, asked, options),
                                "spatial_batchnorm_forward/running_stats")
            assert wrong.status == "failed", (secret, wrong.message)
            assert "running_var averages var + eps" in wrong.message, wrong.message
            right = check_by_id(grade_submission(reference, asked, options),
                                "spatial_batchnorm_forward/running_stats")
            assert right.status == "passed", (secret, right.message)
    finally:
        shutil.rmtree(slipped.parent, ignore_errors=True)
        shutil.rmtree(reference.parent, ignore_errors=True)


def test_a_backward_pass_over_stride_sized_windows_is_named() -> None:
    """Note [Windows the size of the stride]: the real package's max_pool_backward_naive."""
    backward = (
        "\n\ndef max_pool_backward_naive(dout, cache):\n"
        "    x, pool_param = cache\n"
        "    dx = np.zeros(x.shape)\n"
        "    N, C, H, W = x.shape\n"
        "    p_h, p_w, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']\n"
        "    for i in range(N):\n"
        "        for j in range(C):\n"
        "            for k in range(1 + (H - p_h) // stride):\n"
        "                for h in range(1 + (W - p_w) // stride):\n"
        "                    a = x[i, j, stride*k:stride*(k+1), stride*h:stride*(h+1)]\n"
        "                    r, c = np.unravel_index(a.argmax(), a.shape)\n"
        "                    dx[i, j, stride*k + r, stride*h + c] += dout[i, j, k, h]\n"
        "    return dx\n")
    result = grade_reference_with("layers.py", backward, ASSIGNMENT, "max_pool_backward")
    for check_id in ("max_pool_backward_naive/dx", "max_pool_backward_naive/dx_hidden"):
        check = check_by_id(result, check_id)
        assert check.status == "failed" and "each window is stride x stride" in check.message


def test_running_stats_of_an_unfilled_todo_block_says_it_returned_none() -> None:
    """A real 2019 package left spatial_batchnorm_forward's TODO block empty: the other checks
    said "returned None", this one only that bn_param had no running_mean."""
    empty = ("\n\ndef spatial_batchnorm_forward(x, gamma, beta, bn_param):\n"
             "    out, cache = None, None\n    return out, cache\n")
    result = grade_reference_with("layers.py", empty, ASSIGNMENT, "running_stats")
    check = check_by_id(result, "spatial_batchnorm_forward/running_stats")
    assert check.status == "failed"
    assert "it returned None: the course's code returns None until its TODO block" in check.message


# ---------------------------------------------------------------------------
# Correct alternatives
# ---------------------------------------------------------------------------

# Each file in cnn_alternatives/ holds replacement definitions for one module of
# the reference package; appended to that module, they shadow the reference's.
ALTERNATIVE_FILES = {
    "conv_loops.py": "layers.py",
    "conv_im2col.py": "layers.py",
    "conv_einsum.py": "layers.py",
    "pool_vectorised.py": "layers.py",
    "norms_direct.py": "layers.py",
    "cnn_naive_layers.py": "classifiers/cnn.py",
    "cnn_w2_pooled_axes.py": "classifiers/cnn.py",
    "tiling_asserted.py": "layers.py",
    "conv_sliding_window.py": "layers.py",
    "conv_as_strided.py": "layers.py",
    "norms_transposed.py": "layers.py",
    "pool_mask.py": "layers.py",
    "conv_tensordot_groups_looped.py": "layers.py",
    "cnn_fast_layers_loop.py": "classifiers/cnn.py",
}
CONVENTION_ALTERNATIVES = {"groupnorm_flat.py": "layers.py"}


def _with_alternative(name: str) -> Path:
    package = copy_reference()
    target = package / {**ALTERNATIVE_FILES, **CONVENTION_ALTERNATIVES}[name]
    target.write_text(target.read_text() + "\n\n" + (ALTERNATIVES / name).read_text())
    return package


def test_every_file_in_the_alternatives_folder_is_graded() -> None:
    assert ({p.name for p in ALTERNATIVES.glob("*.py")}
            == set(ALTERNATIVE_FILES) | set(CONVENTION_ALTERNATIVES))


@pytest.mark.parametrize("name", sorted(ALTERNATIVE_FILES))
def test_correct_alternative_gets_full_marks(name: str) -> None:
    package = _with_alternative(name)
    try:
        assert_full_marks(grade(package, ASSIGNMENT))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_a_w2_over_the_pooled_axes_is_judged_on_its_numbers() -> None:
    """Note [W2 over the pooled map's axes]: a W2 of shape (F, H', W', hidden) keeps every
    model point with a note (test_correct_alternative_gets_full_marks); the same network
    without reg * W2 in grads['W2'] still loses the W2 gradient checks, with the bug named."""
    source = (ALTERNATIVES / "cnn_w2_pooled_axes.py").read_text()
    buggy = source.replace('dW2.reshape(W2.shape) + self.reg * W2', 'dW2.reshape(W2.shape)')
    assert buggy != source
    result = grade_reference_with("classifiers/cnn.py", buggy, ASSIGNMENT, "ThreeLayerConvNet")
    for name in ("params", "scores", "loss", "grad_W1", "grad_W3", "overfit"):
        check = check_by_id(result, f"ThreeLayerConvNet/{name}")
        assert check.status == "passed", (name, check.message)
    accepted = check_by_id(result, "ThreeLayerConvNet/scores")
    assert any("the pooled map's axes kept" in note for note in accepted.details.get("notes", [])), \
        accepted
    for name in ("grad_W2", "hidden_shape"):
        check = check_by_id(result, f"ThreeLayerConvNet/{name}")
        assert check.status == "failed", name
    assert "reg * W2" in check_by_id(result, "ThreeLayerConvNet/grad_W2").message


def _checks_module():
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location(
        "cnn_checks_under_test", ROOT / "assignments" / ASSIGNMENT / "checks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_sample_is_inside_the_course_contract() -> None:
    """Note [Inputs inside the course's contract]: windows tile, groups divide C, and the
    coverage the samples were chosen for is still there, public and hidden."""
    checks = _checks_module()

    def tiles(size, window, stride):
        return size >= window and (size - window) % stride == 0

    def conv_ok(x, w, param):
        return all(tiles(x.shape[a] + 2 * param["pad"], w.shape[a], param["stride"]) for a in (2, 3))

    def pool_ok(shape, param):
        return (tiles(shape[2], param["pool_height"], param["stride"])
                and tiles(shape[3], param["pool_width"], param["stride"]))

    conv = {"public": checks.conv_samples(), "hidden": checks.conv_hidden_samples()}
    for kind, samples in conv.items():
        for sample in samples:
            assert conv_ok(*(sample.args[i] for i in (0, 1, 3))), (kind, sample.name)
        params = [s.args[3] for s in samples]
        assert {p["stride"] for p in params} >= {1, 2, 3} - ({1} if kind == "hidden" else set())
        assert {0, 2} <= {p["pad"] for p in params}, kind
        assert any(s.args[0].shape[2] != s.args[0].shape[3] for s in samples), kind
        assert any(s.args[1].shape[2] != s.args[1].shape[3] for s in samples), kind
    pool = {"public": checks.pool_samples(), "hidden": checks.pool_hidden_samples()}
    for kind, samples in pool.items():
        for sample in samples:
            assert pool_ok(sample.args[0].shape, sample.args[1]), (kind, sample.name)
        assert any(s.args[1]["pool_height"] != s.args[1]["pool_width"] for s in samples), kind
        assert any(s.args[0].shape[2] != s.args[0].shape[3] for s in samples), kind
    for kind, samples in pool.items():
        assert any(s.args[1]["stride"] == 2 for s in samples), kind
    for sample in checks.conv_relu_samples():
        assert conv_ok(*(sample.args[i] for i in (0, 1, 3))), sample.name
    for sample in checks.conv_relu_pool_samples():
        x, w, _, conv_param, pool_param = sample.args
        assert conv_ok(x, w, conv_param), sample.name
        out = checks._conv_out(*sample.args[:4])
        assert pool_ok(out.shape, pool_param), sample.name
    for spec in (checks.MODEL_SPEC, checks.HIDDEN_SPEC, checks.INIT_SPEC, checks.OVERFIT_SPEC):
        _, h, w = spec.input_dim
        assert spec.filter_size % 2 == 1 and h % 2 == 0 and w % 2 == 0, spec
    for convention in checks.GN_SHAPES:
        for sample in (checks.groupnorm_samples(convention)
                       + checks.groupnorm_hidden_samples(convention)):
            assert sample.args[0].shape[1] % sample.args[3] == 0, sample.name


def test_an_asserting_conv_with_a_bug_loses_points_on_its_own_function() -> None:
    """The tiling-asserting alternative, its forward windows moving by one pixel: only
    conv_forward_naive and what uses it lose points."""
    package = _with_alternative("tiling_asserted.py")
    try:
        apply_bug(package, Bug("windows ignore the stride", "layers.py",
                               "patch = padded[:, :, r * stride:r * stride + fh, c * stride:c * stride + fw]",
                               "patch = padded[:, :, r:r + fh, c:c + fw]", "conv_forward_naive"))
        result = grade(package, ASSIGNMENT, select="conv_ or max_pool")
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    lost = {c.function for c in result.checks if c.points < c.max_points}
    assert lost == {"conv_forward_naive"}, lost
    assert any("instead of by `stride`" in c.message for c in result.checks
               if c.id == "conv_forward_naive/out")


def test_groupnorm_flat_parameter_convention() -> None:
    """A course year with gamma, beta of shape (C,): graded under that convention, an
    implementation for it gets full marks and the (1, C, 1, 1) reference does not."""
    flat = assignments.load(ASSIGNMENT, {"groupnorm_param_shape": "(C,)"})
    package = _with_alternative("groupnorm_flat.py")
    reference = copy_reference()
    try:
        assert_full_marks(grade_submission(package, flat, Options()))
        result = grade_submission(reference, flat, Options(select="groupnorm"))
        failed = {c.id for c in result.checks if c.status != "passed"}
        assert {"spatial_groupnorm_forward/out", "spatial_groupnorm_backward/dgamma"} <= failed
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
        shutil.rmtree(reference.parent, ignore_errors=True)


def test_l2_scale_convention() -> None:
    """A course year whose penalty is reg * sum(W**2) (gradient 2 * reg * W): graded with
    l2_scale=1 such a model gets full marks on the model; the 0.5 reference does not."""
    unscaled = assignments.load(ASSIGNMENT, {"l2_scale": "1"})
    package = copy_reference()
    reference = copy_reference()
    try:
        apply_bug(package, Bug("penalty without 0.5", "classifiers/cnn.py",
                               "loss = data_loss + 0.5 * self.reg * sum(",
                               "loss = data_loss + self.reg * sum(", MODEL))
        apply_bug(package, Bug("its gradient", "classifiers/cnn.py",
                               "grads[name] = grads[name] + self.reg * p[name]",
                               "grads[name] = grads[name] + 2 * self.reg * p[name]", MODEL))
        assert_full_marks(grade_submission(package, unscaled, Options(select="ThreeLayerConvNet")))
        result = grade_submission(reference, unscaled, Options(select="ThreeLayerConvNet"))
        failed = {c.id for c in result.checks if c.status != "passed"}
        assert {"ThreeLayerConvNet/regularization", "ThreeLayerConvNet/grad_W1"} <= failed
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
        shutil.rmtree(reference.parent, ignore_errors=True)


# ---------------------------------------------------------------------------
# Starter code
# ---------------------------------------------------------------------------

def test_starter_scores_zero_and_every_message_says_not_implemented() -> None:
    assert_starter_scores_zero(grade(STARTER, ASSIGNMENT), "NotImplementedError", ("failed",))


def test_starter_leaves_the_course_helpers_to_the_grader() -> None:
    """Course helpers are not copied into the starter: staging (and a release) supply them
    from reference/cs231n (manifest `replace` / `provide`), so there is one copy of each."""
    from grader.scoring import assignment as assignments
    layout = assignments.load(ASSIGNMENT).layout
    reference = Path(__file__).resolve().parents[2] / "reference" / "cs231n"
    for name in layout.replace + layout.provide:
        assert not (STARTER / name).exists(), name
        assert (reference / name).exists(), name


# -- hostile: what the model reports about itself is not scored (Note [Judge holds the state]) ---

LOOKUP_NET = '''

_Honest = ThreeLayerConvNet


class ThreeLayerConvNet(_Honest):
    """Never learns (zero gradients); at test time it looks every image up among the
    labelled images it was trained on and scores the remembered label."""

    def loss(self, X, y=None):
        seen = self.__dict__.setdefault("_seen", {})
        C = self.params["W3"].shape[1]
        if y is None:
            scores = np.zeros((len(X), C))
            for i, image in enumerate(X):
                scores[i, seen.get(image.tobytes(), 0)] = 1.0
            return scores
        for image, label in zip(X, y):
            seen[image.tobytes()] = int(label)
        loss, grads = _Honest.loss(self, X, y)
        return loss, {k: np.zeros_like(v) for k, v in grads.items()}
'''

CONSTANT_LOG_C_NET = '''

_Honest = ThreeLayerConvNet


class ThreeLayerConvNet(_Honest):
    """The loss a freshly initialised network should have, and no gradient at all."""

    def loss(self, X, y=None):
        C = self.params["W3"].shape[1]
        if y is None:
            return np.zeros((len(X), C))
        return float(np.log(C)), {k: np.zeros_like(v) for k, v in self.params.items()}
'''


def _grade_with_net(source: str, select: str):
    return grade_reference_with("classifiers/cnn.py", source, ASSIGNMENT, select)


def test_overfit_does_not_score_the_accuracy_a_model_reports():
    check = check_by_id(_grade_with_net(LOOKUP_NET, "ThreeLayerConvNet and overfit"),
                        "ThreeLayerConvNet/overfit")
    assert check.status == "failed", check.message
    assert "is not the gradient of the loss" in check.message


def test_initial_loss_needs_the_loss_and_gradients_not_a_constant_log_c():
    check = check_by_id(_grade_with_net(CONSTANT_LOG_C_NET, "ThreeLayerConvNet and initial_loss"),
                        "ThreeLayerConvNet/initial_loss")
    assert check.status == "failed", check.message


# -- grading faster keeps every answer (issue 17) ------------------------------------------------

def test_a_signature_applies_to_its_own_sample_only() -> None:
    """Note [Signatures that know their sample]: a known bug's signature fires only on the
    comparison whose expected answer is its own sample's."""
    checks = _checks_module()
    own, buggy = np.arange(6.0).reshape(2, 3), -np.arange(6.0).reshape(2, 3)
    signature = checks._signature("flipped", lambda: buggy, lambda: own)
    assert signature.matches(buggy.copy(), own.copy())
    assert not signature.matches(buggy.copy(), own + 1.0)  # another sample's comparison
    assert not signature.matches(buggy.copy(), own.reshape(3, 2))
    assert not signature.matches(own.copy(), own.copy())


# Each is right on the first public conv sample (stride 1) and wrong on a later one only.
LATER_SAMPLE_CONV = '''

_conv_forward = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    if conv_param["stride"] == {stride}:
        {wrong}
    return _conv_forward(x, w, b, conv_param)
'''
LATER_SAMPLE_BUGS = {
    "stride ignored on the stride-2 sample":
        ("2", "return _conv_forward(x, w, b, {**conv_param, 'stride': 1})",
         "[sample N=1, x (1,2,9,8), w (3,2,3,2), stride 2, pad 0]", "the stride is ignored"),
    "filters flipped on the stride-3 sample":
        ("3", "return _conv_forward(x, w[:, :, ::-1, ::-1], b, conv_param)[0], (x, w, b, conv_param)",
         "[sample x (3,1,9,6), w (2,1,4,4), stride 3, pad 2]", "the filters are flipped"),
}


@pytest.mark.parametrize("name", sorted(LATER_SAMPLE_BUGS))
def test_a_known_bug_on_a_later_sample_is_named_on_that_sample(name: str) -> None:
    """One request for every sample of an entry still names the mistake, and the wrong
    shape, of the sample that fails (Note [Signatures that know their sample])."""
    stride, wrong, sample, phrase = LATER_SAMPLE_BUGS[name]
    source = LATER_SAMPLE_CONV.replace("{stride}", stride).replace("{wrong}", wrong)
    result = grade_reference_with("layers.py", source, ASSIGNMENT, "conv_forward_naive and out")
    check = check_by_id(result, "conv_forward_naive/out")
    assert check.status == "failed", check.message
    assert check.message.startswith(sample), check.message
    assert phrase in check.message, check.message


def test_reference_answers_are_kept_as_copies() -> None:
    """Note [Reference answers kept]: the same question, asked with equal arguments, gets an
    equal answer that no caller can change for the next; other questions run afresh."""
    checks = _checks_module()
    calls = []

    def layer(x, param):
        calls.append(param)
        return x * param.get("scale", 1), (x, param)

    assert checks.remembered(layer) is layer  # not the reference's (a release's replay proxy)
    layer.__module__ = "reference.cs231n.layers"  # as the reference's own functions are
    kept = checks.remembered(layer)
    x = np.arange(4.0)
    first = kept(x, {"scale": 2})
    second = kept(x.copy(), {"scale": 2})
    assert len(calls) == 1 and np.array_equal(first[0], second[0])
    second[0][:] = -1
    assert np.array_equal(kept(x, {"scale": 2})[0], 2 * x)
    kept(x, {"scale": 3})
    kept(x, {"unkeyed": object()})  # no value to key on: asked every time
    kept(x, {"unkeyed": object()})
    assert len(calls) == 4


def test_a_reference_net_is_reused_without_touching_the_judges_generator() -> None:
    """Note [One reference net per shape]: each kept net answers as a fresh one does, even
    when another was handed out since, and np.random is where it was."""
    checks = _checks_module()
    spec = checks.MODEL_SPEC
    X, y = checks.model_data(spec, 66, 6)
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    seeds = (65, 63)
    nets = [checks.reference_net(spec, checks._grad_params(seed, spec), 0.3) for seed in seeds]
    answers = [net.loss(X, y) for net in nets]  # asked after both were made
    assert np.array_equal(np.random.get_state()[1], state)
    for seed, (loss, grads) in zip(seeds, answers):
        fresh = checks.ReferenceConvNet(**spec.kwargs(), reg=0.3, dtype=np.float64)
        fresh.params = checks._grad_params(seed, spec)
        expected_loss, expected = fresh.loss(X, y)
        assert loss == expected_loss
        assert all(np.array_equal(grads[name], expected[name]) for name in expected)


RAISING_LOSS_NET = '''

_Honest = ThreeLayerConvNet


class ThreeLayerConvNet(_Honest):
    def loss(self, X, y=None):
        if y is not None:
            raise ValueError("no gradients today")
        return _Honest.loss(self, X)
'''


def test_the_six_gradient_checks_each_fail_on_the_question_asked_once() -> None:
    """Note [One question for the six gradients]: the loss is asked once, and every grad_*
    check fails with its failure: the same message and cause as the first."""
    result = _grade_with_net(RAISING_LOSS_NET, "grad_")
    grads = [c for c in result.checks if c.id.startswith("ThreeLayerConvNet/grad_")]
    assert len(grads) == 6 and all(c.status == "failed" for c in grads), grads
    assert {(c.message, c.cause) for c in grads} == {(grads[0].message, "raised")}
    assert "no gradients today" in grads[0].message


def test_asked_once_per_submission() -> None:
    checks = _checks_module()

    class Submission:  # what asked_once uses of a Student: its `shared` dict
        def __init__(self) -> None:
            self.shared = {}

    asked = []
    one, other = Submission(), Submission()
    for student in (one, one, other):
        assert checks.asked_once(student, ("q",), lambda: asked.append(1) or len(asked)) \
            == (1 if student is one else 2)
    assert len(asked) == 2

    def failing():
        try:
            raise KeyError("inside")
        except KeyError:
            raise checks.CheckFailure("said once", hint="h") from None

    for _ in range(2):
        with pytest.raises(checks.CheckFailure) as raised:
            checks.asked_once(one, ("fails",), failing)
        assert raised.value.message == "said once" and raised.value.hint == "h"
        assert isinstance(raised.value.__context__, KeyError)


class _Stream:
    """What Student.calls hands out: a context manager giving one result per call."""

    def __init__(self, results: list, raising_at: int | None = None) -> None:
        self.results, self.raising_at, self.read = results, raising_at, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __iter__(self):
        return self

    def __next__(self):
        if self.read == self.raising_at:
            raise ValueError("raised by student code")
        self.read += 1
        return self.results[self.read - 1]


class _Asked:
    """A Student that counts the streams it is asked for."""

    def __init__(self, raising_at: int | None = None) -> None:
        self.asked, self.raising_at = [], raising_at
        self.notes, self.shared = ["a note"], {}

    def calls(self, module, calls, timeout=None):
        self.asked.append((module, calls))
        return _Stream([{"answer": n, "of": calls[n][0]} for n in range(len(calls))],
                       self.raising_at)


def _ask(student, module: str, calls: list, read: int | None = None) -> list:
    with student.calls(module, calls) as stream:
        return [next(stream) for _ in range(len(calls) if read is None else read)]


def test_a_complete_stream_is_answered_again_from_what_the_worker_said() -> None:
    """Note [Answers kept per submission]: the same calls (module, names, argument values,
    Part references) asked again get the kept answers, as copies; anything else is asked."""
    checks = _checks_module()
    from grader.worker.client import Part
    student = _Asked()
    x = np.arange(6.0).reshape(2, 3)
    chain = [("forward", (x, {"stride": 1}), {}), ("backward", (x, Part(0).item(1)), {})]
    first = _ask(checks.AnswersKept(student), "layers", chain)
    again = _ask(checks.AnswersKept(student), "layers",
                 [("forward", (x.copy(), {"stride": 1}), {}),
                  ("backward", (x.copy(), Part(0).item(1)), {})])
    assert len(student.asked) == 1 and again == first and again[0] is not first[0]
    assert checks.AnswersKept(student).notes == ["a note"]  # the rest is the Student's
    _ask(checks.AnswersKept(student), "layers", [("forward", (x, {"stride": 2}), {}), chain[1]])
    _ask(checks.AnswersKept(student), "layer_utils", chain)
    other = _Asked()  # another submission is asked for itself
    _ask(checks.AnswersKept(other), "layers", chain)
    assert len(student.asked) == 3 and len(other.asked) == 1


@pytest.mark.parametrize("how", ["cut short", "raised"])
def test_an_incomplete_stream_is_not_kept(how: str) -> None:
    checks = _checks_module()
    student = _Asked(raising_at=1 if how == "raised" else None)
    chain = [("forward", (np.ones(2),), {}), ("forward", (np.zeros(2),), {})]
    for _ in range(2):
        try:
            _ask(checks.AnswersKept(student), "layers", chain, read=1 if how == "cut short" else None)
        except ValueError:
            pass
    assert len(student.asked) == 2


def test_a_2017_edition_package_is_graded_on_what_its_edition_assigns():
    """cs231n before 2018 had no group normalization: under `edition=cs231n_2017` its package
    gets full marks out of 37.5; graded as the default edition it loses the group norm checks,
    each naming the setting (Note [Assigned parts] in grader/scoring/assignment.py)."""
    with reference_2017() as package:
        assert_edition_graded(package, ASSIGNMENT, "edition", "cs231n_2017",
                              {"spatial_groupnorm_forward/out", "spatial_groupnorm_forward/out_hidden",
                               "spatial_groupnorm_backward/dx", "spatial_groupnorm_backward/dgamma",
                               "spatial_groupnorm_backward/dbeta"}, 37.5)


def test_the_pad_crop_that_raises_is_named_only_for_its_own_error() -> None:
    """Note [Known mistakes that raise]: the empty pad:-pad crop is named from a broadcast
    error with a (.., 0, 0) shape at pad 0, and from nothing else."""
    from grader.checks.spec import Sample
    from grader.worker.client import StudentError
    checks = _checks_module()
    x, w, b = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros(3)

    def sample(pad: int) -> Sample:
        return Sample(f"pad {pad}", (x, w, b, {"stride": 1, "pad": pad}))

    broadcast = StudentError("ValueError", "could not broadcast input array from shape "
                                           "(2,0,0) into shape (2,5,5)")
    assert "pad:-pad is 0:0" in checks.conv_backward_raised(sample(0), broadcast)
    assert checks.conv_backward_raised(sample(1), broadcast) == ""
    other = StudentError("ValueError", "operands could not be broadcast together with shapes "
                                       "(2,3,3) (2,4,4)")
    assert checks.conv_backward_raised(sample(0), other) == ""
    assert checks.conv_backward_raised(sample(0), StudentError("NameError", "(2, 0, 0)")) == ""


def test_an_empty_pooling_window_is_named_only_where_stride_and_size_differ() -> None:
    """Note [Pooling windows stepped by their size]: the zero-size error is named on a sample
    whose stride differs from its pool size, and not on one where they agree."""
    from grader.checks.spec import Sample
    checks = _checks_module()
    text = ("`max_pool_forward_naive` raised ValueError: zero-size array to reduction operation "
            "maximum which has no identity (fromnumeric.py:83) on sample 'x'")
    overlapping = Sample("x", (np.ones((1, 1, 7, 9)), {"pool_height": 3, "pool_width": 3,
                                                              "stride": 2}))
    tiled = Sample("x", (np.ones((1, 1, 4, 4)), {"pool_height": 2, "pool_width": 2,
                                                        "stride": 2}))
    assert "instead of by `stride`" in checks.pool_forward_raised(overlapping, text)
    assert checks.pool_forward_raised(tiled, text) == ""
    assert checks.pool_forward_raised(overlapping, "raised IndexError: index 3 is out") == ""


def test_swapped_filter_sides_are_named_only_for_non_square_filters() -> None:
    """Note [Filter rows and columns swapped]: a broadcast error between shapes ending (HH, WW)
    and (WW, HH) is named for a 3x2 filter, and nothing is named for a square one."""
    from grader.checks.spec import Sample
    from grader.worker.client import StudentError
    checks = _checks_module()
    x, b, conv = np.zeros((1, 2, 9, 8)), np.zeros(3), {"stride": 2, "pad": 0}
    error = StudentError("ValueError", "operands could not be broadcast together with shapes "
                                       "(2,3,2) (2,2,3) (2,3,2) ")
    tall = Sample("3x2", (x, np.zeros((3, 2, 3, 2)), b, conv))
    square = Sample("3x3", (x, np.zeros((3, 2, 3, 3)), b, conv))
    assert "height and width swapped" in checks.conv_backward_raised(tall, error)
    assert checks.conv_backward_raised(square, error) == ""


# -- Note [A loss a little below the reference's] in grader/checks/trust.py -----------------------

GUARDED_SOFTMAX = '''

def softmax_loss(x, y):
    # a real hand-in's guard against log(0)
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.sum(np.log(probs[np.arange(N), y] + 1e-7)) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N
'''


def test_a_guard_inside_the_softmax_log_keeps_the_overfitting_points_with_a_note() -> None:
    """The guard lowers cnn's first training loss by 0.4 of 9.5 (the large start weights): the
    overfitting check accepts it, as the gradients are true, and names it; the loss checks,
    like the course's own abs(loss - correct_loss) tests, still judge the loss itself."""
    result = grade_reference_with("layers.py", GUARDED_SOFTMAX, ASSIGNMENT, "overfit")
    overfit = check_by_id(result, "ThreeLayerConvNet/overfit")
    assert overfit.status == "passed", overfit.message
    assert any("inside the log" in note for note in overfit.details.get("notes", [])), \
        overfit.details


def test_a_penalty_split_over_lines_is_named_in_the_hidden_model_check():
    """Note [A penalty split over lines, seen from the loss]: the hidden non-square model's
    loss names the weights the penalty left out, and the check has a hint."""
    name = "ThreeLayerConvNet: penalty continued on lines of their own"
    bug = next(b for b, _ in BUGS if b.name == name)
    check = check_by_id(grade_bug(bug, ASSIGNMENT), "ThreeLayerConvNet/hidden_shape")
    assert check.points < check.max_points
    assert "the penalty holds W1 only, not W2 and W3" in check.message, check.message
    assert "L2 penalty of W1, W2 and W3" in check.hint


def test_a_pool_window_with_its_sides_swapped_is_named():
    """Note [Pool height and width swapped]: windows of pool_width rows by pool_height columns
    lose both forward checks (non-square pools) with a message naming the swap."""
    bug = Bug("pool sides swapped", "layers.py",
              "window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]",
              "window = x[:, :, i * stride:i * stride + pw, j * stride:j * stride + ph]",
              "max_pool_forward_naive")
    result = grade_bug(bug, ASSIGNMENT)
    for check_id in ("max_pool_forward_naive/out", "max_pool_forward_naive/out_hidden"):
        check = check_by_id(result, check_id)
        assert check.points < check.max_points
        assert "pool_width rows by pool_height columns" in check.message, check.message


def test_each_pixel_normalized_over_the_batch_alone_is_named():
    """Note [Each pixel normalized over the batch alone]: batchnorm_forward on x reshaped to
    (N, C*H*W) with gamma and beta repeated loses the forward checks with a named message."""
    line = "    out_rows, bn_cache = batchnorm_forward(_channels_last_rows(x), gamma, beta, bn_param)\n"
    bug = Bug("per-pixel spatial batchnorm", "layers.py", line,
              "    n, c, h, w = x.shape\n"
              "    flat, _ = batchnorm_forward(x.reshape(n, -1), np.repeat(gamma, h * w),\n"
              "                                np.repeat(beta, h * w), bn_param)\n"
              "    return flat.reshape(x.shape), None\n" + line,
              "spatial_batchnorm_forward")
    result = grade_bug(bug, ASSIGNMENT)
    for check_id in ("spatial_batchnorm_forward/out", "spatial_batchnorm_forward/out_hidden"):
        check = check_by_id(result, check_id)
        assert check.points < check.max_points
        says = "each channel and pixel is normalized over the batch alone"
        assert says in check.message, check.message


def test_an_output_width_sized_by_the_pool_height_is_named():
    """Note [An output side sized by the other pool side]: W_out from pool_height is one column
    short on the 3x2 pool, and the shape message names it."""
    bug = Bug("W_out from pool_height", "layers.py",
              "w_out = _conv_output_size(wd, pw, stride, 0)",
              "w_out = _conv_output_size(wd, ph, stride, 0)", "max_pool_forward_naive")
    check = check_by_id(grade_bug(bug, ASSIGNMENT), "max_pool_forward_naive/out_hidden")
    assert check.points < check.max_points
    assert "W_out is computed with pool_height" in check.message, check.message


def test_windows_counted_to_the_input_edge_are_named_on_either_axis() -> None:
    """Note [Windows counted to the input's edge]: the IndexError at index H_out of a loop
    that counts every stride-th row is named; one that can come from elsewhere is not."""
    checks = _checks_module()
    sample = checks.Sample("x (2,2,5,5), 2x2 pool, stride 1",
                           (np.zeros((2, 2, 5, 5)), {"pool_height": 2, "pool_width": 2, "stride": 1}))
    rows = checks.pool_forward_raised(
        sample, "IndexError: index 4 is out of bounds for axis 2 with size 4")
    assert "every stride-th row of x (5 of them)" in rows and "H_out = 1 + (H - pool_height)" in rows
    assert "stride-th column" in checks.pool_forward_raised(
        sample, "IndexError: index 4 is out of bounds for axis 3 with size 4")
    assert checks.pool_forward_raised(  # not at index H_out: not this loop
        sample, "IndexError: index 7 is out of bounds for axis 2 with size 4") == ""
    square = checks.Sample("x (2,3,4,4), 2x2 pool, stride 2",
                           (np.zeros((2, 3, 4, 4)), {"pool_height": 2, "pool_width": 2, "stride": 2}))
    assert checks.pool_forward_raised(  # ceil(H / stride) = H_out here: the count is right
        square, "IndexError: index 2 is out of bounds for axis 2 with size 2") == ""


def test_every_axis_padded_and_cropped_by_one_is_named() -> None:
    """Note [Every axis padded]: np.pad(x, pad) pads N and C too; cropped back by 1 on the first
    axes it is right at pad 1 only, and the forward checks (and the backward checks that need the
    forward) name it from the IndexError (pad 0, N = 1) or the broadcast error (pad 2)."""
    padded = "    x_pad = _pad_spatial(x, pad)\n"
    windows = ("            window = x_pad[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]\n"
               "            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b\n")
    bug = Bug("every axis padded, cropped by 1", "layers.py", padded + "    out = np.empty(",
              "    x_pad = np.pad(x, pad)[1:-1, 1:-1]\n    out = np.empty(", "conv_forward_naive")
    loop = Bug("per-image windows", "layers.py", windows,
               "            for k in range(n):\n"
               "                for m in range(f):\n"
               "                    window = x_pad[k, :, i * stride:i * stride + hh,\n"
               "                                   j * stride:j * stride + ww]\n"
               "                    out[k, m, i, j] = np.sum(window * w[m]) + b[m]\n",
               "conv_forward_naive")
    package = copy_reference()
    try:
        apply_bug(package, loop)
        apply_bug(package, bug)
        result = grade(package, ASSIGNMENT)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    for check_id in ("conv_forward_naive/out", "conv_forward_naive/out_hidden",
                     "conv_backward_naive/dx", "conv_backward_naive/dw_hidden"):
        check = check_by_id(result, check_id)
        assert check.points == 0
        assert "zero-padded on every axis, N and C too" in check.message, check.message
        assert "undoes that only at the notebook's pad 1" in check.message, check.message
    assert check_by_id(result, "conv_forward_naive/published").points > 0  # pad 1: right


def test_every_axis_padded_is_named_only_for_the_sizes_the_padding_gives() -> None:
    """Note [Every axis padded]: the channel count of an all-axes pad (with or without the crop)
    is named; a broadcast error or an IndexError with other sizes is not."""
    checks = _checks_module()
    x, w, b = np.zeros((1, 2, 9, 8)), np.zeros((3, 2, 3, 2)), np.zeros(3)
    pad0 = checks.Sample("pad 0", (x, w, b, {"stride": 2, "pad": 0}))
    pad2 = checks.Sample("pad 2", (x, w, b, {"stride": 2, "pad": 2}))
    pad1 = checks.Sample("pad 1", (x, w, b, {"stride": 2, "pad": 1}))

    def broadcast(a: str) -> str:
        return f"ValueError: operands could not be broadcast together with shapes {a} (2,3,2) "

    assert "the windows have 0 channels against w's 2" in checks.conv_forward_raised(
        pad0, broadcast("(0,3,2)"))
    assert "[1:-1]" in checks.conv_forward_raised(pad2, broadcast("(4,3,2)"))
    uncropped = checks.conv_forward_raised(pad1, broadcast("(4,3,2)"))
    assert "every axis" in uncropped and "[1:-1]" not in uncropped
    assert checks.conv_forward_raised(pad2, broadcast("(3,3,2)")) == ""
    assert checks.conv_forward_raised(pad1, broadcast("(2,2,3)")) == ""
    assert "x_pad has 0 images where x has 1" in checks.conv_forward_raised(
        pad0, "IndexError: index 0 is out of bounds for axis 0 with size 0")
    assert checks.conv_forward_raised(
        pad0, "IndexError: index 1 is out of bounds for axis 0 with size 1") == ""
    assert checks.conv_forward_raised(
        pad0, "IndexError: index 5 is out of bounds for axis 2 with size 0") == ""


def test_an_argmax_unravelled_by_the_pool_height_is_named() -> None:
    """Note [An argmax unravelled by the pool height]: a max_pool_backward that unravels each
    window's argmax with (pool_width, pool_height) loses both backward checks (its 2x3 and 3x2
    pools) with a message naming the unravel, by its numbers or by the IndexError past x."""
    routed = ("            first_max = flat.argmax(axis=2)[:, :, None]          # (N, C, 1)\n"
              "            routed = np.zeros((n, c, ph * pw), dtype=dx.dtype)\n"
              "            np.put_along_axis(routed, first_max, dout[:, :, i, j][:, :, None], axis=2)\n"
              "            dx[:, :, rows, cols] += routed.reshape(n, c, ph, pw)\n")
    bug = Bug("argmax unravelled by the pool height", "layers.py", routed,
              "            first_max = flat.argmax(axis=2)\n"
              "            for a in range(n):\n"
              "                for k in range(c):\n"
              "                    r, q = np.unravel_index(first_max[a, k], (pw, ph))\n"
              "                    dx[a, k, i * stride + r, j * stride + q] += dout[a, k, i, j]\n",
              "max_pool_backward_naive")
    result = grade_bug(bug, ASSIGNMENT)
    for check_id in ("max_pool_backward_naive/dx", "max_pool_backward_naive/dx_hidden"):
        check = check_by_id(result, check_id)
        assert check.points == 0
        assert "argmax is unravelled with pool_height" in check.message, check.message


def test_an_argmax_unravelled_by_the_pool_height_is_named_only_where_it_reaches() -> None:
    """Note [An argmax unravelled by the pool height]: the IndexError on x's own side, at an
    index the wrong unravel reaches, of a non-square pool; not on a square pool, not past it."""
    checks = _checks_module()
    wide = checks.Sample("2x3", (np.zeros((3, 1, 8, 9)),
                                 {"pool_height": 2, "pool_width": 3, "stride": 3}))
    tall = checks.Sample("3x2", (np.zeros((1, 3, 6, 5)),
                                 {"pool_height": 3, "pool_width": 2, "stride": 3}))
    square = checks.Sample("3x3", (np.zeros((1, 2, 7, 9)),
                                   {"pool_height": 3, "pool_width": 3, "stride": 2}))
    rows = "IndexError: index 8 is out of bounds for axis 2 with size 8"
    assert "unravelled with pool_height" in checks.pool_forward_raised(wide, rows)
    assert "unravelled with pool_height" in checks.pool_forward_raised(
        tall, "IndexError: index 5 is out of bounds for axis 3 with size 5")
    assert checks.pool_forward_raised(square, rows) == ""
    assert checks.pool_forward_raised(tall, "IndexError: index 6 is out of bounds for axis 2 "
                                            "with size 6") == ""  # a tall window's rows fit
    assert checks.pool_forward_raised(wide, "IndexError: index 9 is out of bounds for axis 2 "
                                            "with size 8") == ""  # beyond its reach


def test_an_argmax_unravelled_by_the_pool_height_is_known_by_its_numbers() -> None:
    """Note [An argmax unravelled by the pool height]: where every wrong position stays inside
    x, the Known is the gradient such a loop returns; square pools have no such Known."""
    checks = _checks_module()
    pool = {"pool_height": 2, "pool_width": 3, "stride": 3}
    x = -np.arange(3 * 1 * 8 * 9, dtype=float).reshape(3, 1, 8, 9)  # maxima at each window's idx 0
    x[:, :, 1::3, 2::3] = 100.0 + np.arange(x[:, :, 1::3, 2::3].size).reshape(3, 1, 3, 3)
    x[:, :, 7, 2::3] = -1e3  # the last row of windows keeps its maxima at idx 0
    dout = np.random.default_rng(0).standard_normal((3, 1, 3, 3))
    expected = np.zeros_like(x)
    for a in range(3):
        for i in range(3):
            for j in range(3):
                window = x[a, 0, 3 * i:3 * i + 2, 3 * j:3 * j + 3]
                r, q = np.unravel_index(np.argmax(window), (3, 2))
                expected[a, 0, 3 * i + r, 3 * j + q] += dout[a, 0, i, j]
    known = checks.pool_backward_known(checks.Sample("2x3", (x, pool)))
    named = [k for k in known if "unravelled with pool_height" in k.hint]
    assert len(named) == 1
    result = named[0].result(None, dout)
    assert np.array_equal(result, expected)
    assert not np.array_equal(result, checks.pool_backward_reference(dout, (x, pool)))
    square = checks.Sample("2x2", (x, {"pool_height": 2, "pool_width": 2, "stride": 2}))
    assert not [k for k in checks.pool_backward_known(square) if "unravelled" in k.hint]


@pytest.mark.parametrize("new, holds", [
    ("        self.params = {}\n", "this model's params is empty"),
    ("        self.params = {name.lower(): value.astype(dtype) for name, value in params.items()}\n",
     "this model's params holds w1, b1, w2, b2, w3, b3"),
], ids=["empty", "lowercase names"])
def test_parameters_not_found_get_a_hint(new: str, holds: str) -> None:
    """Note [A hint for parameters not found]: the model checks that fail on model.params
    without the course's names say where the parameters go and what params holds."""
    bug = Bug("params not found", "classifiers/cnn.py",
              "        self.params = {name: value.astype(dtype) for name, value in params.items()}\n",
              new, "ThreeLayerConvNet.__init__")
    result = grade_bug(bug, ASSIGNMENT)
    for check_id in ("ThreeLayerConvNet/params", "ThreeLayerConvNet/initial_loss",
                     "ThreeLayerConvNet/scores", "ThreeLayerConvNet/overfit"):
        check = check_by_id(result, check_id)
        assert check.points == 0 and "model.params has no W1" in check.message, check.message
        assert "stores every parameter in self.params: 'W1', 'b1'" in check.hint, check.hint
        assert holds in check.hint, check.hint
