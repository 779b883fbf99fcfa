"""Course code for the PyTorch notebook that the grader runs inside the worker.

Why it exists: the `pytorch` checks need a few things done next to the
student's model, in the worker (Note [Trust boundary] in
grader/worker/client.py): copy seeded weights into its layers, run it on
arrays, and train it with the notebook's loop (`train_part34`) for the
accuracy check.  Staging copies this file into the submission's package
(manifest `course_files` / `replace`), like the course's own helpers.  It
imports only numpy and torch, never the grader or reference/, which the worker
cannot see.

Nothing here is trusted: it shares a process with student code.  The judge
only takes arrays from it (scores, weights) and computes every verdict itself.

# Note [Layers in order]
A model's graded layers are its Conv2d and Linear modules, whatever the
student named them.  Weights are matched to layers by shape, not by the order
__init__ happened to register them in (the notebook's architectures have no
two layers of the same shape; where shapes repeat, registration order
decides).  Weights travel in nn's layout: Conv2d (C_out, C_in, KH, KW),
Linear (D_out, D_in).
"""

from __future__ import annotations

import copy
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

GRADED_LAYERS = (nn.Conv2d, nn.Linear)


# Note [Every generator seeded]
# A check that builds or trains a model in the worker seeds, right before, every generator
# the model's code may draw from: torch's (nn's default initialisation, torch.randn in
# random_weight, dropout masks), numpy's legacy global one and Python's `random` (a student's
# own initialiser may use either).  Seeding torch alone left the other two as the worker
# happened to have them: fresh entropy in a cold worker, and in a warm one forked from a
# zygote numpy's state reseeded from fresh entropy (grader/worker/zygote.py), so the same
# notebook could get two grades (the grader's rule, Note [Deterministic observation] in
# grader/worker/observe.py).  The seed is an argument of the check, fixed and public: it
# decides nothing a student can steer, only that a verdict can be reproduced.

def setup(threads: int = 1, seed: int | None = None) -> str:
    """Limit torch to `threads` CPU threads and, if given, seed torch's, numpy's and Python's
    generators (Note [Every generator seeded]); returns the torch version."""
    torch.set_num_threads(threads)
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
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


def tensor(array, dtype: str = "float64", requires_grad: bool = False) -> torch.Tensor:
    """A CPU tensor holding a copy of `array` in `dtype` ('float32', 'float64', 'int64')."""
    return torch.tensor(np.asarray(array), dtype=getattr(torch, dtype), requires_grad=requires_grad)


def tensor_facts(value) -> dict:
    """What the checks ask of a returned tensor: type, dtype, shape, requires_grad, is_leaf."""
    if not isinstance(value, torch.Tensor):
        return {"type": type(value).__name__}
    return {"type": "Tensor", "dtype": str(value.dtype).replace("torch.", ""),
            "shape": list(value.shape), "requires_grad": bool(value.requires_grad),
            "is_leaf": bool(value.is_leaf)}


def layers(model: nn.Module) -> list[nn.Module]:
    """The Conv2d and Linear modules of `model` in order (Note [Layers in order])."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    return [m for m in model.modules() if isinstance(m, GRADED_LAYERS)]


def describe(model) -> dict:
    """Class name and graded layers of `model`, as text, for messages."""
    found = layers(model) if isinstance(model, nn.Module) else []
    return {"class": type(model).__name__, "is_sequential": isinstance(model, nn.Sequential),
            "layers": [f"{type(m).__name__}{tuple(m.weight.shape)}" for m in found]}


def clone(model: nn.Module) -> nn.Module:
    """A deep copy of `model`, so that a check changing weights leaves the recorded one alone."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    return copy.deepcopy(model)


def load_layers(model: nn.Module, arrays: list) -> None:
    """Copy [[weight, bias], ...] into the graded layers; float64 afterwards.

    Each array goes to the first unused layer whose weight has its shape, so
    the order in which __init__ registered the layers does not matter (Note
    [Layers in order]).  Raises ValueError naming the layers when their number
    or shapes differ.
    """
    found = layers(model)
    shapes = [f"{type(m).__name__}{tuple(m.weight.shape)}" for m in found]
    wanted = [tuple(np.shape(w)) for w, _ in arrays]
    plan, used = [], set()
    for (weight, bias), shape in zip(arrays, wanted):
        match = next((i for i, m in enumerate(found)
                      if i not in used and tuple(m.weight.shape) == shape), None)
        if match is None or len(found) != len(arrays):
            raise ValueError(f"the model's Conv2d/Linear layers are {shapes or 'none'}, expected "
                             f"weights of shapes {wanted}")
        used.add(match)
        plan.append((found[match], weight, bias))
    model.double()
    with torch.no_grad():
        for module, weight, bias in plan:
            module.weight.copy_(torch.as_tensor(np.asarray(weight), dtype=torch.float64))
            if bias is not None:
                if module.bias is None:
                    raise ValueError(f"{type(module).__name__}{tuple(module.weight.shape)} has no bias")
                module.bias.copy_(torch.as_tensor(np.asarray(bias), dtype=torch.float64))


def layer_arrays(model: nn.Module) -> list:
    """[[weight, bias or None], ...] of the graded layers, as float64 arrays."""
    return [[m.weight.detach().cpu().double().numpy(),
             None if m.bias is None else m.bias.detach().cpu().double().numpy()]
            for m in layers(model)]


def forward(model: nn.Module, x, dtype: str = "float64") -> torch.Tensor:
    """model(x) on a tensor made from `x`, building no graph (the model's mode is left alone)."""
    with torch.no_grad():
        return model(tensor(x, dtype))


def scores(model: nn.Module, x, device: str = "cpu", batch_size: int = 256) -> np.ndarray:
    """Scores of `model` in eval mode on float32 `x`, in batches, as a CPU array."""
    device = resolve_device(device)
    model.to(device).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = torch.as_tensor(np.asarray(x[start:start + batch_size]), dtype=torch.float32)
            out.append(model(batch.to(device)).detach().cpu().double().numpy())
    return np.concatenate(out)


def train(model: nn.Module, x, y, *, epochs: int, batch_size: int, learning_rate: float,
          momentum: float, seed: int, device: str = "cpu") -> dict:
    """The notebook's `train_part34` with SGD + Nesterov momentum, on arrays.

    Minibatches follow a seeded permutation per epoch.  Returns the loss of
    every iteration, the seconds spent and the device used.
    """
    device = resolve_device(device)
    start = time.perf_counter()
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=momentum,
                                nesterov=True)
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for first in range(0, len(x), batch_size):
            index = order[first:first + batch_size]
            model.train()
            loss = F.cross_entropy(model(x[index].to(device)), y[index].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.item()))
    return {"losses": losses, "seconds": time.perf_counter() - start, "device": str(device)}
