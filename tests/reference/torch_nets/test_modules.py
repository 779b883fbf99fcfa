"""Tests for reference.torch_nets.modules: shapes, init, and agreement of the three APIs."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from reference.torch_nets import barebones as B  # noqa: E402
from reference.torch_nets import modules as M  # noqa: E402

pytestmark = pytest.mark.torch


def test_two_layer_fc_notebook_shape():
    model = M.TwoLayerFC(50, 42, 6)
    assert model(torch.zeros(64, 50)).shape == (64, 6)


def test_three_layer_convnet_notebook_shape_and_layers():
    model = M.ThreeLayerConvNet(in_channel=3, channel_1=12, channel_2=8, num_classes=6)
    assert model(torch.zeros(64, 3, 32, 32)).shape == (64, 6)
    assert model.conv1.kernel_size == (5, 5) and model.conv1.padding == (2, 2)
    assert model.conv2.kernel_size == (3, 3) and model.conv2.padding == (1, 1)
    assert model.fc.in_features == 8 * 32 * 32


def test_three_layer_convnet_odd_size_single_example():
    model = M.ThreeLayerConvNet(2, 4, 3, 5, image_size=(7, 5))
    assert model(torch.randn(1, 2, 7, 5)).shape == (1, 5)
    assert M.digits_convnet()(torch.randn(3, 1, 8, 8)).shape == (3, 10)


def _assert_kaiming(weight, fan_in):
    values = weight.detach().double()
    # Relative standard error of the sample std is below 0.2% for these sizes.
    assert abs(float(values.std()) / math.sqrt(2.0 / fan_in) - 1) < 0.01


def test_module_weights_are_kaiming_normal():
    torch.manual_seed(0)
    _assert_kaiming(M.TwoLayerFC(4096, 512, 10).fc1.weight, fan_in=4096)
    conv = M.ThreeLayerConvNet(32, 256, 4, 10, image_size=(1, 1))
    _assert_kaiming(conv.conv1.weight, fan_in=32 * 5 * 5)
    seq = M.three_layer_convnet_sequential(32, 256, 4, 10, image_size=(1, 1))
    _assert_kaiming(seq[0].weight, fan_in=32 * 5 * 5)
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias))
               for m in seq if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_flatten_module_matches_function():
    x = torch.randn(3, 2, 4, 4)
    assert torch.equal(M.Flatten()(x), B.flatten(x))


def test_two_layer_fc_module_equals_barebones_when_biases_are_zero():
    torch.manual_seed(0)
    model = M.TwoLayerFC(2 * 5 * 5, 9, 4)
    with torch.no_grad():
        model.fc1.bias.zero_()
        model.fc2.bias.zero_()
    x = torch.randn(6, 2, 5, 5)
    torch.testing.assert_close(model(x), B.two_layer_fc(x, M.two_layer_fc_params(model)))


def test_convnet_module_equals_barebones_with_same_weights():
    torch.manual_seed(0)
    model = M.ThreeLayerConvNet(3, 6, 9, 4, image_size=(9, 7))
    with torch.no_grad():  # non-zero biases so that they are compared too
        for layer in (model.conv1, model.conv2, model.fc):
            layer.bias.normal_()
    x = torch.randn(5, 3, 9, 7)
    params = M.three_layer_convnet_params(model)
    assert params[4].shape == (9 * 9 * 7, 4)
    torch.testing.assert_close(model(x), B.three_layer_convnet(x, params))


def test_sequential_equals_module_with_copied_weights():
    torch.manual_seed(0)
    model = M.ThreeLayerConvNet(1, 5, 4, 3, image_size=(8, 8))
    seq = M.three_layer_convnet_sequential(1, 5, 4, 3, image_size=(8, 8))
    x = torch.randn(4, 1, 8, 8)
    assert not torch.allclose(seq(x), model(x))
    src = [model.conv1, model.conv2, model.fc]
    dst = [m for m in seq if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for s, d in zip(src, dst, strict=True):
            d.weight.copy_(s.weight)
            d.bias.copy_(s.bias)
    torch.testing.assert_close(seq(x), model(x))
    torch.testing.assert_close(seq(x), B.three_layer_convnet(x, M.three_layer_convnet_params(seq)))


def test_two_layer_fc_sequential_equals_barebones():
    torch.manual_seed(0)
    seq = M.two_layer_fc_sequential(12, 7, 3)  # zero biases, so barebones applies
    x = torch.randn(4, 3, 2, 2)
    torch.testing.assert_close(seq(x), B.two_layer_fc(x, M.two_layer_fc_params(seq)))
