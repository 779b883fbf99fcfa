"""Tests for reference.torch_nets.data: digits tensors, seeded loaders, batch rule."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from reference.torch_nets.data import iter_batches, make_loader  # noqa: E402

pytestmark = pytest.mark.torch


def test_digits_split_shapes_and_ranges(digits_split):
    s = digits_split
    assert s.x_train.shape == (1438, 1, 8, 8) and s.x_test.shape == (359, 1, 8, 8)
    assert s.y_train.shape == (1438,) and s.y_test.shape == (359,)
    assert s.x_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    assert float(s.x_train.min()) == 0.0 and float(s.x_train.max()) == 1.0
    # Stratified: every class appears in the test split, 34 to 37 times each.
    counts = torch.bincount(s.y_test, minlength=10)
    assert int(counts.min()) >= 34 and int(counts.max()) <= 37


def _order(loader):
    return torch.cat([y for _, y in loader])


def test_loader_order_depends_only_on_seed():
    x = torch.arange(100, dtype=torch.float32).reshape(100, 1)
    y = torch.arange(100)
    assert torch.equal(_order(make_loader(x, y, 16, seed=3)), _order(make_loader(x, y, 16, seed=3)))
    assert not torch.equal(_order(make_loader(x, y, 16, seed=3)),
                           _order(make_loader(x, y, 16, seed=4)))
    assert torch.equal(_order(make_loader(x, y, 16, shuffle=False)), y)
    assert [len(b) for b, _ in make_loader(x, y, 16)] == [16] * 6 + [4]


def test_tensor_pair_is_one_batch_and_loaders_are_iterated():
    x, y = torch.zeros(5, 3), torch.ones(5, dtype=torch.int64)
    (batch,) = list(iter_batches((x, y)))
    assert batch[0] is x and batch[1] is y
    assert len(list(iter_batches([x, y]))) == 1
    batches = [(x, y), (x, y), (x, y)]
    assert len(list(iter_batches(batches))) == 3
