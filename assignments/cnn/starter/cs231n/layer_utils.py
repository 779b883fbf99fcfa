"""Sandwich layers: common chains of layers behind one forward and one backward (starter code).

Each forward returns (out, cache) with cache holding its stages' caches; each
backward takes (dout, cache) and returns dx, then the parameter gradients in
the order the forward takes the parameters.  The convolutional ones should use
the fast layers.
"""

from __future__ import annotations

from .fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                          max_pool_forward_fast)
from .layers import affine_backward, affine_forward, relu_backward, relu_forward


def affine_relu_forward(x, w, b):
    """affine -> relu.  x (N, d_1, ..., d_k); w (D, M); b (M,); out (N, M)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """dx, dw, db for dout (N, M)."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def conv_relu_forward(x, w, b, conv_param):
    """conv -> relu.  x (N, C, H, W); w (F, C, HH, WW); b (F,); out (N, F, H_out, W_out)."""
    # TODO: chain conv_forward_fast and relu_forward, keeping both caches.
    raise NotImplementedError("conv_relu_forward is not implemented yet")


def conv_relu_backward(dout, cache):
    """dx (N, C, H, W), dw (F, C, HH, WW), db (F,) for dout (N, F, H_out, W_out)."""
    # TODO: the forward steps in reverse.
    raise NotImplementedError("conv_relu_backward is not implemented yet")


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """conv -> relu -> max pool.  Returns out (N, F, H_pool, W_pool) and cache."""
    # TODO: chain conv_forward_fast, relu_forward and max_pool_forward_fast.
    raise NotImplementedError("conv_relu_pool_forward is not implemented yet")


def conv_relu_pool_backward(dout, cache):
    """dx, dw, db for dout (N, F, H_pool, W_pool)."""
    # TODO: the forward steps in reverse.
    raise NotImplementedError("conv_relu_pool_backward is not implemented yet")
