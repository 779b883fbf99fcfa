"""Sandwich layers: short chains of the layers in layers.py with the same contract.

A forward chain returns `(out, cache)`, where cache holds the caches of its
stages; its backward takes `(dout, cache)`.  You may add a chain for
affine -> batchnorm/layernorm -> relu here and use it in FullyConnectedNet.
"""

from __future__ import annotations

from .layers import affine_backward, affine_forward, relu_backward, relu_forward


def affine_relu_forward(x, w, b):
    """affine, then ReLU.  x (N, d_1, ..., d_k), w (D, M), b (M,).  Returns out (N, M), cache."""
    scores, affine_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(scores)
    return out, (affine_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """dout (N, M).  Returns dx, dw, db of affine_relu_forward."""
    affine_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), affine_cache)
