"""The `pruning` assignment's solution: a correct submission, written as a student would.

Self-contained (the worker cannot import reference/); it follows the notebook
and reference/torch_nets/pruning.py.  `grade selftest -a pruning` and
tests/assignments/test_pruning.py grade it for full marks and plant the bugs of
../mutants.py in copies of it: keep their texts in sync with it.  Never part of
what students receive.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune


def prune_global(model, amount):
    parameters_to_prune = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            parameters_to_prune.append((module, "weight"))
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=amount)
    for module, param in parameters_to_prune:
        prune.remove(module, param)
    return model


def prune_filters(model, amount):
    conv_parameters_to_prune = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            conv_parameters_to_prune.append((module, "weight"))
    for module, param in conv_parameters_to_prune:
        prune.ln_structured(module, name=param, amount=amount, n=1, dim=0)
    for module, param in conv_parameters_to_prune:
        prune.remove(module, param)
    return model


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        scores = model(x)
        preds = scores.argmax(dim=1)
    return float((preds == y).sum()) / preds.shape[0]
