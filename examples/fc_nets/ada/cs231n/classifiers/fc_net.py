"""A correct classifiers/fc_net.py, written differently from the reference.

Part of the example submission `ada` (examples/fc_nets/ada), also used by
tests/assignments/test_fc_nets.py:

- TwoLayerNet calls the plain layers (affine, relu) rather than the sandwich,
  initialises with np.random.normal, and keeps `reg` as an attribute read at loss time.
- FullyConnectedNet draws its weights from its own np.random.default_rng(), so
  its initial weights are NOT the course's draws: the grade must not depend on
  them.  It keeps caches in a dict, flattens X itself, and computes the penalty
  with np.sum(W * W).  Its signature is the 2020+ one (dropout_keep_ratio).
"""
import numpy as np

from ..layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {
            "b1": np.zeros(hidden_dim),
            "W1": np.random.normal(0.0, weight_scale, (input_dim, hidden_dim)),
            "b2": np.zeros(num_classes),
            "W2": np.random.normal(0.0, weight_scale, (hidden_dim, num_classes)),
        }

    def loss(self, X, y=None):
        a, cache_a = affine_forward(X, self.params["W1"], self.params["b1"])
        h, cache_h = relu_forward(a)
        scores, cache_s = affine_forward(h, self.params["W2"], self.params["b2"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params["W1"] * self.params["W1"])
                                  + np.sum(self.params["W2"] * self.params["W2"]))
        grads = {}
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache_s)
        da = relu_backward(dh, cache_h)
        _, grads["W1"], grads["b1"] = affine_backward(da, cache_a)
        grads["W1"] += self.reg * self.params["W1"]
        grads["W2"] += self.reg * self.params["W2"]
        return loss, grads


class FullyConnectedNet(object):
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout_keep_ratio=1, normalization=None, reg=0.0, weight_scale=1e-2,
                 dtype=np.float32, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        rng = np.random.default_rng()
        sizes = [input_dim, *hidden_dims, num_classes]
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params["W%d" % layer] = weight_scale * rng.standard_normal((fan_in, fan_out))
            self.params["b%d" % layer] = np.zeros(fan_out)
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype).reshape(X.shape[0], -1)
        caches = {}
        out = X
        for layer in range(1, self.num_layers + 1):
            out, caches["affine", layer] = affine_forward(out, self.params["W%d" % layer],
                                                          self.params["b%d" % layer])
            if layer < self.num_layers:
                out, caches["relu", layer] = relu_forward(out)
        if y is None:
            return out
        loss, dout = softmax_loss(out, y)
        grads = {}
        for layer in reversed(range(1, self.num_layers + 1)):
            W = self.params["W%d" % layer]
            loss += 0.5 * self.reg * np.sum(W * W)
            if layer < self.num_layers:
                dout = relu_backward(dout, caches["relu", layer])
            dout, dW, db = affine_backward(dout, caches["affine", layer])
            grads["W%d" % layer] = dW + self.reg * W
            grads["b%d" % layer] = db
        return loss, grads
