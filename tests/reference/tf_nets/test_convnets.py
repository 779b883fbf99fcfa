"""Checks of reference.tf_nets.convnets: the notebook's shapes, a numpy re-derivation, and agreement of the four APIs.

# Note [Comparing softmax outputs]
The Keras variants return probabilities.  Comparing probabilities is only
informative when they are not saturated (all near 0 or 1), so the agreement
tests feed small inputs and first assert that the largest probability is well
below 1.  Tolerance: 1e-5 absolute in float32 (observed 0 to ~1e-7).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from reference.tf_nets import convnets  # noqa: E402  (needs TensorFlow)

pytestmark = pytest.mark.tf

FLOAT32_ATOL = 1e-5


def test_flatten_keeps_row_major_order_and_dtype():
    x = np.arange(24).reshape((2, 3, 4))
    flat = convnets.flatten(x).numpy()
    assert flat.shape == (2, 12) and flat.dtype == x.dtype
    np.testing.assert_array_equal(flat, x.reshape(2, 12))


def test_flatten_single_example_nhwc():
    x = np.arange(30, dtype=np.float32).reshape((1, 5, 3, 2))
    np.testing.assert_array_equal(convnets.flatten(x).numpy(), x.reshape(1, 30))


def test_three_layer_convnet_on_notebook_zero_weights_has_notebook_shape():
    params = [tf.zeros((5, 5, 3, 6)), tf.zeros((6,)), tf.zeros((3, 3, 6, 9)), tf.zeros((9,)),
              tf.zeros((32 * 32 * 9, 6)), tf.zeros((6,))]
    scores = convnets.three_layer_convnet(tf.zeros((64, 32, 32, 3)), params)
    assert tuple(scores.shape) == (64, 6)


# ------------------------------------------------------------ numpy re-derivation

def _conv_same_numpy(x, w, b):
    """Stride-1 cross-correlation with zero-padding (k - 1) / 2. x (N,H,W,C), w (k,k,C,F) -> (N,H,W,F)."""
    k = w.shape[0]
    pad = (k - 1) // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, h, width, _ = x.shape
    out = np.zeros((n, h, width, w.shape[-1]))
    for i in range(h):
        for j in range(width):
            patch = padded[:, i:i + k, j:j + k, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out + b


def _three_layer_convnet_numpy(x, params):
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    h1 = np.maximum(_conv_same_numpy(x, conv_w1, conv_b1), 0.0)
    h2 = np.maximum(_conv_same_numpy(h1, conv_w2, conv_b2), 0.0)
    return h2.reshape(len(x), -1) @ fc_w + fc_b


def test_three_layer_convnet_matches_numpy_on_odd_sizes():
    """N=2, 5x5 input (odd), 2 channels -> 3 -> 2 channels -> 4 classes, all weights random."""
    rng = np.random.default_rng(0)
    shapes = [(5, 5, 2, 3), (3,), (3, 3, 3, 2), (2,), (5 * 5 * 2, 4), (4,)]
    params = [rng.standard_normal(s) for s in shapes]
    x = rng.standard_normal((2, 5, 5, 2))
    actual = convnets.three_layer_convnet(tf.constant(x), [tf.constant(p) for p in params]).numpy()
    expected = _three_layer_convnet_numpy(x, params)
    assert actual.shape == (2, 4)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-10)


# ------------------------------------------------------------------ initialization

def test_init_shapes_zero_biases_and_kaiming_scale():
    params = convnets.three_layer_convnet_init(seed=0)
    assert all(isinstance(p, tf.Variable) for p in params)
    assert [tuple(p.shape) for p in params] == [
        (5, 5, 3, 32), (32,), (3, 3, 32, 16), (16,), (32 * 32 * 16, 6), (6,)]
    for bias in params[1::2]:
        np.testing.assert_array_equal(bias.numpy(), 0.0)
    for kernel in params[0::2]:
        fan_in = np.prod(kernel.shape[:-1])
        # 2400 or more draws: the sample std is within ~1.5% of the target; 10% is a wide margin.
        assert abs(np.std(kernel.numpy()) / np.sqrt(2.0 / fan_in) - 1.0) < 0.1


def test_init_is_reproducible_with_a_seed():
    first, second = convnets.three_layer_convnet_init(seed=3), convnets.three_layer_convnet_init(seed=3)
    other = convnets.three_layer_convnet_init(seed=4)
    np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())
    assert not np.array_equal(first[0].numpy(), other[0].numpy())


def test_barebones_trains_one_sgd_step():
    """The params are Variables GradientTape can differentiate; a small step lowers the loss."""
    params = convnets.three_layer_convnet_init(input_shape=(8, 8, 3), channel_1=4, channel_2=3,
                                               num_classes=5, seed=0)
    rng = np.random.default_rng(1)
    x, y = tf.constant(rng.standard_normal((6, 8, 8, 3)), tf.float32), tf.constant(rng.integers(0, 5, 6))

    def loss():
        scores = convnets.three_layer_convnet(x, params)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=scores))

    with tf.GradientTape() as tape:
        before = loss()
    for p, g in zip(params, tape.gradient(before, params)):
        assert g is not None
        p.assign_sub(1e-3 * g)
    assert float(loss()) < float(before)


# --------------------------------------------------------------------- Keras APIs

def _keras_models(input_shape, channel_1, channel_2, num_classes):
    subclassed = convnets.ThreeLayerConvNet(channel_1, channel_2, num_classes, seed=0)
    subclassed(tf.zeros((1, *input_shape)))  # build
    sequential = convnets.three_layer_convnet_sequential(input_shape, channel_1, channel_2, num_classes, seed=1)
    functional = convnets.three_layer_convnet_functional(input_shape, channel_1, channel_2, num_classes, seed=2)
    return subclassed, sequential, functional


def test_keras_models_have_notebook_output_shapes():
    subclassed = convnets.ThreeLayerConvNet(12, 8, 6)
    assert tuple(subclassed(tf.zeros((64, 32, 32, 3))).shape) == (64, 6)
    for model in (convnets.three_layer_convnet_sequential(), convnets.three_layer_convnet_functional()):
        probabilities = model(tf.zeros((64, 32, 32, 3))).numpy()
        assert probabilities.shape == (64, 6)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=FLOAT32_ATOL)


def test_keras_default_weight_shapes_are_the_notebooks():
    expected = [(5, 5, 3, 32), (32,), (3, 3, 32, 16), (16,), (32 * 32 * 16, 6), (6,)]
    for model in _keras_models((32, 32, 3), 32, 16, 6):
        assert [w.shape for w in model.get_weights()] == expected


def test_keras_variance_scaling_init_has_kaiming_scale():
    model = convnets.three_layer_convnet_functional(seed=0)
    conv1_kernel = model.get_weights()[0]
    assert abs(np.std(conv1_kernel) / np.sqrt(2.0 / 75) - 1.0) < 0.1
    np.testing.assert_array_equal(model.get_weights()[1], 0.0)


def test_keras_variants_and_barebones_agree_given_the_same_weights():
    input_shape = (7, 7, 3)  # odd spatial size
    subclassed, sequential, functional = _keras_models(input_shape, 4, 3, 5)
    weights = subclassed.get_weights()
    assert not np.array_equal(weights[0], sequential.get_weights()[0])  # different seeds before copying
    sequential.set_weights(weights)
    functional.set_weights(weights)
    x = 0.1 * np.random.default_rng(0).standard_normal((3, *input_shape)).astype(np.float32)
    expected = subclassed(x).numpy()
    assert expected.max() < 0.9  # See Note [Comparing softmax outputs].
    barebones = tf.nn.softmax(convnets.three_layer_convnet(x, [tf.constant(w) for w in weights])).numpy()
    for name, actual in [("sequential", sequential(x).numpy()), ("functional", functional(x).numpy()),
                         ("barebones", barebones)]:
        np.testing.assert_allclose(actual, expected, rtol=0, atol=FLOAT32_ATOL, err_msg=name)
