"""The cs231n TensorFlow notebook's three-layer ConvNet at its three levels of abstraction.

The notebook builds one network four ways and students are graded on each:

- barebones: `flatten`, `three_layer_convnet(x, params)` with `tf.nn.conv2d`, and
  `three_layer_convnet_init()` with the notebook's Kaiming-normal helper;
- Keras subclassing: `ThreeLayerConvNet(channel_1, channel_2, num_classes)`;
- Keras Sequential: `three_layer_convnet_sequential()`;
- Keras functional: `three_layer_convnet_functional()`.

Architecture (inputs NHWC):

    conv 5x5 (channel_1, zero-padding 2) - relu - conv 3x3 (channel_2, zero-padding 1)
    - relu - flatten - dense (num_classes)

The barebones function returns raw scores; the Keras models end in a softmax, as
in the notebook, so they return class probabilities (N, num_classes).

Device: nothing here names a device.  TensorFlow places ops on the GPU
automatically when one is visible; the notebook's `with tf.device(device):`
blocks only force a placement and are not needed for correctness.

# Note [SAME padding is the notebook's zero-padding]
The notebook asks for zero-padding 2 around a 5x5 kernel and 1 around a 3x3
kernel at stride 1.  For an odd kernel size k at stride 1, TensorFlow's
`padding='SAME'` pads (k - 1) / 2 on every side, which is exactly that, and it
keeps H and W unchanged, so the dense layer sees H * W * channel_2 features.

# Note [Keras variants share one layer order]
All three Keras builders create their weighted layers in the same order
(conv1, conv2, fc), each with a kernel and a bias, so `get_weights()` of one is a
valid `set_weights()` of the others and of the barebones parameter list
`[conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b]`.  The tests rely on this to
show the four implementations compute the same function.

# Note [Initialization]
Barebones weights use the notebook's Kaiming normal: N(0, 1) * sqrt(2 / fan_in)
with fan_in = product of all axes but the last (untruncated), biases zero.
Keras layers use `VarianceScaling(scale=2.0)` as the notebook instructs
(fan_in mode, truncated normal: the same distribution as 'he_normal'), biases
zero.  Pass `seed` to make either reproducible.
"""

from __future__ import annotations

import math

import tensorflow as tf

__all__ = [
    "flatten",
    "kaiming_normal",
    "three_layer_convnet",
    "three_layer_convnet_init",
    "ThreeLayerConvNet",
    "three_layer_convnet_sequential",
    "three_layer_convnet_functional",
]

# The notebook's network: 32 5x5 filters, 16 3x3 filters, 6 classes, 32x32x3 images.
DEFAULT_INPUT_SHAPE = (32, 32, 3)
DEFAULT_CHANNEL_1 = 32
DEFAULT_CHANNEL_2 = 16
DEFAULT_NUM_CLASSES = 6


def flatten(x) -> tf.Tensor:
    """Collapse every axis but the first: (N, D1, ..., DM) -> (N, D1 * ... * DM), order kept (row-major)."""
    x = tf.convert_to_tensor(x)
    return tf.reshape(x, (tf.shape(x)[0], -1))


def kaiming_normal(shape, seed: int | None = None, dtype=tf.float32) -> tf.Tensor:
    """N(0, 2 / fan_in) draw of `shape`: (D_in, D_out) or HWIO (KH, KW, C_in, C_out).

    fan_in is the product of all axes but the last.  A given `seed` makes the draw
    a pure function of (shape, seed); see Note [Initialization].
    """
    fan_in = math.prod(shape[:-1])
    if seed is None:
        draw = tf.random.normal(shape, dtype=dtype)
    else:
        draw = tf.random.stateless_normal(shape, seed=[seed, 0], dtype=dtype)
    return draw * math.sqrt(2.0 / fan_in)


def three_layer_convnet(x, params) -> tf.Tensor:
    """Barebones forward pass of the three-layer ConvNet; returns raw scores.

    x: (N, H, W, C) images.
    params: [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b] with
      conv_w1 (KH1, KW1, C, channel_1), conv_b1 (channel_1,),
      conv_w2 (KH2, KW2, channel_1, channel_2), conv_b2 (channel_2,),
      fc_w (H * W * channel_2, num_classes), fc_b (num_classes,).
    Returns scores (N, num_classes).  See Note [SAME padding is the notebook's zero-padding].
    """
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    h1 = tf.nn.relu(tf.nn.conv2d(x, conv_w1, strides=1, padding="SAME") + conv_b1)
    h2 = tf.nn.relu(tf.nn.conv2d(h1, conv_w2, strides=1, padding="SAME") + conv_b2)
    return tf.matmul(flatten(h2), fc_w) + fc_b


def three_layer_convnet_init(
    input_shape=DEFAULT_INPUT_SHAPE,
    channel_1: int = DEFAULT_CHANNEL_1,
    channel_2: int = DEFAULT_CHANNEL_2,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int | None = None,
) -> list[tf.Variable]:
    """tf.Variables for `three_layer_convnet`: 5x5 then 3x3 kernels, Kaiming normal, zero biases.

    input_shape: (H, W, C) of one image.
    Returns [conv_w1 (5, 5, C, channel_1), conv_b1 (channel_1,),
             conv_w2 (3, 3, channel_1, channel_2), conv_b2 (channel_2,),
             fc_w (H * W * channel_2, num_classes), fc_b (num_classes,)].
    See Note [Initialization].
    """
    height, width, in_channels = input_shape
    seeds = [None] * 3 if seed is None else [seed, seed + 1, seed + 2]
    return [
        tf.Variable(kaiming_normal((5, 5, in_channels, channel_1), seeds[0])),
        tf.Variable(tf.zeros((channel_1,))),
        tf.Variable(kaiming_normal((3, 3, channel_1, channel_2), seeds[1])),
        tf.Variable(tf.zeros((channel_2,))),
        tf.Variable(kaiming_normal((height * width * channel_2, num_classes), seeds[2])),
        tf.Variable(tf.zeros((num_classes,))),
    ]


def _variance_scaling(seed: int | None, offset: int):
    """The notebook's Keras initializer, seeded per layer so layers do not share draws."""
    return tf.keras.initializers.VarianceScaling(scale=2.0, seed=None if seed is None else seed + offset)


def _conv1(channel_1: int, seed: int | None) -> tf.keras.layers.Layer:
    return tf.keras.layers.Conv2D(channel_1, 5, padding="same", kernel_initializer=_variance_scaling(seed, 0),
                                  bias_initializer="zeros", name="conv1")


def _conv2(channel_2: int, seed: int | None) -> tf.keras.layers.Layer:
    return tf.keras.layers.Conv2D(channel_2, 3, padding="same", kernel_initializer=_variance_scaling(seed, 1),
                                  bias_initializer="zeros", name="conv2")


def _fc(num_classes: int, seed: int | None) -> tf.keras.layers.Layer:
    return tf.keras.layers.Dense(num_classes, kernel_initializer=_variance_scaling(seed, 2),
                                 bias_initializer="zeros", name="fc")


class ThreeLayerConvNet(tf.keras.Model):
    """Keras subclassing version; `model(x)` maps (N, H, W, C) to probabilities (N, num_classes).

    The dense layer's input size is inferred on the first call, so any H, W, C work.
    See Note [Keras variants share one layer order].
    """

    def __init__(self, channel_1: int, channel_2: int, num_classes: int, seed: int | None = None):
        super().__init__()
        self.conv1 = _conv1(channel_1, seed)
        self.relu1 = tf.keras.layers.ReLU()
        self.conv2 = _conv2(channel_2, seed)
        self.relu2 = tf.keras.layers.ReLU()
        self.flatten = tf.keras.layers.Flatten()
        self.fc = _fc(num_classes, seed)
        self.softmax = tf.keras.layers.Softmax()

    def call(self, x, training: bool = False) -> tf.Tensor:
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.conv2(x))
        return self.softmax(self.fc(self.flatten(x)))


def three_layer_convnet_sequential(
    input_shape=DEFAULT_INPUT_SHAPE,
    channel_1: int = DEFAULT_CHANNEL_1,
    channel_2: int = DEFAULT_CHANNEL_2,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int | None = None,
) -> tf.keras.Sequential:
    """Keras Sequential version; input (N, *input_shape) -> probabilities (N, num_classes).

    The input shape is declared up front (the Sequential API needs it to build).
    """
    return tf.keras.Sequential([
        tf.keras.Input(shape=tuple(input_shape)),
        _conv1(channel_1, seed),
        tf.keras.layers.ReLU(),
        _conv2(channel_2, seed),
        tf.keras.layers.ReLU(),
        tf.keras.layers.Flatten(),
        _fc(num_classes, seed),
        tf.keras.layers.Softmax(),
    ])


def three_layer_convnet_functional(
    input_shape=DEFAULT_INPUT_SHAPE,
    channel_1: int = DEFAULT_CHANNEL_1,
    channel_2: int = DEFAULT_CHANNEL_2,
    num_classes: int = DEFAULT_NUM_CLASSES,
    seed: int | None = None,
) -> tf.keras.Model:
    """Keras functional version; input (N, *input_shape) -> probabilities (N, num_classes)."""
    inputs = tf.keras.Input(shape=tuple(input_shape))
    x = tf.keras.layers.ReLU()(_conv1(channel_1, seed)(inputs))
    x = tf.keras.layers.ReLU()(_conv2(channel_2, seed)(x))
    x = tf.keras.layers.Flatten()(x)
    scores = tf.keras.layers.Softmax()(_fc(num_classes, seed)(x))
    return tf.keras.Model(inputs=inputs, outputs=scores)
