"""Fast convolution and max pooling in pure numpy, a drop-in for the course's fast_layers.

The course ships `fast_layers.py` built on a Cython im2col extension that students
compile themselves.  The grader cannot rely on a compiled extension, so this
module gives the same functions, with the same contract as the naive layers in
`layers.py` (`out, cache = forward(...)`, `grads = backward(dout, cache)`), built
from numpy strided views.  It can be supplied in place of the course's file:
every public name the course's module defines is defined here too (see
Note [Course aliases]).

Results equal the naive layers up to floating-point summation order; max pooling
routes gradients exactly as `max_pool_backward_naive` does (Note [Max-pool ties]
in layers.py).  Output sizes follow Note [Output size] in layers.py.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


# Note [Self-contained fast layers]
# The grader copies this file into a student's package in place of the course's
# Cython-backed one, where neither `reference` nor the student's private helpers
# exist; so it imports nothing but numpy.  The two helpers below repeat the ones
# in layers.py (Note [Output size] there).

def _conv_output_size(size, kernel, stride, pad):
    """Number of window positions along one axis (floor, as torch does)."""
    return 1 + (size + 2 * pad - kernel) // stride


def _pad_spatial(x, pad):
    """Zero-pad the last two axes of an (N, C, H, W) array by `pad` on each side."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")

# Note [Windows as a strided view]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# sliding_window_view(x, (kh, kw), axis=(2, 3)) is a read-only view of shape
# (N, C, H - kh + 1, W - kw + 1, kh, kw) whose entry [n, c, i, j, a, b] is
# x[n, c, i + a, j + b].  Taking every stride-th window position gives the
# windows a strided convolution or pooling visits, (N, C, H_out, W_out, kh, kw),
# without copying.  Reshaping that view into an im2col matrix makes the one copy
# the method needs.  The reverse step (col2im) adds each of the kh * kw kernel
# offsets back with one strided slice, so overlapping windows accumulate.


def _windows(x, kh, kw, stride):
    """Strided view (N, C, H_out, W_out, kh, kw) of the windows of x (N, C, H, W).

    See Note [Windows as a strided view].
    """
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def _col2im(dwindows, padded_shape, stride):
    """Sum window gradients (N, C, H_out, W_out, kh, kw) back into an array of padded_shape."""
    _, _, h_out, w_out, kh, kw = dwindows.shape
    dx = np.zeros(padded_shape, dtype=dwindows.dtype)
    for a in range(kh):
        for b in range(kw):
            dx[:, :, a:a + stride * h_out:stride, b:b + stride * w_out:stride] += dwindows[..., a, b]
    return dx


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------

def conv_forward_im2col(x, w, b, conv_param):
    """Convolution as one matrix product over im2col columns.

    Shapes: x (N, C, H, W); w (F, C, HH, WW); b (F,); conv_param 'stride', 'pad'.
    Returns out (N, F, H_out, W_out) (contiguous) and cache (x, w, b, conv_param, cols)
    where cols is (N * H_out * W_out, C * HH * WW).
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out = _conv_output_size(h, hh, stride, pad)
    w_out = _conv_output_size(wd, ww, stride, pad)
    windows = _windows(_pad_spatial(x, pad), hh, ww, stride)           # (N, C, Ho, Wo, HH, WW)
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h_out * w_out, c * hh * ww)
    out_rows = cols @ w.reshape(f, -1).T + b                            # (N*Ho*Wo, F)
    out = np.ascontiguousarray(out_rows.reshape(n, h_out, w_out, f).transpose(0, 3, 1, 2))
    return out, (x, w, b, conv_param, cols)


def conv_backward_im2col(dout, cache):
    """Gradients of conv_forward_im2col.

    Shapes: dout (N, F, H_out, W_out).  Returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    """
    x, w, _, conv_param, cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    _, _, h_out, w_out = dout.shape
    dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, f)               # (N*Ho*Wo, F)
    db = dout.sum(axis=(0, 2, 3))
    dw = (dout_rows.T @ cols).reshape(w.shape)
    dcols = dout_rows @ w.reshape(f, -1)                                # (N*Ho*Wo, C*HH*WW)
    dwindows = dcols.reshape(n, h_out, w_out, c, hh, ww).transpose(0, 3, 1, 2, 4, 5)
    dx_pad = _col2im(dwindows, (n, c, h + 2 * pad, wd + 2 * pad), stride)
    dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]
    return np.ascontiguousarray(dx), dw, db


# ---------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------

def max_pool_forward_im2col(x, pool_param):
    """Max pooling over strided windows.

    Shapes: x (N, C, H, W); pool_param 'pool_height', 'pool_width', 'stride'.
    Returns out (N, C, H_out, W_out) and cache (x, pool_param, argmax) where
    argmax (N, C, H_out, W_out) is the row-major position of the first maximum
    inside each window.
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows = _windows(x, ph, pw, stride)
    flat = windows.reshape(windows.shape[:4] + (ph * pw,))
    argmax = flat.argmax(axis=4)
    out = np.take_along_axis(flat, argmax[..., None], axis=4)[..., 0]
    return out, (x, pool_param, argmax)


def max_pool_backward_im2col(dout, cache):
    """Gradient of max pooling: each dout entry goes to its window's first maximum.

    Shapes: dout (N, C, H_out, W_out); returns dx (N, C, H, W).  Overlapping
    windows that share a maximum add up, as in max_pool_backward_naive.
    """
    x, pool_param, argmax = cache
    pw, stride = pool_param["pool_width"], pool_param["stride"]
    n, c, h, wd = x.shape
    _, _, h_out, w_out = dout.shape
    rows = stride * np.arange(h_out)[:, None] + argmax // pw            # (N, C, Ho, Wo)
    cols = stride * np.arange(w_out)[None, :] + argmax % pw
    plane = (np.arange(n)[:, None] * c + np.arange(c)[None, :])[:, :, None, None]
    flat_index = (plane * h + rows) * wd + cols
    dx = np.bincount(flat_index.ravel(), weights=dout.ravel(), minlength=x.size)
    return dx.reshape(x.shape).astype(np.result_type(x, dout), copy=False)


# Note [Course aliases]
# ~~~~~~~~~~~~~~~~~~~~~
# The course's fast_layers module defines conv_{forward,backward}_{im2col,strides}
# and max_pool_{forward,backward}_{reshape,im2col}, plus the *_fast names that
# its notebooks and layer_utils import (conv_*_fast are the strides versions;
# max_pool_forward_fast picks reshape or im2col and tags its cache so that
# max_pool_backward_fast can dispatch).  Here one strided-view implementation
# serves every variant: it is exact for any sizes, overlapping or not, so the
# choice the course makes for speed is not needed, and every forward pairs with
# every backward of the same layer.  The course's reshape variant asserts that
# the windows tile the input; ours accepts any window, which only widens what
# runs.

conv_forward_strides = conv_forward_im2col
conv_backward_strides = conv_backward_im2col
conv_forward_fast = conv_forward_im2col
conv_backward_fast = conv_backward_im2col

max_pool_forward_reshape = max_pool_forward_im2col
max_pool_backward_reshape = max_pool_backward_im2col
max_pool_forward_fast = max_pool_forward_im2col
max_pool_backward_fast = max_pool_backward_im2col
