# Alternative ThreeLayerConvNet: W2 kept as (F, H // 2, W // 2, hidden_dim), the pooled
# map's axes unflattened (a real cs231n 2016 package did this); the affine layer gets it
# flattened, and grads['W2'] comes back in W2's own shape.  The course gives no shape for
# W2, so this is a correct network (Note [W2 over the pooled map's axes] in
# assignments/cnn/checks.py).  (Appended to classifiers/cnn.py.)


class ThreeLayerConvNet(object):
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        F = num_filters
        self.reg = reg
        self.dtype = dtype
        self.params = {
            "W1": weight_scale * np.random.randn(F, C, filter_size, filter_size),
            "b1": np.zeros(F),
            "W2": weight_scale * np.random.randn(F, H // 2, W // 2, hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        X = X.astype(self.dtype)
        pooled, cache1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        hidden, cache2 = affine_relu_forward(pooled, W2.reshape(-1, W2.shape[-1]), b2)
        scores, cache3 = affine_forward(hidden, W3, b3)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
        dpooled, dW2, grads["b2"] = affine_relu_backward(dhidden, cache2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, cache1)
        grads["W1"] += self.reg * W1
        grads["W2"] = dW2.reshape(W2.shape) + self.reg * W2
        grads["W3"] += self.reg * W3
        return loss, grads
