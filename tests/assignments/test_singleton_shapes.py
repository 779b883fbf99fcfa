"""Shapes the course accepts (Note [Singleton axes] in grader/checks/compare.py), in all
four numpy assignments.

Working student code keeps keepdims shapes: dgamma and dbeta (1, D), db (1, M),
running statistics (1, D) or, spatially, (1, C, 1, 1), and biases (1, H) in its
networks.  A copy of the reference rewritten in that style gets full marks in
fc_nets, batchnorm, dropout and cnn, and each accepted shape is noted on its
check; the same style with a wrong value still loses points on its own function.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import (Bug, apply_bug, assert_bug_caught, assert_full_marks, check_by_id,
                       copy_reference, grade, load_mutants)

# (file, text, replacement): every occurrence of the text is replaced.
KEEPDIMS = [
    ("layers.py", "db = dout.sum(axis=0)", "db = dout.sum(axis=0, keepdims=True)"),
    ("layers.py", "dbeta = dout.sum(axis=0)", "dbeta = dout.sum(axis=0, keepdims=True)"),
    ("layers.py", "dgamma = (dout * x_hat).sum(axis=0)",
     "dgamma = (dout * x_hat).sum(axis=0, keepdims=True)"),
    ("layers.py", 'bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))',
     'bn_param.get("running_mean", np.zeros((1, d), dtype=x.dtype))'),
    ("layers.py", 'bn_param.get("running_var", np.zeros(d, dtype=x.dtype))',
     'bn_param.get("running_var", np.zeros((1, d), dtype=x.dtype))'),
    ("classifiers/fc_net.py", '"b1": np.zeros(hidden_dim)', '"b1": np.zeros((1, hidden_dim))'),
    ("classifiers/fc_net.py", '"b2": np.zeros(num_classes)', '"b2": np.zeros((1, num_classes))'),
    ("classifiers/fc_net.py", "np.zeros(fan_out)", "np.zeros((1, fan_out))"),  # b{i}, beta{i}
    ("classifiers/fc_net.py", "np.ones(fan_out)", "np.ones((1, fan_out))"),
    # The conv layer's bias stays (F,): a course-style conv loop reads b[f].
    ("classifiers/cnn.py", '"b2": np.zeros(hidden_dim)', '"b2": np.zeros((1, hidden_dim))'),
    ("classifiers/cnn.py", '"b3": np.zeros(num_classes)', '"b3": np.zeros((1, num_classes))'),
]

# Spatial batchnorm written directly on (N, C, H, W), its statistics kept as (1, C, 1, 1).
SPATIAL_KEEPDIMS = '''

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    mode, eps = bn_param["mode"], bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    c = x.shape[1]
    g, b = gamma.reshape(1, c, 1, 1), beta.reshape(1, c, 1, 1)
    if mode == "train":
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        var = x.var(axis=(0, 2, 3), keepdims=True)
        std = np.sqrt(var + eps)
        x_hat = (x - mean) / std
        old_mean = np.reshape(bn_param.get("running_mean", np.zeros(c)), (1, c, 1, 1))
        old_var = np.reshape(bn_param.get("running_var", np.zeros(c)), (1, c, 1, 1))
        bn_param["running_mean"] = momentum * old_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * old_var + (1 - momentum) * var
        return g * x_hat + b, (x_hat, std, g)
    mean = np.reshape(bn_param["running_mean"], (1, c, 1, 1))
    var = np.reshape(bn_param["running_var"], (1, c, 1, 1))
    return g * (x - mean) / np.sqrt(var + eps) + b, None


def spatial_batchnorm_backward(dout, cache):
    x_hat, std, g = cache
    axes = (0, 2, 3)
    dx_hat = dout * g
    dx = (dx_hat - dx_hat.mean(axis=axes, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)) / std
    return dx, (dout * x_hat).sum(axis=axes, keepdims=True), dout.sum(axis=axes, keepdims=True)
'''


def keepdims_copy() -> Path:
    """The reference, rewritten to keep every keepdims shape."""
    package = copy_reference()
    for file, old, new in KEEPDIMS:
        path = package / file
        text = path.read_text()
        assert old in text, (file, old)
        path.write_text(text.replace(old, new))
    layers = package / "layers.py"
    layers.write_text(layers.read_text() + SPATIAL_KEEPDIMS)
    return package


@pytest.fixture(scope="module")
def keepdims():
    package = keepdims_copy()
    yield package
    shutil.rmtree(package.parent, ignore_errors=True)


def notes_of(result, check_id: str) -> list[str]:
    return check_by_id(result, check_id).details.get("notes", [])


def test_fc_nets_full_marks_with_keepdims_shapes(keepdims) -> None:
    result = grade(keepdims, "fc_nets")
    assert_full_marks(result)
    assert "grads['b1']: shape (1, 8) accepted; the course's shape is (8,)" in \
        notes_of(result, "TwoLayerNet.loss/grads_reg")
    assert any("params['b1']: shape (1, 50) accepted" in n
               for n in notes_of(result, "TwoLayerNet.__init__/params"))
    assert any("db: shape (1, 3) accepted" in n for n in notes_of(result, "affine_backward/db"))
    assert "db: shape (1, 3) accepted" in check_by_id(result, "affine_backward/db").message


def test_batchnorm_full_marks_with_keepdims_shapes(keepdims) -> None:
    result = grade(keepdims, "batchnorm")
    assert_full_marks(result)
    assert any("dgamma: shape (1, 5) accepted; the course's shape is (5,)" in n
               for n in notes_of(result, "batchnorm_backward/dgamma"))
    assert any("dbeta: shape (1, 5) accepted" in n for n in notes_of(result, "layernorm_backward/dbeta"))
    assert any("bn_param['running_mean']: shape (1, 3) accepted" in n
               for n in notes_of(result, "batchnorm_forward/running_averages"))
    assert any("grads['gamma1']: shape (1, 20) accepted" in n
               for n in notes_of(result, "FullyConnectedNet/batchnorm_norm_grads"))
    # layernorm's gradients in the gamma (1, D) of a course-style transposed batchnorm: the
    # points kept, each accepted shape said once per sample
    assert [n for n in notes_of(result, "layernorm_backward/dgamma")] == [
        f"dgamma: shape (1, {d}) accepted; the course's shape is ({d},)" for d in (5, 7, 4, 2)]


def test_dropout_full_marks_with_keepdims_shapes(keepdims) -> None:
    result = grade(keepdims, "dropout")
    assert_full_marks(result)
    notes = notes_of(result, "FullyConnectedNet.loss/no_dropout_matches_reference")
    assert any("params['b1']`: shape (1, 6) accepted; the course's shape is (6,)" in n
               for n in notes), notes
    assert any("grads['b1']: shape (1, 6) accepted" in n for n in notes), notes


def test_cnn_full_marks_with_keepdims_shapes(keepdims) -> None:
    result = grade(keepdims, "cnn")
    assert_full_marks(result)
    assert any("bn_param['running_mean']: shape (1, 3, 1, 1) accepted; the course's shape is (3,)"
               in n for n in notes_of(result, "spatial_batchnorm_forward/running_stats"))
    assert any("dgamma: shape (1, 3, 1, 1) accepted" in n
               for n in notes_of(result, "spatial_batchnorm_backward/dgamma"))
    assert any("params['b2']: shape (1, 10) accepted" in n
               for n in notes_of(result, "ThreeLayerConvNet/grad_b2"))


def _mutant(assignment: str, name: str) -> Bug:
    return next(bug for bug in load_mutants(assignment) if bug.name == name)


# Wrong values in the accepted shapes still cost points on their own function.
WRONG_IN_KEEPDIMS = [
    ("batchnorm", Bug("dgamma (1, D) from x, not x_hat", "layers.py",
                      "dgamma = (dout * x_hat).sum(axis=0, keepdims=True)\n    dx_hat = dout * gamma",
                      "dgamma = (dout * x).sum(axis=0, keepdims=True)\n    dx_hat = dout * gamma",
                      "batchnorm_backward"),
     "batchnorm_backward", ("batchnorm_backward/dgamma", "uses x instead of the normalized x_hat")),
    ("fc_nets", Bug("db (1, M) averaged", "layers.py", "db = dout.sum(axis=0, keepdims=True)",
                    "db = dout.mean(axis=0, keepdims=True)", "affine_backward",
                    ("affine_relu_backward",)),
     "affine", ("affine_backward/db", "(compared in the expected shape: db: shape (1, 3) accepted")),
    ("cnn", Bug("running mean (1, C, 1, 1) without momentum", "layers.py",
                'bn_param["running_mean"] = momentum * old_mean + (1 - momentum) * mean',
                'bn_param["running_mean"] = mean', "spatial_batchnorm_forward"),
     "spatial_batchnorm", ("spatial_batchnorm_forward/running_stats",
                           "(compared in the expected shape: bn_param['running_mean']: shape "
                           "(1, 3, 1, 1) accepted")),
    ("batchnorm", Bug("layernorm dgamma (1, D) averaged over the batch", "layers.py",
                      "dgamma = (dout * x_hat).sum(axis=0, keepdims=True)\n    dx = "
                      "_standardize_backward(dout * gamma, x_hat, inv_std, axis=1)",
                      "dgamma = (dout * x_hat).mean(axis=0, keepdims=True)\n    dx = "
                      "_standardize_backward(dout * gamma, x_hat, inv_std, axis=1)",
                      "layernorm_backward", ("FullyConnectedNet.loss",)),
     "layernorm", ("layernorm_backward/dgamma", "(compared in the expected shape: dgamma: shape "
                                               "(1, 5) accepted")),
    # networks with (1, H) biases, and a planted bug of the assignment
    ("fc_nets", _mutant("fc_nets", "FullyConnectedNet regularises the biases"), "FullyConnectedNet",
     ("FullyConnectedNet.loss/loss_reg", "the biases are penalised too")),
    ("dropout", _mutant("dropout", "net backward skips dropout_backward"), "FullyConnectedNet",
     ("FullyConnectedNet.loss/dropout_gradients", "does not match your own loss")),
]


@pytest.mark.parametrize("assignment, bug, select, expected", WRONG_IN_KEEPDIMS,
                         ids=[bug.name for _, bug, _, _ in WRONG_IN_KEEPDIMS])
def test_wrong_values_in_keepdims_shapes_still_lose_points(assignment, bug, select,
                                                           expected) -> None:
    package = keepdims_copy()
    try:
        apply_bug(package, bug)
        result = grade(package, assignment, select=select)
        assert_bug_caught(result, bug)
        check_id, phrase = expected
        check = check_by_id(result, check_id)
        assert check.points < check.max_points and phrase in check.message, check.message
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
