"""Pruning a trained network (the course's Pruning notebook): starter code.

`model` is a trained nn.Module whose Conv2d and Linear layers hold the weights
to prune.  Use torch.nn.utils.prune.  Replace each `raise NotImplementedError`
with your code; keep the names and signatures.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune


def prune_global(model, amount):
    """Unstructured global pruning: zero the `amount` fraction (0..1) of *all* Conv2d and
    Linear weights of `model` with the smallest magnitude, counted over the whole model
    (not per layer).  Biases are not pruned.  Make the pruning permanent and return the model.
    """
    raise NotImplementedError("prune_global")


def prune_filters(model, amount):
    """Structured pruning of the convolution layers only: in every Conv2d, zero the
    `amount` fraction of its filters (dim 0) with the smallest L1 norm.  Make the pruning
    permanent and return the model.
    """
    raise NotImplementedError("prune_filters")


def evaluate(model, x, y):
    """Accuracy (a float in [0, 1]) of `model` on images x (N, 1, H, W) float32 and labels
    y (N,) int64: the fraction whose highest score is the label.  Evaluate the model as for
    testing, without building a graph.
    """
    raise NotImplementedError("evaluate")
