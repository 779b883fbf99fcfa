"""Convenience layers provided by the course: common chains of layers.py's layers.

Each forward returns (out, cache); the matching backward takes (dout, cache).
Nothing to implement here.
"""

from .layers import affine_backward, affine_forward, relu_backward, relu_forward


def affine_relu_forward(x, w, b):
    """An affine layer followed by a ReLU.  Returns out (N, M) and a cache."""
    affine_out, affine_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(affine_out)
    return out, (affine_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward.  Returns dx, dw, db."""
    affine_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), affine_cache)
