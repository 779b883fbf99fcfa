"""grader/checks/trust.py: the judge verifies each training step and holds the parameters."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.compare import collecting_notes
from grader.checks.spec import CheckFailure
from grader.checks.trust import guard_gap, judge_sgd, verify_step
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


def test_a_loss_with_a_guard_inside_the_log_is_accepted_in_training_only_with_the_true_gradients():
    """Note [A loss a little below the reference's], both ways: the guarded loss with the true
    gradients passes the step with a note naming the guard; with wrong gradients, a loss above
    the reference's by as much, one further below than a guard can take it, or a step whose
    loss is not a softmax's (no guard given), the step fails with the numbers alone."""
    X, y, params = _problem()
    net = _net(params)  # some correct-class probabilities near 1e-3, as in the overfit check
    loss, grads = net.loss(X, y)
    scores = net.loss(X)
    guarded = _softmax_loss_with_log_guard(scores, y)
    gap = lambda: guard_gap(scores, y)
    assert loss - guarded > 1e-6 * loss  # past LOSS_RTOL
    assert 0 < loss - guarded < gap()
    with collecting_notes() as notes:
        checked = verify_step(guarded, grads, loss, grads, "step 1", gap)
    assert set(checked) == set(grads)
    assert len(notes) == 1 and "inside the log" in notes[0] and "accepted" in notes[0], notes
    zeros = {k: np.zeros_like(v) for k, v in grads.items()}
    for claimed, claimed_grads, guard in ((guarded, zeros, gap), (2 * loss - guarded, grads, gap),
                                          (loss - 2 * gap(), grads, gap),
                                          (guarded, grads, None)):
        with collecting_notes() as notes, pytest.raises(CheckFailure, match="your loss is") as failure:
            verify_step(claimed, claimed_grads, loss, grads, "step 1", guard)
        assert "inside the log" not in str(failure.value) and not notes


def test_the_guard_gap_is_what_a_guard_of_guard_eps_takes_off_the_loss():
    X, y, params = _problem()
    scores = _net(params).loss(X)
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = (np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))[np.arange(len(y)), y]
    expected = np.mean(-np.log(p)) - np.mean(-np.log(p + 1e-5))
    assert guard_gap(scores, y) == pytest.approx(expected, rel=1e-9)
    huge = np.zeros((2, 3)); huge[:, 1] = 2000.0  # p of class 0 underflows to 0: no overflow
    assert np.isfinite(guard_gap(huge, np.array([0, 0])))


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
