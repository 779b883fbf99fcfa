"""Tests for the sandwich layers (reference/cs231n/layer_utils.py).

Each chain must equal its stages applied in order and pass numerical gradient
checks, including an N=1 / stride-2 edge case; affine_norm_relu is checked for
both normalisations.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference.cs231n.fast_layers import conv_forward_fast, max_pool_forward_fast
from reference.cs231n.gradient_check import eval_numerical_gradient_array, rel_error
from reference.cs231n.layer_utils import (affine_norm_relu_backward, affine_norm_relu_forward,
                                          affine_relu_backward, affine_relu_forward,
                                          conv_bn_relu_backward, conv_bn_relu_forward,
                                          conv_relu_backward, conv_relu_forward,
                                          conv_relu_pool_backward, conv_relu_pool_forward)
from reference.cs231n.layers import (affine_forward, batchnorm_forward, layernorm_forward,
                                     relu_forward, spatial_batchnorm_forward)

GRAD_TOL = 1e-7

# Note [Small shapes for batchnorm chains]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Gradients are checked with the course's plain central difference (h = 1e-5);
# a larger or higher-order step would cross ReLU kinks (a shift of beta moves a
# whole channel).  Its round-off grows with the number of outputs each input
# reaches, and batchnorm couples every output of a channel to each input, so on
# (2, 3, 8, 8) a correct conv-bn-relu gradient measures up to ~1e-6 on entries
# that happen to be ~1e-5.  The batchnorm chains therefore use small shapes,
# where correct gradients measure ~1e-8 and the 1e-7 bound holds with margin.

# Note [Bias before batchnorm]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Batchnorm subtracts the batch mean, so a bias added just before it has no
# effect and its true gradient is exactly 0.  rel_error against a numerical
# estimate of 0 only compares round-off (both sides ~1e-17..1e-11), so for such
# inputs the check is instead that both gradients vanish to round-off.

VANISHING_ANALYTIC = 1e-12    # analytic: sums that cancel exactly in real arithmetic
VANISHING_NUMERIC = 1e-8      # round-off of a difference quotient of an O(10) objective


def check_gradients(forward, backward, inputs, seed, vanishing=()):
    """Compare backward(dout, cache) with central differences of forward(**inputs)[0].

    `forward` takes the inputs by keyword; gradients come back in `inputs` order.
    Inputs named in `vanishing` must have zero gradient (Note [Bias before batchnorm]).
    """
    rng = np.random.default_rng(seed)
    out, cache = forward(**inputs)
    dout = rng.standard_normal(out.shape)
    analytic = backward(dout, cache)
    assert len(analytic) == len(inputs)
    for (name, value), grad in zip(inputs.items(), analytic):
        def f(v, name=name):
            return forward(**{**inputs, name: v})[0]
        numeric = eval_numerical_gradient_array(f, value.copy(), dout)
        assert grad.shape == value.shape, f"d{name}: shape {grad.shape} != {value.shape}"
        if name in vanishing:
            assert np.max(np.abs(grad)) < VANISHING_ANALYTIC, f"d{name} should vanish: {grad}"
            assert np.max(np.abs(numeric)) < VANISHING_NUMERIC, f"numerical d{name}: {numeric}"
            continue
        err = rel_error(grad, numeric)
        assert err < GRAD_TOL, f"d{name}: rel_error {err:.2e}"


@pytest.mark.parametrize("x_shape, m", [((2, 3, 4), 10), ((1, 5), 3)], ids=["course", "N=1"])
def test_affine_relu(x_shape, m):
    rng = np.random.default_rng(0)
    d = int(np.prod(x_shape[1:]))
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((d, m)), rng.standard_normal(m)
    out, _ = affine_relu_forward(x, w, b)
    np.testing.assert_array_equal(out, relu_forward(affine_forward(x, w, b)[0])[0])
    check_gradients(affine_relu_forward, affine_relu_backward, {"x": x, "w": w, "b": b}, seed=1)


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
@pytest.mark.parametrize("n", [4, 3], ids=["N=4", "N=3"])
def test_affine_norm_relu(normalization, n):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((n, 6)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    norm = batchnorm_forward if normalization == "batchnorm" else layernorm_forward

    out, _ = affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"}, normalization)
    staged = relu_forward(norm(affine_forward(x, w, b)[0], gamma, beta, {"mode": "train"})[0])[0]
    np.testing.assert_array_equal(out, staged)

    def forward(x, w, b, gamma, beta):
        return affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"}, normalization)
    check_gradients(forward, affine_norm_relu_backward,
                    {"x": x, "w": w, "b": b, "gamma": gamma, "beta": beta}, seed=3,
                    vanishing=("b",) if normalization == "batchnorm" else ())


def test_affine_norm_relu_updates_batchnorm_running_statistics():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    bn_param = {"mode": "train"}
    affine_norm_relu_forward(x, w, b, np.ones(3), np.zeros(3), bn_param, "batchnorm")
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * (x @ w + b).mean(axis=0), rtol=1e-13)


def test_affine_norm_relu_rejects_unknown_normalization():
    x, w, b = np.ones((2, 3)), np.ones((3, 2)), np.ones(2)
    with pytest.raises(ValueError, match="normalization"):
        affine_norm_relu_forward(x, w, b, np.ones(2), np.zeros(2), {}, "groupnorm")


# (x shape, w shape, conv stride, pad)
CONV_CASES = [((2, 3, 8, 8), (3, 3, 3, 3), 1, 1), ((1, 2, 7, 7), (2, 2, 3, 3), 2, 0)]
CONV_IDS = ["course", "N=1-stride2-pad0"]


def _conv_inputs(case, seed):
    x_shape, w_shape, stride, pad = case
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0]),
            {"stride": stride, "pad": pad})


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_relu(case):
    x, w, b, conv_param = _conv_inputs(case, 5)
    out, _ = conv_relu_forward(x, w, b, conv_param)
    np.testing.assert_array_equal(out, relu_forward(conv_forward_fast(x, w, b, conv_param)[0])[0])
    check_gradients(lambda x, w, b: conv_relu_forward(x, w, b, conv_param), conv_relu_backward,
                    {"x": x, "w": w, "b": b}, seed=6)


@pytest.mark.parametrize("case, pool_param", [
    (CONV_CASES[0], {"pool_height": 2, "pool_width": 2, "stride": 2}),
    (CONV_CASES[1], {"pool_height": 2, "pool_width": 1, "stride": 1}),   # non-square, overlapping
], ids=CONV_IDS)
def test_conv_relu_pool(case, pool_param):
    x, w, b, conv_param = _conv_inputs(case, 7)
    out, _ = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
    staged = max_pool_forward_fast(relu_forward(conv_forward_fast(x, w, b, conv_param)[0])[0], pool_param)[0]
    np.testing.assert_array_equal(out, staged)
    check_gradients(lambda x, w, b: conv_relu_pool_forward(x, w, b, conv_param, pool_param),
                    conv_relu_pool_backward, {"x": x, "w": w, "b": b}, seed=8)


# See Note [Small shapes for batchnorm chains].
BN_CONV_CASES = [((2, 2, 4, 4), (3, 2, 3, 3), 1, 1), ((1, 2, 5, 5), (2, 2, 3, 3), 2, 0)]


@pytest.mark.parametrize("case", BN_CONV_CASES, ids=["small", "N=1-stride2-pad0"])
def test_conv_bn_relu(case):
    x, w, b, conv_param = _conv_inputs(case, 9)
    f = w.shape[0]
    rng = np.random.default_rng(10)
    gamma, beta = rng.standard_normal(f), rng.standard_normal(f)
    out, _ = conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, {"mode": "train"})
    staged = relu_forward(spatial_batchnorm_forward(conv_forward_fast(x, w, b, conv_param)[0],
                                                    gamma, beta, {"mode": "train"})[0])[0]
    np.testing.assert_array_equal(out, staged)

    def forward(x, w, b, gamma, beta):
        return conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, {"mode": "train"})
    check_gradients(forward, conv_bn_relu_backward,
                    {"x": x, "w": w, "b": b, "gamma": gamma, "beta": beta}, seed=11, vanishing=("b",))
