"""Correct dropout with a numpy Generator, a boolean mask and the scale applied separately."""

import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x.copy(), (mode, None, p)
    rng = np.random.default_rng(dropout_param.get("seed"))
    keep = rng.random(x.shape) < p
    return np.where(keep, x / p, 0.0), (mode, keep, p)


def dropout_backward(dout, cache):
    mode, keep, p = cache
    if mode == "test":
        return dout.copy()
    return np.where(keep, dout / p, 0.0)
