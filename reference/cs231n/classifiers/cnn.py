"""The course's three-layer convolutional network, as the reference students are judged against.

    conv - relu - 2x2 max pool - affine - relu - affine - softmax

on inputs of shape (N, C, H, W).  It uses the fast (strided-view) convolution
and pooling through the sandwich layers, as the course's file does, and has
the same model contract as fc_net.py (`params`, `loss(X, y=None)`).
"""

from __future__ import annotations

import numpy as np

from ..layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from ..layers import affine_backward, affine_forward, softmax_loss

__all__ = ["ThreeLayerConvNet"]

_POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


# Note [Convolution keeps the spatial size]
# The convolution has stride 1 and zero padding (filter_size - 1) // 2, so for
# an odd filter_size the output has the input's H x W (the course asks for odd
# filters; an even one shrinks the map by one pixel, which the size formula
# below also covers).  The 2x2 stride-2 pool then gives
# floor((H_conv - 2) / 2) + 1 rows, i.e. H // 2 for even H, and likewise for W;
# W2 is sized from that, so odd spatial sizes work too.
def _conv_param(filter_size: int) -> dict:
    """Stride and padding of the convolution; see Note [Convolution keeps the spatial size]."""
    return {"stride": 1, "pad": (filter_size - 1) // 2}


def _pooled_size(size: int, filter_size: int) -> int:
    """Spatial size after conv (stride 1, 'same' pad) and the 2x2 stride-2 pool."""
    pad = (filter_size - 1) // 2
    conv_size = size + 2 * pad - filter_size + 1
    return (conv_size - 2) // 2 + 1


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    Parameters (cast to `dtype`):
    W1 (F, C, filter_size, filter_size), b1 (F,),
    W2 (F * H_pool * W_pool, hidden_dim), b2 (hidden_dim,),
    W3 (hidden_dim, num_classes), b3 (num_classes,).
    Weights are weight_scale * np.random.randn in that order, biases zeros
    (fc_net.py Note [Initialisation draws from np.random]).  Regularisation is
    0.5 * reg * (|W1|^2 + |W2|^2 + |W3|^2) (fc_net.py Note [L2 regularisation]).
    """

    def __init__(self, input_dim: tuple[int, int, int] = (3, 32, 32), num_filters: int = 32,
                 filter_size: int = 7, hidden_dim: int = 100, num_classes: int = 10,
                 weight_scale: float = 1e-3, reg: float = 0.0, dtype=np.float32):
        C, H, W = input_dim
        self.reg = reg
        self.dtype = dtype
        self.filter_size = filter_size
        pooled = num_filters * _pooled_size(H, filter_size) * _pooled_size(W, filter_size)
        params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(pooled, hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        self.params = {name: value.astype(dtype) for name, value in params.items()}

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        """Scores, or loss and gradients, for a minibatch.

        Shapes: X (N, C, H, W); y (N,) or None.  Returns scores (N, num_classes)
        when y is None, else (loss, grads), grads[name] shaped like params[name].
        """
        p = self.params
        X = X.astype(self.dtype)
        conv_param = _conv_param(self.filter_size)

        pooled, conv_cache = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, _POOL_PARAM)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        weight_names = ["W1", "W2", "W3"]
        loss = data_loss + 0.5 * self.reg * sum(float(np.sum(p[n] ** 2)) for n in weight_names)

        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache)
        for name in weight_names:
            grads[name] = grads[name] + self.reg * p[name]
        return loss, grads
