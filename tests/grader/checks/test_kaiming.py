"""The stated Kaiming rule (grader/checks/kaiming.py, Note [Kaiming variants]) gives each
variant what the Note says, on the weight shapes the PyTorch and TensorFlow checks judge."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.checks import kaiming
from grader.checks.spec import CheckFailure

# (shape, fan_in, fan_out): the ThreeLayerConvNet init sizes (nn layout), the notebook's
# inline Sequential (32 and 16 filters, 6 or 10 classes), and three_layer_convnet_init
# (TensorFlow layout, 6 or 10 classes).
SHAPES = [
    ((64, 16, 5, 5), 16 * 25, 64 * 25), ((32, 64, 3, 3), 64 * 9, 32 * 9), ((10, 32 * 32 * 32), 32768, 10),
    ((32, 3, 5, 5), 75, 800), ((16, 32, 3, 3), 288, 144), ((6, 16384), 16384, 6), ((10, 16384), 16384, 10),
    ((5, 5, 3, 32), 75, 800), ((3, 3, 32, 16), 288, 144), ((16384, 6), 16384, 6), ((16384, 10), 16384, 10),
]


def draw(shape, std, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * std


@pytest.mark.parametrize("shape, fan_in, fan_out", SHAPES, ids=[str(s[0]) for s in SHAPES])
def test_each_variant_is_recognised_on_every_judged_shape(shape, fan_in, fan_out):
    for seed in range(3):
        for name, std in (("fan_in", math.sqrt(2 / fan_in)), ("fan_out", math.sqrt(2 / fan_out)),
                          ("gain 1", math.sqrt(1 / fan_in))):
            judged = kaiming.judge("w", draw(shape, std, seed), fan_in, fan_out)
            if name == "fan_out" and fan_in == fan_out:
                continue
            assert judged.variant.name == name, (shape, name, judged.details)
            assert judged.variant.full_marks is (name == "fan_in")


@pytest.mark.parametrize("shape, fan_in, fan_out", SHAPES, ids=[str(s[0]) for s in SHAPES])
def test_variants_are_further_apart_than_the_tolerance(shape, fan_in, fan_out):
    """No draw can match two variants: their stds differ by more than both windows."""
    rtol = kaiming.std_rtol(math.prod(shape))
    stds = sorted(std for _, std in kaiming.variants(fan_in, fan_out))
    for low, high in zip(stds, stds[1:]):
        assert high * (1 - rtol) > low * (1 + rtol), (shape, stds, rtol)


def test_other_initialisations_fail_naming_what_they_look_like():
    shape, fan_in, fan_out = (32, 3, 5, 5), 75, 800
    default = draw(shape, math.sqrt(1 / (3 * fan_in)))  # PyTorch's default nn initialisation
    with pytest.raises(CheckFailure) as failure:
        kaiming.judge("conv1", default, fan_in, fan_out, mistakes={"PyTorch's default": math.sqrt(1 / (3 * 75))})
    assert "none of the Kaiming variants" in failure.value.message
    assert "looks like: PyTorch's default" in failure.value.message
    with pytest.raises(CheckFailure):  # fan_out with gain 1 is not a variant
        kaiming.judge("conv1", draw(shape, math.sqrt(1 / fan_out)), fan_in, fan_out)
    with pytest.raises(CheckFailure, match="centred at zero"):
        kaiming.judge("conv1", draw(shape, math.sqrt(2 / fan_in)) + 0.05, fan_in, fan_out)


def test_only_the_notebook_variant_passes_init_fan_in():
    shape, fan_in, fan_out = (16, 32, 3, 3), 288, 144
    right = {"conv1": kaiming.judge("conv1", draw(shape, math.sqrt(2 / fan_in)), fan_in, fan_out)}
    assert kaiming.require_notebook_variant(right)["conv1"]["variant"] == "fan_in"
    for std, says in ((math.sqrt(2 / fan_out), "mode='fan_out'"), (math.sqrt(1 / fan_in), "gain 1")):
        judged = {**right, "conv2": kaiming.judge("conv2", draw(shape, std), fan_in, fan_out)}
        with pytest.raises(CheckFailure) as failure:
            kaiming.require_notebook_variant(judged)
        assert says in failure.value.message and "Note [Kaiming variants]" in failure.value.message


def test_small_layers_get_a_wider_window_and_large_ones_three_percent():
    assert kaiming.std_rtol(10 ** 6) == kaiming.MIN_RTOL
    assert kaiming.std_rtol(2400) == pytest.approx(5.7 / math.sqrt(4800))
    # a correct draw of the notebook's smallest judged weight passes for many seeds
    for seed in range(20):
        kaiming.judge("conv_w1", draw((5, 5, 3, 32), math.sqrt(2 / 75), seed), 75, 800)
