"""Barebones PyTorch: networks as functions of raw parameter tensors.

This is the course's lowest level of abstraction: a model is a function
`scores = model_fn(x, params)` over a list of leaf tensors created with
`requires_grad=True`, autograd computes the gradients, and the SGD update is
written by hand.  The networks here are the trusted versions of the notebook's
`two_layer_fc` and `three_layer_convnet`, its initialisers, and its training
loop and accuracy check (`train_part2`, `check_accuracy_part2` in the course).

Layouts follow the course, which differ from `nn.Linear`'s:
fully-connected weights are (D_in, D_out) and are applied as `x @ w`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from reference.torch_nets.data import Data, iter_batches
from reference.torch_nets.device import DTYPE, resolve_device

ModelFn = Callable[[torch.Tensor, Sequence[torch.Tensor]], torch.Tensor]

# Zero-padding of the two convolutions: 2 for the first (5x5 in the course),
# 1 for the second (3x3), so both keep the spatial size H x W.
CONV1_PADDING = 2
CONV2_PADDING = 1


def flatten(x: torch.Tensor) -> torch.Tensor:
    """Collapse every axis but the first: (N, d1, ..., dM) -> (N, d1 * ... * dM)."""
    return x.reshape(x.shape[0], -1)


def two_layer_fc(x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Fully connected -> ReLU -> fully connected, without biases.

    x: (N, d1, ..., dM) with D = d1 * ... * dM;  params: [w1 (D, H), w2 (H, C)].
    Returns scores (N, C).
    """
    w1, w2 = params
    hidden = F.relu(flatten(x).mm(w1))
    return hidden.mm(w2)


def three_layer_convnet(x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """conv (pad 2) -> ReLU -> conv (pad 1) -> ReLU -> fully connected, all with bias.

    x: (N, C_in, H, W);  params: [conv_w1 (C1, C_in, 5, 5), conv_b1 (C1,),
    conv_w2 (C2, C1, 3, 3), conv_b2 (C2,), fc_w (C2 * H * W, C), fc_b (C,)].
    With the course's 5x5 and 3x3 filters the convolutions keep H x W.
    Returns scores (N, C); no softmax (cross-entropy applies it).
    """
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    x = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=CONV1_PADDING))
    x = F.relu(F.conv2d(x, conv_w2, conv_b2, padding=CONV2_PADDING))
    return flatten(x).mm(fc_w) + fc_b


# Note [Fan-in of a barebones weight]
# Kaiming normal initialisation draws N(0, 2 / fan_in).  A barebones
# fully-connected weight is (D_in, D_out) and multiplies as x @ w, so its fan-in
# is shape[0]; a convolution weight is (C_out, C_in, KH, KW), so its fan-in is
# C_in * KH * KW.  nn.Linear stores (D_out, D_in) instead: `random_weight` must
# not be used on its weights, and `reference.torch_nets.modules` uses
# nn.init.kaiming_normal_, which reads nn's layout, for the same distribution.

def fan_in(shape: Sequence[int]) -> int:
    """Fan-in of a barebones weight of `shape`. See Note [Fan-in of a barebones weight]."""
    if len(shape) < 2:
        raise ValueError(f"a weight needs at least 2 axes, got shape {tuple(shape)}")
    if len(shape) == 2:
        return int(shape[0])
    return math.prod(int(d) for d in shape[1:])


def random_weight(shape: Sequence[int], device: torch.device | str | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Kaiming-normal weight: float32 leaf of `shape`, std sqrt(2 / fan_in), requires_grad.

    `generator`, when given, must live on the same device.
    See Note [Fan-in of a barebones weight].
    """
    std = math.sqrt(2.0 / fan_in(shape))
    w = torch.randn(tuple(shape), dtype=DTYPE, device=resolve_device(device),
                    generator=generator) * std
    return w.requires_grad_()


def zero_weight(shape: Sequence[int], device: torch.device | str | None = None) -> torch.Tensor:
    """All-zero float32 leaf of `shape` with requires_grad (for biases)."""
    return torch.zeros(tuple(shape), dtype=DTYPE, device=resolve_device(device),
                       requires_grad=True)


def init_two_layer_fc(input_size: int, hidden_size: int, num_classes: int,
                      device: torch.device | str | None = None) -> list[torch.Tensor]:
    """Parameters [w1 (D, H), w2 (H, C)] for `two_layer_fc`, Kaiming normal."""
    return [random_weight((input_size, hidden_size), device),
            random_weight((hidden_size, num_classes), device)]


def init_three_layer_convnet(in_channel: int, channel_1: int, channel_2: int,
                             num_classes: int, image_size: tuple[int, int] = (32, 32),
                             device: torch.device | str | None = None) -> list[torch.Tensor]:
    """Parameters for `three_layer_convnet`: Kaiming-normal weights, zero biases.

    Shapes: (C1, C_in, 5, 5), (C1,), (C2, C1, 3, 3), (C2,), (C2 * H * W, C), (C,)
    with (H, W) = image_size.
    """
    height, width = image_size
    return [random_weight((channel_1, in_channel, 5, 5), device),
            zero_weight((channel_1,), device),
            random_weight((channel_2, channel_1, 3, 3), device),
            zero_weight((channel_2,), device),
            random_weight((channel_2 * height * width, num_classes), device),
            zero_weight((num_classes,), device)]


def check_accuracy_barebones(data: Data, model_fn: ModelFn, params: Sequence[torch.Tensor],
                             device: torch.device | str | None = None) -> float:
    """Fraction of examples whose highest score is the label (`check_accuracy_part2`).

    data: a loader of (x (N, ...), y (N,)) batches or one (x, y) pair
    (see Note [Loader or tensors]).  No graph is built.
    """
    device = resolve_device(device)
    num_correct, num_samples = 0, 0
    with torch.no_grad():
        for x, y in iter_batches(data):
            scores = model_fn(x.to(device=device, dtype=DTYPE), params)
            preds = scores.argmax(dim=1)
            num_correct += int((preds == y.to(device=device, dtype=torch.int64)).sum())
            num_samples += preds.shape[0]
    if num_samples == 0:
        raise ValueError("no examples to check accuracy on")
    return num_correct / num_samples


def sgd_step_(params: Sequence[torch.Tensor], learning_rate: float) -> None:
    """Vanilla SGD in place, w -= lr * dw, then zero each gradient; builds no graph."""
    with torch.no_grad():
        for w in params:
            w -= learning_rate * w.grad
            w.grad.zero_()


def train_barebones(model_fn: ModelFn, params: Sequence[torch.Tensor], loader_train: Data,
                    learning_rate: float, epochs: int = 1,
                    device: torch.device | str | None = None) -> list[float]:
    """Train `params` in place with vanilla SGD on cross-entropy (`train_part2`).

    params: leaf tensors with requires_grad, already on `device`.
    loader_train: (x (N, ...), y (N,)) batches, see Note [Loader or tensors].
    Returns the loss of every iteration, in order (length epochs * batches).
    """
    device = resolve_device(device)
    losses: list[float] = []
    for _ in range(epochs):
        for x, y in iter_batches(loader_train):
            scores = model_fn(x.to(device=device, dtype=DTYPE), params)
            loss = F.cross_entropy(scores, y.to(device=device, dtype=torch.int64))
            loss.backward()
            sgd_step_(params, learning_rate)
            losses.append(loss.item())
    return losses
