"""Stand-ins for the course code the PyTorch notebook defines in its own cells.

Why it exists: the notebook's Sequential model is built inline and handed to the
course's `train_part34(model, optimizer)`; no function of the student's returns
it (Note [The observed Sequential model] in assignments/pytorch/checks.py).  In
execute mode these replace the notebook's own `train_part34`,
`check_accuracy_part34`, `train_part2` and `check_accuracy_part2` (manifest
`observe:`, Note [Observation]) and record what the student's cells hand them, as
worker objects: a copy of the model taken before anything else happens to it,
the optimizer, and plain facts (class, layer shapes, optimizer settings).

They train nothing: the judge trains what it grades, with the course's loop
(course/torch_course.py), so a 10-epoch cell ends at once.  Nothing here is
trusted: it shares a process with student code, and the judge only reads plain
facts and arrays back, which it checks itself.
"""

from __future__ import annotations

import copy

import _grader_observe as observe


def _model_facts(model) -> dict:
    try:
        import torch.nn as nn
    except ImportError:  # pragma: no cover - the worker always has torch for this assignment
        return {"class": type(model).__name__}
    facts = {"class": type(model).__name__, "is_sequential": isinstance(model, nn.Sequential),
             "layers": [], "shapes": []}
    if isinstance(model, nn.Module):
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                facts["layers"].append(f"{type(module).__name__}{tuple(module.weight.shape)}")
                facts["shapes"].append(list(module.weight.shape))
    return facts


def _optimizer_facts(optimizer) -> dict:
    facts = {"class": type(optimizer).__name__}
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        for key in ("lr", "momentum", "nesterov", "weight_decay"):
            value = groups[0].get(key)
            if isinstance(value, (bool, int, float)):
                facts[key] = value
    return facts


def _copy(model):
    try:
        return copy.deepcopy(model)
    except Exception:  # a model that cannot be copied is recorded as it is
        return model


def train_part34(model, optimizer, epochs=1, *args, **kwargs):
    """Record the model (a copy, before training) and the optimizer; train nothing."""
    facts = _model_facts(model)
    facts["optimizer"] = _optimizer_facts(optimizer)
    facts["epochs"] = epochs if isinstance(epochs, int) else None
    observe.record("train_part34", {"model": _copy(model), "optimizer": optimizer}, facts)
    print(f"[grader] train_part34: recorded {facts['class']} {facts['layers']} (not trained)")


def check_accuracy_part34(loader, model, *args, **kwargs):
    print("[grader] check_accuracy_part34: not run (the grader measures accuracy itself)")


def train_part2(model_fn, params, learning_rate, *args, **kwargs):
    """Record the barebones model function and copies of its parameters; train nothing."""
    shapes = [list(getattr(p, "shape", ())) for p in params] if isinstance(params, (list, tuple)) else []
    copies = [p.detach().clone() if hasattr(p, "detach") else p for p in params] \
        if isinstance(params, (list, tuple)) else params
    observe.record("train_part2", {"model_fn": model_fn, "params": copies},
                   {"shapes": shapes, "learning_rate": learning_rate
                    if isinstance(learning_rate, (int, float)) else None})
    print(f"[grader] train_part2: recorded parameters of shapes {shapes} (not trained)")


def check_accuracy_part2(loader, model_fn, params, *args, **kwargs):
    print("[grader] check_accuracy_part2: not run (the grader measures accuracy itself)")
