"""Tests for reference.torch_nets.barebones: shapes, values, init, SGD loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reference.torch_nets import barebones as B  # noqa: E402
from reference.torch_nets.data import make_loader  # noqa: E402

pytestmark = pytest.mark.torch


def test_flatten_keeps_batch_axis_in_row_major_order():
    x = torch.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    out = B.flatten(x)
    assert out.shape == (2, 60)
    assert torch.equal(out[1], torch.arange(60, 120))


def test_two_layer_fc_notebook_shape():
    # The notebook's zero test: x (64, 50), w1 (50, 42), w2 (42, 6) -> (64, 6).
    scores = B.two_layer_fc(torch.zeros(64, 50), [torch.zeros(50, 42), torch.zeros(42, 6)])
    assert scores.shape == (64, 6)


def test_two_layer_fc_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 3, 3))
    w1, w2 = rng.standard_normal((18, 7)), rng.standard_normal((7, 4))
    expected = np.maximum(x.reshape(5, -1) @ w1, 0) @ w2
    got = B.two_layer_fc(torch.from_numpy(x), [torch.from_numpy(w1), torch.from_numpy(w2)])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_three_layer_convnet_notebook_shape():
    # The notebook's zero test: 32x32 inputs, 6 and 9 channels, fc (9*32*32, 6).
    params = [torch.zeros(6, 3, 5, 5), torch.zeros(6), torch.zeros(9, 6, 3, 3),
              torch.zeros(9), torch.zeros(9 * 32 * 32, 6), torch.zeros(6)]
    assert B.three_layer_convnet(torch.zeros(64, 3, 32, 32), params).shape == (64, 6)


def test_three_layer_convnet_odd_size_single_example():
    torch.manual_seed(0)
    params = B.init_three_layer_convnet(2, 4, 3, 5, image_size=(7, 5), device="cpu")
    assert B.three_layer_convnet(torch.randn(1, 2, 7, 5), params).shape == (1, 5)


def test_three_layer_convnet_zero_weights_give_the_fc_bias():
    params = [torch.zeros(4, 1, 5, 5), torch.zeros(4), torch.zeros(3, 4, 3, 3),
              torch.zeros(3), torch.zeros(3 * 8 * 8, 2), torch.tensor([1.5, -2.0])]
    scores = B.three_layer_convnet(torch.randn(3, 1, 8, 8), params)
    assert torch.equal(scores, torch.tensor([[1.5, -2.0]] * 3))


@pytest.mark.parametrize("shape, fan_in", [((4096, 512), 4096), ((256, 64, 3, 3), 576)])
def test_random_weight_is_kaiming_normal(shape, fan_in):
    torch.manual_seed(0)
    w = B.random_weight(shape, device="cpu")
    assert w.shape == shape and w.dtype == torch.float32 and w.device.type == "cpu"
    assert w.requires_grad and w.is_leaf
    values = w.detach().double()
    n, std = values.numel(), math.sqrt(2.0 / fan_in)
    # Sample std has relative standard error 1/sqrt(2n) <= 0.2% here: 1% is > 5 sigma,
    # and the wrong fan-in (shape[1] for (4096, 512)) is off by a factor of 2.8.
    assert abs(float(values.std()) / std - 1) < 0.01
    assert abs(float(values.mean())) < 5 * std / math.sqrt(n)


def test_random_weight_follows_generator_and_rejects_vectors():
    a = B.random_weight((30, 20), "cpu", generator=torch.Generator().manual_seed(7))
    b = B.random_weight((30, 20), "cpu", generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    with pytest.raises(ValueError):
        B.random_weight((10,))


def test_initialisers_default_to_the_default_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert B.random_weight((3, 2)).device.type == "cpu"
    assert B.zero_weight((3,)).device.type == "cpu"


def test_zero_weight():
    b = B.zero_weight((3, 2), device="cpu")
    assert torch.equal(b, torch.zeros(3, 2)) and b.requires_grad and b.dtype == torch.float32


def test_check_accuracy_barebones_counts_argmax_hits():
    # Scores are the inputs themselves; predictions are argmax of each row.
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [0.0, 3.0], [5.0, 4.0]])
    y = torch.tensor([1, 1, 1, 0])

    def identity(inp, params):
        return inp

    assert B.check_accuracy_barebones((x, y), identity, []) == 0.75
    loader = [(x[:3], y[:3]), (x[3:], y[3:])]
    assert B.check_accuracy_barebones(loader, identity, [], device="cpu") == 0.75
    with pytest.raises(ValueError):
        B.check_accuracy_barebones([], identity, [])


def test_train_barebones_takes_plain_sgd_steps():
    torch.manual_seed(0)
    x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    params = B.init_two_layer_fc(6, 5, 3, device="cpu")
    expected = [p.detach().clone().requires_grad_() for p in params]
    lr = 0.1
    for _ in range(2):  # two steps on the same batch: gradients must not accumulate
        loss = torch.nn.functional.cross_entropy(B.two_layer_fc(x, expected), y)
        grads = torch.autograd.grad(loss, expected)
        expected = [(p - lr * g).detach().requires_grad_() for p, g in zip(expected, grads)]
    losses = B.train_barebones(B.two_layer_fc, params, [(x, y), (x, y)], lr, device="cpu")
    assert len(losses) == 2
    for got, want in zip(params, expected):
        torch.testing.assert_close(got.detach(), want.detach())
        assert got.is_leaf and torch.equal(got.grad, torch.zeros_like(got))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_train_barebones_two_layer_fc_learns_digits(digits_split, seed):
    # Measured (3 epochs, lr 0.1, hidden 100): 0.892, 0.903, 0.883 test accuracy;
    # about 0.25 s each.
    s = digits_split
    torch.manual_seed(seed)
    params = B.init_two_layer_fc(64, 100, 10, device="cpu")
    loader = make_loader(s.x_train, s.y_train, 64, seed=seed)
    losses = B.train_barebones(B.two_layer_fc, params, loader, 0.1, epochs=3, device="cpu")
    assert len(losses) == 3 * 23
    assert B.check_accuracy_barebones((s.x_test, s.y_test), B.two_layer_fc, params) >= 0.85
