"""Batch normalization with the one-pass variance E[x**2] - E[x]**2, running
averages read with bn_param.get and stored back, one closed-form backward in
terms of x_hat and bound to both names (batchnorm_backward_alt = batchnorm_backward).

Appended to a copy of the reference layers.py by tests/assignments/test_batchnorm.py.
The one-pass variance loses digits only where |mean| is many orders above the
spread; on the course's inputs (5 * randn + 12) it agrees to 1e-14.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    cache = None
    if mode == "train":
        mean = np.mean(x, axis=0)
        var = np.mean(x ** 2, axis=0) - mean ** 2
        x_hat = (x - mean) / np.sqrt(var + eps)
        out = gamma * x_hat + beta
        cache = (x_hat, gamma, var, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    x_hat, gamma, var, eps = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, dgamma, dbeta


batchnorm_backward_alt = batchnorm_backward
