"""Layers for the BatchNormalization notebook, in the course's calling convention.

Every forward pass returns `(out, cache)`; the matching backward pass takes
`(dout, cache)` and returns the gradient with respect to the input first, then
the gradients of the parameters in the order the forward pass takes them.
Forward passes must not write into their input arrays.  The one argument that
is meant to change is `bn_param`: batchnorm_forward keeps its running
averages there.

Copy your affine, ReLU and softmax layers from the fully-connected assignment;
the normalization layers are new.
"""

from __future__ import annotations

import numpy as np


def affine_forward(x, w, b):
    """Fully-connected layer.  x (N, d_1, ..., d_k), w (D, M), b (M,) with D = d_1 * ... * d_k.

    Returns out (N, M) and a cache.
    """
    # TODO: your implementation from the fully-connected assignment.
    raise NotImplementedError("affine_forward is not implemented yet")


def affine_backward(dout, cache):
    """dout (N, M).  Returns dx (shaped like x), dw (D, M), db (M,)."""
    # TODO: your implementation from the fully-connected assignment.
    raise NotImplementedError("affine_backward is not implemented yet")


def relu_forward(x):
    """Elementwise max(0, x).  Returns out (shaped like x) and a cache."""
    # TODO: your implementation from the fully-connected assignment.
    raise NotImplementedError("relu_forward is not implemented yet")


def relu_backward(dout, cache):
    """Returns dx, shaped like dout."""
    # TODO: your implementation from the fully-connected assignment.
    raise NotImplementedError("relu_backward is not implemented yet")


def softmax_loss(x, y):
    """Mean cross-entropy of softmax(x).  x (N, C) scores, y (N,) labels in [0, C).

    Returns loss (a float) and dx (N, C).
    """
    # TODO: your implementation from the fully-connected assignment.
    raise NotImplementedError("softmax_loss is not implemented yet")


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of x (N, D) with scale gamma (D,) and shift beta (D,).

    bn_param is a dict:
      'mode': 'train' or 'test' (required);
      'eps': added to the variance before the square root (default 1e-5);
      'momentum': weight of the old value in the running averages (default 0.9);
      'running_mean', 'running_var': arrays of shape (D,), zeros when missing.

    'train': normalize every feature with the mean and the (biased) variance of
    this batch, then scale by gamma and shift by beta; update the running
    averages as  running = momentum * running + (1 - momentum) * batch value
    and store them back into bn_param.
    'test': normalize with the running averages instead, leaving them unchanged.

    Returns out (N, D) and a cache for batchnorm_backward.
    """
    # TODO: train and test modes as described above.
    raise NotImplementedError("batchnorm_forward is not implemented yet")


def batchnorm_backward(dout, cache):
    """Gradients of batchnorm_forward (train mode), through its computation graph.

    Walk the graph of the forward pass backwards one node at a time, adding up
    the gradients wherever a value feeds more than one node.
    dout (N, D).  Returns dx (N, D), dgamma (D,), dbeta (D,).
    """
    # TODO
    raise NotImplementedError("batchnorm_backward is not implemented yet")


def batchnorm_backward_alt(dout, cache):
    """The same gradients as batchnorm_backward, from a formula simplified on paper.

    Takes the cache of batchnorm_forward and returns dx (N, D), dgamma (D,),
    dbeta (D,).
    """
    # TODO
    raise NotImplementedError("batchnorm_backward_alt is not implemented yet")


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization: each row of x (N, D) is normalized over its own D features.

    gamma, beta (D,) scale and shift every feature as in batch normalization.
    ln_param may hold 'eps' (default 1e-5); other keys are ignored.  Training
    and testing behave the same, so there are no running averages.

    Returns out (N, D) and a cache for layernorm_backward.
    """
    # TODO
    raise NotImplementedError("layernorm_forward is not implemented yet")


def layernorm_backward(dout, cache):
    """Gradients of layernorm_forward.  dout (N, D).  Returns dx (N, D), dgamma (D,), dbeta (D,)."""
    # TODO
    raise NotImplementedError("layernorm_backward is not implemented yet")
