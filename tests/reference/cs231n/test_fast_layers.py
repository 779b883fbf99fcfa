"""Tests for the numpy fast layers (reference/cs231n/fast_layers.py).

The fast layers are judged by the naive ones in layers.py (themselves checked
against numerical gradients, PyTorch and the course's published outputs):
same outputs and gradients on shapes covering stride 2, pad 0, odd and
non-square sizes, overlapping pooling windows and ties; plus the course's
module surface, so the file can stand in for the Cython-based one.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference.cs231n.fast_layers as fast_layers
from reference.cs231n.fast_layers import (conv_backward_fast, conv_forward_fast,
                                          max_pool_backward_fast, max_pool_forward_fast)
from reference.cs231n.gradient_check import rel_error
from reference.cs231n.layers import (conv_backward_naive, conv_forward_naive,
                                     max_pool_backward_naive, max_pool_forward_naive)

# Same arithmetic, different summation order: the course expects "e-9 or less".
SUMMATION_ORDER_TOL = 1e-9

# (x shape, w shape, stride, pad)
CONV_CASES = [
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1),
    ((1, 2, 7, 7), (3, 2, 3, 3), 2, 0),      # N=1, odd, stride 2, pad 0
    ((3, 1, 9, 6), (2, 1, 4, 3), 2, 2),      # non-square input and kernel, big pad
    ((2, 2, 7, 8), (2, 2, 2, 2), 3, 1),      # stride does not divide: uncovered border
    ((2, 3, 4, 5), (5, 3, 1, 1), 1, 0),      # 1x1 kernel
]
CONV_IDS = ["basic", "N=1-odd-stride2-pad0", "nonsquare-pad2", "uneven-stride3", "1x1"]


def _conv_inputs(case, rng):
    x_shape, w_shape, stride, pad = case
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    return x, w, b, {"stride": stride, "pad": pad}


def _assert_same(fast, naive, what):
    assert fast.shape == naive.shape, f"{what}: shape {fast.shape} != {naive.shape}"
    err = rel_error(fast, naive)
    assert err < SUMMATION_ORDER_TOL, f"{what}: rel_error {err:.2e}"


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_fast_equals_naive(case):
    rng = np.random.default_rng(0)
    x, w, b, conv_param = _conv_inputs(case, rng)
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    _assert_same(out_fast, out_naive, "out")
    dout = rng.standard_normal(out_naive.shape)
    for name, g_fast, g_naive in zip(["dx", "dw", "db"], conv_backward_fast(dout, cache_fast),
                                     conv_backward_naive(dout, cache_naive)):
        _assert_same(g_fast, g_naive, name)


def test_conv_fast_on_the_course_benchmark_cell():
    rs = np.random.RandomState(231)
    x = rs.randn(100, 3, 31, 31)
    w = rs.randn(25, 3, 3, 3)
    b = rs.randn(25)
    dout = rs.randn(100, 25, 16, 16)
    conv_param = {"stride": 2, "pad": 1}
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    _assert_same(out_fast, out_naive, "out")
    for name, g_fast, g_naive in zip(["dx", "dw", "db"], conv_backward_fast(dout, cache_fast),
                                     conv_backward_naive(dout, cache_naive)):
        _assert_same(g_fast, g_naive, name)


def test_conv_fast_leaves_uncovered_border_with_zero_gradient():
    """H=7, kernel 2, stride 3, pad 0: rows and columns 6 are never read."""
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((1, 1, 7, 7)), rng.standard_normal((1, 1, 2, 2)), rng.standard_normal(1)
    out, cache = conv_forward_fast(x, w, b, {"stride": 3, "pad": 0})
    assert out.shape == (1, 1, 2, 2)
    dx, _, _ = conv_backward_fast(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[..., 6, :], 0.0)
    np.testing.assert_array_equal(dx[..., :, 6], 0.0)
    assert np.all(dx[..., :2, :2] != 0)


# (x shape, pool_height, pool_width, stride)
POOL_CASES = [
    ((2, 3, 8, 8), 2, 2, 2),                 # tiles the input (the course's reshape case)
    ((1, 2, 7, 5), 3, 2, 2),                 # N=1, odd, non-square, overlapping rows
    ((2, 2, 6, 7), 3, 3, 1),                 # stride 1: heavy overlap
    ((2, 1, 9, 8), 2, 3, 3),                 # gaps between windows, uneven
]
POOL_IDS = ["tiling", "N=1-odd-nonsquare", "overlap-stride1", "gaps-uneven"]


def _pool_param(case):
    _, ph, pw, stride = case
    return {"pool_height": ph, "pool_width": pw, "stride": stride}


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_max_pool_fast_equals_naive_exactly(case):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(case[0])
    pool_param = _pool_param(case)
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = rng.standard_normal(out_naive.shape)
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache_fast),
                                  max_pool_backward_naive(dout, cache_naive))


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_max_pool_fast_routes_ties_like_naive(case):
    """Integer-valued inputs in {0, 1, 2} make most windows hold tied maxima."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, size=case[0]).astype(np.float64)
    pool_param = _pool_param(case)
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = rng.standard_normal(out_naive.shape)
    dx_fast = max_pool_backward_fast(dout, cache_fast)
    np.testing.assert_array_equal(dx_fast, max_pool_backward_naive(dout, cache_naive))
    # one routed entry per window: the gradient's total is preserved
    assert dx_fast.sum() == pytest.approx(dout.sum(), rel=1e-12)


def test_max_pool_fast_on_the_course_benchmark_cell():
    rs = np.random.RandomState(231)
    x = rs.randn(100, 3, 32, 32)
    dout = rs.randn(100, 3, 16, 16)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_fast, out_naive)     # the course printed 0.0
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache_fast),
                                  max_pool_backward_naive(dout, cache_naive))


COURSE_NAMES = [
    "conv_forward_im2col", "conv_backward_im2col", "conv_forward_strides", "conv_backward_strides",
    "conv_forward_fast", "conv_backward_fast",
    "max_pool_forward_fast", "max_pool_backward_fast", "max_pool_forward_reshape",
    "max_pool_backward_reshape", "max_pool_forward_im2col", "max_pool_backward_im2col",
]


@pytest.mark.parametrize("name", COURSE_NAMES)
def test_module_defines_every_course_name(name):
    assert callable(getattr(fast_layers, name))


@pytest.mark.parametrize("forward, backward", [("conv_forward_strides", "conv_backward_im2col"),
                                               ("conv_forward_im2col", "conv_backward_strides")])
def test_conv_variants_share_caches(forward, backward):
    rng = np.random.default_rng(4)
    x, w, b, conv_param = _conv_inputs(CONV_CASES[1], rng)
    out, cache = getattr(fast_layers, forward)(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = getattr(fast_layers, backward)(dout, cache)
    _, cache_naive = conv_forward_naive(x, w, b, conv_param)
    for name, g, g_naive in zip(["dx", "dw", "db"], (dx, dw, db), conv_backward_naive(dout, cache_naive)):
        _assert_same(g, g_naive, name)


@pytest.mark.parametrize("variant", ["reshape", "im2col"])
def test_max_pool_variants_equal_naive(variant):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 8, 8))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = getattr(fast_layers, f"max_pool_forward_{variant}")(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = getattr(fast_layers, f"max_pool_backward_{variant}")(dout, cache)
    _, cache_naive = max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(dx, max_pool_backward_naive(dout, cache_naive))


def test_fast_layers_keep_float32():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out, cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv_backward_fast(np.ones_like(out), cache))
    pooled, pool_cache = max_pool_forward_fast(out, {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert pooled.dtype == np.float32
    assert max_pool_backward_fast(np.ones_like(pooled), pool_cache).dtype == np.float32


def test_fast_forwards_do_not_modify_inputs_or_return_views():
    rng = np.random.default_rng(7)
    x, w, b, conv_param = _conv_inputs(CONV_CASES[0], rng)
    kept = [a.copy() for a in (x, w, b)]
    out, _ = conv_forward_fast(x, w, b, conv_param)
    pooled, _ = max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    for a, before in zip((x, w, b), kept):
        np.testing.assert_array_equal(a, before)
    assert not np.shares_memory(out, x)
    assert not np.shares_memory(pooled, x)
    assert out.flags.c_contiguous
