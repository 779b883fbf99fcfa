# Alternative ThreeLayerConvNet: naive conv and pooling instead of the fast
# layers, np.random.normal for the weights, its own softmax, sizes from H // 2.
# (Appended to classifiers/cnn.py.)
from ..layers import (conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
                      max_pool_forward_naive, relu_backward, relu_forward)


class ThreeLayerConvNet(object):
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        C, H, W = input_dim
        F = num_filters
        self.params["W1"] = np.random.normal(0.0, weight_scale, (F, C, filter_size, filter_size))
        self.params["b1"] = np.zeros(F)
        self.params["W2"] = np.random.normal(0.0, weight_scale, (F * (H // 2) * (W // 2), hidden_dim))
        self.params["b2"] = np.zeros(hidden_dim)
        self.params["W3"] = np.random.normal(0.0, weight_scale, (hidden_dim, num_classes))
        self.params["b3"] = np.zeros(num_classes)
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        X = X.astype(self.dtype)
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        a1, c1 = conv_forward_naive(X, W1, b1, conv_param)
        r1, rc1 = relu_forward(a1)
        p1, pc1 = max_pool_forward_naive(r1, pool_param)
        flat = p1.reshape(X.shape[0], -1)
        h = np.maximum(0, flat @ W2 + b2)
        scores = h @ W3 + b3
        if y is None:
            return scores

        N = X.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(N), y].mean()
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))

        dscores = np.exp(log_probs)
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W3": h.T @ dscores + self.reg * W3, "b3": dscores.sum(axis=0)}
        dh = dscores @ W3.T * (h > 0)
        grads["W2"] = flat.T @ dh + self.reg * W2
        grads["b2"] = dh.sum(axis=0)
        dp1 = (dh @ W2.T).reshape(p1.shape)
        da1 = relu_backward(max_pool_backward_naive(dp1, pc1), rc1)
        _, dW1, db1 = conv_backward_naive(da1, c1)
        grads["W1"] = dW1 + self.reg * W1
        grads["b1"] = db1
        return loss, grads
