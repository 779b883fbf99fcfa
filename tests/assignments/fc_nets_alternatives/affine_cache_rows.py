# affine caching the flattened rows and the input shape instead of x itself; its
# backward reads its own cache (the course only ever hands it back).

def affine_forward(x, w, b):
    x_rows = x.reshape(x.shape[0], -1)
    out = x_rows @ w + b
    cache = (x_rows, w, b, x.shape)
    return out, cache


def affine_backward(dout, cache):
    x_rows, w, b, x_shape = cache
    dx = (dout @ w.T).reshape(x_shape)
    dw = x_rows.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
