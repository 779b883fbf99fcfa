"""Tests for reference/cs231n/optim.py: published course vectors, defaults, and torch.optim."""

from __future__ import annotations

import numpy as np
import pytest

from reference.cs231n.gradient_check import rel_error
from reference.cs231n.optim import adam, rmsprop, sgd, sgd_momentum
from reference.published import PUBLISHED

N, D = 4, 5


def _linspace(lo, hi):
    return np.linspace(lo, hi, num=N * D).reshape(N, D)


W, DW = _linspace(-0.4, 0.6), _linspace(-0.6, 0.4)

# The published vectors themselves are checked once, in tests/reference/test_published.py.
_ADAM = next(v for v in PUBLISHED if v.name == "adam")
EXPECTED_ADAM_NEXT_W = _ADAM.expected["next_w"]


def test_adam_increments_t_before_bias_correction():
    """Using t=5 (increment after use) misses the published next_w by far more than rounding."""
    m = 0.9 * _linspace(0.6, 0.9) + 0.1 * DW
    v = 0.999 * _linspace(0.7, 0.5) + 0.001 * DW ** 2
    late = W - 1e-2 * (m / (1 - 0.9 ** 5)) / (np.sqrt(v / (1 - 0.999 ** 5)) + 1e-8)
    assert np.max(np.abs(late - EXPECTED_ADAM_NEXT_W)) > 1e-5


def test_adam_stores_the_incremented_t():
    config = {"learning_rate": 1e-2, "m": _linspace(0.6, 0.9), "v": _linspace(0.7, 0.5), "t": 5}
    _, config = adam(W, DW, config=config)
    assert config["t"] == 6


# --------------------------------------------------------------------------
# Contract: defaults, state, no mutation of inputs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("rule, defaults", [
    (sgd, {"learning_rate": 1e-2}),
    (sgd_momentum, {"learning_rate": 1e-2, "momentum": 0.9}),
    (rmsprop, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
    (adam, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
])
def test_default_config(rule, defaults):
    _, config = rule(W, DW)
    for key, value in defaults.items():
        assert config[key] == value, key


def test_first_steps_from_default_state():
    """Zero-initialised state gives the textbook first step of each rule."""
    lr = 1e-2
    np.testing.assert_array_equal(sgd(W, DW)[0], W - lr * DW)
    next_w, config = sgd_momentum(W, DW)
    np.testing.assert_allclose(config["velocity"], -lr * DW, rtol=1e-15)
    np.testing.assert_allclose(next_w, W - lr * DW, rtol=1e-15)
    next_w, config = rmsprop(W, DW)
    np.testing.assert_allclose(config["cache"], 0.01 * DW ** 2, rtol=1e-15)
    np.testing.assert_allclose(next_w, W - lr * DW / (0.1 * np.abs(DW) + 1e-8), rtol=1e-14)
    # Adam's first bias-corrected step has size lr * |dw| / (|dw| + eps), i.e. about lr.
    next_w, config = adam(W, DW, {"learning_rate": lr})
    assert config["t"] == 1
    np.testing.assert_allclose(next_w, W - lr * DW / (np.abs(DW) + 1e-8), rtol=1e-14)


@pytest.mark.parametrize("rule, state", [
    (sgd, {}),
    (sgd_momentum, {"velocity": _linspace(0.6, 0.9)}),
    (rmsprop, {"cache": _linspace(0.6, 0.9)}),
    (adam, {"m": _linspace(0.6, 0.9), "v": _linspace(0.7, 0.5), "t": 5}),
])
def test_inputs_are_not_written(rule, state):
    w, dw = W.copy(), DW.copy()
    originals = {k: np.copy(v) for k, v in state.items()}
    config = dict(state)
    next_w, _ = rule(w, dw, config)
    np.testing.assert_array_equal(w, W)
    np.testing.assert_array_equal(dw, DW)
    for key, value in originals.items():
        np.testing.assert_array_equal(state[key], value)
    assert next_w is not w


def test_config_carries_state_between_calls():
    """Two calls threading the config equal a hand-unrolled two-step momentum."""
    config = {"learning_rate": 0.1, "momentum": 0.5}
    w1, config = sgd_momentum(W, DW, config)
    w2, config = sgd_momentum(w1, DW, config)
    v1 = -0.1 * DW
    v2 = 0.5 * v1 - 0.1 * DW
    np.testing.assert_allclose(w2, W + v1 + v2, rtol=1e-15)


# --------------------------------------------------------------------------
# Against torch.optim
# --------------------------------------------------------------------------

def _gradient_sequence(steps, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 4)) for _ in range(steps)]


def _run_torch(torch, make_optimizer, w0, grads):
    """Apply torch's optimizer to w0 with the given gradient sequence; weights after each step."""
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    optimizer = make_optimizer([p])
    trajectory = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        trajectory.append(p.detach().numpy().copy())
    return trajectory, optimizer, p


def _run_ours(rule, config, w0, grads):
    w, trajectory = w0, []
    for g in grads:
        w, config = rule(w, g, config)
        trajectory.append(w)
    return trajectory, config


W0 = np.random.default_rng(1).standard_normal((3, 4))


@pytest.mark.torch
def test_sgd_matches_torch():
    torch = pytest.importorskip("torch")
    grads = _gradient_sequence(5)
    theirs, _, _ = _run_torch(torch, lambda ps: torch.optim.SGD(ps, lr=0.05), W0, grads)
    ours, _ = _run_ours(sgd, {"learning_rate": 0.05}, W0, grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


# Note [Momentum: course form vs torch form]
# The course keeps a velocity in parameter units,  v <- mu v - lr g,  w <- w + v;
# torch keeps a buffer in gradient units,  b <- mu b + g (b = g on the first
# step),  w <- w - lr b.  With a constant learning rate and zero initial
# velocity, induction gives v_t = -lr b_t, so the weights are identical step
# for step.  When lr changes between steps the forms part: the course's next
# step is  w + mu v - lr' g,  torch's is  w + mu (lr'/lr) v - lr' g.
@pytest.mark.torch
def test_sgd_momentum_matches_torch_at_constant_lr():
    torch = pytest.importorskip("torch")
    grads = _gradient_sequence(6)
    lr, mu = 0.05, 0.9
    theirs, optimizer, p = _run_torch(
        torch, lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mu), W0, grads)
    ours, config = _run_ours(sgd_momentum, {"learning_rate": lr, "momentum": mu}, W0, grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    buffer = optimizer.state[p]["momentum_buffer"].numpy()
    np.testing.assert_allclose(config["velocity"], -lr * buffer, rtol=1e-13, atol=1e-15)


@pytest.mark.torch
def test_sgd_momentum_differs_from_torch_when_lr_changes():
    torch = pytest.importorskip("torch")
    g1, g2 = _gradient_sequence(2)
    lr1, lr2, mu = 0.05, 0.02, 0.9
    p = torch.nn.Parameter(torch.tensor(W0))
    optimizer = torch.optim.SGD([p], lr=lr1, momentum=mu)
    p.grad = torch.tensor(g1)
    optimizer.step()
    optimizer.param_groups[0]["lr"] = lr2
    p.grad = torch.tensor(g2)
    optimizer.step()

    w1, config = sgd_momentum(W0, g1, {"learning_rate": lr1, "momentum": mu})
    v1 = config["velocity"]
    config["learning_rate"] = lr2
    w2, _ = sgd_momentum(w1, g2, config)

    np.testing.assert_allclose(w2, w1 + mu * v1 - lr2 * g2, rtol=1e-14)
    torch_predicted = w1 + mu * (lr2 / lr1) * v1 - lr2 * g2
    np.testing.assert_allclose(p.detach().numpy(), torch_predicted, rtol=1e-13, atol=1e-15)
    assert np.max(np.abs(w2 - p.detach().numpy())) > 1e-3


@pytest.mark.torch
def test_rmsprop_matches_torch():
    """torch's alpha is the course's decay_rate; both add eps after the square root."""
    torch = pytest.importorskip("torch")
    grads = _gradient_sequence(6)
    lr, decay, eps = 1e-2, 0.9, 1e-8
    theirs, optimizer, p = _run_torch(
        torch, lambda ps: torch.optim.RMSprop(ps, lr=lr, alpha=decay, eps=eps), W0, grads)
    ours, config = _run_ours(rmsprop, {"learning_rate": lr, "decay_rate": decay, "epsilon": eps},
                             W0, grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(config["cache"], optimizer.state[p]["square_avg"].numpy(),
                               rtol=1e-13)


@pytest.mark.torch
def test_adam_matches_torch_over_many_steps():
    torch = pytest.importorskip("torch")
    grads = _gradient_sequence(20)
    lr, b1, b2, eps = 1e-2, 0.8, 0.99, 1e-8
    theirs, optimizer, p = _run_torch(
        torch, lambda ps: torch.optim.Adam(ps, lr=lr, betas=(b1, b2), eps=eps), W0, grads)
    ours, config = _run_ours(adam, {"learning_rate": lr, "beta1": b1, "beta2": b2,
                                    "epsilon": eps}, W0, grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    state = optimizer.state[p]
    assert config["t"] == int(state["step"]) == 20
    np.testing.assert_allclose(config["m"], state["exp_avg"].numpy(), rtol=1e-12)
    np.testing.assert_allclose(config["v"], state["exp_avg_sq"].numpy(), rtol=1e-12)
