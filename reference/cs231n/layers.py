"""Trusted numpy layers with the cs231n calling convention.

Every student's `layers.py` is judged against these functions, so they favour
plain, checkable arithmetic over speed (the fast versions live in
`fast_layers.py`).

The contract, stated once here and followed by every pair below:

    out, cache = <layer>_forward(x, *params, param_dict)
    grads      = <layer>_backward(dout, cache)      # dx first, then parameter grads

`dout` has the shape of `out`, and each gradient has the shape of the input it
belongs to.  Loss layers return `(loss, dx)` instead.  Forward passes never write
into their arguments, with one documented exception: batch normalisation stores
its running statistics in `bn_param` (see Note [Running statistics]).

Layers in this file, forward next to backward:
affine, relu, softmax_loss / svm_loss, batchnorm (+ batchnorm_backward_alt),
layernorm, dropout, conv (naive), max pool (naive), spatial batchnorm,
spatial groupnorm.
"""

from __future__ import annotations

import numpy as np

# Note [Inputs are read-only]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The grader compares a student's forward pass with this one on the same input
# arrays, and it also tells a student whose function writes into its inputs.
# So no function here modifies x, w, b, gamma, beta or dout: every result is a
# fresh array (`x - mu`, `np.pad`, `np.maximum`, ...), never `x -= mu`.  Where a
# function would otherwise hand back its argument unchanged (dropout at test
# time) it returns a copy, so that a caller writing into the output cannot
# reach the input either.  The tests check this for every forward pass.


# ---------------------------------------------------------------------------
# Affine
# ---------------------------------------------------------------------------

def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    Shapes: x (N, d1, ..., dk) with D = d1 * ... * dk; w (D, M); b (M,).
    Returns out (N, M) and cache (x, w, b).
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Gradients of the affine layer.

    Shapes: dout (N, M).  Returns dx (N, d1, ..., dk), dw (D, M), db (M,).
    """
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ---------------------------------------------------------------------------
# ReLU
# ---------------------------------------------------------------------------

# Note [ReLU at zero]
# ~~~~~~~~~~~~~~~~~~~
# ReLU is not differentiable at 0; like the course and PyTorch we use the
# subgradient 0 there (the mask is `x > 0`, not `x >= 0`).

def relu_forward(x):
    """Elementwise max(0, x).  Shapes: x any; out like x; cache is x."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Gradient of ReLU: dout where x > 0, else 0 (see Note [ReLU at zero]).

    Shapes: dout like x; returns dx like x.
    """
    x = cache
    return dout * (x > 0)


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------

def softmax_loss(x, y):
    """Mean cross-entropy of softmax(x) against integer labels y.

    Shapes: x (N, C) class scores; y (N,) with 0 <= y[i] < C.
    Returns loss (float) and dx (N, C).  Scores are shifted by their row
    maximum before exponentiating, so logits of any size are safe.
    """
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = -log_probs[rows, y].mean()
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= n
    return float(loss), dx


def svm_loss(x, y):
    """Mean multiclass hinge loss with margin 1.

    Shapes: x (N, C) class scores; y (N,) integer labels.
    Returns loss (float) and dx (N, C).  At a margin of exactly 0 the
    subgradient 0 is used (only margins > 0 count), as the course does.
    """
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0
    loss = margins.sum() / n
    active = (margins > 0).astype(x.dtype)
    active[rows, y] = -active.sum(axis=1)
    dx = active / n
    return float(loss), dx


# ---------------------------------------------------------------------------
# Normalisation core, shared by batch, layer and group norm
# ---------------------------------------------------------------------------

def _standardize(x, axis, eps):
    """Return (x_hat, inv_std) with x_hat = (x - mean) / sqrt(var + eps) along `axis`.

    The variance is the biased one (divide by the number of entries), as in
    the course and in every framework's training-mode normalisation.
    """
    mean = x.mean(axis=axis, keepdims=True)
    centered = x - mean
    var = (centered ** 2).mean(axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return centered * inv_std, inv_std


def _standardize_backward(dx_hat, x_hat, inv_std, axis):
    """Closed-form gradient through `_standardize` along `axis`.

    With m entries per group:  dx = inv_std / m * (m * g - sum(g) - x_hat * sum(g * x_hat)),
    where g = dx_hat and the sums run over `axis`.  This is the simplified
    formula the course asks for in `batchnorm_backward_alt`.
    """
    m = x_hat.shape[axis]
    sum_g = dx_hat.sum(axis=axis, keepdims=True)
    sum_gx = (dx_hat * x_hat).sum(axis=axis, keepdims=True)
    return inv_std / m * (m * dx_hat - sum_g - x_hat * sum_gx)


# ---------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------

# Note [Running statistics]
# ~~~~~~~~~~~~~~~~~~~~~~~~~
# In 'train' mode batchnorm_forward normalises with the batch mean and the
# *biased* batch variance, and updates
#     running = momentum * running + (1 - momentum) * batch_statistic
# for both mean and variance (biased), defaults momentum 0.9 and eps 1e-5.
# Missing running_mean / running_var start as zeros of shape (D,).  The new
# arrays are stored back into bn_param under the same keys (fresh arrays, the
# caller's old arrays are not written into); this is the one place where a
# layer changes one of its arguments, because the course's API keeps the
# layer's state in that dict.  'test' mode normalises with the running values
# and leaves bn_param unchanged.
#
# PyTorch differs in two ways, which the tests spell out rather than hide:
#   * its `momentum` weighs the *new* value: torch_momentum = 1 - momentum
#     (so the course's 0.9 is torch's 0.1);
#   * its running_var is updated with the *unbiased* batch variance
#     (times N / (N - 1)), although the forward pass itself uses the biased one.
# Keras' BatchNormalization uses the course's momentum convention and the
# biased variance.

def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation over the batch axis.

    Shapes: x (N, D); gamma, beta (D,); bn_param dict with 'mode' ('train' or
    'test') and optional 'eps', 'momentum', 'running_mean', 'running_var'.
    Returns out (N, D) and a cache for batchnorm_backward (None in test mode).
    See Note [Running statistics] for how bn_param is updated.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))

    if mode == "train":
        x_hat, inv_std = _standardize(x, axis=0, eps=eps)
        out = gamma * x_hat + beta
        batch_mean = x.mean(axis=0)
        batch_var = x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * batch_mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var
        cache = (x, gamma, eps, x_hat, inv_std)
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        bn_param["running_mean"] = running_mean
        bn_param["running_var"] = running_var
        cache = None
    else:
        raise ValueError(f"invalid batchnorm mode {mode!r}; expected 'train' or 'test'")
    return out, cache


def _require_train_cache(cache, name):
    """Raise a clear error when a test-mode cache (None) reaches a backward pass."""
    if cache is None:
        raise ValueError(f"{name}: no gradient for a test-mode forward pass (its cache is None)")


def batchnorm_backward(dout, cache):
    """Batchnorm gradients by backpropagating through the computational graph.

    Each line below is one node of the forward graph
        mu -> xc = x - mu -> var = mean(xc^2) -> s = sqrt(var + eps)
           -> x_hat = xc / s -> out = gamma * x_hat + beta
    visited in reverse; branches that feed two nodes (xc) sum their gradients.
    Shapes: dout (N, D).  Returns dx (N, D), dgamma (D,), dbeta (D,).
    """
    _require_train_cache(cache, "batchnorm_backward")
    x, gamma, eps, x_hat, _ = cache
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    std = np.sqrt((xc ** 2).mean(axis=0) + eps)

    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # x_hat = xc * (1 / std): two branches
    dxc_direct = dx_hat / std
    dinv_std = (dx_hat * xc).sum(axis=0)
    dstd = -dinv_std / std ** 2
    dvar = dstd * 0.5 / std                      # std = sqrt(var + eps)
    dxc_from_var = 2.0 * xc * dvar / n           # var = mean(xc ** 2)
    dxc = dxc_direct + dxc_from_var
    dmu = -dxc.sum(axis=0)                       # xc = x - mu
    dx = dxc + dmu / n                           # mu = mean(x)
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Batchnorm gradients from the simplified closed form.

    Same cache, shapes and results as batchnorm_backward.
    """
    _require_train_cache(cache, "batchnorm_backward_alt")
    _, gamma, _, x_hat, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=0)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------
# Layer normalisation
# ---------------------------------------------------------------------------

def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalisation: each row of x is normalised over its D features.

    Shapes: x (N, D); gamma, beta (D,); ln_param may hold 'eps' (default 1e-5);
    other keys (such as 'mode') are ignored, as train and test behave alike.
    Returns out (N, D) and cache.
    """
    eps = ln_param.get("eps", 1e-5)
    x_hat, inv_std = _standardize(x, axis=1, eps=eps)
    out = gamma * x_hat + beta
    return out, (gamma, x_hat, inv_std)


def layernorm_backward(dout, cache):
    """Layernorm gradients.  Shapes: dout (N, D); returns dx (N, D), dgamma (D,), dbeta (D,)."""
    gamma, x_hat, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=1)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------

# Note [Dropout convention]
# ~~~~~~~~~~~~~~~~~~~~~~~~~
# dropout_param['p'] is the probability of KEEPING a unit (the course's
# convention; PyTorch's p is the drop probability).  Training uses inverted
# dropout: mask = (U < p) / p with U uniform on [0, 1), out = x * mask, so
# E[out] = x and test time is the identity.  The mask is drawn with
# np.random.rand from numpy's global generator, after np.random.seed(seed)
# when the param dict holds a 'seed', exactly as the course does; this makes
# the reference draw the same mask as a student's course-style code for the
# same seed.

def dropout_forward(x, dropout_param):
    """Inverted dropout.

    Shapes: x any; dropout_param dict with 'p' (keep probability, 0 < p <= 1),
    'mode' ('train' or 'test') and optional 'seed'.  Returns out like x and
    cache (dropout_param, mask), mask None in test mode.
    See Note [Dropout convention].
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if not 0 < p <= 1:
        raise ValueError(f"dropout keep probability p must lie in (0, 1], got {p}")
    if mode == "train":
        if dropout_param.get("seed") is not None:
            np.random.seed(dropout_param["seed"])
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == "test":
        mask = None
        out = x.copy()  # See Note [Inputs are read-only]
    else:
        raise ValueError(f"invalid dropout mode {mode!r}; expected 'train' or 'test'")
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Gradient of dropout: dout * mask in train mode, dout in test mode.

    Shapes: dout like x; returns dx like x.
    """
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout.copy()


# ---------------------------------------------------------------------------
# Convolution (naive)
# ---------------------------------------------------------------------------

# Note [Output size]
# ~~~~~~~~~~~~~~~~~~
# Convolution and pooling windows start at multiples of the stride and must
# lie inside the (padded) input:  H_out = 1 + (H + 2 * pad - HH) // stride.
# When the stride does not divide evenly, the last rows/columns of the input
# are never covered and get zero gradient; PyTorch's conv2d and max_pool2d
# (ceil_mode=False) make the same choice.

def _conv_output_size(size, kernel, stride, pad):
    """Number of window positions along one axis; see Note [Output size]."""
    return 1 + (size + 2 * pad - kernel) // stride


def _pad_spatial(x, pad):
    """Zero-pad the last two axes of an (N, C, H, W) array by `pad` on each side."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")


def conv_forward_naive(x, w, b, conv_param):
    """Cross-correlation of N images with F filters (no kernel flip, as in the course).

    Shapes: x (N, C, H, W); w (F, C, HH, WW); b (F,); conv_param with 'stride'
    and 'pad' (zero padding on each side).  Returns out (N, F, H_out, W_out),
    sizes from Note [Output size], and cache (x, w, b, conv_param).
    The loop runs over output positions; each position is one tensordot over
    (C, HH, WW) for all images and filters at once.
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out = _conv_output_size(h, hh, stride, pad)
    w_out = _conv_output_size(wd, ww, stride, pad)
    x_pad = _pad_spatial(x, pad)
    out = np.empty((n, f, h_out, w_out), dtype=np.result_type(x, w, b))
    for i in range(h_out):
        for j in range(w_out):
            window = x_pad[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive.

    Shapes: dout (N, F, H_out, W_out).  Returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    Overlapping windows accumulate into dx.
    """
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, hh, ww = w.shape
    _, _, h_out, w_out = dout.shape
    x_pad = _pad_spatial(x, pad)
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(x, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for i in range(h_out):
        for j in range(w_out):
            rows = slice(i * stride, i * stride + hh)
            cols = slice(j * stride, j * stride + ww)
            g = dout[:, :, i, j]                                   # (N, F)
            dw += np.tensordot(g, x_pad[:, :, rows, cols], axes=([0], [0]))
            dx_pad[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    db = dout.sum(axis=(0, 2, 3))
    h, wd = x.shape[2], x.shape[3]
    dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]
    return dx, dw, db


# ---------------------------------------------------------------------------
# Max pooling (naive)
# ---------------------------------------------------------------------------

# Note [Max-pool ties]
# ~~~~~~~~~~~~~~~~~~~~
# max is not differentiable where a window holds several equal maxima.  The
# reference sends the whole upstream gradient to ONE of them, the first in
# row-major order within the window (np.argmax), which is a valid subgradient
# and is what PyTorch's max_pool2d does.  (The course's Cython-era reshape
# method copies the gradient to every tied entry, or splits it evenly in some
# versions.)  With random float inputs ties have probability zero, so a
# student is only affected by this choice on purpose-built inputs.

def _pool_params(pool_param):
    return pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]


def max_pool_forward_naive(x, pool_param):
    """Max pooling without padding.

    Shapes: x (N, C, H, W); pool_param with 'pool_height', 'pool_width',
    'stride'.  Returns out (N, C, H_out, W_out) with
    H_out = 1 + (H - pool_height) // stride (Note [Output size]) and cache (x, pool_param).
    """
    ph, pw, stride = _pool_params(pool_param)
    n, c, h, wd = x.shape
    h_out = _conv_output_size(h, ph, stride, 0)
    w_out = _conv_output_size(wd, pw, stride, 0)
    out = np.empty((n, c, h_out, w_out), dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Gradient of max pooling, routed to one argmax per window (Note [Max-pool ties]).

    Shapes: dout (N, C, H_out, W_out); returns dx (N, C, H, W).
    """
    x, pool_param = cache
    ph, pw, stride = _pool_params(pool_param)
    n, c = x.shape[:2]
    _, _, h_out, w_out = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for i in range(h_out):
        for j in range(w_out):
            rows = slice(i * stride, i * stride + ph)
            cols = slice(j * stride, j * stride + pw)
            flat = x[:, :, rows, cols].reshape(n, c, ph * pw)
            first_max = flat.argmax(axis=2)[:, :, None]          # (N, C, 1)
            routed = np.zeros((n, c, ph * pw), dtype=dx.dtype)
            np.put_along_axis(routed, first_max, dout[:, :, i, j][:, :, None], axis=2)
            dx[:, :, rows, cols] += routed.reshape(n, c, ph, pw)
    return dx


# ---------------------------------------------------------------------------
# Spatial batch normalisation
# ---------------------------------------------------------------------------

def _channels_last_rows(x):
    """(N, C, H, W) -> (N*H*W, C): one row per pixel, one column per channel."""
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def _rows_to_channels_first(rows, shape):
    """Inverse of _channels_last_rows for an (N, C, H, W) `shape`."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batchnorm per channel, with statistics over N, H and W.

    Shapes: x (N, C, H, W); gamma, beta (C,); bn_param as in batchnorm_forward
    (running statistics of shape (C,)).  Returns out (N, C, H, W) and cache.
    """
    out_rows, bn_cache = batchnorm_forward(_channels_last_rows(x), gamma, beta, bn_param)
    return _rows_to_channels_first(out_rows, x.shape), (bn_cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Gradients of spatial batchnorm.

    Shapes: dout (N, C, H, W).  Returns dx (N, C, H, W), dgamma (C,), dbeta (C,).
    """
    bn_cache, shape = cache
    dx_rows, dgamma, dbeta = batchnorm_backward_alt(_channels_last_rows(dout), bn_cache)
    return _rows_to_channels_first(dx_rows, shape), dgamma, dbeta


# ---------------------------------------------------------------------------
# Spatial group normalisation
# ---------------------------------------------------------------------------

def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group normalisation: each image's C channels split into G groups of C // G
    consecutive channels, each group normalised over its channels and pixels.

    Shapes: x (N, C, H, W) with C divisible by G; gamma, beta (1, C, 1, 1);
    gn_param may hold 'eps' (default 1e-5).  Returns out (N, C, H, W) and cache.
    """
    n, c, h, w = x.shape
    if c % G != 0:
        raise ValueError(f"spatial_groupnorm_forward: C={c} is not divisible by G={G}")
    eps = gn_param.get("eps", 1e-5)
    grouped = x.reshape(n, G, (c // G) * h * w)
    x_hat_grouped, inv_std = _standardize(grouped, axis=2, eps=eps)
    x_hat = x_hat_grouped.reshape(x.shape)
    out = gamma * x_hat + beta
    return out, (gamma, x_hat_grouped, inv_std, G)


def spatial_groupnorm_backward(dout, cache):
    """Gradients of group normalisation.

    Shapes: dout (N, C, H, W).  Returns dx (N, C, H, W), dgamma (1, C, 1, 1), dbeta (1, C, 1, 1).
    """
    gamma, x_hat_grouped, inv_std, G = cache
    x_hat = x_hat_grouped.reshape(dout.shape)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dx_hat_grouped = (dout * gamma).reshape(x_hat_grouped.shape)
    dx = _standardize_backward(dx_hat_grouped, x_hat_grouped, inv_std, axis=2)
    return dx.reshape(dout.shape), dgamma, dbeta
