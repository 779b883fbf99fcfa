# Alternative for course years whose group norm takes gamma and beta of shape
# (C,) (graded with --convention groupnorm_param_shape='(C,)').  (Appended to layers.py.)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N * G, -1)
    mu = xg.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(xg.var(axis=1, keepdims=True) + eps)
    x_hat = ((xg - mu) * inv_std).reshape(N, C, H, W)
    out = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
    return out, (x_hat, inv_std, gamma, G)


def spatial_groupnorm_backward(dout, cache):
    x_hat, inv_std, gamma, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
    g = (dout * gamma[None, :, None, None]).reshape(N * G, -1)
    xh = x_hat.reshape(N * G, -1)
    m = g.shape[1]
    dx = inv_std / m * (m * g - g.sum(axis=1, keepdims=True) - xh * (g * xh).sum(axis=1, keepdims=True))
    return dx.reshape(N, C, H, W), dgamma, dbeta
