# Alternative: conv through np.lib.stride_tricks.sliding_window_view (numpy >= 1.20),
# every stride-th window kept, contracted with einsum; backward scatters each
# filter tap with a strided slice.  (Appended to layers.py.)


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2], w.shape[3]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    windows = np.lib.stride_tricks.sliding_window_view(x_pad, (HH, WW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]          # (N, C, H_out, W_out, HH, WW)
    out = np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    windows = np.lib.stride_tricks.sliding_window_view(x_pad, (HH, WW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    dw = np.einsum("nchwij,nfhw->fcij", windows, dout)
    db = dout.sum(axis=(0, 2, 3))
    dx_pad = np.zeros_like(x_pad)
    for i in range(HH):
        for j in range(WW):
            dx_pad[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride] += \
                np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db
