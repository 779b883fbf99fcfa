"""Convenience "sandwich" layers: common chains of the layers in layers.py.

Same contract as layers.py: a forward returns (out, cache), a backward takes
(dout, cache) and returns dx followed by the parameter gradients.
"""

from .layers import *  # noqa: F401,F403


def affine_relu_forward(x, w, b):
    """An affine layer followed by a ReLU.

    Inputs:  x (N, d_1, ..., d_k); w (D, M); b (M,)
    Returns: out (N, M), cache (what affine_relu_backward needs)
    """
    # TODO: chain affine_forward and relu_forward.
    raise NotImplementedError("affine_relu_forward is not implemented yet")


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward.

    Inputs:  dout (N, M); cache from affine_relu_forward
    Returns: dx (N, d_1, ..., d_k), dw (D, M), db (M,)
    """
    # TODO: chain relu_backward and affine_backward (in that order).
    raise NotImplementedError("affine_relu_backward is not implemented yet")
