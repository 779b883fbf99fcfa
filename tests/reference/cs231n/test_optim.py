"""Tests for reference/cs231n/optim.py: published course vectors, defaults, and torch.optim."""

from __future__ import annotations

import numpy as np
import pytest

from reference.cs231n.gradient_check import rel_error
from reference.cs231n.optim import adam, rmsprop, sgd, sgd_momentum

# The course prints its expected arrays rounded to 8 decimals, so "reproduced"
# means every entry within half a unit of the 8th decimal (plus float64 slack).
# rel_error alone cannot reach 1e-8 on them: the published Adam next_w has an
# entry -0.03286534 whose rounding alone is a relative error of ~7e-8 (the
# course's own solution reports 1.1e-7).  Both are asserted below.
PUBLISHED_ABS_TOL = 0.5e-8 + 1e-12

N, D = 4, 5


def _linspace(lo, hi):
    return np.linspace(lo, hi, num=N * D).reshape(N, D)


W, DW = _linspace(-0.4, 0.6), _linspace(-0.6, 0.4)

EXPECTED_MOMENTUM_NEXT_W = np.asarray([
    [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
    [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
    [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
    [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
EXPECTED_MOMENTUM_VELOCITY = np.asarray([
    [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
    [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
    [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
    [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
EXPECTED_RMSPROP_NEXT_W = np.asarray([
    [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
    [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
    [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
    [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
EXPECTED_RMSPROP_CACHE = np.asarray([
    [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
    [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
    [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
    [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
EXPECTED_ADAM_NEXT_W = np.asarray([
    [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
    [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
    [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
    [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
EXPECTED_ADAM_V = np.asarray([
    [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
    [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
    [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
    [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
EXPECTED_ADAM_M = np.asarray([
    [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
    [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
    [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
    [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])


def assert_published(actual, expected, max_rel):
    """Every entry within the published rounding, and rel_error below `max_rel`."""
    __tracebackhide__ = True
    assert actual.shape == expected.shape
    worst = float(np.max(np.abs(actual - expected)))
    assert worst <= PUBLISHED_ABS_TOL, f"max abs diff {worst:.3e} exceeds published rounding"
    assert rel_error(actual, expected) < max_rel


# --------------------------------------------------------------------------
# Published course vectors
# --------------------------------------------------------------------------

def test_sgd_momentum_published():
    config = {"learning_rate": 1e-3, "velocity": _linspace(0.6, 0.9)}
    next_w, config = sgd_momentum(W, DW, config=config)
    assert_published(next_w, EXPECTED_MOMENTUM_NEXT_W, 1e-8)
    assert_published(config["velocity"], EXPECTED_MOMENTUM_VELOCITY, 1e-8)


def test_rmsprop_published():
    config = {"learning_rate": 1e-2, "cache": _linspace(0.6, 0.9)}
    next_w, config = rmsprop(W, DW, config=config)
    # next_w holds -0.02881884, whose 8-decimal rounding alone is rel ~7e-8.
    assert_published(next_w, EXPECTED_RMSPROP_NEXT_W, 1e-7)
    assert_published(config["cache"], EXPECTED_RMSPROP_CACHE, 1e-8)


def test_adam_published():
    config = {"learning_rate": 1e-2, "m": _linspace(0.6, 0.9), "v": _linspace(0.7, 0.5), "t": 5}
    next_w, config = adam(W, DW, config=config)
    # next_w holds -0.03286534: rounding alone allows rel ~7.6e-8, the exact
    # float64 value sits at 1.14e-7 from the printed one (the course's too).
    assert_published(next_w, EXPECTED_ADAM_NEXT_W, 1.2e-7)
    assert_published(config["v"], EXPECTED_ADAM_V, 1e-8)
    assert_published(config["m"], EXPECTED_ADAM_M, 1e-8)
    assert config["t"] == 6


def test_adam_increments_t_before_bias_correction():
    """Using t=5 (increment after use) misses the published next_w by far more than rounding."""
    m = 0.9 * _linspace(0.6, 0.9) + 0.1 * DW
    v = 0.999 * _linspace(0.7, 0.5) + 0.001 * DW ** 2
    late = W - 1e-2 * (m / (1 - 0.9 ** 5)) / (np.sqrt(v / (1 - 0.999 ** 5)) + 1e-8)
    assert np.max(np.abs(late - EXPECTED_ADAM_NEXT_W)) > 1e-5


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
