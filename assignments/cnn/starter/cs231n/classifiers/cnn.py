"""A three-layer convolutional network (starter code).

    conv - relu - 2x2 max pool - affine - relu - affine - softmax

on minibatches of shape (N, C, H, W).  The model keeps its parameters in
`self.params` and computes scores, or loss and gradients, in `loss`: the
contract the Solver relies on.
"""

from __future__ import annotations

import numpy as np

from ..fast_layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403
from ..layers import *  # noqa: F401,F403


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax."""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        """Create the parameters.

        input_dim: (C, H, W) of one image; num_filters: F; filter_size: the
        filters are filter_size x filter_size, applied with stride 1 and zero
        padding (filter_size - 1) // 2, so H and W are kept; the pool halves them.
        Parameters, stored in self.params under these names:
            W1 (F, C, filter_size, filter_size), b1 (F,)
            W2 (F * (H // 2) * (W // 2), hidden_dim), b2 (hidden_dim,)
            W3 (hidden_dim, num_classes), b3 (num_classes,)
        Weights are drawn from a Gaussian with mean 0 and standard deviation
        weight_scale; biases start at zero.  Cast every parameter to `dtype`.
        reg: strength of the L2 penalty 0.5 * reg * (|W1|^2 + |W2|^2 + |W3|^2).
        """
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        # TODO: initialise W1, b1, W2, b2, W3, b3.
        raise NotImplementedError("ThreeLayerConvNet.__init__ is not implemented yet")

    def loss(self, X, y=None):
        """X (N, C, H, W); y (N,) or None.

        With y None, return the scores (N, num_classes).  Otherwise return
        (loss, grads): the softmax loss plus the L2 penalty, and grads a dict with
        the gradient of each parameter under its name in self.params.
        """
        # TODO: the forward pass (the sandwich layers help), then the backward pass.
        raise NotImplementedError("ThreeLayerConvNet.loss is not implemented yet")
