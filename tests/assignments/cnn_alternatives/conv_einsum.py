# Alternative: windows as an as_strided view, products with einsum; dx adds
# one einsum per kernel offset.  (Appended to layers.py.)
from numpy.lib.stride_tricks import as_strided as _as_strided


def _conv_windows(xp, HH, WW, stride, H_out, W_out):
    N, C, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    return _as_strided(xp, shape=(N, C, H_out, W_out, HH, WW),
                       strides=(sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    H_out = 1 + (x.shape[2] + 2 * pad - HH) // stride
    W_out = 1 + (x.shape[3] + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = _conv_windows(xp, HH, WW, stride, H_out, W_out)
    out = np.einsum("ncijab,fcab->nfij", windows, w, optimize=True) + b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = _conv_windows(xp, HH, WW, stride, H_out, W_out)
    dw = np.einsum("ncijab,nfij->fcab", windows, dout, optimize=True)
    db = np.einsum("nfij->f", dout)
    dxp = np.zeros_like(xp)
    for a in range(HH):
        for c in range(WW):
            dxp[:, :, a:a + stride * H_out:stride, c:c + stride * W_out:stride] += np.einsum(
                "nfij,fk->nkij", dout, w[:, :, a, c])
    H, W = x.shape[2:]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db
