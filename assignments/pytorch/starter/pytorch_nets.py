"""PyTorch at three levels of abstraction (the course's PyTorch notebook): starter code.

Barebones functions on raw tensors, nn.Module classes, and an nn.Sequential
builder, all for the same two networks.  Images are (N, C, H, W) float tensors
of the notebook's size, 32 x 32.  Replace each `raise NotImplementedError`
with your code; keep the names and signatures.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

dtype = torch.float32


def flatten(x):
    """(N, d1, ..., dM) -> (N, d1 * ... * dM), keeping the first axis."""
    raise NotImplementedError("flatten")


def two_layer_fc(x, params):
    """Fully connected -> ReLU -> fully connected, no biases.

    x: (N, d1, ..., dM) with D = d1 * ... * dM;  params: [w1 (D, H), w2 (H, C)].
    Returns scores (N, C).
    """
    raise NotImplementedError("two_layer_fc")


def three_layer_convnet(x, params):
    """conv (5x5, pad 2, bias) -> ReLU -> conv (3x3, pad 1, bias) -> ReLU -> fully connected (bias).

    x: (N, C, H, W);  params: [conv_w1 (C1, C, 5, 5), conv_b1 (C1,),
    conv_w2 (C2, C1, 3, 3), conv_b2 (C2,), fc_w (C2 * H * W, K), fc_b (K,)].
    Returns scores (N, K); no softmax.
    """
    raise NotImplementedError("three_layer_convnet")


def random_weight(shape):
    """A float32 leaf tensor of `shape`, Kaiming normal (std sqrt(2 / fan_in)), requires_grad.

    fan_in is shape[0] for a fully-connected weight (D_in, D_out) and
    C_in * KH * KW for a conv weight (C_out, C_in, KH, KW).
    """
    raise NotImplementedError("random_weight")


def zero_weight(shape):
    """A float32 leaf tensor of zeros of `shape` with requires_grad (for biases)."""
    raise NotImplementedError("zero_weight")


class TwoLayerFC(nn.Module):
    """Linear -> ReLU -> Linear with biases; Kaiming-normal weights.  Scores (N, num_classes)."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        raise NotImplementedError("TwoLayerFC.__init__")

    def forward(self, x):
        raise NotImplementedError("TwoLayerFC.forward")


class ThreeLayerConvNet(nn.Module):
    """conv 5x5 pad 2 -> ReLU -> conv 3x3 pad 1 -> ReLU -> Linear, all with biases.

    Input (N, in_channel, 32, 32); scores (N, num_classes).  Initialise every
    weight with Kaiming normal.
    """

    def __init__(self, in_channel, channel_1, channel_2, num_classes):
        super().__init__()
        raise NotImplementedError("ThreeLayerConvNet.__init__")

    def forward(self, x):
        raise NotImplementedError("ThreeLayerConvNet.forward")


def three_layer_convnet_sequential(in_channel, channel_1, channel_2, num_classes):
    """The same ThreeLayerConvNet as an nn.Sequential, for 32 x 32 inputs.

    Layers: Conv2d, ReLU, Conv2d, ReLU, a flatten layer, Linear.  Weights
    Kaiming normal, biases zero (as random_weight and zero_weight would make them).
    """
    raise NotImplementedError("three_layer_convnet_sequential")
