"""Layers for fully-connected networks: the functions you write in this notebook.

Every layer comes as a pair that follows one contract:

    out, cache = layer_forward(x, *params)    # cache: whatever backward will need
    dx, *dparams = layer_backward(dout, cache)

`dout` is the gradient of the loss with respect to `out` and has its shape;
each gradient returned has the shape of the input it belongs to.  The two loss
functions return `(loss, dx)` instead.  Do not modify the inputs in place.
"""

import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer.

    Each example x[i] has shape (d_1, ..., d_k); flatten it to a row of
    D = d_1 * ... * d_k numbers, then compute row @ w + b.

    Inputs:  x (N, d_1, ..., d_k); w (D, M); b (M,)
    Returns: out (N, M), cache (x, w, b)
    """
    # TODO: implement the affine forward pass.
    raise NotImplementedError("affine_forward is not implemented yet")


def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    Inputs:  dout (N, M); cache as returned by affine_forward
    Returns: dx (N, d_1, ..., d_k), dw (D, M), db (M,)
    """
    # TODO: implement the affine backward pass.
    raise NotImplementedError("affine_backward is not implemented yet")


def relu_forward(x):
    """Rectified linear unit, applied elementwise: max(0, x).

    Inputs:  x of any shape
    Returns: out (same shape as x), cache (x)
    """
    # TODO: implement the ReLU forward pass.
    raise NotImplementedError("relu_forward is not implemented yet")


def relu_backward(dout, cache):
    """Backward pass of ReLU: the upstream gradient where the input was positive, else 0.

    Inputs:  dout (any shape); cache (x, as stored by relu_forward)
    Returns: dx (same shape as x)
    """
    # TODO: implement the ReLU backward pass.
    raise NotImplementedError("relu_backward is not implemented yet")


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the minibatch.

    Inputs:  x (N, C) class scores; y (N,) integer labels, 0 <= y[i] < C
    Returns: loss (float), dx (N, C) gradient of the loss with respect to x
    """
    # TODO: implement the SVM loss and its gradient.
    raise NotImplementedError("svm_loss is not implemented yet")


def softmax_loss(x, y):
    """Softmax cross-entropy loss, averaged over the minibatch.

    Must stay finite for large scores (shift each row before exponentiating).

    Inputs:  x (N, C) class scores; y (N,) integer labels, 0 <= y[i] < C
    Returns: loss (float), dx (N, C) gradient of the loss with respect to x
    """
    # TODO: implement the softmax loss and its gradient.
    raise NotImplementedError("softmax_loss is not implemented yet")
