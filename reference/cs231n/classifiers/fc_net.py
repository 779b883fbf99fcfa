"""Fully-connected classifiers built from the reference layers, as the course defines them.

Students write `TwoLayerNet` and `FullyConnectedNet`; the grader compares their
scores, losses and gradients with these, on the same parameters, so every
choice that changes a number (initialisation order, where regularisation
applies, where normalisation and dropout sit) follows the course and is noted
below.

Model contract (shared with `cnn.py` and used by `Solver`):

- `model.params`: dict name -> array.
- `model.loss(X, y=None)`: with `y` None, a test-time forward pass returning
  scores (N, C); otherwise `(loss, grads)`, grads keyed like params.
"""

from __future__ import annotations

import numpy as np

from ..layer_utils import (
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
)
from ..layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    softmax_loss,
)

__all__ = ["TwoLayerNet", "FullyConnectedNet"]


# Note [Initialisation draws from np.random]
# Weights are `weight_scale * np.random.randn(fan_in, fan_out)`, drawn from
# numpy's global generator layer by layer (W1, W2, ...), biases are zeros,
# normalisation scales gamma are ones and shifts beta zeros.  The course's
# notebooks seed the global generator (np.random.seed(231)) and then publish
# initial losses (2.3004790897684924 for their [20, 30] network, and six more
# for later models in the same cells); this draw order reproduces all of them
# to the last printed digit.  `np.random.normal(0, weight_scale, shape)` draws
# the same numbers, so either spelling in a student's code matches.  The
# grader relies on this to build a reference model with exactly the weights a
# course-style student model gets from the same seed.


# Note [L2 regularisation]
# The data loss is the mean softmax cross-entropy; the penalty is
# 0.5 * reg * sum of squared entries of every weight matrix W1..WL, and not of
# biases or of batch/layer norm's gamma and beta.  The 0.5 makes the penalty's
# gradient reg * W.


def _l2_penalty(params: dict, weight_names: list[str], reg: float) -> float:
    """0.5 * reg * sum of squares of the named weights; see Note [L2 regularisation]."""
    return 0.5 * reg * sum(float(np.sum(params[name] ** 2)) for name in weight_names)


class TwoLayerNet:
    """affine - relu - affine - softmax, with L2 regularisation.

    Parameters: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,), initialised as in
    Note [Initialisation draws from np.random] (dtype float64, as the course).
    """

    def __init__(self, input_dim: int = 3 * 32 * 32, hidden_dim: int = 100,
                 num_classes: int = 10, weight_scale: float = 1e-3, reg: float = 0.0):
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        """Scores, or loss and gradients, for a minibatch.

        Shapes: X (N, d_1, ..., d_k) with prod(d_i) = D; y (N,) integer labels
        or None.  Returns scores (N, C) when y is None, else (loss, grads) with
        grads[name] shaped like params[name].
        """
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, affine2_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + _l2_penalty(p, ["W1", "W2"], self.reg)

        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, affine2_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W1"] = grads["W1"] + self.reg * p["W1"]
        grads["W2"] = grads["W2"] + self.reg * p["W2"]
        return loss, grads


# Note [Hidden block]
# Each hidden layer is  affine -> [batchnorm | layernorm] -> relu -> [dropout];
# the last layer is a bare affine whose scores go to the softmax.  Normalisation
# sits before the ReLU and is never applied to the scores; dropout follows
# every ReLU when the keep probability is below 1.  The two helpers below are
# that block's forward and backward, with the cs231n (out, cache) contract,
# built on the sandwich layers of layer_utils.


def _hidden_forward(x, w, b, gamma, beta, normalization, norm_param, dropout_param):
    """One hidden block (See Note [Hidden block]).

    Shapes: x (N, D_in); w (D_in, D_out); b, gamma, beta (D_out,).
    `normalization` is None, 'batchnorm' or 'layernorm'; `dropout_param` None
    means no dropout.  Returns out (N, D_out) and a cache for _hidden_backward.
    """
    if normalization is None:
        out, block_cache = affine_relu_forward(x, w, b)
    else:
        out, block_cache = affine_norm_relu_forward(x, w, b, gamma, beta, norm_param,
                                                    normalization)
    dropout_cache = None
    if dropout_param is not None:
        out, dropout_cache = dropout_forward(out, dropout_param)
    return out, (normalization, block_cache, dropout_cache)


def _hidden_backward(dout, cache):
    """Backward pass of _hidden_forward.

    Shapes: dout (N, D_out).  Returns dx (N, D_in), dw, db, dgamma, dbeta
    (dgamma and dbeta None without normalisation).
    """
    normalization, block_cache, dropout_cache = cache
    if dropout_cache is not None:
        dout = dropout_backward(dout, dropout_cache)
    if normalization is None:
        dx, dw, db = affine_relu_backward(dout, block_cache)
        return dx, dw, db, None, None
    return affine_norm_relu_backward(dout, block_cache)


# Note [Dropout keyword]
# The course's notebooks (ECE697LS, the seed for this project) construct the
# network with `dropout=<keep probability>`, 1 meaning no dropout; newer
# cs231n releases call the same number `dropout_keep_ratio`.  Both spellings
# are accepted and mean the probability of KEEPING a unit (the layers' 'p',
# see layers.py Note [Dropout convention]); giving both with different values
# is an error.  `seed` only fixes the dropout masks (it is stored in
# dropout_param and re-seeds np.random on every forward pass, as the course
# does); it does not affect weight initialisation.


def _resolve_keep_ratio(dropout: float, dropout_keep_ratio: float | None) -> float:
    """The keep probability from either keyword; see Note [Dropout keyword]."""
    if dropout_keep_ratio is None:
        return dropout
    if dropout != 1 and dropout != dropout_keep_ratio:
        raise ValueError(f"dropout={dropout} and dropout_keep_ratio={dropout_keep_ratio} disagree")
    return dropout_keep_ratio


class FullyConnectedNet:
    """{affine - [norm] - relu - [dropout]} x (L - 1) - affine - softmax, any depth L >= 1.

    Parameters W1..WL, b1..bL and, with normalization, gamma1..gamma(L-1),
    beta1..beta(L-1); all cast to `dtype`.  See Notes [Initialisation draws
    from np.random], [Hidden block], [L2 regularisation], [Dropout keyword].

    Attributes used by the course's code: num_layers, normalization,
    use_dropout, dropout_param (dict or {}), bn_params (one dict per hidden
    layer; running statistics for batchnorm live there), reg, dtype.
    """

    def __init__(self, hidden_dims: list[int], input_dim: int = 3 * 32 * 32,
                 num_classes: int = 10, dropout: float = 1, normalization: str | None = None,
                 reg: float = 0.0, weight_scale: float = 1e-2, dtype=np.float32,
                 seed: int | None = None, *, dropout_keep_ratio: float | None = None):
        if normalization not in (None, "batchnorm", "layernorm"):
            raise ValueError(f"unknown normalization {normalization!r}; "
                             "expected None, 'batchnorm' or 'layernorm'")
        keep = _resolve_keep_ratio(dropout, dropout_keep_ratio)

        self.normalization = normalization
        self.use_dropout = keep != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = self._init_params(list(hidden_dims), input_dim, num_classes, weight_scale)

        self.dropout_param: dict = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": keep}
            if seed is not None:
                self.dropout_param["seed"] = seed

        num_hidden = self.num_layers - 1
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(num_hidden)]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(num_hidden)]
        else:
            self.bn_params = []

    def _init_params(self, hidden_dims, input_dim, num_classes, weight_scale) -> dict:
        """W, b (and gamma, beta) per layer; see Note [Initialisation draws from np.random]."""
        dims = [input_dim] + hidden_dims + [num_classes]
        params = {}
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[i - 1], dims[i]
            params[f"W{i}"] = weight_scale * np.random.randn(fan_in, fan_out)
            params[f"b{i}"] = np.zeros(fan_out)
            if self.normalization is not None and i < self.num_layers:
                params[f"gamma{i}"] = np.ones(fan_out)
                params[f"beta{i}"] = np.zeros(fan_out)
        return {name: value.astype(self.dtype) for name, value in params.items()}

    def _set_mode(self, mode: str) -> None:
        """Put dropout and batchnorm in 'train' or 'test' mode."""
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode

    def loss(self, X: np.ndarray, y: np.ndarray | None = None):
        """Scores, or loss and gradients, for a minibatch.

        Shapes: X (N, d_1, ..., d_k) with prod(d_i) = input_dim; y (N,) or None.
        With y None the pass runs in 'test' mode (no dropout, batchnorm uses
        running statistics) and returns scores (N, C); otherwise 'train' mode
        and (loss, grads), grads[name] shaped like params[name].
        """
        X = X.astype(self.dtype)
        self._set_mode("test" if y is None else "train")
        p, L = self.params, self.num_layers
        dropout_param = self.dropout_param if self.use_dropout else None

        out, caches = X, []
        for i in range(1, L):
            gamma, beta, norm_param = None, None, None
            if self.normalization is not None:
                gamma, beta, norm_param = p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1]
            out, cache = _hidden_forward(out, p[f"W{i}"], p[f"b{i}"], gamma, beta,
                                         self.normalization, norm_param, dropout_param)
            caches.append(cache)
        scores, last_cache = affine_forward(out, p[f"W{L}"], p[f"b{L}"])
        if y is None:
            return scores

        data_loss, dout = softmax_loss(scores, y)
        weight_names = [f"W{i}" for i in range(1, L + 1)]
        loss = data_loss + _l2_penalty(p, weight_names, self.reg)

        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last_cache)
        for i in range(L - 1, 0, -1):
            dout, dw, db, dgamma, dbeta = _hidden_backward(dout, caches[i - 1])
            grads[f"W{i}"], grads[f"b{i}"] = dw, db
            if self.normalization is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        for name in weight_names:
            grads[name] = grads[name] + self.reg * p[name]
        return loss, grads
