"""Sandwich layers: common chains of the reference layers, with the cs231n contract.

The course's classifiers (TwoLayerNet, FullyConnectedNet, ThreeLayerConvNet) are
written in terms of these chains, so the reference classifiers and the grader's
checks of a student's `layer_utils.py` use them too.  Each forward returns
`(out, cache)` with cache the tuple of its stages' caches; each backward takes
`(dout, cache)` and returns dx followed by the parameter gradients in the order
the forward takes the parameters.  Convolution and pooling use the fast layers,
as the course's file does.
"""

from __future__ import annotations

from .fast_layers import (conv_backward_fast, conv_forward_fast,
                          max_pool_backward_fast, max_pool_forward_fast)
from .layers import (affine_backward, affine_forward, batchnorm_backward_alt,
                     batchnorm_forward, layernorm_backward, layernorm_forward,
                     relu_backward, relu_forward, spatial_batchnorm_backward,
                     spatial_batchnorm_forward)


def affine_relu_forward(x, w, b):
    """affine -> relu.  Shapes: x (N, d1, ..., dk); w (D, M); b (M,); out (N, M)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Returns dx (N, d1, ..., dk), dw (D, M), db (M,) for dout (N, M)."""
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


# Note [affine_norm_relu signature]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The course leaves this helper to the student (its notebooks suggest adding
# one next to FullyConnectedNet), so there is no official signature.  We take
# (x, w, b, gamma, beta, norm_param, normalization): the layer's parameters in
# the order they are applied, then the normaliser's state dict (bn_param or
# ln_param) and the FullyConnectedNet option value, 'batchnorm' or 'layernorm'.

_NORMALIZERS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward_alt),
    "layernorm": (layernorm_forward, layernorm_backward),
}


def _normalizer(normalization):
    try:
        return _NORMALIZERS[normalization]
    except KeyError:
        raise ValueError(f"normalization must be one of {sorted(_NORMALIZERS)}, "
                         f"got {normalization!r}") from None


def affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization):
    """affine -> batchnorm or layernorm -> relu.  See Note [affine_norm_relu signature].

    Shapes: x (N, d1, ..., dk); w (D, M); b, gamma, beta (M,); out (N, M).
    norm_param is updated as batchnorm_forward updates bn_param.
    """
    norm_forward, _ = _normalizer(normalization)
    a, fc_cache = affine_forward(x, w, b)
    an, norm_cache = norm_forward(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward(an)
    return out, (normalization, fc_cache, norm_cache, relu_cache)


def affine_norm_relu_backward(dout, cache):
    """Returns dx, dw, db, dgamma, dbeta for dout (N, M)."""
    normalization, fc_cache, norm_cache, relu_cache = cache
    _, norm_backward = _normalizer(normalization)
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = norm_backward(dan, norm_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """conv -> relu.  Shapes: x (N, C, H, W); w (F, C, HH, WW); b (F,); out (N, F, H_out, W_out)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,)."""
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return conv_backward_fast(da, conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """conv -> spatial batchnorm -> relu.  gamma, beta (F,); bn_param updated as by batchnorm_forward."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Returns dx, dw, db, dgamma, dbeta."""
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """conv -> relu -> max pool.  Shapes: x (N, C, H, W); out (N, F, H_pool, W_pool)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,)."""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    return conv_backward_fast(da, conv_cache)
