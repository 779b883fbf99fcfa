"""Tests for reference/cs231n/classifiers/cnn.py: architecture, numerical gradients, overfitting digits."""

from __future__ import annotations

import numpy as np
import pytest

from reference.cs231n.classifiers.cnn import ThreeLayerConvNet
from reference.cs231n.layers import (affine_forward, conv_forward_naive, max_pool_forward_naive,
                                     relu_forward)
from reference.cs231n.solver import Solver


def _naive_scores(model, X):
    """The architecture spelled out with the naive layers: conv(same) - relu - pool - affine - relu - affine."""
    p = model.params
    pad = (p["W1"].shape[2] - 1) // 2
    out, _ = conv_forward_naive(X, p["W1"], p["b1"], {"stride": 1, "pad": pad})
    out, _ = relu_forward(out)
    out, _ = max_pool_forward_naive(out, {"pool_height": 2, "pool_width": 2, "stride": 2})
    out, _ = affine_forward(out, p["W2"], p["b2"])
    out, _ = relu_forward(out)
    out, _ = affine_forward(out, p["W3"], p["b3"])
    return out


def test_default_parameter_shapes_and_dtype():
    model = ThreeLayerConvNet()
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100), "b2": (100,),
                      "W3": (100, 10), "b3": (10,)}
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert np.all(model.params["b1"] == 0) and np.all(model.params["b3"] == 0)


@pytest.mark.parametrize("input_dim, filter_size, pooled", [
    ((1, 8, 8), 3, (4, 4)),
    ((2, 5, 7), 3, (2, 3)),   # odd sizes: the pool drops the last row/column
    ((3, 6, 6), 5, (3, 3)),
])
def test_scores_match_the_naive_composition(input_dim, filter_size, pooled):
    np.random.seed(0)
    model = ThreeLayerConvNet(input_dim=input_dim, num_filters=4, filter_size=filter_size,
                              hidden_dim=6, num_classes=5, weight_scale=0.3, dtype=np.float64)
    assert model.params["W2"].shape == (4 * pooled[0] * pooled[1], 6)
    X = np.random.randn(3, *input_dim)
    scores = model.loss(X)
    assert scores.shape == (3, 5)
    np.testing.assert_allclose(scores, _naive_scores(model, X), rtol=1e-12, atol=1e-14)


def test_initial_loss_near_log_num_classes_and_rises_with_reg():
    np.random.seed(0)
    model = ThreeLayerConvNet(input_dim=(3, 16, 16), num_filters=8, hidden_dim=20,
                              dtype=np.float64)
    X, y = np.random.randn(10, 3, 16, 16), np.random.randint(10, size=10)
    loss0, _ = model.loss(X, y)
    assert abs(loss0 - np.log(10)) < 1e-3
    model.reg = 0.5
    loss1, _ = model.loss(X, y)
    penalty = 0.5 * 0.5 * sum(np.sum(model.params[w] ** 2) for w in ("W1", "W2", "W3"))
    assert loss1 > loss0
    assert abs((loss1 - loss0) - penalty) < 1e-12


# (case id, seed, input_dim, reg).  Tiny nets: 2 images, 2 filters of 3x3,
# hidden 6, 5 classes, weight_scale 0.3, float64, h=1e-5.  As in
# test_fc_net.py, the seeds were picked once so that no gradient entry is so
# small that finite-difference round-off alone reaches 1e-7 relative error.
GRADIENT_CASES = [
    ("1x6x6", 3, (1, 6, 6), 0.0),
    ("1x6x6-reg", 1, (1, 6, 6), 0.3),
    ("2x5x7-reg", 0, (2, 5, 7), 0.3),
    ("2x5x7", 0, (2, 5, 7), 0.0),
]


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients(gradient_errors, case):
    _, seed, input_dim, reg = case
    np.random.seed(seed)
    X, y = np.random.randn(2, *input_dim), np.random.randint(5, size=2)
    model = ThreeLayerConvNet(input_dim=input_dim, num_filters=2, filter_size=3, hidden_dim=6,
                              num_classes=5, weight_scale=0.3, reg=reg, dtype=np.float64)
    errors, _ = gradient_errors(model, X, y)
    assert max(errors.values()) < 1e-7, errors


def test_overfits_50_digits(digits):
    """scikit-learn digits as 1x8x8 images: 50 points to >= 90% training accuracy in 20 epochs."""
    X, y = digits
    data = {"X_train": X[:50], "y_train": y[:50], "X_val": X[1000:1100], "y_val": y[1000:1100]}
    np.random.seed(0)
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=8, filter_size=3, hidden_dim=50,
                              weight_scale=0.2, dtype=np.float64)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    num_epochs=20, batch_size=25, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[0] < 0.9
    assert solver.train_acc_history[-1] >= 0.9, solver.train_acc_history
