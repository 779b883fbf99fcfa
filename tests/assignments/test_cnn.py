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

import pytest

from grader import assignment as assignments
from grader.pipeline import Options, grade_submission

from .conftest import (Bug, apply_bug, assert_bug_caught, assert_full_marks, copy_reference,
                       grade, grade_bug)

ASSIGNMENT = "cnn"
ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "assignments" / "cnn" / "starter" / "cs231n"
ALTERNATIVES = Path(__file__).resolve().parent / "cnn_alternatives"
MODEL = "ThreeLayerConvNet.loss"

# One real mistake each, spread over every graded function, with a phrase the
# failing check's message must contain (the known-bug signature naming it).
BUGS = [
    (Bug("conv: windows ignore the stride", "layers.py",
         "window = x_pad[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]",
         "window = x_pad[:, :, i:i + hh, j:j + ww]", "conv_forward_naive"),
     "instead of by `stride`"),
    (Bug("conv: filters flipped (convolution, not correlation)", "layers.py",
         "np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b",
         "np.tensordot(window, w[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3])) + b",
         "conv_forward_naive"),
     "filters are flipped"),
    (Bug("conv: padding forgotten", "layers.py",
         'stride, pad = conv_param["stride"], conv_param["pad"]\n    n, _, h, wd = x.shape',
         'stride, pad = conv_param["stride"], 0\n    n, _, h, wd = x.shape', "conv_forward_naive"),
     "padding is missing"),
    (Bug("conv backward: dw from the last image only", "layers.py",
         "dw += np.tensordot(g, x_pad[:, :, rows, cols], axes=([0], [0]))",
         "dw += np.tensordot(g[-1:], x_pad[-1:, :, rows, cols], axes=([0], [0]))",
         "conv_backward_naive"),
     "last image only"),
    (Bug("conv backward: dx keeps the padding", "layers.py",
         "dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]", "dx = dx_pad", "conv_backward_naive"),
     "still includes the padding"),
    (Bug("conv backward: db summed over the batch only", "layers.py",
         "db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=0)", "conv_backward_naive"),
     "summed over the batch only"),
    (Bug("max pool: windows step by the pool size", "layers.py",
         "window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]",
         "window = x[:, :, i * ph:i * ph + ph, j * pw:j * pw + pw]", "max_pool_forward_naive",
         # an empty window makes the forward pass raise, and backward needs its cache
         ("max_pool_backward_naive",)),
     ""),
    (Bug("max pool backward: gradient to the whole window", "layers.py",
         "dx[:, :, rows, cols] += routed.reshape(n, c, ph, pw)",
         "dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None]", "max_pool_backward_naive"),
     "whole pooling window"),
    (Bug("max pool backward: overlapping windows overwrite", "layers.py",
         "dx[:, :, rows, cols] += routed.reshape(n, c, ph, pw)",
         "dx[:, :, rows, cols] = routed.reshape(n, c, ph, pw)", "max_pool_backward_naive"),
     "overwrite each other"),
    (Bug("conv_relu_forward: ReLU missing", "layer_utils.py",
         "a, conv_cache = conv_forward_fast(x, w, b, conv_param)\n    out, relu_cache = relu_forward(a)",
         "a, conv_cache = conv_forward_fast(x, w, b, conv_param)\n"
         "    out, relu_cache = a, relu_forward(a)[1]",
         "conv_relu_forward"),
     "ReLU is missing"),
    (Bug("conv_relu_backward: ReLU skipped", "layer_utils.py",
         "da = relu_backward(dout, relu_cache)\n    return conv_backward_fast(da, conv_cache)",
         "return conv_backward_fast(dout, conv_cache)", "conv_relu_backward"),
     "backward pass is skipped"),
    (Bug("conv_relu_pool_forward: pools the pre-ReLU map", "layer_utils.py",
         "out, pool_cache = max_pool_forward_fast(s, pool_param)",
         "out, pool_cache = max_pool_forward_fast(a, pool_param)", "conv_relu_pool_forward",
         ("conv_relu_pool_backward", MODEL)),
     "ReLU is missing"),
    (Bug("conv_relu_pool_backward: ReLU skipped", "layer_utils.py",
         "da = relu_backward(ds, relu_cache)", "da = ds", "conv_relu_pool_backward", (MODEL,)),
     "ReLU's backward pass is skipped"),
    (Bug("ThreeLayerConvNet: W2 not scaled by weight_scale", "classifiers/cnn.py",
         '"W2": weight_scale * np.random.randn(pooled, hidden_dim),',
         '"W2": np.random.randn(pooled, hidden_dim),', "ThreeLayerConvNet.__init__"),
     "standard deviation"),
    (Bug("ThreeLayerConvNet: penalty reg * sum(W**2)", "classifiers/cnn.py",
         "loss = data_loss + 0.5 * self.reg * sum(", "loss = data_loss + self.reg * sum(", MODEL),
     "the penalty is reg * sum(W**2)"),
    (Bug("ThreeLayerConvNet: regularization gradient missing", "classifiers/cnn.py",
         "grads[name] = grads[name] + self.reg * p[name]", "grads[name] = grads[name]", MODEL),
     "regularization gradient is missing"),
    (Bug("spatial batchnorm: reshape without transposing", "layers.py",
         "out_rows, bn_cache = batchnorm_forward(_channels_last_rows(x), gamma, beta, bn_param)\n"
         "    return _rows_to_channels_first(out_rows, x.shape), (bn_cache, x.shape)",
         "out_rows, bn_cache = batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, bn_param)\n"
         "    return out_rows.reshape(x.shape), (bn_cache, x.shape)",
         "spatial_batchnorm_forward", ("spatial_batchnorm_backward",)),
     "without moving the channels last"),
    (Bug("spatial batchnorm: unbiased running variance", "layers.py",
         'bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var',
         'bn_param["running_var"] = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)',
         "spatial_batchnorm_forward"),
     "unbiased batch variance"),
    (Bug("spatial batchnorm backward: dx not transposed back", "layers.py",
         "return _rows_to_channels_first(dx_rows, shape), dgamma, dbeta",
         "return dx_rows.reshape(shape), dgamma, dbeta", "spatial_batchnorm_backward"),
     "without transposing the channels back"),
    (Bug("group norm: statistics per channel", "layers.py",
         "grouped = x.reshape(n, G, (c // G) * h * w)", "grouped = x.reshape(n, c, h * w)",
         "spatial_groupnorm_forward", ("spatial_groupnorm_backward",)),
     "statistics are per channel"),
    (Bug("group norm backward: dgamma loses its (1, C, 1, 1) shape", "layers.py",
         "dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)",
         "dgamma = (dout * x_hat).sum(axis=(0, 2, 3))", "spatial_groupnorm_backward"),
     "(1, C, 1, 1) in this course"),
    (Bug("group norm backward: no gradient through mean and variance", "layers.py",
         "dx = _standardize_backward(dx_hat_grouped, x_hat_grouped, inv_std, axis=2)",
         "dx = dx_hat_grouped * inv_std", "spatial_groupnorm_backward"),
     "mean and variance is missing"),
]


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
        assert any(phrase in c.message for c in lost if c.function == bug.target), (
            f"no failing check of {bug.target} says {phrase!r}:\n"
            + "\n---\n".join(c.message for c in lost))
    if bug.name in NOTES:
        check_id, note = NOTES[bug.name]
        message = next(c.message for c in result.checks if c.id == check_id)
        assert note in message, message


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
}
CONVENTION_ALTERNATIVES = {"groupnorm_flat.py": "layers.py"}


def _with_alternative(name: str) -> Path:
    package = copy_reference()
    target = package / {**ALTERNATIVE_FILES, **CONVENTION_ALTERNATIVES}[name]
    target.write_text(target.read_text() + "\n\n" + (ALTERNATIVES / name).read_text())
    return package


@pytest.mark.parametrize("name", sorted(ALTERNATIVE_FILES))
def test_correct_alternative_gets_full_marks(name: str) -> None:
    package = _with_alternative(name)
    try:
        assert_full_marks(grade(package, ASSIGNMENT))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


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
    result = grade(STARTER, ASSIGNMENT)
    assert result.status == "graded", result.message
    assert result.score == 0
    for check in result.checks:
        assert check.status == "failed", (check.id, check.status, check.message)
        assert "NotImplementedError" in check.message, (check.id, check.message)
        assert "internal grader error" not in check.message


def test_starter_leaves_the_course_helpers_to_the_grader() -> None:
    """Course helpers are not copied into the starter: staging (and a release) supply them
    from reference/cs231n (manifest `replace` / `provide`), so there is one copy of each."""
    from grader import assignment as assignments
    layout = assignments.load(ASSIGNMENT).layout
    reference = Path(__file__).resolve().parents[2] / "reference" / "cs231n"
    for name in layout.replace + layout.provide:
        assert not (STARTER / name).exists(), name
        assert (reference / name).exists(), name
