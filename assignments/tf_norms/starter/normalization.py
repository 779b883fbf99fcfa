"""IST597 Assignment 01000, Problem 1: normalization using basic TensorFlow ops.

Fill in every function that raises NotImplementedError.  You may add functions,
but do not delete or rename any, and keep the arguments: the autograder calls
them as written here.  Submit this file as `normalization.py`.  Put your
experiments (loading Fashion-MNIST or CIFAR-10, the training runs you report)
under `if __name__ == "__main__":`: the autograder imports this file, has no
network and no data sets, and trains your NormalizedCNN on its own data.

Conventions (TensorFlow's):
- Activations are (N, D) after a dense layer and NHWC (N, H, W, C) after a conv
  layer; the last axis is the feature/channel axis.
- gamma and beta have shape (C,), one value per feature/channel.
- Kernels are (D_in, D_out) for dense layers and HWIO (KH, KW, C_in, C_out) for
  conv layers; the last axis is the output unit.
- eps defaults to 1e-3, as tf.keras.layers.BatchNormalization and
  LayerNormalization do, so that you can compare with them directly.

Rules: the three normalization functions use basic ops only (tf.reduce_mean,
tf.reduce_sum, tf.square, tf.sqrt, arithmetic, reshapes), never
tf.nn.moments, tf.nn.batch_normalization or a Keras normalization layer
(compare with those elsewhere in the file if you like).  Gradients come from
tf.GradientTape; do not write a backward pass, and do not leave TensorFlow
(.numpy(), numpy functions) inside a forward pass.
"""

import numpy as np
import tensorflow as tf


def batch_norm(x, gamma, beta, eps=1e-3):
    """Training-mode batch normalization with the mini-batch's own statistics.

    x: (N, D) or (N, H, W, C).  Mean and (biased) variance per channel over
       every axis but the last: N for (N, D); N, H and W for (N, H, W, C).
    gamma, beta: (C,).
    Returns z = gamma * (x - mean) / sqrt(var + eps) + beta, shaped like x.
    """
    raise NotImplementedError("batch_norm is not implemented yet")


def layer_norm(x, gamma, beta, eps=1e-3):
    """Layer normalization: each example normalized over all of its features.

    x: (N, D) or (N, H, W, C).  Mean and (biased) variance per example over
       every axis but the first.
    gamma, beta: (C,), per feature/channel (the last axis).
    Returns z = gamma * (x - mean) / sqrt(var + eps) + beta, shaped like x.
    """
    raise NotImplementedError("layer_norm is not implemented yet")


def weight_norm(v, g):
    """Weight normalization: w = g * v / ||v||, one norm per output unit.

    v: (D_in, D_out) or (KH, KW, C_in, C_out).
    g: (D_out,) or (C_out,).
    ||v|| is the Euclidean norm over every axis but the last, so that
    ||w[..., k]|| = g[k].  Returns w shaped like v.
    """
    raise NotImplementedError("weight_norm is not implemented yet")


class NormalizedCNN(tf.Module):
    """A small CNN using your normalization functions.

    input_shape: (H, W, C) of one image, e.g. (28, 28, 1) for Fashion-MNIST.
    num_classes: number of scores.
    normalization: 'batch', 'layer', 'weight' or None.
      'batch' / 'layer': normalize the pre-activations of every conv layer and of
        the hidden dense layer.  Batch norm keeps a running mean and variance for
        test time (running = 0.9 * running + 0.1 * batch, updated when training).
      'weight': reparameterize every kernel as weight_norm(v, g).
    seed: makes the initial weights reproducible.

    model(x, training=False): x (N, H, W, C) -> scores (N, num_classes).
    Suggested: [conv3x3 - norm - relu - maxpool2x2] x 2 - flatten - dense -
    norm - relu - dense.  You may use tf.nn / Keras layers for conv and pooling.
    """

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, normalization=None, seed=0):
        super().__init__()
        raise NotImplementedError("NormalizedCNN is not implemented yet")

    def __call__(self, x, training=False):
        raise NotImplementedError("NormalizedCNN is not implemented yet")


def train(model, x, y, steps=300, batch_size=64, learning_rate=1e-2, seed=0):
    """Train `model` in place: `steps` minibatch updates with tf.GradientTape.

    x: (N, H, W, C) float images; y: (N,) integer labels.
    Each step: scores = model(batch, training=True), mean softmax cross-entropy,
    gradients with tf.GradientTape, an optimizer update (Adam(learning_rate)).
    seed makes the minibatch order reproducible.  Returns the list of losses.
    """
    raise NotImplementedError("train is not implemented yet")


def evaluate(model, x, y):
    """Fraction of images in x whose predicted class (test mode) equals y, a float in [0, 1]."""
    raise NotImplementedError("evaluate is not implemented yet")
