# Alternative: spatial batchnorm through swapaxes(1, 3) and the student's own
# batchnorm_forward / batchnorm_backward_alt (rows in (N, W, H) order, which the
# per-channel statistics do not see); group norm through a reshape to (N, G, -1)
# with the closed-form backward per group.  (Appended to layers.py.)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    rows = x.swapaxes(1, 3).reshape(-1, C)
    out, cache = batchnorm_forward(rows, gamma, beta, bn_param)
    out = out.reshape(N, W, H, C).swapaxes(1, 3)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.swapaxes(1, 3).reshape(-1, C), cache)
    dx = dx.reshape(N, W, H, C).swapaxes(1, 3)
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, -1)
    mean = xg.mean(axis=2, keepdims=True)
    var = xg.var(axis=2, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = ((xg - mean) / std).reshape(N, C, H, W)
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma, G)
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    x_hat, std, gamma, G = cache
    N, C, H, W = dout.shape
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3), keepdims=True)
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    dx_hat = (dout * gamma).reshape(N, G, -1)
    xh = x_hat.reshape(N, G, -1)
    M = xh.shape[2]
    dx = (M * dx_hat - dx_hat.sum(axis=2, keepdims=True)
          - xh * np.sum(dx_hat * xh, axis=2, keepdims=True)) / (M * std)
    return dx.reshape(N, C, H, W), dgamma, dbeta
