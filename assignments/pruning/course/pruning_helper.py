"""Course code for the Pruning notebook that the grader runs inside the worker.

Why it exists: the `pruning` checks prune a trained network that the judge
trained once (reference/torch_nets) and shipped as arrays.  This file, copied
into the submission's package by staging (manifest `course_files` /
`replace`, as the notebook's own `pruning_helper` is), rebuilds that network
from the arrays, copies it for each pruning step, and reads back what the
student's pruning left: effective weights as arrays and any pruning
re-parametrisation still attached.  It imports only numpy and torch.

Nothing here is trusted: it shares a process with student code.  The judge
computes sparsity, masks and accuracy itself from the arrays it gets back.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PRUNABLE = (nn.Conv2d, nn.Linear)


class DigitsConvNet(nn.Module):
    """The notebook's ThreeLayerConvNet for 8 x 8 digits: conv 5x5 pad 2 -> ReLU ->
    conv 3x3 pad 1 -> ReLU -> (dropout) -> Linear.  Same parameter names as
    reference.torch_nets.modules.ThreeLayerConvNet (conv1, conv2, fc)."""

    def __init__(self, channel_1: int, channel_2: int, num_classes: int, size: int, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channel_1, 5, padding=2)
        self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channel_2 * size * size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc(self.dropout(x.reshape(x.shape[0], -1)))


def setup(threads: int = 1, seed: int | None = None) -> str:
    """Limit torch to `threads` CPU threads and seed it; returns the torch version."""
    torch.set_num_threads(threads)
    if seed is not None:
        torch.manual_seed(seed)
    return torch.__version__


def resolve_device(device: str = "cpu") -> torch.device:
    """'cpu', 'cuda', or 'auto' (CUDA when available, as the notebook chooses).

    On CUDA, TF32 and nondeterministic cuDNN algorithms are turned off so the
    numbers match the CPU's to float32 precision (the grader's Note [Same numbers
    on a GPU]; the worker's NVIDIA_TF32_OVERRIDE=0 already covers cuBLAS/cuDNN)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = torch.device(device)
    if resolved.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return resolved


def load_model(state: dict, dropout: float = 0.0, training: bool = False,
               device: str = "cpu") -> DigitsConvNet:
    """The trained network from {parameter name: array} on `device`, in eval mode unless `training`."""
    channel_1 = state["conv1.weight"].shape[0]
    channel_2 = state["conv2.weight"].shape[0]
    num_classes, features = state["fc.weight"].shape
    size = int(round((features / channel_2) ** 0.5))
    model = DigitsConvNet(channel_1, channel_2, num_classes, size, dropout)
    model.load_state_dict({k: torch.as_tensor(np.asarray(v), dtype=torch.float32)
                           for k, v in state.items()})
    return model.to(resolve_device(device)).train(training)


def copy_model(model: nn.Module) -> nn.Module:
    """A deep copy, as the notebook takes before each pruning step."""
    return copy.deepcopy(model)


def tensor(array, dtype: str = "float32", device: str = "cpu") -> torch.Tensor:
    return torch.tensor(np.asarray(array), dtype=getattr(torch, dtype), device=resolve_device(device))


def device_of(model: nn.Module) -> str:
    """Where the model's first parameter lives ('cpu', 'cuda:0')."""
    return str(next(model.parameters()).device)


def weights(model: nn.Module) -> dict:
    """{"conv1.weight": array, "conv1.bias": array, ...}: the *effective* weights and biases
    of every Conv2d and Linear layer (masked ones while pruning is still pending)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected the pruned nn.Module, got {type(model).__name__}")
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, PRUNABLE):
            for kind in ("weight", "bias"):
                value = getattr(module, kind, None)
                if value is not None:
                    out[f"{name}.{kind}"] = value.detach().cpu().float().numpy()
    return out


def leftovers(model: nn.Module) -> dict:
    """What torch.nn.utils.prune leaves until prune.remove: *_orig parameters,
    *_mask buffers, forward pre-hooks, and weights that are no longer Parameters."""
    return {
        "parameters": [n for n, _ in model.named_parameters() if n.endswith("_orig")],
        "buffers": [n for n, _ in model.named_buffers() if n.endswith("_mask")],
        "hooks": [n or "model" for n, m in model.named_modules() if len(m._forward_pre_hooks)],
        "not_parameters": [f"{n}.weight" for n, m in model.named_modules()
                           if isinstance(m, PRUNABLE) and not isinstance(m.weight, nn.Parameter)],
    }


def is_training(model: nn.Module) -> bool:
    return bool(model.training)
