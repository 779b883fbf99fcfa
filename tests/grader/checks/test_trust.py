"""grader/checks/trust.py: the judge verifies each training step and holds the parameters."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.spec import CheckFailure
from grader.checks.trust import judge_sgd, verify_step
from reference.cs231n.classifiers.fc_net import FullyConnectedNet


def _net(params: dict) -> FullyConnectedNet:
    state = np.random.get_state()
    net = FullyConnectedNet([12], input_dim=6, num_classes=4, dtype=np.float64)
    np.random.set_state(state)
    net.params = {k: np.array(v) for k, v in params.items()}
    return net


def _problem():
    r = np.random.default_rng(3)
    X, y = r.standard_normal((16, 6)), r.integers(4, size=16)
    params = {"W1": 0.5 * r.standard_normal((6, 12)), "b1": np.zeros(12),
              "W2": 0.5 * r.standard_normal((12, 4)), "b2": np.zeros(4)}
    return X, y, params


def test_verify_step_accepts_the_reference_and_reshapes_a_row_bias():
    X, y, params = _problem()
    loss, grads = _net(params).loss(X, y)
    claimed = {**grads, "b1": grads["b1"].reshape(1, -1)}
    checked = verify_step(loss, claimed, loss, grads, "step 1")
    assert checked["b1"].shape == (12,)


def test_verify_step_rejects_a_constant_log_c_and_zero_gradients():
    X, y, params = _problem()
    loss, grads = _net(params).loss(X, y)
    with pytest.raises(CheckFailure, match="your loss is"):
        verify_step(np.log(4), grads, loss, grads, "step 1")
    with pytest.raises(CheckFailure, match="is not the gradient of the loss"):
        verify_step(loss, {k: np.zeros_like(v) for k, v in grads.items()}, loss, grads, "step 1")


def _softmax_loss_with_log_guard(scores: np.ndarray, y: np.ndarray) -> float:
    """-log(p + 1e-7), the guard against log(0) of Note [A loss a little below the reference's]."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return float(np.mean(-np.log(p[np.arange(len(y)), y] + 1e-7)))


def test_a_loss_with_a_guard_inside_the_log_is_named_only_with_the_true_gradients():
    """Note [A loss a little below the reference's], both ways: the guarded loss still fails;
    it is named when the gradients match, not when they are wrong, nor for a loss above."""
    X, y, params = _problem()
    net = _net(params)  # some correct-class probabilities near 1e-3, as in the overfit check
    loss, grads = net.loss(X, y)
    guarded = _softmax_loss_with_log_guard(net.loss(X), y)
    assert loss - guarded > 1e-6 * loss  # past LOSS_RTOL: the check must still fail
    with pytest.raises(CheckFailure, match="inside the log"):
        verify_step(guarded, grads, loss, grads, "step 1")
    zeros = {k: np.zeros_like(v) for k, v in grads.items()}
    for claimed, claimed_grads in ((guarded, zeros), (2 * loss - guarded, grads)):
        with pytest.raises(CheckFailure, match="your loss is") as failure:
            verify_step(claimed, claimed_grads, loss, grads, "step 1")
        assert "inside the log" not in str(failure.value)


def test_verify_step_rejects_a_gradient_nudged_towards_other_weights():
    X, y, params = _problem()
    loss, grads = _net(params).loss(X, y)
    nudged = {**grads, "W2": grads["W2"] + 0.01 * np.linalg.norm(grads["W2"]) * np.eye(12, 4)}
    with pytest.raises(CheckFailure, match=r"grads\['W2'\]"):
        verify_step(loss, nudged, loss, grads, "step 3")


def test_judge_sgd_trains_the_parameters_it_holds():
    X, y, params = _problem()
    seen = []

    def step(current, X_batch, y_batch, where):
        seen.append({k: v.copy() for k, v in current.items()})
        loss, grads = _net(current).loss(X_batch, y_batch)
        return verify_step(loss, grads, loss, grads, where), loss

    def accuracy(current):
        return float(np.mean(np.argmax(_net(current).loss(X), axis=1) == y))

    run = judge_sgd(step, params, X, y, learning_rate=0.5, num_epochs=30, batch_size=8, seed=0,
                    accuracy=accuracy)
    assert len(seen) == 60 and len(run["losses"]) == 60
    assert all(np.array_equal(seen[0][k], params[k]) for k in params)  # the judge's start
    assert run["accuracy"] == 1.0 and run["accuracy"] == accuracy(run["params"])
    assert run["losses"][-1] < run["losses"][0]
