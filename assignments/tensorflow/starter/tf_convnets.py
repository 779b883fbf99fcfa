"""cs231n TensorFlow notebook: one three-layer ConvNet at three levels of abstraction.

Fill in every function that raises NotImplementedError and keep the names and
arguments: the autograder calls them as written here.  Submit this file as
`tf_convnets.py` (or the notebook, which is converted to it).

Architecture (inputs NHWC):
    conv 5x5 (channel_1 filters, zero-padding 2) + bias - ReLU
    - conv 3x3 (channel_2 filters, zero-padding 1) + bias - ReLU
    - flatten - fully connected (num_classes) + bias
Barebones returns raw scores; the Keras models end in a softmax, as in the
notebook, and return class probabilities.  Keras layers are created in the
order conv1, conv2, fc.
"""

import math

import tensorflow as tf


def flatten(x):
    """(N, D1, ..., DM) -> (N, D1 * ... * DM), keeping the row-major order."""
    raise NotImplementedError("flatten is not implemented yet")


def create_matrix_with_kaiming_normal(shape):
    """Course helper: N(0, 2 / fan_in) with fan_in = product of all axes but the last."""
    fan_in = math.prod(shape[:-1])
    return tf.random.normal(shape) * math.sqrt(2.0 / fan_in)


def three_layer_convnet(x, params):
    """Barebones forward pass; returns scores (N, num_classes).

    params: [conv_w1 (5, 5, C, channel_1), conv_b1 (channel_1,),
             conv_w2 (3, 3, channel_1, channel_2), conv_b2 (channel_2,),
             fc_w (H * W * channel_2, num_classes), fc_b (num_classes,)].
    """
    raise NotImplementedError("three_layer_convnet is not implemented yet")


def three_layer_convnet_init():
    """tf.Variables for three_layer_convnet on 32x32x3 images, 32 and 16 filters, 6 classes:
    Kaiming normal weights (create_matrix_with_kaiming_normal), zero biases, in the order above."""
    raise NotImplementedError("three_layer_convnet_init is not implemented yet")


class ThreeLayerConvNet(tf.keras.Model):
    """Keras subclassing version; model(x) -> probabilities (N, num_classes)."""

    def __init__(self, channel_1, channel_2, num_classes):
        super().__init__()
        raise NotImplementedError("ThreeLayerConvNet is not implemented yet")

    def call(self, x, training=False):
        raise NotImplementedError("ThreeLayerConvNet is not implemented yet")


def three_layer_convnet_sequential(input_shape=(32, 32, 3), channel_1=32, channel_2=16, num_classes=6):
    """The same network with tf.keras.Sequential; returns the model (probabilities out)."""
    raise NotImplementedError("three_layer_convnet_sequential is not implemented yet")


def three_layer_convnet_functional(input_shape=(32, 32, 3), channel_1=32, channel_2=16, num_classes=6):
    """The same network with the Keras functional API; returns the tf.keras.Model."""
    raise NotImplementedError("three_layer_convnet_functional is not implemented yet")
