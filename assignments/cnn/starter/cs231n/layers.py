"""Layers for the ConvolutionalNetworks notebook (starter code).

Every layer follows the same contract:

    out, cache = <layer>_forward(x, *params, param_dict)
    grads      = <layer>_backward(dout, cache)      # dx first, then parameter grads

`dout` has the shape of `out`; each gradient has the shape of the input it
belongs to.  Do not write into the arrays you are given: build new arrays.

The first functions come from the earlier notebooks (FullyConnectedNets,
BatchNormalization): copy your implementations in.  The rest are this
notebook's: replace each `raise NotImplementedError` with your code.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------------------
# From the earlier notebooks
# ---------------------------------------------------------------------------

def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    x (N, d_1, ..., d_k) with D = d_1 * ... * d_k; w (D, M); b (M,).
    Returns out (N, M) and cache.
    """
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("affine_forward is not implemented yet")


def affine_backward(dout, cache):
    """Gradients of affine_forward: dx (shape of x), dw (D, M), db (M,) for dout (N, M)."""
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("affine_backward is not implemented yet")


def relu_forward(x):
    """Elementwise max(0, x).  Returns out (shape of x) and cache."""
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("relu_forward is not implemented yet")


def relu_backward(dout, cache):
    """Gradient of relu_forward: dx, the shape of dout."""
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("relu_backward is not implemented yet")


def softmax_loss(x, y):
    """Softmax cross-entropy averaged over the batch.

    x (N, C) scores; y (N,) labels in [0, C).  Returns loss (a float) and dx (N, C).
    """
    # TODO: copy your implementation from the FullyConnectedNets notebook.
    raise NotImplementedError("softmax_loss is not implemented yet")


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of x (N, D) with gamma, beta (D,).

    bn_param: 'mode' ('train' or 'test'), optional 'eps' (1e-5), 'momentum' (0.9),
    'running_mean', 'running_var' (start at zeros, updated in train mode).
    Returns out (N, D) and cache.
    """
    # TODO: copy your implementation from the BatchNormalization notebook.
    raise NotImplementedError("batchnorm_forward is not implemented yet")


def batchnorm_backward(dout, cache):
    """Gradients of batchnorm_forward (train mode): dx (N, D), dgamma (D,), dbeta (D,)."""
    # TODO: copy your implementation from the BatchNormalization notebook.
    raise NotImplementedError("batchnorm_backward is not implemented yet")


# ---------------------------------------------------------------------------
# Convolution and pooling (naive: clarity over speed)
# ---------------------------------------------------------------------------

def conv_forward_naive(x, w, b, conv_param):
    """Convolutional layer (a cross-correlation: the filters are not flipped).

    x (N, C, H, W) images; w (F, C, HH, WW) filters; b (F,) biases;
    conv_param: 'stride' (step between windows) and 'pad' (zeros added on every
    side of H and W, not of N or C).
    Returns out (N, F, H_out, W_out) with H_out = 1 + (H + 2 * pad - HH) // stride
    (likewise W_out), and cache (x, w, b, conv_param).
    You may assume that the windows tile the input: (H + 2 * pad - HH) % stride == 0
    and (W + 2 * pad - WW) % stride == 0 (an assert on it is fine).
    """
    # TODO: implement the forward pass (loops are fine).
    raise NotImplementedError("conv_forward_naive is not implemented yet")


def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive for dout (N, F, H_out, W_out).

    Returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    """
    # TODO: implement the backward pass.
    raise NotImplementedError("conv_backward_naive is not implemented yet")


def max_pool_forward_naive(x, pool_param):
    """Max pooling without padding.

    x (N, C, H, W); pool_param: 'pool_height', 'pool_width', 'stride'.
    Returns out (N, C, H_out, W_out) with H_out = 1 + (H - pool_height) // stride
    (likewise W_out), and cache (x, pool_param).
    You may assume that (H - pool_height) % stride == 0 and (W - pool_width) % stride == 0.
    """
    # TODO: implement the forward pass.
    raise NotImplementedError("max_pool_forward_naive is not implemented yet")


def max_pool_backward_naive(dout, cache):
    """Gradient of max pooling for dout (N, C, H_out, W_out): dx (N, C, H, W).

    Each window passes its gradient to the entry that was its maximum.
    """
    # TODO: implement the backward pass.
    raise NotImplementedError("max_pool_backward_naive is not implemented yet")


# ---------------------------------------------------------------------------
# Normalisation for convolutional layers
# ---------------------------------------------------------------------------

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation per channel, statistics over N, H and W.

    x (N, C, H, W); gamma, beta (C,); bn_param as for batchnorm_forward, its
    running averages of shape (C,).  Returns out (N, C, H, W) and cache.
    (batchnorm_forward can do the work once x is laid out as (N*H*W, C).)
    """
    # TODO: implement the forward pass.
    raise NotImplementedError("spatial_batchnorm_forward is not implemented yet")


def spatial_batchnorm_backward(dout, cache):
    """Gradients of spatial_batchnorm_forward: dx (N, C, H, W), dgamma (C,), dbeta (C,)."""
    # TODO: implement the backward pass.
    raise NotImplementedError("spatial_batchnorm_backward is not implemented yet")


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group normalisation: per image, the C channels form G groups of C // G
    consecutive channels; each group is normalised over its channels and pixels.

    x (N, C, H, W) with C divisible by G; gamma, beta (1, C, 1, 1);
    gn_param: optional 'eps' (1e-5).  Returns out (N, C, H, W) and cache.
    """
    eps = gn_param.get("eps", 1e-5)
    # TODO: implement the forward pass.
    raise NotImplementedError("spatial_groupnorm_forward is not implemented yet")


def spatial_groupnorm_backward(dout, cache):
    """Gradients of spatial_groupnorm_forward: dx (N, C, H, W), dgamma and dbeta (1, C, 1, 1)."""
    # TODO: implement the backward pass.
    raise NotImplementedError("spatial_groupnorm_backward is not implemented yet")
