"""Fully-connected classifiers built from the layers in layers.py and layer_utils.py.

Both classes follow the model contract the Solver relies on:

- `self.params`: dict from parameter name to array.  Name the weights and
  biases of layer i `W{i}` and `b{i}`, counting from 1.
- `loss(X, y=None)`: with y None, a test-time forward pass that returns the
  class scores (N, C); otherwise `(loss, grads)` where grads has the same keys
  as self.params and each gradient the shape of its parameter.

Regularisation: add 0.5 * reg * sum(W**2) for every weight matrix (not the
biases) to the softmax data loss, and reg * W to each weight's gradient.
Initialisation: weights from N(0, weight_scale**2) (weight_scale * np.random.randn),
biases zero.
"""

import numpy as np

from ..layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403


class TwoLayerNet(object):
    """affine - relu - affine - softmax, with L2 regularisation.

    Parameters: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        """
        Inputs:
        - input_dim: D, the size of one (flattened) input
        - hidden_dim: H, the size of the hidden layer
        - num_classes: C, the number of classes
        - weight_scale: standard deviation of the initial weights
        - reg: strength of the L2 regularisation
        """
        self.params = {}
        self.reg = reg
        # TODO: initialise W1, b1, W2, b2 in self.params.
        raise NotImplementedError("TwoLayerNet.__init__ is not implemented yet")

    def loss(self, X, y=None):
        """
        Inputs:
        - X: (N, d_1, ..., d_k) minibatch
        - y: (N,) integer labels, or None

        Returns scores (N, C) when y is None, else (loss, grads).
        """
        # TODO: forward pass; return the scores when y is None; then the loss
        # and the backward pass.
        raise NotImplementedError("TwoLayerNet.loss is not implemented yet")


class FullyConnectedNet(object):
    """{affine - [normalization] - relu - [dropout]} x (L - 1) - affine - softmax.

    For this notebook, implement the network without normalization or dropout
    (the defaults); later notebooks add them.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        """
        Inputs:
        - hidden_dims: list with the size of each hidden layer
        - input_dim: D, the size of one (flattened) input
        - num_classes: C, the number of classes
        - dropout: probability of keeping a unit (1 means no dropout; later notebook)
        - normalization: None, 'batchnorm' or 'layernorm' (later notebook)
        - reg: strength of the L2 regularisation
        - weight_scale: standard deviation of the initial weights
        - dtype: numpy datatype of every parameter and of the computation
        - seed: if not None, seeds the dropout layers (later notebook)
        """
        self.normalization = normalization
        self.use_dropout = dropout != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        # TODO: initialise W1, b1, ..., WL, bL in self.params.
        raise NotImplementedError("FullyConnectedNet.__init__ is not implemented yet")

        # Given: cast every parameter to the requested dtype.
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """
        Inputs:
        - X: (N, d_1, ..., d_k) minibatch
        - y: (N,) integer labels, or None

        Returns scores (N, C) when y is None, else (loss, grads).
        """
        X = X.astype(self.dtype)
        # TODO: forward pass through the L layers; return the scores when y is
        # None; then the loss and the backward pass.
        raise NotImplementedError("FullyConnectedNet.loss is not implemented yet")
