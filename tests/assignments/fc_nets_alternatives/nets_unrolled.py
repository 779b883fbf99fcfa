# TwoLayerNet from the bare layers (no sandwich), weights from
# np.random.normal(0, weight_scale, ...), the penalty as one expression;
# FullyConnectedNet with caches in a dict, a loop over range(1, L + 1) with the
# last layer as a branch, 0.5 * reg * sum(W * W) added per layer in the loop.
from ..layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = np.random.normal(0, weight_scale, (input_dim, hidden_dim))
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = np.random.normal(0, weight_scale, (hidden_dim, num_classes))
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        a1, fc1_cache = affine_forward(X, W1, b1)
        h1, relu_cache = relu_forward(a1)
        scores, fc2_cache = affine_forward(h1, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dh1, dW2, db2 = affine_backward(dscores, fc2_cache)
        da1 = relu_backward(dh1, relu_cache)
        _, dW1, db1 = affine_backward(da1, fc1_cache)
        grads["W1"] = dW1 + self.reg * W1
        grads["b1"] = db1
        grads["W2"] = dW2 + self.reg * W2
        grads["b2"] = db2
        return loss, grads


class FullyConnectedNet(object):
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(1, self.num_layers + 1):
            self.params["W%d" % i] = np.random.normal(0, weight_scale, (dims[i - 1], dims[i]))
            self.params["b%d" % i] = np.zeros(dims[i])
            if self.normalization and i < self.num_layers:
                self.params["gamma%d" % i] = np.ones(dims[i])
                self.params["beta%d" % i] = np.zeros(dims[i])

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if self.normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for i in range(self.num_layers - 1)]
        if self.normalization == "layernorm":
            self.bn_params = [{} for i in range(self.num_layers - 1)]

        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode

        L = self.num_layers
        caches = {}
        reg_loss = 0.0
        out = X
        for i in range(1, L + 1):
            W, b = self.params["W%d" % i], self.params["b%d" % i]
            reg_loss += 0.5 * self.reg * np.sum(W * W)
            if i == L:
                out, caches["affine%d" % i] = affine_forward(out, W, b)
                break
            out, caches["affine%d" % i] = affine_forward(out, W, b)
            if self.normalization == "batchnorm":
                out, caches["norm%d" % i] = batchnorm_forward(
                    out, self.params["gamma%d" % i], self.params["beta%d" % i],
                    self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                out, caches["norm%d" % i] = layernorm_forward(
                    out, self.params["gamma%d" % i], self.params["beta%d" % i],
                    self.bn_params[i - 1])
            out, caches["relu%d" % i] = relu_forward(out)
            if self.use_dropout:
                out, caches["dropout%d" % i] = dropout_forward(out, self.dropout_param)
        scores = out

        if mode == "test":
            return scores

        loss, dout = softmax_loss(scores, y)
        loss += reg_loss
        grads = {}
        for i in range(L, 0, -1):
            if i < L:
                if self.use_dropout:
                    dout = dropout_backward(dout, caches["dropout%d" % i])
                dout = relu_backward(dout, caches["relu%d" % i])
                if self.normalization == "batchnorm":
                    dout, grads["gamma%d" % i], grads["beta%d" % i] = batchnorm_backward(
                        dout, caches["norm%d" % i])
                elif self.normalization == "layernorm":
                    dout, grads["gamma%d" % i], grads["beta%d" % i] = layernorm_backward(
                        dout, caches["norm%d" % i])
            dout, dW, db = affine_backward(dout, caches["affine%d" % i])
            grads["W%d" % i] = dW + self.reg * self.params["W%d" % i]
            grads["b%d" % i] = db
        return loss, grads
