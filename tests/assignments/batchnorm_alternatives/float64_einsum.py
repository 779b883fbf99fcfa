"""Normalization that converts everything to float64 and sums with einsum.

Appended to a copy of the reference layers.py by tests/assignments/test_batchnorm.py.
Inputs are cast with np.asarray(..., dtype=np.float64) and results come back
as float64; sums are einsum contractions and the running averages are
updated in place in bn_param's own arrays once they exist.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    x = np.asarray(x, dtype=np.float64)
    gamma = np.asarray(gamma, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    eps = float(bn_param.get("eps", 1e-5))
    momentum = float(bn_param.get("momentum", 0.9))
    N, D = x.shape
    if bn_param["mode"] == "train":
        mu = np.einsum("nd->d", x) / N
        xc = x - mu
        var = np.einsum("nd,nd->d", xc, xc) / N
        inv = 1.0 / np.sqrt(var + eps)
        x_hat = np.einsum("nd,d->nd", xc, inv)
        out = np.einsum("nd,d->nd", x_hat, gamma) + beta
        if "running_mean" in bn_param:
            running_mean = np.asarray(bn_param["running_mean"], dtype=np.float64)
            running_var = np.asarray(bn_param["running_var"], dtype=np.float64)
        else:
            running_mean, running_var = np.zeros(D), np.zeros(D)
        running_mean *= momentum
        running_mean += (1.0 - momentum) * mu
        running_var *= momentum
        running_var += (1.0 - momentum) * var
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
        return out, (x_hat, inv, gamma)
    inv = 1.0 / np.sqrt(np.asarray(bn_param["running_var"], dtype=np.float64) + eps)
    x_hat = (x - np.asarray(bn_param["running_mean"], dtype=np.float64)) * inv
    return gamma * x_hat + beta, None


def _closed_form_dx(g, x_hat, inv, subscripts_sum, subscripts_expand):
    m = x_hat.shape[0] if subscripts_sum == "nd->d" else x_hat.shape[1]
    sum_g = np.einsum(subscripts_sum, g)
    sum_gx = np.einsum(subscripts_sum, g * x_hat)
    expand = lambda v: np.einsum(subscripts_expand, np.ones_like(x_hat), v)  # noqa: E731
    return expand(inv) / m * (m * g - expand(sum_g) - x_hat * expand(sum_gx))


def batchnorm_backward(dout, cache):
    x_hat, inv, gamma = cache
    dout = np.asarray(dout, dtype=np.float64)
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    dbeta = np.einsum("nd->d", dout)
    dx = _closed_form_dx(dout * gamma, x_hat, inv, "nd->d", "nd,d->nd")
    return dx, dgamma, dbeta


batchnorm_backward_alt = batchnorm_backward


def layernorm_forward(x, gamma, beta, ln_param):
    x = np.asarray(x, dtype=np.float64)
    eps = float(ln_param.get("eps", 1e-5))
    D = x.shape[1]
    mu = np.einsum("nd->n", x) / D
    xc = x - mu[:, None]
    inv = 1.0 / np.sqrt(np.einsum("nd,nd->n", xc, xc) / D + eps)
    x_hat = np.einsum("nd,n->nd", xc, inv)
    return x_hat * gamma + beta, (x_hat, inv, np.asarray(gamma, dtype=np.float64))


def layernorm_backward(dout, cache):
    x_hat, inv, gamma = cache
    dout = np.asarray(dout, dtype=np.float64)
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    dbeta = np.einsum("nd->d", dout)
    dx = _closed_form_dx(dout * gamma, x_hat, inv, "nd->n", "nd,n->nd")
    return dx, dgamma, dbeta
