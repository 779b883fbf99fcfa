# Alternative: conv with np.tensordot over (C, HH, WW) per output position, backward
# with tensordot per position; group norm with a loop over the G groups of C // G
# channels, gamma and beta (1, C, 1, 1).  (Appended to layers.py.)


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            patch = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for i in range(H_out):
        for j in range(W_out):
            patch = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            d = dout[:, :, i, j]
            dw += np.tensordot(d, patch, axes=([0], [0]))
            dxp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += \
                np.tensordot(d, w, axes=([1], [0]))
    H, W = x.shape[2], x.shape[3]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    cg = C // G
    x_hat = np.zeros_like(x)
    inv_std = np.zeros((N, G))
    for g in range(G):
        part = x[:, g * cg:(g + 1) * cg]
        mu = part.mean(axis=(1, 2, 3), keepdims=True)
        var = part.var(axis=(1, 2, 3), keepdims=True)
        x_hat[:, g * cg:(g + 1) * cg] = (part - mu) / np.sqrt(var + eps)
        inv_std[:, g] = 1 / np.sqrt(var.ravel() + eps)
    out = gamma * x_hat + beta
    return out, (x_hat, inv_std, gamma, G)


def spatial_groupnorm_backward(dout, cache):
    x_hat, inv_std, gamma, G = cache
    N, C, H, W = dout.shape
    cg = C // G
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dxh = dout * gamma
    dx = np.zeros_like(dout)
    M = cg * H * W
    for g in range(G):
        s = slice(g * cg, (g + 1) * cg)
        d, xh = dxh[:, s], x_hat[:, s]
        istd = inv_std[:, g].reshape(N, 1, 1, 1)
        dx[:, s] = istd / M * (M * d - d.sum(axis=(1, 2, 3), keepdims=True)
                               - xh * (d * xh).sum(axis=(1, 2, 3), keepdims=True))
    return dx, dgamma, dbeta
