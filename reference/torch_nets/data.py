"""Small, local data for training checks: scikit-learn's digits as tensors.

The course trains on CINIC-10, which is far too large to train on in a test.
The digits set (1797 grey 8x8 images of 10 classes) ships inside scikit-learn,
so it needs no download, and the course's ThreeLayerConvNet learns it to high
accuracy in a few CPU seconds.  This module also holds the one rule for what
counts as "data" in this package (see Note [Loader or tensors]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Union

import torch
from torch.utils.data import DataLoader, TensorDataset

from reference.torch_nets.device import DTYPE

Batch = tuple[torch.Tensor, torch.Tensor]
# An iterable of (x, y) minibatches (a DataLoader, a list of pairs), or one
# (x, y) pair of tensors taken as a single batch.
Data = Union[Iterable[Batch], Batch]


@dataclass(frozen=True)
class DigitsSplit:
    """Digits split into train and test tensors.

    x_train: (N_train, 1, 8, 8) float32 in [0, 1];  y_train: (N_train,) int64.
    x_test:  (N_test, 1, 8, 8)  float32 in [0, 1];  y_test:  (N_test,)  int64.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_split(test_fraction: float = 0.2, seed: int = 0) -> DigitsSplit:
    """Load digits as NCHW float32 tensors, split by reference.datasets' stratified rule.

    With the defaults: 1438 training and 359 test images.
    """
    from reference.datasets import load_digits_dataset

    ds = load_digits_dataset(test_fraction=test_fraction, seed=seed, layout="NCHW")
    return DigitsSplit(
        x_train=torch.as_tensor(ds.X_train, dtype=DTYPE),
        y_train=torch.as_tensor(ds.y_train, dtype=torch.int64),
        x_test=torch.as_tensor(ds.X_test, dtype=DTYPE),
        y_test=torch.as_tensor(ds.y_test, dtype=torch.int64),
    )


def make_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int = 64,
                shuffle: bool = True, seed: int = 0) -> DataLoader:
    """A DataLoader over (x, y) whose shuffling order depends only on `seed`.

    x: (N, ...) inputs;  y: (N,) labels.  Yields (x_batch, y_batch) pairs.
    """
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size,
                      shuffle=shuffle, generator=generator)


# Note [Loader or tensors]
# Accuracy and training functions accept either a loader (any iterable of
# (x, y) minibatches, as the course passes DataLoaders) or a plain pair of
# tensors (x, y), which is what the grader holds after data crosses the pipe.
# A pair of tensors is itself iterable, and iterating it would yield x and then
# y rather than batches, so the pair is recognised explicitly: a tuple or list of
# exactly two tensors is one batch; anything else is iterated as batches.

def is_tensor_pair(data: object) -> bool:
    """True when `data` is one (x, y) pair of tensors. See Note [Loader or tensors]."""
    return (isinstance(data, (tuple, list)) and len(data) == 2
            and all(isinstance(t, torch.Tensor) for t in data))


def iter_batches(data: Data) -> Iterator[Batch]:
    """Yield (x, y) minibatches from a loader or a single tensor pair.

    See Note [Loader or tensors].
    """
    if is_tensor_pair(data):
        yield data[0], data[1]
    else:
        yield from data
