"""Correct dropout with the mask drawn by np.random.uniform (the same stream as
np.random.rand), kept boolean in the cache with dropout_param, and the 1/p scale
applied in each pass; test mode returns x itself and backward dout itself."""

import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    out = None
    if mode == "train":
        mask = np.random.uniform(0, 1, x.shape) < p
        out = x * mask / p
    elif mode == "test":
        out = x
    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    dx = None
    if mode == "train":
        dx = dout * mask / dropout_param["p"]
    elif mode == "test":
        dx = dout
    return dx
