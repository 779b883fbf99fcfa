# Alternative: convolution and max pooling that assert the windows tile the input, as the
# course allows, with the output size written as a true division cast back to int (a 2016-era
# habit).  Correct on every input the course admits; it raises on any other.
# (Appended to layers.py; uses only numpy.)


def _tiles(size, window, stride, what):
    span = size - window
    assert span >= 0 and span % stride == 0, f"{what}: windows do not tile"
    return int(span / stride) + 1


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    num, _, height, width = x.shape
    filters, _, fh, fw = w.shape
    rows = _tiles(height + 2 * pad, fh, stride, "height")
    cols = _tiles(width + 2 * pad, fw, stride, "width")
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    out = np.zeros((num, filters, rows, cols))
    for r in range(rows):
        for c in range(cols):
            patch = padded[:, :, r * stride:r * stride + fh, c * stride:c * stride + fw]
            out[:, :, r, c] = patch.reshape(num, -1) @ w.reshape(filters, -1).T + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    num, _, height, width = x.shape
    filters, _, fh, fw = w.shape
    rows = _tiles(height + 2 * pad, fh, stride, "height")
    cols = _tiles(width + 2 * pad, fw, stride, "width")
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    dpadded = np.zeros_like(padded)
    dw = np.zeros_like(w)
    flat_w = w.reshape(filters, -1)
    for r in range(rows):
        for c in range(cols):
            rs, cs = slice(r * stride, r * stride + fh), slice(c * stride, c * stride + fw)
            g = dout[:, :, r, c]
            dw += (g.T @ padded[:, :, rs, cs].reshape(num, -1)).reshape(w.shape)
            dpadded[:, :, rs, cs] += (g @ flat_w).reshape(num, *w.shape[1:])
    dx = dpadded[:, :, pad:pad + height, pad:pad + width]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    num, channels, height, width = x.shape
    rows = _tiles(height, ph, stride, "height")
    cols = _tiles(width, pw, stride, "width")
    out = np.zeros((num, channels, rows, cols))
    for r in range(rows):
        for c in range(cols):
            window = x[:, :, r * stride:r * stride + ph, c * stride:c * stride + pw]
            out[:, :, r, c] = window.max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    rows = _tiles(x.shape[2], ph, stride, "height")
    cols = _tiles(x.shape[3], pw, stride, "width")
    dx = np.zeros_like(x)
    for r in range(rows):
        for c in range(cols):
            rs, cs = slice(r * stride, r * stride + ph), slice(c * stride, c * stride + pw)
            window = x[:, :, rs, cs]
            top = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rs, cs] += top * dout[:, :, r, c][:, :, None, None]
    return dx
