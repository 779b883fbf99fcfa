# Alternative: max-pool backward through a mask of the window maxima (window == max),
# which sends dout to every tied maximum: ties have probability zero on random
# inputs (Note [Max-pool ties] in reference/cs231n/layers.py), and inside the
# network the ReLU before the pool zeroes the tied zeros.  (Appended to layers.py.)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            m = window.max(axis=(2, 3), keepdims=True)
            mask = window == m
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += \
                mask * dout[:, :, i, j][:, :, None, None]
    return dx
