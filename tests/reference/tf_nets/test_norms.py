"""Checks of reference.tf_nets.norms against Keras layers, numpy re-derivations and known identities.

# Note [Tolerances in these tests]
- Forward vs Keras in float32: 1e-5 absolute on outputs of size O(1) (what the
  brief asks; observed max difference ~5e-7).
- Everything in float64 (Keras layers built with dtype='float64', numpy
  formulas, gradients): 1e-10 absolute; observed differences are ~1e-15, so
  this leaves room for summation order and nothing else.
Inputs have a non-zero mean and a non-unit scale so that a missing mean
subtraction or a missing division cannot pass.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from reference.tf_nets import norms  # noqa: E402  (needs TensorFlow)

pytestmark = pytest.mark.tf

FLOAT32_FORWARD_ATOL = 1e-5
FLOAT64_ATOL = 1e-10

# (N, D) dense activations, NHWC conv activations with odd spatial size, and N=1 for layer norm.
SHAPES = [(6, 5), (3, 5, 3, 4)]
LAYER_NORM_SHAPES = SHAPES + [(1, 3, 3, 2)]


def _sample(shape, dtype, seed=0):
    """x with mean 1.5 and scale 2, and per-channel gamma, beta, as numpy arrays of dtype."""
    rng = np.random.default_rng(seed)
    x = (2.0 * rng.standard_normal(shape) + 1.5).astype(dtype)
    gamma = (1.0 + 0.5 * rng.standard_normal(shape[-1])).astype(dtype)
    beta = rng.standard_normal(shape[-1]).astype(dtype)
    return x, gamma, beta


def _upstream(shape, dtype, seed=1):
    """A random upstream gradient dL/dout, so gradients are not sums that cancel."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _gradients(fn, dout, *inputs):
    """Gradients of sum(fn(*inputs) * dout) with respect to every input, as numpy arrays."""
    tensors = [tf.constant(value) for value in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        loss = tf.reduce_sum(fn(*tensors) * dout)
    return [g.numpy() for g in tape.gradient(loss, tensors)]


# ---------------------------------------------------------------- Keras layers

def _keras_batch_norm(shape, gamma, beta, dtype):
    layer = tf.keras.layers.BatchNormalization(axis=-1, dtype=dtype)
    layer.build(shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    return layer


def _keras_layer_norm(shape, gamma, beta, dtype):
    """LayerNormalization over all non-batch axes with per-channel parameters broadcast.

    See Note [Layer norm axes and per-channel parameters] in norms.py.
    """
    layer = tf.keras.layers.LayerNormalization(axis=list(range(1, len(shape))), dtype=dtype)
    layer.build(shape)
    layer.gamma.assign(np.broadcast_to(gamma, layer.gamma.shape))
    layer.beta.assign(np.broadcast_to(beta, layer.beta.shape))
    return layer


def _keras_gradients(layer, x, dout, training):
    """Gradients of sum(layer(x) * dout) w.r.t. x, gamma, beta; parameters summed to per-channel."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, training=training) * dout)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    channels = x.shape[-1]
    return [dx.numpy(), np.reshape(dgamma.numpy(), (-1, channels)).sum(axis=0),
            np.reshape(dbeta.numpy(), (-1, channels)).sum(axis=0)]


def test_eps_defaults_equal_keras_defaults():
    assert norms.BATCH_NORM_EPSILON == tf.keras.layers.BatchNormalization().epsilon
    assert norms.LAYER_NORM_EPSILON == tf.keras.layers.LayerNormalization().epsilon


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_forward_matches_keras_float32(shape):
    x, gamma, beta = _sample(shape, np.float32)
    expected = _keras_batch_norm(shape, gamma, beta, "float32")(x, training=True).numpy()
    actual = norms.batch_norm(x, gamma, beta).numpy()
    assert actual.dtype == np.float32 and actual.shape == shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=FLOAT32_FORWARD_ATOL)


@pytest.mark.parametrize("shape", LAYER_NORM_SHAPES)
def test_layer_norm_forward_matches_keras_float32(shape):
    x, gamma, beta = _sample(shape, np.float32)
    expected = _keras_layer_norm(shape, gamma, beta, "float32")(x).numpy()
    actual = norms.layer_norm(x, gamma, beta).numpy()
    assert actual.dtype == np.float32 and actual.shape == shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=FLOAT32_FORWARD_ATOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_gradients_match_keras_float64(shape):
    x, gamma, beta = _sample(shape, np.float64)
    dout = _upstream(shape, np.float64)
    expected = _keras_gradients(_keras_batch_norm(shape, gamma, beta, "float64"), x, dout, training=True)
    actual = _gradients(norms.batch_norm, dout, x, gamma, beta)
    for name, a, e in zip(("dx", "dgamma", "dbeta"), actual, expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=FLOAT64_ATOL, err_msg=name)


@pytest.mark.parametrize("shape", LAYER_NORM_SHAPES)
def test_layer_norm_gradients_match_keras_float64(shape):
    x, gamma, beta = _sample(shape, np.float64)
    dout = _upstream(shape, np.float64)
    expected = _keras_gradients(_keras_layer_norm(shape, gamma, beta, "float64"), x, dout, training=True)
    actual = _gradients(norms.layer_norm, dout, x, gamma, beta)
    for name, a, e in zip(("dx", "dgamma", "dbeta"), actual, expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=FLOAT64_ATOL, err_msg=name)


# -------------------------------------------------- numpy re-derivation (float64)

def _flatten_channels_last(a):
    """(..., C) -> (M, C): rows are the elements one channel's statistics run over (batch norm)."""
    return a.reshape(-1, a.shape[-1])


def _normalize_rows_numpy(rows, eps):
    """Forward and backward of row-wise normalization x_hat = (r - mu) / sqrt(var + eps)."""
    mu = rows.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(((rows - mu) ** 2).mean(axis=1, keepdims=True) + eps)
    x_hat = (rows - mu) * inv_std

    def backward(dx_hat):
        # d x_hat / d rows, written out: inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)).
        return inv_std * (dx_hat - dx_hat.mean(axis=1, keepdims=True)
                          - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True))

    return x_hat, backward


def _batch_norm_numpy(x, gamma, beta, dout, eps):
    """(out, dx, dgamma, dbeta) of batch norm: rows = channels, columns = every (n, h, w)."""
    columns = _flatten_channels_last(x).T
    x_hat_t, backward = _normalize_rows_numpy(columns, eps)
    x_hat = x_hat_t.T.reshape(x.shape)
    out = gamma * x_hat + beta
    dx = backward(_flatten_channels_last(dout * gamma).T).T.reshape(x.shape)
    reduce_axes = tuple(range(x.ndim - 1))
    return out, dx, (dout * x_hat).sum(axis=reduce_axes), dout.sum(axis=reduce_axes)


def _layer_norm_numpy(x, gamma, beta, dout, eps):
    """(out, dx, dgamma, dbeta) of layer norm: rows = examples, columns = every (h, w, c)."""
    rows = x.reshape(x.shape[0], -1)
    x_hat_rows, backward = _normalize_rows_numpy(rows, eps)
    x_hat = x_hat_rows.reshape(x.shape)
    out = gamma * x_hat + beta
    dx = backward((dout * gamma).reshape(x.shape[0], -1)).reshape(x.shape)
    reduce_axes = tuple(range(x.ndim - 1))
    return out, dx, (dout * x_hat).sum(axis=reduce_axes), dout.sum(axis=reduce_axes)


@pytest.mark.parametrize("eps", [1e-5, norms.BATCH_NORM_EPSILON])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_matches_numpy_formulas(shape, eps):
    x, gamma, beta = _sample(shape, np.float64, seed=2)
    dout = _upstream(shape, np.float64, seed=3)
    expected = _batch_norm_numpy(x, gamma, beta, dout, eps)
    out = norms.batch_norm(x, gamma, beta, eps=eps).numpy()
    grads = _gradients(lambda a, g, b: norms.batch_norm(a, g, b, eps=eps), dout, x, gamma, beta)
    for name, a, e in zip(("out", "dx", "dgamma", "dbeta"), [out, *grads], expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=FLOAT64_ATOL, err_msg=name)


@pytest.mark.parametrize("eps", [1e-5, norms.LAYER_NORM_EPSILON])
@pytest.mark.parametrize("shape", LAYER_NORM_SHAPES)
def test_layer_norm_matches_numpy_formulas(shape, eps):
    x, gamma, beta = _sample(shape, np.float64, seed=4)
    dout = _upstream(shape, np.float64, seed=5)
    expected = _layer_norm_numpy(x, gamma, beta, dout, eps)
    out = norms.layer_norm(x, gamma, beta, eps=eps).numpy()
    grads = _gradients(lambda a, g, b: norms.layer_norm(a, g, b, eps=eps), dout, x, gamma, beta)
    for name, a, e in zip(("out", "dx", "dgamma", "dbeta"), [out, *grads], expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=FLOAT64_ATOL, err_msg=name)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_moments_and_inference_match_numpy(shape):
    x, gamma, beta = _sample(shape, np.float64, seed=6)
    axes = tuple(range(len(shape) - 1))
    mean, variance = (t.numpy() for t in norms.batch_moments(x))
    np.testing.assert_allclose(mean, x.mean(axis=axes), rtol=0, atol=FLOAT64_ATOL)
    np.testing.assert_allclose(variance, x.var(axis=axes), rtol=0, atol=FLOAT64_ATOL)  # biased, ddof=0
    moving_mean, moving_variance = mean + 0.25, variance * 2.0
    expected = gamma * (x - moving_mean) / np.sqrt(moving_variance + 1e-3) + beta
    actual = norms.batch_norm_inference(x, gamma, beta, moving_mean, moving_variance).numpy()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=FLOAT64_ATOL)


def test_batch_norm_with_batch_statistics_equals_inference_with_them():
    x, gamma, beta = _sample((3, 5, 3, 4), np.float64, seed=7)
    mean, variance = norms.batch_moments(x)
    np.testing.assert_allclose(norms.batch_norm(x, gamma, beta).numpy(),
                               norms.batch_norm_inference(x, gamma, beta, mean, variance).numpy(),
                               rtol=0, atol=FLOAT64_ATOL)


def test_layer_norm_statistics_are_per_example():
    """Changing one example must not change another's output (it would under batch norm)."""
    x, gamma, beta = _sample((4, 3, 3, 2), np.float64, seed=8)
    changed = x.copy()
    changed[0] *= 10.0
    before, after = norms.layer_norm(x, gamma, beta).numpy(), norms.layer_norm(changed, gamma, beta).numpy()
    np.testing.assert_array_equal(before[1:], after[1:])


# ------------------------------------------------------------------ weight norm

WEIGHT_SHAPES = [(7, 4), (3, 3, 2, 5)]


def _weight_sample(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), 0.5 + rng.random(shape[-1])


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
def test_weight_norm_column_norms_equal_g(shape):
    v, g = _weight_sample(shape)
    w = norms.weight_norm(v, g).numpy()
    assert w.shape == shape
    column_norms = np.sqrt((w.reshape(-1, shape[-1]) ** 2).sum(axis=0))
    np.testing.assert_allclose(column_norms, g, rtol=1e-12, atol=0)
    # Direction is v's: w is v scaled per column by a positive factor.
    np.testing.assert_allclose(w, v * (g / np.sqrt((v.reshape(-1, shape[-1]) ** 2).sum(axis=0))),
                               rtol=0, atol=FLOAT64_ATOL)


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
def test_weight_norm_gradient_wrt_v_is_orthogonal_to_v(shape):
    v, g = _weight_sample(shape, seed=1)
    dw = _upstream(shape, np.float64, seed=2)
    dv, _ = _gradients(norms.weight_norm, dw, v, g)
    per_unit_dot = (dv * v).reshape(-1, shape[-1]).sum(axis=0)
    scale = np.linalg.norm(dv.reshape(-1, shape[-1]), axis=0) * np.linalg.norm(v.reshape(-1, shape[-1]), axis=0)
    assert np.all(scale > 1e-3)  # the check is not vacuous
    np.testing.assert_allclose(per_unit_dot / scale, 0.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
def test_weight_norm_gradients_match_salimans_kingma_formulas(shape):
    """dL/dg = dw . v / ||v||;  dL/dv = (g / ||v||) dw - (g dL/dg / ||v||^2) v, per output unit."""
    v, g = _weight_sample(shape, seed=3)
    dw = _upstream(shape, np.float64, seed=4)
    dv, dg = _gradients(norms.weight_norm, dw, v, g)
    v2, dw2 = v.reshape(-1, shape[-1]), dw.reshape(-1, shape[-1])
    norm = np.sqrt((v2 ** 2).sum(axis=0))
    expected_dg = (dw2 * v2).sum(axis=0) / norm
    expected_dv = (g / norm) * dw2 - (g * expected_dg / norm ** 2) * v2
    np.testing.assert_allclose(dg, expected_dg, rtol=0, atol=FLOAT64_ATOL)
    np.testing.assert_allclose(dv, expected_dv.reshape(shape), rtol=0, atol=FLOAT64_ATOL)


# ----------------------------------------------------------- static: basic ops only

# See Note [Only basic ops] in norms.py.
FORBIDDEN_NAMES = {
    "moments", "batch_normalization", "fused_batch_norm", "BatchNormalization",
    "LayerNormalization", "GroupNormalization", "UnitNormalization", "l2_normalize",
    "norm", "keras", "nn",
}
ALLOWED_TF_ATTRIBUTES = {
    "reduce_mean", "reduce_sum", "square", "sqrt", "reshape", "convert_to_tensor", "Tensor",
}


def _names_used(source: str) -> set[str]:
    """Every identifier, attribute name and imported module part in `source` (strings excluded)."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            used.update(part for alias in node.names for part in alias.name.split("."))
            if isinstance(node, ast.ImportFrom) and node.module:
                used.update(node.module.split("."))
    return used


def _tf_attributes_used(source: str) -> set[str]:
    """The X of every `tf.X` in `source`."""
    return {
        node.attr for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "tf"
    }


NORMS_SOURCE = Path(norms.__file__).read_text()


@pytest.mark.parametrize("cheat", [
    "m, v = tf.nn.moments(x, axes=[0])",
    "from tensorflow.nn import batch_normalization",
    "y = tf.keras.layers.LayerNormalization()(x)",
    "n = tf.norm(v, axis=0)",
])
def test_static_checks_catch_library_normalization(cheat):
    assert _names_used(cheat) & FORBIDDEN_NAMES or not _tf_attributes_used(cheat) <= ALLOWED_TF_ATTRIBUTES


def test_norms_uses_no_library_normalization():
    assert _names_used(NORMS_SOURCE) & FORBIDDEN_NAMES == set()


def test_norms_calls_only_basic_tensorflow_ops():
    used = _tf_attributes_used(NORMS_SOURCE)
    assert used, "norms.py should use tf.* ops; did the import alias change?"
    assert used <= ALLOWED_TF_ATTRIBUTES, used - ALLOWED_TF_ATTRIBUTES
