"""The course's networks with the nn.Module and nn.Sequential APIs.

These are the second and third abstraction levels of the PyTorch notebook: the
same two-layer fully-connected net and three-layer convnet as
`reference.torch_nets.barebones`, with parameters tracked by nn.Module.
Given the same weights, all three levels compute the same scores; the
`*_params` helpers export a module's weights in the barebones layout so that
this can be checked.

Constructors build modules on the CPU, as nn layers do; `training.train` and
`training.check_accuracy` move a model to their `device`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from reference.torch_nets.barebones import CONV1_PADDING, CONV2_PADDING, flatten

# Filter sizes of the course's convnet; the paddings in barebones keep H x W.
CONV1_KERNEL = 5
CONV2_KERNEL = 3

# Digits: 1 grey channel, 8x8 pixels, 10 classes; channels as in the course's
# Part II / IV convnet.
DIGITS_IMAGE_SIZE = (8, 8)
DIGITS_NUM_CLASSES = 10


# Note [Initialisation]
# Weights of every conv and linear layer are Kaiming normal, std
# sqrt(2 / fan_in), the same distribution as `barebones.random_weight`;
# nn.init.kaiming_normal_ reads fan-in in nn's (out, in, ...) layout (see
# Note [Fan-in of a barebones weight]).  Biases follow the course: its Module
# classes initialise only the weights and keep PyTorch's default biases, while
# its Sequential exercise builds biases with `zero_weight`, so the Sequential
# builders here zero them.

def kaiming_init_(layer: nn.Conv2d | nn.Linear, zero_bias: bool) -> None:
    """Kaiming-normal weight in place; zero the bias when asked. See Note [Initialisation]."""
    nn.init.kaiming_normal_(layer.weight)
    if zero_bias:
        nn.init.zeros_(layer.bias)


class Flatten(nn.Module):
    """`barebones.flatten` as a layer for nn.Sequential: (N, d1, ..., dM) -> (N, D)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return flatten(x)


class TwoLayerFC(nn.Module):
    """Linear -> ReLU -> Linear, with biases.

    Input (N, d1, ..., dM) with d1 * ... * dM = input_size; scores (N, num_classes).
    """

    def __init__(self, input_size: int, hidden_size: int, num_classes: int):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        kaiming_init_(self.fc1, zero_bias=False)
        kaiming_init_(self.fc2, zero_bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(flatten(x))))


class ThreeLayerConvNet(nn.Module):
    """conv 5x5 pad 2 -> ReLU -> conv 3x3 pad 1 -> ReLU -> Linear, with biases.

    Input (N, in_channel, H, W) with (H, W) = image_size (the course's default
    is 32x32); scores (N, num_classes).  The fc layer has channel_2 * H * W inputs.
    """

    def __init__(self, in_channel: int, channel_1: int, channel_2: int, num_classes: int,
                 image_size: tuple[int, int] = (32, 32)):
        super().__init__()
        height, width = image_size
        self.conv1 = nn.Conv2d(in_channel, channel_1, CONV1_KERNEL, padding=CONV1_PADDING)
        self.conv2 = nn.Conv2d(channel_1, channel_2, CONV2_KERNEL, padding=CONV2_PADDING)
        self.fc = nn.Linear(channel_2 * height * width, num_classes)
        for layer in (self.conv1, self.conv2, self.fc):
            kaiming_init_(layer, zero_bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc(flatten(x))


def two_layer_fc_sequential(input_size: int, hidden_size: int,
                            num_classes: int) -> nn.Sequential:
    """TwoLayerFC as nn.Sequential(Flatten, Linear, ReLU, Linear); zero biases."""
    fc1 = nn.Linear(input_size, hidden_size)
    fc2 = nn.Linear(hidden_size, num_classes)
    for layer in (fc1, fc2):
        kaiming_init_(layer, zero_bias=True)
    return nn.Sequential(Flatten(), fc1, nn.ReLU(), fc2)


def three_layer_convnet_sequential(in_channel: int, channel_1: int, channel_2: int,
                                   num_classes: int,
                                   image_size: tuple[int, int] = (32, 32)) -> nn.Sequential:
    """ThreeLayerConvNet as nn.Sequential; zero biases. See Note [Initialisation].

    Layers: Conv2d, ReLU, Conv2d, ReLU, Flatten, Linear.
    Input (N, in_channel, H, W); scores (N, num_classes).
    """
    height, width = image_size
    conv1 = nn.Conv2d(in_channel, channel_1, CONV1_KERNEL, padding=CONV1_PADDING)
    conv2 = nn.Conv2d(channel_1, channel_2, CONV2_KERNEL, padding=CONV2_PADDING)
    fc = nn.Linear(channel_2 * height * width, num_classes)
    for layer in (conv1, conv2, fc):
        kaiming_init_(layer, zero_bias=True)
    return nn.Sequential(conv1, nn.ReLU(), conv2, nn.ReLU(), Flatten(), fc)


def digits_convnet(channel_1: int = 32, channel_2: int = 16) -> ThreeLayerConvNet:
    """The course's ThreeLayerConvNet sized for digits: input (N, 1, 8, 8), 10 scores."""
    return ThreeLayerConvNet(1, channel_1, channel_2, DIGITS_NUM_CLASSES,
                             image_size=DIGITS_IMAGE_SIZE)


def layers_of(model: nn.Module, kind: type[nn.Module]) -> list[nn.Module]:
    """The submodules of `model` that are instances of `kind`, in registration order."""
    return [m for m in model.modules() if isinstance(m, kind)]


def two_layer_fc_params(model: nn.Module) -> list[torch.Tensor]:
    """Weights of a TwoLayerFC (or its Sequential) in the barebones layout [w1 (D, H), w2 (H, C)].

    `barebones.two_layer_fc` has no biases, so it matches the module only when
    the module's biases are zero.  Returns detached copies.
    """
    fc1, fc2 = layers_of(model, nn.Linear)
    return [fc1.weight.detach().t().clone(), fc2.weight.detach().t().clone()]


def three_layer_convnet_params(model: nn.Module) -> list[torch.Tensor]:
    """Parameters of a ThreeLayerConvNet (or its Sequential) in the barebones layout.

    Returns detached copies [conv_w1, conv_b1, conv_w2, conv_b2, fc_w (D, C), fc_b]
    for `barebones.three_layer_convnet`.
    """
    conv1, conv2 = layers_of(model, nn.Conv2d)
    (fc,) = layers_of(model, nn.Linear)
    return [t.detach().clone() for t in (conv1.weight, conv1.bias, conv2.weight,
                                         conv2.bias, fc.weight.t(), fc.bias)]
