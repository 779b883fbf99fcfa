# Alternative ThreeLayerConvNet: the course's fast layers called one by one,
# randn * weight_scale, W2's rows counted as F * H * W / 4, caches in a list
# popped in reverse, the penalty and its gradient in a loop over the weights.
# (Appended to classifiers/cnn.py.)
from ..fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                           max_pool_forward_fast)
from ..layers import relu_backward, relu_forward


class ThreeLayerConvNet(object):
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        C, H, W = input_dim
        self.params["W1"] = np.random.randn(num_filters, C, filter_size, filter_size) * weight_scale
        self.params["b1"] = np.zeros(num_filters)
        self.params["W2"] = np.random.randn(int(num_filters * H * W / 4), hidden_dim) * weight_scale
        self.params["b2"] = np.zeros(hidden_dim)
        self.params["W3"] = np.random.randn(hidden_dim, num_classes) * weight_scale
        self.params["b3"] = np.zeros(num_classes)
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        filter_size = W1.shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        caches = []
        out, cache = conv_forward_fast(X, W1, b1, conv_param)
        caches.append(cache)
        out, cache = relu_forward(out)
        caches.append(cache)
        out, cache = max_pool_forward_fast(out, pool_param)
        caches.append(cache)
        out, cache = affine_forward(out, W2, b2)
        caches.append(cache)
        out, cache = relu_forward(out)
        caches.append(cache)
        scores, cache = affine_forward(out, W3, b3)
        caches.append(cache)
        if y is None:
            return scores

        loss, dout = softmax_loss(scores, y)
        grads = {}
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(self.params[name] ** 2)
        dout, grads["W3"], grads["b3"] = affine_backward(dout, caches.pop())
        dout = relu_backward(dout, caches.pop())
        dout, grads["W2"], grads["b2"] = affine_backward(dout, caches.pop())
        dout = max_pool_backward_fast(dout, caches.pop())
        dout = relu_backward(dout, caches.pop())
        dout, grads["W1"], grads["b1"] = conv_backward_fast(dout, caches.pop())
        for name in ("W1", "W2", "W3"):
            grads[name] += self.reg * self.params[name]
        return loss, grads
