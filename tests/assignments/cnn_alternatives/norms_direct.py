# Alternative: spatial batchnorm straight over axes (0, 2, 3) with the closed-form
# backward; group norm through an (N, G, C // G, H, W) view, backward node by
# node through the computational graph.  (Appended to layers.py.)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    N, C, H, W = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(C))
    running_var = bn_param.get("running_var", np.zeros(C))
    g, b = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
    if mode == "train":
        mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        x_hat = (x - mu.reshape(1, C, 1, 1)) / np.sqrt(var + eps).reshape(1, C, 1, 1)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
        return g * x_hat + b, (x_hat, gamma, var, eps)
    x_hat = (x - running_mean.reshape(1, C, 1, 1)) / np.sqrt(running_var + eps).reshape(1, C, 1, 1)
    return g * x_hat + b, None


def spatial_batchnorm_backward(dout, cache):
    x_hat, gamma, var, eps = cache
    N, C, H, W = dout.shape
    m = N * H * W
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
    dx_hat = dout * gamma.reshape(1, C, 1, 1)
    inv_std = (1.0 / np.sqrt(var + eps)).reshape(1, C, 1, 1)
    dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=(0, 2, 3), keepdims=True)
                        - x_hat * (dx_hat * x_hat).sum(axis=(0, 2, 3), keepdims=True))
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, C // G, H, W)
    mu = xg.mean(axis=(2, 3, 4), keepdims=True)
    xc = xg - mu
    var = (xc ** 2).mean(axis=(2, 3, 4), keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (xc / std).reshape(N, C, H, W)
    return gamma * x_hat + beta, (xc, std, x_hat, gamma)


def spatial_groupnorm_backward(dout, cache):
    xc, std, x_hat, gamma = cache
    N, C, H, W = dout.shape
    m = xc[0, 0].size
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dxg_hat = (dout * gamma).reshape(xc.shape)
    dstd = -(dxg_hat * xc).sum(axis=(2, 3, 4), keepdims=True) / std ** 2
    dvar = dstd * 0.5 / std
    dxc = dxg_hat / std + 2.0 * xc * dvar / m
    dmu = -dxc.sum(axis=(2, 3, 4), keepdims=True)
    return (dxc + dmu / m).reshape(N, C, H, W), dgamma, dbeta
