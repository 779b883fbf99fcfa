"""A fully-connected network of any depth, now with batch or layer normalization.

Architecture, for L layers:

    {affine - [batchnorm | layernorm] - relu - [dropout]} x (L - 1) - affine - softmax

The normalization sits between each hidden affine layer and its ReLU; the
scores of the last affine layer are never normalized.
"""

from __future__ import annotations

import numpy as np

from ..layer_utils import *  # noqa: F401,F403
from ..layers import *  # noqa: F401,F403


class FullyConnectedNet:
    """Parameters live in self.params: W1..WL and b1..bL, plus, with normalization,
    gamma1..gamma(L-1) and beta1..beta(L-1) for the hidden layers.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        """hidden_dims: list of hidden layer sizes; normalization: None, 'batchnorm' or
        'layernorm'; dropout_keep_ratio: probability of keeping a unit (1: no dropout);
        reg: L2 strength; weight_scale: std of the initial weights; dtype: of every
        parameter; seed: makes dropout deterministic.
        """
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        # The running state of the layers that need one (given).
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if self.normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        if self.normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

        # TODO: fill self.params.  Weights: weight_scale * standard normal, shaped
        # (fan_in, fan_out); biases: zeros.  With normalization, gamma{i} starts at
        # ones and beta{i} at zeros for every hidden layer i.  Then cast every
        # parameter to dtype.
        raise NotImplementedError("FullyConnectedNet.__init__ is not implemented yet")

    def loss(self, X, y=None):
        """X (N, d_1, ..., d_k), y (N,) or None.

        y None: a test-time pass returning scores (N, C).  Otherwise a training
        pass returning (loss, grads) with grads[name] shaped like params[name].
        """
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode

        # TODO: the forward pass, the loss with 0.5 * reg * sum(W ** 2) for every
        # weight matrix, and the backward pass.
        raise NotImplementedError("FullyConnectedNet.loss is not implemented yet")
