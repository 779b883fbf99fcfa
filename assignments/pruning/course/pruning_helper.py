"""The course's `pruning_helper` as the grader's worker provides it (a stand-in, Note
[Observation] in grader/worker/observe.py): what the Pruning notebook imports as
`from ece662.pruning_helper import test_model, load_model` (or `ece697ls.`, by year).

Why it exists: the student's pruning is inline code in the notebook's cells that
deep-copies the model `load_model` hands out, prunes it with torch.nn.utils.prune, and
calls `test_model(model, test_data, mode=mode)` after each step.  Here `load_model`
rebuilds the convnet the judge trained on digits (weights sent as arrays before the
notebook runs) instead of reading the course's CINIC-10 model file, and `test_model`
prints the accuracy as the course's does and records the model it was given (a copy,
and the object itself) for the checks.  The judge then reads the weights back as arrays
(`weights`, `leftovers`) and decides everything itself: it never believes the accuracy
printed here.  Imports numpy and torch only; shares a process with student code.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import prune

import _grader_observe as observe

PRUNABLE = (nn.Conv2d, nn.Linear)


class DigitsConvNet(nn.Module):
    """The course's three-layer convnet sized for 8 x 8 digits: conv 5x5 pad 2 -> ReLU ->
    conv 3x3 pad 1 -> ReLU -> Linear (parameter names conv1, conv2, fc as
    reference.torch_nets.modules.ThreeLayerConvNet)."""

    def __init__(self, channel_1: int, channel_2: int, num_classes: int, size: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channel_1, 5, padding=2)
        self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1)
        self.fc = nn.Linear(channel_2 * size * size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc(x.reshape(x.shape[0], -1))


def _device() -> torch.device:
    name = str(observe.given("device", "cpu"))
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":  # the grader's Note [Same numbers on a GPU]
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.deterministic = True
    return device


def build(state: dict) -> DigitsConvNet:
    channel_1 = state["conv1.weight"].shape[0]
    channel_2 = state["conv2.weight"].shape[0]
    num_classes, features = state["fc.weight"].shape
    size = int(round((features / channel_2) ** 0.5))
    model = DigitsConvNet(channel_1, channel_2, num_classes, size)
    model.load_state_dict({k: torch.as_tensor(np.asarray(v), dtype=torch.float32)
                           for k, v in state.items()})
    return model


def load_model(path=None, mode: str = "torch", *args, **kwargs):
    """The course's pre-trained model (here: the judge's digits convnet), in eval mode."""
    if str(mode).lower() not in ("torch", "pytorch"):
        raise ValueError(f"load_model(mode={mode!r}): the grader runs the notebook's PyTorch "
                         f"pruning; set mode = 'torch'")
    state = observe.given("state")
    if state is None:
        raise RuntimeError("the grader did not provide the trained model")
    torch.set_num_threads(int(observe.budget().get("threads", 1)))
    model = build(state).to(_device()).eval()
    observe.record("load_model", {"model": model}, {"path": str(path), "mode": str(mode)})
    return model


# Note [A helper the notebook still imports]
# The course's 2025 notebook (ECE562, `ece697ls`) opens with
# `from ece697ls.pruning_helper import get_trained_model, test_model, load_model`, but the
# pruning_helper.py handed out with it defines only test_model, load_model and invert_ch: the
# name belongs to an earlier pruning_helper (a 2024 hand-in's compiled copy has
# `get_trained_model`, which trained the torch or Keras model from scratch).  A student who
# kept the course's import line lost every point of the notebook to the course's ImportError
# (a real hand-in: 0/15, its pruning cells never reached), while students who deleted the
# name were graded.  So the stand-in defines it: the trained model, here the judge's, as
# load_model hands it out (the notebook itself never calls it).

def get_trained_model(*args, mode: str = "torch", **kwargs):
    """The course's older helper that returned a trained model (Note [A helper the notebook
    still imports]): here the judge's trained model, as load_model gives it."""
    return load_model(None, mode)


# Note [Snapshots of a model with pruning pending]
# test_model records a deep copy of the model it is handed, so a notebook that prunes one model
# in place step after step is judged on each step as it was tested, not as it ended.  While
# torch.nn.utils.prune is pending (before prune.remove) a layer's `weight` is a computed tensor
# (weight_orig * weight_mask) that copy.deepcopy refuses ("Only Tensors created explicitly by the
# user ... support the deepcopy protocol"); the copy then fell back to the live model, and every
# step of an in-place notebook was measured at the notebook's end (a real submission's eight
# steps all read 100% sparse).  Such computed tensors are copied detached; the copy's pruning
# hooks compute them again on its next forward.

def _snapshot(model):
    try:
        return copy.deepcopy(model)
    except Exception:
        pass
    try:
        memo = {}
        for module in model.modules():
            for value in vars(module).values():
                if isinstance(value, torch.Tensor) and not value.is_leaf:
                    memo[id(value)] = value.detach().clone()
        return copy.deepcopy(model, memo)
    except Exception:
        return model


def test_model(model, test_data, mode: str = "torch", *args, **kwargs):
    """Print and return the test accuracy of `model` on (x, y); record the model."""
    observe.record("test_model", {"model": _snapshot(model), "live": model},
                   {"mode": str(mode), "type": type(model).__name__})
    x, y = test_data[0], test_data[1]
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x,
                        dtype=torch.float32).to(device)
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).to(device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        accuracy = float((model(x).argmax(dim=1) == y).float().mean())
    model.train(was_training)
    print(f"Test Acc: {accuracy:.4f}")
    return accuracy


# -- read back by the judge (never called by the notebook) --------------------------------------

def weights(model) -> dict:
    """{"conv1.weight": array, ...}: the effective weights and biases of every Conv2d and
    Linear layer (masked ones while pruning is still pending)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, PRUNABLE):
            for kind in ("weight", "bias"):
                value = getattr(module, kind, None)
                if value is not None:
                    out[f"{name}.{kind}"] = value.detach().cpu().float().numpy()
    return out


def leftovers(model) -> dict:
    """What torch.nn.utils.prune leaves until prune.remove: *_orig parameters, *_mask
    buffers, forward pre-hooks, weights that are no longer Parameters, and the layers whose
    pruning was stacked (pruned again before prune.remove: a PruningContainer hook)."""
    return {
        "parameters": [n for n, _ in model.named_parameters() if n.endswith("_orig")],
        "buffers": [n for n, _ in model.named_buffers() if n.endswith("_mask")],
        "hooks": [n or "model" for n, m in model.named_modules() if len(m._forward_pre_hooks)],
        "not_parameters": [f"{n}.weight" for n, m in model.named_modules()
                           if isinstance(m, PRUNABLE) and not isinstance(m.weight, nn.Parameter)],
        # pruned again before prune.remove (checks.py Note [Pruned again before prune.remove])
        "stacked": [n or "model" for n, m in model.named_modules()
                    if any(isinstance(h, prune.PruningContainer) for h in m._forward_pre_hooks.values())],
    }


def device_of(model) -> str:
    return str(next(model.parameters()).device)
