"""Layers for the Dropout notebook.

Every layer follows the course's contract: `forward(inputs..., param) -> (out,
cache)` and `backward(dout, cache) -> gradients`, where the cache holds
whatever the backward pass needs.  The first five functions come from the
FullyConnectedNets notebook: paste your own implementations of them here.
The dropout layer is this notebook's work.
"""

import numpy as np


def affine_forward(x, w, b):
    """Fully-connected layer: each example, flattened, times w, plus b.

    Shapes: x (N, d_1, ..., d_k) with D = d_1 * ... * d_k; w (D, M); b (M,).
    Returns out (N, M) and a cache for affine_backward.
    """
    # TODO: your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("affine_forward")


def affine_backward(dout, cache):
    """Gradients of affine_forward.

    Shapes: dout (N, M).  Returns dx shaped like x, dw (D, M), db (M,).
    """
    # TODO: your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("affine_backward")


def relu_forward(x):
    """Elementwise max(0, x).  Returns out shaped like x and a cache."""
    # TODO: your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("relu_forward")


def relu_backward(dout, cache):
    """Gradient of relu_forward: dout where the input was positive, 0 elsewhere."""
    # TODO: your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("relu_backward")


def softmax_loss(x, y):
    """Mean softmax cross-entropy of scores x (N, C) for labels y (N,).

    Returns (loss, dx) with dx the gradient of the loss, shaped like x.
    """
    # TODO: your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("softmax_loss")


def dropout_forward(x, dropout_param):
    """Inverted dropout.

    x: array of any shape.  dropout_param: dict with
      - 'p': the probability of KEEPING each unit (0 < p <= 1);
      - 'mode': 'train' drops units at random and scales the kept ones so that
        the expected output equals x; 'test' returns x unchanged;
      - 'seed' (optional): when present, seed numpy's generator with it before
        drawing the mask, so that the same seed gives the same mask (needed
        for gradient checking).
    Returns out (same shape as x) and a cache (dropout_param, mask) for
    dropout_backward; the mask is None in test mode.
    """
    # TODO: implement the train and test modes.
    raise NotImplementedError("dropout_forward")


def dropout_backward(dout, cache):
    """Gradient of dropout_forward.

    dout: upstream gradient, shaped like x.  cache: from dropout_forward.
    Returns dx shaped like dout: in train mode, use the mask that the forward
    pass used; in test mode the gradient passes through unchanged.
    """
    # TODO: implement the train and test modes.
    raise NotImplementedError("dropout_backward")
