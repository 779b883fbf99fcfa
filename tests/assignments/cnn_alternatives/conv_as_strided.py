# Alternative: conv through np.lib.stride_tricks.as_strided with strides computed
# from the padded array, filters flattened to a matrix; backward by col2im over
# the window positions.  Max pooling through the same strided view, its backward
# routing each window's dout to the first maximum via argmax and unravel_index.
# (Appended to layers.py.)


def _strided_windows(x_pad, HH, WW, stride):
    N, C, Hp, Wp = x_pad.shape
    H_out = (Hp - HH) // stride + 1
    W_out = (Wp - WW) // stride + 1
    s0, s1, s2, s3 = x_pad.strides
    return np.lib.stride_tricks.as_strided(
        x_pad, shape=(N, C, H_out, W_out, HH, WW),
        strides=(s0, s1, stride * s2, stride * s3, s2, s3), writeable=False)


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    x_pad = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))))
    win = _strided_windows(x_pad, HH, WW, stride)
    N, _, H_out, W_out = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * HH * WW)
    out = cols @ w.reshape(F, -1).T + b
    out = out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    N, _, H_out, W_out = dout.shape
    x_pad = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))))
    win = _strided_windows(x_pad, HH, WW, stride)
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * HH * WW)
    dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (dout_rows.T @ cols).reshape(w.shape)
    db = dout_rows.sum(axis=0)
    dcols = (dout_rows @ w.reshape(F, -1)).reshape(N, H_out, W_out, C, HH, WW)
    dx_pad = np.zeros(x_pad.shape)
    for i in range(H_out):
        for j in range(W_out):
            dx_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += dcols[:, i, j]
    dx = dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    win = _strided_windows(np.ascontiguousarray(x), ph, pw, stride)
    out = win.max(axis=(4, 5))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + a, j * stride + b] += dout[n, c, i, j]
    return dx
