"""Tests for the trusted numpy layers (reference/cs231n/layers.py).

Four kinds of evidence, strongest first:
  * the course's published outputs, reproduced to their printed precision;
  * backward passes against central differences on seeded shapes with an edge
    case each (N=1, stride 2, pad 0, odd and non-square sizes);
  * forward and backward against PyTorch (float64 autograd) and forward against
    Keras, with the running-statistics conventions compared explicitly;
  * properties: dropout statistics, loss sanity values, inputs left untouched.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference.cs231n.gradient_check import eval_numerical_gradient_array, rel_error
from reference.cs231n.layers import (affine_backward, affine_forward, batchnorm_backward,
                                     batchnorm_backward_alt, batchnorm_forward,
                                     conv_backward_naive, conv_forward_naive, dropout_backward,
                                     dropout_forward, layernorm_backward, layernorm_forward,
                                     max_pool_backward_naive, max_pool_forward_naive,
                                     relu_backward, relu_forward, softmax_loss,
                                     spatial_batchnorm_backward, spatial_batchnorm_forward,
                                     spatial_groupnorm_backward, spatial_groupnorm_forward,
                                     svm_loss)

GRAD_TOL = 1e-7          # float64 central differences vs analytic gradients
PRINTED_DECIMALS = 8     # the notebooks print arrays rounded to 8 decimals
PRINTED_TOL = 0.5 * 10.0 ** -PRINTED_DECIMALS + 1e-12


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

# Note [Fourth-order differences for smooth layers]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# rel_error is element-wise, so an entry of the true gradient that happens to
# be small (say 5e-5 in a batchnorm dx whose entries are ~1e-1) is measured
# against the central difference's round-off, about eps * |f| / h ~ 1e-11 at
# h = 1e-5: rel_error ~ 1e-7 with a correct gradient.  For the smooth layers
# (the normalisations, softmax) we therefore combine two central differences
# from eval_numerical_gradient_array, at h and h/2, into the fourth-order
# estimate (4 D(h/2) - D(h)) / 3 with h = 1e-3: its truncation error is
# O(h^4) and its round-off 100x smaller, so correct gradients land near 1e-9
# and the 1e-7 bound keeps two orders of margin.  Piecewise-linear layers
# (affine, relu, conv, pooling, dropout, svm) have no truncation error between
# kinks, and a large step could cross a kink, so they keep the course's plain
# central difference at h = 1e-5.

SMOOTH_STEP = 1e-3


def numerical_gradient(f, x, df, smooth=False):
    """Numerical gradient of <df, f(x)>, fourth-order when `smooth`.

    See Note [Fourth-order differences for smooth layers].  `x` is not modified.
    """
    if not smooth:
        return eval_numerical_gradient_array(f, x.copy(), df)
    coarse = eval_numerical_gradient_array(f, x.copy(), df, h=SMOOTH_STEP)
    fine = eval_numerical_gradient_array(f, x.copy(), df, h=SMOOTH_STEP / 2)
    return (4 * fine - coarse) / 3


def numeric_grads(forward, inputs, dout, smooth=False):
    """Numerical gradients of <dout, forward(**inputs)> for every input, by name."""
    grads = {}
    for name in inputs:
        def f(value, name=name):
            return forward(**{**inputs, name: value})
        grads[name] = numerical_gradient(f, inputs[name], dout, smooth)
    return grads


def assert_grads_match(analytic, numeric, tol=GRAD_TOL):
    for name, expected in numeric.items():
        got = analytic[name]
        assert got.shape == expected.shape, f"d{name}: shape {got.shape} != {expected.shape}"
        err = rel_error(got, expected)
        assert err < tol, f"d{name}: rel_error {err:.2e} >= {tol:.0e}"


def assert_matches_printed(actual, printed, published_difference=None):
    """`actual` agrees with a printed array to its printed precision.

    When the notebook also printed rel_error(ours, printed), reproduce that too:
    it pins down the unrounded values far more tightly than the rounding does.
    """
    printed = np.asarray(printed)
    assert actual.shape == printed.shape
    worst = np.max(np.abs(actual - printed))
    assert worst <= PRINTED_TOL, f"max |ours - printed| = {worst:.3e}"
    if published_difference is not None:
        ours = rel_error(actual, printed)
        assert ours == pytest.approx(published_difference, rel=1e-6), (ours, published_difference)


# ---------------------------------------------------------------------------
# published values
# ---------------------------------------------------------------------------

def test_affine_forward_published():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    d = int(np.prod(input_shape))
    x = np.linspace(-0.1, 0.5, num=num_inputs * d).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=output_dim * d).reshape(d, output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, w, b)
    # The seed export shows the second row; the first is the course's value for
    # the same inputs, confirmed by reproducing the printed difference 9.77e-10.
    expected = [[1.49834967, 1.70660132, 1.91485297],
                [3.25553199, 3.5141327, 3.77273342]]
    assert_matches_printed(out, expected, published_difference=9.769849468192957e-10)
    assert rel_error(out, np.asarray(expected)) < 1e-8


def test_relu_forward_published():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = relu_forward(x)
    expected = [[0.0, 0.0, 0.0, 0.0],
                [0.0, 0.0, 0.04545455, 0.13636364],
                [0.22727273, 0.31818182, 0.40909091, 0.5]]
    assert_matches_printed(out, expected, published_difference=4.999999798022158e-08)


def test_conv_forward_naive_published():
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=int(np.prod(x_shape))).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=int(np.prod(w_shape))).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    expected = [[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                 [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                 [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                 [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                 [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]]
    # rel_error against 8-decimal values cannot go below ~3e-8 for the entry
    # -0.0876; the course itself printed 2.2e-8.  We reproduce that number.
    assert_matches_printed(out, expected, published_difference=2.2121476417505994e-08)


def test_max_pool_forward_naive_published():
    x_shape = (2, 3, 4, 4)
    x = np.linspace(-0.3, 0.4, num=int(np.prod(x_shape))).reshape(x_shape)
    out, _ = max_pool_forward_naive(x, {"pool_width": 2, "pool_height": 2, "stride": 2})
    expected = [[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                 [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                 [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
                [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                 [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                 [[0.32631579, 0.34105263], [0.38526316, 0.4]]]]
    assert_matches_printed(out, expected, published_difference=4.1666665157267834e-08)


def test_losses_published():
    rs = np.random.RandomState(231)          # the course's np.random.seed(231) stream
    x = 0.001 * rs.randn(50, 10)
    y = rs.randint(10, size=50)
    assert svm_loss(x, y)[0] == pytest.approx(8.999602749096233, rel=1e-12)
    assert softmax_loss(x, y)[0] == pytest.approx(2.302545844500738, rel=1e-12)


def _two_layer_activations(rs, n, d1=50, d2=60, d3=3, w1=None, w2=None):
    x = rs.randn(n, d1)
    w1 = rs.randn(d1, d2) if w1 is None else w1
    w2 = rs.randn(d2, d3) if w2 is None else w2
    return np.maximum(0, x @ w1) @ w2


def test_batchnorm_train_forward_published():
    rs = np.random.RandomState(231)
    a = _two_layer_activations(rs, 200)
    np.testing.assert_allclose(a.mean(axis=0), [-2.3814598, -13.18038246, 1.91780462], atol=PRINTED_TOL)
    out, _ = batchnorm_forward(a, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), [0.99999999, 1.0, 1.0], atol=PRINTED_TOL)
    out, _ = batchnorm_forward(a, np.array([1.0, 2, 3]), np.array([11.0, 12, 13]), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), [11, 12, 13], atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), [0.99999999, 1.99999999, 2.99999999], atol=PRINTED_TOL)


def test_batchnorm_test_forward_published():
    """50 training passes then one test pass: pins down the running-average convention."""
    rs = np.random.RandomState(231)
    w1, w2 = rs.randn(50, 60), rs.randn(60, 3)
    bn_param = {"mode": "train"}
    for _ in range(50):
        batchnorm_forward(_two_layer_activations(rs, 200, w1=w1, w2=w2), np.ones(3), np.zeros(3), bn_param)
    bn_param["mode"] = "test"
    out, _ = batchnorm_forward(_two_layer_activations(rs, 200, w1=w1, w2=w2), np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(out.mean(axis=0), [-0.03927354, -0.04349152, -0.10452688], atol=PRINTED_TOL)
    np.testing.assert_allclose(out.std(axis=0), [1.01531428, 1.01238373, 0.97819988], atol=PRINTED_TOL)


def test_layernorm_forward_published():
    rs = np.random.RandomState(231)
    a = _two_layer_activations(rs, 4)
    np.testing.assert_allclose(a.std(axis=1), [10.07429373, 28.39478981, 35.28360729, 4.01831507],
                               atol=PRINTED_TOL)
    out, _ = layernorm_forward(a, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), [0.99999995, 0.99999999, 1.0, 0.99999969], atol=PRINTED_TOL)
    out, _ = layernorm_forward(a, np.full(3, 3.0), np.full(3, 5.0), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=1), 5, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), [2.99999985, 2.99999998, 2.99999999, 2.99999907],
                               atol=PRINTED_TOL)


def test_spatial_batchnorm_forward_published():
    rs = np.random.RandomState(231)
    x = 4 * rs.randn(2, 3, 4, 5) + 10
    out, _ = spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), [0.99999962, 0.99999951, 0.9999996], atol=PRINTED_TOL)
    out, _ = spatial_batchnorm_forward(x, np.array([3, 4, 5]), np.array([6, 7, 8]), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), [6, 7, 8], atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), [2.99999885, 3.99999804, 4.99999798], atol=PRINTED_TOL)

    rs = np.random.RandomState(231)
    bn_param = {"mode": "train"}
    for _ in range(50):
        spatial_batchnorm_forward(2.3 * rs.randn(10, 4, 11, 12) + 13, np.ones(4), np.zeros(4), bn_param)
    bn_param["mode"] = "test"
    out, _ = spatial_batchnorm_forward(2.3 * rs.randn(10, 4, 11, 12) + 13, np.ones(4), np.zeros(4), bn_param)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), [-0.08034406, 0.07562881, 0.05716371, 0.04378383],
                               atol=PRINTED_TOL)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), [0.96718744, 1.0299714, 1.02887624, 1.00585577],
                               atol=PRINTED_TOL)


def test_spatial_groupnorm_forward_published():
    rs = np.random.RandomState(231)
    n, c, g = 2, 6, 2
    x = 4 * rs.randn(n, c, 4, 5) + 10
    out, _ = spatial_groupnorm_forward(x, np.ones((1, c, 1, 1)), np.zeros((1, c, 1, 1)), g, {})
    groups = out.reshape(n * g, -1)
    np.testing.assert_allclose(groups.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(groups.std(axis=1), [0.99999963, 0.99999948, 0.99999973, 0.99999968],
                               atol=PRINTED_TOL)


@pytest.fixture
def global_rng_restored():
    """Dropout uses numpy's global generator (as the course does); leave it as found."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def test_dropout_forward_published(global_rng_restored):
    np.random.seed(231)
    x = np.random.randn(500, 500) + 10
    published = {0.25: (10.014059116977283, 0.749784),
                 0.4: (9.977917658761159, 0.600796),
                 0.7: (9.987811912159428, 0.30074)}
    for p, (train_mean, zero_fraction) in published.items():
        out, _ = dropout_forward(x, {"mode": "train", "p": p})
        out_test, _ = dropout_forward(x, {"mode": "test", "p": p})
        assert out.mean() == pytest.approx(train_mean, rel=1e-12)
        assert (out == 0).mean() == zero_fraction
        np.testing.assert_array_equal(out_test, x)


# ---------------------------------------------------------------------------
# affine, relu
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, m", [((10, 2, 3), 5), ((1, 4), 3), ((3, 5, 1, 2), 1)],
                         ids=["course", "N=1", "4d-M=1"])
def test_affine_backward_numeric(x_shape, m):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    d = int(np.prod(x_shape[1:]))
    inputs = {"x": x, "w": rng.standard_normal((d, m)), "b": rng.standard_normal(m)}
    dout = rng.standard_normal((x_shape[0], m))
    out, cache = affine_forward(**inputs)
    assert out.shape == (x_shape[0], m)
    dx, dw, db = affine_backward(dout, cache)
    assert_grads_match({"x": dx, "w": dw, "b": db},
                       numeric_grads(lambda **a: affine_forward(**a)[0], inputs, dout))


@pytest.mark.parametrize("shape", [(10, 10), (1, 7), (2, 3, 5)], ids=["course", "N=1", "3d"])
def test_relu_backward_numeric(shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(shape)
    _, cache = relu_forward(x)
    assert_grads_match({"x": relu_backward(dout, cache)},
                       numeric_grads(lambda x: relu_forward(x)[0], {"x": x}, dout))


def test_relu_gradient_at_zero_is_zero():
    x = np.array([[-1.0, 0.0, 2.0]])
    _, cache = relu_forward(x)
    np.testing.assert_array_equal(relu_backward(np.ones_like(x), cache), [[0.0, 0.0, 1.0]])


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss], ids=["softmax", "svm"])
@pytest.mark.parametrize("n, c", [(50, 10), (1, 3), (7, 2)], ids=["course", "N=1", "C=2"])
def test_loss_gradient_numeric(loss_fn, n, c):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c))
    y = rng.integers(c, size=n)
    loss, dx = loss_fn(x, y)
    assert isinstance(loss, float)
    smooth = loss_fn is softmax_loss
    dx_num = numerical_gradient(lambda v: np.asarray(loss_fn(v, y)[0]), x, np.ones(()), smooth)
    assert rel_error(dx, dx_num) < GRAD_TOL


def test_softmax_initial_loss_is_log_c_and_svm_is_c_minus_1():
    rng = np.random.default_rng(3)
    c = 10
    x = 1e-3 * rng.standard_normal((200, c))
    y = rng.integers(c, size=200)
    assert softmax_loss(x, y)[0] == pytest.approx(math.log(c), abs=1e-2)
    assert svm_loss(x, y)[0] == pytest.approx(c - 1, abs=1e-2)


def test_softmax_loss_is_stable_for_large_logits():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5))
    y = rng.integers(5, size=6)
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        shifted = softmax_loss(x + 1e3, y)
        big = softmax_loss(np.array([[1e3, 0.0, -1e3]]), np.array([1]))
    reference = softmax_loss(x, y)
    assert shifted[0] == pytest.approx(reference[0], rel=1e-12)
    np.testing.assert_allclose(shifted[1], reference[1], rtol=1e-9, atol=1e-15)
    # loss = log(1 + e^-1000 + e^-2000) + 1000 - 0 = 1000 up to e^-1000
    assert big[0] == pytest.approx(1000.0, rel=1e-15)
    np.testing.assert_allclose(big[1], [[1.0, -1.0, 0.0]], atol=1e-300)


def test_svm_loss_ignores_margins_that_are_met():
    x = np.array([[3.0, 1.0, 2.5]])       # correct class 0
    loss, dx = svm_loss(x, np.array([0]))
    # margins: 1 - 3 + 1 = -1 -> 0;  2.5 - 3 + 1 = 0.5
    assert loss == pytest.approx(0.5)
    np.testing.assert_allclose(dx, [[-1.0, 0.0, 1.0]])


@pytest.mark.torch
def test_softmax_loss_matches_torch_cross_entropy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = 3 * rng.standard_normal((8, 6))
    y = rng.integers(6, size=8)
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(y))
    lt.backward()
    loss, dx = softmax_loss(x, y)
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    assert rel_error(dx, xt.grad.numpy()) < 1e-12


@pytest.mark.torch
def test_svm_loss_matches_torch_multi_margin_loss():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 6))
    y = rng.integers(6, size=8)
    xt = torch.tensor(x, requires_grad=True)
    # torch divides each sample's hinge sum by C; the course's svm does not.
    lt = torch.nn.functional.multi_margin_loss(xt, torch.tensor(y), margin=1.0) * 6
    lt.backward()
    loss, dx = svm_loss(x, y)
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    assert rel_error(dx, xt.grad.numpy()) < 1e-12


# ---------------------------------------------------------------------------
# batch normalisation
# ---------------------------------------------------------------------------

# With N=2 (or D=2 for layernorm) the normalised values are +-1 up to eps, so
# the true gradient is O(eps) and below what finite differences resolve; the
# smallest informative batch is 3.  N=1 is the exactly-degenerate edge case.
BN_SHAPES = [(4, 5), (7, 3), (3, 6), (1, 4)]
BN_IDS = ["course", "odd", "N=3", "N=1-degenerate"]


def _bn_inputs(shape, seed):
    rng = np.random.default_rng(seed)
    n, d = shape
    return (5 * rng.standard_normal((n, d)) + 12, rng.standard_normal(d), rng.standard_normal(d),
            rng.standard_normal((n, d)))


@pytest.mark.parametrize("shape", BN_SHAPES, ids=BN_IDS)
@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt], ids=["graph", "alt"])
def test_batchnorm_backward_numeric(shape, backward):
    x, gamma, beta, dout = _bn_inputs(shape, 7)
    inputs = {"x": x, "gamma": gamma, "beta": beta}
    forward = lambda **a: batchnorm_forward(a["x"], a["gamma"], a["beta"], {"mode": "train"})[0]
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = backward(dout, cache)
    assert_grads_match({"x": dx, "gamma": dgamma, "beta": dbeta},
                       numeric_grads(forward, inputs, dout, smooth=True))


def test_batchnorm_with_one_sample_outputs_beta_and_passes_no_gradient():
    x, gamma, beta, dout = _bn_inputs((1, 4), 8)
    out, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_array_equal(out, beta[None, :])
    np.testing.assert_array_equal(batchnorm_backward(dout, cache)[0], 0.0)


@pytest.mark.parametrize("shape", [(100, 50), (3, 7)], ids=["course-like", "small"])
def test_batchnorm_backward_alt_equals_graph_version(shape):
    x, gamma, beta, dout = _bn_inputs(shape, 9)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    graph = batchnorm_backward(dout, cache)
    alt = batchnorm_backward_alt(dout, cache)
    for name, a, b in zip(["dx", "dgamma", "dbeta"], graph, alt):
        assert rel_error(a, b) < 1e-10, name


def test_batchnorm_running_average_convention():
    """running = momentum * running + (1 - momentum) * batch stat, biased variance.

    See Note [Running statistics] in layers.py.
    """
    rng = np.random.default_rng(10)
    x = 3 * rng.standard_normal((6, 4)) + 1
    old_mean, old_var = rng.standard_normal(4), rng.random(4) + 0.5
    bn_param = {"mode": "train", "momentum": 0.8, "running_mean": old_mean.copy(),
                "running_var": old_var.copy()}
    batchnorm_forward(x, np.ones(4), np.zeros(4), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 0.8 * old_mean + 0.2 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(bn_param["running_var"], 0.8 * old_var + 0.2 * x.var(axis=0), rtol=1e-14)

    fresh = {"mode": "train"}                  # defaults: zeros, momentum 0.9
    batchnorm_forward(x, np.ones(4), np.zeros(4), fresh)
    np.testing.assert_allclose(fresh["running_mean"], 0.1 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(fresh["running_var"], 0.1 * x.var(axis=0), rtol=1e-14)
    assert fresh["running_mean"].shape == (4,)


def test_batchnorm_test_mode_uses_running_statistics_and_keeps_them():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    bn_param = {"mode": "test", "running_mean": mean.copy(), "running_var": var.copy(), "eps": 1e-3}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-14)
    np.testing.assert_array_equal(bn_param["running_mean"], mean)
    np.testing.assert_array_equal(bn_param["running_var"], var)


def test_batchnorm_rejects_unknown_mode_and_test_mode_backward():
    x, gamma, beta, dout = _bn_inputs((3, 2), 12)
    with pytest.raises(ValueError):
        batchnorm_forward(x, gamma, beta, {"mode": "eval"})
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "test"})
    with pytest.raises(ValueError):
        batchnorm_backward(dout, cache)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(6, 4), (3, 2)], ids=["6x4", "N=3"])
def test_batchnorm_matches_torch(shape):
    """Same forward/backward; running_var differs by torch's unbiased (N/(N-1)) update."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, gamma, beta, dout = _bn_inputs(shape, 13)
    n, d = shape
    rng = np.random.default_rng(14)
    mean0, var0 = rng.standard_normal(d), rng.random(d) + 0.5

    bn_param = {"mode": "train", "running_mean": mean0.copy(), "running_var": var0.copy()}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)

    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    rm, rv = torch.tensor(mean0), torch.tensor(var0)
    # torch's momentum weighs the new batch value: 1 - 0.9.
    ot = F.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=0.1, eps=1e-5)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < 1e-12
    assert_grads_match({"x": dx, "gamma": dgamma, "beta": dbeta},
                       {"x": xt.grad.numpy(), "gamma": gt.grad.numpy(), "beta": bt.grad.numpy()}, tol=1e-10)

    np.testing.assert_allclose(bn_param["running_mean"], rm.numpy(), rtol=1e-13)
    # Documented difference: torch folds the unbiased variance into running_var.
    ours_step = bn_param["running_var"] - 0.9 * var0
    torch_step = rv.numpy() - 0.9 * var0
    np.testing.assert_allclose(torch_step, ours_step * n / (n - 1), rtol=1e-10)
    assert not np.allclose(ours_step, torch_step)

    # Test mode with the same statistics agrees exactly.
    bn_param["mode"] = "test"
    out_test, _ = batchnorm_forward(x, gamma, beta, bn_param)
    ot_test = F.batch_norm(torch.tensor(x), torch.tensor(bn_param["running_mean"]),
                           torch.tensor(bn_param["running_var"]), torch.tensor(gamma),
                           torch.tensor(beta), training=False, eps=1e-5)
    assert rel_error(out_test, ot_test.numpy()) < 1e-12


# ---------------------------------------------------------------------------
# layer normalisation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 5), (1, 6), (3, 7), (5, 3)], ids=["course", "N=1", "odd", "D=3"])
def test_layernorm_backward_numeric(shape):
    x, gamma, beta, dout = _bn_inputs(shape, 15)
    inputs = {"x": x, "gamma": gamma, "beta": beta}
    forward = lambda **a: layernorm_forward(a["x"], a["gamma"], a["beta"], {})[0]
    _, cache = layernorm_forward(x, gamma, beta, {})
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    assert_grads_match({"x": dx, "gamma": dgamma, "beta": dbeta},
                       numeric_grads(forward, inputs, dout, smooth=True))


def test_layernorm_eps_is_read_from_ln_param():
    x = np.array([[0.0, 1.0]])                  # variance 0.25
    out, _ = layernorm_forward(x, np.ones(2), np.zeros(2), {"eps": 0.75})
    np.testing.assert_allclose(out, [[-0.5, 0.5]], rtol=1e-15)


@pytest.mark.torch
def test_layernorm_matches_torch():
    torch = pytest.importorskip("torch")
    x, gamma, beta, dout = _bn_inputs((5, 7), 16)
    out, cache = layernorm_forward(x, gamma, beta, {})
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    ot = torch.nn.functional.layer_norm(xt, (7,), gt, bt, eps=1e-5)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < 1e-12
    assert_grads_match({"x": dx, "gamma": dgamma, "beta": dbeta},
                       {"x": xt.grad.numpy(), "gamma": gt.grad.numpy(), "beta": bt.grad.numpy()}, tol=1e-10)


# ---------------------------------------------------------------------------
# Keras cross-checks (TensorFlow is imported once for this module)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    tf = pytest.importorskip("tensorflow")
    return tf.keras


@pytest.mark.tf
def test_batchnorm_matches_keras(keras):
    """Keras uses the course's momentum convention and a biased moving variance."""
    x, gamma, beta, _ = _bn_inputs((6, 4), 17)
    rng = np.random.default_rng(18)
    mean0, var0 = rng.standard_normal(4), rng.random(4) + 0.5
    layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype="float64")
    layer.build((None, 4))
    layer.set_weights([gamma, beta, mean0, var0])   # gamma, beta, moving_mean, moving_variance
    out_k = np.asarray(layer(x, training=True))

    bn_param = {"mode": "train", "running_mean": mean0.copy(), "running_var": var0.copy()}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    assert rel_error(out, out_k) < 1e-10
    _, _, moving_mean, moving_var = layer.get_weights()
    np.testing.assert_allclose(bn_param["running_mean"], moving_mean, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], moving_var, rtol=1e-12)

    bn_param["mode"] = "test"
    out_test, _ = batchnorm_forward(x, gamma, beta, bn_param)
    assert rel_error(out_test, np.asarray(layer(x, training=False))) < 1e-10


@pytest.mark.tf
def test_layernorm_matches_keras(keras):
    x, gamma, beta, _ = _bn_inputs((5, 7), 19)
    layer = keras.layers.LayerNormalization(axis=-1, epsilon=1e-5, dtype="float64")
    layer.build((None, 7))
    layer.set_weights([gamma, beta])
    out, _ = layernorm_forward(x, gamma, beta, {})
    assert rel_error(out, np.asarray(layer(x))) < 1e-10


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_keeps_fraction_p_and_preserves_mean(p, global_rng_restored):
    rng = np.random.default_rng(20)
    x = rng.standard_normal((400, 500)) + 10
    out, (_, mask) = dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
    kept = (out != 0).mean()
    # 5 standard deviations of a binomial proportion over 200000 draws
    assert abs(kept - p) < 5 * math.sqrt(p * (1 - p) / x.size)
    # E[out] = x; the mean's standard deviation is sqrt(E[x^2] (1-p)/p / n)
    sigma = math.sqrt(np.mean(x ** 2) * (1 - p) / p / x.size)
    assert abs(out.mean() - x.mean()) < 5 * sigma
    assert set(np.unique(mask)) == {0.0, 1.0 / p}
    np.testing.assert_array_equal(out, x * mask)


def test_dropout_seed_fixes_the_mask(global_rng_restored):
    x = np.random.default_rng(21).standard_normal((30, 40))
    a, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 7})
    b, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 7})
    c, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 8})
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_test_mode_is_identity_and_p1_keeps_all(global_rng_restored):
    x = np.random.default_rng(22).standard_normal((4, 5))
    out, cache = dropout_forward(x, {"mode": "test", "p": 0.3})
    np.testing.assert_array_equal(out, x)
    assert out is not x
    dout = np.ones_like(x)
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)
    out, _ = dropout_forward(x, {"mode": "train", "p": 1.0, "seed": 0})
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("p", [0.0, 1.5])
def test_dropout_rejects_invalid_keep_probability(p):
    with pytest.raises(ValueError):
        dropout_forward(np.ones(3), {"mode": "train", "p": p})


@pytest.mark.parametrize("shape", [(10, 10), (1, 6), (2, 3, 5)], ids=["course", "N=1", "3d"])
def test_dropout_backward_uses_mask(shape, global_rng_restored):
    rng = np.random.default_rng(23)
    x = rng.standard_normal(shape) + 10
    dout = rng.standard_normal(shape)
    param = {"mode": "train", "p": 0.2, "seed": 123}
    _, cache = dropout_forward(x, param)
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx, dout * cache[1])
    dx_num = eval_numerical_gradient_array(lambda v: dropout_forward(v, param)[0], x.copy(), dout)
    assert rel_error(dx, dx_num) < GRAD_TOL


# ---------------------------------------------------------------------------
# convolution and pooling (naive)
# ---------------------------------------------------------------------------

# (x shape, w shape, stride, pad)
CONV_CASES = [
    ((4, 3, 5, 5), (2, 3, 3, 3), 1, 1),
    ((1, 2, 5, 5), (3, 2, 3, 3), 2, 0),
    ((2, 1, 7, 4), (2, 1, 3, 2), 2, 1),      # non-square input and kernel
    ((2, 2, 6, 5), (1, 2, 2, 3), 3, 0),      # stride does not divide: last row/col unused
]
CONV_IDS = ["course", "N=1-stride2-pad0", "nonsquare-odd", "uneven-stride3"]


def _conv_inputs(case, seed):
    x_shape, w_shape, stride, pad = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}
    h_out = 1 + (x_shape[2] + 2 * pad - w_shape[2]) // stride
    w_out = 1 + (x_shape[3] + 2 * pad - w_shape[3]) // stride
    dout = rng.standard_normal((x_shape[0], w_shape[0], h_out, w_out))
    return x, w, b, conv_param, dout


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_backward_naive_numeric(case):
    x, w, b, conv_param, dout = _conv_inputs(case, 24)
    out, cache = conv_forward_naive(x, w, b, conv_param)
    assert out.shape == dout.shape
    dx, dw, db = conv_backward_naive(dout, cache)
    forward = lambda **a: conv_forward_naive(a["x"], a["w"], a["b"], conv_param)[0]
    assert_grads_match({"x": dx, "w": dw, "b": db}, numeric_grads(forward, {"x": x, "w": w, "b": b}, dout))


@pytest.mark.torch
@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_matches_torch(case):
    torch = pytest.importorskip("torch")
    x, w, b, conv_param, dout = _conv_inputs(case, 25)
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dx, dw, db = conv_backward_naive(dout, cache)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ot = torch.nn.functional.conv2d(xt, wt, bt, stride=conv_param["stride"], padding=conv_param["pad"])
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < 1e-12
    assert_grads_match({"x": dx, "w": dw, "b": db},
                       {"x": xt.grad.numpy(), "w": wt.grad.numpy(), "b": bt.grad.numpy()}, tol=1e-10)


# (x shape, pool_height, pool_width, stride)
POOL_CASES = [
    ((3, 2, 8, 8), 2, 2, 2),
    ((1, 1, 7, 5), 3, 2, 2),                 # N=1, odd, non-square window, overlapping rows
    ((2, 3, 5, 6), 2, 3, 1),                 # stride 1: heavy overlap
    ((2, 1, 7, 7), 2, 2, 3),                 # stride > window: gaps, uneven
]
POOL_IDS = ["course", "N=1-odd-nonsquare", "overlap-stride1", "gaps-stride3"]


def _pool_inputs(case, seed):
    x_shape, ph, pw, stride = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    h_out = 1 + (x_shape[2] - ph) // stride
    w_out = 1 + (x_shape[3] - pw) // stride
    dout = rng.standard_normal(x_shape[:2] + (h_out, w_out))
    return x, pool_param, dout


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_max_pool_backward_naive_numeric(case):
    x, pool_param, dout = _pool_inputs(case, 26)
    out, cache = max_pool_forward_naive(x, pool_param)
    assert out.shape == dout.shape
    dx = max_pool_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: max_pool_forward_naive(v, pool_param)[0], x.copy(), dout)
    assert rel_error(dx, dx_num) < GRAD_TOL


def test_max_pool_backward_routes_ties_to_first_maximum():
    """See Note [Max-pool ties]: the whole gradient goes to one entry per window."""
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 1, 2] = x[0, 0, 0, 3] = 5.0       # second window: two maxima
    _, cache = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = max_pool_backward_naive(np.array([[[[1.0, 2.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]]]])


@pytest.mark.torch
@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_max_pool_matches_torch(case):
    torch = pytest.importorskip("torch")
    x, pool_param, dout = _pool_inputs(case, 27)
    out, cache = max_pool_forward_naive(x, pool_param)
    dx = max_pool_backward_naive(dout, cache)
    xt = torch.tensor(x, requires_grad=True)
    ot = torch.nn.functional.max_pool2d(xt, (pool_param["pool_height"], pool_param["pool_width"]),
                                        stride=pool_param["stride"])
    ot.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, ot.detach().numpy())
    assert rel_error(dx, xt.grad.numpy()) < 1e-14


# ---------------------------------------------------------------------------
# spatial batch norm and group norm
# ---------------------------------------------------------------------------

SPATIAL_SHAPES = [(2, 3, 4, 5), (1, 2, 3, 3), (3, 4, 1, 5)]
SPATIAL_IDS = ["course", "N=1-odd", "H=1"]


def _spatial_inputs(shape, seed, param_shape):
    rng = np.random.default_rng(seed)
    return (5 * rng.standard_normal(shape) + 12, rng.standard_normal(param_shape),
            rng.standard_normal(param_shape), rng.standard_normal(shape))


@pytest.mark.parametrize("shape", SPATIAL_SHAPES, ids=SPATIAL_IDS)
def test_spatial_batchnorm_backward_numeric(shape):
    x, gamma, beta, dout = _spatial_inputs(shape, 28, shape[1])
    forward = lambda **a: spatial_batchnorm_forward(a["x"], a["gamma"], a["beta"], {"mode": "train"})[0]
    _, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    assert_grads_match({"x": dx, "gamma": dgamma, "beta": dbeta},
                       numeric_grads(forward, {"x": x, "gamma": gamma, "beta": beta}, dout, smooth=True))


def test_spatial_batchnorm_running_statistics_are_per_channel():
    x, gamma, beta, _ = _spatial_inputs((2, 3, 4, 5), 29, 3)
    bn_param = {"mode": "train"}
    spatial_batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-13)
    np.testing.assert_allclose(bn_param["running_var"], 0.1 * x.var(axis=(0, 2, 3)), rtol=1e-13)


# (shape, G)
GN_CASES = [((2, 6, 4, 5), 2), ((1, 4, 3, 3), 4), ((2, 6, 3, 1), 1), ((3, 3, 2, 5), 3)]
GN_IDS = ["course", "N=1-G=C", "G=1-layernorm-like", "odd-G=3"]


@pytest.mark.parametrize("shape, G", GN_CASES, ids=GN_IDS)
def test_spatial_groupnorm_backward_numeric(shape, G):
    c = shape[1]
    x, gamma, beta, dout = _spatial_inputs(shape, 30, (1, c, 1, 1))
    forward = lambda **a: spatial_groupnorm_forward(a["x"], a["gamma"], a["beta"], G, {})[0]
    _, cache = spatial_groupnorm_forward(x, gamma, beta, G, {})
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)
    assert dgamma.shape == dbeta.shape == (1, c, 1, 1)
    assert_grads_match({"x": dx, "gamma": dgamma, "beta": dbeta},
                       numeric_grads(forward, {"x": x, "gamma": gamma, "beta": beta}, dout, smooth=True))


def test_spatial_groupnorm_rejects_g_not_dividing_c():
    x, gamma, beta, _ = _spatial_inputs((2, 6, 2, 2), 31, (1, 6, 1, 1))
    with pytest.raises(ValueError):
        spatial_groupnorm_forward(x, gamma, beta, 4, {})


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 3)], ids=["course", "N=1"])
def test_spatial_batchnorm_matches_torch(shape):
    torch = pytest.importorskip("torch")
    c = shape[1]
    x, gamma, beta, dout = _spatial_inputs(shape, 32, c)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    ot = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < 1e-12
    assert_grads_match({"x": dx, "gamma": dgamma, "beta": dbeta},
                       {"x": xt.grad.numpy(), "gamma": gt.grad.numpy(), "beta": bt.grad.numpy()}, tol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("shape, G", GN_CASES, ids=GN_IDS)
def test_spatial_groupnorm_matches_torch(shape, G):
    torch = pytest.importorskip("torch")
    c = shape[1]
    x, gamma, beta, dout = _spatial_inputs(shape, 33, (1, c, 1, 1))
    out, cache = spatial_groupnorm_forward(x, gamma, beta, G, {})
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma.ravel(), requires_grad=True)
    bt = torch.tensor(beta.ravel(), requires_grad=True)
    ot = torch.nn.functional.group_norm(xt, G, gt, bt, eps=1e-5)
    ot.backward(torch.tensor(dout))
    assert rel_error(out, ot.detach().numpy()) < 1e-12
    assert_grads_match({"x": dx, "gamma": dgamma.ravel(), "beta": dbeta.ravel()},
                       {"x": xt.grad.numpy(), "gamma": gt.grad.numpy(), "beta": bt.grad.numpy()}, tol=1e-10)


# ---------------------------------------------------------------------------
# no forward pass writes into its inputs (Note [Inputs are read-only])
# ---------------------------------------------------------------------------

def _forward_calls():
    rng = np.random.default_rng(34)
    r = rng.standard_normal
    img = r((2, 3, 5, 5))
    return {
        "affine_forward": (affine_forward, (r((2, 3, 2)), r((6, 4)), r(4))),
        "relu_forward": (relu_forward, (r((3, 4)),)),
        "softmax_loss": (softmax_loss, (r((4, 3)), np.array([0, 2, 1, 2]))),
        "svm_loss": (svm_loss, (r((4, 3)), np.array([0, 2, 1, 2]))),
        "batchnorm_forward": (batchnorm_forward, (r((4, 3)), r(3), r(3),
                                                  {"mode": "train", "running_mean": r(3),
                                                   "running_var": r(3) ** 2})),
        "layernorm_forward": (layernorm_forward, (r((4, 3)), r(3), r(3), {})),
        "dropout_forward": (dropout_forward, (r((4, 3)), {"mode": "train", "p": 0.5, "seed": 1})),
        "dropout_forward_test": (dropout_forward, (r((4, 3)), {"mode": "test", "p": 0.5})),
        "conv_forward_naive": (conv_forward_naive, (img, r((2, 3, 3, 3)), r(2), {"stride": 1, "pad": 1})),
        "max_pool_forward_naive": (max_pool_forward_naive,
                                   (img, {"pool_height": 2, "pool_width": 2, "stride": 2})),
        "spatial_batchnorm_forward": (spatial_batchnorm_forward, (img, r(3), r(3), {"mode": "train"})),
        "spatial_groupnorm_forward": (spatial_groupnorm_forward,
                                      (r((2, 4, 3, 3)), r((1, 4, 1, 1)), r((1, 4, 1, 1)), 2, {})),
    }


def _arrays_in(value):
    """Every ndarray in an argument, with the dict key that holds it."""
    if isinstance(value, np.ndarray):
        return [("", value)]
    if isinstance(value, dict):
        return [(k, v) for k, v in value.items() if isinstance(v, np.ndarray)]
    return []


@pytest.mark.parametrize("name", sorted(_forward_calls()))
def test_forward_does_not_modify_its_inputs(name, global_rng_restored):
    fn, args = _forward_calls()[name]
    originals = [[(key, arr, arr.copy()) for key, arr in _arrays_in(a)] for a in args]
    result = fn(*args)
    for arg_arrays in originals:
        for key, arr, before in arg_arrays:
            np.testing.assert_array_equal(arr, before, err_msg=f"{name} wrote into input {key!r}")
    out = result[0]
    if isinstance(out, np.ndarray):
        for a in args:
            for key, arr in _arrays_in(a):
                assert not np.shares_memory(out, arr), f"{name} returns a view of input {key!r}"


def test_backward_passes_do_not_modify_dout():
    rng = np.random.default_rng(35)
    x, gamma, beta, dout = _bn_inputs((4, 3), 36)
    kept = dout.copy()
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    batchnorm_backward(dout, cache)
    batchnorm_backward_alt(dout, cache)
    _, cache = layernorm_forward(x, gamma, beta, {})
    layernorm_backward(dout, cache)
    _, cache = affine_forward(x, rng.standard_normal((3, 3)), rng.standard_normal(3))
    affine_backward(dout, cache)
    _, cache = relu_forward(x)
    relu_backward(dout, cache)
    np.testing.assert_array_equal(dout, kept)
