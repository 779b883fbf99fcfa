"""The optimizer-based training loop and accuracy check of the Module API.

Trusted versions of the course's `train_part34` and `check_accuracy_part34`:
they return what the course prints (per-iteration loss, per-epoch accuracy)
so that checks can compare numbers instead of parsing output.  `train_digits`
is the fixed recipe that tests and benchmarks train the digits convnet with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from reference.torch_nets.data import Data, DigitsSplit, iter_batches, load_digits_split, make_loader
from reference.torch_nets.device import DTYPE, resolve_device
from reference.torch_nets.modules import digits_convnet


@dataclass(frozen=True)
class TrainHistory:
    """What one call of `train` observed.

    losses: training loss of every iteration, in order (epochs * batches).
    val_accuracy: accuracy on `loader_val` after each epoch; empty without one.
    """

    losses: tuple[float, ...]
    val_accuracy: tuple[float, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def check_accuracy(data: Data, model: nn.Module,
                   device: torch.device | str | None = None) -> float:
    """Fraction of examples whose highest score is the label, in eval mode.

    data: a loader of (x (N, ...), y (N,)) batches or one (x, y) pair (see
    Note [Loader or tensors]).  The model is moved to `device`; its
    train/eval mode is restored afterwards.  Builds no graph.
    """
    device = resolve_device(device)
    was_training = model.training
    model.to(device).eval()
    num_correct, num_samples = 0, 0
    try:
        with torch.no_grad():
            for x, y in iter_batches(data):
                preds = model(x.to(device=device, dtype=DTYPE)).argmax(dim=1)
                num_correct += int((preds == y.to(device=device, dtype=torch.int64)).sum())
                num_samples += preds.shape[0]
    finally:
        model.train(was_training)
    if num_samples == 0:
        raise ValueError("no examples to check accuracy on")
    return num_correct / num_samples


def train(model: nn.Module, optimizer: torch.optim.Optimizer, loader_train: Data,
          epochs: int = 1, device: torch.device | str | None = None,
          loader_val: Data | None = None) -> TrainHistory:
    """Minimise cross-entropy with `optimizer` for `epochs` passes over `loader_train`.

    loader_train / loader_val: (x (N, ...), y (N,)) batches (see Note [Loader or
    tensors]).  The model is moved to `device` in place; moving keeps its
    Parameter objects, so an optimizer built on them beforehand stays valid.
    Returns the per-iteration losses and, with `loader_val`, per-epoch accuracy.
    """
    device = resolve_device(device)
    model.to(device)
    losses: list[float] = []
    val_accuracy: list[float] = []
    for _ in range(epochs):
        model.train()
        for x, y in iter_batches(loader_train):
            scores = model(x.to(device=device, dtype=DTYPE))
            loss = F.cross_entropy(scores, y.to(device=device, dtype=torch.int64))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        if loader_val is not None:
            val_accuracy.append(check_accuracy(loader_val, model, device))
    return TrainHistory(losses=tuple(losses), val_accuracy=tuple(val_accuracy))


# Note [Digits recipe]
# The recipe that tests and benchmarks use: the course's convnet (32 5x5 and
# 16 3x3 filters) on 8x8 digits, minibatches of 64, SGD with Nesterov momentum
# 0.9 as the course's Sequential exercise uses.  Everything random (weights,
# shuffling) follows `seed`, so a run on one machine repeats exactly.
# Accuracies measured on the 359 test images are in the tests' thresholds.
DIGITS_EPOCHS = 10
DIGITS_BATCH_SIZE = 64
DIGITS_LEARNING_RATE = 1e-2
DIGITS_MOMENTUM = 0.9


@dataclass(frozen=True)
class DigitsRun:
    """A trained digits convnet, its history and its test accuracy."""

    model: nn.Module
    history: TrainHistory
    test_accuracy: float


def train_digits(seed: int = 0, epochs: int = DIGITS_EPOCHS,
                 split: DigitsSplit | None = None,
                 device: torch.device | str | None = None) -> DigitsRun:
    """Train `modules.digits_convnet` on digits with the recipe of Note [Digits recipe].

    split: the data (`data.load_digits_split()` when None).
    """
    split = load_digits_split() if split is None else split
    torch.manual_seed(seed)
    model = digits_convnet()
    optimizer = torch.optim.SGD(model.parameters(), lr=DIGITS_LEARNING_RATE,
                                momentum=DIGITS_MOMENTUM, nesterov=True)
    loader = make_loader(split.x_train, split.y_train, DIGITS_BATCH_SIZE, seed=seed)
    history = train(model, optimizer, loader, epochs, device)
    accuracy = check_accuracy((split.x_test, split.y_test), model, device)
    return DigitsRun(model=model, history=history, test_accuracy=accuracy)
