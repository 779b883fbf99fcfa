# Both networks with weights as randn * weight_scale and caches in a list;
# TwoLayerNet with the sandwich layers and the penalty through np.square;
# FullyConnectedNet with 0-based loops, the sandwich layers when there is no
# normalisation, the penalty summed over the weight names afterwards, and the
# backward pass over reversed(range(...)).
from ..layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = np.random.randn(input_dim, hidden_dim) * weight_scale
        self.params["b1"] = np.zeros((hidden_dim,))
        self.params["W2"] = np.random.randn(hidden_dim, num_classes) * weight_scale
        self.params["b2"] = np.zeros((num_classes,))

    def loss(self, X, y=None):
        caches = []
        h, cache = affine_relu_forward(X, self.params["W1"], self.params["b1"])
        caches.append(cache)
        scores, cache = affine_forward(h, self.params["W2"], self.params["b2"])
        caches.append(cache)
        if y is None:
            return scores
        grads = {}
        loss, dscores = softmax_loss(scores, y)
        for name in ("W1", "W2"):
            loss += 0.5 * self.reg * np.sum(np.square(self.params[name]))
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, caches.pop())
        _, grads["W1"], grads["b1"] = affine_relu_backward(dh, caches.pop())
        grads["W2"] += self.reg * self.params["W2"]
        grads["W1"] += self.reg * self.params["W1"]
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
        layer_in = input_dim
        for i, layer_out in enumerate(list(hidden_dims) + [num_classes]):
            self.params["W" + str(i + 1)] = np.random.randn(layer_in, layer_out) * weight_scale
            self.params["b" + str(i + 1)] = np.zeros(layer_out)
            if normalization is not None and i < len(hidden_dims):
                self.params["gamma" + str(i + 1)] = np.ones(layer_out)
                self.params["beta" + str(i + 1)] = np.zeros(layer_out)
            layer_in = layer_out

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

        caches = []
        h = X
        for i in range(self.num_layers - 1):
            W, b = self.params["W" + str(i + 1)], self.params["b" + str(i + 1)]
            if self.normalization is None:
                h, cache = affine_relu_forward(h, W, b)
                norm_cache = None
            else:
                a, cache = affine_forward(h, W, b)
                gamma = self.params["gamma" + str(i + 1)]
                beta = self.params["beta" + str(i + 1)]
                if self.normalization == "batchnorm":
                    a, norm_cache = batchnorm_forward(a, gamma, beta, self.bn_params[i])
                else:
                    a, norm_cache = layernorm_forward(a, gamma, beta, self.bn_params[i])
                h, relu_cache = relu_forward(a)
                cache = (cache, relu_cache)
            drop_cache = None
            if self.use_dropout:
                h, drop_cache = dropout_forward(h, self.dropout_param)
            caches.append((cache, norm_cache, drop_cache))
        last = str(self.num_layers)
        scores, last_cache = affine_forward(h, self.params["W" + last], self.params["b" + last])

        if mode == "test":
            return scores

        loss, grads = 0.0, {}
        loss, dscores = softmax_loss(scores, y)
        weights = [k for k in self.params if k.startswith("W")]
        loss += 0.5 * self.reg * sum(np.sum(self.params[k] ** 2) for k in weights)

        dh, grads["W" + last], grads["b" + last] = affine_backward(dscores, last_cache)
        for i in reversed(range(self.num_layers - 1)):
            cache, norm_cache, drop_cache = caches[i]
            if drop_cache is not None:
                dh = dropout_backward(dh, drop_cache)
            if self.normalization is None:
                dh, dW, db = affine_relu_backward(dh, cache)
            else:
                affine_cache, relu_cache = cache
                da = relu_backward(dh, relu_cache)
                if self.normalization == "batchnorm":
                    da, dgamma, dbeta = batchnorm_backward_alt(da, norm_cache)
                else:
                    da, dgamma, dbeta = layernorm_backward(da, norm_cache)
                grads["gamma" + str(i + 1)] = dgamma
                grads["beta" + str(i + 1)] = dbeta
                dh, dW, db = affine_backward(da, affine_cache)
            grads["W" + str(i + 1)] = dW
            grads["b" + str(i + 1)] = db
        for k in weights:
            grads[k] += self.reg * self.params[k]
        return loss, grads
