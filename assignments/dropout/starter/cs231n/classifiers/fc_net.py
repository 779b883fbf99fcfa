"""A fully-connected network of any depth, with optional dropout.

Architecture, for L layers:

    {affine - relu - [dropout]} x (L - 1) - affine - softmax

The network keeps its parameters in the dict self.params (W1, b1, ..., WL, bL)
and computes everything in its `loss` method, which the Solver calls.
"""

import numpy as np

from ..layer_utils import *  # noqa: F401,F403
from ..layers import *  # noqa: F401,F403


class FullyConnectedNet:
    """A fully-connected network with ReLU hidden layers and optional dropout.

    Dropout, when used, follows the ReLU of every hidden layer.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        """Build the network.

        hidden_dims: list with the size of each hidden layer.
        input_dim: size of one (flattened) input; num_classes: number of scores.
        dropout: the probability of KEEPING a unit in the dropout layers;
            1 means no dropout layers at all.
        normalization: not used in this notebook (None).
        reg: L2 regularisation strength, applied to the weights W1..WL.
        weight_scale: standard deviation of the random normal initial weights;
            biases start at zero.
        dtype: numpy dtype of the parameters and of all computation.
        seed: when given, stored in the dropout parameters so that every
            forward pass draws the same masks (for gradient checking).

        Set self.params, self.num_layers, self.use_dropout (True when dropout
        is not 1) and self.dropout_param ({'mode': 'train', 'p': dropout},
        plus 'seed' when a seed is given).
        """
        # TODO: initialise the parameters and the dropout parameters.
        raise NotImplementedError("FullyConnectedNet.__init__")

    def loss(self, X, y=None):
        """Scores, or loss and gradients, for a minibatch.

        X: (N, d_1, ..., d_k) inputs; y: (N,) labels, or None.
        With y None this is a test-time forward pass (no dropout) returning
        scores (N, num_classes).  Otherwise it is a training pass, with
        dropout after every hidden ReLU when self.use_dropout, returning
        (loss, grads) where grads[name] is shaped like self.params[name].
        """
        # TODO: set the dropout mode ('test' when y is None, else 'train'),
        # run the forward pass, then the loss and the backward pass.
        raise NotImplementedError("FullyConnectedNet.loss")
