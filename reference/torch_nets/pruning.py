"""Pruning of the Pruning notebook: global magnitude and structured filter pruning.

The course prunes a trained network two ways and measures accuracy after each:

- unstructured: zero the globally smallest-magnitude weights of *all* conv and
  linear layers together, at target sparsities 10%, 20%, ..., 80% of the whole
  model (not of each layer);
- structured: zero whole conv filters (dim 0) with the smallest Ln norm.

Both are built on `torch.nn.utils.prune`, which keeps `weight_orig` and a
`weight_mask` until `make_permanent` folds them into `weight`.  Biases are never
pruned, as in the course.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune

from reference.torch_nets.data import Data
from reference.torch_nets.training import check_accuracy

# Layers whose weights are pruned, as in the course.
PRUNABLE_LAYERS = (nn.Conv2d, nn.Linear)
# The course's schedule: 10% to 80% of all weights, in steps of 10%.
DEFAULT_SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
# Suffixes torch.nn.utils.prune gives the reparametrised tensors.
ORIG_SUFFIX = "_orig"
MASK_SUFFIX = "_mask"
# Dimension of a conv weight (C_out, C_in, KH, KW) that indexes its filters.
FILTER_DIM = 0


# Note [Targets, not increments]
# torch.nn.utils.prune stacks calls on a tensor in a PruningContainer, and a
# new call's `amount` applies only to the entries (or, for structured pruning,
# the channels) that are still unpruned.  A float amount is a fraction of
# those, so pruning 0.1 and then 0.2 leaves 1 - 0.9 * 0.8 = 28% pruned, not 20%.
# The functions here take the *target* instead: the fraction of weights (or of
# filters) that must be pruned when the call returns, counted over the whole
# model (or the whole layer, for filters).  They convert it to the number still
# to prune, target minus already masked, and pass that as an int amount, which
# prune takes as an absolute count over the unpruned entries.  The targets are
# rounded as prune rounds float amounts, round(fraction * size).  A target below
# what is already pruned is an error: pruning never restores weights.
# Because the entries pruned earlier were the smallest then, the union is the
# globally smallest set as long as the weights did not change in between.

def prunable_weights(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(module, "weight") for every conv and linear layer of `model`, in module order."""
    return [(m, "weight") for m in model.modules() if isinstance(m, PRUNABLE_LAYERS)]


def pruning_mask(module: nn.Module, name: str = "weight") -> torch.Tensor:
    """The current mask of `module.<name>` (all ones when it was never pruned)."""
    mask = getattr(module, name + MASK_SUFFIX, None)
    return torch.ones_like(getattr(module, name)) if mask is None else mask


def prune_global_l1(model: nn.Module, sparsity: float) -> nn.Module:
    """Prune in place until `sparsity` of all conv and linear weights are masked.

    The masked weights are the globally smallest in magnitude (L1) over the
    whole model, not per layer.  `sparsity` in [0, 1] is a target, not an
    increment: see Note [Targets, not increments].  Returns `model`.
    """
    params = prunable_weights(model)
    masks = [pruning_mask(m, name) for m, name in params]
    total = sum(mask.numel() for mask in masks)
    target = round(sparsity * total)
    already = sum(int((mask == 0).sum()) for mask in masks)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"global sparsity must be in [0, 1], got {sparsity}")
    if target < already:
        raise ValueError(f"cannot reach global sparsity {sparsity}: {already} of {total} "
                         "weights are already pruned and pruning never restores weights")
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured,
                              amount=target - already)
    return model


def pruned_filter_count(conv: nn.Conv2d) -> int:
    """Filters of `conv` whose mask is entirely zero."""
    mask = pruning_mask(conv).flatten(start_dim=1)
    return int((mask.sum(dim=1) == 0).sum())


def prune_filters_ln(model: nn.Module, fraction: float, n: int | float = 1) -> nn.Module:
    """Prune in place until `fraction` of the filters of every Conv2d are masked.

    A filter is a slice weight[k] along dim 0 (C_out); those with the smallest
    Ln norm (n=1 in the course) are masked entirely.  Linear layers are left
    alone.  `fraction` is a per-layer target: see Note [Targets, not increments].
    Returns `model`.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction of filters must be in [0, 1], got {fraction}")
    for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
        num_filters = conv.weight.shape[FILTER_DIM]
        target = round(fraction * num_filters)
        already = pruned_filter_count(conv)
        if target < already:
            raise ValueError(f"cannot reach {fraction} of filters: {already} of "
                             f"{num_filters} are already pruned")
        prune.ln_structured(conv, "weight", amount=target - already, n=n, dim=FILTER_DIM)
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask into its parameter (prune.remove), in place.

    Afterwards no `*_orig` parameters, `*_mask` buffers or pruning hooks remain;
    pruned entries stay zero in the plain parameter.  Returns `model`.
    """
    for module in model.modules():
        pruned_names = [name[:-len(ORIG_SUFFIX)]
                        for name, _ in module.named_parameters(recurse=False)
                        if name.endswith(ORIG_SUFFIX)]
        for name in pruned_names:
            prune.remove(module, name)
    return model


@dataclass(frozen=True)
class LayerSparsity:
    """Zeros in one layer's weight: `name` is its path in the model ("conv1", "0")."""

    name: str
    kind: str
    zeros: int
    total: int

    @property
    def fraction(self) -> float:
        return self.zeros / self.total


@dataclass(frozen=True)
class SparsityReport:
    """Fraction of exactly-zero weights per conv/linear layer and over all of them."""

    layers: tuple[LayerSparsity, ...]

    @property
    def zeros(self) -> int:
        return sum(layer.zeros for layer in self.layers)

    @property
    def total(self) -> int:
        return sum(layer.total for layer in self.layers)

    @property
    def overall(self) -> float:
        return self.zeros / self.total

    def by_layer(self) -> dict[str, float]:
        return {layer.name: layer.fraction for layer in self.layers}

    def to_dict(self) -> dict:
        return {"layers": [asdict(layer) for layer in self.layers],
                "overall": self.overall}


def sparsity_report(model: nn.Module) -> SparsityReport:
    """Count zeros in the effective weight of every conv and linear layer.

    Reads `module.weight`, which is the masked weight while pruning is pending
    and the plain parameter after `make_permanent`, so both give the same report.
    """
    layers = tuple(
        LayerSparsity(name=name, kind=type(module).__name__,
                      zeros=int((module.weight == 0).sum()), total=module.weight.numel())
        for name, module in model.named_modules() if isinstance(module, PRUNABLE_LAYERS))
    return SparsityReport(layers=layers)


@dataclass(frozen=True)
class PruningPoint:
    """Accuracy of a pruned copy: requested target, zeros reached, accuracy."""

    requested: float
    sparsity: float
    accuracy: float


def accuracy_after_pruning(model: nn.Module, data: Data,
                           amounts: Sequence[float] = DEFAULT_SPARSITIES,
                           prune_fn: Callable[[nn.Module, float], nn.Module] = prune_global_l1,
                           device: torch.device | str | None = None) -> tuple[PruningPoint, ...]:
    """Prune a fresh copy of `model` at each amount, make it permanent, measure accuracy.

    data: (x, y) batches or one pair (see Note [Loader or tensors]).
    prune_fn: `prune_global_l1` (amount = global sparsity) or `prune_filters_ln`
    (amount = fraction of filters).  `model` itself is not modified.
    Returns one PruningPoint per amount, in order; `sparsity` is the overall
    fraction of zero conv/linear weights of the pruned copy.
    """
    points = []
    for amount in amounts:
        pruned = make_permanent(prune_fn(copy.deepcopy(model), amount))
        points.append(PruningPoint(requested=amount,
                                   sparsity=sparsity_report(pruned).overall,
                                   accuracy=check_accuracy(data, pruned, device)))
    return tuple(points)
